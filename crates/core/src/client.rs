//! The client: Renoise's `SocketClient`.

use crate::buffer::{Buffer, Takes, MAX_INITIAL};
use crate::framing::{encode_frame, Deframer, Framing};
use crate::wait::{Step, Wait};
use crate::watch::Watch;
use crate::{ClientBuilder, Error, Mode, Protocol, Result};
use socket2::Socket;
use std::fmt;
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::ops::Range;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Reads smaller than this are not worth a system call: the buffer is
/// compacted or grown first.
pub(crate) const MIN_READ: usize = 16 << 10;
/// Most room `receive_exact` makes before the bytes that fill it came; the
/// buffer grows by doubling (up to `n`) as they do.
const EXACT_STEP: usize = 1 << 20;
/// Where a deframed packet's payload is: in the buffer, or unescaped into
/// `scratch` (SLIP escapes).
enum Frame {
    InBuffer(Range<usize>),
    InScratch,
}

/// Room for the largest UDP payload, so a datagram is never truncated.
const MAX_DATAGRAM: usize = 65536;
/// Most one late zero-timeout `receive_all` returns (see `Client::all_pending`),
/// whatever the all-chunk size.
const MAX_POLLED_CHUNK: usize = 1 << 20;

/// Why reading stopped: the data before it is still delivered first.
#[derive(Debug)]
enum End {
    /// The peer closed the connection (or it broke while we sent).
    Peer,
    /// The peer reset the connection: the end of the stream for Renoise's
    /// receives, `ConnectionReset` for `io::Read` (as from std).
    Reset(io::Error),
    /// The kernel reported another error.
    Failed(io::Error),
}

/// A connected TCP or UDP client with Renoise's receive semantics.
///
/// Every `receive_*` call takes a timeout; [`Duration::ZERO`] only looks at
/// what is already pending. A timeout never loses data: bytes read before
/// it stay buffered for the next call. At end of stream every remaining
/// byte is delivered before [`Error::Disconnected`], after which the client
/// is closed.
///
/// ```no_run
/// use renoise_socket::{Client, Mode};
/// use std::time::Duration;
///
/// let mut c = Client::connect("localhost", 7000)?;
/// c.send(b"hello\n")?;
/// match c.receive(Mode::Line, Duration::from_millis(500)) {
///     Ok(line) => println!("{}", String::from_utf8_lossy(line)),
///     Err(e) if e.is_timeout() => println!("nothing yet"),
///     Err(e) => println!("gone: {e}"),
/// }
/// # Ok::<(), renoise_socket::Error>(())
/// ```
pub struct Client {
    sock: Option<Socket>,
    buf: Buffer,
    end: Option<End>,
    /// A TCP send found the peer gone (or the program shut the sending
    /// side down), and no receive has reported the end yet: the client is
    /// closed for sending (`is_open` is false).
    /// With `sock` still there, the peer's unread bytes come first (see
    /// [`Client::can_receive`]); without (nothing was unread, the socket
    /// went at once), the next receive reports the end. Cleared by
    /// [`close`](Client::close), which every end goes through.
    peer_gone: bool,
    /// The `SO_RCVTIMEO` currently set, to skip the system call when a
    /// program uses the same timeout call after call.
    rcvtimeo: Option<Duration>,
    /// The socket has another descriptor ([`Client::try_clone`]), whose
    /// receives may change `SO_RCVTIMEO` behind `rcvtimeo`: set it before
    /// every blocking read. Atomic: `try_clone` takes `&self`.
    cloned: AtomicBool,
    opts: ClientBuilder,
    local: SocketAddr,
    peer: SocketAddr,
    /// Set when TCP framing is on.
    deframer: Option<Deframer>,
    /// The stream position the deframer's progress is from: while nothing
    /// else takes bytes, a frame arriving in many reads is scanned once.
    deframed_at: u64,
    /// A SLIP packet that held escapes, unescaped (what the last receive
    /// returned, then).
    scratch: Vec<u8>,
    /// A frame being built for sending: a buffer of its own, so a send
    /// never touches the bytes of the last receive (a binding may still be
    /// copying them when a send comes in: a Lua finalizer run while the
    /// receive's string is made).
    send_frame: Vec<u8>,
    /// Zero-timeout reads in a row that found nothing (saturating). From
    /// the first, the next one asks `poll` before reading (cheaper than a
    /// `recv` that fails); from [`WATCH_AFTER`], an epoll instance.
    idle: u8,
    /// An epoll instance watching only this socket (Linux), made for a
    /// program that keeps polling an idle connection.
    watch: Watch,
    /// The deadline of an `io::Read` call (`Duration::MAX`: none).
    pub(crate) read_timeout: Duration,
    /// The failure of an `io::Write` call that had written part of its
    /// data (reported as that part, as `io::Write` requires), for the
    /// next call to report.
    pub(crate) write_failure: Option<Error>,
    /// `io::Read` returned the end of the stream, which leaves the client
    /// open for a reply: a server that also reads it leaves its end to the
    /// program (see [`Client::ended_for_server`]).
    eof_read: bool,
    /// A reset the system reported to a call other than a read (the
    /// connect, a send, the look at a handed-over stream). It reports a
    /// reset once, and a read after it finds a plain end: the end that
    /// follows the unread bytes is this reset.
    reset: Option<io::Error>,
    /// The last framed receive stopped reading at its deadline with bytes
    /// maybe still queued (a peer sending faster than they are read, empty
    /// frames say), having read this many bytes. A server
    /// reads such a connection again in its next round: no new readiness
    /// will say so.
    stopped_early: Option<usize>,
}

/// Idle zero-timeout polls in a row after which a client watches its
/// socket with its own epoll instance (one more descriptor, so not for a
/// client that polls once in a while).
const WATCH_AFTER: u8 = 8;

/// [`Client::close`]: dropping a client ends its stream as closing it
/// does (unread bytes would make the system reset the connection).
impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

/// The same text as `Display`.
impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// `SocketClient(TCP 127.0.0.1:50000 -> 127.0.0.1:8080, open)`.
impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SocketClient({} {} -> {}, {})",
            self.opts.protocol,
            socket_address_text(&self.local),
            socket_address_text(&self.peer),
            if self.is_open() { "open" } else { "closed" }
        )
    }
}

/// The socket address, with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
/// what a dual-stack server socket sees of an IPv4 peer) given as the IPv4
/// address it is.
fn sock_addr(a: socket2::SockAddr) -> Result<SocketAddr> {
    let a = a
        .as_socket()
        .ok_or_else(|| Error::Io(io::Error::other("not an IP socket")))?;
    Ok(canonical(a))
}

/// The unspecified address (`0.0.0.0` or `::`) of `ip`'s family.
pub(crate) fn unspecified_like(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        std::net::IpAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    }
}

/// `a` with an IPv4-mapped IPv6 address (a dual-stack socket's IPv4 peer)
/// as the IPv4 address it is. Any other IPv6 address keeps its scope
/// (the interface of a link-local `fe80::` address, without which it
/// cannot be reached) and flow label.
pub(crate) fn canonical(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => a,
        },
        SocketAddr::V4(_) => a,
    }
}

/// The numeric host of `a` as the address properties (`local_address`,
/// `peer_address`) give it: the IP address, with the zone of a scoped IPv6
/// address (`fe80::1%eth0`: the interface's name, or its number if it has
/// none), which the resolver reads back, so a property can be connected
/// to.
///
/// ```
/// use std::net::SocketAddr;
/// let a: SocketAddr = "[::1]:8000".parse().unwrap();
/// assert_eq!(renoise_socket::address_text(&a), "::1");
/// let b: SocketAddr = "127.0.0.1:8000".parse().unwrap();
/// assert_eq!(renoise_socket::address_text(&b), "127.0.0.1");
/// ```
pub fn address_text(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V6(v6) if v6.scope_id() != 0 => {
            let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
            // SAFETY: the buffer holds IF_NAMESIZE bytes, as required;
            // on success it holds a NUL-terminated name.
            let found =
                unsafe { !libc::if_indextoname(v6.scope_id(), name.as_mut_ptr()).is_null() };
            let zone = if found {
                // SAFETY: NUL-terminated by if_indextoname.
                unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
                    .to_string_lossy()
                    .into_owned()
            } else {
                v6.scope_id().to_string()
            };
            format!("{}%{zone}", v6.ip())
        }
        _ => a.ip().to_string(),
    }
}

