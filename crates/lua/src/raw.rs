//! Helpers on the raw Lua C API shared by every function of the module.
//!
//! # Raising errors without Rust destructors in the way
//!
//! `lua_error` does not return: in PUC Lua it `longjmp`s, in LuaJIT (x64) it
//! unwinds with its own foreign exception. Either way it passes over the
//! Rust frames between it and the Lua call that is protected. Rust allows
//! that (our functions use the `"C-unwind"` ABI) only over frames that own
//! nothing with a destructor: such a value would be skipped, at best
//! leaking, at worst leaving state broken. So every function of this module
//! works in two steps:
//!
//! 1. an inner function does the work and returns `Result<c_int, Fail>`.
//!    It owns Strings, core errors and the like, and drops them all before
//!    it returns. [`Fail`] and [`Msg`] are plain bytes with no destructor.
//! 2. the `extern "C-unwind"` function the Lua state calls matches the
//!    result and, on `Err`, calls [`raise`], which pushes the message and
//!    calls `lua_error`. Nothing on the way has a destructor.
//!
//! Lua API calls that can raise by themselves (allocation: pushing a string,
//! creating a table or userdata; in Lua 5.1 a garbage-collection step may
//! also run a `__gc` that raises) are made only while no value with a
//! destructor is alive either: results are first converted to a borrowed
//! slice or a [`Msg`].
//!
//! Rust code that could panic (the core) runs inside `catch_unwind`
//! ([`guard`]), and never calls into Lua from inside it, so a Lua error
//! never passes through `catch_unwind` and a panic never reaches Lua.

use mlua::ffi::{self, lua_State};
use std::ffi::{c_char, c_int, CStr};
use std::fmt::{self, Write};
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A message built on the stack: formatting into it never allocates and it
/// needs no destructor, so it may be alive when Lua raises. Text past its
/// capacity is cut (with `...`). `repr(C)`: the LuaJIT shim's `Out` holds
/// one, at offsets its own struct declares.
#[repr(C)]
pub(crate) struct Msg {
    buf: [u8; 512],
    len: usize,
}

impl Msg {
    pub(crate) fn new() -> Msg {
        Msg {
            buf: [0; 512],
            len: 0,
        }
    }

