//! `SocketClient` objects: a full userdata holding a core [`Client`] (from
//! `create_client`), a shared [`Connection`] (accepted by a server), or a
//! [`UdpPeer`] (the sender-only socket of a UDP server's message).
//!
//! All of it is raw `lua_CFunction`s (see `raw.rs` for the rules that make
//! raising errors from them sound): `receive` and `send` are the hot path,
//! so they read their arguments with the raw C API (under Lua 5.1 and
//! 5.4, `receive` reads the usual ones from the stack frame itself, see
//! `stack.rs`) and push the borrowed receive buffer with one
//! `lua_pushlstring`.
//!
//! Every function of the class is a C closure whose first upvalue is the
//! class metatable; an object is ours when its metatable is that very table
//! (`lua_rawequal`), which is cheaper than `luaL_checkudata`'s registry
//! lookup by name. The metatable is hidden behind `__metatable`, so Lua
//! code cannot hand another userdata our metatable (short of the `debug`
//! library, which can break any C library's objects).

use crate::raw::{
    self, guard, guard_fast, lua_fn, number_at, push_bytes, push_failure, read_only_field,
    string_at, timeout_at_cached, type_error, Fail, LastSize, LastTimeout, Msg, Num, Shown,
};
#[cfg(stack_args)]
use crate::stack;
use mlua::ffi::{self, lua_CFunction, lua_State};
use renoise_socket::{Client, Connection, Event, Mode, Peer, Protocol, UdpPeer};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::c_int;
use std::net::SocketAddr;
use std::rc::Weak;

#[cfg(any(feature = "luajit", feature = "embedjit"))]
use crate::jit::{
    forget as jit_forget, marked as jit_marked, marked_for as jit_marked_for,
    owned_by as jit_owned_by,
};

/// Without LuaJIT's fast path there is no result of its own in flight.
#[cfg(not(any(feature = "luajit", feature = "embedjit")))]
unsafe fn jit_marked(_: *mut lua_State) -> bool {
    false
}

#[cfg(not(any(feature = "luajit", feature = "embedjit")))]
unsafe fn jit_owned_by(_: *mut lua_State, _: &mut Ud) -> bool {
    false
}

#[cfg(not(any(feature = "luajit", feature = "embedjit")))]
unsafe fn jit_marked_for(_: *mut lua_State, _: &Ud) -> bool {
    false
}

#[cfg(not(any(feature = "luajit", feature = "embedjit")))]
unsafe fn jit_forget(_: *mut lua_State, _: &Ud) {}

/// The name of the class, in messages and as `__name`.
pub(crate) const CLASS: &str = "SocketClient";

/// What a `SocketClient` userdata holds. It never moves (Lua's collector
/// does not move objects), is initialised by `create_client` (or a server)
/// with `ptr::write`, and its socket is dropped by `__gc`.
pub(crate) struct Ud {
    client: Sock,
    local: SocketAddr,
    peer: SocketAddr,
    /// Kept for `tostring` once the socket is gone.
    protocol: Protocol,
    /// Largest `n` that `receive(n, ...)` accepts.
    max_receive_size: usize,
    /// The timeout of the last `receive`.
    pub(crate) last_timeout: LastTimeout,
    /// The size of the last `receive(n, ...)`.
    pub(crate) last_size: LastSize,
    /// The Lua thread whose receive is making a result of this client
    /// into a Lua string (see [`push_result`]); null: none. Compared,
    /// never followed: the thread may be gone.
    busy_in: *mut lua_State,
    /// Where the result being made into a string starts (see
    /// [`push_result`]): its bytes are given back to the client if that
    /// raised (see [`Ud::give_back`]).
    handed: *const u8,
    /// A receive found the end of an owned client's stream (and closed
    /// it), but making its `"disconnected"` raised (see [`push_end`]): the
    /// next receive tells the end instead of raising `socket is closed`.
    pub(crate) end_untold: bool,
    /// `close()` came while a result was being made into a string (from a
    /// finalizer): the client counts as closed, and is closed once that is
    /// done (see [`Ud::settle_close`]).
    pub(crate) close_pending: bool,
    /// A UDP server's sender-only socket: `tostring` says so once closed.
    sender: bool,
    /// An accepted connection: its server's events not dispatched yet.
    queue: Weak<RefCell<VecDeque<Event>>>,
}

