//! The server: Renoise's `SocketServer`, without callbacks.

use super::bind;
use super::event_loop::EventLoop;
use super::{Connection, Event, Interrupter, ServerBuilder};
use crate::{Error, Protocol, Result};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// What one event is counted as in [`Server::WAIT_DATA_LIMIT`], beyond its
/// data: the event itself and its allocations, roughly.
const EVENT_COST: usize = 128;

/// A TCP or UDP server: Renoise's `SocketServer`, reporting what happens as
/// [`Event`]s instead of calling a notifier.
///
/// **No thread of its own.** Nothing happens between calls: the kernel
/// queues connections and data, and the owner collects them with
/// [`poll`](Server::poll) (returns as soon as something happened) or
/// [`wait`](Server::wait) (Renoise's `wait`: everything that happens within
/// the timeout). One `epoll` instance (through `mio`) watches the listening
/// sockets and every connection, so thousands of connections need no thread
/// each. A binding that calls callbacks (Lua's `run(notifier)` / `wait`)
/// calls `poll` in a loop and dispatches each batch; see
/// [`poll`](Server::poll).
///
/// **TCP.** Each accepted connection is a [`Connection`]: a full
/// [`Client`](crate::Client) (every receive mode, send, close, properties)
/// shared between the server, which reads whatever arrives on it into
/// [`Event::Message`]s, and the program, which may also read from it
/// directly; see [`Connection`] for how the two never lose or duplicate a
/// byte. When a connection ends, its remaining data is delivered, then
/// [`Event::Closed`]; Renoise has no callback for that, so a Lua layer
/// passes it on to nobody.
///
/// **UDP.** Each datagram is one [`Event::Message`] whose sender is a
/// [`UdpPeer`](crate::UdpPeer): it tells who sent it, is never open, and
/// can reply from the server's own port. Datagrams that arrive between
/// two polls wait in the kernel's queue, which the server asks to be 4 MiB
/// (the Linux default, 208 KiB, holds a few hundred small datagrams; the
/// system may cap the request at `net.core.rmem_max`): beyond it they are
/// dropped, as UDP allows.
///
/// **Threads.** A `Server` is `Send + Sync`; one blocked in `wait` is
/// brought back from another thread by an [`Interrupter`]
/// ([`interrupter`](Server::interrupter)), for instance to close it.
///
/// **Closing** releases the port at once (TCP uses `SO_REUSEADDR`), closes
/// every accepted connection, and is idempotent. Dropping the server
/// closes it.
///
/// Nothing a peer does can make it panic or stop: resets, half-open
/// connections and connection floods end as events or nothing at all.
///
/// ```
/// use renoise_socket::{Client, Event, Protocol, Server};
/// use std::time::Duration;
///
/// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
/// let mut a = Client::connect("127.0.0.1", server.local_port())?;
/// let mut b = Client::connect("127.0.0.1", server.local_port())?;
/// a.send(b"from a")?;
/// b.send(b"from b")?;
/// let events = server.wait(Duration::from_millis(300))?;
/// let messages: Vec<_> = events.iter().filter_map(|e| match e {
///     Event::Message { data, .. } => Some(data.clone()),
///     _ => None,
/// }).collect();
/// assert!(messages.contains(&b"from a".to_vec()));
/// assert!(messages.contains(&b"from b".to_vec()));
/// # Ok::<(), renoise_socket::Error>(())
/// ```
pub struct Server {
    protocol: Protocol,
    locals: Vec<SocketAddr>,
    /// Bound with no address (see [`Server::local_address`]).
    every_interface: bool,
    lp: Option<EventLoop>,
}

impl Server {
    /// Once a [`wait`](Server::wait) holds this many bytes of messages it
    /// returns early, so a flood cannot make one call grow memory without
    /// bound: 16 MiB. Every event counts 128 bytes more than its data (so
    /// a flood of empty datagrams is bounded too).
    ///
    /// ```
    /// assert_eq!(renoise_socket::Server::WAIT_DATA_LIMIT, 16 << 20);
    /// ```
    pub const WAIT_DATA_LIMIT: usize = 16 << 20;

