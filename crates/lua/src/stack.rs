//! Lua 5.1 and 5.4 on 64-bit little-endian targets: a C function's
//! arguments read straight from its stack frame, for `receive`'s hot
//! path.
//!
//! Each `lua_type`, `lua_tonumber`, `lua_rawequal` is a call through the
//! PLT that first turns an index into an address. Checking `receive`'s
//! three arguments took a dozen of them: about 210 instructions of the
//! 1,650 that a 64-byte record costs the whole `lua5.1` process, and 280
//! of 1,300 under `lua5.4` (callgrind), more than the module's own code.
//! Lua 5.1.5 and Lua 5.4's stack values and objects have one layout on
//! every 64-bit platform with the default `luaconf.h`; this file mirrors
//! the few fields it reads, and checks the mirror against the C API when
//! the module opens ([`verify`]). If anything differs (another build,
//! another number type, a Lua version whose objects moved), [`args`]
//! answers `None` for the rest of the process and every call takes the C
//! API, as before.
//!
//! Only plain reads: nothing here writes to the Lua state. Built only
//! where `build.rs` sets `cfg(stack_args)`: Lua 5.1 or 5.4, 64-bit,
//! little-endian.

use crate::raw::Num;
use mlua::ffi::{self, lua_State};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU8, Ordering};

/// A stack value (`TValue`): the value, then its type tag (a C `int` in
/// Lua 5.1, a byte in 5.4, which the little-endian low byte of `tt`
/// holds; [`TAG_MASK`] keeps only that byte there).
#[repr(C)]
pub(crate) struct Value {
    bits: u64,
    tt: u32,
}

/// Where this version keeps things, and its type tags.
#[cfg(any(feature = "lua51", feature = "embed51"))]
mod layout {
    /// `lua_State`: the stack's `top`, the running function's `base`.
    pub const TOP_AT: usize = 16;
    pub const BASE_AT: usize = 24;
    pub const TAG_MASK: u32 = u32::MAX;
    pub const NUMBER: u32 = 3;
    pub const STRING: u32 = 4;
    pub const TABLE: u32 = 5;
    pub const FUNCTION: u32 = 6;
    pub const USERDATA: u32 = 7;
    /// `Udata`: its metatable, its length; the block follows the header.
    pub const UDATA_METATABLE_AT: usize = 16;
    pub const UDATA_LEN_AT: usize = 32;
    /// `TString`: its length; the bytes follow the header.
    pub const TSTRING_LEN_AT: usize = 16;
    pub const TSTRING_SIZE: usize = 24;
    /// `CClosure`: `upvalue[0]`.
    pub const UPVALUES_AT: usize = 40;
    /// The block of a userdata at `u`.
    pub unsafe fn udata_block(u: *const u8) -> *const u8 {
        u.add(40)
    }
}

#[cfg(any(feature = "lua54", feature = "embed54"))]
mod layout {
    /// `lua_State`: the stack's `top`, the running `CallInfo`, whose
    /// first field is the running function (its arguments follow it).
    pub const TOP_AT: usize = 16;
    pub const CI_AT: usize = 32;
    pub const TAG_MASK: u32 = 0xff;
    /// Variant tags, with the collectable bit (`1 << 6`) where it is set.
    pub const INTEGER: u32 = 0x03;
    pub const NUMBER: u32 = 0x13;
    pub const SHORT_STRING: u32 = 0x44;
    pub const LONG_STRING: u32 = 0x54;
    pub const TABLE: u32 = 0x45;
    pub const C_CLOSURE: u32 = 0x66;
    pub const USERDATA: u32 = 0x47;
    /// `Udata`: the number of user values, its length, its metatable.
    pub const UDATA_NUVALUE_AT: usize = 10;
    pub const UDATA_LEN_AT: usize = 16;
    pub const UDATA_METATABLE_AT: usize = 24;
    /// `TString`: a short string's length (a byte), a long one's; the
    /// bytes follow the header.
    pub const TSTRING_SHRLEN_AT: usize = 11;
    pub const TSTRING_LEN_AT: usize = 16;
    pub const TSTRING_SIZE: usize = 24;
    /// `CClosure`: `upvalue[0]`.
    pub const UPVALUES_AT: usize = 32;
    /// The block of a userdata at `u`: after the user values, or right
    /// after the header when there are none (`udatamemoffset`).
    pub unsafe fn udata_block(u: *const u8) -> *const u8 {
        match u.add(UDATA_NUVALUE_AT).cast::<u16>().read() {
            0 => u.add(32),
            n => u.add(40 + 16 * n as usize),
        }
    }
}