    /// A message from anything that displays.
    pub(crate) fn of(d: impl fmt::Display) -> Msg {
        let mut m = Msg::new();
        let _ = write!(m, "{d}");
        m
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Pushes the message as a Lua string (may raise on out-of-memory).
    pub(crate) unsafe fn push(&self, l: *mut lua_State) {
        push_bytes(l, self.as_bytes());
    }
}

impl Write for Msg {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        if s.len() <= room {
            self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else if room > 0 {
            // Cut, marking the cut; never split a UTF-8 sequence.
            let keep = room.saturating_sub(3);
            let mut cut = keep.min(s.len());
            while cut > 0 && !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.buf[self.len..self.len + cut].copy_from_slice(&s.as_bytes()[..cut]);
            self.len += cut;
            let dots = (self.buf.len() - self.len).min(3);
            self.buf[self.len..self.len + dots].copy_from_slice(&b"..."[..dots]);
            self.len += dots;
        }
        Ok(())
    }
}

/// Bytes from Lua shown inside a message: at most 40, as `tostring` of an
/// OSC message shows text: UTF-8 as is, control characters escaped (`\n`,
/// `\0`, `\u{1b}`: a value cannot break the line or drive a terminal),
/// other bytes as `\xNN`.
pub(crate) struct Shown<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = &self.0[..self.0.len().min(40)];
        write!(f, "{}", renoise_socket::osc::Escaped(head))?;
        if self.0.len() > 40 {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// Why a call raises a Lua error.
pub(crate) enum Fail {
    /// A bad argument: the stack index (1 = self for methods) and what is
    /// wrong with it. Shown as Lua's `luaL_argerror` shows it.
    Arg(c_int, Msg),
    /// Any other error message (the position of the caller is prepended,
    /// as `luaL_error` does).
    Error(Msg),
}

impl Fail {
    pub(crate) fn arg(index: c_int, d: impl fmt::Display) -> Fail {
        Fail::Arg(index, Msg::of(d))
    }

    pub(crate) fn error(d: impl fmt::Display) -> Fail {
        Fail::Error(Msg::of(d))
    }

    /// What a panic in the core becomes (see [`guard`]).
    #[cold]
    pub(crate) fn internal() -> Fail {
        Fail::error("internal error in renoise_socket")
    }

    /// `"socket is closed"`.
    pub(crate) fn closed() -> Fail {
        Fail::error("socket is closed")
    }
}

/// Defines the `extern "C-unwind"` entry of a function whose body returns
/// `Result<c_int, Fail>`: all values of the body are dropped when it
/// returns, and only then is a `Fail` raised.
/// `method` marks functions documented as called with `:`.
macro_rules! lua_fn {
    ($name:ident, $lua_name:literal, $body:ident) => {
        $crate::raw::lua_fn!($name, $lua_name, $body, false);
    };
    ($name:ident, method $lua_name:literal, $body:ident) => {
        $crate::raw::lua_fn!($name, $lua_name, $body, true);
    };
    ($name:ident, $lua_name:literal, $body:ident, $method:literal) => {
        unsafe extern "C-unwind" fn $name(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
            match $body(l) {
                Ok(n) => n,
                Err(fail) => $crate::raw::raise(
                    l,
                    $crate::raw::Callee {
                        name: $lua_name,
                        method: $method,
                    },
                    fail,
                ),
            }
        }
    };
}
pub(crate) use lua_fn;

/// A function of the module, as argument errors name it.
#[derive(Clone, Copy)]
pub(crate) struct Callee {
    /// Its name in Lua (`"receive"`, `"create_client"`).
    pub(crate) name: &'static str,
    /// A method, documented as called with `:` (`client:receive(...)`).
    pub(crate) method: bool,
}

/// Raises `fail` as a Lua error from the C function `callee`.
///
/// # Safety
/// Must be called from a C function the Lua state `l` is running, with no
/// value that has a destructor alive in any Rust frame between here and
/// that function's entry (see the module docs).
pub(crate) unsafe fn raise(l: *mut lua_State, callee: Callee, fail: Fail) -> ! {
    let msg = match fail {
        Fail::Error(m) => m,
        Fail::Arg(index, extra) => arg_message(l, callee, index, &extra),
    };
    ffi::luaL_where(l, 1);
    msg.push(l);
    ffi::lua_concat(l, 2);
    ffi::lua_error(l)
}

/// The text of `luaL_argerror`: `bad argument #n to 'name' (extra)`, with
/// Lua's convention for methods (a call written `obj:name(...)` does not
/// count `self`, and a bad `self` is `calling 'name' on bad self (...)`).
///
/// Where Lua cannot tell how the function was called (through `pcall`, or
/// a tail call in LuaJIT) it would say `'?'` and count `self`; we use the
/// function's own name and number the arguments as documented, so the
/// message is the same in every interpreter.
unsafe fn arg_message(l: *mut lua_State, callee: Callee, index: c_int, extra: &Msg) -> Msg {
    let mut ar = MaybeUninit::<ffi::lua_Debug>::zeroed();
    let mut name: &[u8] = callee.name.as_bytes();
    let mut method = callee.method;
    if ffi::lua_getstack(l, 0, ar.as_mut_ptr()) != 0
        && ffi::lua_getinfo(l, c"n".as_ptr(), ar.as_mut_ptr()) != 0
    {
        let ar = ar.assume_init_ref();
        if !ar.name.is_null() {
            name = CStr::from_ptr(ar.name).to_bytes();
            method = !ar.namewhat.is_null() && CStr::from_ptr(ar.namewhat).to_bytes() == b"method";
        }
    }
    let name = String::from_utf8_lossy(name);
    let extra = String::from_utf8_lossy(extra.as_bytes());
    let n = if method { index - 1 } else { index };
    if n == 0 {
        Msg::of(format_args!("calling '{name}' on bad self ({extra})"))
    } else {
        Msg::of(format_args!("bad argument #{n} to '{name}' ({extra})"))
    }
}

/// Lua's name for the type of the value at `index`, as `luaL_typename`;
/// `"no value"` past the top. A value whose metatable has a string
/// `__name` (our own objects) is called by that name, as Lua 5.4 does.
pub(crate) unsafe fn type_name(l: *mut lua_State, index: c_int) -> Msg {
    let t = ffi::lua_type(l, index);
    if t == ffi::LUA_TUSERDATA && ffi::lua_getmetatable(l, index) != 0 {
        ffi::lua_pushstring(l, c"__name".as_ptr());
        ffi::lua_rawget(l, -2);
        let mut len = 0;
        let name = if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
            let p = ffi::lua_tolstring(l, -1, &mut len);
            Some(Msg::of(Shown(std::slice::from_raw_parts(p.cast(), len))))
        } else {
            None
        };
        ffi::lua_pop(l, 2);
        if let Some(n) = name {
            return n;
        }
    }
    let p: *const c_char = ffi::lua_typename(l, t);
    Msg::of(Shown(CStr::from_ptr(p).to_bytes()))
}

/// `"<what> expected, got <type>"`, the text of Lua's type errors.
pub(crate) unsafe fn type_error(l: *mut lua_State, index: c_int, what: &str) -> Fail {
    let got = type_name(l, index);
    let mut m = Msg::new();
    let _ = write!(m, "{what} expected, got ");
    let _ = m.write_str(&String::from_utf8_lossy(got.as_bytes()));
    if got.as_bytes() == what.as_bytes() {
        // Same class name, other metatable: the module was loaded again
        // (`package.loaded` cleared) and the object is of the other load.
        let _ = m.write_str(" of another load of the module");
    }
    Fail::Arg(index, m)
}

/// The bytes of the string at `index` (no coercion of numbers). The slice
/// lives as long as the string stays on the stack.
pub(crate) unsafe fn string_at<'a>(l: *mut lua_State, index: c_int) -> Option<&'a [u8]> {
    if ffi::lua_type(l, index) != ffi::LUA_TSTRING {
        return None;
    }
    let mut len = 0;
    let p = ffi::lua_tolstring(l, index, &mut len);
    Some(std::slice::from_raw_parts(p.cast(), len))
}

/// A Lua number as it was given: Lua 5.4 integers stay integers.
#[derive(Clone, Copy)]
pub(crate) enum Num {
    #[cfg_attr(not(any(feature = "lua54", feature = "embed54")), allow(dead_code))]
    Int(i64),
    Float(f64),
}

impl Num {
    /// The value when it is a whole number (an integral float such as
    /// `64.0` counts).
    pub(crate) fn whole(self) -> Option<i64> {
        match self {
            Num::Int(i) => Some(i),
            // 2^63 itself does not fit; everything below does.
            // (`as` truncates; unlike `fract` it needs no call into libm.)
            Num::Float(f) if f.abs() < 9.223_372_036_854_775e18 && (f as i64) as f64 == f => {
                Some(f as i64)
            }
            Num::Float(_) => None,
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Num::Int(i) => write!(f, "{i}"),
            Num::Float(x) if x.is_nan() => f.write_str("nan"),
            Num::Float(x) if x.is_infinite() => f.write_str(if x > 0.0 { "inf" } else { "-inf" }),
            Num::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => write!(f, "{}", x as i64),
            Num::Float(x) if x.abs() >= 1e15 || x.abs() < 1e-4 => write!(f, "{x:e}"),
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}

/// The number at `index`, if it is a number (strings are not converted).
#[inline]
pub(crate) unsafe fn number_at(l: *mut lua_State, index: c_int) -> Option<Num> {
    if ffi::lua_type(l, index) != ffi::LUA_TNUMBER {
        return None;
    }
    #[cfg(any(feature = "lua54", feature = "embed54"))]
    if ffi::lua_isinteger(l, index) != 0 {
        return Some(Num::Int(ffi::lua_tointeger(l, index)));
    }
    Some(Num::Float(ffi::lua_tonumber(l, index)))
}

/// A timeout in milliseconds at `index`: a number >= 0 (`math.huge` waits
/// forever). Returns the argument error otherwise.
#[inline]
pub(crate) unsafe fn timeout_at(
    l: *mut lua_State,
    index: c_int,
) -> Result<std::time::Duration, Fail> {
    if let Some(d) = number_at(l, index).and_then(millis) {
        return Ok(d);
    }
    Err(timeout_error(l, index))
}

/// [`timeout_at`] for `receive`, remembering the last value: programs pass
/// the same timeout call after call, and turning a float into a duration
/// is a chain of dependent float instructions (about 5% of a LuaJIT
/// receive of a 16-byte line).
#[inline(always)]
pub(crate) unsafe fn timeout_at_cached(
    l: *mut lua_State,
    index: c_int,
    last: &mut LastTimeout,
) -> Result<std::time::Duration, Fail> {
    if let Some(d) = number_at(l, index).and_then(|n| last.of(n)) {
        return Ok(d);
    }
    Err(timeout_error(l, index))
}

/// The last number a client passed for one argument, and what it turned
/// into: loops pass the same timeout and the same record size on every
/// call, and converting a float is a chain of dependent instructions.
#[derive(Debug, Clone, Copy)]
struct Remembered<T> {
    /// The number, tagged: integers (Lua 5.4) and floats differ.
    key: (bool, u64),
    value: T,
}

impl<T: Copy> Remembered<T> {
    /// Remembers `value` for `n` until another number comes.
    fn new(n: Num, value: T) -> Self {
        Remembered {
            key: Self::key(n),
            value,
        }
    }

    fn key(n: Num) -> (bool, u64) {
        match n {
            Num::Int(i) => (true, i as u64),
            Num::Float(f) => (false, f.to_bits()),
        }
    }

    /// `convert(n)`, from the last result when `n` is the same number.
    #[inline(always)]
    fn of(&mut self, n: Num, convert: impl FnOnce(Num) -> Option<T>) -> Option<T> {
        let key = Self::key(n);
        if key == self.key {
            return Some(self.value);
        }
        let value = convert(n)?;
        *self = Remembered { key, value };
        Some(value)
    }
}

/// The last timeout a client was given, as a number and as a duration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LastTimeout(Remembered<std::time::Duration>);

impl Default for LastTimeout {
    fn default() -> Self {
        LastTimeout(Remembered::new(Num::Float(0.0), std::time::Duration::ZERO))
    }
}

impl LastTimeout {
    /// `millis(n)`, from the last result when `n` is the same number.
    #[inline(always)]
    pub(crate) fn of(&mut self, n: Num) -> Option<std::time::Duration> {
        self.0.of(n, millis)
    }
}

/// The last size `n` of a client's `receive(n, ...)`, as a number and as
/// a count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LastSize(Remembered<usize>);

impl Default for LastSize {
    fn default() -> Self {
        // 0 is never a valid size: an empty cache answers nothing.
        LastSize(Remembered::new(Num::Float(0.0), 0))
    }
}

impl LastSize {
    /// `n` as a size between 1 and `max`, from the last conversion when
    /// `n` is the same number; `None` for anything else (the caller
    /// reports it).
    #[inline(always)]
    pub(crate) fn of(&mut self, n: Num, max: usize) -> Option<usize> {
        self.0
            .of(n, |n| usize::try_from(n.whole()?).ok())
            .filter(|&u| u >= 1 && u <= max)
    }
}

/// The argument error of a bad timeout.
#[cold]
#[inline(never)]
unsafe fn timeout_error(l: *mut lua_State, index: c_int) -> Fail {
    match number_at(l, index) {
        Some(n) => Fail::arg(
            index,
            format_args!("timeout must be a number of milliseconds >= 0, got {n}"),
        ),
        None => type_error(l, index, "number"),
    }
}

/// Milliseconds as a duration; `None` for negative or NaN values.
#[inline(always)]
pub(crate) fn millis(n: Num) -> Option<std::time::Duration> {
    use std::time::Duration;
    match n {
        Num::Int(i) => u64::try_from(i).ok().map(Duration::from_millis),
        // Whole milliseconds (the usual case) without float division. Through
        // i64, which x86-64 converts in one instruction each way (u64 takes
        // a dozen); the range check keeps the value far inside i64.
        Num::Float(f) if (0.0..9.0e15).contains(&f) && (f as i64) as f64 == f => {
            Some(Duration::from_millis(f as i64 as u64))
        }
        Num::Float(f) if f >= 0.0 => {
            Some(Duration::try_from_secs_f64(f / 1000.0).unwrap_or(Duration::MAX))
        }
        Num::Float(_) => None,
    }
}

/// Runs Rust code that must not unwind into Lua; a panic becomes an
/// ordinary error message. The closure must not call into Lua.
#[inline]
pub(crate) fn guard<R>(f: impl FnOnce() -> R) -> Result<R, Fail> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| Fail::internal())
}

/// [`guard`] for the hot path: `None` after a panic. Its result stays as
/// small as `R` (a `Fail` in it would make every call copy half a
/// kilobyte); turn `None` into [`Fail::internal`].
#[inline(always)]
pub(crate) fn guard_fast<R>(f: impl FnOnce() -> R) -> Option<R> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// Pushes `nil, message`, the shape of an expected failure; returns 2.
pub(crate) unsafe fn push_failure(l: *mut lua_State, msg: &Msg) -> c_int {
    ffi::lua_pushnil(l);
    msg.push(l);
    2
}

/// Tells the collector that `kib` KiB it cannot see are about to be held
/// by a new object (a socket's buffers and descriptors outside the Lua
/// heap), by doing the collection work that allocating them would have
/// caused. Without it Lua 5.4 paces its cycles by the small userdata
/// alone: a program that drops sockets without `close` held thousands of
/// descriptors and hundreds of MB before they were collected. Called first
/// thing in a function, while no Rust value is alive: a finalizer run by
/// the step may raise (Lua 5.1, LuaJIT).
pub(crate) unsafe fn collect_for(l: *mut lua_State, kib: c_int) {
    ffi::lua_gc(l, ffi::LUA_GCSTEP, kib);
}

/// Pushes the bytes as a Lua string.
///
/// For Lua 5.1 and LuaJIT this calls the C function directly: mlua's
/// `lua_pushlstring` there emulates Lua 5.4's (returning the new string's
/// address with an extra `lua_tolstring` call), which costs as much again
/// as the rest of a short `receive`.
#[inline]
pub(crate) unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    #[cfg(not(any(feature = "lua54", feature = "embed54")))]
    {
        // An empty slice may point anywhere; give Lua a real address.
        let p = if b.is_empty() {
            c"".as_ptr()
        } else {
            b.as_ptr().cast()
        };
        ffi::lua_pushlstring_(l, p, b.len());
    }
    #[cfg(any(feature = "lua54", feature = "embed54"))]
    ffi::lua_pushlstring(l, b.as_ptr().cast(), b.len());
}

