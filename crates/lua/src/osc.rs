//! The `Osc` table (`renoise.Osc`): `Message` and `Bundle` objects,
//! `from_binary_data`, and the global `type()` that names them.
//!
//! ```lua
//! local m = rs.Osc.Message("/renoise/song/bpm", { { tag = "f", value = 132 } })
//! local b = rs.Osc.Bundle(os.clock(), { m, rs.Osc.Message("/x") })
//! local p, err = rs.Osc.from_binary_data(b.binary_data)  -- a Bundle
//! ```
//!
//! Objects are immutable full userdata holding a core [`Packet`] and its
//! encoded bytes (checked and encoded once, by the constructor). Like
//! `client.rs`, everything is raw `lua_CFunction`s (see `raw.rs` for the
//! rules): a userdata is always allocated *before* the Rust values that go
//! into it exist, so an out-of-memory error raised by the allocation jumps
//! over nothing that needs dropping. Tables and strings pushed for
//! properties borrow from the object, which is on the stack (argument 1).
//!
//! An object is recognised by a marker in its metatable: a light userdata
//! key (the address of [`MARKER`]) whose value is the kind. That lets
//! `client:send` and the `type()` wrapper know our objects without sharing
//! upvalues; Lua code cannot set a metatable on a userdata nor read ours
//! (`__metatable`), so the marker cannot be forged short of the `debug`
//! library.

use crate::raw::{
    self, guard, lua_fn, number_at, push_bytes, push_failure, read_only_field, string_at,
    type_error, type_name, Fail, Msg, Num, Shown,
};
use mlua::ffi::{self, lua_CFunction, lua_State};
use renoise_socket::osc::{
    seconds_to_timetag, timetag_to_seconds, Arg, Bundle, Message, Packet, Tag,
};
use std::ffi::{c_int, c_void, CStr};
use std::fmt::Write;

/// Its address is the metatable key that marks our objects.
static MARKER: u8 = 0;

fn marker() -> *const c_void {
    std::ptr::addr_of!(MARKER).cast()
}

/// Which class an object is (the value stored under the marker).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Message = 1,
    Bundle = 2,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Message => "Message",
            Kind::Bundle => "Bundle",
        }
    }

    fn cname(self) -> &'static CStr {
        match self {
            Kind::Message => c"Message",
            Kind::Bundle => c"Bundle",
        }
    }

    /// The upvalue index of this class's metatable in every function here.
    fn metatable(self) -> c_int {
        ffi::lua_upvalueindex(self as c_int)
    }
}

/// What an object owns: the packet, its bytes, and the `tostring` text
/// once it was asked for.
struct Obj {
    packet: Packet,
    bytes: Vec<u8>,
    text: Option<Box<str>>,
}

/// The userdata's memory. `None` once `__gc` ran (Lua 5.4 can resurrect an
/// object after that; it then has no data).
struct Ud {
    obj: Option<Box<Obj>>,
}

const _: () = assert!(std::mem::align_of::<Ud>() <= 8);

/// The kind of the object at `index`, if it is one of ours.
pub(crate) unsafe fn kind_of(l: *mut lua_State, index: c_int) -> Option<Kind> {
    if ffi::lua_type(l, index) != ffi::LUA_TUSERDATA || ffi::lua_getmetatable(l, index) == 0 {
        return None;
    }
    ffi::lua_rawgetp(l, -1, marker());
    let k = if ffi::lua_type(l, -1) == ffi::LUA_TNUMBER {
        ffi::lua_tointeger(l, -1)
    } else {
        0
    };
    ffi::lua_pop(l, 2);
    match k {
        1 => Some(Kind::Message),
        2 => Some(Kind::Bundle),
        _ => None,
    }
}

/// The object at `index`, if it is one of ours and not finalised.
unsafe fn object<'a>(l: *mut lua_State, index: c_int) -> Option<(Kind, &'a mut Obj)> {
    let kind = kind_of(l, index)?;
    // SAFETY: only this file gives a userdata a metatable with the marker,
    // right after writing a `Ud` into it.
    let ud = &mut *ffi::lua_touserdata(l, index).cast::<Ud>();
    ud.obj.as_deref_mut().map(|o| (kind, o))
}

/// The encoded bytes of the Message or Bundle at `index` (for
/// `client:send`), borrowed from the object on the stack.
pub(crate) unsafe fn packet_data<'a>(l: *mut lua_State, index: c_int) -> Option<&'a [u8]> {
    object(l, index).map(|(_, o)| &o.bytes[..])
}