/// The socket behind a `SocketClient`.
enum Sock {
    /// A client of `create_client`, owned. Boxed: the client's alignment
    /// may exceed the 8 bytes Lua guarantees for userdata memory (the core
    /// keeps SIMD searchers in it).
    Own(Box<Client>),
    /// A connection a TCP server accepted, shared with the server, the
    /// buffer `receive` copies into (see [`receive_other`]), whether the
    /// program has been told that it closed, and whether the server has
    /// dispatched its end (every `socket_message` of it delivered; see
    /// [`Ud::mark_ended`]).
    Shared(Connection, Vec<u8>, bool, bool),
    /// The sender of a UDP server's message: `send` replies from the
    /// server's port, `receive` raises, `is_open` is false.
    Sender(UdpPeer),
    /// Finalised by the garbage collector (Lua 5.4 can resurrect the
    /// object afterwards; it then acts as a closed socket), or a UDP
    /// sender closed by the program.
    Gone,
}

// Lua aligns userdata memory to at least 8 bytes on every supported target.
const _: () = assert!(std::mem::align_of::<Ud>() <= 8);

/// A server socket's address `actual` as the core reports it (`shown`,
/// its `local_address()` text): a server on every interface is a
/// dual-stack `[::]` that says `0.0.0.0`, as in Renoise. Only an
/// unspecified address can differ, so only then is the text made.
pub(crate) fn reported(actual: SocketAddr, shown: impl FnOnce() -> String) -> SocketAddr {
    if !actual.ip().is_unspecified() {
        return actual;
    }
    SocketAddr::new(shown().parse().unwrap_or(actual.ip()), actual.port())
}

impl Ud {
    /// The fields every `Ud` starts with.
    fn of(client: Sock, local: SocketAddr, peer: SocketAddr, protocol: Protocol, max: usize) -> Ud {
        Ud {
            client,
            local,
            peer,
            protocol,
            max_receive_size: max,
            last_timeout: LastTimeout::default(),
            last_size: LastSize::default(),
            busy_in: std::ptr::null_mut(),
            handed: std::ptr::null(),
            end_untold: false,
            close_pending: false,
            sender: false,
            queue: Weak::new(),
        }
    }

    pub(crate) fn new(client: Client, max_receive_size: usize) -> Ud {
        let (local, peer, protocol) = (client.local_addr(), client.peer_addr(), client.protocol());
        Ud::of(
            Sock::Own(Box::new(client)),
            local,
            peer,
            protocol,
            max_receive_size,
        )
    }

    /// A connection accepted by a server, whose undispatched events are
    /// in `queue`.
    pub(crate) fn shared(
        conn: Connection,
        max_receive_size: usize,
        queue: Weak<RefCell<VecDeque<Event>>>,
    ) -> Ud {
        let (local, peer, protocol) = (conn.local_addr(), conn.peer_addr(), conn.protocol());
        let sock = Sock::Shared(conn, Vec::new(), false, false);
        Ud {
            queue,
            ..Ud::of(sock, local, peer, protocol, max_receive_size)
        }
    }

    /// A message of the connection `id` is queued in its server, not yet
    /// given to `socket_message`.
    fn has_queued(&self, id: usize) -> bool {
        self.queue
            .upgrade()
            .is_some_and(|q| q.borrow().iter().any(|e| message_of(e, id)))
    }

    /// The sender-only socket of a UDP server's message, with the local
    /// address its server reports.
    pub(crate) fn sender(peer: UdpPeer) -> Ud {
        let local = reported(peer.local_addr(), || peer.local_address());
        let to = peer.peer_addr();
        Ud {
            sender: true,
            ..Ud::of(Sock::Sender(peer), local, to, Protocol::Udp, 0)
        }
    }

    /// Largest `n` that `receive(n, ...)` accepts.
    #[cfg(any(feature = "luajit", feature = "embedjit"))]
    pub(crate) fn max_receive_size(&self) -> usize {
        self.max_receive_size
    }

    /// The `is_open` property: true until a call reports the end (Renoise's
    /// own socket test asserts `is_open` after reading a reply whose
    /// server has already closed, and only the next receive fails).
    fn is_open(&self) -> bool {
        if self.close_pending {
            return false;
        }
        match &self.client {
            Sock::Own(c) => c.is_open(),
            // False once the server's read found the end (the server
            // noticed the peer going); the program's next call still gets
            // `"disconnected"` (see `receive_other`).
            Sock::Shared(c, _, _, _) => c.is_open(),
            Sock::Sender(_) | Sock::Gone => false,
        }
    }

    /// The owned client, if it can still send; `None` for a closed or
    /// non-owned one (then see [`send_other`]).
    #[inline(always)]
    pub(crate) fn owned_open(&mut self) -> Option<&mut Client> {
        match &mut self.client {
            Sock::Own(c) if c.is_open() => Some(&mut **c),
            _ => None,
        }
    }