/// `a` with its port, its host written as [`address_text`] writes it:
/// `127.0.0.1:8000`, `[::1]:8000`, `[fe80::1%eth0]:8000` (where
/// `SocketAddr`'s own `Display` gives the zone's number, `%4`). Every
/// message and `tostring()` of the crate and of the Lua module names an
/// address this way, so it reads as the properties do.
///
/// ```
/// use std::net::SocketAddr;
/// let a: SocketAddr = "[::1]:8000".parse().unwrap();
/// assert_eq!(renoise_socket::socket_address_text(&a), "[::1]:8000");
/// let b: SocketAddr = "127.0.0.1:8000".parse().unwrap();
/// assert_eq!(renoise_socket::socket_address_text(&b), "127.0.0.1:8000");
/// ```
pub fn socket_address_text(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V6(v6) if v6.scope_id() != 0 => format!("[{}]:{}", address_text(a), v6.port()),
        _ => a.to_string(),
    }
}

/// True unless `poll` says for sure that nothing can be read now: data,
/// end of stream and errors all count as readable, for `recv` to report.
/// On an idle socket `poll` is the cheaper of the two system calls.
fn maybe_readable(sock: &Socket) -> bool {
    let mut p = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    unsafe { libc::poll(&mut p, 1, 0) != 0 }
}

/// True when the kernel holds bytes not read yet; never takes a pending
/// error.
fn unread_in_kernel(sock: &Socket) -> bool {
    queued_in_kernel(sock) > 0
}

/// How many received bytes the kernel holds, not read yet (0 if it cannot
/// tell).
fn queued_in_kernel(sock: &Socket) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::FIONREAD, &mut n) };
    if r == 0 {
        usize::try_from(n).unwrap_or(0)
    } else {
        0
    }
}

/// Reads and drops what `sock` has received and not been read, without
/// waiting, so that closing it sends the end of the stream, not a reset
/// (which would also drop what the system has yet to send). Bounded: a
/// peer that keeps sending is reset after 4 MiB, as any would be.
#[cold]
fn drain_unread(sock: &Socket) {
    let mut scratch = [0u8; 16 << 10];
    for _ in 0..256 {
        match recv_now(sock, &mut scratch) {
            Ok(n) if n > 0 => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            _ => return,
        }
    }
}

/// `recv` with `MSG_DONTWAIT`: the zero-timeout path, one system call.
fn recv_now(sock: &Socket, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and recv only ever
    // writes initialised bytes into the slice.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    sock.recv_with_flags(uninit, libc::MSG_DONTWAIT)
}

impl Client {
    /// Connects over TCP with the default options (1000 ms connect
    /// timeout).
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert!(c.is_open());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn connect(host: &str, port: u16) -> Result<Client> {
        ClientBuilder::new().connect(host, port)
    }