use layout::*;

const _: () = assert!(std::mem::size_of::<Value>() == 16);

/// 0: not checked yet; 1: the layout matched; 2: it did not (once in any
/// state of the process: never used again).
static LAYOUT: AtomicU8 = AtomicU8::new(0);

impl Value {
    #[inline(always)]
    fn tag(&self) -> u32 {
        self.tt & TAG_MASK
    }

    /// The number, if this is one.
    #[inline(always)]
    pub(crate) fn number(&self) -> Option<Num> {
        #[cfg(any(feature = "lua54", feature = "embed54"))]
        if self.tag() == INTEGER {
            return Some(Num::Int(self.bits as i64));
        }
        (self.tag() == NUMBER).then(|| Num::Float(f64::from_bits(self.bits)))
    }

    /// The bytes, if this is a string.
    ///
    /// # Safety
    /// `self` must be a live stack value of a state whose layout [`verify`]
    /// accepted; the bytes live as long as the value stays on the stack.
    #[inline(always)]
    pub(crate) unsafe fn string<'a>(&self) -> Option<&'a [u8]> {
        let ts = self.bits as usize as *const u8;
        #[cfg(any(feature = "lua51", feature = "embed51"))]
        let len = match self.tag() {
            STRING => ts.add(TSTRING_LEN_AT).cast::<usize>().read(),
            _ => return None,
        };
        #[cfg(any(feature = "lua54", feature = "embed54"))]
        let len = match self.tag() {
            SHORT_STRING => usize::from(ts.add(TSTRING_SHRLEN_AT).read()),
            LONG_STRING => ts.add(TSTRING_LEN_AT).cast::<usize>().read(),
            _ => return None,
        };
        Some(std::slice::from_raw_parts(ts.add(TSTRING_SIZE), len))
    }

    /// The block of a full userdata whose metatable is `mt`.
    ///
    /// # Safety
    /// As for [`Value::string`].
    #[inline(always)]
    pub(crate) unsafe fn userdata_with(&self, mt: *const c_void) -> Option<*mut c_void> {
        if self.tag() != USERDATA {
            return None;
        }
        let u = self.bits as usize as *const u8;
        let its = u.add(UDATA_METATABLE_AT).cast::<*const c_void>().read();
        (its == mt).then(|| udata_block(u).cast_mut().cast())
    }

    /// The first upvalue of a C closure.
    ///
    /// # Safety
    /// `self` must be the running C closure of ours (it has one).
    #[inline(always)]
    unsafe fn first_upvalue<'a>(&self) -> &'a Value {
        let closure = self.bits as usize as *const u8;
        &*closure.add(UPVALUES_AT).cast::<Value>()
    }
}

/// The pointer a table value holds (its `Table`), as `lua_topointer`
/// gives it: what a userdata's metatable field is compared with.
#[inline(always)]
pub(crate) fn table_of(v: &Value) -> Option<*const c_void> {
    (v.tag() == TABLE).then_some(v.bits as usize as *const c_void)
}

