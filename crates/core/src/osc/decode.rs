//! OSC 1.0 bytes to our types, strictly: every byte of the input must be
//! accounted for, padding must be zero, and nothing is read out of bounds.
//!
//! Written here rather than through `rosc::decoder::decode_udp` because
//! rosc (0.11.4) rejects `S` and non-UTF-8 strings, recurses into nested
//! bundles without a depth limit (a hostile packet overflows the stack),
//! skips whatever byte stands in place of the `,` of the type-tag string,
//! and does not check that padding bytes are zero.

use super::{timetag_to_seconds, Arg, Bundle, Message, Packet, Tag, MAX_BUNDLE_DEPTH};
use crate::buffer::copy_of;
use crate::error::{Error, Result};

pub(crate) fn decode_packet(data: &[u8]) -> Result<Packet> {
    packet(data, 1)
}

fn packet(data: &[u8], depth: usize) -> Result<Packet> {
    match data.first() {
        None => Err(err("empty packet")),
        Some(b'/') => message(data).map(Packet::Message),
        Some(b'#') if data.starts_with(b"#bundle\0") => bundle(data, depth).map(Packet::Bundle),
        Some(_) => Err(err("packet starts with neither '/' nor '#bundle'")),
    }
}

fn err(why: impl Into<String>) -> Error {
    Error::OscDecode(why.into())
}

/// A cursor over one packet; every read is bounds-checked.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// A read failed because the data ended (what a stream that has
    /// more to come tells from a malformed packet).
    short: bool,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], pos: usize) -> Reader<'a> {
        Reader {
            data,
            pos,
            short: false,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn ran_out(&mut self, why: String) -> Error {
        self.short = true;
        err(why)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.data.get(self.pos..end)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(self.ran_out(format!(
                "truncated: {what} at byte {} needs {n} bytes, {} left",
                self.pos,
                self.data.len().saturating_sub(self.pos)
            ))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let bytes = self.take(N, what)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.array(what).map(u32::from_be_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.array(what).map(u64::from_be_bytes)
    }

    /// Zero bytes up to the next multiple of 4.
    fn padding(&mut self, what: &str) -> Result<()> {
        let n = (4 - self.pos % 4) % 4;
        let start = self.pos;
        let pad = self.take(n, what)?;
        if pad.iter().any(|&b| b != 0) {
            return Err(err(format!(
                "non-zero padding after {what} at byte {start}"
            )));
        }
        Ok(())
    }

    /// An OSC string, without its NUL.
    fn string(&mut self, what: &str) -> Result<&'a [u8]> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let Some(len) = memchr::memchr(0, rest) else {
            return Err(self.ran_out(format!(
                "truncated: {what} at byte {} has no terminating NUL",
                self.pos
            )));
        };
        let s = self.take(len + 1, what)?;
        self.padding(what)?;
        Ok(s.get(..len).unwrap_or_default())
    }

    fn blob(&mut self) -> Result<&'a [u8]> {
        let len = self.u32("blob size")?;
        let len = usize::try_from(len).map_err(|_| err("blob size too large"))?;
        let b = self.take(len, "blob")?;
        self.padding("blob")?;
        Ok(b)
    }
}

fn message(data: &[u8]) -> Result<Message> {
    message_and_timetags(data, &mut Vec::new())
}

/// [`message`], and the 64-bit timetag of each `t` argument, in order,
/// into `times`.
pub(crate) fn message_and_timetags(data: &[u8], times: &mut Vec<u64>) -> Result<Message> {
    let mut r = Reader::new(data, 0);
    let msg = message_at(&mut r, times, false)?;
    if !r.at_end() {
        return Err(err(format!(
            "{} bytes of trailing data after the last argument",
            data.len() - r.pos
        )));
    }
    Ok(msg)
}

/// How many bytes the message at the start of `data` takes; `None` when
/// `data` ends before it does (see [`message_at`] for one without type
/// tags).
pub(crate) fn message_len(data: &[u8]) -> Result<Option<usize>> {
    match data.first() {
        // Nothing yet: what a cutter has left after a whole message.
        None => return Ok(None),
        Some(b'/') => {}
        Some(_) => return Err(err("message does not start with '/'")),
    }
    let mut r = Reader::new(data, 0);
    match message_at(&mut r, &mut Vec::new(), true) {
        Ok(_) => Ok(Some(r.pos)),
        Err(_) if r.short => Ok(None),
        Err(e) => Err(e),
    }
}

