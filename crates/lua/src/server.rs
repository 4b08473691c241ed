//! `create_server` and `SocketServer` objects: a core [`Server`] whose
//! events are dispatched to a Lua notifier.
//!
//! # Callbacks only inside `wait`
//!
//! The core server has no thread: `wait(timeout_ms)` loops `poll(remaining)`
//! and dispatches each batch before polling again, so a callback can answer
//! a peer within the same `wait`, and everything that happens within the
//! timeout (connections accepted during the call included) is dispatched.
//! `wait(0)` dispatches what is pending without blocking: the call for a
//! runner loop, once per cycle.
//!
//! # Soundness with callbacks and `longjmp`
//!
//! Callbacks are called with `lua_pcall`, through [`call_cb`] (which also
//! looks the callback up, so a raising `__index` of a class instance is
//! caught as well). Between the Lua API calls that may raise (allocation),
//! the Rust frames own nothing with a destructor (see `raw.rs`):
//!
//! - the events of a poll are moved straight into the userdata's queue;
//! - the event being dispatched is moved into a *holder*: a fresh userdata
//!   on this call's stack, reachable from nowhere else, whose `__gc` drops
//!   it. Arguments are pushed from it. The body of `wait` runs under
//!   `lua_pcall`; if anything raises before the callback has the event
//!   (out of memory, a full Lua stack), the `wait` entry puts the event
//!   back at the front of the queue and re-raises. No other code (a nested
//!   `wait`, a finalizer that closes the server) can reach the holder, so
//!   borrowing from it across Lua calls is safe;
//! - the server userdata is reached through a raw pointer, re-borrowed
//!   briefly after every call into Lua (a callback may stop, close, or
//!   `wait` on the same server);
//! - a callback error to re-raise from `wait` is left on the Lua stack and
//!   raised by the `extern` entry after the body returned.
//!
//! The notifier and the Lua objects of accepted connections live in the
//! userdata's user value (a table `{notifier = ..., conns = {[id] = obj}}`),
//! so a notifier that refers back to its server is still collectable.

use crate::client::Ud;
use crate::options;
use crate::raw::{
    self, guard, number_at, push_bytes, push_failure, raise, read_only_field, string_at,
    timeout_at, type_error, type_name, Callee, Fail, Msg,
};
use mlua::ffi::{self, lua_CFunction, lua_State};
use renoise_socket::{
    ClientBuilder, Connection, Error, Event, Peer, Protocol, Server, ServerBuilder,
};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::{c_int, c_void, CStr};
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// The name of the class, in messages and as `__name`.
const CLASS: &str = "SocketServer";

/// The registry field holding the host's message handler for callbacks
/// (`set_callback_handler`).
pub(crate) const HANDLER_KEY: &CStr = c"renoise_socket.callback_handler";

// `create_server` may raise (allocation) while a builder is alive: it must
// own nothing that needs dropping (see `raw.rs`).
const _: () = assert!(!std::mem::needs_drop::<ServerBuilder>());

/// What a `SocketServer` userdata holds (written with `ptr::write` by
/// `create_server`, dropped piecewise by `__gc`).
struct Srv {
    /// `None` until bound, and after `__gc`. Boxed: the server's alignment
    /// is not ours to promise.
    server: Option<Box<Server>>,
    /// Between `run` and `stop` / `close`.
    running: bool,
    /// The notifier has a `socket_message`, so the core server reads its
    /// TCP connections: looked at by `run`, and again by each `wait`
    /// while false (one may be added later; see `probe`).
    reads: bool,
    /// Events polled and not dispatched yet (kept across `stop` / `run`,
    /// and when a callback error is re-raised from `wait`).
    /// Shared (weakly) with the objects of accepted connections: a receive
    /// of theirs must not report the end while a message of theirs is
    /// still in it (see `Ud::has_queued`). `None` after `__gc`, which
    /// frees it (a Lua 5.4 finalizer may still reach the userdata).
    queue: Option<Queue>,
    protocol: Protocol,
    local: SocketAddr,
    /// For the `SocketClient`s of accepted connections.
    max_receive_size: usize,
}

impl Srv {
    fn is_open(&self) -> bool {
        self.server.as_ref().is_some_and(|s| s.is_open())
    }

    /// Closes the core server (and its connections) and forgets the
    /// queued events. Touches no Lua state.
    fn close(&mut self) -> Result<(), Fail> {
        self.running = false;
        let queue = self
            .queue
            .as_ref()
            .map(|q| std::mem::take(&mut *q.borrow_mut()));
        let server = self.server.as_mut();
        guard(move || {
            drop(queue);
            if let Some(s) = server {
                s.close();
            }
        })
    }
}

/// Events polled and not dispatched yet.
pub(crate) type Queue = Rc<RefCell<VecDeque<Event>>>;

/// The event being dispatched (at most one), owned by a userdata (see the
/// module docs). A `Vec`: an `Event` may be aligned more strictly than
/// userdata memory is, and it keeps its one slot across events.
struct Holder(Vec<Event>);

