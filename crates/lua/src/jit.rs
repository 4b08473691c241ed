//! LuaJIT's fast path: `receive` and `send` through the FFI.
//!
//! LuaJIT's compiler cannot follow a call into a classic `lua_CFunction`:
//! a loop around `c:receive(...)` stays in the interpreter. Calls through
//! its FFI are compiled. So, when the module is built for LuaJIT, opening
//! it runs a small Lua shim (`jit.lua`) that replaces the `receive` and
//! `send` methods by Lua functions calling the two `extern "C"` functions
//! below through the FFI, for the common cases, and calling the classic C
//! functions for everything else (so results and error messages are the
//! same either way). It also gives the class a Lua `__index` that finds the
//! methods and asks the classic one only for the properties: the method
//! lookup of `c:receive(...)` would otherwise end the trace at a C
//! function on every turn. If the `ffi` library is missing, or the JIT is
//! off, nothing changes.
//!
//! Which objects may take the fast path: only userdata that
//! `create_client` made, listed in a weak-keyed table (`clients`, kept in
//! the class metatable as `__jit`), so the raw pointer the FFI passes is
//! always a live `Ud`. The functions run the core inside `catch_unwind`
//! and never call into Lua.

use crate::client::{Failure, Ud};
use crate::raw::{guard_fast, Msg, Num};
use mlua::ffi::{self, lua_State};
use renoise_socket::Mode;
use std::ffi::{c_int, c_void};

const SHIM: &str = include_str!("jit.lua");

/// The bytes of a result or of an error message, as the shim reads them.
/// One per load of the module in a Lua state: a cdata the shim made,
/// kept in the class metatable (`__jitout`).
///
/// `busy` is set with every result and cleared by the shim once it has
/// made the string: making it can run a `__gc` finalizer (in the
/// interpreter, reading `out.ptr` allocates), and a receive or send there
/// must neither overwrite `ptr` / `len` nor, on the same client (`owner`),
/// move the bytes they point to. While it is set, both functions leave the
/// call to the classic ones, which use neither (and raise for a receive on
/// `owner`, see `client::not_nested`). Only the shim's own copies set it:
/// a classic copy marks its client (`Ud::busy`), which [`receive`] checks,
/// so a copy nested in another never hides the outer one's mark.
///
/// An error message is written into the `Out` itself, not into a buffer
/// of the thread's: a second load of the module in the same Lua state has
/// an `Out` of its own, and a failure of its fast path in a finalizer
/// that runs while this one's message is being copied must not overwrite
/// it (the mark keeps this load's own calls off it).
#[repr(C)]
pub(crate) struct Out {
    ptr: *const u8,
    len: usize,
    busy: c_int,
    owner: *mut c_void,
    message: Msg,
}

/// The shim's struct, which must match [`Out`]: the shim compares the two
/// sizes (passed to it) before it is installed.
const OUT_SIZE: usize = std::mem::size_of::<Out>();
const _: () =
    assert!(OUT_SIZE == 4 * std::mem::size_of::<*const u8>() + 512 + std::mem::size_of::<usize>());

/// `lua_type` of a cdata in LuaJIT (`LUA_TCDATA` in its `lj_obj.h`).
const LUA_TCDATA: c_int = 10;

const DONE: c_int = 0;
const TIMEOUT: c_int = 1;
const FAILED: c_int = 2;
const NOT_HERE: c_int = 3;

/// Points `out` at the message of `e`, kept in `out` itself.
#[cold]
fn failed(e: renoise_socket::Error, out: &mut Out, owner: *mut c_void) -> c_int {
    out.message = Msg::of(e);
    let bytes = out.message.as_bytes();
    let (ptr, len) = (bytes.as_ptr(), bytes.len());
    out.set_raw(ptr, len, owner);
    FAILED
}

impl Out {
    /// Points at `bytes` for the shim, with the mark set (see [`Out`]).
    #[inline(always)]
    fn set(&mut self, bytes: &[u8], owner: *mut c_void) {
        self.set_raw(bytes.as_ptr(), bytes.len(), owner);
    }