/// `self` of a method: a Message or a Bundle.
unsafe fn this<'a>(l: *mut lua_State) -> Result<(Kind, &'a mut Obj), Fail> {
    match object(l, 1) {
        Some(x) => Ok(x),
        None => Err(type_error(l, 1, "Message or Bundle")),
    }
}

/// Allocates the userdata for a new object (may raise: call it while
/// nothing that needs dropping is alive) and returns its stack index.
unsafe fn alloc(l: *mut lua_State) -> (c_int, *mut Ud) {
    let ud = ffi::lua_newuserdata(l, std::mem::size_of::<Ud>()).cast::<Ud>();
    (ffi::lua_gettop(l), ud)
}

/// Moves `obj` into the userdata at `index` made by [`alloc`] and gives it
/// the class metatable (never raises). Needs the metatables as upvalues.
unsafe fn finish(l: *mut lua_State, index: c_int, ud: *mut Ud, kind: Kind, obj: Box<Obj>) {
    std::ptr::write(ud, Ud { obj: Some(obj) });
    ffi::lua_pushvalue(l, kind.metatable());
    ffi::lua_setmetatable(l, index);
}

/// The object for a packet; `bytes` are its encoding.
fn new_obj(packet: Packet, bytes: Vec<u8>) -> Box<Obj> {
    Box::new(Obj {
        packet,
        bytes,
        text: None,
    })
}

/// Why a packet was not made: the data's fault, or no memory, which is
/// raised whatever the function, as Lua's own allocations raise it.
enum NotMade {
    Bad(Msg),
    NoMemory(Msg),
}

impl NotMade {
    fn of(e: renoise_socket::Error) -> NotMade {
        match e {
            renoise_socket::Error::Io(e) if e.kind() == std::io::ErrorKind::OutOfMemory => {
                NotMade::NoMemory(Msg::of(e))
            }
            e => NotMade::Bad(Msg::of(e)),
        }
    }
}

/// Encodes a packet built here.
fn encode(packet: Packet) -> Result<Box<Obj>, NotMade> {
    match packet.to_bytes() {
        Ok(bytes) => Ok(new_obj(packet, bytes)),
        Err(e) => Err(NotMade::of(e)),
    }
}

// ---------------------------------------------------------------------------
// The table and the classes

/// Pushes the `Osc` table (with fresh class metatables for this Lua state).
pub(crate) unsafe fn push_table(l: *mut lua_State) {
    let base = ffi::lua_gettop(l);
    for kind in [Kind::Message, Kind::Bundle] {
        ffi::lua_createtable(l, 0, 8);
        ffi::lua_pushlightuserdata(l, marker().cast_mut());
        ffi::lua_pushinteger(l, kind as ffi::lua_Integer);
        ffi::lua_rawset(l, -3);
        raw::set_class_name(l, -1, kind.cname());
    }
    let (message_mt, bundle_mt) = (base + 1, base + 2);
    // Pushes a closure of `f` with both metatables as upvalues 1 and 2.
    let closure = |f: lua_CFunction| {
        ffi::lua_pushvalue(l, message_mt);
        ffi::lua_pushvalue(l, bundle_mt);
        ffi::lua_pushcclosure(l, f, 2);
    };

    ffi::lua_createtable(l, 0, 1);
    let methods = ffi::lua_gettop(l);
    closure(to_binary_data);
    ffi::lua_setfield(l, methods, c"to_binary_data".as_ptr());

    for mt in [message_mt, bundle_mt] {
        ffi::lua_pushvalue(l, message_mt);
        ffi::lua_pushvalue(l, bundle_mt);
        ffi::lua_pushvalue(l, methods);
        ffi::lua_pushcclosure(l, index, 3);
        ffi::lua_setfield(l, mt, c"__index".as_ptr());
        raw::set_functions(
            l,
            mt,
            &[
                (c"__newindex", newindex),
                (c"__gc", gc),
                (c"__tostring", tostring),
            ],
            closure,
        );
    }

    ffi::lua_createtable(l, 0, 3);
    raw::set_functions(
        l,
        -1,
        &[
            (c"Message", new_message),
            (c"Bundle", new_bundle),
            (c"from_binary_data", from_binary_data),
        ],
        closure,
    );
    // Leave only the Osc table.
    ffi::lua_replace(l, base + 1);
    ffi::lua_settop(l, base + 1);
}