/// Sets each `(name, f)` of `fields` in the table at `table`, as the
/// closure `push_closure(f)` pushes (the class's upvalues over `f`).
pub(crate) unsafe fn set_functions(
    l: *mut lua_State,
    table: c_int,
    fields: &[(&CStr, ffi::lua_CFunction)],
    push_closure: impl Fn(ffi::lua_CFunction),
) {
    let table = ffi::lua_absindex(l, table);
    for &(name, f) in fields {
        push_closure(f);
        ffi::lua_setfield(l, table, name.as_ptr());
    }
}

/// Fills the class metatable at `mt` of an object class: a methods table
/// that `index` (a closure over the metatable and that table) reads
/// fields and methods through, the metamethods, and the class name. Every
/// method and metamethod is the closure `push_closure` pushes. Leaves the
/// methods table on top of the stack, for the caller to extend and pop.
pub(crate) unsafe fn fill_class(
    l: *mut lua_State,
    mt: c_int,
    name: &CStr,
    methods: &[(&CStr, ffi::lua_CFunction)],
    index: ffi::lua_CFunction,
    meta: &[(&CStr, ffi::lua_CFunction)],
    push_closure: impl Fn(ffi::lua_CFunction) + Copy,
) {
    let mt = ffi::lua_absindex(l, mt);
    ffi::lua_createtable(l, 0, methods.len() as c_int);
    let table = ffi::lua_gettop(l);
    set_functions(l, table, methods, push_closure);
    ffi::lua_pushvalue(l, mt);
    ffi::lua_pushvalue(l, table);
    ffi::lua_pushcclosure(l, index, 2);
    ffi::lua_setfield(l, mt, c"__index".as_ptr());
    set_functions(l, mt, meta, push_closure);
    set_class_name(l, mt, name);
}