    /// [`Out::set`] for bytes `self` holds (its own message).
    #[inline(always)]
    fn set_raw(&mut self, ptr: *const u8, len: usize, owner: *mut c_void) {
        self.ptr = ptr;
        self.len = len;
        self.busy = 1;
        self.owner = owner;
    }
}

/// `receive` for the shim: `kind` 0 = line, 1 = all, 2 = `n` bytes.
///
/// # Safety
/// `ud` must point to a live `Ud` (the shim only passes objects listed by
/// `create_client`), used by no one else during the call; `out` must be
/// valid for writes.
unsafe extern "C" fn receive(
    ud: *mut c_void,
    kind: c_int,
    n: f64,
    timeout_ms: f64,
    out: *mut Out,
) -> c_int {
    // The shim calls this only while `out.busy` is clear, which the classic
    // functions also set while they copy a result, and only for a client
    // whose close is not pending (one such is taken off the fast path):
    // no check here, which keeps this function small enough for the
    // compiler to inline the guarded call (a check cost 50 instructions a
    // call that way).
    let this = ud;
    let ud = &mut *ud.cast::<Ud>();
    let out = &mut *out;
    // A classic receive of this client is making its result into a string
    // (this call comes from a finalizer or a hook meanwhile), or left that
    // mark when it raised: the classic function refuses or clears it.
    if ud.busy() {
        return NOT_HERE;
    }
    let Some(timeout) = ud.last_timeout.of(Num::Float(timeout_ms)) else {
        return NOT_HERE;
    };
    let mode = match kind {
        0 => Mode::Line,
        1 => Mode::All,
        _ => {
            let max = ud.max_receive_size();
            match ud.last_size.of(Num::Float(n), max) {
                Some(u) => Mode::Bytes(u),
                None => return NOT_HERE,
            }
        }
    };
    let Some(client) = ud.owned_receivable() else {
        return NOT_HERE;
    };
    // A line or record already buffered, the common case of a loop, is
    // taken here inline; everything else goes out of line, so this call
    // stays a leaf with no result passed through memory (about 60
    // instructions less a record, callgrind).
    if let Some(Some(bytes)) = guard_fast(|| client.receive_buffered(mode)) {
        out.set(bytes, this);
        return DONE;
    }
    receive_slow(client, mode, timeout, out, this)
}

#[inline(never)]
fn receive_slow(
    client: &mut renoise_socket::Client,
    mode: Mode,
    timeout: std::time::Duration,
    out: &mut Out,
    this: *mut c_void,
) -> c_int {
    match guard_fast(|| client.receive(mode, timeout).map_err(Failure::of)) {
        Some(Ok(bytes)) => {
            out.set(bytes, this);
            DONE
        }
        Some(Err(Failure::Timeout)) => TIMEOUT,
        Some(Err(Failure::Other(e))) => failed(e, out, this),
        // The classic function reports it (as an error, as always).
        None => NOT_HERE,
    }
}

/// `send` for the shim.
///
/// # Safety
/// As [`receive`]; `data` must be valid for reads of `len` bytes.
unsafe extern "C" fn send(ud: *mut c_void, data: *const u8, len: usize, out: *mut Out) -> c_int {
    let this = ud;
    let ud = &mut *ud.cast::<Ud>();
    let out = &mut *out;
    let data = if len == 0 {
        &[][..]
    } else {
        std::slice::from_raw_parts(data, len)
    };
    let Some(client) = ud.owned_open() else {
        return NOT_HERE;
    };
    match guard_fast(|| client.send(data)) {
        Some(Ok(())) => DONE,
        Some(Err(e)) => failed(e, out, this),
        None => NOT_HERE,
    }
}