// Lua aligns userdata memory to at least 8 bytes on every supported target.
const _: () = assert!(std::mem::align_of::<Srv>() <= 8);
const _: () = assert!(std::mem::align_of::<Holder>() <= 8);

/// Upvalues of every function of the class.
const UP_SERVER_MT: c_int = 1;
const UP_CLIENT_MT: c_int = 2;
const UP_HOLDER_MT: c_int = 3;

/// Properties readable as fields.
const PROPERTIES: [&str; 4] = ["is_open", "is_running", "local_address", "local_port"];
const METHODS: [&str; 4] = ["run", "stop", "wait", "close"];

/// Pushes `create_server`, a closure over the class metatables. Expects the
/// `SocketClient` metatable at stack index `client_mt` (left in place).
pub(crate) unsafe fn push_create_server(l: *mut lua_State, client_mt: c_int) {
    let client_mt = ffi::lua_absindex(l, client_mt);
    // The three upvalues, in order: server, client and holder metatables.
    ffi::lua_createtable(l, 0, 8);
    let mt = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, client_mt);
    ffi::lua_createtable(l, 0, 2);
    let holder_mt = ffi::lua_gettop(l);
    ffi::lua_pushcfunction(l, holder_gc);
    ffi::lua_setfield(l, holder_mt, c"__gc".as_ptr());
    ffi::lua_pushstring(l, c"SocketServer event".as_ptr());
    ffi::lua_setfield(l, holder_mt, c"__metatable".as_ptr());

    // Pushes a closure of `f` over the three upvalues.
    let closure = |f: lua_CFunction| {
        ffi::lua_pushvalue(l, mt);
        ffi::lua_pushvalue(l, client_mt);
        ffi::lua_pushvalue(l, holder_mt);
        ffi::lua_pushcclosure(l, f, 3);
    };

    raw::fill_class(
        l,
        mt,
        c"SocketServer",
        &[
            (c"run", run),
            (c"stop", stop),
            (c"wait", wait),
            (c"close", close),
        ],
        index,
        &[
            (c"__newindex", newindex),
            (c"__gc", gc),
            (c"__close", close_meta),
            (c"__tostring", tostring),
        ],
        closure,
    );
    // Pop the methods table; the stack is then: mt, client mt, holder mt.
    ffi::lua_pop(l, 1);
    ffi::lua_pushcclosure(l, create_server, 3);
}

/// The server at stack index `index`, as a raw pointer (re-borrow briefly:
/// callbacks may use the same server).
///
/// # Safety
/// Must run in a C closure whose first upvalue is the class metatable.
unsafe fn check(l: *mut lua_State, index: c_int) -> Option<*mut Srv> {
    if ffi::lua_type(l, index) != ffi::LUA_TUSERDATA || ffi::lua_getmetatable(l, index) == 0 {
        return None;
    }
    let ours = ffi::lua_rawequal(l, -1, ffi::lua_upvalueindex(UP_SERVER_MT)) != 0;
    ffi::lua_pop(l, 1);
    // SAFETY: only `create_server` gives a userdata this metatable, right
    // after writing a `Srv` into it.
    ours.then(|| ffi::lua_touserdata(l, index).cast::<Srv>())
}

/// `self` (argument 1) of a method, or the argument error Lua would give.
unsafe fn this(l: *mut lua_State) -> Result<*mut Srv, Fail> {
    check(l, 1).ok_or_else(|| type_error(l, 1, CLASS))
}

/// `"server is closed"`.
fn closed() -> Fail {
    Fail::error("server is closed")
}

/// Defines the `extern "C-unwind"` entry of a method; the body returns
/// [`RERAISE`] to raise the value on top of the stack as it is (a callback
/// error), after every Rust value of the body was dropped.
macro_rules! method {
    ($name:ident, $lua_name:literal, $body:ident) => {
        unsafe extern "C-unwind" fn $name(l: *mut lua_State) -> c_int {
            match $body(l) {
                Ok(RERAISE) => ffi::lua_error(l),
                Ok(n) => n,
                Err(fail) => raise(
                    l,
                    Callee {
                        name: $lua_name,
                        method: true,
                    },
                    fail,
                ),
            }
        }
    };
}

/// See [`method!`].
const RERAISE: c_int = -1;

method!(run, "run", run_body);
method!(stop, "stop", stop_body);

/// Most `wait` calls running at once on one thread, one inside another's
/// callback, of one server or of several (they share the C stack). A
/// callback (or a notifier's `__index`) that calls `wait` without end
/// would otherwise overflow the C stack: Lua 5.1 and 5.4 (at about 49
/// levels) then raise errors that may be dropped on the way out, and
/// LuaJIT crashes.
const MAX_NESTED_WAITS: u32 = 32;