/// Names the class of the metatable at `mt`: `__name` for error messages
/// and `__metatable`, which hides the metatable from `getmetatable`.
pub(crate) unsafe fn set_class_name(l: *mut lua_State, mt: c_int, name: &CStr) {
    let mt = ffi::lua_absindex(l, mt);
    for key in [c"__name", c"__metatable"] {
        ffi::lua_pushstring(l, name.as_ptr());
        ffi::lua_setfield(l, mt, key.as_ptr());
    }
}

/// The error of a `__newindex`: every field of our objects is read-only and
/// objects take no new fields. The key at stack index 2 is named in the
/// message.
pub(crate) unsafe fn read_only_field(
    l: *mut lua_State,
    class: &str,
    properties: &[&str],
    methods: &[&str],
) -> Fail {
    let key = match string_at(l, 2) {
        Some(k) => Msg::of(Shown(k)),
        None => match number_at(l, 2) {
            Some(n) => Msg::of(n),
            // A key of another type (a boolean, a table) by its type.
            None => {
                let t = type_name(l, 2);
                let mut m = Msg::new();
                let _ = write!(m, "<{}>", String::from_utf8_lossy(t.as_bytes()));
                m
            }
        },
    };
    let key = String::from_utf8_lossy(key.as_bytes());
    if properties.contains(&&*key) {
        Fail::error(format_args!("property '{key}' of {class} is read-only"))
    } else if methods.contains(&&*key) {
        Fail::error(format_args!("cannot replace method '{key}' of {class}"))
    } else {
        Fail::error(format_args!(
            "{class} has no field '{key}' (objects take no new fields)"
        ))
    }
}

