//! An accepted TCP connection: a [`Client`] shared by the server and its
//! user.

use crate::{Client, Mode, Protocol, Result};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

/// A connection a [`Server`](crate::Server) accepted: a full [`Client`]
/// behind a shared handle.
///
/// The server keeps one handle to read from it while it runs; the program
/// (or a Lua userdata) keeps as many clones as it likes. Clones are cheap
/// and all refer to the same client. Every `Client` method is reached
/// through [`lock`](Connection::lock); the most used ones also exist here
/// directly, and `io::Read` / `io::Write` work on a handle (`&Connection`
/// too) as on a client. The addresses are copied at accept time and read without
/// locking.
///
/// **Reading from both sides.** The server only ever reads through the
/// client's own buffer (`receive_all` with a zero timeout), so bytes are
/// never lost or delivered twice: whoever reads first gets them. Bytes the
/// program leaves in the buffer (say, after reading one line of two) are
/// delivered by the server's next `poll` / `wait`.
///
/// **One lock for both directions.** A receive that waits (or an
/// `io::Read` with a read timeout) holds the lock, so a send from another
/// thread waits until it returns: read with short timeouts where other
/// threads answer on the same connection, or give those threads a clone
/// of the client (`conn.lock().try_clone()`, see [`Client::try_clone`]),
/// which sends without the lock.
///
/// **Why `Arc<Mutex<_>>`.** It makes [`Server`](crate::Server) and
/// `Connection` `Send`, so a server can run on another thread, for the
/// same price as `Rc<RefCell<_>>` in practice: the lock is uncontended
/// and each use is followed by a system call. The server only ever
/// *tries* the lock: a connection that is locked (even by the thread
/// calling `wait`) is skipped and looked at again shortly, never waited
/// for, so holding a guard across `wait` cannot deadlock.
///
/// Equality and hashing are by identity: two handles are equal when they
/// refer to the same connection.
///
/// ```
/// use renoise_socket::{Event, Server, Protocol};
/// use std::io::{BufRead, BufReader, Write};
/// use std::time::Duration;
///
/// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
/// let mut peer = std::net::TcpStream::connect(server.local_addr())?;
/// let conn = loop {
///     let events = server.poll(Duration::from_secs(5))?;
///     if let Some(Event::Accepted(c)) = events.into_iter().next() { break c; }
/// };
/// peer.write_all(b"ping\n")?;
/// let line = conn.lock().receive_vec(renoise_socket::Mode::Line, Duration::from_secs(5))?;
/// assert_eq!(line, b"ping");
/// conn.send(b"pong\n")?;
/// let mut reply = String::new();
/// BufReader::new(&peer).read_line(&mut reply)?;
/// assert_eq!(reply, "pong\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Connection(Arc<Shared>);

struct Shared {
    local: SocketAddr,
    peer: SocketAddr,
    protocol: Protocol,
    client: Mutex<Client>,
    /// The server read the end of the stream (see
    /// [`Connection::ended_by_peer`]).
    ended_by_peer: AtomicBool,
    /// See [`Connection::id`].
    id: usize,
}

/// The next [`Connection::id`]: a counter, so an id is never reused (an
/// address would be, by the next connection the allocator puts there).
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