    /// The owned client, if it can still receive (also after a send that
    /// found the peer gone, until the end is delivered: see
    /// `Client::can_receive`); else see [`receive_other`].
    #[inline(always)]
    pub(crate) fn owned_receivable(&mut self) -> Option<&mut Client> {
        match &mut self.client {
            Sock::Own(c) if c.can_receive() => Some(&mut **c),
            _ => None,
        }
    }

    /// The server dispatched the end of this accepted connection (every
    /// message of it before): the program's next call may report it, if
    /// the peer ended it. One the program's own failed send closed (a
    /// stall) was reported by that send: later calls raise, as on a
    /// closed client.
    pub(crate) fn mark_ended(&mut self) {
        if let Sock::Shared(conn, _, _, ended) = &mut self.client {
            *ended = conn.ended_by_peer();
        }
    }

    /// Closes now a client whose `close()` had to wait; false (nothing
    /// done) while a result of it is still being made into a string.
    unsafe fn settle_close(&mut self, l: *mut lua_State) -> bool {
        if self.busy() || jit_marked_for(l, self) {
            return false;
        }
        self.close_pending = false;
        let _ = self.close();
        true
    }

    /// A result of this client starting at `result` could not be made
    /// into a Lua string (out of memory, or an error from a finalizer run
    /// meanwhile, which Lua 5.1 and LuaJIT pass on): the owned client's
    /// next receive returns those bytes again, so none is lost. (An
    /// accepted connection's results are copies: nothing to give back.)
    pub(crate) fn give_back(&mut self, result: *const u8) {
        if let Sock::Own(c) = &mut self.client {
            c.give_back(result);
        }
    }

    /// A result of this client is being made into a Lua string.
    #[inline(always)]
    pub(crate) fn busy(&self) -> bool {
        !self.busy_in.is_null()
    }

    /// [`Ud::close`], but an owned client's buffer keeps its memory (a
    /// result of it may still be being copied); an accepted connection's
    /// results are in `ud`'s own buffer, which closing does not touch.
    fn close_keeping_buffer(&mut self) -> Result<(), Fail> {
        match &mut self.client {
            Sock::Own(c) => guard(|| c.close_keeping_buffer()),
            _ => self.close(),
        }
    }

    fn close(&mut self) -> Result<(), Fail> {
        match &mut self.client {
            Sock::Own(c) => guard(|| c.close()),
            Sock::Shared(c, _, told, _) => {
                *told = true;
                let id = c.id();
                let queue = self.queue.upgrade();
                guard(|| {
                    c.close();
                    // What its server read and has not handed out yet goes
                    // with it, as a client's unread bytes do: no more
                    // `socket_message` for a socket that cannot answer. (A
                    // peer's end is not this: what it sent is still given.)
                    if let Some(Ok(mut q)) = queue.as_deref().map(RefCell::try_borrow_mut) {
                        q.retain(|e| !message_of(e, id));
                    }
                })
            }
            // Its `send` raises from now on, as on any closed client.
            Sock::Sender(_) => {
                self.client = Sock::Gone;
                Ok(())
            }
            Sock::Gone => Ok(()),
        }
    }
}

/// Whether `e` is a message of the TCP connection `id`.
fn message_of(e: &Event, id: usize) -> bool {
    matches!(e, Event::Message { from: Peer::Tcp(c), .. } if c.id() == id)
}

/// Properties readable as fields.
const PROPERTIES: [&str; 5] = [
    "is_open",
    "local_address",
    "local_port",
    "peer_address",
    "peer_port",
];

/// The class metatable's field holding the main thread, when known.
const MAIN_THREAD: &std::ffi::CStr = c"__mainthread";

/// The main thread of the running class function's state, as the class
/// metatable (its first upvalue) recorded it; null: not known.
unsafe fn recorded_main_thread(l: *mut lua_State) -> *mut lua_State {
    ffi::lua_getfield(l, ffi::lua_upvalueindex(1), MAIN_THREAD.as_ptr());
    let main = ffi::lua_touserdata(l, -1).cast::<lua_State>();
    ffi::lua_pop(l, 1);
    main
}