    /// Connects over TCP to `addr` with the default options, with no name
    /// to resolve.
    ///
    /// ```no_run
    /// let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
    /// let c = renoise_socket::Client::connect_addr(addr)?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn connect_addr(addr: SocketAddr) -> Result<Client> {
        ClientBuilder::new().connect_addr(addr)
    }

    /// Options for [`Client`]: protocol, timeouts, size limits.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Protocol};
    /// let c = Client::builder().protocol(Protocol::Udp).connect("127.0.0.1", 9000)?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The peer is the kernel's name for it (dialling `0.0.0.0` reaches
    /// `127.0.0.1`); `peer`, the address dialled or accepted, stands in
    /// when there is none any more (a connection the peer has already
    /// reset, which may still hold data it sent).
    pub(crate) fn from_socket(
        sock: Socket,
        opts: ClientBuilder,
        peer: Option<SocketAddr>,
        mut reset: Option<io::Error>,
    ) -> Result<Client> {
        // Every send passes MSG_NOSIGNAL; Apple's systems document the
        // socket option (SO_NOSIGPIPE) instead: both, there.
        #[cfg(target_vendor = "apple")]
        sock.set_nosigpipe(true)?;
        match opts.protocol {
            Protocol::Tcp => sock.set_tcp_nodelay(opts.nodelay)?,
            // A datagram goes whole or not at all: the kernel's timeout on
            // a full send buffer is the whole bound (TCP's send measures
            // progress itself). A burst of replies between two receives
            // waits in a queue as large as a server's.
            Protocol::Udp => {
                // Under a microsecond the kernel's timeout would be zero,
                // which is "forever": at least 1 ms, as a TCP send's wait.
                let t = opts.send_timeout.map(|d| d.max(Duration::from_millis(1)));
                sock.set_write_timeout(t)?;
                crate::server::bind::grow_receive_queue(&sock);
            }
        }
        let local = sock_addr(sock.local_addr()?)?;
        let peer = match (sock.peer_addr(), peer) {
            (Ok(a), _) => sock_addr(a)?,
            (Err(_), Some(p)) => canonical(p),
            // A stream handed over (`from_tcp_stream`) after its peer reset
            // it: the kernel has forgotten the address, but still holds
            // what the peer sent, which the client delivers before the end.
            (Err(e), None) if e.kind() == io::ErrorKind::NotConnected => {
                match peek(&sock) {
                    // A socket that never connected (or listens) says so to
                    // a receive too; a reset one has data, an end or a reset.
                    Err(p) if p.kind() == io::ErrorKind::NotConnected => return Err(e.into()),
                    // The look took the reset: the end after the data is it.
                    Err(p) if is_reset(&p) => reset = Some(p),
                    _ => {}
                }
                SocketAddr::new(unspecified_like(local.ip()), 0)
            }
            (Err(e), None) => return Err(e.into()),
        };
        let cap = opts
            .all_chunk_size
            .clamp(MIN_READ, MAX_INITIAL)
            .max(match opts.protocol {
                Protocol::Tcp => 0,
                Protocol::Udp => MAX_DATAGRAM,
            });
        let deframer = match (opts.protocol, opts.framing) {
            (Protocol::Tcp, f) if f != Framing::None => {
                Some(Deframer::new(f, opts.max_receive_size))
            }
            _ => None,
        };
        Ok(Client {
            sock: Some(sock),
            peer_gone: false,
            buf: Buffer::with_capacity(cap, opts.read_ahead),
            end: None,
            rcvtimeo: None,
            cloned: AtomicBool::new(false),
            opts,
            local,
            peer,
            deframer,
            deframed_at: 0,
            scratch: Vec::new(),
            send_frame: Vec::new(),
            idle: 0,
            watch: Watch::None,
            read_timeout: Duration::MAX,
            write_failure: None,
            eof_read: false,
            stopped_early: None,
            reset,
        })
    }

    /// True until [`close`](Client::close), the end of the stream, or an
    /// error other than a timeout.
    ///
    /// ```no_run
    /// let mut c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// c.close();
    /// assert!(!c.is_open());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn is_open(&self) -> bool {
        self.sock.is_some() && !self.peer_gone
    }

    /// Whether a receive can still deliver data: while the client is open,
    /// and also after a TCP send that found the peer gone
    /// ([`Error::Disconnected`]; [`is_open`](Client::is_open) is false from
    /// then on), until a receive has delivered what the peer sent before
    /// it went and reported the end. (With nothing of the peer's unread,
    /// the socket itself is released at once, and the next receive
    /// reports the end.) Nothing the peer sent is lost
    /// because the program happened to send first: a server that answers
    /// and closes while the client is still sending is the usual case.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Error, Mode};
    /// use std::time::Duration;
    /// let mut c = Client::connect("127.0.0.1", 8080)?;
    /// if let Err(Error::Disconnected) = c.send(b"more of a long request") {
    ///     assert!(!c.is_open());
    ///     while c.can_receive() {
    ///         match c.receive(Mode::All, Duration::from_secs(1)) {
    ///             Ok(reply) => println!("{}", String::from_utf8_lossy(reply)),
    ///             Err(_) => break, // Disconnected once everything is read
    ///         }
    ///     }
    /// }
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn can_receive(&self) -> bool {
        self.sock.is_some() || self.peer_gone
    }

    /// [`is_open`](Client::is_open), and for TCP, unless data is still
    /// waiting to be received, the peer has not closed or reset the
    /// connection: one non-blocking look at the socket, which reads
    /// nothing. The client stays open either way: the next receive
    /// returns [`Error::Disconnected`] and closes it.
    /// ([`is_open`](Client::is_open), like Renoise's `is_open`, stays true
    /// until a call has reported the end.)
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// if !c.is_connected() {
    ///     println!("the server went away");
    /// }
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn is_connected(&self) -> bool {
        let Some(sock) = self.sock.as_ref().filter(|_| !self.peer_gone) else {
            return false;
        };
        if self.opts.protocol != Protocol::Tcp || !self.buf.is_empty() {
            return true;
        }
        if self.end.is_some() {
            return false; // the end is known, and nothing is left before it
        }
        // Not `peek`: where nothing is unread, it would take a reset the
        // next receive is to report (the system reports one once).
        !maybe_readable(sock) || unread_in_kernel(sock)
    }

    /// TCP or UDP.
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert_eq!(c.protocol(), renoise_socket::Protocol::Tcp);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn protocol(&self) -> Protocol {
        self.opts.protocol
    }

    /// The local socket address; still known after close.
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert!(c.local_addr().ip().is_loopback());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The peer's socket address; still known after close.
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert_eq!(c.peer_addr().port(), 8080);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Renoise's `local_address`: the numeric local address, such as
    /// `"127.0.0.1"` or `"::1"`.
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("localhost", 8080)?;
    /// println!("{}", c.local_address());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_address(&self) -> String {
        address_text(&self.local)
    }

    /// Renoise's `local_port`.
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert_ne!(c.local_port(), 0);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn local_port(&self) -> u16 {
        self.local.port()
    }

    /// Renoise's `peer_address`: the numeric address connected to, as the
    /// kernel names it (dialling `0.0.0.0` reaches `127.0.0.1`).
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert_eq!(c.peer_address(), "127.0.0.1");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn peer_address(&self) -> String {
        address_text(&self.peer)
    }

    /// Renoise's `peer_port`.
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert_eq!(c.peer_port(), 8080);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn peer_port(&self) -> u16 {
        self.peer.port()
    }

    /// Bytes received and not handed out yet.
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert_eq!(c.buffered(), 0);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Memory held for received data, in bytes: none before the first
    /// read, then the all-chunk size (at least 16 KiB), growing only as far
    /// as the limits (longest line, largest read) and the read-ahead
    /// require. A buffer that grew is given back, once it is empty, when
    /// the connection goes quiet: a receive that waited its whole timeout
    /// for nothing, or the eighth zero-timeout receive in a row that found
    /// nothing. The next read allocates the all-chunk size again.
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert_eq!(c.buffer_capacity(), 0);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Frees the receive buffer if it is empty and grew past the all-chunk
    /// size; for the server, whose connections are read only when the
    /// kernel says so and so never poll idle.
    pub(crate) fn release_grown_buffer(&mut self) {
        self.buf.release_if_grown();
    }

    /// Frees the receive buffer if it is empty: for the server, once a
    /// connection has been quiet a while.
    pub(crate) fn release_idle_buffer(&mut self) {
        self.buf.release_if_empty();
    }

    /// Closes the socket at once. Calling it again does nothing. The
    /// address properties keep their values.
    ///
    /// TCP: bytes the system received that were never read are read and
    /// dropped first (what is there, at most 4 MiB, without waiting). A
    /// socket closed with unread bytes is reset: its peer would read
    /// `ECONNRESET` instead of the end of the stream, and what the system
    /// had still to send, after a `send` that succeeded, would be lost.
    /// (Not when [`try_clone`](Client::try_clone) made another client on
    /// the socket: those bytes may be the other one's to read.) Bytes the
    /// peer sends after the close get a reset all the same: where the last
    /// reply matters and the peer may still be sending, read until the end
    /// of its stream first, or [`shutdown_send`](Client::shutdown_send) and
    /// read.
    ///
    /// ```no_run
    /// let mut c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// c.close();
    /// c.close();
    /// assert!(c.send(b"x").is_err());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn close(&mut self) {
        self.close_keeping_buffer();
        self.buf = Buffer::with_capacity(0, 0);
    }

    /// What [`close`](Client::close) does but free the receive buffer: it
    /// is emptied, and its memory stays until the next call on the client
    /// (a receive, a `close`, the drop, a server's sweep). For bindings to
    /// other languages: the bytes a receive returned stay readable through
    /// a pointer the binding kept, while the socket is closed at once (in
    /// Lua 5.1 and LuaJIT, making a string of them can run a `__gc`
    /// finalizer, which may close the client). A failed send closes the
    /// client this way too, so that a send never moves or frees bytes a
    /// receive handed out.
    ///
    /// ```no_run
    /// let mut c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// c.close_keeping_buffer();
    /// assert!(!c.is_open());
    /// c.close(); // frees the buffer's memory
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    #[cold]
    pub fn close_keeping_buffer(&mut self) {
        self.watch = Watch::None;
        if let Some(sock) = self.sock.take() {
            // A socket shared with a clone is still read through it.
            if self.opts.protocol == Protocol::Tcp && !self.cloned.load(Ordering::Relaxed) {
                drain_unread(&sock);
            }
        }
        self.buf.forget();
        self.end = None;
        self.peer_gone = false;
        self.write_failure = None;
        self.eof_read = false;
        self.reset = None;
    }

    /// TCP: shuts down the sending side (a half-close, `shutdown(SHUT_WR)`):
    /// the peer reads the end of the stream after everything sent so far,
    /// and can still answer. The client is then closed for sending, as
    /// after a send that found the peer gone: [`is_open`](Client::is_open)
    /// is false, a send is [`Error::Closed`], and receives deliver what
    /// the peer sends ([`can_receive`](Client::can_receive)) until its end,
    /// reported as [`Error::Disconnected`], which closes the client.
    /// Calling it again does nothing; a connection the peer has already
    /// reset counts as shut down (the next receive reports the end).
    ///
    /// A closed client is [`Error::Closed`]; UDP has no stream to end and
    /// is [`Error::InvalidArgument`] (the client stays open). Renoise has
    /// no such call: it is for Rust programs talking to a peer that
    /// answers once it has read everything (`nc -N`).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let mut c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// c.send(b"all of the request")?;
    /// c.shutdown_send()?;
    /// let reply = c.receive_line(Duration::from_secs(1))?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn shutdown_send(&mut self) -> Result<()> {
        let Some(sock) = self.sock.as_ref() else {
            return if self.peer_gone {
                Ok(())
            } else {
                Err(Error::Closed)
            };
        };
        if self.opts.protocol == Protocol::Udp {
            return Err(Error::InvalidArgument(
                "shutdown_send: a UDP client has no stream to end".into(),
            ));
        }
        if self.peer_gone {
            return Ok(());
        }
        match sock.shutdown(std::net::Shutdown::Write) {
            Ok(()) => {
                self.peer_gone = true;
                Ok(())
            }
            // Reset by the peer: nothing can be sent any more either way.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                self.peer_gone_while_sending();
                Ok(())
            }
            Err(e) => Err(Error::Io(e)),
        }
    }

    /// Another client on the same socket (a duplicated descriptor), with
    /// its own buffer and state, as std's `TcpStream::try_clone`: how one
    /// thread sends while another waits in a receive (a client is `&mut`
    /// for both). Receive on one of them at a time: bytes go to whichever
    /// reads first, and the receive timeout is the socket's (each clone
    /// sets its own before every read that waits, so receives taking
    /// turns keep their timeouts; two at once would mix them up).
    ///
    /// The connection belongs to all of them: closing (or dropping) one
    /// closes only its descriptor, and the peer sees the end once every
    /// clone is closed; [`shutdown_send`](Client::shutdown_send) on any of
    /// them ends the sending side for all (a send on another clone then
    /// fails as if the peer had gone, [`Error::Disconnected`], and closes
    /// that clone for sending; what the peer sends stays receivable). The
    /// options are this client's.
    ///
    /// Sends through different clones are not atomic with each other (as
    /// with std's clones): a message larger than what the socket takes at
    /// once can be split by another clone's send. Send from one clone, or
    /// serialize the senders. A send that stalls part way
    /// ([`Error::SendStalled`]) shuts the connection down for every clone:
    /// no other clone's message can follow the cut-off one.
    /// A closed client, or one closed for sending, is [`Error::Closed`].
    ///
    /// ```no_run
    /// use renoise_socket::Client;
    /// use std::time::Duration;
    ///
    /// let mut reader = Client::connect("127.0.0.1", 8080)?;
    /// let mut writer = reader.try_clone()?;
    /// let sender = std::thread::spawn(move || writer.send(b"ping\n"));
    /// let reply = reader.receive_line(Duration::from_secs(5))?.to_vec();
    /// sender.join().unwrap()?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Client> {
        let Some(sock) = self.sock.as_ref().filter(|_| !self.peer_gone) else {
            return Err(Error::Closed);
        };
        let dup = sock
            .try_clone()
            .map_err(|e| Error::os("cannot duplicate the socket", e))?;
        let clone = Client::from_socket(dup, self.opts.clone(), Some(self.peer), None)?;
        self.cloned.store(true, Ordering::Relaxed);
        clone.cloned.store(true, Ordering::Relaxed);
        Ok(clone)
    }

    /// Receives one unit in the given mode: the Renoise-shaped entry point.
    /// The slice borrows the client's buffer until the next call.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Mode};
    /// use std::time::Duration;
    /// let mut c = Client::connect("127.0.0.1", 8080)?;
    /// let record = c.receive(Mode::Bytes(64), Duration::from_secs(1))?;
    /// assert_eq!(record.len(), 64);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn receive(&mut self, mode: Mode, timeout: Duration) -> Result<&[u8]> {
        match mode {
            Mode::Line => self.receive_line(timeout),
            Mode::All => self.receive_all(timeout),
            Mode::Bytes(n) => self.receive_exact(n, timeout),
        }
    }

    /// Gives back the bytes of the last receive: the next receive starts
    /// again at `result`, the start of the slice that receive returned
    /// (which must not have been used since).
    ///
    /// For a binding that copies each result out of the client (the Lua
    /// module makes it a Lua string) and whose copy can fail after the
    /// receive took the bytes: out of memory, or an error raised by code
    /// that ran meanwhile. Giving them back keeps "a failure never loses
    /// data" true there too. Only for unframed TCP (a framed packet or a
    /// datagram has more state than a position), and only before any
    /// other receive: returns false, changing nothing, when `result` does
    /// not point into the part of the buffer already handed out.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Mode};
    /// use std::time::Duration;
    /// let mut c = Client::connect("127.0.0.1", 8080)?;
    /// let at = c.receive(Mode::Line, Duration::from_secs(1))?.as_ptr();
    /// // ... the copy of that line failed:
    /// assert!(c.give_back(at));
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn give_back(&mut self, result: *const u8) -> bool {
        if self.deframer.is_some() || self.opts.protocol != Protocol::Tcp {
            return false;
        }
        self.buf.give_back(result)
    }

    /// What [`receive`](Client::receive) would return now without a system
    /// call: a whole line or `n` bytes already in the client's buffer.
    /// `None`, consuming nothing, whenever `receive` would have to do more:
    /// nothing whole buffered, a line longer than the limit, a size out of
    /// range, a closed client, and always for [`Mode::All`]. Never waits,
    /// never fails: the `receive` that follows a `None` reports what there
    /// is to report.
    ///
    /// For callers that make their own fast path (the Lua module's LuaJIT
    /// entry takes every buffered line this way, with no deadline to
    /// compute and nothing to return through memory).
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Mode};
    /// use std::time::Duration;
    /// let mut c = Client::connect("127.0.0.1", 8080)?;
    /// let first = c.receive_vec(Mode::Line, Duration::from_secs(1))?;
    /// // Lines that came in the same read as the first one:
    /// while let Some(line) = c.receive_buffered(Mode::Line) {
    ///     println!("{}", String::from_utf8_lossy(line));
    /// }
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    // Always inlined: a caller's own fast path is the point, and with two
    // callers in the Lua module the compiler made it a call.
    #[inline(always)]
    pub fn receive_buffered(&mut self, mode: Mode) -> Option<&[u8]> {
        // The same tests as the first lines of `line` and `exact`, so a
        // result here is exactly what `receive` would have returned.
        let r = match mode {
            Mode::Line => self.buf.take_line(self.opts.max_line_length)?.ok()?,
            Mode::Bytes(n) => {
                if n == 0 || n > self.opts.max_receive_size {
                    return None;
                }
                self.buf.settle();
                if self.buf.len() < n {
                    return None;
                }
                self.buf.take_exact(n)
            }
            Mode::All => return None,
        };
        Some(self.buf.bytes(r))
    }

    /// Like [`receive`](Client::receive), into an owned vector.
    ///
    /// A vector the process has no memory for (a limit such as `ulimit
    /// -v`) is an [`Error::Io`] of kind `OutOfMemory`, not an abort. For
    /// `n` bytes the room is made first, so nothing is read then; a line
    /// or a chunk that cannot be copied was handed out already: it is
    /// lost, and the client closes, since its stream cannot go on.
    ///
    /// ```no_run
    /// use renoise_socket::{Client, Mode};
    /// use std::time::Duration;
    /// let mut c = Client::connect("127.0.0.1", 8080)?;
    /// let line: Vec<u8> = c.receive_vec(Mode::Line, Duration::from_secs(1))?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn receive_vec(&mut self, mode: Mode, timeout: Duration) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        if let Mode::Bytes(n) = mode {
            // (A size out of range is for `receive` to refuse.)
            if n <= self.opts.max_receive_size && out.try_reserve_exact(n).is_err() {
                return Err(crate::buffer::out_of_memory(format_args!(
                    "cannot make room for {n} bytes"
                )));
            }
        }
        self.copied(|c| c.receive(mode, timeout), out)
    }

    /// What `read` hands out, appended to `out`; see
    /// [`receive_vec`](Client::receive_vec) for a copy that finds no
    /// memory.
    pub(crate) fn copied(
        &mut self,
        read: impl FnOnce(&mut Client) -> Result<&[u8]>,
        mut out: Vec<u8>,
    ) -> Result<Vec<u8>> {
        let lost = match read(self) {
            Ok(b) if crate::buffer::try_extend(&mut out, b) => return Ok(out),
            Ok(b) => b.len(),
            Err(e) => return Err(e),
        };
        self.close();
        Err(crate::buffer::out_of_memory(format_args!(
            "cannot copy {lost} bytes; the connection is closed (those bytes are lost)"
        )))
    }

    /// One line without its terminator (`\n`, `\r\n` or a lone `\r`; a
    /// `\r\n` split across two reads is one terminator). At end of stream
    /// an unterminated last line is returned as a line.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let mut c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// let line = c.receive_line(Duration::from_secs(1))?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    #[inline]
    pub fn receive_line(&mut self, timeout: Duration) -> Result<&[u8]> {
        let r = self.line(timeout)?;
        Ok(self.buf.bytes(r))
    }

    /// Exactly `n` bytes, within one deadline for the whole call; fewer
    /// only when the stream ends first. `n` must be between 1 and the
    /// maximum receive size.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let mut c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// let header = c.receive_exact(4, Duration::from_secs(1))?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    #[inline]
    pub fn receive_exact(&mut self, n: usize, timeout: Duration) -> Result<&[u8]> {
        let r = self.exact(n, timeout)?;
        Ok(self.buf.bytes(r))
    }

    /// Whatever is buffered or pending, never empty, at most the all-chunk
    /// size. If nothing is there it waits up to `timeout` for the first
    /// bytes. On UDP it returns the rest of the current datagram, or the
    /// next one. With [framing](crate::framing) on it returns one whole
    /// packet: then what is pending means what was when the deadline
    /// passed, so a peer sending faster than it is read cannot stretch the
    /// call.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let mut c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// let chunk = c.receive_all(Duration::ZERO);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    #[inline]
    pub fn receive_all(&mut self, timeout: Duration) -> Result<&[u8]> {
        if self.deframer.is_some() {
            return self.packet(timeout);
        }
        let r = self.all(timeout, self.opts.all_chunk_size, false)?;
        Ok(self.buf.bytes(r))
    }

    /// `receive_all` of at most `max` bytes (at least one), without
    /// framing, for `io::Read` (see `std_io.rs`): the end of the stream
    /// is an empty slice, every time, and leaves the client open (a reply
    /// can still be sent to a peer that only closed its sending side).
    pub(crate) fn receive_up_to(&mut self, max: usize, timeout: Duration) -> Result<&[u8]> {
        let r = self.all(timeout, max.max(1), true)?;
        Ok(self.buf.bytes(r))
    }

    /// The framing this client was built with.
    ///
    /// ```no_run
    /// use renoise_socket::{framing::Framing, Client};
    /// let c = Client::connect("127.0.0.1", 8080)?;
    /// assert_eq!(c.framing(), Framing::None);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn framing(&self) -> Framing {
        match self.deframer {
            Some(ref d) => d.framing(),
            None => Framing::None,
        }
    }

    /// `receive_all` with framing on: exactly one whole packet. A broken
    /// frame, or a stream that ends inside a frame, closes the socket: the
    /// rest of the stream cannot be trusted.
    fn packet(&mut self, timeout: Duration) -> Result<&[u8]> {
        self.check_receivable()?;
        self.buf.settle();
        let mut wait = Wait::new(timeout);
        self.resume_deframer();
        self.stopped_early = None;
        // Stream offsets: of the end of what was received before the last
        // read, and (once the deadline has passed) of the end of what was
        // pending then.
        let first = self.buf.received();
        let mut before_read = None;
        let mut pending_until = None;
        loop {
            if let Some(frame) = self.buffered_frame()? {
                return Ok(self.frame_bytes(frame));
            }
            if self.end.is_some() {
                let cut = self
                    .deframer
                    .as_ref()
                    .map(|d| d.end_of_stream(self.buf.pending()));
                if let Some(Err(e)) = cut {
                    self.close();
                    return Err(e);
                }
                return Err(self.finish());
            }
            // Past the deadline (a zero timeout's at once) the call reads
            // what was pending then, and looks once more (for an end right
            // behind it): a peer sending empty frames (keepalives) faster
            // than they are read must not hold it for ever, as nothing
            // else would end it.
            let received = self.buf.received();
            if let (Some(start), true) = (before_read, wait.expired()) {
                let until = *pending_until.get_or_insert_with(|| {
                    received + self.sock.as_ref().map_or(0, queued_in_kernel) as u64
                });
                if start >= until {
                    self.stopped_early =
                        Some(usize::try_from(received - first).unwrap_or(usize::MAX));
                    return Err(Error::Timeout);
                }
            }
            let limit = self.opts.max_receive_size.saturating_add(MIN_READ);
            before_read = Some(received);
            self.fill(&mut wait, MIN_READ, limit, Takes::Whole)?;
        }
    }

    /// The next whole frame already in the buffer, taken out of it; the
    /// deframer must have been reset since other modes last read. A broken
    /// frame closes the socket.
    fn buffered_frame(&mut self) -> Result<Option<Frame>> {
        self.next_frame(true)
    }

    /// The next whole frame in the buffer. A broken one closes the socket
    /// (`close_on_error`), or is left for the next call to find again.
    fn next_frame(&mut self, close_on_error: bool) -> Result<Option<Frame>> {
        let Some(d) = self.deframer.as_mut() else {
            return Err(Error::Closed);
        };
        let pending = self.buf.pending();
        match d.next_frame(pending) {
            Ok(Some((used, payload))) => {
                let base = self.buf.start();
                let frame = match payload {
                    std::borrow::Cow::Borrowed(p) => {
                        let off = p.as_ptr() as usize - pending.as_ptr() as usize;
                        Frame::InBuffer(base + off..base + off + p.len())
                    }
                    std::borrow::Cow::Owned(v) => {
                        self.scratch = v;
                        Frame::InScratch
                    }
                };
                self.buf.take(used);
                Ok(Some(frame))
            }
            Ok(None) => {
                // Empty frames (keepalives) go at once: any number of them
                // then neither fills the buffer nor reaches the skip limit.
                let skipped = d.take_skipped();
                if skipped > 0 {
                    self.buf.take(skipped);
                    self.deframed_at = self.buf.position();
                }
                Ok(None)
            }
            Err(e) if close_on_error => {
                self.close();
                Err(e)
            }
            Err(e) => {
                // Scanned again from the front by the call that reports it.
                d.reset();
                Err(e)
            }
        }
    }

    fn frame_bytes(&self, frame: Frame) -> &[u8] {
        match frame {
            Frame::InBuffer(r) => self.buf.bytes(r),
            Frame::InScratch => &self.scratch,
        }
    }

    /// With framing on, the next whole packet that is already buffered,
    /// taken without reading the socket (`None` when there is none, or
    /// without framing). The server hands out every packet a read brought
    /// in, not one per round.
    ///
    /// A broken frame gives `None` too and is left where it is, so that
    /// the next [`receive_all`](Client::receive_all) reports it and closes
    /// the socket: the packets before it are dispatched while the
    /// connection is still open, and can be answered whatever way TCP cut
    /// the stream.
    pub(crate) fn buffered_packet(&mut self) -> Option<&[u8]> {
        // (A closed client has nothing buffered: no need to ask.)
        self.deframer.as_ref()?;
        self.buf.settle();
        self.resume_deframer();
        let frame = self.next_frame(false).ok()??;
        Some(self.frame_bytes(frame))
    }

    /// Puts `messages` (whole packets with framing, else bytes), in order,
    /// back in front of what has not been handed out: the next receive
    /// gets them first. See [`Connection::unread`](crate::Connection::unread).
    pub(crate) fn unread(&mut self, messages: &[&[u8]]) {
        let mut bytes = Vec::new();
        for m in messages {
            match &self.deframer {
                Some(d) => {
                    // Cannot fail: each was a packet of this connection.
                    let _ = encode_frame(d.framing(), m, &mut bytes);
                }
                None => bytes.extend_from_slice(m),
            }
        }
        self.buf.unread(&bytes);
        if let Some(d) = self.deframer.as_mut() {
            d.reset();
        }
        self.deframed_at = self.buf.position();
    }

    /// Keeps the deframer's progress through a frame still arriving, unless
    /// other modes took bytes since (then it starts over from the front).
    fn resume_deframer(&mut self) {
        let at = self.buf.position();
        if let Some(d) = self.deframer.as_mut() {
            if self.deframed_at != at {
                d.reset();
                self.deframed_at = at;
            }
        }
    }

    /// The socket's descriptor while open, for the server's event loop.
    pub(crate) fn raw_fd(&self) -> Option<RawFd> {
        self.sock.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// True when something is waiting to be handed out without reading the
    /// kernel: buffered bytes, or a recorded end of the stream (not one
    /// `io::Read` has returned already).
    pub(crate) fn has_unread(&self) -> bool {
        !self.buf.is_empty() || (self.end.is_some() && !self.eof_read)
    }

    /// The last framed receive timed out with bytes maybe still pending
    /// (see the field).
    pub(crate) fn stopped_early(&self) -> Option<usize> {
        self.stopped_early
    }

    /// The program read the end of the stream through `io::Read` and may
    /// still answer: a server must neither read the connection (which
    /// would report the end again and close it) nor forget it; it is the
    /// program's to close.
    pub(crate) fn ended_for_server(&self) -> bool {
        // Once the program has shut its sending side down too, the exchange
        // is over: the server reads the end again and closes.
        self.eof_read && self.buf.is_empty() && !self.peer_gone
    }

    /// A send found the peer gone and closed the socket, nothing of the
    /// peer's being unread: the next receive reports the end.
    pub(crate) fn gone_with_nothing_unread(&self) -> bool {
        self.sock.is_none() && self.peer_gone
    }

    /// `Error::Closed` on a closed client, but the end (once) after a send
    /// found the peer gone with nothing of it unread.
    fn check_receivable(&mut self) -> Result<()> {
        if self.sock.is_none() {
            // A failed send kept the buffer's memory (see
            // `close_keeping_buffer`): no receive is copying from it now.
            self.buf.release_if_empty();
            if std::mem::take(&mut self.peer_gone) {
                return Err(Error::Disconnected);
            }
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Everything has been delivered: the socket closes and says why.
    fn finish(&mut self) -> Error {
        let err = match self.end.take() {
            Some(End::Failed(e)) => Error::Io(e),
            _ => Error::Disconnected,
        };
        self.close();
        err
    }

    #[inline]
    fn line(&mut self, timeout: Duration) -> Result<Range<usize>> {
        // A closed client has an empty buffer: no need to check the socket
        // before looking for a buffered line.
        let max = self.opts.max_line_length;
        if let Some(r) = self.buf.take_line(max) {
            return r.map_err(|()| Error::LineTooLong);
        }
        self.line_slow(timeout)
    }

    /// A zero-timeout call on an idle socket with nothing buffered: one
    /// `poll` (or `epoll_wait`) decides, with none of the bookkeeping of a
    /// read. This is the path of a program that polls a quiet connection
    /// from a timer.
    #[inline]
    fn nothing_now(&mut self, timeout: Duration) -> bool {
        if self.idle == 0
            || !timeout.is_zero()
            || !self.buf.is_empty()
            || self.end.is_some()
            || self.opts.protocol != Protocol::Tcp
        {
            return false;
        }
        let Some(sock) = self.sock.as_ref() else {
            return false;
        };
        if self.idle >= WATCH_AFTER && matches!(self.watch, Watch::None) {
            self.watch = Watch::new(sock.as_raw_fd());
        }
        let nothing = match self.watch.maybe_ready() {
            Some(ready) => !ready,
            None => !maybe_readable(sock),
        };
        if nothing {
            self.idle = self.idle.saturating_add(1);
            if self.idle == WATCH_AFTER {
                // Polled idle that many times in a row: quiet.
                self.buf.release_if_grown();
            }
        } else {
            // Something is there: the read that follows need not ask again.
            self.idle = 0;
        }
        nothing
    }

    /// The line is not buffered yet: read until it is.
    #[inline(never)]
    fn line_slow(&mut self, timeout: Duration) -> Result<Range<usize>> {
        self.check_receivable()?;
        if self.nothing_now(timeout) {
            return Err(Error::Timeout);
        }
        let max = self.opts.max_line_length;
        let mut wait = Wait::new(timeout);
        loop {
            let len = self.buf.len();
            if len > max {
                return Err(Error::LineTooLong);
            }
            if self.end.is_some() {
                if len > 0 {
                    return Ok(self.buf.take_rest());
                }
                return Err(self.finish());
            }
            // One byte past the maximum is enough to know a line is too long
            // (saturating: a maximum of usize::MAX means no limit).
            let past = max.saturating_add(1);
            self.fill(
                &mut wait,
                (past - len).min(MIN_READ),
                past,
                Takes::Pieces(len),
            )?;
            if let Some(r) = self.buf.take_line(max) {
                return r.map_err(|()| Error::LineTooLong);
            }
        }
    }

    #[inline]
    fn exact(&mut self, n: usize, timeout: Duration) -> Result<Range<usize>> {
        // As in `line`: a closed client has nothing buffered.
        if n <= self.opts.max_receive_size {
            self.buf.settle();
            if n > 0 && self.buf.len() >= n {
                return Ok(self.buf.take_exact(n));
            }
        }
        self.exact_slow(n, timeout)
    }

    #[inline(never)]
    fn exact_slow(&mut self, n: usize, timeout: Duration) -> Result<Range<usize>> {
        self.check_receivable()?;
        if n == 0 || n > self.opts.max_receive_size {
            return Err(Error::InvalidArgument(format!(
                "size must be between 1 and {}, got {n}",
                self.opts.max_receive_size
            )));
        }
        if self.nothing_now(timeout) {
            return Err(Error::Timeout);
        }
        let mut wait = Wait::new(timeout);
        loop {
            if self.end.is_some() {
                if !self.buf.is_empty() {
                    return Ok(self.buf.take_rest());
                }
                return Err(self.finish());
            }
            // Room for what is missing, but at most EXACT_STEP ahead of the
            // data: memory follows what arrives, not what was asked for
            // (a large n on a quiet socket must not take its size at once).
            let missing = n - self.buf.len();
            let want = missing.min(EXACT_STEP).max(MIN_READ.min(n));
            self.fill(&mut wait, want, n, Takes::Pieces(n))?;
            self.buf.settle();
            if self.buf.len() >= n {
                return Ok(self.buf.take(n));
            }
        }
    }

    /// Whatever is buffered or pending, at most `take` bytes (and at most
    /// the all-chunk size, which is also the most one call reads). With
    /// `eof_open`, the peer's end of the stream is an empty range and the
    /// client stays open (`io::Read`'s end), instead of `Disconnected`.
    fn all(&mut self, timeout: Duration, take: usize, eof_open: bool) -> Result<Range<usize>> {
        self.check_receivable()?;
        let chunk = self.opts.all_chunk_size;
        let take = take.min(chunk);
        let udp = self.opts.protocol == Protocol::Udp;
        // More than 64 KiB only for a poll that reads on (`all_pending`):
        // a loop that takes chunks as fast as it can is faster with small
        // ones, and reads into a small buffer too (see
        // `Buffer::came_back_late`; with 1 MiB chunks its reads grew the
        // buffer, and it spent twice the system time).
        let chunk = if udp { chunk } else { chunk.min(MAX_INITIAL) };
        let most = take.min(chunk);
        self.buf.settle();
        if self.nothing_now(timeout) {
            return Err(Error::Timeout);
        }
        if self.buf.is_empty() {
            self.buf.release_if_grown_for_chunk(timeout.is_zero());
            let mut wait = Wait::new(timeout);
            loop {
                if eof_open {
                    if matches!(self.end, Some(End::Peer)) {
                        self.eof_read = true;
                        return Ok(self.buf.take(0));
                    }
                    if let Some(End::Reset(e)) = self.end.take_if(|e| matches!(e, End::Reset(_))) {
                        self.close();
                        return Err(Error::Io(e));
                    }
                }
                if self.end.is_some() {
                    return Err(self.finish());
                }
                self.fill(&mut wait, chunk.min(MIN_READ), chunk, Takes::Chunks)?;
                self.buf.settle();
                if !self.buf.is_empty() {
                    break;
                }
            }
            if !timeout.is_zero() {
                self.buf.forget_last_poll();
            } else if !udp && self.buf.came_back_late() {
                return Ok(self.all_pending(take));
            }
        } else if !udp {
            // A poll served from what is buffered counts as one, not a
            // late one (it did not find the system's queue full).
            if timeout.is_zero() {
                self.buf.came_back_late();
            } else {
                self.buf.forget_last_poll();
            }
            if self.end.is_none() && self.buf.len() < most {
                // "The buffer plus whatever the kernel has pending".
                let mut now = Wait::new(Duration::ZERO);
                let want = (chunk - self.buf.len()).min(MIN_READ);
                match self.fill(&mut now, want, chunk, Takes::Chunks) {
                    Ok(()) | Err(Error::Timeout) => {}
                    // What is buffered is the answer then.
                    Err(Error::Io(e)) if e.kind() == io::ErrorKind::OutOfMemory => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let n = if udp {
            self.buf.current_datagram_len()
        } else {
            self.buf.len()
        };
        Ok(self.buf.take(n.min(most)))
    }

    /// The rest of a zero-timeout `"*all"` whose read found data after the
    /// program was away (see `Buffer::came_back_late`): it reads on,
    /// without waiting, while reads come back full, into a buffer that
    /// doubles up to `take`, and returns it all. Renoise's `"*all"` reads
    /// all pending data, and a tool that polls it once per idle tick, ten
    /// times a second, would otherwise get one buffer (64 KiB) a visit,
    /// however fast its peer sends. The grown buffer is kept only for the
    /// next late poll (see `Buffer::release_if_grown_for_chunk`).
    #[cold]
    fn all_pending(&mut self, take: usize) -> Range<usize> {
        // On loopback every read makes a fast sender send more, so a read
        // may come back full for as long as it is asked: the bound ends it.
        let take = take.min(MAX_POLLED_CHUNK);
        while self.buf.len() < take && self.buf.is_full() && self.end.is_none() {
            let want = self.buf.capacity().min(take - self.buf.len());
            // A timeout is the end of what is pending, and without the
            // memory what is buffered is the answer.
            if self
                .fill(&mut Wait::new(Duration::ZERO), want, take, Takes::Chunks)
                .is_err()
            {
                break;
            }
        }
        self.buf.grew_for_chunk();
        self.buf.take(self.buf.len().min(take))
    }

    /// One read into the buffer, waiting as `wait` allows. End of stream
    /// and connection errors are recorded in `self.end` (the buffered
    /// data is delivered first); only a timeout or a UDP error is returned.
    /// `takes` tells how the caller takes what is read, for the buffer's
    /// growth (see `Buffer::after_read`).
    fn fill(&mut self, wait: &mut Wait, want: usize, limit: usize, takes: Takes) -> Result<()> {
        let udp = self.opts.protocol == Protocol::Udp;
        let (want, limit) = if udp {
            (MAX_DATAGRAM, limit.saturating_add(MAX_DATAGRAM))
        } else {
            (want.max(1), limit)
        };
        let Some(sock) = self.sock.as_ref() else {
            return Err(Error::Closed);
        };
        // A TCP connection that has sent nothing yet gets no buffer until
        // something can be read: a server reads each new connection once,
        // and thousands of idle ones would otherwise hold a zeroed chunk
        // each (64 KiB by default).
        let mut lazy = !udp && self.buf.is_unallocated();
        if !lazy {
            self.buf.reserve(want, limit).map_err(no_memory)?;
        }
        let mut room = self.buf.spare().len();
        loop {
            let step = wait.step();
            if lazy && (step != Step::Poll || maybe_readable(sock)) {
                lazy = false;
                self.buf.reserve(want, limit).map_err(no_memory)?;
                room = self.buf.spare().len();
            }
            let res = match step {
                _ if lazy => Err(io::ErrorKind::WouldBlock.into()),
                Step::Poll if self.idle > 0 && !udp && !maybe_readable(sock) => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Step::Poll => recv_now(sock, self.buf.spare()),
                // The kernel counts `SO_RCVTIMEO` in scheduler ticks (4 ms
                // at HZ=250, more under some hypervisors): a 1 ms receive
                // took 7-12 ms. `poll` keeps to the millisecond; for long
                // waits the tick is lost in the noise and one system call
                // (no `poll` first) is what counts.
                Step::Block(d) if d < PRECISE_WAIT_BELOW => {
                    match poll_readable(sock, millis_up(d)) {
                        Ok(true) => recv_now(sock, self.buf.spare()),
                        // The time passed or a signal came: the deadline
                        // decides.
                        Ok(false) => Err(io::ErrorKind::WouldBlock.into()),
                        Err(e) => Err(e),
                    }
                }
                Step::Block(d) => {
                    if self.rcvtimeo != Some(d) || self.cloned.load(Ordering::Relaxed) {
                        sock.set_read_timeout(Some(d.max(Duration::from_micros(1))))?;
                        self.rcvtimeo = Some(d);
                    }
                    (&*sock).read(self.buf.spare())
                }
            };
            match res {
                Ok(0) if !udp => {
                    self.end = Some(self.peer_end());
                    return Ok(());
                }
                // An empty datagram carries nothing to deliver: read on.
                Ok(0) => {}
                Ok(n) => {
                    self.idle = 0;
                    self.buf.commit(n, udp);
                    if !udp {
                        self.buf.after_read(n, room, takes);
                    }
                    return Ok(());
                }
                Err(e) => match e.kind() {
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                        self.idle = self.idle.max(1);
                        if wait.gave_up(step) {
                            if wait.blocked() {
                                // Nothing came for a whole timeout: the
                                // connection is quiet, the memory a burst
                                // needed can go.
                                self.buf.release_if_grown();
                            }
                            return Err(Error::Timeout);
                        }
                    }
                    _ => return self.read_failed(e),
                },
            }
        }
    }

    /// The end a read found when the system said only "no more": the
    /// reset another call took, if one did, else the peer's plain end.
    #[cold]
    fn peer_end(&mut self) -> End {
        self.reset.take().map_or(End::Peer, End::Reset)
    }

    fn read_failed(&mut self, e: io::Error) -> Result<()> {
        if self.opts.protocol == Protocol::Udp {
            // ICMP port unreachable from an earlier send: reported, and the
            // socket stays usable (the peer may come up later).
            if e.kind() == io::ErrorKind::ConnectionRefused {
                return Err(Error::Refused { addr: self.peer });
            }
            self.close();
            return Err(Error::Io(e));
        }
        self.end = Some(match e.kind() {
            _ if is_reset(&e) => End::Reset(e),
            io::ErrorKind::BrokenPipe | io::ErrorKind::NotConnected => self.peer_end(),
            _ => End::Failed(e),
        });
        Ok(())
    }

    /// Sends all of `data` (TCP) or one datagram (UDP).
    ///
    /// TCP: a peer that has gone away gives [`Error::Disconnected`] (never
    /// `SIGPIPE`); a peer that stops reading makes the call fail after the
    /// send timeout without progress: [`Error::Timeout`] if nothing was
    /// written (the socket stays open), [`Error::SendStalled`] if part was
    /// (the socket closes). Other failures close the socket.
    ///
    /// UDP: a message larger than a datagram gives
    /// [`Error::MessageTooLarge`] and, like every failure but one, closes
    /// the socket (the contract's rule for any error other than a
    /// timeout); the exception is an earlier ICMP port unreachable, which
    /// gives [`Error::Refused`] and leaves the socket open, since the peer
    /// may start listening later.
    ///
    /// ```no_run
    /// let mut c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// c.send(b"GET / HTTP/1.0\r\n\r\n")?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn send(&mut self, data: &[u8]) -> Result<()> {
        let Some(sock) = self.sock.as_ref().filter(|_| !self.peer_gone) else {
            return Err(Error::Closed);
        };
        if self.opts.protocol == Protocol::Udp {
            // The kernel's send timeout starts again with each call: after
            // a signal, retries go on only until the send timeout has
            // passed since the first interruption (so signals cannot hold
            // a send for ever; it ends within about three timeouts).
            let mut interrupted: Option<Instant> = None;
            let res = loop {
                match sock.send_with_flags(data, libc::MSG_NOSIGNAL) {
                    Ok(n) if n == data.len() => break Ok(()),
                    Ok(n) => {
                        break Err(Error::Io(io::Error::other(format!(
                            "datagram cut short: {n} of {} bytes sent",
                            data.len()
                        ))))
                    }
                    Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                        break Err(Error::MessageTooLarge {
                            len: data.len(),
                            max: max_datagram(self.peer),
                        })
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                        let since = *interrupted.get_or_insert_with(Instant::now);
                        if self.opts.send_timeout.is_some_and(|t| since.elapsed() >= t) {
                            break Err(Error::Timeout);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        break Err(Error::Refused { addr: self.peer })
                    }
                    // A full send buffer past the send timeout: nothing went.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break Err(Error::Timeout)
                    }
                    Err(e) => break Err(Error::Io(e)),
                }
            };
            if matches!(res, Err(ref e) if !matches!(e, Error::Refused { .. } | Error::Timeout)) {
                self.close_keeping_buffer();
            }
            return res;
        }
        if let Some(f) = self.deframer.as_ref().map(Deframer::framing) {
            let mut frame = std::mem::take(&mut self.send_frame);
            frame.clear();
            let r = encode_frame(f, data, &mut frame).and_then(|()| self.send_raw(&frame));
            self.send_frame = frame;
            return r;
        }
        self.send_raw(data)
    }

    /// Writes all of `data` to the TCP stream. The usual case, a message
    /// the socket takes whole, is one call; anything else goes on from
    /// that call's result.
    #[inline]
    fn send_raw(&mut self, data: &[u8]) -> Result<()> {
        let Some(sock) = self.sock.as_ref() else {
            return Err(Error::Closed);
        };
        if data.is_empty() {
            return Ok(());
        }
        let first = sock.send_with_flags(data, SEND_FLAGS);
        if matches!(first, Ok(n) if n == data.len()) {
            return Ok(());
        }
        self.send_rest(data, first)
    }

    /// Goes on with a TCP send after its first `send` call returned
    /// `first`: the rest of the data, waits for room, failures.
    #[inline(never)]
    fn send_rest(&mut self, data: &[u8], first: io::Result<usize>) -> Result<()> {
        let Some(sock) = self.sock.as_ref() else {
            return Err(Error::Closed);
        };
        let mut written = 0;
        let mut res = first;
        loop {
            match res {
                Ok(0) => return Err(self.peer_gone_while_sending()),
                Ok(n) => written += n,
                Err(e) => match e.kind() {
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::WouldBlock => {
                        match wait_writable(sock, self.opts.send_timeout) {
                            Ok(true) => {}
                            Ok(false) if written == 0 => return Err(Error::Timeout),
                            Ok(false) => {
                                self.break_stream();
                                return Err(Error::SendStalled {
                                    written,
                                    total: data.len(),
                                });
                            }
                            Err(e) => {
                                self.break_stream();
                                return Err(Error::Io(e));
                            }
                        }
                    }
                    _ if is_reset(&e) => {
                        self.reset = Some(e);
                        return Err(self.peer_gone_while_sending());
                    }
                    io::ErrorKind::BrokenPipe | io::ErrorKind::NotConnected => {
                        return Err(self.peer_gone_while_sending())
                    }
                    _ => {
                        self.break_stream();
                        return Err(Error::Io(e));
                    }
                },
            }
            if written >= data.len() {
                return Ok(());
            }
            // Non-blocking, so "no progress for the send timeout" can be
            // measured from the last byte that went out or that the peer
            // took: SO_SNDTIMEO would bound the total wait of one call
            // instead.
            res = sock.send_with_flags(&data[written..], SEND_FLAGS);
        }
    }
}

impl Client {
    /// Closes a stream a send left half-written. With clones, closing
    /// this descriptor alone would let another clone's next send follow
    /// the cut-off message: the connection is shut down for all of them.
    #[cold]
    fn break_stream(&mut self) {
        if self.cloned.load(Ordering::Relaxed) {
            if let Some(sock) = &self.sock {
                let _ = sock.shutdown(std::net::Shutdown::Both);
            }
        }
        self.close_keeping_buffer();
    }

    /// A TCP send found the peer gone: closed for sending, and still
    /// readable (see [`Client::can_receive`]) if the peer's last bytes are
    /// unread; with nothing left to deliver the socket goes at once and the
    /// next receive says so.
    #[cold]
    fn peer_gone_while_sending(&mut self) -> Error {
        let unread = !self.buf.is_empty()
            || self
                .sock
                .as_ref()
                .is_some_and(|s| matches!(peek(s), Ok(n) if n > 0));
        // A clone's `shutdown_send` fails our sends too, with the peer
        // still there: a clone keeps its socket for what comes.
        if !unread && !self.cloned.load(Ordering::Relaxed) {
            self.close_keeping_buffer();
        }
        self.peer_gone = true;
        Error::Disconnected
    }
}

/// The receive buffer could not grow to `len` bytes (a process with a
/// memory limit, `ulimit -v`): what is buffered stays, and so does the
/// socket, as for a line too long.
#[cold]
fn no_memory(len: usize) -> Error {
    crate::buffer::out_of_memory(format_args!(
        "cannot grow the receive buffer to {len} bytes"
    ))
}

/// The peer reset the connection (or the system aborted it).
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
    )
}

