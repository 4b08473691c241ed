//! Transport protocol of a client.

use std::fmt;

/// TCP or UDP, numbered as Renoise's `PROTOCOL_TCP = 1` / `PROTOCOL_UDP = 2`.
///
/// ```
/// use renoise_socket::Protocol;
/// assert_eq!(Protocol::default(), Protocol::Tcp);
/// assert_eq!(Protocol::from_renoise(2), Some(Protocol::Udp));
/// assert_eq!(Protocol::Udp.renoise_number(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// A byte stream (`PROTOCOL_TCP`, the default).
    #[default]
    Tcp,
    /// Connected datagrams (`PROTOCOL_UDP`).
    Udp,
}

impl Protocol {
    /// The protocol for Renoise's number, if it is one.
    ///
    /// ```
    /// assert_eq!(renoise_socket::Protocol::from_renoise(3), None);
    /// ```
    pub fn from_renoise(n: i64) -> Option<Protocol> {
        match n {
            1 => Some(Protocol::Tcp),
            2 => Some(Protocol::Udp),
            _ => None,
        }
    }

    /// Renoise's number for this protocol.
    ///
    /// ```
    /// assert_eq!(renoise_socket::Protocol::Tcp.renoise_number(), 1);
    /// ```
    pub fn renoise_number(self) -> i64 {
        match self {
            Protocol::Tcp => 1,
            Protocol::Udp => 2,
        }
    }
}

/// `TCP` or `UDP`.
impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        })
    }
}