thread_local! {
    /// `wait` calls running now on this thread (see [`MAX_NESTED_WAITS`]).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// A `wait` on this thread is asking its notifier whether it has a
    /// `socket_message`: a `wait` from inside that lookup (a class
    /// instance's `__index`) raises, since an error it met would be taken
    /// for the lookup's own.
    static PROBING: Cell<bool> = const { Cell::new(false) };
}

/// `server:wait(timeout_ms)`: checks its arguments, then runs
/// [`wait_body`] under `lua_pcall`, so that whatever is raised inside (out
/// of memory, the nesting limit of a `wait` within) leaves the server
/// consistent before it goes on: the nesting count goes back, and an event
/// whose callback's arguments could not be made goes back to the front of
/// the queue, to be dispatched first by the next `wait` (never lost).
unsafe extern "C-unwind" fn wait(l: *mut lua_State) -> c_int {
    let p = match wait_check(l) {
        Ok(p) => p,
        Err(fail) => raise(
            l,
            Callee {
                name: "wait",
                method: true,
            },
            fail,
        ),
    };
    ffi::lua_settop(l, 2);
    // The holder (3) lives on this frame, so it outlives the protected call.
    let h = ffi::lua_newuserdata(l, std::mem::size_of::<Holder>()).cast::<Holder>();
    std::ptr::write(h, Holder(Vec::new()));
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_HOLDER_MT));
    ffi::lua_setmetatable(l, -2);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_SERVER_MT));
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_CLIENT_MT));
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_HOLDER_MT));
    ffi::lua_pushcclosure(l, wait_protected, 3);
    ffi::lua_pushvalue(l, 1);
    ffi::lua_pushvalue(l, 2);
    ffi::lua_pushvalue(l, 3);
    DEPTH.set(DEPTH.get() + 1);
    let status = ffi::lua_pcall(l, 3, 0, 0);
    DEPTH.set(DEPTH.get() - 1);
    // `p` is still the server: `self` (1) keeps the userdata alive.
    let srv = &mut *p;
    if status == ffi::LUA_OK {
        return 0;
    }
    if let Some(ev) = (*h).0.pop() {
        match &srv.queue {
            Some(queue) if srv.is_open() => queue.borrow_mut().push_front(ev),
            _ => {
                let _ = guard(move || drop(ev));
            }
        }
    }
    ffi::lua_error(l)
}

/// The checks of `wait` before it runs: `self`, the timeout, an open
/// server, and the nesting rules.
unsafe fn wait_check(l: *mut lua_State) -> Result<*mut Srv, Fail> {
    let p = this(l)?;
    timeout_at(l, 2)?;
    let srv = &*p;
    if !srv.is_open() {
        return Err(closed());
    }
    if PROBING.get() {
        return Err(Fail::error(
            "wait called while the server asks its notifier for socket_message \
             (from the notifier's __index?)",
        ));
    }
    if DEPTH.get() >= MAX_NESTED_WAITS {
        return Err(Fail::error(format_args!(
            "wait nested {MAX_NESTED_WAITS} deep: a server's callback (or its \
             notifier's __index) calls wait without end"
        )));
    }
    Ok(p)
}

// The body of `wait`, called by it under `lua_pcall` (`self`, timeout,
// holder).
method!(wait_protected, "wait", wait_body);
method!(close, "close", close_body);
method!(index, "__index", index_body);
method!(newindex, "__newindex", newindex_body);
method!(tostring, "__tostring", tostring_body);

unsafe extern "C-unwind" fn create_server(l: *mut lua_State) -> c_int {
    match create_server_body(l) {
        Ok(n) => n,
        Err(fail) => raise(
            l,
            Callee {
                name: "create_server",
                method: false,
            },
            fail,
        ),
    }
}

/// The port at `index`: a whole number 0..65535 (0 picks a free port).
unsafe fn port_at(l: *mut lua_State, index: c_int) -> Result<u16, Fail> {
    match number_at(l, index) {
        Some(n) => n
            .whole()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| {
                Fail::arg(
                    index,
                    format_args!("port must be a whole number between 0 and 65535, got {n}"),
                )
            }),
        None => Err(type_error(l, index, "number")),
    }
}

