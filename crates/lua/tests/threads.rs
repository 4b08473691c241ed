//! A blocking `receive` in one Lua state must not stop other Lua states of
//! the same process: the module holds no global lock.
//!
//! Lua has no threads of its own, so this test is the host: it links the
//! system's Lua 5.1 (`liblua5.1-0-dev`), opens one Lua state per thread,
//! loads the module this package just built with `require`, and runs Lua
//! code in them at the same time. Built only with `--features lua51`:
//!
//! ```sh
//! cargo test -p renoise-socket-lua --features lua51
//! ```
#![cfg(feature = "lua51")]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

#[link(name = "lua5.1")]
extern "C" {
    fn luaL_newstate() -> *mut c_void;
    fn luaL_openlibs(l: *mut c_void);
    fn luaL_loadstring(l: *mut c_void, s: *const c_char) -> c_int;
    fn lua_pcall(l: *mut c_void, nargs: c_int, nresults: c_int, errfunc: c_int) -> c_int;
    fn lua_tolstring(l: *mut c_void, idx: c_int, len: *mut usize) -> *const c_char;
    fn lua_close(l: *mut c_void);
}

/// The module built for Lua 5.1 (`librenoise_socket_lua.so`, entry point
/// `luaopen_renoise_socket`), or `$RS_LUA_MODULE` (a path to a `.so`) when
/// set.
///
/// `cargo test` does not build a package's cdylib for its integration
/// tests, so the first call builds it with a nested `cargo build` (same
/// target directory and profile; Cargo does not hold its lock while tests
/// run). It lands next to the `deps` folder holding this test.
fn module_path() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Ok(p) = std::env::var("RS_LUA_MODULE") {
                return PathBuf::from(p);
            }
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "-p", "renoise-socket-lua", "--features", "lua51"]);
            if dir.file_name().is_some_and(|n| n == "release") {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("run cargo build");
            assert!(status.success(), "cargo build of the Lua 5.1 module failed");
            let path = dir.join("librenoise_socket_lua.so");
            assert!(path.exists(), "no {}", path.display());
            path
        })
        .clone()
}

/// Runs `code` in a fresh Lua 5.1 state with the module loadable as
/// `require("renoise_socket")`; returns what the chunk returned (a string)
/// or the error.
fn run_lua(code: &str) -> Result<String, String> {
    let path = module_path();
    let prelude = format!(
        "package.preload.renoise_socket = assert(package.loadlib({:?}, 'luaopen_renoise_socket'))\n\
         local rs = require('renoise_socket')\n",
        path.display().to_string()
    );
    let src = CString::new(prelude + code).unwrap();
    // SAFETY: one state per call, used only on this thread, closed at the end.
    unsafe {
        let l = luaL_newstate();
        assert!(!l.is_null());
        luaL_openlibs(l);
        let status = match luaL_loadstring(l, src.as_ptr()) {
            0 => lua_pcall(l, 0, 1, 0),
            e => e,
        };
        let p = lua_tolstring(l, -1, std::ptr::null_mut());
        let text = if p.is_null() {
            String::from("(no string)")
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        };
        lua_close(l);
        if status == 0 {
            Ok(text)
        } else {
            Err(text)
        }
    }
}

/// A listener whose connections either stay silent (`silent`) or echo
/// every line back.
fn server(silent: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            thread::spawn(move || serve(conn, silent));
        }
    });
    port
}

fn serve(conn: TcpStream, silent: bool) {
    let mut out = conn.try_clone().unwrap();
    let mut lines = BufReader::new(conn);
    let mut line = String::new();
    while lines.read_line(&mut line).unwrap_or(0) > 0 {
        if !silent {
            let _ = out.write_all(line.as_bytes());
        }
        line.clear();
    }
}

/// Waits for `code` in its own thread; returns its result and when it
/// ended.
fn spawn_lua(code: String) -> thread::JoinHandle<(Result<String, String>, Instant)> {
    thread::spawn(move || {
        let r = run_lua(&code);
        (r, Instant::now())
    })
}

#[test]
fn module_loads_and_talks() {
    let port = server(false);
    let r = run_lua(&format!(
        "local c = assert(rs.Socket.create_client('127.0.0.1', {port}))\n\
         assert(c:send('hello\\n'))\n\
         return (c:receive('*l', 2000))"
    ));
    assert_eq!(r, Ok("hello".to_string()));
}

#[test]
fn a_blocking_receive_does_not_stop_another_state() {
    let silent = server(true);
    let echo = server(false);
    let start = Instant::now();
    // State A waits 3 s for a line that never comes.
    let a = spawn_lua(format!(
        "local c = assert(rs.Socket.create_client('127.0.0.1', {silent}))\n\
         local s, e = c:receive('*line', 3000)\n\
         return tostring(s) .. ' ' .. tostring(e)"
    ));
    // Let A reach its receive, then state B does 200 round trips.
    thread::sleep(Duration::from_millis(300));
    let b = spawn_lua(format!(
        "local c = assert(rs.Socket.create_client('127.0.0.1', {echo}))\n\
         for i = 1, 200 do\n\
           assert(c:send('ping ' .. i .. '\\n'))\n\
           assert(c:receive('*l', 2000) == 'ping ' .. i)\n\
         end\n\
         return 'done'"
    ));
    let (rb, b_end) = b.join().unwrap();
    let (ra, a_end) = a.join().unwrap();
    assert_eq!(rb, Ok("done".to_string()));
    assert_eq!(ra, Ok("nil timeout".to_string()));
    assert!(
        b_end < a_end,
        "B finished {:?} after A's 3 s receive ended",
        b_end - a_end
    );
    assert!(
        b_end - start < Duration::from_millis(2500),
        "B took {:?} while A was blocked",
        b_end - start
    );
    assert!(a_end - start >= Duration::from_millis(2900));
}

#[test]
fn blocking_receives_in_several_states_overlap() {
    let silent = server(true);
    let start = Instant::now();
    let states: Vec<_> = (0..4)
        .map(|_| {
            spawn_lua(format!(
                "local c = assert(rs.Socket.create_client('127.0.0.1', {silent}))\n\
                 local s, e = c:receive(10, 1000)\n\
                 return tostring(e)"
            ))
        })
        .collect();
    for s in states {
        assert_eq!(s.join().unwrap().0, Ok("timeout".to_string()));
    }
    let took = start.elapsed();
    // One after another would take 4 s.
    assert!(took < Duration::from_millis(2500), "took {took:?}");
}