/// One look at whether the kernel holds data: reads nothing, never waits
/// (`Ok(0)`: the end of the stream).
fn peek(sock: &Socket) -> io::Result<usize> {
    let mut byte = [MaybeUninit::<u8>::uninit()];
    sock.recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT)
}

/// Waits until the socket can take more data: `Ok(false)` when `timeout`
/// passed without progress (`None` waits forever). Progress is the peer
/// taking bytes, not only the socket taking more: Linux wakes a blocked
/// writer only once a third of its send buffer (autotuned to MiBs) has
/// drained, which a reader that never stops but reads slowly (80 KB/s
/// against a 4 MiB buffer) takes longer than the timeout to do. So the
/// wait looks, a few times per timeout, at how much of what was sent the
/// peer has not acknowledged yet (`SIOCOUTQ`, alias `TIOCOUTQ`), and
/// every drop in it starts the timeout again. Out of line: otherwise the
/// compiler hoists its millisecond conversion (a 128-bit division) into
/// every send, full socket or not.
#[cold]
#[inline(never)]
fn wait_writable(sock: &Socket, timeout: Option<Duration>) -> io::Result<bool> {
    let Some(timeout) = timeout else {
        return poll_writable(sock, -1);
    };
    // A stalled peer is reported at most an eighth of the timeout late.
    let slice = (timeout / 8).max(Duration::from_millis(1));
    let mut last_progress = Instant::now();
    let mut unacked = unacknowledged(sock);
    loop {
        let left = timeout.saturating_sub(last_progress.elapsed());
        if left.is_zero() {
            return Ok(false);
        }
        if poll_writable(sock, millis_up(left.min(slice)))? {
            return Ok(true);
        }
        let now = unacknowledged(sock);
        if let (Some(before), Some(after)) = (unacked, now) {
            if after < before {
                last_progress = Instant::now();
            }
        }
        unacked = now;
    }
}