/// Pushes a new class metatable for this Lua state. Called once when the
/// module is opened; `create_client` keeps it as an upvalue.
pub(crate) unsafe fn push_metatable(l: *mut lua_State) {
    ffi::lua_createtable(l, 0, 8);
    let mt = ffi::lua_gettop(l);

    // Every function of the class closes over the metatable, to check
    // that its `self` is one of ours.
    let closure = |f: lua_CFunction| {
        ffi::lua_pushvalue(l, mt);
        ffi::lua_pushcclosure(l, f, 1);
    };

    // The main thread, where it can be known, for `recorded_main_thread`.
    if let Some(main) = raw::main_thread(l) {
        ffi::lua_pushlightuserdata(l, main.cast());
        ffi::lua_setfield(l, mt, MAIN_THREAD.as_ptr());
    }

    raw::fill_class(
        l,
        mt,
        c"SocketClient",
        &[(c"receive", receive), (c"send", send), (c"close", close)],
        index,
        &[
            (c"__newindex", newindex),
            (c"__gc", gc),
            (c"__close", close_meta),
            (c"__tostring", tostring),
        ],
        closure,
    );
    // LuaJIT: the FFI fast path wraps the methods on top of the stack.
    #[cfg(any(feature = "luajit", feature = "embedjit"))]
    crate::jit::install(l, mt, ffi::lua_gettop(l));
    ffi::lua_pop(l, 1); // methods
}

/// The object at stack index `index` if it is a `SocketClient`.
///
/// # Safety
/// Must run in a C closure whose first upvalue is the class metatable.
#[inline]
unsafe fn check<'a>(l: *mut lua_State, index: c_int) -> Option<&'a mut Ud> {
    if ffi::lua_type(l, index) != ffi::LUA_TUSERDATA || ffi::lua_getmetatable(l, index) == 0 {
        return None;
    }
    let ours = ffi::lua_rawequal(l, -1, ffi::lua_upvalueindex(1)) != 0;
    ffi::lua_pop(l, 1);
    if !ours {
        return None;
    }
    // SAFETY: only `create_client` gives a userdata this metatable, right
    // after writing a `Ud` into it (the `debug` library can give it to
    // another userdata: outside what the module supports, see its
    // README). Lua runs one call at a time per state, but a call can be
    // re-entered: making a result string may run a `__gc` finalizer that
    // calls a method of this very client. So the methods turn this
    // reference into a raw pointer at once and reach the fields through
    // it, and `push_result`'s busy mark keeps a nested call off the bytes
    // being copied.
    Some(&mut *ffi::lua_touserdata(l, index).cast::<Ud>())
}

/// `self` (argument 1) of a method, or the argument error Lua would give.
#[inline]
unsafe fn this<'a>(l: *mut lua_State) -> Result<&'a mut Ud, Fail> {
    match check(l, 1) {
        Some(ud) => Ok(ud),
        None => Err(type_error(l, 1, CLASS)),
    }
}

lua_fn!(receive, method "receive", receive_body);
lua_fn!(send, method "send", send_body);
lua_fn!(close, method "close", close_body);
lua_fn!(index, method "__index", index_body);
lua_fn!(newindex, method "__newindex", newindex_body);
lua_fn!(tostring, method "__tostring", tostring_body);

/// The mode argument of `receive`.
#[inline]
unsafe fn mode_at(
    l: *mut lua_State,
    index: c_int,
    max: usize,
    last: &mut LastSize,
) -> Result<Mode, Fail> {
    if let Some(s) = string_at(l, index) {
        return match s {
            b"*line" | b"*l" => Ok(Mode::Line),
            b"*all" | b"*a" => Ok(Mode::All),
            _ => Err(Fail::arg(
                index,
                format_args!(
                    "invalid mode '{}': expected '*line', '*all' or a number > 0",
                    Shown(s)
                ),
            )),
        };
    }
    let Some(n) = number_at(l, index) else {
        return Err(type_error(l, index, "string or number"));
    };
    if let Some(u) = last.of(n, max) {
        return Ok(Mode::Bytes(u));
    }
    // `LastSize` takes every size from 1 to `max`: say which rule `n` breaks.
    // A whole number too large for an integer (2^63, 1e300) is too large.
    let whole_positive = match n {
        Num::Int(i) => i >= 1,
        Num::Float(f) => f.is_finite() && f.fract() == 0.0 && f >= 1.0,
    };
    Err(if whole_positive {
        Fail::arg(
            index,
            format_args!("size must be at most {max} bytes, got {n}"),
        )
    } else {
        Fail::arg(
            index,
            format_args!("mode must be '*line', '*all' or a whole number > 0, got {n}"),
        )
    })
}

/// `receive`'s arguments, checked through the C API: evaluates to the
/// client, the mode and the timeout, or returns the error to raise from
/// the function it is used in. A macro, not a function: returning the
/// three through a `Result` cost some 10 instructions a call.
macro_rules! receive_args {
    ($l:expr) => {{
        let l = $l;
        let ud: *mut Ud = this(l)?;
        if (*ud).busy() || (*ud).close_pending || jit_marked(l) {
            not_nested(l, &mut *ud)?;
        }
        let mode = mode_at(l, 2, (*ud).max_receive_size, &mut (*ud).last_size)?;
        let timeout = timeout_at_cached(l, 3, &mut (*ud).last_timeout)?;
        if ffi::lua_gettop(l) > 3 {
            return Err(extra_argument(l, 4, "a mode and a timeout (LuaSocket's prefix has no equivalent: a timeout keeps the partial data)"));
        }
        (ud, mode, timeout)
    }};
}