/// Whether a copy marked in flight by the Lua thread `marker` (null: not
/// known) with a function that `is` recognises may still be running. Only
/// its own thread can tell, by its frames. From `marker` itself the frames
/// decide. The main thread runs only while no coroutine is inside a call,
/// so a mark of another thread, or of an unknown one that the main
/// thread's frames do not show, is stale there. From a coroutine, a mark
/// of the main thread (`main`, when known; null: not known) is read from
/// the main thread's frames, which live as long as the state; a mark of
/// another or an unknown thread is taken as live: that thread may have
/// resumed this one (a finalizer may resume a coroutine), and a
/// coroutine's frames cannot be read once it may be gone.
pub(crate) unsafe fn copy_in_flight(
    l: *mut lua_State,
    marker: *mut lua_State,
    main: *mut lua_State,
    is: impl Fn(*mut lua_State) -> bool,
) -> bool {
    if marker == l {
        return frame_running(l, is);
    }
    if !is_main_thread(l) {
        if !marker.is_null() && marker == main {
            return frame_running(main, is);
        }
        return true;
    }
    marker.is_null() && frame_running(l, is)
}

/// The main thread of `l`'s state, if it can be known from `l`: Lua 5.4
/// keeps it in the registry; in Lua 5.1 and LuaJIT only a call from the
/// main thread itself can tell.
pub(crate) unsafe fn main_thread(l: *mut lua_State) -> Option<*mut lua_State> {
    #[cfg(any(feature = "lua54", feature = "embed54"))]
    {
        ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, ffi::LUA_RIDX_MAINTHREAD);
        let main = ffi::lua_tothread(l, -1);
        ffi::lua_pop(l, 1);
        (!main.is_null()).then_some(main)
    }
    #[cfg(not(any(feature = "lua54", feature = "embed54")))]
    {
        is_main_thread(l).then_some(l)
    }
}

