//! The one error type of the crate.

use std::io;
use std::net::SocketAddr;

/// Result alias used throughout the crate.
///
/// ```
/// fn first_line(c: &mut renoise_socket::Client) -> renoise_socket::Result<Vec<u8>> {
///     Ok(c.receive_line(std::time::Duration::from_secs(1))?.to_vec())
/// }
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong.
///
/// The two failures a program must expect while talking, [`Error::Timeout`]
/// and [`Error::Disconnected`], display exactly as Renoise reports them
/// (`"timeout"`, `"disconnected"`), so `err.to_string()` can be handed to
/// Lua code unchanged.
///
/// ```
/// use renoise_socket::Error;
/// assert_eq!(Error::Timeout.to_string(), "timeout");
/// assert_eq!(Error::Disconnected.to_string(), "disconnected");
/// assert!(Error::Timeout.is_timeout());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing (or not enough) arrived before the deadline. Nothing was lost
    /// and the socket stays open.
    #[error("timeout")]
    Timeout,
    /// The peer closed or reset the connection and every byte it sent has
    /// been delivered. The socket is now closed.
    #[error("disconnected")]
    Disconnected,
    /// The buffered data holds no line terminator within the maximum line
    /// length. The socket stays open and the data stays buffered.
    #[error("line too long")]
    LineTooLong,
    /// The socket was closed before this call.
    #[error("socket is closed")]
    Closed,
    /// A caller's mistake: a bad mode, size, timeout, port or address.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The host name could not be resolved.
    #[error("unknown host '{}'{}", host.escape_debug(), port_hint(host))]
    UnknownHost {
        /// The name as given.
        host: String,
    },
    /// The system resolver did not answer within the connect timeout.
    #[error("connect timeout: no address for '{}' within {timeout_ms} ms", host.escape_debug())]
    ResolveTimeout {
        /// The name as given.
        host: String,
        /// The connect timeout that expired.
        timeout_ms: u128,
    },
    /// No lookup was started, at once: that many earlier lookups timed
    /// out and are still unfinished, so the system resolver is not
    /// answering (a lookup cannot be cancelled; a program retrying every
    /// few milliseconds would pile up threads stuck in it). The limit is
    /// per process; lookups start again once one of those finishes.
    #[error(
        "no address for '{}': the system resolver has not answered {unfinished} earlier \
         lookups that timed out (a new one starts once one of those finishes)",
        host.escape_debug()
    )]
    ResolverBusy {
        /// The name as given.
        host: String,
        /// How many unfinished lookups stop new ones.
        unfinished: usize,
    },
    /// The peer actively refused (TCP RST on connect, or ICMP port
    /// unreachable on UDP).
    #[error("connection refused by {}", crate::socket_address_text(.addr))]
    Refused {
        /// The address that refused.
        addr: SocketAddr,
    },
    /// No route to the host or network.
    #[error("host unreachable: {}", crate::socket_address_text(.addr))]
    Unreachable {
        /// The address that could not be reached.
        addr: SocketAddr,
    },
    /// Connecting took longer than the connect timeout.
    #[error("connect timeout: no answer from {} within {timeout_ms} ms", crate::socket_address_text(.addr))]
    ConnectTimeout {
        /// The first address that did not answer in its share of the time.
        addr: SocketAddr,
        /// The connect timeout that expired.
        timeout_ms: u128,
    },
    /// A UDP message larger than one datagram can carry. Nothing was sent.
    /// A [`Client`](crate::Client) is closed by it, as by every error but
    /// a timeout or an ICMP port unreachable; a reply through a server's
    /// sender-only socket leaves the server open.
    #[error("message too large for one UDP datagram: {len} bytes (at most {max})")]
    MessageTooLarge {
        /// Length of the message.
        len: usize,
        /// Largest payload one datagram carries.
        max: usize,
    },
    /// The peer stopped reading: a TCP send made no progress for the whole
    /// send timeout after part of the message was written. The stream can
    /// no longer be trusted, so the socket is closed.
    #[error("send stalled: peer stopped reading after {written} of {total} bytes")]
    SendStalled {
        /// Bytes of the message that did reach the kernel.
        written: usize,
        /// Length of the message.
        total: usize,
    },
    /// Bytes that are not a valid OSC packet.
    #[error("invalid OSC data: {0}")]
    OscDecode(String),
    /// An OSC message or bundle that cannot be encoded.
    #[error("invalid OSC message: {0}")]
    OscEncode(String),
    /// A TCP frame (SLIP or size prefix) that cannot be accepted.
    #[error("bad OSC frame: {0}")]
    Framing(String),
    /// Any other operating-system error, with its own message; also a
    /// receive buffer that could not grow (kind `OutOfMemory`, the socket
    /// and what is buffered stay, as for [`Error::LineTooLong`]).
    #[error(transparent)]
    Io(io::Error),
}