/// `create_server([address,] port [, protocol [, options]])` -> server |
/// `nil, error`. A number first is the port (every interface).
unsafe fn create_server_body(l: *mut lua_State) -> Result<c_int, Fail> {
    // Three descriptors (socket, epoll, waker) and the event loop's buffers.
    crate::raw::collect_for(l, 64);
    // `first`: the index of the port.
    let (host, first) = match ffi::lua_type(l, 1) {
        ffi::LUA_TNUMBER => (None, 1),
        ffi::LUA_TNIL => (None, 2),
        ffi::LUA_TSTRING => (string_at(l, 1), 2),
        _ => return Err(type_error(l, 1, "string or number")),
    };
    let port = port_at(l, first)?;
    let protocol = match ffi::lua_type(l, first + 1) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => Protocol::Tcp,
        _ => match number_at(l, first + 1) {
            Some(n) => n.whole().and_then(Protocol::from_renoise).ok_or_else(|| {
                Fail::arg(
                    first + 1,
                    format_args!("protocol must be PROTOCOL_TCP (1) or PROTOCOL_UDP (2), got {n}"),
                )
            })?,
            None => return Err(type_error(l, first + 1, "number or nil")),
        },
    };
    let opts = options::read(l, first + 2, ClientBuilder::new(), false)?;
    let host = match host {
        Some(h) => match std::str::from_utf8(h) {
            Ok(h) => Some(h),
            // Not a name: an expected failure, as in `create_client`.
            Err(_) => return Ok(crate::socket::push_unknown_host(l, h)),
        },
        None => None,
    };
    let builder = ServerBuilder::new()
        .protocol(protocol)
        .connection_options(opts.builder);

    // The Lua side first, with no server in it yet: if this raises (out of
    // memory) no socket is open, and once the metatable is set `__gc`
    // handles whatever the userdata holds.
    let ud = ffi::lua_newuserdata(l, std::mem::size_of::<Srv>()).cast::<Srv>();
    std::ptr::write(
        ud,
        Srv {
            server: None,
            running: false,
            reads: false,
            queue: Some(Queue::default()),
            protocol,
            local: SocketAddr::from(([0, 0, 0, 0], port)),
            max_receive_size: opts.max_receive_size,
        },
    );
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_SERVER_MT));
    ffi::lua_setmetatable(l, -2);
    ffi::lua_createtable(l, 0, 2);
    ffi::lua_createtable(l, 0, 0);
    ffi::lua_setfield(l, -2, c"conns".as_ptr());
    ffi::lua_setuservalue(l, -2);

    let bound = guard(|| match builder.bind(host, port) {
        Ok(s) => Ok(Box::new(s)),
        Err(Error::InvalidArgument(m)) => Err(Fail::arg(1, m)),
        Err(e) => Err(Fail::Error(Msg::of(e))),
    })?;
    match bound {
        Ok(server) => {
            // SAFETY: `ud` is the userdata on top of the stack; no Lua call
            // happened since it was last borrowed.
            let srv = &mut *ud;
            srv.local = crate::client::reported(server.local_addr(), || server.local_address());
            srv.server = Some(server);
            Ok(1)
        }
        Err(Fail::Error(msg)) => Ok(push_failure(l, &msg)),
        Err(arg) => Err(arg),
    }
}

/// Pushes the server's user value (the state table) and returns its
/// index. Raises if someone replaced it (only the `debug` library can).
unsafe fn push_state(l: *mut lua_State) -> Result<c_int, Fail> {
    ffi::lua_getuservalue(l, 1);
    if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
        return Err(Fail::error("SocketServer's state was replaced"));
    }
    Ok(ffi::lua_gettop(l))
}

/// `server:run(notifier)`: starts dispatching events to `notifier` (a
/// table of functions, or a class instance) inside `wait`. Again while
/// running: replaces the notifier.
unsafe fn run_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let p = this(l)?;
    match ffi::lua_type(l, 2) {
        ffi::LUA_TTABLE => {
            // A plain table: its callbacks must be functions (catches
            // `socket_message = "x"`). A class instance may provide them
            // through its metatable; those are checked when called.
            if ffi::lua_getmetatable(l, 2) == 0 {
                for name in [c"socket_error", c"socket_accepted", c"socket_message"] {
                    ffi::lua_getfield(l, 2, name.as_ptr());
                    let t = ffi::lua_type(l, -1);
                    if t != ffi::LUA_TNIL && t != ffi::LUA_TFUNCTION {
                        let got = type_name(l, -1);
                        return Err(Fail::arg(
                            2,
                            format_args!(
                                "notifier field '{}' must be a function, got {}",
                                name.to_string_lossy(),
                                String::from_utf8_lossy(got.as_bytes())
                            ),
                        ));
                    }
                    ffi::lua_pop(l, 1);
                }
            } else {
                ffi::lua_pop(l, 1);
            }
        }
        ffi::LUA_TUSERDATA => {}
        _ => return Err(type_error(l, 2, "table")),
    }
    if !(*p).is_open() {
        return Err(closed());
    }
    ffi::lua_settop(l, 2);
    let state = push_state(l)?;
    ffi::lua_pushvalue(l, 2);
    ffi::lua_setfield(l, state, c"notifier".as_ptr());
    (*p).running = true;
    // Whether it takes messages: if not, those already queued go back to
    // their connections at once, for the program's own `receive`. (A
    // `socket_message` added later is seen by the next `wait`.)
    probe(l, p, state)?;
    Ok(0)
}