    /// Binds a server with the default options (see [`ServerBuilder`] for
    /// the rest).
    ///
    /// - `address`: `None` listens on every interface, IPv4 and IPv6 (one
    ///   dual-stack socket; IPv4 peers are reported with IPv4 addresses);
    ///   `Some("localhost")` (any host name) binds every address the name
    ///   resolves to, such as `127.0.0.1` and `::1`, on one port (a port in
    ///   use on any of them is an error; an address that cannot be bound
    ///   at all, IPv6 switched off say, is left out; a system resolver
    ///   that has not answered within 5 s is an error); an IP literal binds
    ///   that address (`"::1"` and `"[::1]"` both work; brackets around
    ///   anything else, `"[127.0.0.1]"`, are [`Error::UnknownHost`]).
    /// - `port`: 0 picks a free port; read it back with
    ///   [`local_port`](Server::local_port).
    ///
    /// Errors: a port in use, an address not on this host, an unknown host
    /// name, an empty address.
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let server = Server::bind(Some("localhost"), 0, Protocol::Tcp)?;
    /// assert!(server.local_addr().ip().is_loopback());
    /// assert!(Server::bind(Some("127.0.0.1"), server.local_port(), Protocol::Tcp).is_err());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn bind(address: Option<&str>, port: u16, protocol: Protocol) -> Result<Server> {
        ServerBuilder::new().protocol(protocol).bind(address, port)
    }

    /// Options: protocol, backlog, and the options accepted connections get.
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let server = Server::builder().protocol(Protocol::Udp).bind(Some("127.0.0.1"), 0)?;
    /// assert_eq!(server.protocol(), Protocol::Udp);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    pub(crate) fn from_builder(
        b: &ServerBuilder,
        address: Option<&str>,
        port: u16,
    ) -> Result<Server> {
        let backlog = i32::try_from(b.backlog).unwrap_or(i32::MAX);
        let socks = bind::bind(address, port, b.protocol, backlog)?;
        let locals = socks.iter().map(|(_, a)| *a).collect();
        let mut opts = b.connection.clone();
        opts.protocol = Protocol::Tcp;
        let lp = EventLoop::new(socks, b.protocol, opts, address.is_none())
            .map_err(|e| Error::os("cannot start the server's event loop", e))?;
        Ok(Server {
            protocol: b.protocol,
            locals,
            every_interface: address.is_none(),
            lp: Some(lp),
        })
    }

    /// TCP or UDP.
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
    /// assert_eq!(server.protocol(), Protocol::Tcp);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// True until [`close`](Server::close).
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
    /// assert!(server.is_open());
    /// server.close();
    /// assert!(!server.is_open());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn is_open(&self) -> bool {
        self.lp.is_some()
    }

    /// The (first) bound address, with the real port; still known after
    /// close.
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
    /// assert_eq!(server.local_addr().to_string(), format!("127.0.0.1:{}", server.local_port()));
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        // `bind` never returns an empty list.
        self.locals
            .first()
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Every bound address (more than one when a name such as
    /// `"localhost"` resolved to several).
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let server = Server::bind(Some("localhost"), 0, Protocol::Udp)?;
    /// assert!(server.local_addrs().iter().all(|a| a.ip().is_loopback()));
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.locals
    }

    /// Renoise's `local_address`: numeric, such as `"127.0.0.1"`.
    /// Bound to every interface (no address) it is `"0.0.0.0"`, as in
    /// Renoise, whose servers are IPv4, and as tools that build a URL from
    /// it expect, although the socket is a dual-stack `[::]` (which
    /// [`local_addr`](Server::local_addr) gives); a server bound to
    /// `"::"` by name says `"::"`.
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let server = Server::bind(Some("::1"), 0, Protocol::Tcp)?;
    /// assert_eq!(server.local_address(), "::1");
    /// let every = Server::bind(None, 0, Protocol::Tcp)?;
    /// assert_eq!(every.local_address(), "0.0.0.0");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_address(&self) -> String {
        crate::address_text(&self.renoise_addr())
    }

    /// [`local_addr`](Server::local_addr) as Renoise reports it (see
    /// [`local_address`](Server::local_address)).
    fn renoise_addr(&self) -> SocketAddr {
        reported_addr(self.local_addr(), self.every_interface)
    }

    /// Renoise's `local_port`: the real port, also when bound to port 0.
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let server = Server::bind(None, 0, Protocol::Udp)?;
    /// assert_ne!(server.local_port(), 0);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The connections the server currently watches (TCP): those accepted
    /// and not reported [`Event::Closed`] yet. Handy to broadcast.
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
    /// for conn in server.connections() {
    ///     let _ = conn.send(b"tick\n");
    /// }
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn connections(&self) -> Vec<Connection> {
        match &self.lp {
            Some(lp) => lp.connections().cloned().collect(),
            None => Vec::new(),
        }
    }

    /// Whether the server reads its TCP connections (the default) and
    /// hands their bytes out as [`Event::Message`]s. Off, it still accepts
    /// them and reports [`Event::Accepted`], but leaves their bytes to the
    /// program's own receive calls (a program polling its connections, as
    /// with LuaSocket's `select`). A connection whose peer ended it while
    /// nothing of it was left unread is closed and reported
    /// [`Event::Closed`] as usual (its next `receive_*` reports the end);
    /// one with bytes left is the program's to read to its end (a
    /// `receive_*` call reports [`Error::Disconnected`] after them), and
    /// is reported once the program has. Back on,
    /// every connection is read again, what came meanwhile included. UDP
    /// servers are not affected.
    ///
    /// ```
    /// use renoise_socket::{Event, Mode, Protocol, Server};
    /// use std::io::Write;
    /// use std::time::Duration;
    ///
    /// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
    /// server.read_connections(false);
    /// let mut peer = std::net::TcpStream::connect(server.local_addr())?;
    /// let conn = loop {
    ///     let events = server.poll(Duration::from_secs(5))?;
    ///     if let Some(Event::Accepted(c)) = events.into_iter().next() { break c; }
    /// };
    /// peer.write_all(b"line\n")?;
    /// assert!(server.poll(Duration::from_millis(50))?.is_empty());
    /// assert_eq!(conn.receive_vec(Mode::Line, Duration::from_secs(5))?, b"line");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_connections(&mut self, on: bool) {
        if let Some(lp) = self.lp.as_mut() {
            lp.set_reading(on);
        }
    }

    /// Waits up to `timeout` for something to happen and returns it: as
    /// soon as at least one event is there, or empty when the timeout
    /// passed. [`Duration::ZERO`] never blocks: it takes what is pending
    /// (the call for a runner loop, once per cycle).
    ///
    /// One call does one bounded round of work, reading each ready
    /// connection once (see [`ServerBuilder::all_chunk_size`]); with
    /// framing, every whole packet that read brought in is its own
    /// [`Event::Message`] of the same batch. What is left is picked up by
    /// the next call. So a binding that dispatches
    /// callbacks should loop: `while deadline not passed { for e in
    /// poll(remaining) { dispatch(e) } }` — which is Renoise's
    /// `wait(timeout_ms)` with callbacks run as soon as something happened,
    /// and lets a callback answer a peer before the server sees that peer
    /// shut down its writing side. The server is not borrowed while the
    /// batch is dispatched, so callbacks may use it (even close it).
    ///
    /// A connection accepted in a round is read from the next round on:
    /// its [`Event::Accepted`] comes in a batch of its own before any of
    /// its bytes are taken, so a program that reads the new connection
    /// itself (a handshake in `socket_accepted`) gets its first bytes.
    /// Bytes already in a batch are the batch's: reading a connection
    /// whose [`Event::Message`] is still undispatched in the same batch
    /// gets the bytes that came after it.
    ///
    /// Errors: [`Error::Closed`] after [`close`](Server::close). Socket
    /// errors are events, not errors of the call.
    ///
    /// ```
    /// use renoise_socket::{Event, Protocol, Server};
    /// use std::time::{Duration, Instant};
    ///
    /// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
    /// let start = Instant::now();
    /// assert!(server.poll(Duration::ZERO)?.is_empty());
    /// assert!(server.poll(Duration::from_millis(20))?.is_empty());
    /// assert!(start.elapsed() >= Duration::from_millis(20));
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<Event>> {
        let lp = self.lp.as_mut().ok_or(Error::Closed)?;
        let deadline = Instant::now().checked_add(timeout);
        let mut out = Vec::new();
        lp.sweep(&mut out);
        loop {
            let mut left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if !out.is_empty() {
                left = Some(Duration::ZERO);
            }
            if lp.round(left, &mut out).is_none()
                || lp.take_interrupt()
                || !out.is_empty()
                || left == Some(Duration::ZERO)
            {
                return Ok(out);
            }
        }
    }

    /// Renoise's `wait(timeout_ms)`: blocks for `timeout` and returns every
    /// event that happened in that time, in order — including messages on
    /// connections accepted during the same call. It returns early only
    /// when the server's event loop fails, or when the messages collected
    /// reach [`WAIT_DATA_LIMIT`](Server::WAIT_DATA_LIMIT) bytes (so a flood cannot grow memory
    /// without bound). [`Duration::ZERO`] takes what is pending: one round
    /// of work, like `poll(Duration::ZERO)`, and one more when that round
    /// accepted connections, so that what came with them is delivered too.
    ///
    /// Events are only handed over at the end, so a peer that half-closes
    /// right after its request is seen as closed before the program can
    /// answer; to answer as soon as possible, use [`poll`](Server::poll).
    ///
    /// Errors: [`Error::Closed`] after [`close`](Server::close).
    ///
    /// ```
    /// use renoise_socket::{Event, Protocol, Server};
    /// use std::time::Duration;
    ///
    /// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.send_to(b"one", server.local_addr())?;
    /// s.send_to(b"two", server.local_addr())?;
    /// let events = server.wait(Duration::from_millis(100))?;
    /// assert_eq!(events.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait(&mut self, timeout: Duration) -> Result<Vec<Event>> {
        let lp = self.lp.as_mut().ok_or(Error::Closed)?;
        let deadline = Instant::now().checked_add(timeout);
        let mut out = Vec::new();
        let mut bytes = 0usize;
        // A connection accepted in the last round is read in the next one:
        // at the deadline, one more round takes what came with it.
        let mut last_round = true;
        lp.sweep(&mut out);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let before = out.len();
            let Some(n) = lp.round(left, &mut out) else {
                return Ok(out);
            };
            if lp.take_interrupt() {
                return Ok(out);
            }
            // Each event costs memory beyond its data (a flood of empty
            // datagrams has none).
            let events = out.len() - before;
            bytes = bytes
                .saturating_add(n)
                .saturating_add(events.saturating_mul(EVENT_COST));
            if bytes >= Self::WAIT_DATA_LIMIT {
                return Ok(out);
            }
            if left == Some(Duration::ZERO) {
                if !(last_round && lp.has_fresh()) {
                    return Ok(out);
                }
                last_round = false;
            }
        }
    }

    /// A handle that makes this server's [`wait`](Server::wait) or
    /// [`poll`](Server::poll) return at once from another thread (see
    /// [`Interrupter`]).
    ///
    /// Errors: [`Error::Closed`] after [`close`](Server::close).
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
    /// let stop = server.interrupter()?;
    /// stop.interrupt();
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn interrupter(&self) -> Result<Interrupter> {
        Ok(self.lp.as_ref().ok_or(Error::Closed)?.interrupter())
    }

    /// Stops listening and releases the port at once (it can be bound
    /// again right away), closes every accepted connection (peers see the
    /// end of the stream; a [`Connection`] held elsewhere reports
    /// `is_open() == false`, except one locked at that moment, by another
    /// thread or by a guard the caller holds, which stays open, is no
    /// longer watched, and closes when its last handle goes; a clone of a
    /// connection's client ([`Client::try_clone`](crate::Client::try_clone))
    /// keeps its own descriptor: the peer sees the end when the clones
    /// close too, or at once after `shutdown_send` on one), and makes
    /// [`UdpPeer::send`](crate::UdpPeer::send) fail (a reply another thread
    /// is sending at that moment is finished first: `close` waits for it,
    /// at most its send timeout (10 s if it has none), so that the port is
    /// free when it returns). Calling it again does nothing. The address properties
    /// keep their values.
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
    /// let port = server.local_port();
    /// server.close();
    /// server.close();
    /// let again = Server::bind(Some("127.0.0.1"), port, Protocol::Tcp)?;
    /// assert_eq!(again.local_port(), port);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn close(&mut self) {
        if let Some(mut lp) = self.lp.take() {
            lp.close_connections();
        }
    }
}

/// The address a server reports for its socket bound at `local`
/// (`Server::local_address`, and `UdpPeer::local_address` of its
/// datagrams): `0.0.0.0` when it was bound with no address, as Renoise's
/// IPv4 servers say, although the socket is a dual-stack `[::]`; else
/// `local` itself (with the zone of a link-local address).
pub(crate) fn reported_addr(local: SocketAddr, every_interface: bool) -> SocketAddr {
    if every_interface {
        SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), local.port())
    } else {
        local
    }
}

/// [`Server::close`].
impl Drop for Server {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Display for Server {
    /// `SocketServer(TCP 127.0.0.1:9000, open)`, with the address of
    /// [`local_address`](Server::local_address).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SocketServer({} {}, {})",
            self.protocol,
            crate::socket_address_text(&self.renoise_addr()),
            if self.is_open() { "open" } else { "closed" }
        )
    }
}

/// The same text as `Display`.
impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}