lua_fn!(new_message, "Message", new_message_body);
lua_fn!(new_bundle, "Bundle", new_bundle_body);
lua_fn!(from_binary_data, "from_binary_data", from_binary_data_body);
lua_fn!(to_binary_data, method "to_binary_data", to_binary_data_body);
lua_fn!(index, method "__index", index_body);
lua_fn!(newindex, method "__newindex", newindex_body);
lua_fn!(tostring, method "__tostring", tostring_body);
lua_fn!(type_wrapper, "type", type_body);

// ---------------------------------------------------------------------------
// Message(pattern [, arguments])

/// `Message(pattern [, arguments])`.
unsafe fn new_message_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let Some(pattern) = string_at(l, 1) else {
        return Err(type_error(l, 1, "string"));
    };
    if pattern.first() != Some(&b'/') {
        return Err(Fail::arg(
            1,
            format_args!("pattern must start with '/', got '{}'", Shown(pattern)),
        ));
    }
    if pattern.contains(&0) {
        return Err(Fail::arg(1, "pattern must not contain a NUL byte"));
    }
    let has_args = match ffi::lua_type(l, 2) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => false,
        ffi::LUA_TTABLE => true,
        _ => return Err(type_error(l, 2, "table or nil")),
    };
    // Everything that may raise happens before any Rust value exists:
    // the userdata, and the two keys read from each argument table.
    let (ud_index, ud) = alloc(l);
    ffi::lua_pushstring(l, c"tag".as_ptr());
    ffi::lua_pushstring(l, c"value".as_ptr());
    ffi::lua_pushstring(l, c"__name".as_ptr());
    let keys = ffi::lua_gettop(l) - 2;
    let args = if has_args {
        read_args(l, 2, keys)?
    } else {
        Vec::new()
    };
    let obj = guard(|| encode(Message::new(pattern, args).into()))?;
    match obj {
        Ok(obj) => {
            ffi::lua_settop(l, ud_index);
            finish(l, ud_index, ud, Kind::Message, obj);
            Ok(1)
        }
        Err(NotMade::Bad(m)) => Err(Fail::Arg(2, m)),
        Err(NotMade::NoMemory(m)) => Err(Fail::Error(m)),
    }
}

/// The arguments array at `index`; `keys`, `keys + 1` and `keys + 2` hold
/// the strings `"tag"`, `"value"` and `"__name"`. Only raw, non-allocating Lua calls are made while
/// the vector is alive.
unsafe fn read_args(l: *mut lua_State, index: c_int, keys: c_int) -> Result<Vec<Arg>, Fail> {
    let n = ffi::lua_rawlen(l, index).min(c_int::MAX as usize) as c_int;
    // An empty array part with a lone argument in it (not wrapped in an
    // array) or numbered keys (an array not starting at 1) would otherwise
    // be an empty argument list, silently. Other keys (`n` of
    // `table.pack`) are not arguments.
    if n == 0 {
        if let Some(why) = no_array_part(l, index, keys) {
            return Err(Fail::arg(
                2,
                format_args!(
                    "arguments must be an array of {{tag = ..., value = ...}} tables{why}"
                ),
            ));
        }
    }
    if let Some(k) = hole_before(l, index, n) {
        return Err(Fail::arg(
            2,
            format_args!(
                "arguments must be an array without holes: arguments[{}] is nil, but arguments[{k}] is not",
                n + 1
            ),
        ));
    }
    // `#t` is a border, not a count: a table of a few entries can have one
    // in the hundreds of millions. The loop stops at the first hole below
    // it.
    let mut args = Vec::with_capacity((n as usize).min(256));
    for i in 1..=n {
        ffi::lua_rawgeti(l, index, i as ffi::lua_Integer);
        // A hole below the border (`{a, nil, b}`, whose `#t` is 3): the
        // same words as one above it.
        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
            ffi::lua_pop(l, 1);
            return Err(Fail::arg(
                2,
                format_args!(
                    "arguments must be an array without holes: arguments[{i}] is nil, but arguments[{n}] is not"
                ),
            ));
        }
        let arg = read_arg(l, i, keys);
        ffi::lua_pop(l, 1);
        args.push(arg?);
    }
    Ok(args)
}

/// A number key of the table at `index` above its border `n` (`#t`), if
/// it has one: an array with a hole, whose border differs between
/// interpreters (5.1 and LuaJIT may find the one before the hole, 5.4 the
/// last), so its elements after the hole are refused rather than dropped
/// by some interpreters only.
unsafe fn hole_before(l: *mut lua_State, index: c_int, n: c_int) -> Option<f64> {
    number_key_above(l, index, f64::from(n))
}