/// Looks whether the notifier (in `state`) has a `socket_message`.
/// Without one the bytes would be read and dropped: they are left to the
/// program's own `receive` calls (a LuaSocket-style loop that only takes
/// connections from the server) until the notifier has one, given to
/// `run` or added later, and messages already read but not dispatched go
/// back to their connections, in order. A lookup that raises counts as
/// having one. Leaves the stack as it found it.
unsafe fn probe(l: *mut lua_State, p: *mut Srv, state: c_int) -> Result<(), Fail> {
    let top = ffi::lua_gettop(l);
    ffi::lua_pushcfunction(l, has_message_cb);
    ffi::lua_getfield(l, state, c"notifier".as_ptr());
    PROBING.set(true);
    let reads = ffi::lua_pcall(l, 1, 1, 0) != 0 || ffi::lua_toboolean(l, -1) != 0;
    PROBING.set(false);
    ffi::lua_settop(l, top);
    let srv = &mut *p;
    srv.reads = reads;
    let queue = &srv.queue;
    let server = srv.server.as_mut();
    guard(|| {
        if let Some(server) = server {
            server.read_connections(reads);
        }
        if let (false, Some(queue)) = (reads, queue) {
            give_back(&mut queue.borrow_mut());
        }
    })
}

/// Hands the queued messages of TCP connections back to them (see
/// [`probe`]), each connection's in their order; the other events stay.
fn give_back(queue: &mut VecDeque<Event>) {
    let mut taken: Vec<(Connection, Vec<Vec<u8>>)> = Vec::new();
    queue.retain_mut(|e| match e {
        Event::Message {
            from: Peer::Tcp(conn),
            data,
        } => {
            let data = std::mem::take(data);
            match taken.iter_mut().find(|(c, _)| c == conn) {
                Some((_, list)) => list.push(data),
                None => taken.push((conn.clone(), vec![data])),
            }
            false
        }
        _ => true,
    });
    for (conn, list) in taken {
        let parts: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
        conn.unread(&parts);
    }
}

/// `has_message_cb(notifier)`, run under `lua_pcall` (an instance's
/// `__index` may raise): whether the notifier has a `socket_message`.
unsafe extern "C-unwind" fn has_message_cb(l: *mut lua_State) -> c_int {
    ffi::lua_getfield(l, 1, c"socket_message".as_ptr());
    let has = ffi::lua_type(l, -1) != ffi::LUA_TNIL;
    ffi::lua_pushboolean(l, has as c_int);
    1
}

/// `server:stop()`: no more callbacks until `run` again; the socket stays
/// open and what arrives meanwhile is dispatched after `run`. Any number of
/// times, also on a closed server.
unsafe fn stop_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let p = this(l)?;
    (*p).running = false;
    Ok(0)
}

/// `server:close()`: closes the socket and every accepted connection; the
/// port is free at once. Any number of times.
unsafe fn close_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let p = this(l)?;
    (*p).close()?;
    // Forget the notifier and the connection objects.
    ffi::lua_settop(l, 1);
    let state = push_state(l)?;
    ffi::lua_pushnil(l);
    ffi::lua_setfield(l, state, c"notifier".as_ptr());
    ffi::lua_createtable(l, 0, 0);
    ffi::lua_setfield(l, state, c"conns".as_ptr());
    Ok(0)
}

/// `__close` (Lua 5.4 `local s <close> = ...`): closes; never raises.
unsafe extern "C-unwind" fn close_meta(l: *mut lua_State) -> c_int {
    if let Some(p) = check(l, 1) {
        let _ = (*p).close();
    }
    0
}

/// `__gc`: closes the server and frees it.
unsafe extern "C-unwind" fn gc(l: *mut lua_State) -> c_int {
    if let Some(p) = check(l, 1) {
        let srv = &mut *p;
        srv.running = false;
        let server = srv.server.take();
        let queue = srv.queue.take();
        let _ = guard(move || drop((server, queue)));
    }
    0
}

/// `__gc` of an event holder.
unsafe extern "C-unwind" fn holder_gc(l: *mut lua_State) -> c_int {
    let p = ffi::lua_touserdata(l, 1).cast::<Holder>();
    if !p.is_null() {
        let evs = std::mem::take(&mut (*p).0);
        let _ = guard(move || drop(evs));
    }
    0
}

