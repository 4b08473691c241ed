//! Framing of OSC packets over a byte stream (TCP).
//!
//! Renoise sends OSC over TCP with no framing at all ([`Framing::None`]):
//! the receiver gets whatever bytes have arrived. As an option, both sides
//! can frame each packet:
//!
//! * [`Framing::Slip`], OSC 1.1: SLIP (RFC 1055) with an `END` byte before
//!   and after each packet ("double END").
//! * [`Framing::SizePrefix`], OSC 1.0: a 32-bit big-endian length, then the
//!   packet.
//!
//! An empty packet makes an empty frame, which receivers skip (as RFC
//! 1055 asks of SLIP): sending `b""` on a framed client delivers nothing.
//! A client's receive drops them as they come. Once its deadline has
//! passed (a zero timeout's at once) it reads what is pending then and
//! looks once more, for an end right behind it; without a whole packet by
//! then it gives [`Error::Timeout`]: keepalives sent faster than they are
//! read stretch no call (a server reads such a connection again in its
//! next round).
//!
//! [`encode_frame`] frames one packet; [`decode_frame`] (or a
//! [`Deframer`], which does not rescan a long partial SLIP frame) cuts
//! exactly one frame off the front of a receive buffer that may hold part
//! of a frame or several frames. rosc's own TCP helpers cannot do this
//! (no SLIP, no "need more data", no cap on the declared length).
//!
//! ```
//! use renoise_socket::framing::{decode_frame, encode_frame, Framing};
//!
//! let mut stream = Vec::new();
//! encode_frame(Framing::Slip, b"/a\0\0,\0\0\0", &mut stream)?;
//! encode_frame(Framing::Slip, b"/b\0\0,\0\0\0", &mut stream)?;
//!
//! let (used, first) = decode_frame(Framing::Slip, &stream, 1024)?.unwrap();
//! assert_eq!(&first[..], b"/a\0\0,\0\0\0");
//! let (_, second) = decode_frame(Framing::Slip, &stream[used..], 1024)?.unwrap();
//! assert_eq!(&second[..], b"/b\0\0,\0\0\0");
//! # Ok::<(), renoise_socket::Error>(())
//! ```

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// SLIP frame delimiter.
///
/// ```
/// use renoise_socket::framing::{encode_frame, Framing, SLIP_END};
/// let mut framed = Vec::new();
/// encode_frame(Framing::Slip, b"hi", &mut framed)?;
/// assert_eq!(framed, [SLIP_END, b'h', b'i', SLIP_END]);
/// # Ok::<(), renoise_socket::Error>(())
/// ```
pub const SLIP_END: u8 = 0xC0;
/// SLIP escape byte.
///
/// ```
/// use renoise_socket::framing::{encode_frame, Framing, SLIP_END, SLIP_ESC, SLIP_ESC_END};
/// let mut framed = Vec::new();
/// encode_frame(Framing::Slip, &[SLIP_END], &mut framed)?;
/// assert_eq!(framed[1..3], [SLIP_ESC, SLIP_ESC_END]);
/// # Ok::<(), renoise_socket::Error>(())
/// ```
pub const SLIP_ESC: u8 = 0xDB;
/// After [`SLIP_ESC`]: stands for a [`SLIP_END`] data byte (see
/// [`SLIP_ESC`]'s example).
///
/// ```
/// assert_eq!(renoise_socket::framing::SLIP_ESC_END, 0xDC);
/// ```
pub const SLIP_ESC_END: u8 = 0xDC;
/// After [`SLIP_ESC`]: stands for a [`SLIP_ESC`] data byte.
///
/// ```
/// use renoise_socket::framing::{encode_frame, Framing, SLIP_ESC, SLIP_ESC_ESC};
/// let mut framed = Vec::new();
/// encode_frame(Framing::Slip, &[SLIP_ESC], &mut framed)?;
/// assert_eq!(framed[1..3], [SLIP_ESC, SLIP_ESC_ESC]);
/// # Ok::<(), renoise_socket::Error>(())
/// ```
pub const SLIP_ESC_ESC: u8 = 0xDD;

/// Bytes of empty frames (SLIP `END`s, zero size prefixes) that a
/// [`Deframer`] lets its caller keep from one call to the next at the
/// least, whatever `max_len` is; see [`Deframer`].
///
/// ```
/// assert_eq!(renoise_socket::framing::MIN_SKIP, 1024);
/// ```
pub const MIN_SKIP: usize = 1024;