/// The first number key above `floor` that `lua_next` finds in the table
/// at `index`. Raw: nothing allocated, nothing raised.
unsafe fn number_key_above(l: *mut lua_State, index: c_int, floor: f64) -> Option<f64> {
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, index) != 0 {
        ffi::lua_pop(l, 1);
        if ffi::lua_type(l, -1) == ffi::LUA_TNUMBER && ffi::lua_tonumber(l, -1) > floor {
            let k = ffi::lua_tonumber(l, -1);
            ffi::lua_pop(l, 1);
            return Some(k);
        }
    }
    None
}

/// Why a table with an empty array part at `index` is not an empty list:
/// it is one `{tag = ..., value = ...}` table (with a `tag` or a `value`),
/// or has numbered keys that do not start at 1. Raw accesses
/// only: no metamethods, nothing allocated, nothing raised.
unsafe fn no_array_part(l: *mut lua_State, index: c_int, keys: c_int) -> Option<&'static str> {
    // `keys` and `keys + 1` hold "tag" and "value".
    let mut lone = false;
    for key in [keys, keys + 1] {
        ffi::lua_pushvalue(l, key);
        ffi::lua_rawget(l, index);
        lone |= ffi::lua_type(l, -1) != ffi::LUA_TNIL;
        ffi::lua_pop(l, 1);
    }
    if lone {
        return Some(", got one such table alone (wrap it in { })");
    }
    has_number_key(l, index).then_some(" from index 1, got a table without [1]")
}

/// Whether the table at `index` has a number key at all (with an empty
/// array part: an array that does not start at 1).
unsafe fn has_number_key(l: *mut lua_State, index: c_int) -> bool {
    number_key_above(l, index, f64::NEG_INFINITY).is_some()
}

/// The name of the type of the value at `index`, as [`type_name`] gives
/// it, without allocating in Lua (so it may run while Rust values are
/// alive): `name_key` is the stack index of the string `"__name"`.
unsafe fn got_raw(l: *mut lua_State, index: c_int, name_key: c_int) -> Msg {
    let t = ffi::lua_type(l, index);
    if t == ffi::LUA_TUSERDATA && ffi::lua_getmetatable(l, index) != 0 {
        ffi::lua_pushvalue(l, name_key);
        ffi::lua_rawget(l, -2);
        let name = string_at(l, -1).map(|n| Msg::of(Shown(n)));
        ffi::lua_pop(l, 2);
        if let Some(n) = name {
            return n;
        }
    }
    Msg::of(Shown(CStr::from_ptr(ffi::lua_typename(l, t)).to_bytes()))
}

/// [`type_name`] as a Rust string.
unsafe fn got(l: *mut lua_State, index: c_int) -> String {
    String::from_utf8_lossy(type_name(l, index).as_bytes()).into_owned()
}

/// One `{tag = "x", value = v}` table, on top of the stack; `i` is its
/// position in the array (for messages).
unsafe fn read_arg(l: *mut lua_State, i: c_int, keys: c_int) -> Result<Arg, Fail> {
    let bad = |d: std::fmt::Arguments| {
        let mut m = Msg::new();
        let _ = write!(m, "arguments[{i}]");
        let _ = m.write_fmt(d);
        Fail::Arg(2, m)
    };
    if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
        return Err(bad(format_args!(
            " must be a table {{tag = ..., value = ...}}, got {}",
            Shown(got_raw(l, -1, keys + 2).as_bytes())
        )));
    }
    let elem = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, keys);
    ffi::lua_rawget(l, elem);
    let tag = string_at(l, -1);
    ffi::lua_pop(l, 1); // the string stays alive in the table
    let tag = match tag {
        Some(t) => match t {
            [c] => Tag::from_byte(*c).ok_or(t),
            _ => Err(t),
        },
        None => {
            ffi::lua_pushvalue(l, keys);
            ffi::lua_rawget(l, elem);
            let g = got_raw(l, -1, keys + 2);
            ffi::lua_pop(l, 1);
            return Err(bad(format_args!(
                ".tag must be a type tag string, got {}",
                Shown(g.as_bytes())
            )));
        }
    };
    let tag = match tag {
        Ok(t) => t,
        Err(t) => {
            return Err(bad(format_args!(
                ": unknown tag '{}' (known: ifsbhtdScrmTFNI)",
                Shown(t)
            )))
        }
    };
    if let Some(arg) = Arg::without_value(tag) {
        return Ok(arg);
    }
    let c = tag.as_char();
    ffi::lua_pushvalue(l, keys + 1);
    ffi::lua_rawget(l, elem);
    let value = ffi::lua_gettop(l);
    let result = read_value(l, value, tag);
    let g = if result.is_err() {
        // A number is shown for the numeric tags (whose error is its
        // range), a string for the string tags (whose error is its length
        // or a NUL byte); anything else by its type.
        let wants_string = matches!(tag, Tag::String | Tag::Symbol | Tag::Blob | Tag::Char);
        match (ffi::lua_type(l, value), number_at(l, value)) {
            (ffi::LUA_TNIL, _) => Msg::of("no value"),
            (ffi::LUA_TSTRING, _) if wants_string => Msg::of(format_args!(
                "\"{}\"",
                Shown(string_at(l, value).unwrap_or_default())
            )),
            (_, Some(n)) if !wants_string => Msg::of(n),
            _ => got_raw(l, value, keys + 2),
        }
    } else {
        Msg::new()
    };
    ffi::lua_pop(l, 1);
    if result == Err(NO_MEMORY) {
        return Err(Fail::error(NO_MEMORY));
    }
    result.map_err(|need| {
        bad(format_args!(
            ": tag '{c}' needs {need}, got {}",
            // Made of `Shown` pieces and numbers already: cut only once.
            String::from_utf8_lossy(g.as_bytes())
        ))
    })
}

