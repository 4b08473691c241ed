//! What one `receive` call reads.

use crate::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A receive mode, as Renoise's `SocketReceiveMode`.
///
/// ```
/// use renoise_socket::Mode;
/// assert_eq!("*line".parse::<Mode>().unwrap(), Mode::Line);
/// assert_eq!("*a".parse::<Mode>().unwrap(), Mode::All);
/// assert_eq!("64".parse::<Mode>().unwrap(), Mode::Bytes(64));
/// assert!("*nothing".parse::<Mode>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `"*line"` (alias `"*l"`): one line, without its terminator.
    Line,
    /// `"*all"` (alias `"*a"`): whatever is buffered or pending, never empty,
    /// at most the client's all-chunk size.
    All,
    /// `n > 0`: exactly `n` bytes (fewer only at end of stream).
    Bytes(usize),
}

impl Mode {
    /// Parses the Lua spelling of a string mode: `"*line"`, `"*l"`, `"*all"`
    /// or `"*a"`. Numbers are not accepted here (Lua passes them as numbers).
    ///
    /// ```
    /// use renoise_socket::Mode;
    /// assert_eq!(Mode::from_lua_str("*l"), Some(Mode::Line));
    /// assert_eq!(Mode::from_lua_str("line"), None);
    /// ```
    pub fn from_lua_str(s: &str) -> Option<Mode> {
        match s {
            "*line" | "*l" => Some(Mode::Line),
            "*all" | "*a" => Some(Mode::All),
            _ => None,
        }
    }
}

/// `"*line"`, `"*all"` (and `"*l"`, `"*a"`) or a whole number > 0.
impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Mode> {
        if let Some(m) = Mode::from_lua_str(s) {
            return Ok(m);
        }
        match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Mode::Bytes(n)),
            _ => Err(Error::InvalidArgument(format!(
                "mode must be \"*line\", \"*all\" or a number > 0, got {s:?}"
            ))),
        }
    }
}

/// `*line`, `*all` or the number.
impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Line => f.write_str("*line"),
            Mode::All => f.write_str("*all"),
            Mode::Bytes(n) => write!(f, "{n}"),
        }
    }
}
