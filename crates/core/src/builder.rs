//! Options of a client, set before it connects.

use crate::framing::Framing;
use crate::{connect, Client, Protocol, Result};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Default connect timeout: Renoise's documented 1000 ms.
///
/// ```
/// assert_eq!(renoise_socket::DEFAULT_CONNECT_TIMEOUT.as_millis(), 1000);
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
/// Default longest line `receive_line` accepts: 16 MiB.
///
/// ```
/// assert_eq!(renoise_socket::DEFAULT_MAX_LINE_LENGTH, 16 << 20);
/// ```
pub const DEFAULT_MAX_LINE_LENGTH: usize = 16 << 20;
/// Default largest `n` for `receive_exact`: 16 MiB.
///
/// ```
/// assert_eq!(renoise_socket::DEFAULT_MAX_RECEIVE_SIZE, 16 << 20);
/// ```
pub const DEFAULT_MAX_RECEIVE_SIZE: usize = 16 << 20;
/// Default largest amount one `receive_all` returns: 64 KiB.
///
/// ```
/// assert_eq!(renoise_socket::DEFAULT_ALL_CHUNK_SIZE, 64 << 10);
/// ```
pub const DEFAULT_ALL_CHUNK_SIZE: usize = 64 << 10;
/// Default size the receive buffer may grow to for a reader that falls
/// behind its sender: 0, no growth beyond the initial size.
///
/// ```
/// assert_eq!(renoise_socket::DEFAULT_READ_AHEAD, 0);
/// ```
pub const DEFAULT_READ_AHEAD: usize = 0;
/// Default time a TCP send may make no progress before it fails: 10 s.
///
/// ```
/// assert_eq!(renoise_socket::DEFAULT_SEND_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a [`Client`] with non-default options.
///
/// ```no_run
/// use renoise_socket::{ClientBuilder, Protocol};
/// use std::time::Duration;
///
/// let client = ClientBuilder::new()
///     .protocol(Protocol::Udp)
///     .connect_timeout(Duration::from_millis(250))
///     .max_line_length(64 * 1024)
///     .connect("localhost", 9000)?;
/// # Ok::<(), renoise_socket::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `connect`; its methods return the changed builder"]
pub struct ClientBuilder {
    pub(crate) protocol: Protocol,
    pub(crate) connect_timeout: Duration,
    pub(crate) send_timeout: Option<Duration>,
    pub(crate) max_line_length: usize,
    pub(crate) max_receive_size: usize,
    pub(crate) all_chunk_size: usize,
    pub(crate) read_ahead: usize,
    pub(crate) nodelay: bool,
    pub(crate) framing: Framing,
    pub(crate) broadcast: bool,
}

/// The defaults of [`ClientBuilder::new`].
impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            protocol: Protocol::Tcp,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            send_timeout: Some(DEFAULT_SEND_TIMEOUT),
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
            max_receive_size: DEFAULT_MAX_RECEIVE_SIZE,
            all_chunk_size: DEFAULT_ALL_CHUNK_SIZE,
            read_ahead: DEFAULT_READ_AHEAD,
            nodelay: true,
            framing: Framing::None,
            broadcast: false,
        }
    }
}