/// Milliseconds for `poll`, rounded up: a send timeout of 0.5 ms must
/// still wait.
fn millis_up(d: Duration) -> libc::c_int {
    d.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
}

/// Waits shorter than this poll first (millisecond precision); longer
/// ones block in `recv` with `SO_RCVTIMEO` (one system call).
const PRECISE_WAIT_BELOW: Duration = Duration::from_secs(1);

/// `poll` for `events` on `sock` for up to `ms` (-1: forever); `Ok(false)`
/// when the time passed, or a signal came first with a finite `ms`: the
/// caller works out what is left (restarting with the same `ms` would let
/// signals arriving more often than that hold a wait for ever). An error
/// or a hang-up also ends the wait: the next `recv` or `send` reports it.
fn poll_for(sock: &Socket, events: libc::c_short, ms: libc::c_int) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd: sock.as_raw_fd(),
        events,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd, and its count.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r >= 0 {
            return Ok(r > 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
        if ms >= 0 {
            return Ok(false);
        }
    }
}

/// Something to read (data, the end, an error) within `ms`.
fn poll_readable(sock: &Socket, ms: libc::c_int) -> io::Result<bool> {
    poll_for(sock, libc::POLLIN, ms)
}

/// Room to write within `ms` (-1: forever).
fn poll_writable(sock: &Socket, ms: libc::c_int) -> io::Result<bool> {
    poll_for(sock, libc::POLLOUT, ms)
}