/// How packets are delimited on a stream.
///
/// Parses from and displays as `"none"`, `"slip"`, `"size"`.
///
/// ```
/// use renoise_socket::framing::Framing;
///
/// assert_eq!(Framing::default(), Framing::None);
/// assert_eq!("slip".parse::<Framing>()?, Framing::Slip);
/// assert_eq!(Framing::SizePrefix.to_string(), "size");
/// assert!("SLIP".parse::<Framing>().is_err());
/// # Ok::<(), renoise_socket::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Framing {
    /// No framing, as in Renoise: a packet is whatever has arrived.
    #[default]
    None,
    /// SLIP, RFC 1055, with `END` before and after each packet (OSC 1.1).
    Slip,
    /// 32-bit big-endian length prefix (OSC 1.0).
    SizePrefix,
}

impl Framing {
    /// Every framing.
    ///
    /// ```
    /// use renoise_socket::framing::Framing;
    /// assert_eq!(Framing::ALL.len(), 3);
    /// ```
    pub const ALL: [Framing; 3] = [Framing::None, Framing::Slip, Framing::SizePrefix];

    /// The name [`FromStr`] accepts: `"none"`, `"slip"` or `"size"`.
    ///
    /// ```
    /// use renoise_socket::framing::Framing;
    /// for f in Framing::ALL {
    ///     assert_eq!(f.name().parse::<Framing>()?, f);
    /// }
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Framing::None => "none",
            Framing::Slip => "slip",
            Framing::SizePrefix => "size",
        }
    }
}

impl FromStr for Framing {
    type Err = Error;

    /// Errors with [`Error::InvalidArgument`] for any other name.
    fn from_str(s: &str) -> Result<Framing> {
        Framing::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown framing '{s}' (expected \"none\", \"slip\" or \"size\")"
                ))
            })
    }
}

/// The name the Lua option takes: `none`, `slip`, `size`.
impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Appends `packet`, framed, to `out`.
///
/// Errors with [`Error::Framing`] only for a packet of 4 GiB or more with
/// [`Framing::SizePrefix`] (`out` is then unchanged).
///
/// ```
/// use renoise_socket::framing::{encode_frame, Framing};
///
/// let mut out = Vec::new();
/// encode_frame(Framing::SizePrefix, b"abcd", &mut out)?;
/// assert_eq!(out, b"\0\0\0\x04abcd");
///
/// out.clear();
/// encode_frame(Framing::Slip, &[1, 0xC0, 0xDB], &mut out)?;
/// assert_eq!(out, [0xC0, 1, 0xDB, 0xDC, 0xDB, 0xDD, 0xC0]);
/// # Ok::<(), renoise_socket::Error>(())
/// ```
pub fn encode_frame(framing: Framing, packet: &[u8], out: &mut Vec<u8>) -> Result<()> {
    match framing {
        Framing::None => out.extend_from_slice(packet),
        Framing::SizePrefix => {
            let len = u32::try_from(packet.len()).map_err(|_| {
                Error::Framing(format!(
                    "packet of {} bytes is too long for a 32-bit size prefix",
                    packet.len()
                ))
            })?;
            out.reserve(4 + packet.len());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(packet);
        }
        Framing::Slip => {
            let specials = memchr::memchr2_iter(SLIP_END, SLIP_ESC, packet).count();
            out.reserve(packet.len() + specials + 2);
            out.push(SLIP_END);
            let mut rest = packet;
            while let Some(i) = memchr::memchr2(SLIP_END, SLIP_ESC, rest) {
                let (plain, special) = rest.split_at(i);
                out.extend_from_slice(plain);
                let Some((&byte, after)) = special.split_first() else {
                    break;
                };
                out.push(SLIP_ESC);
                out.push(if byte == SLIP_END {
                    SLIP_ESC_END
                } else {
                    SLIP_ESC_ESC
                });
                rest = after;
            }
            out.extend_from_slice(rest);
            out.push(SLIP_END);
        }
    }
    Ok(())
}

