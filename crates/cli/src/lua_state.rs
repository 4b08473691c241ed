//! The runner's Lua state, made by Lua's own `luaL_newstate`.
//!
//! `mlua::Lua::new` gives the state mlua's allocator, which aborts the
//! process when `malloc` fails (Rust's `handle_alloc_error`): a tool that
//! ran out of memory died with a Rust backtrace, its `pcall` never
//! reached. Lua's own allocator returns NULL instead, and Lua turns that
//! into a `not enough memory` error that the script can catch, as under
//! the `lua` command. mlua then works on the state as it does for a C
//! module loaded by `lua` (every allocation protected), and we close it.

use mlua::{ffi, Lua};

/// A Lua state with every standard library (`debug` included, as in
/// Renoise), closed on drop.
pub struct LuaState(*mut ffi::lua_State);

impl LuaState {
    /// A new state, or the reason there is none (no memory for it).
    pub fn new() -> Result<Self, String> {
        // SAFETY: C API calls on a state that only this value holds.
        unsafe {
            let state = ffi::luaL_newstate();
            if state.is_null() {
                return Err("cannot create a Lua state: out of memory".into());
            }
            ffi::luaL_openlibs(state);
            Ok(LuaState(state))
        }
    }

    /// mlua's handle on the state.
    pub fn lua(&self) -> &Lua {
        // SAFETY: the state lives until `self` is dropped, and the
        // returned reference cannot outlive `self`.
        unsafe { Lua::get_or_init_from_ptr(self.0) }
    }
}

impl Drop for LuaState {
    fn drop(&mut self) {
        // SAFETY: nothing of mlua's outlives `self` (see `lua`); closing
        // runs the finalizers of what the script left, as `lua` does.
        unsafe { ffi::lua_close(self.0) }
    }
}