/// Where the running C function's own stack value is, and the stack's
/// top: fields of `lua_State` (and, in Lua 5.4, of the running `CallInfo`
/// it points to). Addresses only: nothing on the stack is read yet.
#[inline(always)]
unsafe fn frame_bounds(l: *mut lua_State) -> (*const Value, *const Value) {
    let state = l.cast::<u8>();
    let top = state.add(TOP_AT).cast::<*const Value>().read();
    #[cfg(any(feature = "lua51", feature = "embed51"))]
    let func = state.add(BASE_AT).cast::<*const Value>().read().sub(1);
    #[cfg(any(feature = "lua54", feature = "embed54"))]
    let func = state.add(CI_AT).cast::<*const *const Value>().read().read();
    (func, top)
}

/// The running C function's frame: its own stack value and the arguments
/// after it.
#[inline(always)]
unsafe fn frame<'a>(l: *mut lua_State) -> (&'a Value, &'a [Value]) {
    let (func, top) = frame_bounds(l);
    let base = func.add(1);
    let n = (top as usize).wrapping_sub(base as usize) / std::mem::size_of::<Value>();
    (&*func, std::slice::from_raw_parts(base, n))
}

/// The arguments of the running C function and its first upvalue, when
/// the layout was verified.
///
/// # Safety
/// Must be called from a C closure of ours (at least one upvalue), run by
/// `l`.
#[inline(always)]
pub(crate) unsafe fn args<'a>(l: *mut lua_State) -> Option<(&'a [Value], &'a Value)> {
    if LAYOUT.load(Ordering::Relaxed) != 1 {
        return None;
    }
    let (func, args) = frame(l);
    Some((args, func.first_upvalue()))
}

/// Checks the mirror against the C API, once per process (a state opened
/// later only repeats a check that passed). Calls a probe closure with an
/// upvalue, a userdata with a metatable, a number and a string, and
/// compares what the probe reads directly with what the API says. Every
/// pointer is compared with the API's before it is followed.
///
/// # Safety
/// `l` must be a state of the Lua this module is built for, with room for
/// a few values, in a protected call (a Lua error may pass through: this
/// frame holds nothing to drop).
pub(crate) unsafe fn verify(l: *mut lua_State) {
    if LAYOUT.load(Ordering::Relaxed) == 2 {
        return;
    }
    let top = ffi::lua_gettop(l);
    ffi::lua_createtable(l, 0, 0); // the metatable, also the upvalue
    ffi::lua_pushvalue(l, -1);
    ffi::lua_pushcclosure(l, probe, 1);
    // Made as the module makes its objects.
    ffi::lua_newuserdata(l, 24);
    ffi::lua_pushvalue(l, top + 1);
    ffi::lua_setmetatable(l, -2);
    ffi::lua_pushnumber(l, -1234.5);
    ffi::lua_pushlstring(l, b"*li\0ne".as_ptr().cast(), 6);
    ffi::lua_pushvalue(l, top + 2); // the probe, as its own 4th argument

    // Not protected: the probe itself cannot raise, and an error raised
    // around it (out of memory, a debug hook's) is the opening's, as it
    // would be at any other allocation or call of the opening (a
    // protected call would swallow it, and turn the reads off for good
    // over something that says nothing about the layout).
    ffi::lua_call(l, 4, 1);
    let ok = ffi::lua_toboolean(l, -1) != 0;
    ffi::lua_settop(l, top);
    // A failure anywhere wins over a success elsewhere.
    if ok {
        let _ = LAYOUT.compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed);
    } else {
        LAYOUT.store(2, Ordering::Relaxed);
    }
}

/// The probe of [`verify`]: returns whether every direct read agrees with
/// the C API. Reads nothing through a pointer that the API has not
/// confirmed.
unsafe extern "C-unwind" fn probe(l: *mut lua_State) -> c_int {
    let ok = probe_body(l);
    ffi::lua_pushboolean(l, ok as c_int);
    1
}