/// What a copy that found no memory gives instead of an abort (a large
/// string or blob in a process with a memory limit): raised, as Lua's own
/// allocations raise it.
const NO_MEMORY: &str = "not enough memory";

/// A Lua string's bytes as a `Vec`, or [`NO_MEMORY`].
fn owned(s: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut v = Vec::new();
    v.try_reserve_exact(s.len()).map_err(|_| NO_MEMORY)?;
    v.extend_from_slice(s);
    Ok(v)
}

/// The value at `index` for `tag`, or what the tag needs.
unsafe fn read_value(l: *mut lua_State, index: c_int, tag: Tag) -> Result<Arg, &'static str> {
    const INT32: &str = "an integer from -2147483648 to 2147483647";
    const INT64: &str = "an integer from -2^63 to 2^63";
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    const UINT32: &str = "an integer from 0 to 4294967295";
    const NUMBER: &str = "a number";
    const TIME: &str = "a number of seconds, 0 <= t < 2^32";
    let float = |n: Num| match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    };
    let string = || string_at(l, index).ok_or("a string");
    let no_nul = |s: &[u8]| {
        if s.contains(&0) {
            Err("a string without NUL bytes")
        } else {
            owned(s)
        }
    };
    let number = number_at(l, index);
    match tag {
        Tag::Int => number
            .and_then(Num::whole)
            .and_then(|i| i32::try_from(i).ok())
            .map(Arg::Int)
            .ok_or(INT32),
        Tag::Long => match number {
            Some(Num::Int(i)) => Ok(Arg::Long(i)),
            // A double beyond 2^53 is still a whole number; ±2^63 (what a
            // decoded extreme becomes in Lua 5.1 / LuaJIT) saturates to the
            // int64 range, so decoded arguments are always accepted back.
            Some(Num::Float(f)) if f.fract() == 0.0 && f.abs() <= TWO_POW_63 => {
                Ok(Arg::Long(f as i64))
            }
            _ => Err(INT64),
        },
        Tag::Float => number.map(|n| Arg::Float(float(n) as f32)).ok_or(NUMBER),
        Tag::Double => number.map(|n| Arg::Double(float(n))).ok_or(NUMBER),
        Tag::Time => {
            let t = number.map(float).ok_or(TIME)?;
            // Kept as it comes back from the wire (see `Bundle`).
            match seconds_to_timetag(t) {
                Ok(tt) => Ok(Arg::Time(timetag_to_seconds(tt))),
                Err(_) => Err(TIME),
            }
        }
        Tag::Color | Tag::Midi => {
            let v = number
                .and_then(Num::whole)
                .and_then(|i| u32::try_from(i).ok())
                .ok_or(UINT32)?;
            Ok(if tag == Tag::Color {
                Arg::Color(v)
            } else {
                Arg::Midi(v)
            })
        }
        Tag::String => no_nul(string()?).map(Arg::String),
        Tag::Symbol => no_nul(string()?).map(Arg::Symbol),
        Tag::Blob => owned(string()?).map(Arg::Blob),
        Tag::Char => match string_at(l, index) {
            Some([c]) => Ok(Arg::Char(*c)),
            _ => Err("a one-character string"),
        },
        Tag::True | Tag::False | Tag::Nil | Tag::Inf => Arg::without_value(tag).ok_or(""),
    }
}

