//! What a server reports.

use super::{Connection, UdpPeer};
use crate::{Error, Result};
use std::fmt;
use std::net::SocketAddr;

/// Something that happened on a [`Server`](crate::Server), as returned by
/// [`Server::poll`](crate::Server::poll) and [`Server::wait`](crate::Server::wait).
///
/// The first three map to Renoise's notifier callbacks: `Accepted` to
/// `socket_accepted`, `Message` to `socket_message`, `Error` to
/// `socket_error`. `Closed` has no Renoise callback; it tells the program
/// (or a binding caching one object per connection) that the server has
/// forgotten a connection.
///
/// ```
/// use renoise_socket::{Event, Peer, Protocol, Server};
/// use std::io::Write;
/// use std::time::{Duration, Instant};
///
/// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
/// let mut peer = std::net::TcpStream::connect(server.local_addr())?;
/// peer.write_all(b"hello")?;
/// drop(peer);
/// let (mut got, mut closed, start) = (Vec::new(), false, Instant::now());
/// while !closed && start.elapsed() < Duration::from_secs(5) {
///     for event in server.poll(Duration::from_millis(100))? {
///         match event {
///             Event::Accepted(conn) => println!("new: {conn}"),
///             Event::Message { from, data } => got.extend(data),
///             Event::Closed(conn) => closed = true,
///             Event::Error(e) => eprintln!("{e}"),
///             _ => {}
///         }
///     }
/// }
/// assert_eq!(got, b"hello");
/// assert!(closed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// TCP: a new connection, a full client. Always reported before any
    /// message from it.
    Accepted(Connection),
    /// Data arrived. TCP: whatever bytes the connection had (without
    /// framing: one event per read, at most the connection's all-chunk
    /// size; with framing: one whole packet per event). UDP:
    /// one whole datagram per event, an empty one too (a client's
    /// [`receive_all`](crate::Client::receive_all) skips those: it has no
    /// empty chunk to return, but an event can carry an empty message).
    Message {
        /// The connection, or the datagram's sender.
        from: Peer,
        /// The bytes.
        data: Vec<u8>,
    },
    /// TCP: the server stopped watching a connection because it is closed:
    /// the peer ended or reset it (after every byte it sent was delivered
    /// in `Message` events, or read by the program), an error closed it
    /// (reported as `Error` just before), or the program closed it. Reported
    /// once per connection; never for connections still open when the
    /// server itself closes.
    Closed(Connection),
    /// A socket error that did not end the server: a failed accept (too
    /// many open files, ...), a read error on a connection or on the UDP
    /// socket, a failure of the event loop.
    Error(Error),
}

/// Who a [`Event::Message`] came from.
///
/// ```
/// use renoise_socket::{Event, Peer, Protocol, Server};
/// use std::time::Duration;
///
/// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
/// let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// s.send_to(b"hi", server.local_addr())?;
/// for event in server.poll(Duration::from_secs(5))? {
///     if let Event::Message { from, data } = event {
///         assert_eq!(from.peer_addr(), s.local_addr()?);
///         from.send(b"ok")?; // a reply, for TCP and UDP alike
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Peers compare by identity: the same connection, or the same UDP sender
/// of the same server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A TCP connection the server accepted.
    Tcp(Connection),
    /// The sender of a UDP datagram.
    Udp(UdpPeer),
}

impl Peer {
    /// The sender's address.
    ///
    /// ```no_run
    /// # fn f(peer: renoise_socket::Peer) {
    /// println!("from {}", peer.peer_addr());
    /// # }
    /// ```
    pub fn peer_addr(&self) -> SocketAddr {
        match self {
            Peer::Tcp(c) => c.peer_addr(),
            Peer::Udp(u) => u.peer_addr(),
        }
    }

    /// Renoise's `peer_address`.
    ///
    /// ```no_run
    /// # fn f(peer: renoise_socket::Peer) {
    /// println!("from {}", peer.peer_address());
    /// # }
    /// ```
    pub fn peer_address(&self) -> String {
        crate::address_text(&self.peer_addr())
    }

    /// Renoise's `peer_port`.
    ///
    /// ```no_run
    /// # fn f(peer: renoise_socket::Peer) {
    /// println!("port {}", peer.peer_port());
    /// # }
    /// ```
    pub fn peer_port(&self) -> u16 {
        self.peer_addr().port()
    }

    /// The server side's address.
    ///
    /// ```no_run
    /// # fn f(peer: renoise_socket::Peer) {
    /// println!("to {}", peer.local_addr());
    /// # }
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        match self {
            Peer::Tcp(c) => c.local_addr(),
            Peer::Udp(u) => u.local_addr(),
        }
    }

    /// Renoise's `is_open`: the connection's state for TCP, always false for
    /// a UDP sender.
    ///
    /// ```no_run
    /// # fn f(peer: renoise_socket::Peer) {
    /// if peer.is_open() { /* a live TCP connection */ }
    /// # }
    /// ```
    pub fn is_open(&self) -> bool {
        match self {
            Peer::Tcp(c) => c.is_open(),
            Peer::Udp(u) => u.is_open(),
        }
    }

    /// Replies: on the TCP connection, or one datagram from the server's
    /// port to the UDP sender.
    ///
    /// ```no_run
    /// # fn f(peer: renoise_socket::Peer) -> renoise_socket::Result<()> {
    /// peer.send(b"ok")?;
    /// # Ok(()) }
    /// ```
    pub fn send(&self, data: &[u8]) -> Result<()> {
        match self {
            Peer::Tcp(c) => c.send(data),
            Peer::Udp(u) => u.send(data),
        }
    }

    /// The TCP connection, if it is one.
    ///
    /// ```no_run
    /// # fn f(peer: renoise_socket::Peer) {
    /// if let Some(conn) = peer.connection() { conn.close(); }
    /// # }
    /// ```
    pub fn connection(&self) -> Option<&Connection> {
        match self {
            Peer::Tcp(c) => Some(c),
            Peer::Udp(_) => None,
        }
    }
}

/// The connection's or the UDP sender's text.
impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(c) => c.fmt(f),
            Peer::Udp(u) => u.fmt(f),
        }
    }
}
