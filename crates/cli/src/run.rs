//! `renoise-socket run`: an embedded Lua with Renoise's environment
//! (`../shared/spec/RUNNER.md`), the tool script, then the event loop.
//!
//! Most of the environment is Lua (`crates/cli/lua/*.lua`, embedded); this
//! file creates the state, adds what Lua cannot do by itself (a wall clock,
//! sleeping, `stat`, changing directory, `bit`), and maps the outcome to an
//! exit code.

use crate::lua_state::LuaState;
use mlua::{Function, Lua, Table, Value};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Options of `run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// A tool folder (`*.xrnx` or any folder with main.lua) or a Lua script
    /// (`-`: read from stdin).
    path: PathBuf,
    /// Stop after this many seconds (exit code 124); by default the loop
    /// runs until the script calls os.exit or nothing is left that can fire.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    timeout: Option<f64>,
    /// After loading, invoke the menu entry, keybinding or MIDI mapping with
    /// this name (the full name, or its last part after ':'). Repeatable;
    /// --menu, --set and --press are done in the order given.
    #[arg(long, value_name = "NAME")]
    menu: Vec<String>,
    /// Click the button (or bitmap or link; a checkbox toggles) with this
    /// id (or text) in a view the tool built with renoise.ViewBuilder, once
    /// it exists. Repeatable.
    #[arg(long, value_name = "NAME")]
    press: Vec<String>,
    /// Set the value of the view with this id (a text field's text, a
    /// number, true / false, a popup's item) once it exists. Repeatable.
    #[arg(long, value_name = "ID=VALUE", value_parser = id_value)]
    set: Vec<String>,
    /// --menu, --set and --press in command-line order (see
    /// [`RunArgs::order_actions`]).
    #[arg(skip)]
    actions: Vec<(&'static str, String)>,
    /// What renoise.app():show_prompt / show_custom_prompt return (default:
    /// the first button).
    #[arg(long, value_name = "BUTTON")]
    prompt_answer: Option<OsString>,
    /// What the file prompts (prompt_for_filename_to_read / _to_write,
    /// prompt_for_path) return (default: "", a cancelled prompt).
    #[arg(long, value_name = "PATH")]
    path_answer: Option<OsString>,
    /// Do not print renoise.app() messages (show_status, show_message, ...).
    #[arg(long, short)]
    quiet: bool,
    /// An error in a notifier, timer, server callback or menu entry is
    /// printed and the run goes on, as Renoise shows it and keeps the tool
    /// running (the exit code is still 1). By default it ends the run.
    #[arg(long)]
    keep_going: bool,
    /// Arguments for the script, in the global `arg` and as `...`.
    #[arg(last = true)]
    args: Vec<OsString>,
}

/// `--set`'s argument: refused before the run starts when it has no `=`
/// (a value the tool's view would only reject once the script has run).
fn id_value(s: &str) -> Result<String, String> {
    if s.contains('=') {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "takes ID=VALUE (such as host=127.0.0.1), got '{s}'"
        ))
    }
}

impl RunArgs {
    /// Puts the --menu, --set and --press arguments in the order they were
    /// given (`run` is the subcommand's matches): "press Connect, then fill
    /// in the fields it showed" must come out as written.
    pub fn order_actions(&mut self, run: &clap::ArgMatches) {
        let mut all = Vec::new();
        for (kind, values) in [
            ("menu", std::mem::take(&mut self.menu)),
            ("set", std::mem::take(&mut self.set)),
            ("press", std::mem::take(&mut self.press)),
        ] {
            let at = run.indices_of(kind).into_iter().flatten();
            all.extend(at.zip(values).map(|(i, v)| (i, kind, v)));
        }
        all.sort_by_key(|a| a.0);
        self.actions = all.into_iter().map(|(_, kind, v)| (kind, v)).collect();
    }
}

/// The Lua parts of the environment, loaded in this order.
const LUA_FILES: [(&str, &str); 7] = [
    ("class.lua", include_str!("../lua/class.lua")),
    ("extras.lua", include_str!("../lua/extras.lua")),
    ("constants.lua", include_str!("../lua/constants.lua")),
    ("document.lua", include_str!("../lua/document.lua")),
    ("tool.lua", include_str!("../lua/tool.lua")),
    ("views.lua", include_str!("../lua/views.lua")),
    ("main.lua", include_str!("../lua/main.lua")),
];

/// Where the tool is: its folder and its main script.
fn locate(path: &Path) -> Result<(PathBuf, PathBuf), String> {
    // `-`: the script on stdin, as for `lua -`.
    let path = if path == Path::new("-") {
        Path::new("/dev/stdin")
    } else {
        path
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("{}: {}", crate::shown(path), io_reason(&e)))?;
    // A file with no name of its own (`/dev/stdin`, a shell's `<(...)`:
    // a pipe) cannot be canonicalized, but it can be read.
    let path = std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .map_err(|e| format!("{}: {e}", crate::shown(path)))?;
    if meta.is_dir() {
        let main = path.join("main.lua");
        if !main.is_file() {
            return Err(format!(
                "{}: a tool folder needs a main.lua, and there is none",
                crate::shown(&path)
            ));
        }
        Ok((path, main))
    } else {
        // Tools are shipped as zipped .xrnx files; Lua would report the
        // archive's bytes as a syntax error.
        // (Only a file: a pipe's first bytes, once read, are gone.)
        let mut head = [0u8; 4];
        let zipped = meta.is_file()
            && std::fs::File::open(&path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                .is_ok()
            && head == *b"PK\x03\x04";
        if zipped {
            return Err(format!(
                "{}: a zip archive (a packed tool): unzip it into a folder and run the folder",
                crate::shown(&path)
            ));
        }
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok((folder, path))
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Runs `run`.
pub fn run(args: RunArgs) -> Result<ExitCode, String> {
    let (folder, main) = locate(&args.path)?;
    std::env::set_current_dir(&folder)
        .map_err(|e| format!("cannot enter {}: {e}", crate::shown(&folder)))?;
    crate::tmp::remove_on_signals();
    if let Some(secs) = args.timeout {
        if !(secs.is_finite() && secs >= 0.0) {
            return Err(format!(
                "--timeout must be a number of seconds >= 0, got {secs}"
            ));
        }
        // A watchdog: also ends a script stuck in a blocking call. A
        // timeout beyond what a Duration holds (~5.8e11 years) never comes.
        let wait = Duration::try_from_secs_f64(secs).ok();
        if wait.is_some_and(|w| w.is_zero()) {
            // Deterministically before the script, not a race with it
            // (also for a time below a nanosecond).
            say_timeout(secs, "before the tool's script ran");
            return Ok(ExitCode::from(124));
        }
        if let Some(wait) = wait {
            std::thread::spawn(move || {
                std::thread::sleep(wait);
                say_timeout(secs, &why_still_running());
                crate::tmp::remove();
                std::process::exit(124);
            });
        }
    }
    let state = LuaState::new()?;
    let outcome = setup_and_run(state.lua(), &args, &folder, &main).map_err(|e| e.to_string());
    drop(state);
    crate::tmp::remove();
    Ok(ExitCode::from(outcome?))
}

fn setup_and_run(lua: &Lua, args: &RunArgs, folder: &Path, main: &Path) -> mlua::Result<u8> {
    let module = renoise_socket_lua::module_table(lua)?;
    let preload: Table = lua.globals().get::<Table>("package")?.get("preload")?;
    let m = module.clone();
    preload.set(
        "renoise_socket",
        lua.create_function(move |_, ()| Ok(m.clone()))?,
    )?;
    module.get::<Function>("install")?.call::<()>(())?;

    let host = host_table(lua)?;
    let opts = lua.create_table()?;
    // As bytes: a path need not be UTF-8, and Lua opens it as it is.
    opts.set("folder", lua.create_string(folder.as_os_str().as_bytes())?)?;
    opts.set("script", lua.create_string(main.as_os_str().as_bytes())?)?;
    // As bytes too, as `lua` passes them (and the answers below).
    let bytes = |s: &OsString| lua.create_string(s.as_bytes());
    opts.set(
        "args",
        lua.create_sequence_from(
            args.args
                .iter()
                .map(bytes)
                .collect::<mlua::Result<Vec<_>>>()?,
        )?,
    )?;
    let actions = lua.create_table()?;
    for (kind, value) in &args.actions {
        actions.push(lua.create_sequence_from([*kind, value.as_str()])?)?;
    }
    opts.set("actions", actions)?;
    opts.set(
        "prompt_answer",
        args.prompt_answer.as_ref().map(bytes).transpose()?,
    )?;
    opts.set(
        "path_answer",
        args.path_answer.as_ref().map(bytes).transpose()?,
    )?;
    opts.set("quiet", args.quiet)?;
    opts.set("keep_going", args.keep_going)?;
    opts.set("interpreter", interpreter())?;

    let mut entry = Value::Nil;
    for (name, source) in LUA_FILES {
        entry = lua
            .load(source)
            .set_name(format!("=[renoise-socket {name}]"))
            .call::<Value>(host.clone())?;
    }
    let Value::Function(entry) = entry else {
        return Err(mlua::Error::runtime("main.lua returns no function"));
    };
    let code: i64 = entry.call(opts)?;
    Ok(code.clamp(0, 255) as u8)
}

fn interpreter() -> &'static str {
    if cfg!(feature = "luajit") {
        "LuaJIT"
    } else if cfg!(feature = "lua54") {
        "Lua 5.4"
    } else {
        "Lua 5.1"
    }
}

/// What keeps the run going, as the event loop last saw it (empty until
/// the script's main chunk has returned): said when `--timeout` stops
/// it, the usual reason being a server or timer never closed.
static ALIVE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Where the event loop was (set by `main.lua`; 0: not started), and what
/// the `--timeout` message calls it.
static PHASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The phase of a server's `wait` (`PHASES`).
const IN_WAIT: usize = 4;
const PHASES: [&str; 6] = [
    "",
    "in an idle notifier",
    "in a timer",
    "in a --menu, --set or --press action",
    "in a server's wait", // (said with what it was doing there)
    "waiting for the next event",
];

/// The message of a `--timeout` reached, with what was running.
fn say_timeout(secs: f64, why: &str) {
    eprintln!(
        "renoise-socket: --timeout of {} s reached, stopping ({why})",
        seconds(secs)
    );
}

/// A `--timeout` as a person wrote it: `0.5`, `0` (also for `-0`), and
/// `1e-300` rather than its 300 digits.
fn seconds(secs: f64) -> String {
    if secs == 0.0 {
        "0".into()
    } else if !(1e-3..1e15).contains(&secs) {
        format!("{secs:e}")
    } else {
        format!("{secs}")
    }
}

/// The `--timeout` message's reason: what was running, and where.
fn why_still_running() -> String {
    let alive = ALIVE.lock().map(|a| a.clone()).unwrap_or_default();
    let phase = PHASE.load(std::sync::atomic::Ordering::Relaxed);
    // In a tool's server callback, or a server waiting between them: said
    // apart, since only the first can be stuck.
    let callback = renoise_socket_lua::running_callback();
    match PHASES.get(phase) {
        Some(_) if phase == IN_WAIT => match callback {
            Some(name) => format!("still running: {alive}; it was in a server's {name} callback"),
            None => format!("still running: {alive}; it was in a server's wait, between callbacks"),
        },
        Some(at) if phase > 0 => match callback {
            Some(name) => {
                format!("still running: {alive}; it was {at}, in a server's {name} callback")
            }
            None => format!("still running: {alive}; it was {at}"),
        },
        _ => "the tool's script had not finished running".to_string(),
    }
}

/// What the Lua parts need from the host.
fn host_table(lua: &Lua) -> mlua::Result<Table> {
    let host = lua.create_table()?;
    host.set(
        "set_callback_handler",
        lua.create_function(|lua, handler: Option<Function>| {
            renoise_socket_lua::set_callback_handler(lua, handler)
        })?,
    )?;
    host.set(
        "alive",
        lua.create_function(|_, what: String| {
            if let Ok(mut alive) = ALIVE.lock() {
                *alive = what;
            }
            Ok(())
        })?,
    )?;
    host.set(
        "phase",
        lua.create_function(|_, phase: usize| {
            PHASE.store(phase, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })?,
    )?;
    let start = Instant::now();
    host.set(
        "now",
        lua.create_function(move |_, ()| Ok(start.elapsed().as_secs_f64()))?,
    )?;
    host.set(
        "sleep",
        lua.create_function(|_, ms: f64| {
            if let Ok(d) = Duration::try_from_secs_f64(ms / 1000.0) {
                std::thread::sleep(d);
            }
            Ok(())
        })?,
    )?;
    host.set(
        "stat",
        lua.create_function(|lua, path: mlua::LuaString| {
            use std::os::unix::fs::{FileTypeExt, MetadataExt};
            let p = path_of(&path);
            match std::fs::metadata(&p) {
                Ok(m) => {
                    let t = lua.create_table()?;
                    let ft = m.file_type();
                    let kind = if ft.is_dir() {
                        "directory"
                    } else if ft.is_file() {
                        "file"
                    } else if ft.is_socket() {
                        "socket"
                    } else if ft.is_fifo() {
                        "named pipe"
                    } else if ft.is_char_device() {
                        "char device"
                    } else if ft.is_block_device() {
                        "block device"
                    } else {
                        "link"
                    };
                    t.set("type", kind)?;
                    t.set("size", m.len())?;
                    t.set("dev", m.dev())?;
                    t.set("ino", m.ino())?;
                    // "Unix styled" as io.chmod takes it: 644 for rw-r--r--.
                    let perm = format!("{:o}", m.mode() & 0o7777);
                    t.set("mode", perm.parse::<u32>().unwrap_or(0))?;
                    t.set("nlink", m.nlink())?;
                    t.set("uid", m.uid())?;
                    t.set("gid", m.gid())?;
                    t.set("rdev", m.rdev())?;
                    t.set("atime", m.atime())?;
                    t.set("mtime", m.mtime())?;
                    t.set("ctime", m.ctime())?;
                    Ok((Value::Table(t), Value::Nil, Value::Nil))
                }
                Err(e) => failed(lua, &p, &e),
            }
        })?,
    )?;
    host.set(
        "chmod",
        lua.create_function(|lua, (path, mode): (mlua::LuaString, u32)| {
            use std::os::unix::fs::PermissionsExt;
            let p = path_of(&path);
            // 755 means rwxr-xr-x: the decimal digits are octal ones.
            let bits = u32::from_str_radix(&mode.to_string(), 8)
                .ok()
                .filter(|b| *b <= 0o7777);
            let Some(bits) = bits else {
                return Ok((
                    Value::Nil,
                    Value::String(lua.create_string(format!(
                        "bad mode {mode}: octal digits such as 755 expected"
                    ))?),
                    Value::Nil,
                ));
            };
            outcome(
                lua,
                &p,
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(bits)),
            )
        })?,
    )?;
    host.set(
        "cwd",
        lua.create_function(|lua, ()| {
            let dir = std::env::current_dir().unwrap_or_default();
            lua.create_string(dir.as_os_str().as_bytes())
        })?,
    )?;
    host.set(
        "platform",
        lua.create_function(|_, ()| {
            Ok(match std::env::consts::OS {
                "macos" => "MACINTOSH",
                "windows" => "WINDOWS",
                _ => "LINUX",
            })
        })?,
    )?;
    host.set("bit", bit_table(lua)?)?;
    host.set(
        "list_dir",
        lua.create_function(|lua, path: mlua::LuaString| {
            let dir = path_of(&path);
            let mut files = Vec::new();
            let mut dirs = Vec::new();
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) => return failed(lua, &dir, &e),
            };
            for entry in entries.flatten() {
                // Follows links, as a file dialog does.
                let is_dir = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
                let name = entry.file_name();
                if is_dir {
                    dirs.push(name);
                } else {
                    files.push(name);
                }
            }
            let list = |mut names: Vec<std::ffi::OsString>| {
                names.sort();
                lua.create_sequence_from(
                    names
                        .iter()
                        .map(|n| lua.create_string(n.as_encoded_bytes()))
                        .collect::<mlua::Result<Vec<_>>>()?,
                )
            };
            Ok((
                Value::Table(list(files)?),
                Value::Table(list(dirs)?),
                Value::Nil,
            ))
        })?,
    )?;
    host.set(
        "mkdir",
        lua.create_function(|lua, path: mlua::LuaString| {
            let dir = path_of(&path);
            outcome(lua, &dir, std::fs::create_dir(&dir))
        })?,
    )?;
    host.set(
        "move",
        lua.create_function(|lua, (src, dest): (mlua::LuaString, mlua::LuaString)| {
            let (src, dest) = (path_of(&src), path_of(&dest));
            outcome(lua, &src, move_path(&src, &dest))
        })?,
    )?;
    host.set(
        "tmpname",
        lua.create_function(|lua, extension: String| {
            let path = crate::tmp::name(&extension).map_err(mlua::Error::external)?;
            lua.create_string(path.as_os_str().as_encoded_bytes())
        })?,
    )?;
    // For os.exit, which leaves without returning here.
    host.set(
        "cleanup",
        lua.create_function(|_, ()| {
            crate::tmp::remove();
            Ok(())
        })?,
    )?;
    Ok(host)
}

/// A path from a Lua string's bytes (any bytes, as the OS takes them).
fn path_of(s: &mlua::LuaString) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(&s.as_bytes()))
}

/// `true`, or what [`failed`] gives: what Renoise's os and io functions
/// that change something return.
fn outcome(
    lua: &Lua,
    path: &Path,
    done: std::io::Result<()>,
) -> mlua::Result<(Value, Value, Value)> {
    match done {
        Ok(()) => Ok((Value::Boolean(true), Value::Nil, Value::Nil)),
        Err(e) => failed(lua, path, &e),
    }
}

/// `nil, "path: reason", error number`, what Renoise's os and io functions
/// return on failure.
fn failed(lua: &Lua, path: &Path, e: &std::io::Error) -> mlua::Result<(Value, Value, Value)> {
    let msg = format!("{}: {}", path.display(), io_reason(e));
    let errno = e
        .raw_os_error()
        .map_or(Value::Nil, |n| Value::Integer(n.into()));
    Ok((Value::Nil, Value::String(lua.create_string(msg)?), errno))
}

/// `rename`, or for a file on another file system a copy and a delete
/// (Renoise's `os.move` moves across file systems; `os.rename` does not).
fn move_path(src: &Path, dest: &Path) -> std::io::Result<()> {
    match std::fs::rename(src, dest) {
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices && src.is_file() => {
            std::fs::copy(src, dest)?;
            std::fs::remove_file(src)
        }
        r => r,
    }
}

/// LuaBitOp's API: 32-bit operations on numbers, results signed.
fn bit_table(lua: &Lua) -> mlua::Result<Table> {
    fn tobit(x: f64) -> i32 {
        // LuaBitOp: the number rounded to an integer (ties to even, as
        // its 2^52 + 2^51 addition rounds on x86), modulo 2^32, as a
        // signed 32-bit integer.
        if !x.is_finite() {
            return 0;
        }
        let m = x.round_ties_even().rem_euclid(4_294_967_296.0);
        (m as u64 as u32) as i32
    }
    let bit = lua.create_table()?;
    bit.set("tobit", lua.create_function(|_, x: f64| Ok(tobit(x)))?)?;
    bit.set("bnot", lua.create_function(|_, x: f64| Ok(!tobit(x)))?)?;
    type Fold = fn(i32, i32) -> i32;
    let folds: [(&str, Fold); 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, f) in folds {
        bit.set(
            name,
            lua.create_function(move |_, (first, rest): (f64, mlua::Variadic<f64>)| {
                Ok(rest.iter().fold(tobit(first), |acc, &x| f(acc, tobit(x))))
            })?,
        )?;
    }
    type Shift = fn(i32, u32) -> i32;
    let shifts: [(&str, Shift); 5] = [
        ("lshift", |a, n| ((a as u32) << n) as i32),
        ("rshift", |a, n| ((a as u32) >> n) as i32),
        ("arshift", |a, n| a >> n),
        ("rol", |a, n| (a as u32).rotate_left(n) as i32),
        ("ror", |a, n| (a as u32).rotate_right(n) as i32),
    ];
    for (name, f) in shifts {
        bit.set(
            name,
            lua.create_function(move |_, (x, n): (f64, f64)| {
                Ok(f(tobit(x), (tobit(n) & 31) as u32))
            })?,
        )?;
    }
    bit.set(
        "bswap",
        lua.create_function(|_, x: f64| Ok(tobit(x).swap_bytes()))?,
    )?;
    bit.set(
        "tohex",
        lua.create_function(|_, (x, n): (f64, Option<f64>)| {
            let v = tobit(x) as u32;
            let n = n.map(tobit).unwrap_or(8);
            let (upper, width) = (n < 0, n.unsigned_abs().min(8) as usize);
            let s = if upper {
                format!("{v:08X}")
            } else {
                format!("{v:08x}")
            };
            Ok(s[8 - width..].to_string())
        })?,
    )?;
    Ok(bit)
}