// ---------------------------------------------------------------------------
// Bundle(time, message_or_array_of_messages)

/// `Bundle(time, message_or_array_of_messages)`: bundles of messages only.
unsafe fn new_bundle_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let Some(n) = number_at(l, 1) else {
        return Err(type_error(l, 1, "number"));
    };
    let t = match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    };
    // The time is kept as it comes back from the wire, so that
    // `from_binary_data(b.binary_data).timetag == b.timetag` always.
    let time = match seconds_to_timetag(t) {
        Ok(tt) => timetag_to_seconds(tt),
        Err(_) => {
            return Err(Fail::arg(
                1,
                format_args!("time must be a number of seconds, 0 <= t < 2^32, got {n}"),
            ))
        }
    };
    let single = match ffi::lua_type(l, 2) {
        ffi::LUA_TTABLE => false,
        ffi::LUA_TUSERDATA if kind_of(l, 2) == Some(Kind::Message) => true,
        ffi::LUA_TUSERDATA if kind_of(l, 2) == Some(Kind::Bundle) => {
            return Err(Fail::arg(
                2,
                "bundles cannot be nested: Message or array of Messages expected, got Bundle",
            ))
        }
        _ => return Err(type_error(l, 2, "Message or array of Messages")),
    };
    let count = if single {
        1
    } else {
        ffi::lua_rawlen(l, 2).min(c_int::MAX as usize) as c_int
    };
    // Elements that do not start at 1 would be an empty bundle, silently.
    if count == 0 && !single && has_number_key(l, 2) {
        return Err(Fail::arg(
            2,
            "Message or array of Messages from index 1 expected, got a table without [1]",
        ));
    }
    if let Some(k) = (!single).then(|| hole_before(l, 2, count)).flatten() {
        return Err(Fail::arg(
            2,
            format_args!(
                "array of Messages without holes: element {} is nil, but element {k} is not",
                count + 1
            ),
        ));
    }
    // Check every element before anything is built.
    for i in 1..=count {
        if !single {
            ffi::lua_rawgeti(l, 2, i as ffi::lua_Integer);
        } else {
            ffi::lua_pushvalue(l, 2);
        }
        let kind = kind_of(l, -1);
        let alive = object(l, -1).is_some();
        let hole = ffi::lua_type(l, -1) == ffi::LUA_TNIL;
        let fail = match kind {
            Some(Kind::Message) if alive => None,
            // A hole below the border: as for one above it.
            _ if hole => Some(Fail::arg(
                2,
                format_args!(
                    "array of Messages without holes: element {i} is nil, but element {count} is not"
                ),
            )),
            Some(Kind::Bundle) => Some(Fail::arg(
                2,
                format_args!("element {i} is a Bundle: bundles cannot be nested"),
            )),
            _ => {
                let g = got(l, -1);
                Some(Fail::arg(
                    2,
                    format_args!("element {i} must be a Message, got {g}"),
                ))
            }
        };
        ffi::lua_pop(l, 1);
        if let Some(f) = fail {
            return Err(f);
        }
    }
    let (ud_index, ud) = alloc(l);
    let mut elements = Vec::with_capacity(count as usize);
    for i in 1..=count {
        if single {
            ffi::lua_pushvalue(l, 2);
        } else {
            ffi::lua_rawgeti(l, 2, i as ffi::lua_Integer);
        }
        if let Some((Kind::Message, o)) = object(l, -1) {
            elements.push(o.packet.clone());
        }
        ffi::lua_pop(l, 1);
    }
    let obj = guard(|| encode(Bundle::new(time, elements).into()))?;
    match obj {
        Ok(obj) => {
            finish(l, ud_index, ud, Kind::Bundle, obj);
            Ok(1)
        }
        Err(NotMade::Bad(m)) => Err(Fail::Arg(2, m)),
        Err(NotMade::NoMemory(m)) => Err(Fail::Error(m)),
    }
}

// ---------------------------------------------------------------------------
// from_binary_data(s)

