//! An OSC bundle: a timetag and packets.

use super::{encode, Message, Packet};
use crate::error::Result;
use std::fmt;

/// An OSC bundle: a time and the packets to act on at that time.
///
/// Bundles may hold bundles in Rust (decoding must handle them anyway, up
/// to [`MAX_BUNDLE_DEPTH`](super::MAX_BUNDLE_DEPTH) levels); Renoise's Lua
/// API builds only bundles of messages.
///
/// ```
/// use renoise_socket::osc::{Arg, Bundle, Message, Packet};
///
/// let bundle = Bundle::new(1.5, vec![
///     Message::new("/a", vec![Arg::Int(1)]).into(),
///     Message::new("/b", vec![]).into(),
/// ]);
/// let decoded = Packet::decode(&bundle.to_bytes()?)?;
/// assert_eq!(decoded, Packet::Bundle(bundle));
/// assert_eq!(decoded.to_string(), "#bundle 1.5 [/a ,i 1; /b ,]");
/// # Ok::<(), renoise_socket::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The time in seconds, mapped to the 64-bit OSC timetag as the
    /// [`timetag`](super::timetag) module describes. An `f64` holds every
    /// timetag below 2²¹ s exactly, but not an NTP time of today (it keeps
    /// 21 of its 32 fraction bits): a decoded bundle encodes again within
    /// about 0.5 µs of its time. A program that passes packets on should
    /// pass on their bytes, which is also cheaper.
    pub timetag: f64,
    /// The messages and bundles, in order.
    pub elements: Vec<Packet>,
}

impl Bundle {
    /// A bundle; nothing is checked until it is encoded.
    ///
    /// ```
    /// use renoise_socket::osc::Bundle;
    /// assert_eq!(Bundle::new(0.0, vec![]).elements.len(), 0);
    /// ```
    pub fn new(timetag: f64, elements: Vec<Packet>) -> Bundle {
        Bundle { timetag, elements }
    }

    /// A bundle of messages, as Renoise's `renoise.Osc.Bundle` builds.
    ///
    /// ```
    /// use renoise_socket::osc::{Bundle, Message};
    /// let b = Bundle::of_messages(2.0, vec![Message::new("/a", vec![])]);
    /// assert_eq!(b.elements.len(), 1);
    /// ```
    pub fn of_messages(timetag: f64, messages: Vec<Message>) -> Bundle {
        Bundle::new(timetag, messages.into_iter().map(Packet::Message).collect())
    }

    /// The encoded bundle.
    ///
    /// Errors with [`Error::OscEncode`](crate::Error::OscEncode) for a time
    /// outside `0 <= t < 2³²`, bundles nested deeper than
    /// [`MAX_BUNDLE_DEPTH`](super::MAX_BUNDLE_DEPTH), or any element that
    /// cannot be encoded.
    ///
    /// ```
    /// use renoise_socket::osc::Bundle;
    /// assert_eq!(
    ///     Bundle::new(1.0, vec![]).to_bytes()?,
    ///     b"#bundle\0\0\0\0\x01\0\0\0\0"
    /// );
    /// assert!(Bundle::new(-1.0, vec![]).to_bytes().is_err());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoded bundle to `out`; on error `out` is unchanged.
    ///
    /// ```
    /// use renoise_socket::osc::Bundle;
    /// let mut out = Vec::new();
    /// Bundle::new(0.0, vec![]).encode_into(&mut out)?;
    /// assert_eq!(out.len(), 16);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        encode::encode_bundle(self, out)
    }
}

impl fmt::Display for Bundle {
    /// `#bundle TIME [element; element; ...]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#bundle ")?;
        super::display::time(f, self.timetag)?;
        f.write_str(" [")?;
        for (i, element) in self.elements.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{element}")?;
        }
        f.write_str("]")
    }
}