/// Cuts exactly one frame off the front of `data`.
///
/// Returns `Ok(Some((consumed, payload)))` for a whole frame: the caller
/// drops the first `consumed` bytes of its buffer and hands on `payload`
/// (one OSC packet). `Ok(None)` means "need more data": keep the bytes and
/// call again once more have arrived. `max_len` caps the payload, because
/// the length comes from the peer:
///
/// * [`Framing::None`]: the payload is everything in `data`, at most
///   `max_len` bytes; `None` only for empty `data` (or `max_len == 0`).
/// * [`Framing::SizePrefix`]: a declared length above `max_len` is an
///   [`Error::Framing`] as soon as the prefix is read. Borrowed, never
///   allocates.
/// * [`Framing::Slip`]: a frame whose payload exceeds `max_len`, or data
///   that exceeds it with no `END` yet, is an [`Error::Framing`], and so is
///   an `ESC` followed by anything but `ESC_END` / `ESC_ESC`. Borrowed
///   unless the frame holds escapes.
///
/// Empty frames (the double `END` between SLIP frames, a zero size prefix)
/// are skipped, not returned, and their bytes counted in `consumed`; see
/// [`Deframer`] for the limit on them.
///
/// After an error the stream cannot be trusted: close it.
///
/// This rescans a partial SLIP frame from the start on every call; a
/// [`Deframer`] does not.
///
/// ```
/// use renoise_socket::framing::{decode_frame, Framing};
///
/// let stream = b"\0\0\0\x03abc\0\0\0\x05de";
/// let (used, payload) = decode_frame(Framing::SizePrefix, stream, 100)?.unwrap();
/// assert_eq!((used, &payload[..]), (7, &b"abc"[..]));
/// assert!(decode_frame(Framing::SizePrefix, &stream[used..], 100)?.is_none());
///
/// // The peer claims a 4 GiB packet.
/// assert!(decode_frame(Framing::SizePrefix, b"\xff\xff\xff\xff", 100).is_err());
/// # Ok::<(), renoise_socket::Error>(())
/// ```
pub fn decode_frame(
    framing: Framing,
    data: &[u8],
    max_len: usize,
) -> Result<Option<(usize, Cow<'_, [u8]>)>> {
    Deframer::new(framing, max_len).next_frame(data)
}

/// True when `data` holds no part of a frame, only empty frames (SLIP
/// `END`s, zero size prefixes) or nothing: a stream that ends with these
/// bytes left over ended between frames, not inside one.
///
/// ```
/// use renoise_socket::framing::{only_empty_frames, Framing};
///
/// // Some senders put a double END after each packet too.
/// assert!(only_empty_frames(Framing::Slip, b"\xC0\xC0"));
/// assert!(!only_empty_frames(Framing::Slip, b"\xC0ab"));
/// assert!(only_empty_frames(Framing::SizePrefix, b"\0\0\0\0"));
/// assert!(!only_empty_frames(Framing::SizePrefix, b"\0\0"));
/// assert!(only_empty_frames(Framing::None, b""));
/// ```
pub fn only_empty_frames(framing: Framing, data: &[u8]) -> bool {
    match framing {
        Framing::None => data.is_empty(),
        Framing::Slip => data.iter().all(|&b| b == SLIP_END),
        Framing::SizePrefix => data.len() % 4 == 0 && data.iter().all(|&b| b == 0),
    }
}

/// [`decode_frame`] with memory: remembers how far it has looked into a
/// partial SLIP frame, so that a large frame arriving in many reads is
/// scanned once, not once per read.
///
/// Contract: between two calls that return `Ok(None)`, `data` may only
/// grow at the end (the caller appends what it receives). After
/// `Ok(Some((consumed, _)))` or an error the state starts over, so the
/// next call gets the buffer without the consumed bytes. Call
/// [`Deframer::reset`] if the buffer changes in any other way.
///
/// Empty frames are skipped, all that `data` holds. A caller that drops
/// them from its buffer after each `Ok(None)` ([`Deframer::take_skipped`],
/// as this crate's client, server and `osc dump` do) can take any number
/// of them, keepalive after keepalive. One that keeps them gets an
/// [`Error::Framing`] from the call that finds more than
/// `max(max_len, MIN_SKIP)` bytes of them left from earlier calls: a peer
/// sending only delimiters would otherwise grow its buffer without end.
///
/// ```
/// use renoise_socket::framing::{Deframer, Framing};
///
/// let mut d = Deframer::new(Framing::Slip, 1 << 20);
/// let mut buf = vec![0xC0];
/// buf.extend_from_slice(&[b'x'; 1000]);
/// assert!(d.next_frame(&buf)?.is_none()); // scans the 1000 bytes once
/// buf.extend_from_slice(b"yz\xC0");
/// let (used, payload) = d.next_frame(&buf)?.unwrap(); // scans 3 more
/// assert_eq!((used, payload.len()), (1004, 1002));
/// # Ok::<(), renoise_socket::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Deframer {
    framing: Framing,
    max_len: usize,
    /// Leading bytes of `data` that are empty frames.
    skipped: usize,
    /// SLIP: bytes after `skipped` known to hold no `END`.
    scanned: usize,
    /// SLIP: `ESC` bytes within `scanned`.
    escapes: usize,
}