/// `server:wait(timeout_ms)` once [`wait`] has checked it: see the module
/// docs. A server that is open but not running (never run, or stopped)
/// dispatches nothing and just sleeps for `timeout_ms`.
unsafe fn wait_body(l: *mut lua_State) -> Result<c_int, Fail> {
    // Checked by `wait`: these only read the arguments again.
    let p = this(l)?;
    let timeout = timeout_at(l, 2)?;
    // Closed since, by a finalizer that `wait`'s allocations ran: as after
    // a `close` from a callback, this wait returns at once.
    if !(*p).is_open() {
        return Ok(0);
    }
    if !(*p).running {
        std::thread::sleep(timeout);
        return Ok(0);
    }
    let deadline = Instant::now().checked_add(timeout);
    ffi::lua_settop(l, 3);
    // The holder, made by `wait`.
    let h = ffi::lua_touserdata(l, 3).cast::<Holder>();
    let state = push_state(l)?; // 4
    if !(*p).reads {
        probe(l, p, state)?;
    }
    // The host's message handler for callbacks, if it set one (an
    // embedding host's traceback of the callback's own frames): looked up
    // once per wait, its stack index passed to every dispatch (0: none).
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, HANDLER_KEY.as_ptr());
    let msgh = if ffi::lua_type(l, -1) == ffi::LUA_TFUNCTION {
        ffi::lua_gettop(l)
    } else {
        ffi::lua_pop(l, 1);
        0
    };
    let base = ffi::lua_gettop(l);

    // Polls left once the deadline has passed: one, and once one more
    // after such a poll that accepted connections (they are read from the
    // next poll on: so `wait(0)` delivers what came with them too).
    let mut last_polls = 1;
    let mut bonus = true;
    loop {
        // Dispatch what is queued, one event at a time.
        loop {
            let srv = &mut *p;
            if !srv.running || !srv.is_open() {
                return Ok(0);
            }
            let Some(ev) = srv.queue.as_ref().and_then(|q| q.borrow_mut().pop_front()) else {
                break;
            };
            // The holder is empty here (`dispatch` takes the event).
            (*h).0.push(ev);
            if !dispatch(l, p, state, h, msgh)? {
                return Ok(RERAISE); // the error is on top
            }
            ffi::lua_settop(l, base);
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            if last_polls == 0 {
                return Ok(0);
            }
            last_polls -= 1;
        }
        let srv = &mut *p;
        let (Some(server), Some(queue)) = (srv.server.as_mut(), srv.queue.as_ref()) else {
            return Ok(0);
        };
        // The events go straight into the queue: no Lua call in between.
        let ok = guard(|| match server.poll(left.unwrap_or(Duration::MAX)) {
            Ok(events) => {
                if left == Some(Duration::ZERO)
                    && bonus
                    && events.iter().any(|e| matches!(e, Event::Accepted(_)))
                {
                    bonus = false;
                    last_polls += 1;
                }
                queue.borrow_mut().extend(events);
                true
            }
            Err(_) => false, // closed
        })?;
        if !ok {
            return Ok(0);
        }
    }
}

/// What a callback is given.
enum Call {
    /// Nothing to call (a `Closed` event).
    None,
    /// The callback's name; its arguments are on the stack.
    Some(&'static CStr, c_int),
}

/// Dispatches the event in the holder `h`, calling its callback with the
/// message handler at stack index `msgh` (0: none). Returns `false` when a
/// callback error is to be re-raised from `wait`: the error value is then
/// on top of the stack. The caller resets the stack.
unsafe fn dispatch(
    l: *mut lua_State,
    p: *mut Srv,
    state: c_int,
    h: *mut Holder,
    msgh: c_int,
) -> Result<bool, Fail> {
    // `h` is reachable only from this frame's Lua stack: borrowing from it
    // across Lua calls is safe. `p` is re-borrowed briefly.
    let Some(ev) = (*h).0.first() else {
        return Ok(true);
    };
    let max = (*p).max_receive_size;
    let queue = (*p).queue.as_ref().map(Rc::downgrade).unwrap_or_default();
    // Room for the arguments and the error path (raises if there is none).
    // (One more than the arguments need: the notifier kept below them, so
    // that the callbacks' frames get the room they had before it.)
    ffi::luaL_checkstack(l, 25, c"SocketServer:wait".as_ptr());
    // The notifier whose callback this is, kept for its socket_error: a
    // callback that closes the server (which forgets the notifier) or
    // gives it another one and then raises still reports to its own, as
    // one that stops the server does.
    ffi::lua_getfield(l, state, c"notifier".as_ptr());
    let notifier = ffi::lua_gettop(l);
    ffi::lua_pushcfunction(l, call_cb);
    let func = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, notifier);
    let call = match ev {
        Event::Accepted(conn) => {
            push_connection(l, state, conn, max, queue);
            Call::Some(c"socket_accepted", 1)
        }
        Event::Message { from, data } => {
            match from {
                Peer::Tcp(conn) => push_connection(l, state, conn, max, queue),
                Peer::Udp(peer) => {
                    let ud = ffi::lua_newuserdata(l, std::mem::size_of::<Ud>()).cast::<Ud>();
                    std::ptr::write(ud, Ud::sender(peer.clone()));
                    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_CLIENT_MT));
                    ffi::lua_setmetatable(l, -2);
                }
                #[allow(unreachable_patterns)]
                _ => ffi::lua_pushnil(l),
            }
            push_bytes(l, data);
            Call::Some(c"socket_message", 2)
        }
        Event::Closed(conn) => {
            forget_connection(l, state, conn.id());
            Call::None
        }
        Event::Error(e) => {
            Msg::of(e).push(l);
            Call::Some(c"socket_error", 1)
        }
        _ => Call::None,
    };
    if let Call::Some(name, _) = call {
        // The last push that may raise (out of memory) while the event is
        // still in the holder, to be put back.
        ffi::lua_pushstring(l, name.as_ptr());
        ffi::lua_insert(l, func + 2);
    }
    // The arguments are Lua values now: free the event early.
    let ev = (*h).0.pop();
    guard(move || drop(ev))?;
    let Call::Some(name, nargs) = call else {
        return Ok(true);
    };
    if ffi::lua_type(l, func + 1) == ffi::LUA_TNIL {
        return Ok(true); // `close` from a finalizer: no notifier any more
    }
    let outer = RUNNING.swap(callback_number(name), Ordering::Relaxed);
    let status = ffi::lua_pcall(l, 2 + nargs, 0, msgh);
    RUNNING.store(outer, Ordering::Relaxed);
    if status == ffi::LUA_OK {
        return Ok(true);
    }
    // The callback raised: pass the error value, as it is, to
    // socket_error, unless this was socket_error itself.
    let err = ffi::lua_gettop(l);
    if name == c"socket_error" {
        return Ok(false);
    }
    ffi::lua_pushcfunction(l, call_cb);
    ffi::lua_pushvalue(l, notifier);
    ffi::lua_pushstring(l, c"socket_error".as_ptr());
    ffi::lua_pushvalue(l, err);
    let outer = RUNNING.swap(callback_number(c"socket_error"), Ordering::Relaxed);
    let status = ffi::lua_pcall(l, 3, 1, 0);
    RUNNING.store(outer, Ordering::Relaxed);
    if status != ffi::LUA_OK {
        // socket_error raised too: re-raise the first error, with the
        // second one's text when both are strings.
        if ffi::lua_type(l, err) == ffi::LUA_TSTRING && ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
            ffi::lua_pushvalue(l, err);
            ffi::lua_pushstring(l, c" (and socket_error raised: ".as_ptr());
            ffi::lua_pushvalue(l, -3);
            ffi::lua_pushstring(l, c")".as_ptr());
            ffi::lua_concat(l, 4);
        } else {
            ffi::lua_pushvalue(l, err);
        }
        return Ok(false);
    }
    if ffi::lua_toboolean(l, -1) == 0 {
        // No socket_error: re-raise the error as it is.
        ffi::lua_pushvalue(l, err);
        return Ok(false);
    }
    Ok(true)
}

