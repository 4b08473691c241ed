//! One OSC argument ([`Arg`]) and its type tag ([`Tag`]).

/// The type tags Renoise's `renoise.Osc` knows, one per [`Arg`] variant.
///
/// The Lua layer maps `{tag = "x", value = v}` tables with
/// [`Tag::from_char`] and asks [`Tag::takes_value`] whether `value` is
/// needed.
///
/// ```
/// use renoise_socket::osc::Tag;
///
/// assert_eq!(Tag::from_char('i'), Some(Tag::Int));
/// assert_eq!(Tag::Symbol.as_char(), 'S');
/// assert!(!Tag::True.takes_value());
/// assert_eq!(Tag::from_char('['), None); // arrays are not supported
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    /// `i`: 32-bit signed integer.
    Int,
    /// `f`: 32-bit float.
    Float,
    /// `s`: string.
    String,
    /// `b`: blob.
    Blob,
    /// `h`: 64-bit signed integer.
    Long,
    /// `t`: timetag.
    Time,
    /// `d`: 64-bit float.
    Double,
    /// `S`: symbol (a string with its own tag).
    Symbol,
    /// `c`: one character.
    Char,
    /// `r`: 32-bit RGBA color.
    Color,
    /// `m`: 4-byte MIDI message.
    Midi,
    /// `T`: true, no data.
    True,
    /// `F`: false, no data.
    False,
    /// `N`: nil, no data.
    Nil,
    /// `I`: infinitum ("impulse"), no data.
    Inf,
}

impl Tag {
    /// Every tag, in the order Renoise's documentation lists them.
    ///
    /// ```
    /// use renoise_socket::osc::Tag;
    /// let tags: String = Tag::ALL.iter().map(|t| t.as_char()).collect();
    /// assert_eq!(tags, "ifsbhtdScrmTFNI");
    /// ```
    pub const ALL: [Tag; 15] = [
        Tag::Int,
        Tag::Float,
        Tag::String,
        Tag::Blob,
        Tag::Long,
        Tag::Time,
        Tag::Double,
        Tag::Symbol,
        Tag::Char,
        Tag::Color,
        Tag::Midi,
        Tag::True,
        Tag::False,
        Tag::Nil,
        Tag::Inf,
    ];

    /// The tag for a type-tag character, or `None` for one Renoise does not
    /// know (including the array brackets `[` and `]`).
    ///
    /// ```
    /// use renoise_socket::osc::Tag;
    /// assert_eq!(Tag::from_char('m'), Some(Tag::Midi));
    /// assert_eq!(Tag::from_char('x'), None);
    /// ```
    pub fn from_char(c: char) -> Option<Tag> {
        u8::try_from(c).ok().and_then(Tag::from_byte)
    }

    /// Like [`Tag::from_char`], for a byte of an encoded type-tag string.
    ///
    /// ```
    /// use renoise_socket::osc::Tag;
    /// assert_eq!(Tag::from_byte(b'h'), Some(Tag::Long));
    /// ```
    pub fn from_byte(b: u8) -> Option<Tag> {
        Some(match b {
            b'i' => Tag::Int,
            b'f' => Tag::Float,
            b's' => Tag::String,
            b'b' => Tag::Blob,
            b'h' => Tag::Long,
            b't' => Tag::Time,
            b'd' => Tag::Double,
            b'S' => Tag::Symbol,
            b'c' => Tag::Char,
            b'r' => Tag::Color,
            b'm' => Tag::Midi,
            b'T' => Tag::True,
            b'F' => Tag::False,
            b'N' => Tag::Nil,
            b'I' => Tag::Inf,
            _ => return None,
        })
    }

    /// The type-tag character.
    ///
    /// ```
    /// use renoise_socket::osc::Tag;
    /// assert_eq!(Tag::Inf.as_char(), 'I');
    /// ```
    pub fn as_char(self) -> char {
        char::from(self.as_byte())
    }

    /// The type-tag character as the byte written into a packet.
    ///
    /// ```
    /// use renoise_socket::osc::Tag;
    /// assert_eq!(Tag::Double.as_byte(), b'd');
    /// ```
    pub fn as_byte(self) -> u8 {
        match self {
            Tag::Int => b'i',
            Tag::Float => b'f',
            Tag::String => b's',
            Tag::Blob => b'b',
            Tag::Long => b'h',
            Tag::Time => b't',
            Tag::Double => b'd',
            Tag::Symbol => b'S',
            Tag::Char => b'c',
            Tag::Color => b'r',
            Tag::Midi => b'm',
            Tag::True => b'T',
            Tag::False => b'F',
            Tag::Nil => b'N',
            Tag::Inf => b'I',
        }
    }

    /// False for `T`, `F`, `N` and `I`, which carry no value.
    ///
    /// ```
    /// use renoise_socket::osc::Tag;
    /// assert!(Tag::Blob.takes_value());
    /// assert!(!Tag::Nil.takes_value());
    /// ```
    pub fn takes_value(self) -> bool {
        !matches!(self, Tag::True | Tag::False | Tag::Nil | Tag::Inf)
    }
}