unsafe fn probe_body(l: *mut lua_State) -> bool {
    // The frame's addresses are fields of `lua_State` (in 5.4, of the
    // `CallInfo` it points to as well: a live struct in either layout).
    // Plausible only if they agree with `lua_gettop` to the byte.
    #[cfg(any(feature = "lua54", feature = "embed54"))]
    if l.cast::<u8>()
        .add(CI_AT)
        .cast::<*const u8>()
        .read()
        .is_null()
    {
        return false;
    }
    let (func, top) = frame_bounds(l);
    let size = std::mem::size_of::<Value>();
    if ffi::lua_gettop(l) != 4 || (top as usize).wrapping_sub(func as usize) != 5 * size {
        return false;
    }
    let (func, v) = frame(l);
    let types = [
        ffi::LUA_TUSERDATA,
        ffi::LUA_TNUMBER,
        ffi::LUA_TSTRING,
        ffi::LUA_TFUNCTION,
    ];
    if (1..=4).zip(types).any(|(i, t)| ffi::lua_type(l, i) != t) {
        return false;
    }
    #[cfg(any(feature = "lua51", feature = "embed51"))]
    let tags = [USERDATA, NUMBER, STRING, FUNCTION];
    #[cfg(any(feature = "lua54", feature = "embed54"))]
    let tags = [USERDATA, NUMBER, SHORT_STRING, C_CLOSURE];
    if v.iter().zip(tags).any(|(value, tag)| value.tag() != tag) {
        return false;
    }
    // The called function is the probe passed as argument 4.
    if func.tag() != tags[3] || func.bits != v[3].bits {
        return false;
    }
    let closure = func.bits as usize;
    if closure != ffi::lua_topointer(l, 4) as usize || ffi::lua_iscfunction(l, 4) == 0 {
        return false;
    }
    let mt = ffi::lua_topointer(l, ffi::lua_upvalueindex(1));
    if mt.is_null() || table_of(func.first_upvalue()) != Some(mt) {
        return false;
    }
    // The userdata: its block where `lua_touserdata` says, then its
    // length and metatable (the upvalue).
    let u = v[0].bits as usize as *const u8;
    if udata_block(u) != ffi::lua_touserdata(l, 1).cast::<u8>().cast_const()
        || u.add(UDATA_LEN_AT).cast::<usize>().read() != 24
    {
        return false;
    }
    if v[0].userdata_with(mt).is_none() || v[0].userdata_with(std::ptr::null()).is_some() {
        return false;
    }
    if !matches!(v[1].number(), Some(Num::Float(f)) if f == -1234.5)
        || ffi::lua_tonumber(l, 2) != -1234.5
    {
        return false;
    }
    let mut len = 0;
    let p = ffi::lua_tolstring(l, 3, &mut len);
    if v[2].bits as usize + TSTRING_SIZE != p as usize || len != 6 {
        return false;
    }
    v[2].string() == Some(&b"*li\0ne"[..])
}

/// Run with `cargo test -p renoise-socket-lua --features lua51` (or
/// `lua54`): links the system's Lua, as `tests/threads.rs` does.
#[cfg(all(test, any(feature = "lua51", feature = "lua54")))]
mod tests {
    use super::*;

    #[cfg_attr(feature = "lua51", link(name = "lua5.1"))]
    #[cfg_attr(feature = "lua54", link(name = "lua5.4"))]
    extern "C" {
        fn luaL_newstate() -> *mut lua_State;
        fn lua_close(l: *mut lua_State);
    }

    /// Calls `f` (a C closure with the table at index 1 as its upvalue)
    /// with a userdata whose metatable is that table, then what `rest`
    /// pushes; returns its boolean result.
    unsafe fn call_with(
        l: *mut lua_State,
        f: ffi::lua_CFunction,
        rest: impl FnOnce(*mut lua_State) -> c_int,
    ) -> bool {
        ffi::lua_settop(l, 0);
        ffi::lua_createtable(l, 0, 0);
        ffi::lua_pushvalue(l, 1);
        ffi::lua_pushcclosure(l, f, 1);
        ffi::lua_newuserdata(l, 24);
        ffi::lua_pushvalue(l, 1);
        ffi::lua_setmetatable(l, -2);
        let n = rest(l);
        assert_eq!(ffi::lua_pcall(l, 1 + n, 1, 0), 0);
        ffi::lua_toboolean(l, -1) != 0
    }