/// `client:receive(mode, timeout_ms)` -> `string` | `nil, error`.
#[inline(always)]
unsafe fn receive_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let (ud, mode, timeout) = match usual_receive_args(l) {
        Some(args) => args,
        None => receive_args!(l),
    };
    let Some(client) = (*ud).owned_receivable() else {
        return receive_other(l, &mut *ud, mode, timeout);
    };
    // A line or record already buffered (the common case of a loop) needs
    // neither a deadline nor a result passed through memory.
    if let Some(Some(bytes)) = guard_fast(|| client.receive_buffered(mode)) {
        push_result(l, ud, bytes);
        return Ok(1);
    }
    // Only a small result leaves the guard on the hot path (a slice, or
    // the kind of failure): carrying a `Msg` through it would copy half a
    // kilobyte per call. The message of a rare failure is made in
    // `push_receive_error`.
    let got = guard_fast(|| client.receive(mode, timeout).map_err(Failure::of));
    match got.ok_or_else(Fail::internal)? {
        Ok(bytes) => {
            push_result(l, ud, bytes);
            Ok(1)
        }
        Err(Failure::Timeout) => Ok(push_static_failure(l, "timeout")),
        Err(Failure::Other(e)) if e.is_disconnected() => Ok(push_end(l, ud)),
        Err(Failure::Other(e)) => push_receive_error(l, e),
    }
}

/// Lua 5.1 and 5.4: the usual arguments of a receive (one of our clients,
/// not busy, a mode and a timeout it takes, nothing more), read straight
/// from the stack frame (see `stack.rs`); `None` for anything else, which
/// [`receive_args!`] then checks, and reports, through the C API.
#[cfg(stack_args)]
#[inline(always)]
unsafe fn usual_receive_args(l: *mut lua_State) -> Option<(*mut Ud, Mode, std::time::Duration)> {
    let (args, upvalue) = stack::args(l)?;
    let [this, mode, timeout] = args else {
        return None;
    };
    let ud = this.userdata_with(stack::table_of(upvalue)?)?.cast::<Ud>();
    if (*ud).busy() || (*ud).close_pending {
        return None;
    }
    let mode = match mode.string() {
        Some(b"*line" | b"*l") => Mode::Line,
        Some(b"*all" | b"*a") => Mode::All,
        Some(_) => return None,
        None => {
            let n = mode.number()?;
            Mode::Bytes((*ud).last_size.of(n, (*ud).max_receive_size)?)
        }
    };
    let timeout = (*ud).last_timeout.of(timeout.number()?)?;
    Some((ud, mode, timeout))
}

/// Elsewhere (LuaJIT's C functions, 32-bit or big-endian targets) every
/// receive checks its arguments through the C API.
#[cfg(not(stack_args))]
#[inline(always)]
unsafe fn usual_receive_args(_: *mut lua_State) -> Option<(*mut Ud, Mode, std::time::Duration)> {
    None
}

/// Pushes `nil, "disconnected"` for the end that a receive of the owned
/// client in `ud` found, and that closed it. Making the string may raise
/// (out of memory, a finalizer's error in Lua 5.1 and LuaJIT): then the
/// mark stays, and the next receive tells the end again (see
/// [`receive_other`]) rather than raise `socket is closed` before the
/// program was ever told.
#[cold]
unsafe fn push_end(l: *mut lua_State, ud: *mut Ud) -> c_int {
    (*ud).end_untold = true;
    let n = push_static_failure(l, "disconnected");
    (*ud).end_untold = false;
    n
}

/// Pushes the bytes of a receive, which live in the client's buffer (or,
/// for an accepted connection, in `ud`'s), with the client marked busy.
/// In Lua 5.1 and LuaJIT, making the string may run a collection step and
/// so any `__gc` finalizer, which could call `receive` on this very client
/// and move or overwrite those bytes while they are being copied: such a
/// call raises instead (see [`not_nested`]), and a `close` waits until the
/// copy is made. (A `send` is harmless: it never touches those bytes, and
/// a send that closes the client leaves their memory in place, see the
/// core's `Client::close_keeping_buffer`.)
///
/// Fields are reached through the raw pointer: `bytes` still borrows the
/// client inside `ud`.
#[inline(always)]
unsafe fn push_result(l: *mut lua_State, ud: *mut Ud, bytes: &[u8]) {
    // (LuaJIT: the fast path checks this mark too.)
    (*ud).busy_in = l;
    (*ud).handed = bytes.as_ptr();
    push_bytes(l, bytes);
    (*ud).busy_in = std::ptr::null_mut();
    if (*ud).close_pending {
        close_after_push(l, ud);
    }
}