/// An `io::Error` as an [`Error`]: [`Error::Io`], but an `io::Error` made
/// from an [`Error`] (the `io::Read` and `io::Write` of a
/// [`Client`](crate::Client), `?` in a function returning `io::Result`)
/// gives that error back, so `?` both ways keeps
/// [`is_timeout`](Error::is_timeout) and the variant.
///
/// ```
/// use renoise_socket::Error;
/// let e = Error::from(std::io::Error::from(Error::Timeout));
/// assert!(e.is_timeout());
/// ```
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            return Error::Io(e);
        }
        let kind = e.kind();
        match e.into_inner().map(|b| b.downcast::<Error>()) {
            Some(Ok(ours)) => *ours,
            // (Not reached: checked above.)
            Some(Err(other)) => Error::Io(io::Error::new(kind, other)),
            None => Error::Io(kind.into()),
        }
    }
}

/// For a host given with its port (`"127.0.0.1:80"`, `"[::1]:80"`), a
/// note that the port is an argument of its own.
fn port_hint(host: &str) -> &'static str {
    if host.parse::<std::net::SocketAddr>().is_ok() {
        " (the port goes in its own argument)"
    } else if host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|inner| !inner.contains(':'))
    {
        // (An IPv6 address in brackets that did not resolve, such as one
        // with a zone only link-local addresses take, is no such mistake.)
        " (brackets enclose only an IPv6 address)"
    } else {
        ""
    }
}

impl Error {
    /// An operating-system error with what was being done in front of its
    /// own text, which alone ("Invalid argument") does not say:
    /// `cannot bind 127.0.0.1:80: Permission denied`.
    pub(crate) fn os(doing: impl std::fmt::Display, e: io::Error) -> Error {
        let text = format!("{doing}: {e}");
        Error::Io(io::Error::new(e.kind(), Doing { text, os: e }))
    }

    /// The operating system's error number (`errno`) behind an
    /// [`Error::Io`], also when the crate put what it was doing in front
    /// of the message (`cannot bind 127.0.0.1:80: ...`); `None` for the
    /// other variants.
    ///
    /// ```
    /// let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let port = taken.local_addr()?.port();
    /// let e = renoise_socket::Server::bind(Some("127.0.0.1"), port, renoise_socket::Protocol::Tcp)
    ///     .unwrap_err();
    /// assert_eq!(e.raw_os_error(), Some(libc::EADDRINUSE));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn raw_os_error(&self) -> Option<i32> {
        let Error::Io(e) = self else {
            return None;
        };
        e.raw_os_error().or_else(|| {
            let doing = e.get_ref()?.downcast_ref::<Doing>()?;
            doing.os.raw_os_error()
        })
    }

    /// True for [`Error::Timeout`]: the socket is still usable.
    ///
    /// ```
    /// assert!(renoise_socket::Error::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }

    /// True for [`Error::Disconnected`]: the peer is gone and all its data
    /// has been delivered.
    ///
    /// ```
    /// assert!(renoise_socket::Error::Disconnected.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, Error::Disconnected)
    }
}

/// An operating-system error with what was being done in front of its
/// text. Its own `source` is none: the text already holds the OS error's,
/// and a reporter walking the chain would print it twice; the number is
/// kept for [`Error::raw_os_error`].
#[derive(Debug)]
struct Doing {
    text: String,
    os: io::Error,
}

impl std::fmt::Display for Doing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Doing {}