    /// What `args` gives agrees with the C API.
    unsafe extern "C-unwind" fn reader(l: *mut lua_State) -> c_int {
        let ok = match args(l) {
            Some((v, upvalue)) => {
                let mt = table_of(upvalue);
                v.len() == 5
                    && mt == Some(ffi::lua_topointer(l, ffi::lua_upvalueindex(1)))
                    && v[0].userdata_with(mt.unwrap()) == Some(ffi::lua_touserdata(l, 1))
                    && v[0].userdata_with(std::ptr::null()).is_none()
                    && matches!(v[1].number(), Some(Num::Float(f)) if f == 64.5)
                    && v[1].string().is_none()
                    && v[2].string() == Some(&b"*l"[..])
                    && v[2].number().is_none()
                    && v[3].string() == Some(&LONG[..])
                    && number_is_whole(&v[4], 64)
            }
            None => false,
        };
        ffi::lua_pushboolean(l, ok as c_int);
        1
    }

    /// A string longer than Lua 5.4's short strings (40 bytes).
    const LONG: [u8; 100] = [b'x'; 100];

    /// `v` is the number `n`, pushed with `lua_pushinteger`: an integer
    /// in Lua 5.4, a float in 5.1.
    fn number_is_whole(v: &Value, n: i64) -> bool {
        match v.number() {
            Some(Num::Int(i)) => i == n && cfg!(feature = "lua54"),
            Some(Num::Float(f)) => f == n as f64 && cfg!(feature = "lua51"),
            None => false,
        }
    }

    #[test]
    fn the_system_lua_has_the_mirrored_layout_and_args_reads_it() {
        unsafe {
            let l = luaL_newstate();
            verify(l);
            assert_eq!(LAYOUT.load(Ordering::Relaxed), 1);
            assert_eq!(ffi::lua_gettop(l), 0, "verify leaves the stack as it was");
            assert!(call_with(l, reader, |l| {
                ffi::lua_pushnumber(l, 64.5);
                ffi::lua_pushlstring(l, b"*l".as_ptr().cast(), 2);
                ffi::lua_pushlstring(l, LONG.as_ptr().cast(), LONG.len());
                ffi::lua_pushinteger(l, 64);
                4
            }));
            lua_close(l);
        }
    }

    /// What [`verify`] passes the probe after the userdata, with one
    /// thing changed or not.
    #[derive(Clone, Copy)]
    enum Change {
        Nothing,
        NoFourth,
        Number,
        String,
        AnotherFunction,
    }

    unsafe fn probe_with(l: *mut lua_State, change: Change) -> bool {
        call_with(l, probe, |l| {
            let n = if matches!(change, Change::Number) {
                1.0
            } else {
                -1234.5
            };
            ffi::lua_pushnumber(l, n);
            let s: &[u8] = if matches!(change, Change::String) {
                b"*li\0nf"
            } else {
                b"*li\0ne"
            };
            ffi::lua_pushlstring(l, s.as_ptr().cast(), s.len());
            match change {
                Change::NoFourth => return 2,
                Change::AnotherFunction => ffi::lua_pushcclosure(l, reader, 0),
                _ => ffi::lua_pushvalue(l, 2), // the probe itself
            }
            3
        })
    }

    #[test]
    fn the_probe_refuses_what_it_was_not_given() {
        unsafe {
            let l = luaL_newstate();
            let refused = [
                Change::NoFourth,
                Change::Number,
                Change::String,
                Change::AnotherFunction,
            ]
            .map(|change| probe_with(l, change));
            assert_eq!(refused, [false; 4]);
            // And what it expects passes.
            assert!(probe_with(l, Change::Nothing));
            lua_close(l);
        }
    }
}
