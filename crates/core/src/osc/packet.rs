//! An OSC packet: a message or a bundle.

use super::{decode, encode, Bundle, Message};
use crate::error::Result;
use std::fmt;

/// An OSC packet: what one UDP datagram, or one TCP frame, carries.
///
/// # Display
///
/// Messages show as `/pattern ,tags args...`, bundles as
/// `#bundle TIME [element; element]`. Arguments: numbers as Rust prints
/// them; strings and symbols in double quotes, escaped like Rust string
/// literals, with `\xNN` for bytes that are not UTF-8; blobs as
/// `<hex bytes>` (the first 32, then the total); chars in single quotes;
/// colors as `#rrggbbaa`; MIDI as `midi:PPSSD1D2` in hex; `T`, `F`, `N`,
/// `I` as `true`, `false`, `nil`, `inf`.
///
/// ```
/// use renoise_socket::osc::{Arg, Message, Packet};
///
/// let msg = Message::new("/m", vec![
///     Arg::Blob(vec![1, 0xff]),
///     Arg::Char(b'a'),
///     Arg::Color(0xff8000ff),
///     Arg::Midi(0x0090_3c7f),
///     Arg::Symbol(b"s\xff".to_vec()),
///     Arg::Nil,
/// ]);
/// assert_eq!(
///     Packet::from(msg).to_string(),
///     r#"/m ,bcrmSN <01ff> 'a' #ff8000ff midi:00903c7f "s\xff" nil"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// A message.
    Message(Message),
    /// A bundle.
    Bundle(Bundle),
}

impl Packet {
    /// Decodes one whole packet (a UDP datagram, or one deframed TCP
    /// frame), nested bundles included.
    ///
    /// Errors with [`Error::OscDecode`](crate::Error::OscDecode), never
    /// panics, on anything that is not exactly one well-formed packet:
    /// truncated data, trailing bytes, non-zero padding, an unknown type
    /// tag (OSC arrays included), a pattern not starting with `/`, a bundle
    /// element whose size is not a multiple of 4 or overruns the bundle,
    /// bundles nested deeper than [`MAX_BUNDLE_DEPTH`](super::MAX_BUNDLE_DEPTH),
    /// a char above 255. A message with no type-tag string at all decodes
    /// with no arguments, as OSC 1.0 asks of receivers.
    ///
    /// ```
    /// use renoise_socket::osc::{Arg, Packet};
    /// let p = Packet::decode(b"/a\0\0,Si\0sym\0\0\0\0\x2a")?;
    /// let Packet::Message(m) = p else { panic!() };
    /// assert_eq!(m.args, [Arg::Symbol(b"sym".to_vec()), Arg::Int(42)]);
    ///
    /// assert!(Packet::decode(b"/a\0\0,i\0\0\0\0").is_err()); // truncated
    /// assert!(Packet::decode(b"a\0\0\0").is_err());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn decode(data: &[u8]) -> Result<Packet> {
        decode::decode_packet(data)
    }

    /// The encoded packet. Errors as [`Message::to_bytes`] and
    /// [`Bundle::to_bytes`] do.
    ///
    /// ```
    /// use renoise_socket::osc::{Message, Packet};
    /// let p = Packet::from(Message::new("/a", vec![]));
    /// assert_eq!(Packet::decode(&p.to_bytes()?)?, p);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoded packet to `out`; on error `out` is unchanged.
    ///
    /// ```
    /// use renoise_socket::osc::{Message, Packet};
    /// let mut out = Vec::new();
    /// Packet::from(Message::new("/a", vec![])).encode_into(&mut out)?;
    /// assert_eq!(out, b"/a\0\0,\0\0\0");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        encode::encode_packet(self, out)
    }
}

/// A lone message.
impl From<Message> for Packet {
    fn from(m: Message) -> Packet {
        Packet::Message(m)
    }
}

/// A bundle.
impl From<Bundle> for Packet {
    fn from(b: Bundle) -> Packet {
        Packet::Bundle(b)
    }
}

/// The message (`/pattern ,tags arg ...`) or the bundle and its elements.
impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Packet::Message(m) => m.fmt(f),
            Packet::Bundle(b) => b.fmt(f),
        }
    }
}