/// `from_binary_data(s)` -> Message | Bundle | `nil, error`.
unsafe fn from_binary_data_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let Some(data) = string_at(l, 1) else {
        return Err(type_error(l, 1, "string"));
    };
    let (ud_index, ud) = alloc(l);
    let decoded = guard(|| match Packet::decode(data) {
        Ok(p) => {
            let kind = match p {
                Packet::Message(_) => Kind::Message,
                Packet::Bundle(_) => Kind::Bundle,
            };
            // The bytes it came from: forwarding sends exactly those.
            match owned(data) {
                Ok(bytes) => Ok((kind, new_obj(p, bytes))),
                Err(m) => Err(NotMade::NoMemory(Msg::of(m))),
            }
        }
        Err(e) => Err(NotMade::of(e)),
    })?;
    match decoded {
        Ok((kind, obj)) => {
            finish(l, ud_index, ud, kind, obj);
            Ok(1)
        }
        Err(NotMade::Bad(m)) => Ok(push_failure(l, &m)),
        // No memory says nothing about the data: raised, as Lua's own.
        Err(NotMade::NoMemory(m)) => Err(Fail::Error(m)),
    }
}

// ---------------------------------------------------------------------------
// Properties and methods

/// `m:to_binary_data()`: the same string as `m.binary_data`.
unsafe fn to_binary_data_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let (_, o) = this(l)?;
    push_bytes(l, &o.bytes);
    Ok(1)
}

/// Pushes `{tag = "x", value = v}` for each argument, as an array.
unsafe fn push_arguments(l: *mut lua_State, args: &[Arg]) {
    ffi::lua_createtable(l, args.len().min(c_int::MAX as usize) as c_int, 0);
    for (i, arg) in args.iter().enumerate() {
        ffi::lua_createtable(l, 0, 2);
        let tag = [arg.kind().as_byte()];
        push_bytes(l, &tag);
        ffi::lua_setfield(l, -2, c"tag".as_ptr());
        let has_value = match arg {
            Arg::Int(v) => {
                ffi::lua_pushinteger(l, *v as ffi::lua_Integer);
                true
            }
            Arg::Long(v) => {
                push_long(l, *v);
                true
            }
            Arg::Float(v) => {
                ffi::lua_pushnumber(l, (*v).into());
                true
            }
            Arg::Double(v) | Arg::Time(v) => {
                ffi::lua_pushnumber(l, *v);
                true
            }
            Arg::String(v) | Arg::Symbol(v) | Arg::Blob(v) => {
                push_bytes(l, v);
                true
            }
            Arg::Char(c) => {
                push_bytes(l, &[*c]);
                true
            }
            Arg::Color(v) | Arg::Midi(v) => {
                // Lua 5.1's `lua_Integer` is `ptrdiff_t`, too small for a
                // `u32` on 32-bit targets; its numbers are doubles anyway.
                #[cfg(any(feature = "lua54", feature = "embed54"))]
                ffi::lua_pushinteger(l, (*v).into());
                #[cfg(not(any(feature = "lua54", feature = "embed54")))]
                ffi::lua_pushnumber(l, f64::from(*v));
                true
            }
            Arg::True | Arg::False => {
                ffi::lua_pushboolean(l, matches!(arg, Arg::True) as c_int);
                true
            }
            Arg::Nil | Arg::Inf => false,
        };
        if has_value {
            ffi::lua_setfield(l, -2, c"value".as_ptr());
        }
        ffi::lua_rawseti(l, -2, (i + 1) as _);
    }
}

/// An `h` value: a Lua 5.4 integer, or in 5.1 / LuaJIT the nearest double
/// (exact up to 2^53).
unsafe fn push_long(l: *mut lua_State, v: i64) {
    #[cfg(any(feature = "lua54", feature = "embed54"))]
    ffi::lua_pushinteger(l, v);
    #[cfg(not(any(feature = "lua54", feature = "embed54")))]
    ffi::lua_pushnumber(l, v as f64);
}

/// Pushes the elements of a bundle as new objects, in an array. `parent`
/// is the bundle's stack index (it keeps `elements` alive).
unsafe fn push_elements(l: *mut lua_State, elements: &[Packet]) -> Result<(), Fail> {
    ffi::lua_createtable(l, elements.len().min(c_int::MAX as usize) as c_int, 0);
    let array = ffi::lua_gettop(l);
    for (i, p) in elements.iter().enumerate() {
        let (ud_index, ud) = alloc(l);
        let kind = match p {
            Packet::Message(_) => Kind::Message,
            Packet::Bundle(_) => Kind::Bundle,
        };
        match guard(|| encode(p.clone()))? {
            Ok(obj) => finish(l, ud_index, ud, kind, obj),
            Err(NotMade::Bad(m) | NotMade::NoMemory(m)) => return Err(Fail::Error(m)),
        }
        ffi::lua_rawseti(l, array, (i + 1) as _);
    }
    Ok(())
}

