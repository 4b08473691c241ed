//! Readable text for arguments (see [`Packet`](super::Packet)'s `Display`).

use super::Arg;
use std::fmt::{self, Write};

/// Blob bytes shown before the rest is summarised: a log line, not a dump.
const BLOB_SHOWN: usize = 32;

/// Bytes as text: UTF-8 as is but control characters escaped (`\n`,
/// `\u{1b}`: a pattern cannot break a log line or drive a terminal), other
/// bytes as `\xNN`.
pub(crate) fn bytes(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_debug())?;
            } else {
                f.write_char(c)?;
            }
        }
        for byte in chunk.invalid() {
            write!(f, "\\x{byte:02x}")?;
        }
    }
    Ok(())
}

/// Bytes as readable text, as a [`Message`](super::Message)'s `Display`
/// shows its pattern and strings: UTF-8 as is, control characters escaped
/// (`\n`, `\0`, `\u{1b}`: the text cannot break a log line or drive a
/// terminal), other bytes as `\xNN`. For messages that quote a value a
/// program passed.
///
/// ```
/// use renoise_socket::osc::Escaped;
/// assert_eq!(Escaped(b"caf\xc3\xa9\n\0\xff").to_string(), "caf\u{e9}\\n\\0\\xff");
/// ```
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bytes(f, self.0)
    }
}

/// Bytes between `quote`s, escaped like a Rust literal.
fn quoted(f: &mut fmt::Formatter<'_>, b: &[u8], quote: char) -> fmt::Result {
    f.write_char(quote)?;
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' | '\'' if c != quote => f.write_char(c)?,
                _ => write!(f, "{}", c.escape_debug())?,
            }
        }
        for byte in chunk.invalid() {
            write!(f, "\\x{byte:02x}")?;
        }
    }
    f.write_char(quote)
}

/// A float in plain decimal (`2.5`, `440`) when its magnitude is 0 or in
/// `[1e-4, large)` (also `inf`), else in exponent form (`1e308`,
/// `1.5e-9`) rather than hundreds of digits. Both are the shortest text
/// that reads back as the same number. A NaN is `nan`, as C's `printf`
/// writes it, beside `inf` (Rust would write `NaN`).
fn float<T: fmt::Display + fmt::LowerExp>(
    f: &mut fmt::Formatter<'_>,
    v: T,
    magnitude: f64,
    large: f64,
) -> fmt::Result {
    if magnitude.is_nan() {
        f.write_str("nan")
    } else if magnitude == 0.0 || magnitude.is_infinite() || (1e-4..large).contains(&magnitude) {
        write!(f, "{v}")
    } else {
        write!(f, "{v:e}")
    }
}

/// A number of seconds shown as [`time`] shows it, for messages.
pub(crate) struct Seconds(pub f64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        time(f, self.0)
    }
}

/// A timetag in seconds, as a `t` argument and a bundle's time show it.
pub(crate) fn time(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    float(f, v, v.abs(), 1e17)
}

pub(crate) fn arg(f: &mut fmt::Formatter<'_>, arg: &Arg) -> fmt::Result {
    match arg {
        Arg::Int(v) => write!(f, "{v}"),
        Arg::Float(v) => float(f, *v, f64::from(v.abs()), 1e9),
        Arg::String(v) | Arg::Symbol(v) => quoted(f, v, '"'),
        Arg::Blob(v) => {
            f.write_char('<')?;
            for byte in v.iter().take(BLOB_SHOWN) {
                write!(f, "{byte:02x}")?;
            }
            if v.len() > BLOB_SHOWN {
                write!(f, "... {} bytes", v.len())?;
            }
            f.write_char('>')
        }
        Arg::Long(v) => write!(f, "{v}"),
        Arg::Time(v) => time(f, *v),
        Arg::Double(v) => float(f, *v, v.abs(), 1e17),
        Arg::Char(v) => {
            if v.is_ascii() {
                quoted(f, &[*v], '\'')
            } else {
                write!(f, "'\\x{v:02x}'")
            }
        }
        Arg::Color(v) => write!(f, "#{v:08x}"),
        Arg::Midi(v) => write!(f, "midi:{v:08x}"),
        Arg::True => f.write_str("true"),
        Arg::False => f.write_str("false"),
        Arg::Nil => f.write_str("nil"),
        Arg::Inf => f.write_str("inf"),
    }
}
