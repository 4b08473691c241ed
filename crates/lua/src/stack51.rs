//! Lua 5.1 only: a C function's arguments read straight from its stack
//! frame, for `receive`'s hot path.
//!
//! Each `lua_type`, `lua_tonumber`, `lua_rawequal` of Lua 5.1 is a call
//! through the PLT that first turns an index into an address. Checking
//! `receive`'s three arguments took a dozen of them: about 210
//! instructions of the 1,650 that a 64-byte record costs the whole
//! `lua5.1` process (callgrind), more than the module's own code. Lua
//! 5.1.5's stack values and objects have one layout on every platform
//! with the default `luaconf.h`; this file mirrors the few fields it
//! reads, and checks the mirror against the C API when the module opens
//! ([`verify`]). If anything differs (another build of Lua 5.1, another
//! number type), [`args`] answers `None` for the rest of the process and
//! every call takes the C API, as before.
//!
//! Only plain reads: nothing here writes to the Lua state. Built for
//! 64-bit targets only (the sizes below are theirs); 32-bit builds take
//! the C API.

use mlua::ffi::{self, lua_State};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU8, Ordering};

/// A stack value (`TValue`): the value and its type tag.
#[repr(C)]
pub(crate) struct Value {
    bits: u64,
    tt: c_int,
}

/// The head of `lua_State`: the common GC header, `status`, then the
/// stack's `top` and the running function's `base`.
#[repr(C)]
struct StateHead {
    next: *const c_void,
    tt: u8,
    marked: u8,
    status: u8,
    top: *const Value,
    base: *const Value,
}

/// The head of a full userdata (`Udata`); its block follows the union,
/// [`UDATA_SIZE`] bytes in.
#[repr(C)]
struct UdataHead {
    next: *const c_void,
    tt: u8,
    marked: u8,
    metatable: *const c_void,
    env: *const c_void,
    len: usize,
}
const UDATA_SIZE: usize = 40;

/// The head of a string (`TString`); its bytes follow, [`TSTRING_SIZE`]
/// bytes in.
#[repr(C)]
struct TStringHead {
    next: *const c_void,
    tt: u8,
    marked: u8,
    reserved: u8,
    hash: u32,
    len: usize,
}
const TSTRING_SIZE: usize = 24;

/// The head of a C closure (`CClosure`); `upvalue[0]` is at
/// [`UPVALUES_AT`].
#[repr(C)]
struct CClosureHead {
    next: *const c_void,
    tt: u8,
    marked: u8,
    is_c: u8,
    nupvalues: u8,
    gclist: *const c_void,
    env: *const c_void,
    f: *const c_void,
}
const UPVALUES_AT: usize = std::mem::size_of::<CClosureHead>();

const _: () = {
    assert!(std::mem::size_of::<Value>() == 16);
    assert!(std::mem::size_of::<UdataHead>() == UDATA_SIZE);
    assert!(std::mem::size_of::<TStringHead>() == TSTRING_SIZE);
    assert!(UPVALUES_AT == 40);
};

/// 0: not checked yet; 1: the layout matched; 2: it did not (once in any
/// state of the process: never used again).
static LAYOUT: AtomicU8 = AtomicU8::new(0);

impl Value {
    /// The number, if this is one.
    #[inline(always)]
    pub(crate) fn number(&self) -> Option<f64> {
        (self.tt == ffi::LUA_TNUMBER).then(|| f64::from_bits(self.bits))
    }

    /// The bytes, if this is a string.
    ///
    /// # Safety
    /// `self` must be a live stack value of a state whose layout [`verify`]
    /// accepted; the bytes live as long as the value stays on the stack.
    #[inline(always)]
    pub(crate) unsafe fn string<'a>(&self) -> Option<&'a [u8]> {
        if self.tt != ffi::LUA_TSTRING {
            return None;
        }
        let ts = self.bits as usize as *const TStringHead;
        let bytes = ts.cast::<u8>().add(TSTRING_SIZE);
        Some(std::slice::from_raw_parts(bytes, (*ts).len))
    }