/// Bytes sent that the peer has not acknowledged yet (`None` if the
/// kernel does not say). While nothing is written it only falls, as the
/// peer takes data. Each system names it its own way; the BSDs count the
/// send buffer, which keeps bytes until they are acknowledged.
fn unacknowledged(sock: &Socket) -> Option<libc::c_int> {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: TIOCOUTQ (SIOCOUTQ for a socket) writes one c_int through
    // the pointer.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    #[cfg(target_os = "freebsd")]
    // SAFETY: FIONWRITE writes one c_int through the pointer.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::FIONWRITE, &mut n) };
    #[cfg(target_vendor = "apple")]
    // SAFETY: SO_NWRITE is an int option; `len` is its size.
    let r = unsafe {
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NWRITE,
            (&mut n as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple"
    )))]
    let r = {
        let _ = sock.as_raw_fd();
        -1
    };
    (r == 0).then_some(n)
}

/// A TCP send never raises `SIGPIPE` and never blocks: waiting for room
/// is [`wait_writable`]'s, bounded by the send timeout.
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT;

/// Largest UDP payload for the peer's address family.
pub(crate) fn max_datagram(peer: SocketAddr) -> usize {
    match peer {
        SocketAddr::V4(_) => 65507,
        SocketAddr::V6(_) => 65527,
    }
}

