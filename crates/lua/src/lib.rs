//! # renoise-socket-lua
//!
//! Renoise's `renoise.Socket` API for plain Lua 5.1, LuaJIT and Lua 5.4, as
//! a native module built from the [`renoise_socket`] core:
//!
//! ```lua
//! local rs = require("renoise_socket").install()  -- also sets renoise.Socket
//! local c, err = renoise.Socket.create_client("127.0.0.1", 8080)
//! ```
//!
//! Build it with exactly one of the features `lua51`, `luajit`, `lua54`
//! (`scripts/build-lua.sh` builds all three). Without a feature the crate
//! is empty, so the workspace builds and tests without any Lua. The Lua API
//! and its decisions are described in `crates/lua/README.md`.
//!
//! The crate is a `cdylib` whose export is `luaopen_renoise_socket` (and
//! mlua's own entry, `luaopen_renoise_socket_mlua`, which it calls).
//! With one of `embed51`, `embedjit`, `embed54` instead, the same code is
//! built against a vendored Lua (no `luaopen_` export) for a host that
//! embeds Lua (the `renoise-socket` command, `crates/cli`); then its
//! public items are [`module_table`], [`set_callback_handler`] and
//! [`running_callback`]. A check for Lua 5.4 is written
//! `any(feature = "lua54", feature = "embed54")`.
//!
//! ## Layout: one concept per file
//! - `module.rs`: the entry point, the module table and `install()`;
//! - `socket.rs`: the `Socket` table and `create_client`;
//! - `options.rs`: `create_client`'s options table;
//! - `client.rs`: `SocketClient` objects (`receive`, `send`, properties);
//! - `server.rs`: `create_server`, `SocketServer` objects, callbacks in `wait`;
//! - `osc.rs`: the `Osc` table, `Message` / `Bundle` objects, `type()`;
//! - `jit.rs` + `jit.lua` (LuaJIT only): `receive` / `send` through the
//!   FFI, so the JIT compiles loops around them;
//! - `stack.rs` (Lua 5.1 and 5.4, 64-bit little-endian): `receive`'s
//!   arguments read straight from its stack frame, once the layout is
//!   checked against the C API;
//! - `raw.rs`: the raw C API helpers, and the rules for raising errors
//!   from raw C functions soundly.
//!
//! A new concept (OSC messages, servers) is a new file listed below,
//! registered from `module.rs`.

// Errors are carried in a fixed-size stack buffer on purpose: a value that
// Lua's `lua_error` may jump over must own nothing to drop (see raw.rs).
// They are large, but only the cold path ever copies them.
#![allow(clippy::result_large_err)]

#[cfg(any(
    all(feature = "lua51", feature = "luajit"),
    all(feature = "lua51", feature = "lua54"),
    all(feature = "luajit", feature = "lua54"),
    all(
        any(feature = "lua51", feature = "luajit", feature = "lua54"),
        any(feature = "embed51", feature = "embedjit", feature = "embed54")
    ),
))]
compile_error!(
    "enable exactly one of the features lua51, luajit, lua54 (or embed51, embedjit, embed54)"
);

/// Declares the module's files, each only when a Lua is selected.
macro_rules! with_lua {
    ($($item:item)*) => {
        $(
            #[cfg(any(
                feature = "lua51", feature = "luajit", feature = "lua54",
                feature = "embed51", feature = "embedjit", feature = "embed54"
            ))]
            $item
        )*
    };
}

with_lua! {
    mod client;
    mod module;
    mod options;
    mod osc;
    mod raw;
    mod server;
    mod socket;
}

#[cfg(any(feature = "luajit", feature = "embedjit"))]
mod jit;

// Set by build.rs: Lua 5.1 or 5.4, on a 64-bit little-endian target.
#[cfg(stack_args)]
mod stack;

#[cfg(any(feature = "embed51", feature = "embedjit", feature = "embed54"))]
pub use module::{module_table, running_callback, set_callback_handler};