#[cold]
#[inline(never)]
unsafe fn close_after_push(l: *mut lua_State, ud: *mut Ud) {
    (*ud).settle_close(l);
}

/// Called when `ud` is marked busy or has a close pending, or (LuaJIT)
/// when the fast path is in the middle of making a result into a string.
/// Raises if this is a `receive` on a client whose own receive is still
/// making its result (it can only come from a finalizer), or that was
/// closed meanwhile. Clears a mark that no running receive owns (one
/// whose string creation raised: out of memory, or an error from a
/// finalizer, which Lua 5.1 and LuaJIT pass on) and gives that result's
/// bytes back to the client, and then carries out a pending close.
#[cold]
#[inline(never)]
unsafe fn not_nested(l: *mut lua_State, ud: &mut Ud) -> Result<(), Fail> {
    if ud.busy() {
        if raw::copy_in_flight(l, ud.busy_in, recorded_main_thread(l), |l| {
            is_receive_fn(l, -1)
        }) {
            return Err(nested_or_closed(ud));
        }
        ud.busy_in = std::ptr::null_mut();
        ud.give_back(ud.handed);
    }
    if jit_owned_by(l, ud) {
        return Err(nested_or_closed(ud));
    }
    if ud.close_pending && !ud.settle_close(l) {
        return Err(Fail::closed());
    }
    Ok(())
}

/// The start of a `send` on a client with a close pending, or (LuaJIT)
/// while the fast path's mark is set: a send during a copy is harmless,
/// but a stale mark is cleared here too (for a program that only sends),
/// and a pending close is carried out if it can be.
#[cold]
#[inline(never)]
unsafe fn send_entry(l: *mut lua_State, ud: &mut Ud) -> Result<(), Fail> {
    jit_owned_by(l, ud);
    if ud.close_pending && !ud.settle_close(l) {
        return Err(Fail::closed());
    }
    Ok(())
}

/// Whether the value at `index` is the classic `receive`.
pub(crate) unsafe fn is_receive_fn(l: *mut lua_State, index: c_int) -> bool {
    ffi::lua_tocfunction(l, index).map(|f| f as *const ()) == Some(receive as *const ())
}

/// The error of a nested receive: "socket is closed" once the client was
/// closed meanwhile (its socket already is).
fn nested_or_closed(ud: &Ud) -> Fail {
    if ud.close_pending {
        Fail::closed()
    } else {
        nested()
    }
}

/// The error of a nested receive.
pub(crate) fn nested() -> Fail {
    Fail::error(
        "receive called on a client whose own receive has not returned yet \
         (from a __gc finalizer?); nothing was read",
    )
}

/// A failed receive, as it leaves the guard.
pub(crate) enum Failure {
    /// The expected failure of polling: pushed as a constant string.
    Timeout,
    /// Anything else; turned into a message before anything is pushed.
    Other(renoise_socket::Error),
}

impl Failure {
    #[inline]
    pub(crate) fn of(e: renoise_socket::Error) -> Failure {
        match e {
            renoise_socket::Error::Timeout => Failure::Timeout,
            e => Failure::Other(e),
        }
    }
}

/// Pushes `nil, msg` for a constant message; returns 2.
#[inline]
unsafe fn push_static_failure(l: *mut lua_State, msg: &'static str) -> c_int {
    ffi::lua_pushnil(l);
    push_bytes(l, msg.as_bytes());
    2
}

/// Pushes `nil, message` for a receive error other than a timeout. The
/// error is formatted and dropped inside the guard, so nothing with a
/// destructor is alive while Lua allocates the message.
#[cold]
#[inline(never)]
unsafe fn push_receive_error(l: *mut lua_State, e: renoise_socket::Error) -> Result<c_int, Fail> {
    let msg = guard(move || Msg::of(e))?;
    Ok(push_failure(l, &msg))
}

/// `client:send(message)` -> `true` | `false, error`.
#[inline(always)]
unsafe fn send_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let ud = this(l)?;
    if ud.close_pending || jit_marked(l) {
        send_entry(l, ud)?;
    }
    // Strings (no number coercion, as in Renoise), then OSC objects.
    let data = match string_at(l, 2) {
        Some(data) => data,
        None => match crate::osc::packet_data(l, 2) {
            Some(data) => data,
            None => return Err(type_error(l, 2, "string, Message or Bundle")),
        },
    };
    if ffi::lua_gettop(l) > 2 {
        return Err(extra_argument(
            l,
            3,
            "one message (LuaSocket's i, j have no equivalent: send a substring)",
        ));
    }
    let Some(client) = ud.owned_open() else {
        return send_other(l, ud, data);
    };
    let sent = guard(|| client.send(data).map_err(Msg::of))?;
    Ok(push_sent(l, sent))
}