/// Whether `l` is the main thread of its Lua state.
pub(crate) unsafe fn is_main_thread(l: *mut lua_State) -> bool {
    let main = ffi::lua_pushthread(l) == 1;
    ffi::lua_pop(l, 1);
    main
}

/// Whether a function that `is` recognises (given the function on top of
/// the stack) is running in a frame above the current one, on this Lua
/// thread. For rare checks only: it walks the whole call stack.
pub(crate) unsafe fn frame_running(l: *mut lua_State, is: impl Fn(*mut lua_State) -> bool) -> bool {
    if ffi::lua_checkstack(l, 4) == 0 {
        return true; // cannot look: assume it is
    }
    let mut ar = MaybeUninit::<ffi::lua_Debug>::zeroed();
    let mut level = 1;
    while ffi::lua_getstack(l, level, ar.as_mut_ptr()) != 0 {
        if ffi::lua_getinfo(l, c"f".as_ptr(), ar.as_mut_ptr()) != 0 {
            let hit = is(l);
            ffi::lua_pop(l, 1);
            if hit {
                return true;
            }
        }
        level += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_last_size_is_remembered_and_only_valid_sizes_are() {
        let mut last = LastSize::default();
        // The empty cache's key is 0.0: still no size.
        assert_eq!(last.of(Num::Float(0.0), 100), None);
        assert_eq!(last.of(Num::Float(64.0), 100), Some(64));
        assert_eq!(last.of(Num::Float(64.0), 100), Some(64));
        assert_eq!(last.of(Num::Int(64), 100), Some(64));
        // The cached size must still respect a smaller maximum.
        assert_eq!(last.of(Num::Int(64), 10), None);
        for bad in [0.0, -0.0, -1.0, 0.5, 64.5, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(last.of(Num::Float(bad), 100), None, "{bad}");
        }
        assert_eq!(last.of(Num::Int(0), 100), None);
        assert_eq!(last.of(Num::Int(-5), 100), None);
        assert_eq!(last.of(Num::Int(101), 100), None);
        assert_eq!(last.of(Num::Float(100.0), 100), Some(100));
    }

    #[test]
    fn the_last_timeout_is_remembered_per_number_not_per_call() {
        let mut last = LastTimeout::default();
        let ms = Duration::from_millis;
        assert_eq!(last.of(Num::Float(0.0)), Some(ms(0)));
        assert_eq!(last.of(Num::Float(250.0)), Some(ms(250)));
        assert_eq!(last.of(Num::Float(250.0)), Some(ms(250)));
        assert_eq!(last.of(Num::Int(250)), Some(ms(250)));
        assert_eq!(last.of(Num::Int(0)), Some(ms(0)));
        // A bad value is refused and leaves the remembered one alone.
        assert_eq!(last.of(Num::Float(-1.0)), None);
        assert_eq!(last.of(Num::Float(f64::NAN)), None);
        assert_eq!(last.of(Num::Int(0)), Some(ms(0)));
        assert_eq!(last.of(Num::Float(0.5)), Some(Duration::from_micros(500)));
        assert_eq!(last.of(Num::Float(1000.0)), Some(ms(1000)));
        assert_eq!(last.of(Num::Float(0.0)), Some(ms(0)));
        assert_eq!(last.of(Num::Float(f64::INFINITY)), Some(Duration::MAX));
    }
}
