//! An OSC message: an address pattern and arguments.

use super::{decode, display, encode, Arg};
use crate::error::Result;
use std::fmt;

/// An OSC message: an address pattern and its arguments.
///
/// The pattern is bytes, like Lua strings; it must start with `/` and hold
/// no NUL byte, which [`Message::to_bytes`] checks.
///
/// ```
/// use renoise_socket::osc::{Arg, Message, Packet};
///
/// let msg = Message::new("/renoise/transport/start", vec![]);
/// let bytes = msg.to_bytes()?;
/// assert_eq!(Packet::decode(&bytes)?, Packet::Message(msg));
///
/// let msg = Message::new("/x", vec![Arg::Int(1), Arg::Float(2.5), "x".into()]);
/// assert_eq!(msg.to_string(), r#"/x ,ifs 1 2.5 "x""#);
/// # Ok::<(), renoise_socket::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The address pattern, e.g. `b"/renoise/evaluate"`.
    pub pattern: Vec<u8>,
    /// The arguments, in order.
    pub args: Vec<Arg>,
}

impl Message {
    /// A message; nothing is checked until it is encoded.
    ///
    /// ```
    /// use renoise_socket::osc::{Arg, Message};
    /// let msg = Message::new("/a", vec![Arg::True]);
    /// assert_eq!(msg.pattern, b"/a");
    /// ```
    pub fn new(pattern: impl Into<Vec<u8>>, args: Vec<Arg>) -> Message {
        Message {
            pattern: pattern.into(),
            args,
        }
    }

    /// The encoded message, ready to send as one UDP datagram.
    ///
    /// Errors with [`Error::OscEncode`](crate::Error::OscEncode) for a
    /// pattern that does not start with `/`, a NUL byte in the pattern, a
    /// string or a symbol, or a [`Arg::Time`] outside `0 <= t < 2³²`.
    ///
    /// ```
    /// use renoise_socket::osc::{Arg, Message};
    /// assert_eq!(
    ///     Message::new("/a", vec![Arg::Int(7)]).to_bytes()?,
    ///     b"/a\0\0,i\0\0\0\0\0\x07"
    /// );
    /// assert!(Message::new("a", vec![]).to_bytes().is_err());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoded message to `out`; on error `out` is unchanged.
    ///
    /// ```
    /// use renoise_socket::osc::Message;
    /// let mut out = b"x".to_vec();
    /// Message::new("/a", vec![]).encode_into(&mut out)?;
    /// assert_eq!(out, b"x/a\0\0,\0\0\0");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        encode::encode_message(self, out)
    }

    /// Decodes one message (not a bundle), with the 64-bit timetag of each
    /// of its `t` arguments, in order, exactly as sent: [`Arg::Time`] holds
    /// seconds in an `f64`, which cannot hold every timetag's 64 bits
    /// (a dump that prints timetags wants them all).
    ///
    /// ```
    /// use renoise_socket::osc::{Arg, Message};
    /// let mut bytes = b"/t\0\0,t\0\0".to_vec();
    /// bytes.extend_from_slice(&0xeeba_8f00_1234_5678u64.to_be_bytes());
    /// let (msg, times) = Message::decode_with_timetags(&bytes)?;
    /// assert!(matches!(msg.args[..], [Arg::Time(_)]));
    /// assert_eq!(times, [0xeeba_8f00_1234_5678]);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn decode_with_timetags(data: &[u8]) -> Result<(Message, Vec<u64>)> {
        let mut times = Vec::new();
        let msg = decode::message_and_timetags(data, &mut times)?;
        Ok((msg, times))
    }

    /// How many bytes the message at the start of `data` takes: how to
    /// cut OSC sent over TCP with no framing (as Renoise and much OSC
    /// software send it, one message after another) into messages, since
    /// a message ends where its last argument does. `Ok(None)` while
    /// `data` ends before the message does, or is empty (wait for more);
    /// an error for bytes that cannot start a message. A bundle cannot be cut this way
    /// (its elements run to the end of the packet): that is what
    /// [`framing`](crate::framing) is for.
    ///
    /// ```
    /// use renoise_socket::osc::{Arg, Message, Packet};
    /// let a = Message::new("/a", vec![Arg::Int(1)]).to_bytes()?;
    /// let b = Message::new("/b", vec![Arg::String(b"x".to_vec())]).to_bytes()?;
    /// let stream = [a.as_slice(), b.as_slice()].concat();
    /// assert_eq!(Message::stream_len(&stream)?, Some(a.len()));
    /// assert_eq!(Message::stream_len(&stream[a.len()..])?, Some(b.len()));
    /// assert_eq!(Message::stream_len(&stream[a.len()..stream.len() - 1])?, None);
    /// assert_eq!(Message::stream_len(&stream[stream.len()..])?, None);
    /// assert!(Message::stream_len(b"#bundle\0").is_err());
    /// assert!(Packet::decode(&stream[..a.len()]).is_ok());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn stream_len(data: &[u8]) -> Result<Option<usize>> {
        decode::message_len(data)
    }
}

impl fmt::Display for Message {
    /// `/pattern ,tags arg arg ...`; see [`Packet`](super::Packet)'s
    /// `Display` for how each argument is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display::bytes(f, &self.pattern)?;
        f.write_str(" ,")?;
        for arg in &self.args {
            write!(f, "{}", arg.tag())?;
        }
        for arg in &self.args {
            f.write_str(" ")?;
            display::arg(f, arg)?;
        }
        Ok(())
    }
}
