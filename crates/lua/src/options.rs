//! The `options` table of `create_client` (our extension to Renoise's API).
//!
//! ```lua
//! rs.Socket.create_client("127.0.0.1", 8000, rs.Socket.PROTOCOL_TCP, 1000, {
//!   send_timeout_ms = 10000,      -- 0 or math.huge: no limit
//!   max_line_length = 16777216,   -- longest "*line" before "line too long"
//!   max_receive_size = 16777216,  -- largest n of receive(n, ...)
//!   all_chunk_size = 1048576,     -- most bytes one "*all" returns
//!   read_ahead = 1048576,         -- largest the receive buffer grows to
//!   framing = "none",             -- OSC over TCP: "none", "slip" or "size"
//!   broadcast = false,            -- UDP: may send to a broadcast address
//! })
//! ```
//!
//! Unknown keys and values of the wrong kind are argument errors. A
//! server's table sets its connections' options: `broadcast`, which only a
//! client has, is unknown there.

use crate::raw::{millis, number_at, string_at, type_error, Fail, Num, Shown};
use mlua::ffi::{self, lua_State};
use renoise_socket::{framing::Framing, ClientBuilder};
use std::ffi::c_int;

/// Largest value of the size options: 1 GiB. (The buffer may grow to it
/// for a long line or a large `n`; `read_ahead` stops at 16 MiB.)
const MAX_SIZE: i64 = 1 << 30;

/// Defaults of the size limits (those of the core).
pub(crate) const DEFAULT_MAX_RECEIVE_SIZE: usize = 16 << 20;

/// Read-ahead of Lua clients and connections, larger than the core's
/// default: a Lua program, making a string per line or record, is nearly
/// always the slow side of a busy connection, where fewer, larger reads
/// save kernel time (see `ClientBuilder::read_ahead`). Measured on 1000-byte
/// lines: 64 KiB to 1 MiB cut the CPU per line by about a third under
/// LuaJIT and a fifth under Lua 5.1 (256 KiB saved less); shorter lines and
/// records gain a little or nothing. The buffer only grows while reads come
/// back full and are taken in small pieces (lines, or records of which 16
/// or more fit in a read), so a quiet connection, or one read with "*all"
/// (but for a poll from a timer, see `CLIENT_ALL_CHUNK_SIZE`) or in framed
/// packets, keeps 64 KiB.
pub(crate) const READ_AHEAD: usize = 1 << 20;

/// Most bytes one `"*all"` of a Lua client returns, larger than the
/// core's 64 KiB: Renoise's `"*all"` reads "all pending data", and a tool
/// polls it once per idle tick (Renoise's HTTP library does), ten times a
/// second, where 64 KiB a call held a download to 640 KB/s. Only such
/// polls read past 64 KiB (see `ClientBuilder::all_chunk_size`).
/// Connections of a server keep 64 KiB: thousands of flooding peers must
/// not hold 1 MiB each.
pub(crate) const CLIENT_ALL_CHUNK_SIZE: usize = 1 << 20;

/// What `create_client` needs besides the builder.
pub(crate) struct Options {
    pub(crate) builder: ClientBuilder,
    pub(crate) max_receive_size: usize,
}

/// Reads the options table at stack index `index` (nil or absent: the
/// defaults) into `builder`. Uses raw access (`lua_next`), so no Lua code
/// runs and nothing allocates.
pub(crate) unsafe fn read(
    l: *mut lua_State,
    index: c_int,
    builder: ClientBuilder,
    client: bool,
) -> Result<Options, Fail> {
    let builder = builder.read_ahead(READ_AHEAD);
    let mut o = Options {
        builder: if client {
            builder.all_chunk_size(CLIENT_ALL_CHUNK_SIZE)
        } else {
            builder
        },
        max_receive_size: DEFAULT_MAX_RECEIVE_SIZE,
    };
    match ffi::lua_type(l, index) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => return Ok(o),
        ffi::LUA_TTABLE => {}
        _ => return Err(type_error(l, index, "table or nil")),
    }
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, index) != 0 {
        // key at -2, value at -1
        let key = if ffi::lua_type(l, -2) == ffi::LUA_TSTRING {
            let mut len = 0;
            let p = ffi::lua_tolstring(l, -2, &mut len);
            std::slice::from_raw_parts(p.cast::<u8>(), len)
        } else {
            return Err(Fail::arg(index, "option names must be strings"));
        };
        let value = number_at(l, -1);
        match key {
            b"send_timeout_ms" => {
                let d = value.and_then(millis).ok_or_else(|| {
                    Fail::arg(
                        index,
                        "option 'send_timeout_ms' must be a number of milliseconds >= 0",
                    )
                })?;
                // 0 and math.huge both mean: no limit. A positive time
                // too short for a Duration (under a nanosecond) is the
                // shortest one, not "no limit".
                let positive = match value {
                    Some(Num::Int(i)) => i > 0,
                    Some(Num::Float(f)) => f > 0.0,
                    None => false,
                };
                let d = if d.is_zero() && positive {
                    std::time::Duration::from_nanos(1)
                } else {
                    d
                };
                o.builder = o
                    .builder
                    .send_timeout((d != std::time::Duration::MAX).then_some(d));
            }
            b"max_line_length" | b"max_receive_size" | b"all_chunk_size" | b"read_ahead" => {
                // read_ahead 0 turns growth off; a size limit of 0 makes no sense.
                let least = i64::from(key != b"read_ahead");
                let n = match value.and_then(|v| v.whole()) {
                    Some(n) if (least..=MAX_SIZE).contains(&n) => n as usize,
                    _ => {
                        return Err(Fail::arg(
                            index,
                            format_args!(
                                "option '{}' must be a whole number between {least} and {MAX_SIZE}",
                                Shown(key)
                            ),
                        ))
                    }
                };
                o.builder = match key {
                    b"max_line_length" => o.builder.max_line_length(n),
                    b"all_chunk_size" => o.builder.all_chunk_size(n),
                    b"read_ahead" => o.builder.read_ahead(n),
                    _ => {
                        o.max_receive_size = n;
                        o.builder.max_receive_size(n)
                    }
                };
            }
            b"framing" => {
                let framing = match string_at(l, -1) {
                    Some(b"none") => Framing::None,
                    Some(b"slip") => Framing::Slip,
                    Some(b"size") => Framing::SizePrefix,
                    _ => {
                        return Err(Fail::arg(
                            index,
                            "option 'framing' must be \"none\", \"slip\" or \"size\"",
                        ))
                    }
                };
                o.builder = o.builder.framing(framing);
            }
            b"broadcast" if client => {
                if ffi::lua_type(l, -1) != ffi::LUA_TBOOLEAN {
                    return Err(Fail::arg(index, "option 'broadcast' must be a boolean"));
                }
                o.builder = o.builder.broadcast(ffi::lua_toboolean(l, -1) != 0);
            }
            _ => {
                return Err(Fail::arg(
                    index,
                    format_args!("unknown option '{}'", Shown(key)),
                ))
            }
        }
        ffi::lua_pop(l, 1);
    }
    Ok(o)
}
