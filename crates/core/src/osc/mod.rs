//! OSC 1.0 messages and bundles as Renoise's `renoise.Osc` knows them.
//!
//! * [`Arg`] / [`Tag`]: one argument per Renoise type tag
//!   (`i f s b h t d S c r m T F N I`; no arrays).
//! * [`Message`], [`Bundle`], [`Packet`]: encode with `to_bytes`, decode
//!   with [`Packet::decode`]; [`Message::stream_len`] cuts unframed OSC
//!   over TCP (Renoise's way) into messages.
//! * [`seconds_to_timetag`] / [`timetag_to_seconds`]: how a time in seconds
//!   maps to the 64-bit OSC timetag, and why it round-trips exactly.
//!
//! Strings, symbols, blobs and address patterns are bytes (`Vec<u8>`),
//! because Lua strings are bytes: anything a Lua string holds except NUL
//! goes through unchanged, UTF-8 or not.
//!
//! The codec is our own, not `rosc`'s: rosc 0.11 has no `S` type, takes
//! strings as UTF-8 only, recurses into nested bundles without limit, and
//! is lax about padding and the type-tag string. The integration tests
//! check our bytes against rosc's wherever rosc can express the packet.
//! Framing for TCP is in [`crate::framing`].
//!
//! ```
//! use renoise_socket::osc::{Arg, Bundle, Message, Packet};
//!
//! let msg = Message::new("/renoise/song/bpm", vec![Arg::Float(132.0)]);
//! let bytes = msg.to_bytes()?;
//! match Packet::decode(&bytes)? {
//!     Packet::Message(m) => assert_eq!(m.args, [Arg::Float(132.0)]),
//!     Packet::Bundle(_) => unreachable!(),
//! }
//!
//! let bundle = Bundle::of_messages(0.25, vec![msg]);
//! assert_eq!(Packet::decode(&bundle.to_bytes()?)?, Packet::Bundle(bundle));
//! # Ok::<(), renoise_socket::Error>(())
//! ```

mod arg;
mod bundle;
mod decode;
mod display;
mod encode;
mod message;
mod packet;
pub mod timetag;

pub use arg::{Arg, Tag};
pub use bundle::Bundle;
pub use display::Escaped;
pub use message::Message;
pub use packet::Packet;
pub use timetag::{seconds_to_timetag, timetag_to_seconds, IMMEDIATELY, TIMETAG_IMMEDIATELY};

/// How deeply bundles may nest, counting the outermost one: deeper
/// packets are refused when decoding (they come from a peer, and each
/// level costs stack) and when encoding (so that we never send what we
/// would refuse).
///
/// ```
/// use renoise_socket::osc::{Bundle, Packet, MAX_BUNDLE_DEPTH};
///
/// let mut p = Packet::from(Bundle::new(0.0, vec![]));
/// for _ in 1..MAX_BUNDLE_DEPTH {
///     p = Bundle::new(0.0, vec![p]).into();
/// }
/// assert!(p.to_bytes().is_ok());
/// let p = Packet::from(Bundle::new(0.0, vec![p]));
/// assert!(p.to_bytes().is_err());
/// ```
pub const MAX_BUNDLE_DEPTH: usize = 32;