/// An argument past the last one a method takes: an error, as in Renoise
/// (its bindings match calls by their arguments), rather than ignored
/// (LuaSocket gives `send` and `receive` more, with other meanings).
#[cold]
unsafe fn extra_argument(l: *mut lua_State, index: c_int, takes: &str) -> Fail {
    let got = raw::type_name(l, index);
    Fail::arg(
        index,
        format_args!(
            "no more arguments expected: it takes {takes}; got {}",
            Shown(got.as_bytes())
        ),
    )
}

/// `send`'s results: `true`, or `false, message`.
unsafe fn push_sent(l: *mut lua_State, sent: Result<(), Msg>) -> c_int {
    match sent {
        Ok(()) => {
            ffi::lua_pushboolean(l, 1);
            1
        }
        Err(msg) => {
            ffi::lua_pushboolean(l, 0);
            msg.push(l);
            2
        }
    }
}

/// `receive` on anything but an open owned client (the cold path).
///
/// A shared connection is read under its lock, and the bytes are copied
/// into the userdata's own buffer inside [`guard`], so the `MutexGuard` is
/// gone before anything is pushed: `lua_pushlstring` may raise a memory
/// error (a `longjmp`), which must not skip a guard (the lock would stay
/// held for ever) nor any other Rust value. The buffer belongs to the
/// userdata, not to this frame, so nothing is skipped either way.
#[cold]
#[inline(never)]
unsafe fn receive_other(
    l: *mut lua_State,
    ud: &mut Ud,
    mode: Mode,
    timeout: std::time::Duration,
) -> Result<c_int, Fail> {
    let this: *mut Ud = ud;
    match &mut (*this).client {
        // Told once, by whichever call saw the end: from then on it is a
        // closed socket (what the peer sent still reaches the server's
        // `socket_message`).
        Sock::Shared(_, _, true, _) => Err(Fail::closed()),
        // Messages of this connection are still to be dispatched: what a
        // receive could read now (more bytes, or the end) comes after
        // them, so it must not be handed out, nor the end reported, first.
        Sock::Shared(conn, ..) if (*this).has_queued(conn.id()) => {
            Ok(push_static_failure(l, "timeout"))
        }
        Sock::Shared(conn, buf, told, _) if conn.lock().can_receive() => {
            // Owned (no memory is an error, not an abort): the lock is
            // gone before anything is pushed.
            let got = guard(|| match conn.lock().receive_vec(mode, timeout) {
                Ok(v) => {
                    *buf = v;
                    Ok(())
                }
                Err(e) => Err((e.is_disconnected(), Msg::of(e))),
            })?;
            match got {
                Ok(()) => {
                    push_result(l, this, buf);
                    // Pushed: keep a small buffer for the next call only.
                    if buf.capacity() > 64 << 10 {
                        *buf = Vec::new();
                    }
                    Ok(1)
                }
                Err((end, msg)) => {
                    *told |= end;
                    Ok(push_failure(l, &msg))
                }
            }
        }
        // The server read the end, but messages it read before are still
        // to be dispatched as `socket_message`: reporting the end now would
        // come before those bytes. Nothing can be received here meanwhile.
        Sock::Shared(conn, _, false, false) if conn.ended_by_peer() => {
            Ok(push_static_failure(l, "timeout"))
        }
        Sock::Shared(_, _, told @ false, true) => {
            *told = true;
            Ok(push_static_failure(l, "disconnected"))
        }
        Sock::Own(_) if (*this).end_untold => Ok(push_end(l, this)),
        Sock::Sender(_) => Err(Fail::error(
            "cannot receive on a UDP server's sender-only socket \
             (datagrams arrive at the server; reply with send)",
        )),
        _ => Err(Fail::closed()),
    }
}

