//! Our types to OSC 1.0 bytes.
//!
//! Written here rather than through `rosc::encoder` because rosc has no
//! `S` (symbol) type and takes strings and addresses as UTF-8 `String`s,
//! while Lua strings are arbitrary bytes (see the [module](super) docs).

use super::{seconds_to_timetag, Arg, Bundle, Message, Packet, MAX_BUNDLE_DEPTH};
use crate::error::{Error, Result};

/// Appends `packet` to `out`; on error `out` is left as it was.
pub(crate) fn encode_packet(packet: &Packet, out: &mut Vec<u8>) -> Result<()> {
    atomically(out, |w| match packet {
        Packet::Message(m) => write_message(w, m),
        Packet::Bundle(b) => write_bundle(w, b, 1),
    })
}

/// Appends `message` to `out`; on error `out` is left as it was.
pub(crate) fn encode_message(message: &Message, out: &mut Vec<u8>) -> Result<()> {
    atomically(out, |w| write_message(w, message))
}

/// Appends `bundle` to `out`; on error `out` is left as it was.
pub(crate) fn encode_bundle(bundle: &Bundle, out: &mut Vec<u8>) -> Result<()> {
    atomically(out, |w| write_bundle(w, bundle, 1))
}

fn atomically(out: &mut Vec<u8>, f: impl FnOnce(&mut Writer<'_>) -> Result<()>) -> Result<()> {
    let base = out.len();
    let result = f(&mut Writer { out, base });
    if result.is_err() {
        out.truncate(base);
    }
    result
}

/// The output and where the packet started in it: padding is relative to
/// the packet, and `out` may already hold something of any length.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    base: usize,
}

impl Writer<'_> {
    /// Zero bytes up to the next multiple of 4 from the packet's start.
    fn pad(&mut self) {
        let rem = (self.out.len() - self.base) % 4;
        if rem != 0 {
            self.out.resize(self.out.len() + 4 - rem, 0);
        }
    }

    /// An OSC string: the bytes, a NUL, zero padding to a multiple of 4.
    fn string(&mut self, s: &[u8], what: &str) -> Result<()> {
        if let Some(at) = memchr::memchr(0, s) {
            return Err(Error::OscEncode(format!(
                "{what} holds a NUL byte at offset {at}; OSC strings cannot"
            )));
        }
        self.room(s.len() + 4)?;
        self.out.extend_from_slice(s);
        self.out.push(0);
        self.pad();
        Ok(())
    }

    /// Room for `n` more bytes: an error, not an abort, for a string or
    /// blob too large for the memory left (a process with a memory limit).
    fn room(&mut self, n: usize) -> Result<()> {
        self.out.try_reserve(n).map_err(|_| {
            crate::buffer::out_of_memory(format_args!(
                "cannot encode an OSC packet of more than {} bytes",
                self.out.len() - self.base + n
            ))
        })
    }

    fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }
}

fn write_message(w: &mut Writer<'_>, message: &Message) -> Result<()> {
    if message.pattern.first() != Some(&b'/') {
        return Err(Error::OscEncode(format!(
            "address pattern {:?} does not start with '/'",
            String::from_utf8_lossy(&message.pattern)
        )));
    }
    w.string(&message.pattern, "address pattern")?;

    w.out.reserve(message.args.len() + 4);
    w.out.push(b',');
    w.out
        .extend(message.args.iter().map(|a| a.kind().as_byte()));
    w.out.push(0);
    w.pad();

    for (i, arg) in message.args.iter().enumerate() {
        write_arg(w, arg).map_err(|e| match e {
            Error::OscEncode(why) => Error::OscEncode(format!("argument {}: {why}", i + 1)),
            other => other,
        })?;
    }
    Ok(())
}

fn write_arg(w: &mut Writer<'_>, arg: &Arg) -> Result<()> {
    match arg {
        Arg::Int(v) => w.bytes(&v.to_be_bytes()),
        Arg::Float(v) => w.bytes(&v.to_be_bytes()),
        Arg::String(v) => w.string(v, "string")?,
        Arg::Blob(v) => {
            let len = u32::try_from(v.len())
                .map_err(|_| Error::OscEncode(format!("blob of {} bytes is too long", v.len())))?;
            w.room(v.len() + 8)?;
            w.bytes(&len.to_be_bytes());
            w.bytes(v);
            w.pad();
        }
        Arg::Long(v) => w.bytes(&v.to_be_bytes()),
        Arg::Time(v) => w.bytes(&seconds_to_timetag(*v)?.to_be_bytes()),
        Arg::Double(v) => w.bytes(&v.to_be_bytes()),
        Arg::Symbol(v) => w.string(v, "symbol")?,
        Arg::Char(v) => w.bytes(&u32::from(*v).to_be_bytes()),
        Arg::Color(v) | Arg::Midi(v) => w.bytes(&v.to_be_bytes()),
        Arg::True | Arg::False | Arg::Nil | Arg::Inf => {}
    }
    Ok(())
}

fn write_bundle(w: &mut Writer<'_>, bundle: &Bundle, depth: usize) -> Result<()> {
    if depth > MAX_BUNDLE_DEPTH {
        return Err(Error::OscEncode(format!(
            "bundles nested deeper than {MAX_BUNDLE_DEPTH} levels"
        )));
    }
    w.bytes(b"#bundle\0");
    w.bytes(&seconds_to_timetag(bundle.timetag)?.to_be_bytes());
    for element in &bundle.elements {
        let size_at = w.out.len();
        w.bytes(&[0; 4]);
        match element {
            Packet::Message(m) => write_message(w, m)?,
            Packet::Bundle(b) => write_bundle(w, b, depth + 1)?,
        }
        let size = w.out.len() - size_at - 4;
        let size = u32::try_from(size)
            .map_err(|_| Error::OscEncode(format!("bundle element of {size} bytes is too long")))?;
        if let Some(slot) = w.out.get_mut(size_at..size_at + 4) {
            slot.copy_from_slice(&size.to_be_bytes());
        }
    }
    Ok(())
}
