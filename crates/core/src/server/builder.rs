//! Options of a server, set before it binds.

use super::Server;
use crate::{ClientBuilder, Protocol, Result};
use std::time::Duration;

/// Builds a [`Server`] with non-default options.
///
/// Accepted TCP connections are full [`Client`](crate::Client)s; they get
/// the client options set here (line length, all-chunk size, send timeout,
/// ...). [`connection_options`](ServerBuilder::connection_options) takes a
/// whole [`ClientBuilder`], so every client option, present or future,
/// reaches the connections; its protocol and connect timeout do not apply.
/// The send timeout also bounds a UDP reply sent with [`UdpPeer::send`](
/// crate::UdpPeer::send).
///
/// ```
/// use renoise_socket::{Protocol, ServerBuilder};
/// use std::time::Duration;
///
/// let server = ServerBuilder::new()
///     .protocol(Protocol::Tcp)
///     .max_line_length(4096)
///     .send_timeout(Some(Duration::from_secs(2)))
///     .bind(Some("127.0.0.1"), 0)?;
/// assert_ne!(server.local_port(), 0);
/// # Ok::<(), renoise_socket::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `bind`; its methods return the changed builder"]
pub struct ServerBuilder {
    pub(crate) protocol: Protocol,
    pub(crate) connection: ClientBuilder,
    pub(crate) backlog: u32,
}

/// The defaults of [`ServerBuilder::new`].
impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            protocol: Protocol::Tcp,
            connection: ClientBuilder::new(),
            backlog: Self::DEFAULT_BACKLOG,
        }
    }
}

impl ServerBuilder {
    /// Default length of the kernel's queue of connections not accepted
    /// yet: 1024.
    ///
    /// ```
    /// assert_eq!(renoise_socket::ServerBuilder::DEFAULT_BACKLOG, 1024);
    /// ```
    pub const DEFAULT_BACKLOG: u32 = 1024;

    /// The defaults: TCP, connections with the [`ClientBuilder`] defaults,
    /// a backlog of 1024.
    ///
    /// ```
    /// let b = renoise_socket::ServerBuilder::new();
    /// ```
    pub fn new() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// TCP (default) or UDP.
    ///
    /// ```
    /// use renoise_socket::{Protocol, ServerBuilder};
    /// let b = ServerBuilder::new().protocol(Protocol::Udp);
    /// ```
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Every client option for accepted connections at once (replaces the
    /// ones set so far). Its protocol and connect timeout are ignored.
    ///
    /// ```
    /// use renoise_socket::{ClientBuilder, ServerBuilder};
    /// let b = ServerBuilder::new()
    ///     .connection_options(ClientBuilder::new().max_line_length(1024).nodelay(false));
    /// ```
    pub fn connection_options(mut self, options: ClientBuilder) -> Self {
        self.connection = options;
        self
    }

    /// Longest line `receive_line` returns on an accepted connection; see
    /// [`ClientBuilder::max_line_length`].
    ///
    /// ```
    /// let b = renoise_socket::ServerBuilder::new().max_line_length(4096);
    /// ```
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.connection = self.connection.max_line_length(bytes);
        self
    }

    /// Largest `n` for `receive_exact` on an accepted connection; see
    /// [`ClientBuilder::max_receive_size`].
    ///
    /// ```
    /// let b = renoise_socket::ServerBuilder::new().max_receive_size(1 << 20);
    /// ```
    pub fn max_receive_size(mut self, bytes: usize) -> Self {
        self.connection = self.connection.max_receive_size(bytes);
        self
    }

    /// Most bytes one `receive_all` returns on an accepted connection, and
    /// so, without framing, the largest [`Event::Message`](crate::Event::Message)
    /// a TCP connection produces (with framing an event is one whole
    /// packet, up to the maximum receive size); see
    /// [`ClientBuilder::all_chunk_size`].
    ///
    /// ```
    /// let b = renoise_socket::ServerBuilder::new().all_chunk_size(256 * 1024);
    /// ```
    pub fn all_chunk_size(mut self, bytes: usize) -> Self {
        self.connection = self.connection.all_chunk_size(bytes);
        self
    }

    /// How long a send may make no progress: TCP sends on accepted
    /// connections, and UDP replies through [`UdpPeer`](crate::UdpPeer).
    /// `None` (or zero) waits forever. See [`ClientBuilder::send_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = renoise_socket::ServerBuilder::new().send_timeout(Some(Duration::from_secs(1)));
    /// ```
    pub fn send_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connection = self.connection.send_timeout(timeout);
        self
    }

    /// `TCP_NODELAY` on accepted connections (default on).
    ///
    /// ```
    /// let b = renoise_socket::ServerBuilder::new().nodelay(false);
    /// ```
    pub fn nodelay(mut self, on: bool) -> Self {
        self.connection = self.connection.nodelay(on);
        self
    }

    /// Framing of TCP connections (OSC over TCP): with
    /// [`Framing::Slip`](crate::framing::Framing::Slip) or
    /// [`Framing::SizePrefix`](crate::framing::Framing::SizePrefix) every
    /// [`Event::Message`](crate::Event::Message) of a connection is one
    /// whole packet, and sends on it are framed. Ignored for UDP. See
    /// [`ClientBuilder::framing`]. A broken frame is an
    /// [`Event::Error`](crate::Event::Error), then the connection closes,
    /// one round after the packets before it: those are handed out with
    /// the connection still open, so that they can be answered whichever
    /// way TCP cut the stream.
    ///
    /// ```
    /// use renoise_socket::{framing::Framing, ServerBuilder};
    /// let b = ServerBuilder::new().framing(Framing::Slip);
    /// ```
    pub fn framing(mut self, framing: crate::framing::Framing) -> Self {
        self.connection = self.connection.framing(framing);
        self
    }

    /// Length of the kernel's queue of connections not accepted yet (TCP;
    /// capped by the system, e.g. `net.core.somaxconn`). At least 1.
    ///
    /// ```
    /// let b = renoise_socket::ServerBuilder::new().backlog(128);
    /// ```
    pub fn backlog(mut self, connections: u32) -> Self {
        self.backlog = connections.max(1);
        self
    }

    /// Binds and, for TCP, listens. `address`: `None` for every interface,
    /// `"localhost"` for loopback, or an IP literal; `port` 0 picks a free
    /// port. See [`Server::bind`].
    ///
    /// ```
    /// use renoise_socket::{Protocol, ServerBuilder};
    /// let server = ServerBuilder::new().protocol(Protocol::Udp).bind(Some("127.0.0.1"), 0)?;
    /// assert_eq!(server.local_address(), "127.0.0.1");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn bind(&self, address: Option<&str>, port: u16) -> Result<Server> {
        Server::from_builder(self, address, port)
    }

    /// Binds to `addr`, as [`bind`](Self::bind) does to its IP literal:
    /// nothing to resolve; an unspecified address (`0.0.0.0`, `[::]`) is
    /// reported as given.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    /// let server = renoise_socket::ServerBuilder::new().bind_addr(addr)?;
    /// assert_eq!(server.local_address(), "127.0.0.1");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn bind_addr(&self, addr: std::net::SocketAddr) -> Result<Server> {
        self.bind(Some(&crate::address_text(&addr)), addr.port())
    }
}
