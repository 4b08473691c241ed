//! The `renoise.Socket` table: `PROTOCOL_TCP`, `PROTOCOL_UDP` and
//! `create_client`.

use crate::client::Ud;
use crate::options;
use crate::raw::{
    guard, lua_fn, number_at, push_failure, string_at, timeout_at, type_error, Fail, Msg,
};
use mlua::ffi::{self, lua_State};
use renoise_socket::{ClientBuilder, Error, Protocol};
use std::ffi::c_int;
use std::time::Duration;

// `create_client` may raise (allocation) while a builder is alive: it must
// own nothing that needs dropping (see `raw.rs`).
const _: () = assert!(!std::mem::needs_drop::<ClientBuilder>());

/// Pushes the `Socket` table. Expects the client metatable on top of the
/// stack and consumes it (it becomes an upvalue of `create_client`).
pub(crate) unsafe fn push_table(l: *mut lua_State) {
    let mt = ffi::lua_gettop(l);
    ffi::lua_createtable(l, 0, 4);
    ffi::lua_pushinteger(l, 1);
    ffi::lua_setfield(l, -2, c"PROTOCOL_TCP".as_ptr());
    ffi::lua_pushinteger(l, 2);
    ffi::lua_setfield(l, -2, c"PROTOCOL_UDP".as_ptr());
    ffi::lua_pushvalue(l, mt);
    ffi::lua_pushcclosure(l, create_client, 1);
    ffi::lua_setfield(l, -2, c"create_client".as_ptr());
    crate::server::push_create_server(l, mt);
    ffi::lua_setfield(l, -2, c"create_server".as_ptr());
    ffi::lua_remove(l, mt);
}

lua_fn!(create_client, "create_client", create_client_body);

/// `create_client(address, port [, protocol [, timeout_ms [, options]]])`
/// -> client | `nil, error`. Upvalue 1: the client metatable.
unsafe fn create_client_body(l: *mut lua_State) -> Result<c_int, Fail> {
    // A descriptor, and a receive buffer once data comes.
    crate::raw::collect_for(l, 16);
    let Some(host) = string_at(l, 1) else {
        return Err(type_error(l, 1, "string"));
    };
    let port = match number_at(l, 2) {
        Some(n) => match n.whole().and_then(|p| u16::try_from(p).ok()) {
            Some(p) if p > 0 => p,
            _ => {
                return Err(Fail::arg(
                    2,
                    format_args!("port must be a whole number between 1 and 65535, got {n}"),
                ))
            }
        },
        None => return Err(type_error(l, 2, "number")),
    };
    let protocol = match ffi::lua_type(l, 3) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => Protocol::Tcp,
        _ => match number_at(l, 3) {
            Some(n) => match n.whole().and_then(Protocol::from_renoise) {
                Some(p) => p,
                None => {
                    return Err(Fail::arg(
                        3,
                        format_args!(
                            "protocol must be PROTOCOL_TCP (1) or PROTOCOL_UDP (2), got {n}"
                        ),
                    ))
                }
            },
            None => return Err(type_error(l, 3, "number or nil")),
        },
    };
    let timeout = match ffi::lua_type(l, 4) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => Duration::from_millis(1000),
        _ => timeout_at(l, 4)?,
    };
    let builder = ClientBuilder::new()
        .protocol(protocol)
        .connect_timeout(timeout);
    let opts = options::read(l, 5, builder, true)?;
    // Bytes that are not UTF-8 name no host: an expected failure, as a
    // name with a NUL in it is (and as LuaSocket has it).
    let Ok(host) = std::str::from_utf8(host) else {
        return Ok(push_unknown_host(l, host));
    };

    // Allocate first: if this raises (out of memory) no socket is open yet.
    let ud = ffi::lua_newuserdata(l, std::mem::size_of::<Ud>()).cast::<Ud>();
    // Inside: a connected client, `Err(Fail::Error)` for a failure to
    // return as `nil, message`, `Err(Fail::Arg)` for one to raise.
    let connected = guard(|| match opts.builder.connect(host, port) {
        Ok(c) => Ok(c),
        Err(Error::InvalidArgument(m)) => Err(Fail::arg(1, m)),
        Err(e) => Err(Fail::Error(Msg::of(e))),
    })?;
    match connected {
        Ok(client) => {
            // SAFETY: `ud` is fresh, suitably aligned memory of the right
            // size; from here on the userdata owns the client, and its
            // `__gc` (set just below; setting a metatable never raises)
            // drops it.
            std::ptr::write(ud, Ud::new(client, opts.max_receive_size));
            ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
            ffi::lua_setmetatable(l, -2);
            #[cfg(any(feature = "luajit", feature = "embedjit"))]
            crate::jit::set_fast(l, ffi::lua_upvalueindex(1), -1, true);
            Ok(1)
        }
        Err(Fail::Error(msg)) => Ok(push_failure(l, &msg)),
        Err(arg) => Err(arg),
    }
}

/// `nil, "unknown host '...'"` for an address that is not UTF-8, so no
/// host name: shown as `Error::UnknownHost` shows a name, with the bytes
/// that are not UTF-8 as escapes. For `create_client` and `create_server`.
pub(crate) unsafe fn push_unknown_host(l: *mut lua_State, name: &[u8]) -> c_int {
    push_failure(
        l,
        &Msg::of(format_args!("unknown host '{}'", name.escape_ascii())),
    )
}
