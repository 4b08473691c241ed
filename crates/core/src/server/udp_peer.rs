//! The sender of a datagram a UDP server received.

use crate::{Error, Result};
use socket2::{SockAddr, Socket};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// A UDP server's socket, shared (weakly) with the senders of its
/// datagrams.
pub(crate) struct Shared {
    pub(crate) sock: Socket,
    /// Cleared by the server's close: a send that finds it clear lets go
    /// of the socket at once.
    open: AtomicBool,
}

impl Shared {
    pub(crate) fn new(sock: Socket) -> Arc<Shared> {
        Arc::new(Shared {
            sock,
            open: AtomicBool::new(true),
        })
    }
}

/// The server's close of `shared`: no send starts any more, and those in
/// progress on other threads are waited for (at most `bound`, their send
/// timeout), so that the socket, and its port, go with the server's
/// reference: the port can be bound again as soon as the close returns.
/// The last reference is taken with `try_unwrap`, so no sender can pick
/// the socket up between the last look and the drop (and close it on its
/// own thread, later).
pub(crate) fn close_shared(mut shared: Arc<Shared>, bound: Duration) {
    shared.open.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + bound;
    let mut nap = Duration::from_micros(20);
    loop {
        match Arc::try_unwrap(shared) {
            Ok(last) => return drop(last),
            Err(back) if Instant::now() < deadline => {
                shared = back;
                std::thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(1));
            }
            Err(_) => return,
        }
    }
}

/// Who sent a datagram to a UDP [`Server`](crate::Server): Renoise's
/// sender-only socket.
///
/// It knows the sender's address and can answer it: [`send`](UdpPeer::send)
/// sends a datagram *from the server's own socket*, so the reply comes from
/// the port the sender wrote to, which is what OSC controllers expect. It
/// cannot receive (datagrams arrive at the server), and
/// [`is_open`](UdpPeer::is_open) is always false, as in Renoise.
///
/// It holds only a weak reference to the server's socket: once the server
/// is closed, `send` fails with [`Error::Closed`] and the port is free at
/// once, however many `UdpPeer`s are still around.
///
/// ```
/// use renoise_socket::{Event, Peer, Protocol, Server};
/// use std::net::UdpSocket;
/// use std::time::Duration;
///
/// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
/// let sender = UdpSocket::bind("127.0.0.1:0")?;
/// sender.send_to(b"ping", server.local_addr())?;
/// let events = server.poll(Duration::from_secs(5))?;
/// let Some(Event::Message { from: Peer::Udp(peer), data }) = events.into_iter().next() else {
///     panic!("no datagram");
/// };
/// assert_eq!(data, b"ping");
/// assert_eq!(peer.peer_port(), sender.local_addr()?.port());
/// assert!(!peer.is_open());
/// peer.send(b"pong")?;
/// let mut buf = [0; 16];
/// sender.set_read_timeout(Some(Duration::from_secs(5)))?;
/// let (n, from) = sender.recv_from(&mut buf)?;
/// assert_eq!(&buf[..n], b"pong");
/// assert_eq!(from, server.local_addr());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct UdpPeer {
    sock: Weak<Shared>,
    /// The server socket's address.
    local: SocketAddr,
    /// That address as the server's `local_address` gives it (`0.0.0.0`
    /// for a dual-stack socket on every interface).
    shown: SocketAddr,
    /// The sender as the kernel gave it: where replies go.
    to: SocketAddr,
    /// The sender as reported (IPv4-mapped addresses as IPv4).
    peer: SocketAddr,
}

impl UdpPeer {
    pub(crate) fn new(
        sock: Weak<Shared>,
        local: SocketAddr,
        shown: SocketAddr,
        to: SocketAddr,
    ) -> UdpPeer {
        UdpPeer {
            sock,
            local,
            shown,
            to,
            peer: crate::client::canonical(to),
        }
    }