/// `send` on anything but an open owned client (the cold path): a shared
/// connection, a UDP sender (a reply from the server's port), or a closed
/// socket.
#[cold]
#[inline(never)]
unsafe fn send_other(l: *mut lua_State, ud: &mut Ud, data: &[u8]) -> Result<c_int, Fail> {
    let sent = match &mut ud.client {
        Sock::Shared(conn, _, told, _) if conn.is_open() => {
            let sent = guard(|| {
                conn.send(data)
                    .map_err(|e| (e.is_disconnected(), Msg::of(e)))
            })?;
            // The program has been told: the server's later read of the
            // end must not tell it again.
            *told |= matches!(sent, Err((true, _)));
            sent.map_err(|(_, m)| m)
        }
        Sock::Shared(conn, _, told @ false, ended) if *ended || conn.ended_by_peer() => {
            *told = true;
            Err(Msg::of("disconnected"))
        }
        Sock::Sender(peer) => guard(|| peer.send(data).map_err(Msg::of))?,
        _ => return Err(Fail::closed()),
    };
    Ok(push_sent(l, sent))
}

/// `client:close()`: any number of times.
unsafe fn close_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let ud = this(l)?;
    if ud.busy() || jit_marked_for(l, ud) {
        // From a finalizer, while a result of this client is being copied
        // (or a mark left by one that raised): freeing the buffer would
        // free those bytes. The socket goes now (the peer sees the end at
        // once); the buffer's memory once the copy is done.
        ud.close_keeping_buffer()?;
        ud.close_pending = true;
        #[cfg(any(feature = "luajit", feature = "embedjit"))]
        crate::jit::set_fast(l, ffi::lua_upvalueindex(1), 1, false);
        return Ok(0);
    }
    ud.close()?;
    Ok(0)
}

/// `__close` (Lua 5.4 `local c <close> = ...`): closes; never raises.
unsafe extern "C-unwind" fn close_meta(l: *mut lua_State) -> c_int {
    if let Some(ud) = check(l, 1) {
        let _ = ud.close();
    }
    0
}

/// `__gc`: closes the socket and frees the client's memory (a shared
/// connection: this handle; the server closes the connection itself).
unsafe extern "C-unwind" fn gc(l: *mut lua_State) -> c_int {
    if let Some(ud) = check(l, 1) {
        jit_forget(l, ud);
        let client = std::mem::replace(&mut ud.client, Sock::Gone);
        // The userdata's memory is Lua's and is never dropped as a whole.
        let queue = std::mem::take(&mut ud.queue);
        let _ = guard(move || drop((client, queue)));
    }
    0
}

/// `__index`: methods first (one table lookup), then properties; any
/// other key reads as `nil`.
unsafe fn index_body(l: *mut lua_State) -> Result<c_int, Fail> {
    ffi::lua_pushvalue(l, 2);
    if ffi::lua_rawget(l, ffi::lua_upvalueindex(2)) != ffi::LUA_TNIL {
        return Ok(1);
    }
    ffi::lua_pop(l, 1);
    let ud = this(l)?;
    match string_at(l, 2).unwrap_or_default() {
        b"is_open" => ffi::lua_pushboolean(l, ud.is_open() as c_int),
        b"local_address" => Msg::of(renoise_socket::address_text(&ud.local)).push(l),
        b"local_port" => ffi::lua_pushinteger(l, ud.local.port().into()),
        b"peer_address" => Msg::of(renoise_socket::address_text(&ud.peer)).push(l),
        b"peer_port" => ffi::lua_pushinteger(l, ud.peer.port().into()),
        _ => ffi::lua_pushnil(l),
    }
    Ok(1)
}

/// `__newindex`: every field is read-only, and objects take no new fields.
unsafe fn newindex_body(l: *mut lua_State) -> Result<c_int, Fail> {
    Err(read_only_field(
        l,
        CLASS,
        &PROPERTIES,
        &["receive", "send", "close"],
    ))
}

/// `tostring(client)`: `SocketClient(TCP 127.0.0.1:50000 -> 127.0.0.1:8080, open)`.
unsafe fn tostring_body(l: *mut lua_State) -> Result<c_int, Fail> {
    use renoise_socket::socket_address_text;
    let ud = this(l)?;
    let gone = || {
        if ud.sender {
            // As while open (the core's `UdpPeer`): the server's address,
            // then who sent to it.
            return Msg::of(format_args!(
                "{CLASS}(UDP {} <- {}, sender, closed)",
                socket_address_text(&ud.local),
                socket_address_text(&ud.peer)
            ));
        }
        Msg::of(format_args!(
            "{CLASS}({} {} -> {}, closed)",
            ud.protocol,
            socket_address_text(&ud.local),
            socket_address_text(&ud.peer)
        ))
    };
    let msg = match &ud.client {
        Sock::Gone => gone(),
        _ if ud.close_pending => gone(),
        Sock::Own(c) => Msg::of(&**c),
        Sock::Shared(c, _, _, _) => Msg::of(c),
        Sock::Sender(p) => Msg::of(p),
    };
    msg.push(l);
    Ok(1)
}