impl Connection {
    /// Wraps a client in a shared handle. The server does this for every
    /// connection it accepts; a binding that wants one handle type for all
    /// clients can do it for the clients it connects itself.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// assert!(conn.is_open());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn new(client: Client) -> Connection {
        Connection(Arc::new(Shared {
            local: client.local_addr(),
            peer: client.peer_addr(),
            protocol: client.protocol(),
            client: Mutex::new(client),
            ended_by_peer: AtomicBool::new(false),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }))
    }

    /// The client, for every `Client` method. Blocks while another thread
    /// holds it (the server never holds it while it waits). A poisoned
    /// lock (a panic elsewhere while it was held) is taken over: the client
    /// keeps its state consistent between calls.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// use std::time::Duration;
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// let mut client = conn.lock();
    /// let line = client.receive_line(Duration::from_secs(1))?;
    /// println!("{}", String::from_utf8_lossy(line));
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn lock(&self) -> MutexGuard<'_, Client> {
        self.0
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The client if nobody else holds it right now.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// let guard = conn.lock();
    /// assert!(conn.try_lock().is_none());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, Client>> {
        match self.0.client.try_lock() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// [`Client::is_open`]. It takes the lock, so it waits while another
    /// thread holds it (a receive that waits, say); the addresses do not.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// conn.close();
    /// assert!(!conn.is_open());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn is_open(&self) -> bool {
        self.lock().is_open()
    }

    /// Whether the server's own read found the end of the stream (the peer
    /// closed or reset the connection, or a read error ended it) and closed
    /// the client. The server
    /// then reports [`Event::Closed`](crate::Event::Closed), and the
    /// client's calls give [`Error::Closed`](crate::Error::Closed): a
    /// binding that promised its program a `"disconnected"` from the next
    /// receive (as the Lua module does) tells the two cases apart with
    /// this. False for a connection closed by [`close`](Connection::close)
    /// or by the server's `close`.
    ///
    /// ```
    /// use renoise_socket::{Event, Protocol, Server};
    /// use std::time::Duration;
    ///
    /// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
    /// let peer = std::net::TcpStream::connect(server.local_addr())?;
    /// drop(peer);
    /// let mut closed = None;
    /// for _ in 0..50 {
    ///     for ev in server.poll(Duration::from_millis(100))? {
    ///         if let Event::Closed(c) = ev { closed = Some(c); }
    ///     }
    ///     if closed.is_some() { break; }
    /// }
    /// let conn = closed.expect("the server saw the peer go");
    /// assert!(conn.ended_by_peer() && !conn.is_open());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ended_by_peer(&self) -> bool {
        self.0.ended_by_peer.load(Ordering::Relaxed)
    }

    /// Records that the server's read found the end of the stream.
    pub(crate) fn set_ended_by_peer(&self) {
        self.0.ended_by_peer.store(true, Ordering::Relaxed);
    }

    /// [`Client::close`]; the server notices and forgets the connection at
    /// its next `poll` / `wait` (reporting [`Event::Closed`](crate::Event::Closed)).
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// conn.close();
    /// conn.close();
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn close(&self) {
        self.lock().close();
    }

    /// [`Client::send`].
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// conn.send(b"hello\n")?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn send(&self, data: &[u8]) -> Result<()> {
        self.lock().send(data)
    }

    /// [`Client::shutdown_send`]: the peer reads the end of the stream; the
    /// server keeps delivering what it sends until it closes.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// conn.send(b"the whole answer\n")?;
    /// conn.shutdown_send()?;
    /// assert!(!conn.is_open());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn shutdown_send(&self) -> Result<()> {
        self.lock().shutdown_send()
    }

    /// Gives back the data of [`Event::Message`](crate::Event::Message)s
    /// of this connection that the program did not handle (a Lua server
    /// whose new notifier has no `socket_message`): they go, in the order
    /// given, in front of what the connection has not delivered, so the
    /// next receive, or the server's next read of it, gets them first. A
    /// packet of a framed connection is framed again and comes back whole.
    ///
    /// ```no_run
    /// # fn f(conn: renoise_socket::Connection, unhandled: Vec<Vec<u8>>) -> renoise_socket::Result<()> {
    /// use renoise_socket::Mode;
    /// use std::time::Duration;
    /// let data: Vec<&[u8]> = unhandled.iter().map(Vec::as_slice).collect();
    /// conn.unread(&data);
    /// let again = conn.receive_vec(Mode::All, Duration::ZERO)?;
    /// # Ok(()) }
    /// ```
    pub fn unread(&self, messages: &[&[u8]]) {
        self.lock().unread(messages);
    }

    /// [`Client::receive_vec`]: one unit in the given mode, owned.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection, Mode};
    /// use std::time::Duration;
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// let line = conn.receive_vec(Mode::Line, Duration::from_secs(1))?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn receive_vec(&self, mode: Mode, timeout: Duration) -> Result<Vec<u8>> {
        self.lock().receive_vec(mode, timeout)
    }

    /// TCP for accepted connections.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection, Protocol};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// assert_eq!(conn.protocol(), Protocol::Tcp);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn protocol(&self) -> Protocol {
        self.0.protocol
    }

    /// The local socket address (the server's port, for an accepted
    /// connection). Read without locking.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// assert!(conn.local_addr().ip().is_loopback());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local
    }

    /// The peer's socket address. Read without locking.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// assert_eq!(conn.peer_addr().port(), 8080);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn peer_addr(&self) -> SocketAddr {
        self.0.peer
    }

    /// Renoise's `local_address`: numeric, such as `"127.0.0.1"`.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// assert_eq!(conn.local_address(), "127.0.0.1");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_address(&self) -> String {
        crate::address_text(&self.0.local)
    }

    /// Renoise's `local_port`.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// assert_ne!(conn.local_port(), 0);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.0.local.port()
    }

    /// Renoise's `peer_address`: numeric, such as `"127.0.0.1"` or `"::1"`
    /// (an IPv4 peer of a dual-stack server is reported as IPv4).
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// assert_eq!(conn.peer_address(), "127.0.0.1");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn peer_address(&self) -> String {
        crate::address_text(&self.0.peer)
    }

    /// Renoise's `peer_port`.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// assert_eq!(conn.peer_port(), 8080);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn peer_port(&self) -> u16 {
        self.0.peer.port()
    }

    /// An identifier of this connection, shared by its clones and never
    /// given to another connection of the process (a counter from 1), for
    /// programs and bindings that map connections to their own data.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Connection};
    /// let conn = Connection::new(Client::connect("127.0.0.1", 8080)?);
    /// assert_eq!(conn.id(), conn.clone().id());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn id(&self) -> usize {
        self.0.id
    }
}

/// [`Connection::new`].
impl From<Client> for Connection {
    fn from(client: Client) -> Connection {
        Connection::new(client)
    }
}

/// Identity: the same shared connection.
impl PartialEq for Connection {
    fn eq(&self, other: &Connection) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Identity (see `PartialEq`).
impl Eq for Connection {}

/// By identity, as `PartialEq`.
impl Hash for Connection {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl fmt::Display for Connection {
    /// `SocketClient(TCP 127.0.0.1:9000 -> 127.0.0.1:50000, open)`, like a
    /// [`Client`]; "in use" when another thread holds it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.try_lock() {
            Some(c) if c.is_open() => "open",
            Some(_) => "closed",
            None => "in use",
        };
        write!(
            f,
            "SocketClient({} {} -> {}, {state})",
            self.0.protocol,
            crate::socket_address_text(&self.0.local),
            crate::socket_address_text(&self.0.peer)
        )
    }
}

/// The client's text, or `in use` while another thread holds it.
impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}