impl ClientBuilder {
    /// The defaults: TCP, 1000 ms connect timeout, 16 MiB lines and reads,
    /// 64 KiB per `receive_all`, 10 s send timeout, `TCP_NODELAY` on.
    ///
    /// ```
    /// let b = renoise_socket::ClientBuilder::new();
    /// ```
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// TCP (default) or UDP.
    ///
    /// ```
    /// use renoise_socket::{ClientBuilder, Protocol};
    /// let b = ClientBuilder::new().protocol(Protocol::Udp);
    /// ```
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// One timeout for connecting, shared by resolving the name and by all
    /// addresses it resolves to. Zero is taken as one millisecond: a
    /// connect always gets a chance.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = renoise_socket::ClientBuilder::new().connect_timeout(Duration::from_secs(3));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a TCP `send` may make no progress (the peer is not
    /// reading; every byte the peer acknowledges is progress, and the
    /// peer's system acknowledges reads in steps as it opens its window
    /// again, up to a segment (64 KiB on loopback) or more, so a reader
    /// that takes longer than the timeout to read one step counts as
    /// stalled although it keeps reading) before it
    /// fails; `None` (or zero, as for `SO_SNDTIMEO`)
    /// waits forever. A UDP send waits this long at most for room in a
    /// full send buffer, then gives [`Error::Timeout`](crate::Error::Timeout)
    /// (nothing was sent).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = renoise_socket::ClientBuilder::new().send_timeout(Some(Duration::from_secs(2)));
    /// ```
    pub fn send_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.send_timeout = timeout.filter(|d| !d.is_zero());
        self
    }

    /// Longest line `receive_line` returns; a longer one gives
    /// [`Error::LineTooLong`](crate::Error::LineTooLong) and stays buffered.
    /// This also bounds the memory a line can take. At least 1;
    /// `usize::MAX` means no limit.
    ///
    /// ```
    /// let b = renoise_socket::ClientBuilder::new().max_line_length(4096);
    /// ```
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes.max(1);
        self
    }

    /// Largest `n` that `receive_exact` accepts, and with framing the
    /// largest packet. At least 1. The buffer
    /// grows as the bytes arrive, by doubling, so a large `n` on a quiet
    /// socket takes no memory for what has not come: it holds at most
    /// about twice what has come, plus 2 MiB. An unfinished frame waits in
    /// the buffer, so a server open to peers it does not trust bounds what
    /// they can make it hold (connections times this) by lowering it to
    /// its largest real packet.
    ///
    /// ```
    /// let b = renoise_socket::ClientBuilder::new().max_receive_size(1 << 20);
    /// ```
    pub fn max_receive_size(mut self, bytes: usize) -> Self {
        self.max_receive_size = bytes.max(1);
        self
    }

    /// Most bytes one `receive_all` returns. At least 1. A call returns
    /// the buffer plus what one read finds pending, at most 64 KiB (this
    /// size if smaller: the buffer a client starts with, at least 16 KiB).
    /// Larger chunks, up to this size and at most 1 MiB, are only for a
    /// program that polls: a zero-timeout `receive_all` on an empty buffer
    /// whose read finds data 5 ms or more after the last zero-timeout
    /// `receive_all` that returned data (polls that found nothing do not
    /// count; a read by any other call between starts over, and a
    /// connection's first such poll never reads on) reads on while its
    /// reads come back full, and returns all that is pending. Renoise's
    /// `"*all"` reads all pending data, and a tool polling it ten times a
    /// second from a timer would otherwise get 64 KiB a visit, 640 KB/s
    /// however fast its peer sends. A loop that takes chunks as fast as it
    /// can is better off with small ones, which stay in the cache (and,
    /// under LuaJIT, make strings without a mapping each). The grown
    /// buffer is kept only while the program keeps polling so. The Lua
    /// module's clients use 1 MiB. On UDP a datagram larger than this
    /// comes in pieces of this size, and never shares a call with the
    /// next datagram.
    ///
    /// ```
    /// let b = renoise_socket::ClientBuilder::new().all_chunk_size(256 * 1024);
    /// ```
    pub fn all_chunk_size(mut self, bytes: usize) -> Self {
        self.all_chunk_size = bytes.max(1);
        self
    }

    /// How large the TCP receive buffer may grow (at most 16 MiB) for a
    /// program that falls behind its sender: its reads keep coming back
    /// full, and it takes the data in small pieces (lines, records).
    /// Each read of a full receive queue reopens the TCP window once, and
    /// on loopback the sender's queued data then goes out on the reader's
    /// CPU; fewer, larger reads save such a reader (an interpreter making a
    /// string per line) about two thirds of its kernel time. A fast reader, or one
    /// taking big chunks, is better off with a small buffer that stays in
    /// the cache, hence the default of 0: no growth beyond the initial
    /// size (64 KiB, or the all-chunk size if smaller, at least 16 KiB).
    /// Growth needs two full reads in a row of at least 16 KiB
    /// each, made by `receive_line` or by `receive_exact` with an `n` of
    /// which 16 or more fit in the read (`receive_all` grows the buffer
    /// only for a program that polls, and up to the all-chunk size, see
    /// [`all_chunk_size`](ClientBuilder::all_chunk_size); nor does a line
    /// already longer than a sixteenth of the
    /// read when the read is made). The Lua module uses
    /// 1 MiB. What each call returns does not change: lines, records
    /// and `receive_all` chunks keep their limits. The grown buffer is
    /// freed when the connection goes quiet (see
    /// [`Client::buffer_capacity`](crate::Client::buffer_capacity)).
    ///
    /// ```
    /// let b = renoise_socket::ClientBuilder::new().read_ahead(1 << 20);
    /// ```
    pub fn read_ahead(mut self, bytes: usize) -> Self {
        self.read_ahead = bytes.min(16 << 20);
        self
    }

    /// `TCP_NODELAY` (default on: small requests go out at once instead of
    /// waiting for the peer's delayed ACK).
    ///
    /// ```
    /// let b = renoise_socket::ClientBuilder::new().nodelay(false);
    /// ```
    pub fn nodelay(mut self, on: bool) -> Self {
        self.nodelay = on;
        self
    }

    /// UDP: lets the client send to a broadcast address (`SO_BROADCAST`),
    /// such as `255.255.255.255` or a subnet's, to reach every host there
    /// (OSC to every device on a network, say). Off by default, as in the
    /// system, LuaSocket and Python: without it, connecting to a broadcast
    /// address fails on Linux (`Permission denied`, with a word on this
    /// option; macOS and FreeBSD refuse the first send instead).
    /// The client sends only: answers come from each host's own address,
    /// which a socket connected to the broadcast address does not take. A
    /// protocol that wants answers has them sent to a known port where the
    /// program runs a UDP [`Server`](crate::Server). Ignored on TCP.
    ///
    /// ```no_run
    /// use renoise_socket::{ClientBuilder, Protocol};
    /// let mut everyone = ClientBuilder::new()
    ///     .protocol(Protocol::Udp)
    ///     .broadcast(true)
    ///     .connect("255.255.255.255", 8000)?;
    /// everyone.send(b"/ping\0\0\0,\0\0\0")?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn broadcast(mut self, on: bool) -> Self {
        self.broadcast = on;
        self
    }

    /// Frames packets on a TCP stream (for OSC over TCP): with
    /// [`Framing::Slip`] or [`Framing::SizePrefix`], every `send` frames its
    /// data as one packet and every `receive_all` returns exactly one whole
    /// packet (at most the maximum receive size). Line and n-byte reads
    /// still see the raw stream. Ignored on UDP, where a datagram is a
    /// packet. Default: [`Framing::None`], as in Renoise.
    ///
    /// ```
    /// use renoise_socket::{framing::Framing, ClientBuilder};
    /// let b = ClientBuilder::new().framing(Framing::Slip);
    /// ```
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// Resolves `host` (a name, or an IPv4 / IPv6 literal; an IPv6 one with
    /// or without brackets, while brackets around anything else are
    /// [`Error::UnknownHost`](crate::Error::UnknownHost)) and connects.
    ///
    /// ```no_run
    /// let c = renoise_socket::ClientBuilder::new().connect("::1", 8000)?;
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn connect(&self, host: &str, port: u16) -> Result<Client> {
        let start = std::time::Instant::now();
        let addrs = connect::resolve(host, port, self.connect_timeout)?;
        self.connect_to(&addrs, start)
    }

    /// Connects to `addr`: no name to resolve (for an address a program
    /// already holds, such as a `UdpPeer`'s or a listener's).
    ///
    /// ```no_run
    /// use std::net::SocketAddr;
    /// let addr: SocketAddr = "[::1]:8000".parse()?;
    /// let c = renoise_socket::ClientBuilder::new().connect_addr(addr)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect_addr(&self, addr: SocketAddr) -> Result<Client> {
        let start = std::time::Instant::now();
        connect::check_port(addr.port())?;
        self.connect_to(&[addr], start)
    }

    fn connect_to(&self, addrs: &[SocketAddr], start: std::time::Instant) -> Result<Client> {
        let (sock, peer, reset) = match self.protocol {
            Protocol::Tcp => connect::tcp(addrs, self.connect_timeout, start)?,
            Protocol::Udp => {
                let (sock, peer) = connect::udp(addrs, self.broadcast)?;
                (sock, peer, None)
            }
        };
        Client::from_socket(sock, self.clone(), Some(peer), reset)
    }

    /// Wraps a connected TCP stream (for example one a listener accepted)
    /// in a client with these options. The protocol option is ignored. A
    /// stream its peer has already reset is still wrapped: it delivers
    /// what the peer sent, then the end, and its peer address, which the
    /// kernel no longer knows, is the unspecified one (`0.0.0.0:0` or
    /// `[::]:0`).
    ///
    /// ```no_run
    /// use std::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let (stream, _) = listener.accept()?;
    /// let client = renoise_socket::ClientBuilder::new().from_tcp_stream(stream)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_tcp_stream(&self, stream: TcpStream) -> Result<Client> {
        self.wrap_accepted(stream, None)
    }

    /// [`from_tcp_stream`](ClientBuilder::from_tcp_stream) for a stream
    /// `accept` returned with its peer's address.
    pub(crate) fn wrap_accepted(
        &self,
        stream: TcpStream,
        peer: Option<SocketAddr>,
    ) -> Result<Client> {
        let mut opts = self.clone();
        opts.protocol = Protocol::Tcp;
        stream.set_nonblocking(false)?;
        Client::from_socket(socket2::Socket::from(stream), opts, peer, None)
    }
}