/// Runs the shim for the class metatable `mt` and its methods table
/// `methods` (absolute stack indices). On success the metatable gets the
/// shim's `__index` and the
/// `__jit` table of fast-path objects, the shim's `Out` (`__jitout`) and
/// its two functions (`__jitfns`, to recognise their frames); on any
/// failure (no `ffi`, JIT off) the classic methods stay and nothing else
/// changes.
pub(crate) unsafe fn install(l: *mut lua_State, mt: c_int, methods: c_int) {
    let top = ffi::lua_gettop(l);
    if !jit_on(l) {
        return;
    }
    // The weak-keyed table of objects the fast path may take.
    ffi::lua_createtable(l, 0, 0);
    let clients = ffi::lua_gettop(l);
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushstring(l, c"k".as_ptr());
    ffi::lua_setfield(l, -2, c"__mode".as_ptr());
    ffi::lua_setmetatable(l, clients);
    if ffi::luaL_loadbuffer(
        l,
        SHIM.as_ptr().cast(),
        SHIM.len(),
        c"=renoise_socket.jit".as_ptr(),
    ) != 0
    {
        ffi::lua_settop(l, top);
        return;
    }
    ffi::lua_pushvalue(l, methods);
    ffi::lua_pushvalue(l, clients);
    ffi::lua_getfield(l, methods, c"receive".as_ptr());
    ffi::lua_getfield(l, methods, c"send".as_ptr());
    ffi::lua_pushlightuserdata(l, receive as *mut c_void);
    ffi::lua_pushlightuserdata(l, send as *mut c_void);
    ffi::lua_pushvalue(l, mt);
    ffi::lua_pushinteger(l, OUT_SIZE as _);
    // The shim returns its `Out` (a cdata, whose address lua_topointer
    // gives): kept in the metatable, read by the classic functions. Not a
    // cdata (a stand-in `ffi` module): the classic methods stay.
    if ffi::lua_pcall(l, 8, 1, 0) == 0
        && ffi::lua_type(l, -1) == LUA_TCDATA
        && !ffi::lua_topointer(l, -1).is_null()
    {
        ffi::lua_setfield(l, mt, c"__jitout".as_ptr());
        ffi::lua_pushvalue(l, clients);
        ffi::lua_setfield(l, mt, c"__jit".as_ptr());
        ffi::lua_createtable(l, 2, 0);
        ffi::lua_getfield(l, methods, c"receive".as_ptr());
        ffi::lua_rawseti(l, -2, 1);
        ffi::lua_getfield(l, methods, c"send".as_ptr());
        ffi::lua_rawseti(l, -2, 2);
        ffi::lua_setfield(l, mt, c"__jitfns".as_ptr());
    }
    ffi::lua_settop(l, top);
}

/// The shim's `Out`, from the class metatable, the first upvalue of the
/// running C function; `None` when the shim is not installed.
unsafe fn out_of(l: *mut lua_State) -> Option<*mut Out> {
    ffi::lua_getfield(l, ffi::lua_upvalueindex(1), c"__jitout".as_ptr());
    let out = ffi::lua_topointer(l, -1).cast::<Out>().cast_mut();
    ffi::lua_pop(l, 1);
    (!out.is_null()).then_some(out)
}

/// Whether the fast path has a result it is making into a string (or a
/// mark left by one that raised meanwhile). Read by the classic `receive`
/// (on LuaJIT a cold path) of the running C function's class.
pub(crate) unsafe fn marked(l: *mut lua_State) -> bool {
    out_of(l).is_some_and(|out| (*out).busy != 0)
}

/// Whether the mark is set and names `ud` (stale or not: no look at the
/// frames).
pub(crate) unsafe fn marked_for(l: *mut lua_State, ud: &Ud) -> bool {
    out_of(l)
        .is_some_and(|out| (*out).busy != 0 && (*out).owner == (ud as *const Ud).cast_mut().cast())
}

