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
    /// The system resolver did not answer within the connect timeout (or,
    /// at once, while 16 earlier lookups that timed out are unfinished).
    #[error("connect timeout: no address for '{}' within {timeout_ms} ms", host.escape_debug())]
    ResolveTimeout {
        /// The name as given.
        host: String,
        /// The connect timeout that expired.
        timeout_ms: u128,
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
    /// Any other operating-system error, with its own message.
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
        Error::Io(io::Error::new(e.kind(), format!("{doing}: {e}")))
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