/// The callbacks of a notifier, numbered from 1 for [`RUNNING`].
pub(crate) const CALLBACKS: [&str; 3] = ["socket_accepted", "socket_message", "socket_error"];

/// The callback a server's `wait` is running now, innermost first (a
/// number of [`CALLBACKS`], 0: none), for an embedding host that must say
/// where a run it stops was (the runner's `--timeout`): read from another
/// thread, hence an atomic.
pub(crate) static RUNNING: AtomicU8 = AtomicU8::new(0);

fn callback_number(name: &CStr) -> u8 {
    let name = name.to_bytes();
    CALLBACKS
        .iter()
        .position(|c| c.as_bytes() == name)
        .map_or(0, |i| i as u8 + 1)
}

/// Pushes the key of a connection in the `conns` table.
unsafe fn push_key(l: *mut lua_State, id: usize) {
    ffi::lua_pushlightuserdata(l, id as *mut c_void);
}

/// Pushes the `SocketClient` of `conn`: the cached one, or a new one that
/// is cached (so `socket_accepted` and every `socket_message` of one
/// connection get the same object).
unsafe fn push_connection(
    l: *mut lua_State,
    state: c_int,
    conn: &renoise_socket::Connection,
    max_receive_size: usize,
    queue: Weak<RefCell<VecDeque<Event>>>,
) {
    ffi::lua_getfield(l, state, c"conns".as_ptr());
    let conns = ffi::lua_gettop(l);
    let cache = ffi::lua_type(l, conns) == ffi::LUA_TTABLE;
    if cache {
        push_key(l, conn.id());
        ffi::lua_rawget(l, conns);
        if ffi::lua_type(l, -1) == ffi::LUA_TUSERDATA {
            ffi::lua_remove(l, conns);
            return;
        }
        ffi::lua_pop(l, 1);
    }
    let ud = ffi::lua_newuserdata(l, std::mem::size_of::<Ud>()).cast::<Ud>();
    // The clone is made after the allocation, so nothing is alive if that
    // raises; from here on the userdata owns it.
    std::ptr::write(ud, Ud::shared(conn.clone(), max_receive_size, queue));
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(UP_CLIENT_MT));
    ffi::lua_setmetatable(l, -2);
    if cache {
        push_key(l, conn.id());
        ffi::lua_pushvalue(l, -2);
        ffi::lua_rawset(l, conns);
    }
    ffi::lua_remove(l, conns);
}