/// One OSC argument: one variant per type tag of Renoise's `renoise.Osc`.
///
/// Strings, symbols and blobs are bytes, not Rust `String`s, because Lua
/// strings are bytes: whatever a Lua string holds goes out unchanged and
/// comes back unchanged. The only byte a string or symbol cannot hold is
/// NUL (OSC strings are NUL-terminated), and encoding one is an error.
///
/// ```
/// use renoise_socket::osc::{Arg, Tag};
///
/// let arg = Arg::String(b"caf\xe9".to_vec()); // not UTF-8: fine
/// assert_eq!(arg.tag(), 's');
/// assert_eq!(Arg::Midi(0x0090_3c7f).kind(), Tag::Midi);
/// assert_eq!(Arg::from(2.5f32), Arg::Float(2.5));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `i`: 32-bit signed integer.
    Int(i32),
    /// `f`: 32-bit float.
    Float(f32),
    /// `s`: string, as bytes without the terminating NUL.
    String(Vec<u8>),
    /// `b`: blob, any bytes.
    Blob(Vec<u8>),
    /// `h`: 64-bit signed integer.
    Long(i64),
    /// `t`: timetag in seconds, mapped to the 64-bit OSC timetag like a
    /// bundle's (see [`seconds_to_timetag`](super::seconds_to_timetag)).
    Time(f64),
    /// `d`: 64-bit float.
    Double(f64),
    /// `S`: symbol, bytes like [`Arg::String`] but tagged `S`.
    Symbol(Vec<u8>),
    /// `c`: one character. On the wire a 32-bit integer, as liblo sends
    /// it (decoding also takes a byte sign-extended from a signed C
    /// `char`, as oscpack sends 0x80-0xff); a one-character Lua string is
    /// one byte, so other values above 255 do not decode.
    Char(u8),
    /// `r`: color, `0xRRGGBBAA` (red in the most significant byte).
    Color(u32),
    /// `m`: MIDI message, port, status, data1, data2 from the most to the
    /// least significant byte.
    Midi(u32),
    /// `T`: true.
    True,
    /// `F`: false.
    False,
    /// `N`: nil.
    Nil,
    /// `I`: infinitum.
    Inf,
}

impl Arg {
    /// The type-tag character of this argument.
    ///
    /// ```
    /// use renoise_socket::osc::Arg;
    /// assert_eq!(Arg::Symbol(b"x".to_vec()).tag(), 'S');
    /// ```
    pub fn tag(&self) -> char {
        self.kind().as_char()
    }

    /// The [`Tag`] of this argument.
    ///
    /// ```
    /// use renoise_socket::osc::{Arg, Tag};
    /// assert_eq!(Arg::Long(1).kind(), Tag::Long);
    /// ```
    pub fn kind(&self) -> Tag {
        match self {
            Arg::Int(_) => Tag::Int,
            Arg::Float(_) => Tag::Float,
            Arg::String(_) => Tag::String,
            Arg::Blob(_) => Tag::Blob,
            Arg::Long(_) => Tag::Long,
            Arg::Time(_) => Tag::Time,
            Arg::Double(_) => Tag::Double,
            Arg::Symbol(_) => Tag::Symbol,
            Arg::Char(_) => Tag::Char,
            Arg::Color(_) => Tag::Color,
            Arg::Midi(_) => Tag::Midi,
            Arg::True => Tag::True,
            Arg::False => Tag::False,
            Arg::Nil => Tag::Nil,
            Arg::Inf => Tag::Inf,
        }
    }

    /// The argument for a tag that carries no value (`T`, `F`, `N`, `I`),
    /// or `None` for a tag that needs one.
    ///
    /// ```
    /// use renoise_socket::osc::{Arg, Tag};
    /// assert_eq!(Arg::without_value(Tag::True), Some(Arg::True));
    /// assert_eq!(Arg::without_value(Tag::Int), None);
    /// ```
    pub fn without_value(tag: Tag) -> Option<Arg> {
        match tag {
            Tag::True => Some(Arg::True),
            Tag::False => Some(Arg::False),
            Tag::Nil => Some(Arg::Nil),
            Tag::Inf => Some(Arg::Inf),
            _ => None,
        }
    }
}

impl From<i32> for Arg {
    /// `i`.
    fn from(v: i32) -> Arg {
        Arg::Int(v)
    }
}

impl From<i64> for Arg {
    /// `h`.
    fn from(v: i64) -> Arg {
        Arg::Long(v)
    }
}

impl From<f32> for Arg {
    /// `f`.
    fn from(v: f32) -> Arg {
        Arg::Float(v)
    }
}

impl From<f64> for Arg {
    /// `d`.
    fn from(v: f64) -> Arg {
        Arg::Double(v)
    }
}

impl From<bool> for Arg {
    /// `T` or `F`.
    fn from(v: bool) -> Arg {
        if v {
            Arg::True
        } else {
            Arg::False
        }
    }
}

impl From<&str> for Arg {
    /// `s`.
    fn from(v: &str) -> Arg {
        Arg::String(v.as_bytes().to_vec())
    }
}

impl From<String> for Arg {
    /// `s`.
    fn from(v: String) -> Arg {
        Arg::String(v.into_bytes())
    }
}