    /// Always false: a sender-only socket is not a connection (Renoise's
    /// own test expects this). It can still [`send`](UdpPeer::send).
    ///
    /// ```
    /// # use renoise_socket::{Event, Peer, Protocol, Server};
    /// # let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// # let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # s.send_to(b"x", server.local_addr())?;
    /// # let ev = server.poll(std::time::Duration::from_secs(5))?;
    /// # let Some(Event::Message { from: Peer::Udp(peer), .. }) = ev.into_iter().next() else { panic!() };
    /// assert!(!peer.is_open());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_open(&self) -> bool {
        false
    }

    /// Sends one datagram to the sender, from the server's socket (so from
    /// the server's port). As a UDP [`Client::send`](crate::Client::send):
    /// too large a message gives [`Error::MessageTooLarge`]; a full send
    /// buffer for longer than the server's send timeout gives
    /// [`Error::Timeout`]; after the server closed, [`Error::Closed`].
    ///
    /// ```
    /// # use renoise_socket::{Event, Peer, Protocol, Server};
    /// # let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// # let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # s.send_to(b"x", server.local_addr())?;
    /// # let ev = server.poll(std::time::Duration::from_secs(5))?;
    /// # let Some(Event::Message { from: Peer::Udp(peer), .. }) = ev.into_iter().next() else { panic!() };
    /// peer.send(b"/ack")?;
    /// server.close();
    /// assert!(peer.send(b"/ack").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(&self, data: &[u8]) -> Result<()> {
        let Some(shared) = self.sock.upgrade() else {
            return Err(Error::Closed);
        };
        if !shared.open.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        let sock = &shared.sock;
        let to = SockAddr::from(self.to);
        loop {
            match sock.send_to(data, &to) {
                Ok(n) if n == data.len() => return Ok(()),
                Ok(n) => {
                    return Err(Error::Io(io::Error::other(format!(
                        "datagram cut short: {n} of {} bytes sent",
                        data.len()
                    ))))
                }
                Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                    // An IPv4 peer of a dual-stack socket takes IPv4's limit.
                    return Err(Error::MessageTooLarge {
                        len: data.len(),
                        max: crate::client::max_datagram(crate::client::canonical(self.to)),
                    });
                }
                Err(e) => match e.kind() {
                    // (The server may have closed meanwhile: its close
                    // waits for this send.)
                    io::ErrorKind::Interrupted if !shared.open.load(Ordering::SeqCst) => {
                        return Err(Error::Closed)
                    }
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                        return Err(Error::Timeout)
                    }
                    _ => return Err(Error::Io(e)),
                },
            }
        }
    }

    /// The sender's socket address.
    ///
    /// ```
    /// # use renoise_socket::{Event, Peer, Protocol, Server};
    /// # let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// # let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # s.send_to(b"x", server.local_addr())?;
    /// # let ev = server.poll(std::time::Duration::from_secs(5))?;
    /// # let Some(Event::Message { from: Peer::Udp(peer), .. }) = ev.into_iter().next() else { panic!() };
    /// assert_eq!(peer.peer_addr(), s.local_addr()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Renoise's `peer_address`: the sender's numeric address.
    ///
    /// ```
    /// # use renoise_socket::{Event, Peer, Protocol, Server};
    /// # let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// # let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # s.send_to(b"x", server.local_addr())?;
    /// # let ev = server.poll(std::time::Duration::from_secs(5))?;
    /// # let Some(Event::Message { from: Peer::Udp(peer), .. }) = ev.into_iter().next() else { panic!() };
    /// assert_eq!(peer.peer_address(), "127.0.0.1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_address(&self) -> String {
        crate::address_text(&self.peer)
    }

    /// Renoise's `peer_port`: the sender's port.
    ///
    /// ```
    /// # use renoise_socket::{Event, Peer, Protocol, Server};
    /// # let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// # let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # s.send_to(b"x", server.local_addr())?;
    /// # let ev = server.poll(std::time::Duration::from_secs(5))?;
    /// # let Some(Event::Message { from: Peer::Udp(peer), .. }) = ev.into_iter().next() else { panic!() };
    /// assert_eq!(peer.peer_port(), s.local_addr()?.port());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_port(&self) -> u16 {
        self.peer.port()
    }

    /// The server socket's address (replies come from it).
    ///
    /// ```
    /// # use renoise_socket::{Event, Peer, Protocol, Server};
    /// # let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// # let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # s.send_to(b"x", server.local_addr())?;
    /// # let ev = server.poll(std::time::Duration::from_secs(5))?;
    /// # let Some(Event::Message { from: Peer::Udp(peer), .. }) = ev.into_iter().next() else { panic!() };
    /// assert_eq!(peer.local_addr(), server.local_addr());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Renoise's `local_address`: the server's, as
    /// [`Server::local_address`](crate::Server::local_address) gives it
    /// (`"0.0.0.0"` for a server on every interface).
    ///
    /// ```
    /// # use renoise_socket::{Event, Peer, Protocol, Server};
    /// # let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// # let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # s.send_to(b"x", server.local_addr())?;
    /// # let ev = server.poll(std::time::Duration::from_secs(5))?;
    /// # let Some(Event::Message { from: Peer::Udp(peer), .. }) = ev.into_iter().next() else { panic!() };
    /// assert_eq!(peer.local_address(), "127.0.0.1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_address(&self) -> String {
        crate::address_text(&self.shown)
    }

    /// Renoise's `local_port`: the server's port.
    ///
    /// ```
    /// # use renoise_socket::{Event, Peer, Protocol, Server};
    /// # let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// # let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// # s.send_to(b"x", server.local_addr())?;
    /// # let ev = server.poll(std::time::Duration::from_secs(5))?;
    /// # let Some(Event::Message { from: Peer::Udp(peer), .. }) = ev.into_iter().next() else { panic!() };
    /// assert_eq!(peer.local_port(), server.local_port());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.local.port()
    }
}