impl Deframer {
    /// A deframer for `framing` that refuses payloads above `max_len`.
    ///
    /// ```
    /// use renoise_socket::framing::{Deframer, Framing};
    /// let d = Deframer::new(Framing::SizePrefix, 65536);
    /// assert_eq!((d.framing(), d.max_len()), (Framing::SizePrefix, 65536));
    /// ```
    pub fn new(framing: Framing, max_len: usize) -> Deframer {
        Deframer {
            framing,
            max_len,
            skipped: 0,
            scanned: 0,
            escapes: 0,
        }
    }

    /// The framing this deframer cuts.
    ///
    /// ```
    /// use renoise_socket::framing::{Deframer, Framing};
    /// assert_eq!(Deframer::new(Framing::Slip, 8).framing(), Framing::Slip);
    /// ```
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The largest payload accepted.
    ///
    /// ```
    /// use renoise_socket::framing::{Deframer, Framing};
    /// assert_eq!(Deframer::new(Framing::Slip, 8).max_len(), 8);
    /// ```
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Forgets what was scanned; the next call starts from the front.
    ///
    /// ```
    /// use renoise_socket::framing::{Deframer, Framing};
    /// let mut d = Deframer::new(Framing::Slip, 8);
    /// assert!(d.next_frame(b"\xC0abc")?.is_none());
    /// d.reset();
    /// assert_eq!(&d.next_frame(b"x\xC0")?.unwrap().1[..], b"x");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn reset(&mut self) {
        self.skipped = 0;
        self.scanned = 0;
        self.escapes = 0;
    }

    /// After [`next_frame`](Deframer::next_frame) found no whole frame:
    /// how many bytes at the front of its data are empty frames. The
    /// caller must now drop exactly that many from the front of its
    /// buffer before it calls again with the rest (the progress through a
    /// frame still arriving is kept, counted from there). Dropping them
    /// as they come keeps a stream of keepalive `END`s from filling the
    /// buffer and from reaching the skip limit.
    ///
    /// ```
    /// use renoise_socket::framing::{Deframer, Framing};
    /// let mut d = Deframer::new(Framing::Slip, 64);
    /// let mut buf = b"\xC0\xC0\xC0/a".to_vec();
    /// assert!(d.next_frame(&buf)?.is_none());
    /// let n = d.take_skipped();
    /// assert_eq!(n, 3);
    /// buf.drain(..n);
    /// buf.push(0xC0);
    /// assert_eq!(&d.next_frame(&buf)?.unwrap().1[..], b"/a");
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn take_skipped(&mut self) -> usize {
        std::mem::take(&mut self.skipped)
    }

    /// The stream ended with `rest` not yet cut into frames: a clean end
    /// when `rest` holds only empty frames ([`only_empty_frames`]), else
    /// an [`Error::Framing`] for the frame the peer never finished.
    ///
    /// ```
    /// use renoise_socket::framing::{Deframer, Framing};
    /// let d = Deframer::new(Framing::SizePrefix, 1 << 20);
    /// assert!(d.end_of_stream(b"\0\0\0\0").is_ok());
    /// let e = d.end_of_stream(b"\0\0\0\x08abc").unwrap_err();
    /// assert_eq!(e.to_string(), "bad OSC frame: stream ended inside a frame (7 bytes)");
    /// ```
    pub fn end_of_stream(&self, rest: &[u8]) -> Result<()> {
        if only_empty_frames(self.framing, rest) {
            return Ok(());
        }
        Err(Error::Framing(format!(
            "stream ended inside a frame ({} bytes)",
            rest.len()
        )))
    }

    /// Cuts one frame off the front of `data`, as [`decode_frame`] does,
    /// resuming where the previous `Ok(None)` stopped.
    ///
    /// ```
    /// use renoise_socket::framing::{Deframer, Framing};
    /// let mut d = Deframer::new(Framing::SizePrefix, 16);
    /// assert!(d.next_frame(b"\0\0")?.is_none());
    /// assert!(d.next_frame(b"\0\0\0\x01")?.is_none());
    /// assert_eq!(d.next_frame(b"\0\0\0\x01z")?.unwrap().0, 5);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn next_frame<'a>(&mut self, data: &'a [u8]) -> Result<Option<(usize, Cow<'a, [u8]>)>> {
        if self.skipped + self.scanned > data.len() {
            // The caller broke the contract (the buffer shrank): start over
            // rather than index past the end.
            self.reset();
        }
        // Only what earlier calls skipped and the caller kept counts: one
        // read may bring any number of keepalives.
        if self.skipped > self.max_len.max(MIN_SKIP) {
            let skipped = self.skipped;
            self.reset();
            return Err(Error::Framing(format!(
                "{skipped} bytes of empty frames and no packet"
            )));
        }
        let mut result = match self.framing {
            Framing::None => Ok(none_frame(data, self.max_len)),
            Framing::SizePrefix => self.size_frame(data),
            Framing::Slip => self.slip_frame(data),
        };
        // The count kept across calls assumes only appends: a caller that
        // changed bytes already scanned gets the limit checked anyway.
        if let Ok(Some((_, payload))) = &result {
            if payload.len() > self.max_len {
                result = Err(Error::Framing(format!(
                    "frame of {} bytes, more than the maximum of {}",
                    payload.len(),
                    self.max_len
                )));
            }
        }
        if !matches!(result, Ok(None)) {
            self.reset();
        }
        result
    }

    fn size_frame<'a>(&mut self, data: &'a [u8]) -> Result<Option<(usize, Cow<'a, [u8]>)>> {
        loop {
            let at = self.skipped;
            let Some(prefix) = data.get(at..at + 4) else {
                return Ok(None);
            };
            let mut len = [0; 4];
            len.copy_from_slice(prefix);
            let len = u32::from_be_bytes(len);
            // u32 -> u64 is lossless everywhere; usize may be 32 bits.
            if u64::from(len) > self.max_len as u64 {
                return Err(Error::Framing(format!(
                    "size prefix announces {len} bytes, more than the maximum of {}",
                    self.max_len
                )));
            }
            let start = at + 4;
            if len == 0 {
                self.skipped = start;
                continue;
            }
            // len <= max_len, a usize, so the cast keeps the value.
            let Some(end) = start.checked_add(len as usize) else {
                return Ok(None);
            };
            return Ok(data
                .get(start..end)
                .map(|payload| (end, Cow::Borrowed(payload))));
        }
    }

    fn slip_frame<'a>(&mut self, data: &'a [u8]) -> Result<Option<(usize, Cow<'a, [u8]>)>> {
        if self.scanned == 0 {
            let rest = data.get(self.skipped..).unwrap_or_default();
            self.skipped += rest.iter().take_while(|&&b| b == SLIP_END).count();
        }
        let start = self.skipped;
        let from = start + self.scanned;
        let region = data.get(from..).unwrap_or_default();
        let Some(end_at) = memchr::memchr(SLIP_END, region) else {
            self.escapes += memchr::memchr_iter(SLIP_ESC, region).count();
            self.scanned += region.len();
            // Each escape pair yields one byte, so this is what the payload
            // holds at least.
            if self.scanned.saturating_sub(self.escapes) > self.max_len {
                return Err(Error::Framing(format!(
                    "SLIP frame longer than the maximum of {} bytes and no END yet",
                    self.max_len
                )));
            }
            return Ok(None);
        };
        let tail = region.get(..end_at).unwrap_or_default();
        let escapes = self.escapes + memchr::memchr_iter(SLIP_ESC, tail).count();
        let frame = data.get(start..from + end_at).unwrap_or_default();
        let consumed = from + end_at + 1;
        if frame.len().saturating_sub(escapes) > self.max_len {
            return Err(Error::Framing(format!(
                "SLIP frame of {} bytes, more than the maximum of {}",
                frame.len() - escapes,
                self.max_len
            )));
        }
        let payload = if escapes == 0 {
            Cow::Borrowed(frame)
        } else {
            Cow::Owned(slip_unescape(frame, escapes)?)
        };
        Ok(Some((consumed, payload)))
    }
}

fn none_frame(data: &[u8], max_len: usize) -> Option<(usize, Cow<'_, [u8]>)> {
    let n = data.len().min(max_len);
    if n == 0 {
        return None;
    }
    data.get(..n).map(|p| (n, Cow::Borrowed(p)))
}

fn slip_unescape(frame: &[u8], escapes: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(frame.len().saturating_sub(escapes));
    let mut rest = frame;
    while let Some(i) = memchr::memchr(SLIP_ESC, rest) {
        let (plain, escaped) = rest.split_at(i);
        out.extend_from_slice(plain);
        let at = frame.len() - escaped.len();
        match escaped.get(1) {
            Some(&SLIP_ESC_END) => out.push(SLIP_END),
            Some(&SLIP_ESC_ESC) => out.push(SLIP_ESC),
            Some(&other) => {
                return Err(Error::Framing(format!(
                    "bad SLIP escape 0xDB 0x{other:02X} at byte {at} of the frame"
                )))
            }
            None => {
                return Err(Error::Framing(
                    "SLIP frame ends in the middle of an escape".into(),
                ))
            }
        }
        rest = escaped.get(2..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    Ok(out)
}
