//! The module's entry point (`luaopen_renoise_socket`) and `install()`.

use crate::raw::{lua_fn, type_name, Fail};
use crate::{client, osc, socket};
use mlua::ffi::{self, lua_State};
use mlua::{Lua, Result, Table};
use std::ffi::c_int;

/// Tables of the module that `install()` puts into the global `renoise`.
/// (`Osc` is added by the OSC part of the module.)
const INSTALLED: [&std::ffi::CStr; 2] = [c"Socket", c"Osc"];

/// The module's entry as mlua makes it (exported as
/// `luaopen_renoise_socket_mlua`); [`luaopen_renoise_socket`] calls it.
#[cfg(any(feature = "lua51", feature = "luajit", feature = "lua54"))]
#[mlua::lua_module(name = "renoise_socket_mlua", skip_memory_check)]
fn open(lua: &Lua) -> Result<Table> {
    module_table(lua)
}

/// `require("renoise_socket")`: mlua's entry, with the thread's debug
/// hook off while it runs. mlua's setup of a state makes calls that a
/// call hook sees, and an error that such a hook raises there made mlua
/// panic, which aborted the interpreter. The hook is set again before
/// anything returns, also when the opening raised (the error is then
/// raised again, after that).
///
/// # Safety
/// Called by Lua's `require` as a `lua_CFunction`.
#[cfg(any(feature = "lua51", feature = "luajit", feature = "lua54"))]
#[no_mangle]
pub unsafe extern "C-unwind" fn luaopen_renoise_socket(l: *mut lua_State) -> c_int {
    let hook = ffi::lua_gethook(l);
    let mask = ffi::lua_gethookmask(l);
    if hook.is_none() || mask == 0 {
        return luaopen_renoise_socket_mlua(l);
    }
    let count = ffi::lua_gethookcount(l);
    ffi::lua_sethook(l, None, 0, 0);
    let nargs = ffi::lua_gettop(l);
    ffi::lua_pushcfunction(l, luaopen_renoise_socket_mlua);
    ffi::lua_insert(l, 1);
    let status = ffi::lua_pcall(l, nargs, ffi::LUA_MULTRET, 0);
    ffi::lua_sethook(l, hook, mask, count);
    if status != 0 {
        ffi::lua_error(l);
    }
    ffi::lua_gettop(l)
}

/// The module table, as `require("renoise_socket")` returns it (`Socket`,
/// `install`, ...): a host that embeds Lua puts it in `package.preload`.
pub fn module_table(lua: &Lua) -> Result<Table> {
    let module = lua.create_table()?;
    // SAFETY: the closures only push values (balanced stack: one result).
    let socket: Table = unsafe {
        lua.exec_raw((), |l| {
            #[cfg(stack_args)]
            crate::stack::verify(l);
            client::push_metatable(l);
            socket::push_table(l);
        })?
    };
    module.raw_set("Socket", socket)?;
    // SAFETY: as above: one table pushed.
    let osc: Table = unsafe { lua.exec_raw((), |l| osc::push_table(l))? };
    module.raw_set("Osc", osc)?;
    // SAFETY: the argument (the module) is consumed into the closure,
    // which is the one result.
    let install: mlua::Function = unsafe {
        lua.exec_raw(module.clone(), |l| {
            // The module (the argument) becomes the upvalue.
            ffi::lua_pushcclosure(l, install, 1);
        })?
    };
    module.raw_set("install", install)?;
    Ok(module)
}

/// Gives server callbacks a message handler, as `xpcall`'s: when a
/// `socket_accepted` / `socket_message` / `socket_error` callback raises,
/// `handler` is called with the error value where it was raised (so
/// `debug.traceback` sees the callback's frames), and what it returns is
/// the error value passed on (to `socket_error`, or re-raised from
/// `wait`): a handler that only records return its argument. `None`
/// removes it. For a host that embeds Lua (the `renoise-socket` command
/// keeps the traceback of a callback's error this way).
///
/// ```ignore
/// // (Built only with an `embed*` feature.)
/// let keep = lua.create_function(|lua, err: mlua::Value| {
///     let tb: String = lua.load("debug.traceback('', 2)").eval()?;
///     lua.set_named_registry_value("last_callback_traceback", tb)?;
///     Ok(err)
/// })?;
/// renoise_socket_lua::set_callback_handler(&lua, Some(keep))?;
/// ```
#[cfg(any(feature = "embed51", feature = "embedjit", feature = "embed54"))]
pub fn set_callback_handler(lua: &Lua, handler: Option<mlua::Function>) -> Result<()> {
    // SAFETY: the argument (the handler or nil) is popped into the
    // registry: balanced, no result.
    unsafe {
        lua.exec_raw((handler,), |l| {
            ffi::lua_setfield(
                l,
                ffi::LUA_REGISTRYINDEX,
                crate::server::HANDLER_KEY.as_ptr(),
            );
        })
    }
}

/// The notifier callback a server's `wait` is running at this moment
/// (`"socket_message"`, `"socket_accepted"` or `"socket_error"`; the
/// innermost one if a callback waits on another server), or `None`. It
/// may be asked from any thread: a host's watchdog says with it whether a
/// run it stops was stuck in a tool's callback or only waiting.
///
/// ```ignore
/// // (Built only with an `embed*` feature.)
/// match renoise_socket_lua::running_callback() {
///     Some(name) => eprintln!("stuck in the server's {name} callback"),
///     None => eprintln!("no server callback was running"),
/// }
/// ```
#[cfg(any(feature = "embed51", feature = "embedjit", feature = "embed54"))]
pub fn running_callback() -> Option<&'static str> {
    let n = crate::server::RUNNING.load(std::sync::atomic::Ordering::Relaxed);
    crate::server::CALLBACKS
        .get(usize::from(n).checked_sub(1)?)
        .copied()
}

lua_fn!(install, "install", install_body);

/// `rs.install()`: sets `renoise.Socket` (and `renoise.Osc`) in the global
/// table `renoise`, creating it if needed and keeping every field it
/// already has. Global access is raw, so a strict-globals `_G` does not
/// object. Returns the module.
unsafe fn install_body(l: *mut lua_State) -> std::result::Result<c_int, Fail> {
    let module = ffi::lua_upvalueindex(1);
    ffi::lua_pushglobaltable(l);
    let globals = ffi::lua_gettop(l);
    ffi::lua_pushstring(l, c"renoise".as_ptr());
    ffi::lua_rawget(l, globals);
    match ffi::lua_type(l, -1) {
        ffi::LUA_TTABLE => {}
        ffi::LUA_TNIL => {
            ffi::lua_pop(l, 1);
            ffi::lua_createtable(l, 0, 4);
            ffi::lua_pushstring(l, c"renoise".as_ptr());
            ffi::lua_pushvalue(l, -2);
            ffi::lua_rawset(l, globals);
        }
        _ => {
            let t = type_name(l, -1);
            return Err(Fail::error(format_args!(
                "install: the global 'renoise' is a {}, not a table",
                String::from_utf8_lossy(t.as_bytes())
            )));
        }
    }
    let renoise = ffi::lua_gettop(l);
    osc::wrap_type(l, globals);
    for name in INSTALLED {
        ffi::lua_pushstring(l, name.as_ptr());
        ffi::lua_rawget(l, module);
        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
            ffi::lua_pop(l, 1);
        } else {
            // An ordinary assignment: a `renoise` table with a __newindex
            // sees it.
            ffi::lua_setfield(l, renoise, name.as_ptr());
        }
    }
    ffi::lua_pushvalue(l, module);
    Ok(1)
}