/// Two senders are equal when they wrote to the same server socket from
/// the same address, so a program can keep per-sender state (an OSC
/// controller's subscriptions, say) in a `HashMap<UdpPeer, _>` or find a
/// sender again among the ones it knows.
///
/// ```
/// use renoise_socket::{Event, Peer, Protocol, Server};
/// use std::collections::HashMap;
/// use std::time::Duration;
///
/// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
/// let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// s.send_to(b"a", server.local_addr())?;
/// s.send_to(b"b", server.local_addr())?;
/// let mut count = HashMap::new();
/// let mut seen = 0;
/// while seen < 2 {
///     for event in server.poll(Duration::from_secs(5))? {
///         if let Event::Message { from: Peer::Udp(peer), .. } = event {
///             *count.entry(peer).or_insert(0) += 1;
///             seen += 1;
///         }
///     }
/// }
/// assert_eq!(count.into_values().collect::<Vec<_>>(), [2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl PartialEq for UdpPeer {
    fn eq(&self, other: &UdpPeer) -> bool {
        Weak::ptr_eq(&self.sock, &other.sock) && self.to == other.to
    }
}

/// See `PartialEq`: the same server and sender.
impl Eq for UdpPeer {}

/// As `PartialEq`: the server's identity and the sender's address.
impl Hash for UdpPeer {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The allocation outlives the socket while any `Weak` to it is
        // around, so the address stays this peer's identity.
        self.sock.as_ptr().hash(state);
        self.to.hash(state);
    }
}

impl fmt::Display for UdpPeer {
    /// `SocketClient(UDP 127.0.0.1:9000 <- 127.0.0.1:50000, sender)`, with
    /// the address of [`local_address`](UdpPeer::local_address); `, sender,
    /// closed)` once its server has closed (it can no longer send).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = self
            .sock
            .upgrade()
            .is_some_and(|s| s.open.load(Ordering::SeqCst));
        let closed = if !open { ", closed" } else { "" };
        write!(
            f,
            "SocketClient(UDP {} <- {}, sender{closed})",
            crate::socket_address_text(&self.shown),
            crate::socket_address_text(&self.peer)
        )
    }
}

/// The same text as `Display`.
impl fmt::Debug for UdpPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}