#[cfg(test)]
mod tests {
    use crate::{ClientBuilder, Protocol};
    use std::time::Duration;

    #[test]
    fn addresses_keep_the_zone_of_a_scoped_ipv6_address() {
        use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
        let link_local: Ipv6Addr = "fe80::1".parse().unwrap();
        // SAFETY: a NUL-terminated name.
        let lo = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        assert_ne!(lo, 0, "no loopback interface");
        let on_lo = SocketAddr::V6(SocketAddrV6::new(link_local, 9000, 0, lo));
        assert_eq!(super::canonical(on_lo), on_lo);
        assert_eq!(crate::address_text(&on_lo), "fe80::1%lo");
        // Messages and `tostring()` name it so too, not as `%1`.
        assert_eq!(crate::socket_address_text(&on_lo), "[fe80::1%lo]:9000");
        let refused = crate::Error::Refused { addr: on_lo };
        assert_eq!(
            refused.to_string(),
            "connection refused by [fe80::1%lo]:9000"
        );
        // An interface that does not exist (any more): its number.
        let gone = SocketAddr::V6(SocketAddrV6::new(link_local, 9000, 0, 999_999));
        assert_eq!(crate::address_text(&gone), "fe80::1%999999");
        // The resolver reads both back, with the same scope.
        for (text, scope) in [("fe80::1%lo", lo), ("fe80::1%999999", 999_999)] {
            let found = crate::connect::resolve(text, 9000, Duration::from_secs(5));
            match found.as_deref() {
                Ok([SocketAddr::V6(a)]) => assert_eq!(a.scope_id(), scope, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // An IPv4-mapped address is the IPv4 address it maps.
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        assert_eq!(super::canonical(mapped), "127.0.0.1:80".parse().unwrap());
    }

    /// A connection whose peer has sent nothing costs no buffer, however
    /// often it is polled (a server reads every new connection once); the
    /// first byte allocates it, and nothing is lost on the way.
    #[test]
    fn polling_a_quiet_connection_allocates_no_buffer() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut c = crate::Client::connect("127.0.0.1", port).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        for _ in 0..20 {
            assert!(matches!(
                c.receive_all(Duration::ZERO),
                Err(crate::Error::Timeout)
            ));
        }
        assert!(c.buf.is_unallocated());
        peer.write_all(b"x\ny").unwrap();
        assert_eq!(c.receive_line(Duration::from_secs(5)).unwrap(), b"x");
        assert!(!c.buf.is_unallocated());
        drop(peer);
        assert_eq!(c.receive_all(Duration::from_secs(5)).unwrap(), b"y");
        assert!(matches!(
            c.receive_all(Duration::from_secs(5)),
            Err(crate::Error::Disconnected)
        ));
        // The end of the stream of a peer that never sent anything is seen
        // without a buffer too.
        let mut quiet = crate::Client::connect("127.0.0.1", port).unwrap();
        drop(listener.accept().unwrap());
        assert!(matches!(
            quiet.receive_all(Duration::from_secs(5)),
            Err(crate::Error::Disconnected)
        ));
    }

    /// A UDP send blocks only on a full send buffer, which loopback never
    /// fills: the kernel's own timeout, read back, is what bounds it.
    #[test]
    fn a_udp_client_gives_the_kernel_its_send_timeout() {
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = peer.local_addr().unwrap().port();
        let tiny = Some(Duration::from_nanos(500));
        for (timeout, set) in [
            (Some(Duration::from_secs(2)), Some(Duration::from_secs(2))),
            (None, None),
            // Not zero, which the kernel takes as "forever".
            (tiny, Some(Duration::from_millis(1))),
        ] {
            let c = ClientBuilder::new()
                .protocol(Protocol::Udp)
                .send_timeout(timeout)
                .connect("127.0.0.1", port)
                .unwrap();
            let sock = c.sock.as_ref().unwrap();
            let got = sock.write_timeout().unwrap();
            // The kernel keeps it in its clock's ticks.
            assert!(
                got.is_some() == set.is_some()
                    && got >= set
                    && got <= set.map(|d| d + Duration::from_millis(10)),
                "{timeout:?}: {got:?}"
            );
        }
    }
}