/// The message at `r`'s position; `r` stops where it ends. OSC 1.0 asks
/// receivers to accept a message with no type-tag string at all, from
/// implementations older than type tags: it ends with the data, or, in a
/// `stream`, where the next packet (`/` or `#`) starts, and a stream that
/// ends after the pattern may still have its tags coming (short).
fn message_at(r: &mut Reader<'_>, times: &mut Vec<u64>, stream: bool) -> Result<Message> {
    let pattern = copy_of(r.string("address pattern")?)?;
    let tags_at = r.pos;
    match r.data.get(tags_at) {
        None if stream => return Err(r.ran_out("message ends after its pattern".into())),
        None => {}
        Some(b'/' | b'#') if stream => {}
        Some(b',') => {
            // Without the ','.
            let tags = r.string("type-tag string")?.get(1..).unwrap_or_default();
            let mut args = Vec::with_capacity(tags.len());
            for (i, &t) in tags.iter().enumerate() {
                let tag = Tag::from_byte(t).ok_or_else(|| match t {
                    b'[' | b']' => err("OSC arrays ('[' ... ']') are not supported"),
                    _ => err(format!(
                        "unknown type tag '{}' (argument {})",
                        t.escape_ascii(),
                        i + 1
                    )),
                })?;
                args.push(arg(r, tag, times)?);
            }
            return Ok(Message { pattern, args });
        }
        Some(_) => {
            return Err(err(format!(
                "type-tag string at byte {tags_at} does not start with ','"
            )))
        }
    }
    Ok(Message {
        pattern,
        args: Vec::new(),
    })
}

fn arg(r: &mut Reader<'_>, tag: Tag, times: &mut Vec<u64>) -> Result<Arg> {
    Ok(match tag {
        Tag::Int => Arg::Int(r.array("int32").map(i32::from_be_bytes)?),
        Tag::Float => Arg::Float(r.array("float32").map(f32::from_be_bytes)?),
        Tag::String => Arg::String(copy_of(r.string("string")?)?),
        Tag::Blob => Arg::Blob(copy_of(r.blob()?)?),
        Tag::Long => Arg::Long(r.array("int64").map(i64::from_be_bytes)?),
        Tag::Time => {
            let t = r.u64("timetag")?;
            times.push(t);
            Arg::Time(timetag_to_seconds(t))
        }
        Tag::Double => Arg::Double(r.array("float64").map(f64::from_be_bytes)?),
        Tag::Symbol => Arg::Symbol(copy_of(r.string("symbol")?)?),
        Tag::Char => {
            let at = r.pos;
            let c = r.u32("char")?;
            // 0..=255 as liblo sends it, or a byte from 0x80 up sign-extended
            // from a signed C `char` (oscpack sends `(int32)(char)c`).
            match c {
                0..=0xff | 0xffff_ff80..=0xffff_ffff => Arg::Char(c as u8),
                _ => {
                    return Err(err(format!(
                        "char at byte {at} is {c:#x}, not a byte (0..=255)"
                    )))
                }
            }
        }
        Tag::Color => Arg::Color(r.u32("color")?),
        Tag::Midi => Arg::Midi(r.u32("midi")?),
        Tag::True => Arg::True,
        Tag::False => Arg::False,
        Tag::Nil => Arg::Nil,
        Tag::Inf => Arg::Inf,
    })
}

fn bundle(data: &[u8], depth: usize) -> Result<Bundle> {
    if depth > MAX_BUNDLE_DEPTH {
        return Err(err(format!(
            "bundles nested deeper than {MAX_BUNDLE_DEPTH} levels"
        )));
    }
    let mut r = Reader::new(data, 8);
    let timetag = timetag_to_seconds(r.u64("bundle timetag")?);
    let mut elements = Vec::new();
    while !r.at_end() {
        let n = elements.len() + 1;
        let size_at = r.pos;
        let size = r.u32("bundle element size")?;
        if size % 4 != 0 {
            return Err(err(format!(
                "bundle element {n} at byte {size_at}: size {size} is not a multiple of 4"
            )));
        }
        let size = usize::try_from(size).map_err(|_| err("bundle element size too large"))?;
        let element = r.take(size, "bundle element")?;
        let element = packet(element, depth + 1).map_err(|e| match e {
            // Nested: one path (`in bundle element 2/1/3: why`), so the
            // reason still shows after 32 levels.
            Error::OscDecode(why) => match why.strip_prefix("in bundle element ") {
                Some(inner) => err(format!("in bundle element {n}/{inner}")),
                None => err(format!("in bundle element {n}: {why}")),
            },
            other => other,
        })?;
        elements.push(element);
    }
    Ok(Bundle { timetag, elements })
}