/// Whether the fast path (or a classic `receive`, which sets the same
/// mark) may be making a result of `ud` into a string right now. A mark
/// that [`copy_in_flight`](crate::raw::copy_in_flight) finds stale (its
/// string creation raised) is cleared.
pub(crate) unsafe fn owned_by(l: *mut lua_State, ud: &mut Ud) -> bool {
    let Some(out) = out_of(l) else {
        return false;
    };
    if (*out).busy == 0 {
        return false;
    }
    // The classic `receive` sets the mark too, while it copies.
    let is_ours = |l: *mut lua_State| {
        if crate::client::is_receive_fn(l, -1) {
            return true;
        }
        // The function is on top; the shim's two functions are in
        // `__jitfns`.
        ffi::lua_getfield(l, ffi::lua_upvalueindex(1), c"__jitfns".as_ptr());
        let mut hit = false;
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            for i in 1..=2 {
                ffi::lua_rawgeti(l, -1, i);
                hit |= ffi::lua_rawequal(l, -1, -3) != 0;
                ffi::lua_pop(l, 1);
            }
        }
        ffi::lua_pop(l, 1);
        hit
    };
    // The shim cannot tell its thread: `null`.
    let live = crate::raw::copy_in_flight(l, std::ptr::null_mut(), std::ptr::null_mut(), is_ours);
    if !live {
        (*out).busy = 0;
        // Its string creation raised: the bytes go back to their client,
        // which is alive (a collected owner is forgotten: see `forget`).
        // No receive of it has run since: every call goes to a classic
        // function while the mark is set, and each clears it first.
        let owner = (*out).owner.cast::<Ud>();
        let owner = if std::ptr::eq(owner, ud) {
            Some(&mut *ud)
        } else {
            owner.as_mut()
        };
        if let Some(owner) = owner {
            // A failure's message, or a result's bytes.
            if std::ptr::eq((*out).ptr, (*out).message.as_bytes().as_ptr()) {
                owner.end_untold = (*out).message.as_bytes() == b"disconnected";
            } else {
                owner.give_back((*out).ptr);
            }
        }
        return false;
    }
    (*out).owner == (ud as *mut Ud).cast()
}

/// `ud` is being collected: the shim's mark must not name it any more
/// (see [`owned_by`], which gives a stale mark's bytes back to its owner).
pub(crate) unsafe fn forget(l: *mut lua_State, ud: &Ud) {
    if let Some(out) = out_of(l) {
        if (*out).owner == (ud as *const Ud).cast_mut().cast() {
            (*out).owner = std::ptr::null_mut();
        }
    }
}

/// True when the `jit` library is loaded and its compiler is on.
unsafe fn jit_on(l: *mut lua_State) -> bool {
    let top = ffi::lua_gettop(l);
    // Raw access: a strict-globals `_G` must not object to a missing `jit`.
    ffi::lua_pushglobaltable(l);
    ffi::lua_pushstring(l, c"jit".as_ptr());
    ffi::lua_rawget(l, -2);
    let mut on = false;
    if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
        ffi::lua_getfield(l, -1, c"status".as_ptr());
        on = ffi::lua_type(l, -1) == ffi::LUA_TFUNCTION
            && ffi::lua_pcall(l, 0, 1, 0) == 0
            && ffi::lua_toboolean(l, -1) != 0;
    }
    ffi::lua_settop(l, top);
    on
}

/// Lists the client at stack index `ud` as one the fast path may take
/// (`on`: a new `create_client` result), or takes it off (its close is
/// pending: the classic functions carry it out). `mt` is the class
/// metatable.
pub(crate) unsafe fn set_fast(l: *mut lua_State, mt: c_int, ud: c_int, on: bool) {
    let ud = ffi::lua_absindex(l, ud);
    ffi::lua_getfield(l, mt, c"__jit".as_ptr());
    if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
        ffi::lua_pushvalue(l, ud);
        if on {
            ffi::lua_pushboolean(l, 1);
        } else {
            ffi::lua_pushnil(l);
        }
        ffi::lua_rawset(l, -3);
    }
    ffi::lua_pop(l, 1);
}