/// `__index`: `to_binary_data`, then the properties of each class; any
/// other key reads as `nil`.
unsafe fn index_body(l: *mut lua_State) -> Result<c_int, Fail> {
    ffi::lua_pushvalue(l, 2);
    if ffi::lua_rawget(l, ffi::lua_upvalueindex(3)) != ffi::LUA_TNIL {
        return Ok(1);
    }
    ffi::lua_pop(l, 1);
    let (_, o) = this(l)?;
    let key = string_at(l, 2).unwrap_or_default();
    match (&o.packet, key) {
        (_, b"binary_data") => push_bytes(l, &o.bytes),
        (Packet::Message(m), b"pattern") => push_bytes(l, &m.pattern),
        (Packet::Message(m), b"arguments") => push_arguments(l, &m.args),
        (Packet::Bundle(b), b"timetag") => ffi::lua_pushnumber(l, b.timetag),
        (Packet::Bundle(b), b"elements") => push_elements(l, &b.elements)?,
        _ => ffi::lua_pushnil(l),
    }
    Ok(1)
}

/// `__newindex`: every field is read-only, and objects take no new fields.
unsafe fn newindex_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let name = match kind_of(l, 1) {
        Some(k) => k.name(),
        None => "Message",
    };
    let properties: &[&str] = if name == "Message" {
        &["pattern", "arguments", "binary_data"]
    } else {
        &["timetag", "elements", "binary_data"]
    };
    Err(read_only_field(l, name, properties, &["to_binary_data"]))
}

/// `tostring(m)`: `/pattern ,ifs 1 2.5 "x"`; `#bundle 1.5 [/a ,i 1; /b ,]`.
/// The text is made once and kept in the object, so nothing owned is alive
/// while it is pushed.
unsafe fn tostring_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let Some((_, o)) = object(l, 1) else {
        return match kind_of(l, 1) {
            Some(k) => {
                Msg::of(format_args!("{}(finalised)", k.name())).push(l);
                Ok(1)
            }
            None => Err(type_error(l, 1, "Message or Bundle")),
        };
    };
    if o.text.is_none() {
        let packet = &o.packet;
        o.text = Some(guard(|| packet.to_string().into_boxed_str())?);
    }
    if let Some(t) = &o.text {
        push_bytes(l, t.as_bytes());
    }
    Ok(1)
}

/// `__gc`: frees the packet and its bytes.
unsafe extern "C-unwind" fn gc(l: *mut lua_State) -> c_int {
    if kind_of(l, 1).is_some() {
        let ud = &mut *ffi::lua_touserdata(l, 1).cast::<Ud>();
        let obj = ud.obj.take();
        let _ = guard(move || drop(obj));
    }
    0
}

// ---------------------------------------------------------------------------
// type()

/// The global `type` after `install()`: `"Message"` / `"Bundle"` for our
/// objects, otherwise whatever the wrapped `type` (upvalue 1) says.
unsafe fn type_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let n = ffi::lua_gettop(l);
    if n == 0 {
        return Err(Fail::arg(1, "value expected"));
    }
    if let Some(kind) = kind_of(l, 1) {
        ffi::lua_pushstring(l, kind.cname().as_ptr());
        return Ok(1);
    }
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, n, ffi::LUA_MULTRET);
    Ok(ffi::lua_gettop(l))
}

/// Makes the global `type` (in the globals table at `globals`) name our
/// objects, wrapping the current `type` once: a `type` that already is our
/// wrapper is left alone, so `install()` may run any number of times.
/// Raw access, as for `renoise`.
pub(crate) unsafe fn wrap_type(l: *mut lua_State, globals: c_int) {
    ffi::lua_pushstring(l, c"type".as_ptr());
    ffi::lua_rawget(l, globals);
    let ours = ffi::lua_tocfunction(l, -1)
        .is_some_and(|f| std::ptr::fn_addr_eq(f, type_wrapper as lua_CFunction));
    if ours || ffi::lua_type(l, -1) != ffi::LUA_TFUNCTION {
        ffi::lua_pop(l, 1);
        return;
    }
    ffi::lua_pushcclosure(l, type_wrapper, 1);
    ffi::lua_pushstring(l, c"type".as_ptr());
    ffi::lua_insert(l, -2);
    ffi::lua_rawset(l, globals);
}