/// Drops the cached object of a connection the server forgot.
unsafe fn forget_connection(l: *mut lua_State, state: c_int, id: usize) {
    ffi::lua_getfield(l, state, c"conns".as_ptr());
    if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
        // Its object, which the program may keep, learns that everything
        // before the end has been dispatched.
        push_key(l, id);
        ffi::lua_rawget(l, -2);
        if ffi::lua_type(l, -1) == ffi::LUA_TUSERDATA {
            (*ffi::lua_touserdata(l, -1).cast::<crate::client::Ud>()).mark_ended();
        }
        ffi::lua_pop(l, 1);
        push_key(l, id);
        ffi::lua_pushnil(l);
        ffi::lua_rawset(l, -3);
    }
    ffi::lua_pop(l, 1);
}

/// `call_cb(notifier, name, args...)`, run under `lua_pcall`: looks the
/// callback up (through `__index` for a class instance) and calls it, as a
/// method when the notifier is a class instance (a table with a metatable,
/// or a userdata). Returns `true`, or `false` when there is no such
/// callback. Owns no Rust values: it may raise anywhere.
unsafe extern "C-unwind" fn call_cb(l: *mut lua_State) -> c_int {
    let nargs = ffi::lua_gettop(l) - 2;
    let instance = match ffi::lua_type(l, 1) {
        ffi::LUA_TTABLE => {
            if ffi::lua_getmetatable(l, 1) != 0 {
                ffi::lua_pop(l, 1);
                true
            } else {
                false
            }
        }
        ffi::LUA_TNIL | ffi::LUA_TNONE => {
            ffi::lua_pushboolean(l, 0);
            return 1;
        }
        _ => true,
    };
    ffi::lua_pushvalue(l, 2);
    ffi::lua_gettable(l, 1);
    match ffi::lua_type(l, -1) {
        ffi::LUA_TNIL => {
            ffi::lua_pushboolean(l, 0);
            return 1;
        }
        ffi::LUA_TFUNCTION => {}
        // A class instance's callback that is no function (nor callable):
        // the same message as `run` gives for a plain table's, not Lua's
        // anonymous "attempt to call a boolean value". Built on the Lua
        // stack: this may raise, so it owns no Rust values.
        _ if ffi::luaL_getmetafield(l, -1, c"__call".as_ptr()) != 0 => ffi::lua_pop(l, 1),
        _ => {
            let got = ffi::lua_typename(l, ffi::lua_type(l, -1));
            ffi::lua_pushstring(l, c"notifier field '".as_ptr());
            ffi::lua_pushvalue(l, 2);
            ffi::lua_pushstring(l, c"' must be a function, got ".as_ptr());
            ffi::lua_pushstring(l, got);
            ffi::lua_concat(l, 4);
            ffi::lua_error(l);
        }
    }
    // Stack: notifier, name, args..., f  ->  f, [notifier,] args...
    ffi::lua_replace(l, 2);
    if instance {
        ffi::lua_pushvalue(l, 2);
        ffi::lua_insert(l, 1);
        ffi::lua_remove(l, 3);
        ffi::lua_call(l, nargs + 1, 0);
    } else {
        ffi::lua_remove(l, 1);
        ffi::lua_call(l, nargs, 0);
    }
    ffi::lua_pushboolean(l, 1);
    1
}

/// `__index`: methods first, then properties; any other key reads as
/// `nil`.
unsafe fn index_body(l: *mut lua_State) -> Result<c_int, Fail> {
    ffi::lua_pushvalue(l, 2);
    ffi::lua_rawget(l, ffi::lua_upvalueindex(2));
    if ffi::lua_type(l, -1) != ffi::LUA_TNIL {
        return Ok(1);
    }
    ffi::lua_pop(l, 1);
    let p = this(l)?;
    let srv = &*p;
    match string_at(l, 2).unwrap_or_default() {
        b"is_open" => ffi::lua_pushboolean(l, srv.is_open() as c_int),
        b"is_running" => ffi::lua_pushboolean(l, (srv.running && srv.is_open()) as c_int),
        b"local_address" => Msg::of(renoise_socket::address_text(&srv.local)).push(l),
        b"local_port" => ffi::lua_pushinteger(l, srv.local.port().into()),
        _ => ffi::lua_pushnil(l),
    }
    Ok(1)
}

/// `__newindex`: every field is read-only, and objects take no new fields.
unsafe fn newindex_body(l: *mut lua_State) -> Result<c_int, Fail> {
    Err(read_only_field(l, CLASS, &PROPERTIES, &METHODS))
}

/// `tostring(server)`: `SocketServer(TCP 127.0.0.1:9000, running)`; the
/// state is `running`, `open, not running` or `closed`.
unsafe fn tostring_body(l: *mut lua_State) -> Result<c_int, Fail> {
    let p = this(l)?;
    let srv = &*p;
    let state = match (srv.is_open(), srv.running) {
        (true, true) => "running",
        (true, false) => "open, not running",
        (false, _) => "closed",
    };
    Msg::of(format_args!(
        "{CLASS}({} {}, {state})",
        srv.protocol,
        renoise_socket::socket_address_text(&srv.local)
    ))
    .push(l);
    Ok(1)
}