    /// The block of a full userdata whose metatable is `mt`.
    ///
    /// # Safety
    /// As for [`Value::string`].
    #[inline(always)]
    pub(crate) unsafe fn userdata_with(&self, mt: *const c_void) -> Option<*mut c_void> {
        if self.tt != ffi::LUA_TUSERDATA {
            return None;
        }
        let u = self.bits as usize as *const UdataHead;
        ((*u).metatable == mt).then(|| u.cast::<u8>().add(UDATA_SIZE).cast_mut().cast())
    }
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
    let head = l.cast::<StateHead>();
    let (base, top) = ((*head).base, (*head).top);
    let n = top.offset_from(base) as usize;
    // `base[-1]` is the function being called: this closure.
    let closure = (*base.sub(1)).bits as usize as *const u8;
    let upvalue = &*closure.add(UPVALUES_AT).cast::<Value>();
    Some((std::slice::from_raw_parts(base, n), upvalue))
}

/// The pointer a table value holds (its `Table`), as `lua_topointer`
/// gives it: what a userdata's metatable field is compared with.
#[inline(always)]
pub(crate) fn table_of(v: &Value) -> Option<*const c_void> {
    (v.tt == ffi::LUA_TTABLE).then_some(v.bits as usize as *const c_void)
}

/// Checks the mirror against the C API, once per process (a state opened
/// later only repeats a check that passed). Calls a probe closure with an
/// upvalue, a userdata with a metatable, a number and a string, and
/// compares what the probe reads directly with what the API says. Every
/// pointer is compared with the API's before it is followed.
///
/// # Safety
/// `l` must be a Lua 5.1 state with room for a few values.
pub(crate) unsafe fn verify(l: *mut lua_State) {
    if LAYOUT.load(Ordering::Relaxed) == 2 {
        return;
    }
    let top = ffi::lua_gettop(l);
    ffi::lua_createtable(l, 0, 0); // the metatable, also the upvalue
    ffi::lua_pushvalue(l, -1);
    ffi::lua_pushcclosure(l, probe, 1);
    ffi::lua_newuserdata(l, 24);
    ffi::lua_pushvalue(l, top + 1);
    ffi::lua_setmetatable(l, -2);
    ffi::lua_pushnumber(l, -1234.5);
    ffi::lua_pushlstring(l, b"*li\0ne".as_ptr().cast(), 6);
    ffi::lua_pushvalue(l, top + 2); // the probe, as its own 4th argument
    let ok = ffi::lua_pcall(l, 4, 1, 0) == 0 && ffi::lua_toboolean(l, -1) != 0;
    ffi::lua_settop(l, top);
    let state = if ok { 1 } else { 2 };
    // A failure anywhere wins over a success elsewhere.
    let _ = LAYOUT.compare_exchange(0, state, Ordering::Relaxed, Ordering::Relaxed);
    if !ok {
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
    let head = l.cast::<StateHead>();
    let (base, top) = ((*head).base, (*head).top);
    // Pointers into the stack: plausible only if they agree with
    // `lua_gettop` to the byte.
    let n = ffi::lua_gettop(l);
    if n != 4 || (top as usize).wrapping_sub(base as usize) != 4 * std::mem::size_of::<Value>() {
        return false;
    }
    let v = std::slice::from_raw_parts(base, 4);
    let types = [
        ffi::LUA_TUSERDATA,
        ffi::LUA_TNUMBER,
        ffi::LUA_TSTRING,
        ffi::LUA_TFUNCTION,
    ];
    for (i, (value, tt)) in v.iter().zip(types).enumerate() {
        if value.tt != tt || ffi::lua_type(l, i as c_int + 1) != tt {
            return false;
        }
    }
    // The called function, `base[-1]`, is the probe passed as argument 4.
    let called = &*base.sub(1);
    if called.tt != ffi::LUA_TFUNCTION || called.bits != v[3].bits {
        return false;
    }
    let closure = called.bits as usize;
    if closure != ffi::lua_topointer(l, 4) as usize || ffi::lua_iscfunction(l, 4) == 0 {
        return false;
    }
    let upvalue = &*((closure + UPVALUES_AT) as *const Value);
    let mt = ffi::lua_topointer(l, ffi::lua_upvalueindex(1));
    if table_of(upvalue) != Some(mt) || mt.is_null() {
        return false;
    }
    // The userdata: its block where `lua_touserdata` says, then its
    // metatable, the upvalue.
    let u = v[0].bits as usize;
    if u + UDATA_SIZE != ffi::lua_touserdata(l, 1) as usize || (*(u as *const UdataHead)).len != 24
    {
        return false;
    }
    if v[0].userdata_with(mt).is_none() || v[0].userdata_with(std::ptr::null()).is_some() {
        return false;
    }
    if v[1].number() != Some(-1234.5) || ffi::lua_tonumber(l, 2) != -1234.5 {
        return false;
    }
    let mut len = 0;
    let p = ffi::lua_tolstring(l, 3, &mut len);
    if v[2].bits as usize + TSTRING_SIZE != p as usize || len != 6 {
        return false;
    }
    v[2].string() == Some(&b"*li\0ne"[..])
}

/// Run with `cargo test -p renoise-socket-lua --features lua51` (links the
/// system's Lua 5.1, as `tests/threads.rs` does).
#[cfg(all(test, feature = "lua51"))]
mod tests {
    use super::*;

    #[link(name = "lua5.1")]
    extern "C" {
        fn luaL_newstate() -> *mut lua_State;
        fn lua_close(l: *mut lua_State);
    }

    /// Calls `f` (a C closure with the table at index 1 as its upvalue)
    /// with a userdata whose metatable is that table, then `rest`; returns
    /// its boolean result.
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
                v.len() == 3
                    && mt == Some(ffi::lua_topointer(l, ffi::lua_upvalueindex(1)))
                    && v[0].userdata_with(mt.unwrap()) == Some(ffi::lua_touserdata(l, 1))
                    && v[0].userdata_with(std::ptr::null()).is_none()
                    && v[1].number() == Some(64.0)
                    && v[1].string().is_none()
                    && v[2].string() == Some(&b"*l"[..])
                    && v[2].number().is_none()
            }
            None => false,
        };
        ffi::lua_pushboolean(l, ok as c_int);
        1
    }

    #[test]
    fn the_system_lua_5_1_has_the_mirrored_layout_and_args_reads_it() {
        unsafe {
            let l = luaL_newstate();
            verify(l);
            assert_eq!(LAYOUT.load(Ordering::Relaxed), 1);
            assert_eq!(ffi::lua_gettop(l), 0, "verify leaves the stack as it was");
            assert!(call_with(l, reader, |l| {
                ffi::lua_pushnumber(l, 64.0);
                ffi::lua_pushlstring(l, b"*l".as_ptr().cast(), 2);
                2
            }));
            lua_close(l);
        }
    }

    #[test]
    fn the_probe_refuses_what_it_was_not_given() {
        unsafe {
            let l = luaL_newstate();
            let refused = [
                // Three arguments instead of four.
                call_with(l, probe, |l| {
                    ffi::lua_pushnumber(l, -1234.5);
                    ffi::lua_pushlstring(l, b"*li\0ne".as_ptr().cast(), 6);
                    2
                }),
                // Another number.
                call_with(l, probe, |l| {
                    ffi::lua_pushnumber(l, 1.0);
                    ffi::lua_pushlstring(l, b"*li\0ne".as_ptr().cast(), 6);
                    ffi::lua_pushvalue(l, 2);
                    3
                }),
                // Another string of the same length.
                call_with(l, probe, |l| {
                    ffi::lua_pushnumber(l, -1234.5);
                    ffi::lua_pushlstring(l, b"*li\0nf".as_ptr().cast(), 6);
                    ffi::lua_pushvalue(l, 2);
                    3
                }),
                // A function that is not the one called.
                call_with(l, probe, |l| {
                    ffi::lua_pushnumber(l, -1234.5);
                    ffi::lua_pushlstring(l, b"*li\0ne".as_ptr().cast(), 6);
                    ffi::lua_pushcclosure(l, reader, 0);
                    3
                }),
            ];
            assert_eq!(refused, [false; 4]);
            // And the same call with what it expects passes.
            assert!(call_with(l, probe, |l| {
                ffi::lua_pushnumber(l, -1234.5);
                ffi::lua_pushlstring(l, b"*li\0ne".as_ptr().cast(), 6);
                ffi::lua_pushvalue(l, 2);
                3
            }));
            lua_close(l);
        }
    }
}
