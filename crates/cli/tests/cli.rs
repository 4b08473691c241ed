//! Tests of the `renoise-socket` command: the runner environment (one Lua
//! script per RUNNER.md item under tests/runner), the example tools, and
//! `connect`, `osc send`, `osc dump` (with liblo's oscsend / oscdump when
//! installed). Every run is bounded by a timeout.

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

fn cmd() -> Command {
    let mut c = Command::cargo_bin("renoise-socket").unwrap();
    c.timeout(LIMIT);
    c
}

fn here(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn out(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A folder of this test run named after `tag`, holding `name` with
/// `text`; returns the folder (to remove) and the file.
fn temp_file(tag: &str, name: &str, text: impl AsRef<[u8]>) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("rs-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(name);
    std::fs::write(&f, text).unwrap();
    (dir, f)
}

/// Accepts one connection within 10 s, with reads and writes bounded as
/// long: a run that never connects fails the test instead of hanging it.
fn accept_within(listener: &TcpListener) -> std::net::TcpStream {
    listener.set_nonblocking(true).unwrap();
    let start = std::time::Instant::now();
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "nobody connected"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Large outputs compared whole, reported by length (a diff of megabytes
/// would drown the message).
fn assert_same_bytes(got: &[u8], want: &[u8]) {
    assert!(got == want, "{} of {} bytes", got.len(), want.len());
}

fn run_ok(args: &[&str]) -> String {
    let o = cmd().args(args).output().unwrap();
    let (so, se) = out(&o);
    assert!(
        o.status.success(),
        "{args:?} failed: {:?}\nstdout:\n{so}\nstderr:\n{se}",
        o.status
    );
    so
}

/// The interpreter this build of the command embeds (the tests are built
/// with the same features as the binary).
fn interpreter() -> &'static str {
    if cfg!(feature = "luajit") {
        "LuaJIT"
    } else if cfg!(feature = "lua54") {
        "Lua 5.4"
    } else {
        "Lua 5.1"
    }
}

/// Runner scripts that need a Lua 5.1 feature this build's interpreter lacks
/// (RUNNER.md item 11 is required of the default Lua 5.1 build only): why,
/// or None when the script runs.
fn lua51_only(script: &str) -> Option<&'static str> {
    match script {
        "11_lua51_fenv.lua" if cfg!(feature = "lua54") => {
            Some("Lua 5.4 has no setfenv, getfenv or module")
        }
        "11_lua51_escapes.lua" if cfg!(any(feature = "lua54", feature = "luajit")) => {
            Some("only PUC Lua 5.1 accepts unknown escapes such as \"\\s\"")
        }
        _ => None,
    }
}

#[test]
fn runner_items_each_pass() {
    let mut scripts: Vec<_> = std::fs::read_dir(here("tests/runner"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 12);
    for s in scripts {
        let name = s.file_name().unwrap().to_str().unwrap();
        if let Some(why) = lua51_only(name) {
            eprintln!("SKIPPED on this build ({}): {name}: {why}", interpreter());
            continue;
        }
        let so = run_ok(&["run", "-q", "--timeout", "20", s.to_str().unwrap()]);
        assert!(so.lines().any(|l| l == "ok"), "{}: {so}", s.display());
    }
}

#[test]
fn tool_folder_menu_and_args() {
    let tool = here("tests/runner/tool_folder.xrnx");
    // By the last part of the name, by the full name, a MIDI mapping.
    for (menu, says) in [
        ("Say ok", "ok"),
        ("Main Menu:Tools:Say ok...", "ok"),
        ("Volume [Set]", "volume 1"),
    ] {
        let so = run_ok(&[
            "run",
            tool.to_str().unwrap(),
            "--menu",
            menu,
            "--",
            "a",
            "b",
        ]);
        assert_eq!(so.trim(), says, "{menu}");
    }
    let o = cmd()
        .args([
            "run",
            tool.to_str().unwrap(),
            "--menu",
            "Nope",
            "--",
            "a",
            "b",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let se = out(&o).1;
    assert!(se.contains("no menu entry, keybinding or MIDI mapping named 'Nope'"));
    // A usage error: the message alone.
    assert!(!se.contains("stack traceback"), "{se}");
}

#[test]
fn set_moves_an_xy_pad_to_x_and_y() {
    let script = r#"
local vb = renoise.ViewBuilder()
renoise.app():show_custom_dialog("Pad", vb:column {
  vb:xypad { id = "xy", min = { x = 0, y = -1 }, max = { x = 2, y = 1 },
    value = { x = 0.5, y = 0.25 },
    notifier = function(v) print(v.x, v.y) os.exit(0) end },
})
"#;
    let (dir, f) = temp_file("xypad", "xy.lua", script);
    let run = |set: &str| {
        cmd()
            .args(["run", "-q", "--timeout", "10"])
            .arg(&f)
            .args(["--set", set])
            .output()
            .unwrap()
    };
    let o = run("xy=1.5, -0.5");
    let (so, se) = out(&o);
    assert!(o.status.success(), "{se}");
    assert_eq!(so, "1.5\t-0.5\n");
    for (set, says) in [
        (
            "xy=3,0",
            "'3,0' is out of range for 'xy' (x 0 to 2, y -1 to 1)",
        ),
        ("xy=1", "'1' is no value for 'xy', a XYPad"),
        ("xy=a,b", "'a,b' is no value for 'xy', a XYPad"),
    ] {
        let o = run(set);
        let (_, se) = out(&o);
        assert_eq!(o.status.code(), Some(1), "{set}: {se}");
        assert!(se.contains(says), "{set}: {se}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn press_and_set_drive_the_dialog_a_menu_entry_built() {
    // A tool whose networking starts from its dialog: a server that the
    // "Start" button (no id: found by its text) runs, a checkbox that says
    // whether it answers in capitals, a text field with the greeting; the
    // menu entry "Later" opens the dialog through a timer.
    let script = r#"
local server, vb
local loud = false
local function open()
  vb = renoise.ViewBuilder()
  renoise.app():show_custom_dialog("Echo", vb:column {
    vb:checkbox { id = "loud", notifier = function(v) loud = v end },
    vb:textfield { id = "greeting", text = "hello" },
    vb:valuebox { id = "port", min = 1, max = 65535, value = 8000 },
    vb:button { text = "Start", notifier = function()
      server = renoise.Socket.create_server("127.0.0.1", 0)
      server:run { socket_message = function(s, m)
        print(loud and m:upper() or m)
        os.exit(0)
      end }
      local c = renoise.Socket.create_client("127.0.0.1", server.local_port)
      c:send(vb.views.greeting.text .. vb.views.suffix.text)
    end },
    vb:button { text = "More", notifier = function() vb.views.more.visible = true end },
    vb:column { id = "more", visible = false, vb:textfield { id = "suffix", text = "" } },
    vb:button { id = "off", text = "Off", active = false },
    vb:text { id = "label", text = "not a button" },
  })
end
renoise.tool():add_menu_entry { name = "Main Menu:Tools:Echo...", invoke = open }
local function later()
  renoise.tool():remove_timer(later)
  open()
end
renoise.tool():add_menu_entry { name = "Main Menu:Tools:Later...", invoke = function()
  renoise.tool():add_timer(later, 50)
end }
-- The dialog at once, its hidden suffix field shown by a timer later (as
-- a tool shows a button once a server has answered).
local function reveal()
  renoise.tool():remove_timer(reveal)
  vb.views.more.visible = true
end
renoise.tool():add_menu_entry { name = "Main Menu:Tools:Reveal...", invoke = function()
  open()
  renoise.tool():add_timer(reveal, 100)
end }
"#;
    let (dir, f) = temp_file("press", "press.lua", script);
    let f = f.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "-q", "--timeout", "10", f];
        if !extra.contains(&"--menu") {
            args.extend(["--menu", "Echo"]);
        }
        args.extend_from_slice(extra);
        cmd().args(&args).output().unwrap()
    };
    for (extra, says) in [
        (&["--press", "Start"][..], "hello\n"),
        (&["--press", "loud", "--press", "Start"][..], "HELLO\n"),
        // In the order given: a set after the press changes nothing sent.
        (&["--set", "greeting=bye", "--press", "Start"][..], "bye\n"),
        (
            &["--press", "Start", "--set", "greeting=bye"][..],
            "hello\n",
        ),
        // A field inside a hidden column, once a button has shown it.
        (
            &["--press", "More", "--set", "suffix=!", "--press", "Start"][..],
            "hello!\n",
        ),
        // The views come with the dialog that a timer opens.
        (
            &["--menu", "Later", "--press", "loud", "--press", "Start"][..],
            "HELLO\n",
        ),
        // A hidden view is waited for until the tool shows it.
        (
            &["--menu", "Reveal", "--set", "suffix=!", "--press", "Start"][..],
            "hello!\n",
        ),
    ] {
        let o = run(extra);
        let (so, se) = out(&o);
        assert!(o.status.success(), "{extra:?}: {se}");
        assert_eq!(so, says, "{extra:?}");
    }
    for (extra, says) in [
        (
            &["--press", "label"][..],
            "'label' is a Text: only buttons, bitmaps, links and checkboxes can be pressed",
        ),
        (
            &["--press", "off"][..],
            "'off' is inactive (active = false)",
        ),
        (
            &["--set", "suffix=!"][..],
            "'suffix' is hidden (inside 'more', which has visible = false)",
        ),
        (
            &["--set", "label=x"][..],
            "'label' is a Text: it holds no value to set",
        ),
        (
            &["--set", "loud=maybe"][..],
            "'maybe' is no value for 'loud', a CheckBox",
        ),
        (
            &["--set", "port=70000"][..],
            "'70000' is out of range for 'port' (1 to 65535)",
        ),
        (
            &["--set", "port=nan"][..],
            "'nan' is no value for 'port', a ValueBox",
        ),
        // A set before the menu entry that makes its view: said so.
        (
            &["--set", "greeting=bye", "--menu", "Echo"][..],
            "no view with the id 'greeting' (the tool made no view); --menu 'Echo', given after it, never ran",
        ),
        // The server's callback ends the run before the second press.
        (
            &["--press", "Start", "--press", "nope"][..],
            "with the id or text 'nope' (the script called os.exit first)",
        ),
    ] {
        let o = run(extra);
        let (so, se) = out(&o);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {so}{se}");
        assert!(
            se.contains(says) && !se.contains("stack traceback"),
            "{extra:?}: {se}"
        );
    }
    // A --set without `=` is refused before the tool runs (a usage error).
    let o = run(&["--set", "greeting"]);
    let (so, se) = out(&o);
    assert_eq!(o.status.code(), Some(2), "{so}{se}");
    assert!(
        se.contains("takes ID=VALUE (such as host=127.0.0.1), got 'greeting'"),
        "{se}"
    );
    assert_eq!(so, "");
    // Nothing of that name ever comes: the run ends once nothing is left
    // that could make it, and says what was missing.
    let o = cmd()
        .args(["run", "-q", "--timeout", "10", f, "--press", "Start"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).1.contains("no button, bitmap, link or checkbox with the id or text 'Start' (the tool made no view)"),
        "{}",
        out(&o).1
    );
    // A dialog that closes itself and comes back through a timer: a press
    // waits for the view in the new dialog, never clicks a closed one.
    let reopening = r#"
local count, dialog = 0, nil
local function show()
  local vb = renoise.ViewBuilder()
  dialog = renoise.app():show_custom_dialog("D" .. count, vb:column {
    vb:button { text = "Add", notifier = function()
      count = count + 1
      dialog:close()
      local t; t = function() renoise.tool():remove_timer(t); show() end
      renoise.tool():add_timer(t, 1)
    end },
    vb:button { text = "Remove", active = count > 0, notifier = function()
      print("remove " .. count)
      os.exit(0)
    end },
  })
end
show()
"#;
    let (dir2, f2) = temp_file("press-reopen", "reopen.lua", reopening);
    let so = run_ok(&[
        "run",
        "-q",
        "--timeout",
        "10",
        f2.to_str().unwrap(),
        "--press",
        "Add",
        "--press",
        "Add",
        "--press",
        "Remove",
    ]);
    assert_eq!(so, "remove 2\n");
    std::fs::remove_dir_all(dir2).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_open_dialog_stays_pressable_when_the_tool_keeps_no_reference_to_it() {
    // Renoise keeps a shown dialog on screen, clickable, whether or not the
    // tool holds it; a full collection must not take its views away. The
    // second dialog is opened by a timer and the collections run after it,
    // while the loop is running.
    let script = r#"
do
  local vb = renoise.ViewBuilder()
  renoise.app():show_custom_dialog("Kept by nobody", vb:column {
    vb:button { id = "ok", text = "OK", notifier = function() print("ok") end },
    vb:textfield { id = "name", text = "", notifier = function(t) print("name " .. t) end },
  })
end
local function later()
  renoise.tool():remove_timer(later)
  local vb = renoise.ViewBuilder()
  renoise.app():show_custom_dialog("Later", vb:button {
    text = "Done", notifier = function() print("done") os.exit(0) end })
  collectgarbage()
  collectgarbage()
end
collectgarbage()
collectgarbage()
renoise.tool():add_timer(later, 20)
"#;
    let (dir, f) = temp_file("press-gc", "press_gc.lua", script);
    let so = run_ok(&[
        "run",
        "-q",
        "--timeout",
        "10",
        f.to_str().unwrap(),
        "--set",
        "name=x",
        "--press",
        "OK",
        "--press",
        "Done",
    ]);
    assert_eq!(so, "name x\nok\ndone\n");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_press_waits_until_its_view_is_shown_and_never_clicks_one_never_shown() {
    // In Renoise nobody can click a button that is in no dialog: a press
    // waits for the dialog a timer shows later, and a view the tool built
    // but never showed is an unfinished action.
    let script = r#"
local vb = renoise.ViewBuilder()
local shown = false
local content = vb:button { text = "Go", notifier = function()
  print("go, shown=" .. tostring(shown))
  os.exit(0)
end }
local function later()
  renoise.tool():remove_timer(later)
  shown = true
  renoise.app():show_custom_dialog("Later", content)
end
if (...) ~= "never" then renoise.tool():add_timer(later, 50) end
"#;
    let (dir, f) = temp_file("press-unshown", "press_unshown.lua", script);
    let f = f.to_str().unwrap();
    let so = run_ok(&["run", "-q", "--timeout", "10", f, "--press", "Go"]);
    assert_eq!(so, "go, shown=true\n");
    let o = cmd()
        .args([
            "run",
            "-q",
            "--timeout",
            "10",
            f,
            "--press",
            "Go",
            "--",
            "never",
        ])
        .output()
        .unwrap();
    let (so, se) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{so}{se}");
    assert_eq!(so, "");
    assert!(
        se.contains("'Go' on screen (the tool made one, but it is in no open dialog"),
        "{se}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_custom_prompt_is_filled_in_by_the_actions_next_in_line_and_answered_by_a_press() {
    // A modal form: the script reads its fields right after the prompt
    // returns, so the --set / --press meant for it must be done while it
    // is up; a --press naming one of its buttons chooses that button. One
    // prompt is shown while the script loads, one by a menu entry.
    let script = r#"
local function ask()
  local vb = renoise.ViewBuilder()
  local content = vb:column {
    vb:textfield { id = "host", text = "localhost" },
    vb:valuebox { id = "port", min = 1, max = 65535, value = 8000 },
    vb:checkbox { id = "tcp", value = false },
  }
  local b = renoise.app():show_custom_prompt("Connect", content, { "Connect", "Cancel" })
  print(b, vb.views.host.text, vb.views.port.value, vb.views.tcp.value)
end
ask()
renoise.tool():add_menu_entry { name = "Main Menu:Tools:Ask", invoke = ask }
"#;
    let (dir, f) = temp_file("custom-prompt", "prompt.lua", script);
    let f = f.to_str().unwrap();
    for (extra, says) in [
        (&[][..], "Connect\tlocalhost\t8000\tfalse\n"),
        (
            &["--set", "host=x", "--set", "port=9", "--press", "tcp"][..],
            "Connect\tx\t9\ttrue\n",
        ),
        (
            &[
                "--set", "host=x", "--press", "Cancel", "--menu", "Ask", "--set", "port=7",
                "--press", "Connect",
            ][..],
            "Cancel\tx\t8000\tfalse\nConnect\tlocalhost\t7\tfalse\n",
        ),
        // --prompt-answer still answers when no press chooses.
        (
            &["--prompt-answer", "Cancel", "--set", "host=y"][..],
            "Cancel\ty\t8000\tfalse\n",
        ),
    ] {
        let mut args = vec!["run", "-q", "--timeout", "10", f];
        args.extend_from_slice(extra);
        assert_eq!(run_ok(&args), says, "{extra:?}");
    }
    for (extra, says) in [
        // Its views are gone with it: nobody can click a closed prompt.
        (
            &["--press", "Cancel", "--press", "tcp"][..],
            "no button, bitmap, link or checkbox with the id or text 'tcp'",
        ),
        // A value it cannot take is a usage error, as in a dialog.
        (
            &["--set", "port=0"][..],
            "'0' is out of range for 'port' (1 to 65535)",
        ),
    ] {
        let mut args = vec!["run", "-q", "--timeout", "10", f];
        args.extend_from_slice(extra);
        let o = cmd().args(&args).output().unwrap();
        let (so, se) = out(&o);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {so}{se}");
        assert!(
            se.contains(says) && !se.contains("stack traceback"),
            "{extra:?}: {se}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn script_arguments_and_answers_pass_as_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let script = r##"
print(arg[1] == "a\255b", select("#", ...), (...) == arg[1], arg[2])
print(renoise.app():prompt_for_path("Folder") == "/tmp/\233.xml")
print(renoise.app():show_prompt("Q", "?", { "Yes", "N\255" }) == "N\255")
"##;
    let (dir, f) = temp_file("byte-args", "args.lua", script);
    let raw = |b: &[u8]| std::ffi::OsStr::from_bytes(b).to_owned();
    let o = cmd()
        .args(["run".as_ref(), "-q".as_ref(), f.as_os_str()])
        .arg("--path-answer")
        .arg(raw(b"/tmp/\xe9.xml"))
        .arg("--prompt-answer")
        .arg(raw(b"N\xff"))
        .arg("--")
        .arg(raw(b"a\xffb"))
        .arg("x")
        .output()
        .unwrap();
    let (so, se) = out(&o);
    assert!(o.status.success(), "{:?}\n{so}\n{se}", o.status);
    assert_eq!(so, "true\t2\ttrue\tx\ntrue\ntrue\n");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn file_prompts_return_the_path_answer_or_nothing() {
    let script = r#"
local app = renoise.app()
print("[" .. app:prompt_for_filename_to_write("json", "Export") .. "]")
print("[" .. app:prompt_for_filename_to_read({ "wav" }, "Import") .. "]")
print("[" .. app:prompt_for_path("Folder") .. "]")
print(#app:prompt_for_multiple_filenames_to_read({ "wav" }, "Many"))
"#;
    let (dir, f) = temp_file("path-answer", "paths.lua", script);
    let f = f.to_str().unwrap();
    assert_eq!(run_ok(&["run", "-q", f]), "[]\n[]\n[]\n0\n");
    assert_eq!(
        run_ok(&["run", "-q", f, "--path-answer", "/tmp/x.json"]),
        "[/tmp/x.json]\n[/tmp/x.json]\n[/tmp/x.json]\n1\n"
    );
    let o = cmd().args(["run", f]).output().unwrap();
    assert!(
        out(&o)
            .1
            .contains("[renoise.app] prompt_for_filename_to_write: Export"),
        "{}",
        out(&o).1
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn app_stubs_print_to_stderr_and_prompt_answer() {
    let s = here("tests/runner/07_app.lua");
    let o = cmd()
        .args([
            "run",
            s.to_str().unwrap(),
            "--prompt-answer",
            "No",
            "--",
            "No",
        ])
        .output()
        .unwrap();
    let (so, se) = out(&o);
    assert!(o.status.success(), "{se}");
    assert_eq!(so.trim(), "ok");
    assert!(
        se.contains("status: status text") && se.contains("error: error text"),
        "{se}"
    );
    assert!(
        se.contains("prompt: Title: Question? [Yes/No] -> No"),
        "a prompt says its buttons and the answer: {se}"
    );
    let q = cmd()
        .args(["run", "-q", s.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(q.status.success());
    assert!(q.stderr.is_empty());
}

#[test]
fn script_error_prints_traceback_with_file_and_line() {
    let (dir, f) = temp_file(
        "err",
        "broken.lua",
        "local function f()\n  error('boom')\nend\nf()\n",
    );
    let o = cmd().args(["run", f.to_str().unwrap()]).output().unwrap();
    let se = out(&o).1;
    assert_eq!(o.status.code(), Some(1));
    assert!(se.contains("broken.lua:2: boom"), "{se}");
    assert!(
        se.contains("stack traceback") && se.contains("broken.lua:4"),
        "{se}"
    );
    assert!(!se.contains("panicked"));
    std::fs::write(&f, "x = = 1").unwrap();
    let o = cmd().args(["run", f.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains("broken.lua:1:"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_server_callback_error_keeps_the_callbacks_traceback() {
    // Re-raised from the loop's `wait` (no socket_error), and, with
    // --keep-going, reported where the run goes on: both with the frames of
    // the callback and of the function it called. socket_error, where there
    // is one, gets the value as raised.
    let script = r#"
local function helper(x) return x.nope.field end
local notifier = {
  socket_message = function(sock, msg) helper({}) end,
}
if ... == "with_error_cb" then
  notifier.socket_error = function(e) print("socket_error got: " .. e); os.exit(0) end
elseif ... == "with_raising_error_cb" then
  notifier.socket_error = function(e) error("and this too") end
end
local server = renoise.Socket.create_server("127.0.0.1", 0)
server:run(notifier)
local c = renoise.Socket.create_client("127.0.0.1", server.local_port)
c:send("hi")
renoise.tool():add_timer(function() os.exit(3) end, 1500)
"#;
    let (dir, f) = temp_file("cb-tb", "cb.lua", script);
    for extra in [&[][..], &["--keep-going"][..]] {
        let o = cmd().arg("run").args(extra).arg(&f).output().unwrap();
        let se = out(&o).1;
        // (5.1: "in function 'helper'", 5.4: "in upvalue 'helper'".)
        assert!(
            se.contains("cb.lua:2: attempt to index")
                && se.contains("cb.lua:2: in ")
                && se.contains("'helper'")
                && se.contains("cb.lua:4: in "),
            "{extra:?}: {se}"
        );
        let code = if extra.is_empty() { 1 } else { 3 };
        assert_eq!(o.status.code(), Some(code), "{extra:?}: {se}");
    }
    let o = cmd()
        .args(["run", f.to_str().unwrap(), "--", "with_error_cb"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    let said = out(&o).0;
    let raised_at = format!(
        "socket_error got: {}:2: attempt to index",
        f.canonicalize().unwrap().display()
    );
    assert!(said.starts_with(&raised_at), "{said}");
    assert_eq!(said.lines().count(), 1, "no traceback added: {said}");
    // A socket_error that raises too: both messages, and the callback's
    // frames still.
    let o = cmd()
        .args(["run", f.to_str().unwrap(), "--", "with_raising_error_cb"])
        .output()
        .unwrap();
    let se = out(&o).1;
    assert_eq!(o.status.code(), Some(1), "{se}");
    assert!(
        se.contains("cb.lua:2: attempt to index")
            && se.contains("(and socket_error raised: ")
            && se.contains("cb.lua:9: and this too)")
            && se.contains("'helper'")
            && se.contains("cb.lua:4: in "),
        "{se}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn error_without_a_string_message_still_says_something() {
    let (dir, f) = temp_file("empty", "empty.lua", "");
    for (code, expected) in [
        ("error()", "(error raised with no message"),
        (
            "error('')",
            "empty.lua:1: (error raised with an empty message)",
        ),
        ("error({})", "(error object is a table value"),
        (
            "error(setmetatable({}, { __tostring = function() return 'custom' end }))",
            "error: custom",
        ),
        ("class 'Oops'\nerror(Oops())", "error: Oops object"),
        // A __tostring that gives no text must not break the report (Lua
        // 5.1 passes its nil or table on; Lua 5.4 raises).
        (
            "error(setmetatable({}, { __tostring = function() end }))",
            "error: (error object is a table value whose __tostring gives no text)",
        ),
        (
            "renoise.tool():add_timer(function()\n  error(setmetatable({}, { __tostring = function() return {} end }))\nend, 10)",
            "error: (error object is a table value whose __tostring gives no text)",
        ),
        (
            "error(setmetatable({}, { __tostring = function() error('inner') end }))",
            "error: (error object is a table value whose __tostring raised: ",
        ),
    ] {
        std::fs::write(&f, code).unwrap();
        let o = cmd().args(["run", f.to_str().unwrap()]).output().unwrap();
        let se = out(&o).1;
        assert_eq!(o.status.code(), Some(1), "{code}: {se}");
        assert!(se.contains(expected), "{code}: {se}");
        assert!(
            se.contains("stack traceback") && se.contains("empty.lua:"),
            "{code}: {se}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn running_out_of_memory_is_a_lua_error_the_tool_can_catch() {
    // Under a 1 GiB address-space limit: first caught by pcall, then
    // uncaught with memory used up to its last small block. With mlua's
    // allocator both aborted the process (a Rust "memory allocation
    // failed" and a backtrace, exit 134), and so did the second, later,
    // when the runner dropped its handles on the state.
    let code = "local t = {}\n\
        local ok, e = pcall(function()\n\
          for i = 1, 64 do t[i] = string.rep('x', 2^26) .. i end\n\
        end)\n\
        t = nil\n\
        collectgarbage()\n\
        print('caught', ok, e)\n\
        local big = {}\n\
        pcall(function()\n\
          for i = 1, 2^40 do big[i] = string.rep('y', 2^20) .. i end\n\
        end)\n\
        local l\n\
        for i = 1, 2^40 do l = { l } end\n";
    let (dir, f) = temp_file("oom", "oom.lua", code);
    let mut run = std::process::Command::new(cargo_bin("renoise-socket"));
    run.args(["run", "--timeout", "60", f.to_str().unwrap()]);
    // SAFETY: only setrlimit between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut run, || {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = Command::from_std(run).timeout(LIMIT).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let (so, se) = out(&o);
    assert_eq!(so, "caught\tfalse\tnot enough memory\n", "{se}");
    assert_eq!(o.status.code(), Some(1), "{se}");
    assert!(
        se.contains("renoise-socket: error: not enough memory"),
        "{se}"
    );
    assert!(!se.contains("alloc") && !se.contains("backtrace"), "{se}");
}
#[test]
fn preferences_xml_in_the_tool_folder_is_loaded() {
    // Assigning `preferences` loads the tool folder's preferences.xml into
    // the document, as Renoise does; without the file the defaults stay,
    // and the run writes nothing back.
    let (dir, main) = temp_file(
        "prefs",
        "main.lua",
        "local tool = renoise.tool()\n\
         if arg[1] == 'save' then\n\
           local saved = renoise.Document.create('ScriptingToolPreferences') { host = 'stored', port = 9000 }\n\
           assert(saved:save_as(tool.bundle_path .. 'preferences.xml'))\n\
           return\n\
         end\n\
         local prefs = renoise.Document.create('ScriptingToolPreferences') { host = 'default', port = 8000 }\n\
         tool.preferences = prefs\n\
         assert(tool.preferences == prefs)\n\
         print(prefs.host.value, prefs.port.value)\n",
    );
    let _ = std::fs::remove_file(dir.join("preferences.xml")); // of an earlier run
    let main = main.to_str().unwrap();
    let run = |what| run_ok(&["run", "--timeout", "20", main, "--", what]);
    assert_eq!(run("load").trim(), "default\t8000");
    assert!(!dir.join("preferences.xml").exists());
    run("save");
    let saved = std::fs::read(dir.join("preferences.xml")).unwrap();
    assert_eq!(run("load").trim(), "stored\t9000");
    assert_eq!(std::fs::read(dir.join("preferences.xml")).unwrap(), saved);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn error_at_level_2_in_a_notifier_or_timer_names_no_runner_file() {
    // Renoise calls notifiers and timers from C++: `error(msg, 2)` in one
    // has no Lua caller to name, so the message is just `msg`.
    let (dir, f) = temp_file("level2", "level2.lua", "");
    for code in [
        "renoise.tool():add_timer(function() error('bad state', 2) end, 10)",
        "renoise.tool().app_idle_observable:add_notifier(function() error('bad state', 2) end)",
        "renoise.tool().app_new_document_observable:add_notifier(function() error('bad state', 2) end)",
        "local o = renoise.Document.ObservableNumber(1)\n\
         o:add_notifier(function() error('bad state', 2) end)\n\
         o.value = 2",
    ] {
        std::fs::write(&f, code).unwrap();
        let o = cmd()
            .args(["run", "--timeout", "20", f.to_str().unwrap()])
            .output()
            .unwrap();
        let se = out(&o).1;
        assert_eq!(o.status.code(), Some(1), "{code}: {se}");
        assert!(
            se.starts_with("renoise-socket: error: bad state\n"),
            "{code}: {se}"
        );
        assert!(!se.contains("[renoise-socket"), "{code}: {se}");
        assert!(se.contains("level2.lua:"), "{code}: the tool's frame: {se}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_zipped_tool_is_named_as_such() {
    // The start of a zip archive: a local file header.
    let header = b"PK\x03\x04\x14\x00\x00\x00\x08\x00main.lua";
    let (dir, f) = temp_file("zip", "com.example.tool.xrnx", header);
    let o = cmd().args(["run", f.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let se = out(&o).1;
    assert!(se.contains("zip archive") && se.contains("unzip"), "{se}");
    assert_eq!(se.lines().count(), 1, "{se}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tool_whose_path_is_not_utf8_runs() {
    use std::os::unix::ffi::OsStrExt;
    // Paths are bytes: a script and a tool folder named in Latin-1 run,
    // and the tool sees its own folder's name as it is.
    let (dir, _) = temp_file("nonutf8", "unused", "");
    let script = dir.join(std::ffi::OsStr::from_bytes(b"caf\xe9.lua"));
    std::fs::write(&script, "print(#arg[0], arg[0]:byte(-5))").unwrap();
    let tool = dir.join(std::ffi::OsStr::from_bytes(b"t\xff.xrnx"));
    std::fs::create_dir_all(&tool).unwrap();
    std::fs::write(tool.join("main.lua"), "print(os.currentdir():byte(-6))").unwrap();
    let o = cmd().arg("run").arg(&script).output().unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    let len = script.canonicalize().unwrap().as_os_str().len();
    assert_eq!(out(&o).0, format!("{len}\t233\n"));
    let o = cmd().arg("run").arg(&tool).output().unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    assert_eq!(out(&o).0, "255\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_script_read_from_a_pipe_runs_whole() {
    // `/dev/stdin` cannot be canonicalized, and a pipe's first bytes,
    // once looked at (for a zip header), would be gone.
    for path in ["/dev/stdin", "-"] {
        let o = cmd()
            .args(["run", path, "--", "a"])
            .write_stdin("print('whole', ...)")
            .output()
            .unwrap();
        assert!(o.status.success(), "{path}: {}", out(&o).1);
        assert_eq!(out(&o).0, "whole\ta\n", "{path}");
    }
}

#[test]
fn missing_file_is_one_line() {
    let o = cmd().args(["run", "no/such/tool.lua"]).output().unwrap();
    let se = out(&o).1;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(se.lines().count(), 1, "{se}");
    assert!(
        se.contains("no/such/tool.lua: no such file or folder"),
        "{se}"
    );
}

/// Runs `code` as a script with `--timeout SECS`; checks that the timeout
/// ended it (exit code 124) and returns what it said on stderr.
fn timed_out(tag: &str, code: &str, secs: &str) -> String {
    let (dir, f) = temp_file(tag, "main.lua", code);
    let o = cmd()
        .args(["run", "--timeout", secs, f.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let err = out(&o).1;
    assert_eq!(o.status.code(), Some(124), "{err}");
    assert!(err.contains("--timeout"), "{err}");
    err
}

#[test]
fn timeout_stops_a_tool_that_runs_forever() {
    let err = timed_out(
        "to",
        "renoise.tool().app_idle_observable:add_notifier(function() end)",
        "0.5",
    );
    // What kept it going is said: here the forgotten notifier.
    assert!(
        err.contains("still running: 0 running servers, 0 timers, 1 idle notifier; it was "),
        "{err}"
    );
}

#[test]
fn timeout_names_the_servers_left_running() {
    let err = timed_out(
        "to-srv",
        "local s = renoise.Socket.create_server('127.0.0.1', 0, renoise.Socket.PROTOCOL_UDP)\n\
         s:run({})",
        "0.5",
    );
    assert!(
        err.contains("still running: 1 running server (SocketServer(UDP 127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("; it was "), "{err}");
    // Stuck in a server's callback, or a server only waiting: said apart.
    let err = timed_out(
        "to-cb",
        "local s = renoise.Socket.create_server('127.0.0.1', 0)\n\
         s:run({ socket_message = function() while true do end end })\n\
         local c = renoise.Socket.create_client('127.0.0.1', s.local_port)\n\
         c:send('x')",
        "1",
    );
    assert!(
        err.contains("; it was in a server's socket_message callback)"),
        "{err}"
    );
    let err = timed_out(
        "to-quiet",
        "local s = renoise.Socket.create_server('127.0.0.1', 0)\n\
         s:run({ socket_message = function() end })\n\
         renoise.tool():add_timer(function() end, 100000)",
        "0.5",
    );
    assert!(
        err.contains("1 running server (SocketServer(TCP 127.0.0.1:")
            && (err.contains("; it was in a server's wait, between callbacks)")
                || err.contains("; it was waiting for the next event)")),
        "{err}"
    );
    // Stuck before the loop, or in a callback: said so.
    let err = timed_out("to-main", "while true do end", "0.3");
    assert!(err.contains("had not finished running"), "{err}");
    let err = timed_out(
        "to-idle",
        "renoise.tool().app_idle_observable:add_notifier(function() while true do end end)",
        "0.3",
    );
    assert!(
        err.contains("1 idle notifier; it was in an idle notifier)"),
        "{err}"
    );
    let err = timed_out(
        "to-timer",
        "renoise.tool():add_timer(function() while true do end end, 10)",
        "0.5",
    );
    assert!(
        err.contains("1 timer, 0 idle notifiers; it was in a timer)"),
        "{err}"
    );
}

#[test]
fn example_echo_server() {
    let so = run_ok(&[
        "run",
        "--timeout",
        "20",
        here("../../examples/echo_server.xrnx").to_str().unwrap(),
    ]);
    for l in [
        "HELLO FROM A RENOISE TOOL",
        "SOCKETS WORK OUTSIDE RENOISE",
        "\"BYE\"",
        "[server] closed",
    ] {
        assert!(so.contains(l), "{so}");
    }
}

#[test]
fn example_http_poller_own_server_and_external_peer() {
    let so = run_ok(&[
        "run",
        "--timeout",
        "20",
        here("../../examples/http_poller.xrnx").to_str().unwrap(),
    ]);
    assert!(
        so.contains("[poller] HTTP/1.0 200 OK") && so.contains("hello from the local HTTP server"),
        "{so}"
    );
    // against a server that is not a Renoise tool
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let mut s = accept_within(&listener);
        let mut line = String::new();
        BufReader::new(s.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("GET / HTTP/1.0"));
        s.write_all(b"HTTP/1.0 200 OK\r\n\r\nexternal\n").unwrap();
    });
    let so = run_ok(&[
        "run",
        "--timeout",
        "20",
        here("../../examples/http_poller.xrnx").to_str().unwrap(),
        "--",
        "127.0.0.1",
        &port.to_string(),
    ]);
    t.join().unwrap();
    assert!(so.contains("[poller] external"), "{so}");
}

#[test]
fn example_osc_responder_and_timer_sender() {
    // responder: a free port, two messages, then it ends by itself
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(cargo_bin("renoise-socket"))
        .args([
            "run",
            "--timeout",
            "20",
            here("../../examples/osc_responder.xrnx").to_str().unwrap(),
            "--",
            &port.to_string(),
            "2",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().contains("listening"));
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ping = renoise_socket::osc::Message::new(
        b"/ping".to_vec(),
        vec![renoise_socket::osc::Arg::Int(41)],
    );
    peer.send_to(&ping.to_bytes().unwrap(), ("127.0.0.1", port))
        .unwrap();
    let mut buf = [0u8; 512];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(from.port(), port, "the reply comes from the server's port");
    let reply = renoise_socket::osc::Packet::decode(&buf[..n]).unwrap();
    assert_eq!(reply.to_string(), "/pong ,i 42");
    peer.send_to(
        &renoise_socket::osc::Message::new(b"/x".to_vec(), vec![])
            .to_bytes()
            .unwrap(),
        ("127.0.0.1", port),
    )
    .unwrap();
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    assert!(renoise_socket::osc::Packet::decode(&buf[..n])
        .unwrap()
        .to_string()
        .starts_with("/ack"));
    assert!(child.wait().unwrap().success());

    // sender: three /tick messages to our socket
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = sink.local_addr().unwrap().port().to_string();
    run_ok(&[
        "run",
        "--timeout",
        "20",
        here("../../examples/timer_sender.lua").to_str().unwrap(),
        "--",
        &port,
        "3",
        "20",
    ]);
    for i in 1..=3 {
        let (n, _) = sink.recv_from(&mut buf).unwrap();
        let p = renoise_socket::osc::Packet::decode(&buf[..n])
            .unwrap()
            .to_string();
        assert!(p.starts_with(&format!("/tick ,ifs {i} ")), "{p}");
    }
}

#[test]
fn a_tool_folder_runs_whatever_its_manifest_says() {
    // The manifest is not read: none, one that is not XML, or one asking
    // for an API version nobody has, the tool runs the same.
    for manifest in [
        None,
        Some("<not xml"),
        Some("<RenoiseScriptingTool><ApiVersion>99</ApiVersion></RenoiseScriptingTool>"),
    ] {
        let (dir, main) = temp_file(
            "manifest",
            "main.lua",
            "print(renoise.tool().id, renoise.tool().name)",
        );
        if let Some(text) = manifest {
            std::fs::write(dir.join("manifest.xml"), text).unwrap();
        }
        let so = run_ok(&["run", "--timeout", "20", dir.to_str().unwrap()]);
        std::fs::remove_file(main).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            so, "com.renoise-socket.run\trenoise-socket run\n",
            "{manifest:?}"
        );
    }
}

#[test]
fn finalize_runs_once_per_instance_of_a_class_with_len() {
    // A class with __len has userdata instances under Lua 5.1 and LuaJIT,
    // sharing a prototype's metatable: the prototype, never built, must
    // not be finalized at the end of the run (self.sock would be nil).
    let code = r#"
class "Conn"
function Conn:__init(n) self.n = n end
function Conn:__len() return 0 end
function Conn:__finalize() print("finalize " .. self.n) end
local a, b = Conn(1), Conn(2)
"#;
    let (dir, f) = temp_file("finalize", "fin.lua", code);
    let o = cmd()
        .args(["run", "--timeout", "20"])
        .arg(&f)
        .output()
        .unwrap();
    let (so, se) = out(&o);
    std::fs::remove_dir_all(dir).unwrap();
    assert!(o.status.success(), "{se}");
    assert!(se.is_empty(), "{se}");
    let mut lines: Vec<&str> = so.lines().collect();
    lines.sort();
    assert_eq!(lines, ["finalize 1", "finalize 2"]);
}

#[test]
fn connect_sends_lines_and_prints_replies() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let s = accept_within(&listener);
        let mut w = s.try_clone().unwrap();
        for line in BufReader::new(s).lines() {
            let line = line.unwrap();
            w.write_all(format!("echo {line}\n").as_bytes()).unwrap();
        }
    });
    let o = cmd()
        .args([
            "connect",
            "127.0.0.1",
            &port.to_string(),
            "--timeout",
            "500",
        ])
        .write_stdin("one\ntwo\n")
        .output()
        .unwrap();
    let (so, se) = out(&o);
    assert!(o.status.success(), "{se}");
    assert_eq!(so, "echo one\necho two\n");
    drop(t);
}

#[test]
fn output_that_cannot_be_written_is_an_error_and_a_reader_that_left_is_not() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    // connect, to a peer that says a line and closes.
    let connect = || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let mut s = accept_within(&listener);
            s.write_all(b"hello\n").unwrap();
        });
        let mut c = std::process::Command::new(cargo_bin("renoise-socket"));
        c.args([
            "connect",
            "127.0.0.1",
            &port.to_string(),
            "--timeout",
            "500",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
        (c, t)
    };
    let (mut c, t) = connect();
    let o = c.stdout(full()).output().unwrap();
    let (_, se) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{se}");
    assert!(
        se.contains("cannot write to stdout: No space left on device"),
        "{se}"
    );
    t.join().unwrap();
    // A pipe whose reader has gone is a normal end, as for netcat.
    let (mut c, t) = connect();
    let mut child = c.stdout(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    t.join().unwrap();
    // osc dump: one message, printed to a full disk.
    let (mut dump, mut err, port) =
        dump_on_port_0_to("UDP", &["--timeout", "10000"], full().into());
    cmd()
        .args(["osc", "send", "127.0.0.1", &port.to_string(), "/x", "i:5"])
        .assert()
        .success();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut err, &mut said).unwrap();
    let status = dump.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.contains("cannot write to stdout: No space left on device"),
        "{said}"
    );
}

#[test]
fn connect_prints_each_unit_before_it_waits_for_the_next() {
    // Output is buffered while units come fast, so it must go out before
    // a receive that may wait: here the peer sends its next piece only
    // after the last unit was printed, also when part of the next unit
    // is already in the client's buffer ("ef" of `--mode 4`).
    for (mode, pieces, units) in [
        ("line", ["one\n", "two\n"], ["one\n", "two\n"]),
        ("4", ["abcdef", "gh"], ["abcd", "efgh"]),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cue, next) = std::sync::mpsc::channel::<()>();
        let peer = std::thread::spawn(move || {
            let mut s = accept_within(&listener);
            for piece in pieces {
                s.write_all(piece.as_bytes()).unwrap();
                if next.recv_timeout(Duration::from_secs(10)).is_err() {
                    return; // the test failed; close
                }
            }
        });
        let mut child = std::process::Command::new(cargo_bin("renoise-socket"))
            .args(["connect", "--mode", mode, "127.0.0.1", &port.to_string()])
            .args(["--timeout", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (got_tx, got) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut buf) {
                if got_tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        let mut printed = Vec::new();
        for unit in units {
            let want = [printed.as_slice(), unit.as_bytes()].concat();
            while printed.len() < want.len() {
                match got.recv_timeout(Duration::from_secs(5)) {
                    Ok(bytes) => printed.extend(bytes),
                    Err(_) => {
                        let _ = child.kill();
                        panic!(
                            "--mode {mode}: {unit:?} was not printed before the peer's next piece; got {:?}",
                            String::from_utf8_lossy(&printed)
                        );
                    }
                }
            }
            assert_eq!(printed, want, "--mode {mode}");
            let _ = cue.send(());
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "--mode {mode}");
        peer.join().unwrap();
    }
}

#[test]
fn connect_errors_are_one_line() {
    // Its refused port must not become a listener's meanwhile.
    let _one_at_a_time = LISTENING.lock();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Refused, an unknown host, port 0: one line, exit code 1.
    let cases = [
        ("127.0.0.1", port.to_string(), "refused"),
        ("no-such-host.invalid", "80".into(), "unknown host"),
        ("127.0.0.1", "0".into(), "port"),
    ];
    for (host, port, says) in cases {
        let o = cmd()
            .args(["connect", host, &port])
            .write_stdin("")
            .output()
            .unwrap();
        let se = out(&o).1;
        assert_eq!(o.status.code(), Some(1), "{host} {port}");
        assert_eq!(se.lines().count(), 1, "{se}");
        assert!(se.contains(says), "{se}");
    }
    // A port that is not a port number does not parse: a usage error.
    for bad in ["99999", "-5", "abc"] {
        let o = cmd().args(["connect", "127.0.0.1", bad]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(out(&o).1.contains("<PORT>"), "{bad}");
    }
    // Nor does a mode: a size beyond the receive limit included.
    for bad in ["0", "16777217", "99999999999", "lines"] {
        let o = cmd()
            .args(["connect", "127.0.0.1", &port.to_string(), "--mode", bad])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(out(&o).1.contains("is not a mode"), "{bad}: {}", out(&o).1);
    }
}

#[test]
fn connect_lines_end_as_renoise_lines_do() {
    // \n, \r\n and a lone \r end a line; each is printed with \n. A
    // last line the peer ended by closing is a line too.
    let o = connect_against(
        |s| s.write_all(b"lf\ncrlf\r\ncr\rlast").unwrap(),
        false,
        &[],
        "",
    );
    assert_eq!(out(&o).0, "lf\ncrlf\ncr\nlast\n");
}

#[test]
fn connect_udp_prints_each_datagram_as_it_is() {
    let (peer, port) = udp_peer();
    let t = std::thread::spawn(move || {
        // Two datagrams in, two replies out, neither with a newline.
        let mut buf = [0u8; 64];
        for _ in 0..2 {
            let (n, from) = peer.recv_from(&mut buf).unwrap();
            let reply = format!("[{}]", String::from_utf8_lossy(&buf[..n]));
            peer.send_to(reply.as_bytes(), from).unwrap();
        }
    });
    let o = cmd()
        .args(["connect", "--udp", "127.0.0.1", &port.to_string()])
        .args(["--timeout", "500"])
        .write_stdin("a\nbb\n")
        .output()
        .unwrap();
    t.join().unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    assert_eq!(out(&o).0, "[a][bb]");
}

/// A UDP socket on 0.0.0.0, which loopback's own broadcast address
/// (127.255.255.255) reaches, and its port.
fn broadcast_listener() -> (std::net::UdpSocket, String) {
    let everyone = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    everyone
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let port = everyone.local_addr().unwrap().port().to_string();
    (everyone, port)
}

#[test]
fn connect_udp_broadcast_sends_to_every_host_of_a_broadcast_address() {
    let (everyone, p) = broadcast_listener();
    let o = cmd()
        .args(["connect", "--udp", "--broadcast", "127.255.255.255", &p])
        .args(["--timeout", "100"])
        .write_stdin("hello all\n")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    let mut buf = [0u8; 64];
    let (n, _) = everyone.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello all");
    // Only for UDP.
    let o = cmd()
        .args(["connect", "--broadcast", "127.0.0.1", &p])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o).1);
}

#[test]
fn connect_udp_refuses_a_stdin_line_too_long_for_a_datagram_before_it_ends() {
    // The line never ends (stdin stays open, no newline): it is refused
    // once it is longer than any datagram, not held whole until stdin
    // ends, and the line before it still goes out.
    let (peer, port) = udp_peer();
    let mut child = std::process::Command::new(cargo_bin("renoise-socket"))
        .args(["connect", "--udp", "127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first\n").unwrap();
    // (Fails only once the command has gone, which is what is awaited.)
    let _ = stdin.write_all(&vec![b'z'; 100_000]);
    let (status, err) = exit_within(&mut child, "connect --udp with a line that never ends");
    drop(stdin);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("a stdin line of more than 65535 bytes does not fit in one UDP datagram"),
        "{err}"
    );
    let mut buf = [0u8; 64];
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"first");
}

#[test]
fn connect_reports_a_stdin_it_cannot_read() {
    // stdin a folder: reading fails (EISDIR), which is not an empty stdin.
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = peer.local_addr().unwrap().port().to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = listener.local_addr().unwrap().port().to_string();
    let t = std::thread::spawn(move || {
        let mut s = accept_within(&listener);
        let _ = std::io::Read::read(&mut s, &mut [0u8; 16]);
    });
    for args in [
        vec!["connect", "--udp", "127.0.0.1", udp_port.as_str()],
        vec!["connect", "127.0.0.1", tcp_port.as_str()],
    ] {
        let mut child = std::process::Command::new(cargo_bin("renoise-socket"))
            .args(&args)
            .stdin(std::fs::File::open("/").unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (status, err) = exit_within(&mut child, &args.join(" "));
        assert_eq!(status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("cannot read stdin: Is a directory"),
            "{args:?}: {err}"
        );
    }
    t.join().unwrap();
}

/// Waits at most 10 s for `child` to exit; kills it and fails the test
/// (naming `what`) if it has not. Returns how it ended and its stderr
/// (piped).
fn exit_within(child: &mut std::process::Child, what: &str) -> (std::process::ExitStatus, String) {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status, err);
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("{what}: still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `connect 127.0.0.1 PORT` with `extra` arguments and `stdin`
/// against a peer thread that runs `serve` on the one connection, then,
/// if `hold`, keeps it open until the client has gone (at most 10 s).
fn connect_against(
    serve: impl FnOnce(&mut std::net::TcpStream) + Send + 'static,
    hold: bool,
    extra: &[&str],
    stdin: impl Into<Vec<u8>>,
) -> std::process::Output {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let t = std::thread::spawn(move || {
        let mut s = accept_within(&listener);
        serve(&mut s);
        if hold {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let _ = std::io::Read::read(&mut s, &mut [0u8; 16]);
        }
    });
    let o = cmd()
        .args(["connect", "127.0.0.1", &port])
        .args(extra)
        .write_stdin(stdin)
        .output()
        .unwrap();
    t.join().unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    o
}

#[test]
fn connect_keeps_reading_while_it_sends_to_a_peer_that_echoes() {
    // An echo peer answers while it is still being sent to: a command that
    // stopped reading during its sends would leave it blocked, and itself
    // blocked on it, until the send timed out with nothing printed.
    let input = b"a line of text for the echo peer, sixty bytes or so....\n".repeat(400_000);
    let o = connect_against(
        |s| {
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                match std::io::Read::read(s, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => s.write_all(&buf[..n]).unwrap(),
                }
            }
        },
        false,
        &["--half-close", "--timeout", "2000"],
        input.clone(),
    );
    assert_same_bytes(&o.stdout, &input);
}

#[test]
fn connect_prints_a_line_longer_than_a_client_holds_as_it_came() {
    let mut wire = b"before\n".to_vec();
    wire.extend(std::iter::repeat_n(b'a', (16 << 20) + 1));
    wire.extend_from_slice(b"\nafter\n");
    let sent = wire.clone();
    let o = connect_against(move |s| s.write_all(&sent).unwrap(), false, &[], "");
    assert_same_bytes(&o.stdout, &wire);
}

#[test]
fn connect_prints_an_unfinished_line_before_it_ends() {
    let o = connect_against(
        |s| s.write_all(b"whole\nno newline").unwrap(),
        true,
        &["--timeout", "300"],
        "",
    );
    assert_eq!(out(&o).0, "whole\nno newline");
}

#[test]
fn connect_prints_the_reply_of_a_peer_that_closed_while_it_was_sending() {
    // Closed with the client's lines unread: its sends soon fail.
    let input: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    let o = connect_against(
        |s| s.write_all(b"413 too much\n").unwrap(),
        false,
        &[],
        input,
    );
    assert_eq!(out(&o).0, "413 too much\n");
}

#[test]
fn connect_half_close_lets_a_peer_that_reads_to_the_end_answer() {
    // The peer answers only once it has read the end of the stream; the
    // quiet timeout is long, so without the half-close nothing comes back.
    let count = |s: &mut std::net::TcpStream| {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        std::io::Read::read_to_end(s, &mut got).unwrap();
        s.write_all(format!("got {} bytes\n", got.len()).as_bytes())
            .unwrap();
    };
    let o = connect_against(
        count,
        false,
        &["--half-close", "--timeout", "5000"],
        "one\ntwo\n",
    );
    assert_eq!(out(&o).0, "got 8 bytes\n");

    let o = cmd()
        .args(["connect", "127.0.0.1", "9", "--udp", "--half-close"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o).1);
}

#[test]
fn connect_sends_all_of_stdin_to_a_peer_that_pauses_its_reading() {
    // The peer stops reading for longer than the library's default send
    // timeout (10 s), then reads to the end: nothing of stdin is dropped.
    let input = vec![b'x'; 20 << 20];
    let count = |s: &mut std::net::TcpStream| {
        let mut first = vec![0u8; 1 << 20];
        std::io::Read::read_exact(s, &mut first).unwrap();
        std::thread::sleep(Duration::from_secs(12));
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut rest = Vec::new();
        std::io::Read::read_to_end(s, &mut rest).unwrap();
        let got = first.len() + rest.len();
        s.write_all(format!("got {got} bytes\n").as_bytes())
            .unwrap();
    };
    // The peer's reply ends the run (its close does): the quiet timeout is
    // only a bound, long enough for a loaded machine (5 s once was not).
    let o = connect_against(count, false, &["--half-close", "--timeout", "20000"], input);
    assert_eq!(out(&o).0, format!("got {} bytes\n", 20 << 20));
}

#[test]
fn connect_send_timeout_gives_up_on_a_peer_that_stops_reading() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // Accepts and never reads, until the command has given up.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        let _s = accept_within(&listener);
        let _ = done_rx.recv_timeout(LIMIT);
    });
    let o = cmd()
        .args(["connect", "127.0.0.1", &port, "--send-timeout", "500"])
        .write_stdin(vec![b'x'; 64 << 20])
        .output()
        .unwrap();
    let _ = done_tx.send(());
    t.join().unwrap();
    let (_, err) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("send stalled"), "{err}");

    let o = cmd()
        .args(["connect", "127.0.0.1", "9", "--udp", "--send-timeout", "5"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o).1);
}

#[test]
fn connect_listen_takes_hosts_as_connect_does() {
    // The same message for the same mistake, whichever side.
    for host in ["[127.0.0.1]", "*", "127.0.0.1:80", "no-such-host.invalid"] {
        let o = cmd()
            .args(["connect", "--listen", host, "0", "--accept-timeout", "100"])
            .output()
            .unwrap();
        let (_, err) = out(&o);
        assert_eq!(o.status.code(), Some(1), "{host}: {err}");
        let o = cmd().args(["connect", host, "9"]).output().unwrap();
        let (_, theirs) = out(&o);
        assert_eq!(err, theirs, "{host}");
        assert!(err.contains("unknown host"), "{host}: {err}");
    }
}

#[test]
fn connect_waits_while_a_line_is_still_arriving() {
    // One line, a byte every 100 ms: 1.6 s in all, twice the client's
    // quiet timeout, yet never quiet for more than an eighth of it (room
    // for a loaded machine's scheduling).
    let drip = |s: &mut std::net::TcpStream| {
        for b in b"abcdefghijklmno\n" {
            s.write_all(&[*b]).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let o = connect_against(drip, true, &["--timeout", "800"], "");
    assert_eq!(out(&o).0, "abcdefghijklmno\n");
}

#[test]
fn a_timeout_too_large_for_a_duration_means_no_timeout() {
    let (dir, f) = temp_file("big-to", "done.lua", "print('done')");
    for secs in ["1e20", "1e300"] {
        let o = cmd()
            .args(["run", "--timeout", secs, f.to_str().unwrap()])
            .output()
            .unwrap();
        let (so, se) = out(&o);
        assert!(o.status.success(), "{secs}: {se}");
        assert_eq!(so, "done\n", "{secs}");
        assert!(!se.contains("panicked"), "{secs}: {se}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_timeout_of_zero_stops_before_the_script_runs() {
    let (dir, f) = temp_file("zero-to", "done.lua", "print('done')");
    for secs in ["0", "0", "0", "-0", "1e-12"] {
        let o = cmd()
            .args(["run", "--timeout", secs, f.to_str().unwrap()])
            .output()
            .unwrap();
        let (so, se) = out(&o);
        assert_eq!(o.status.code(), Some(124), "{se}");
        assert_eq!(so, "", "{se}");
        assert!(se.contains("before the tool's script ran"), "{se}");
        // Said as written, not as -0 or 300 digits.
        let shown = if secs == "1e-12" { "1e-12" } else { "0" };
        assert!(
            se.contains(&format!("--timeout of {shown} s reached")),
            "{se}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_timeout_out_of_range_is_one_line_and_text_a_usage_error() {
    let (dir, f) = temp_file("bad-to", "done.lua", "print('done')");
    // `-1` apart as well as joined: a negative number, not an option.
    let cases: [&[&str]; 4] = [
        &["--timeout", "-1"],
        &["--timeout=-1"],
        &["--timeout", "inf"],
        &["--timeout", "nan"],
    ];
    for args in cases {
        let o = cmd().arg("run").args(args).arg(&f).output().unwrap();
        let (so, se) = out(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {se}");
        assert_eq!(so, "", "{args:?}");
        assert!(
            se.contains("--timeout must be a number of seconds >= 0, got"),
            "{args:?}: {se}"
        );
        assert_eq!(se.lines().count(), 1, "{args:?}: {se}");
    }
    let o = cmd()
        .args(["run", "--timeout", "abc"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o).1);
    let _ = std::fs::remove_dir_all(&dir);
}

fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A UDP socket on loopback whose reads give up after 10 s, and its port.
fn udp_peer() -> (UdpSocket, u16) {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let port = peer.local_addr().unwrap().port();
    (peer, port)
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn osc_send_to_our_dump_udp_and_tcp() {
    let _one_at_a_time = LISTENING.lock();
    for (tcp, framing) in [(false, "slip"), (true, "slip"), (true, "size")] {
        let port = if tcp {
            free_tcp_port()
        } else {
            free_udp_port()
        };
        let p = port.to_string();
        let mut dump = vec!["osc", "dump", &p, "--count", "1", "--timeout", "10000"];
        if tcp {
            dump.extend(["--tcp", "--framing", framing]);
        }
        let lines = dump_lines(&cargo_bin("renoise-socket"), &dump, 1, || {
            let mut send = cmd();
            send.args([
                "osc",
                "send",
                "127.0.0.1",
                &p,
                "/a/b",
                "i:1",
                "f:2.5",
                "s:hi there",
                "T",
                "N",
                "h:7",
                "d:0.25",
                "c:x",
                "b:ab",
            ]);
            if tcp {
                send.args(["--tcp", "--framing", framing]);
            }
            send.assert().success();
        });
        assert_eq!(
            lines,
            ["/a/b ifsTNhdcb 1 2.500000 \"hi there\" #T Nil 7 0.250000 'x' [2b 0x61 0x62]"],
            "tcp={tcp} framing={framing}"
        );
    }
}

#[test]
fn framing_without_tcp_is_a_usage_error() {
    for args in [
        &["osc", "send", "127.0.0.1", "9", "/a", "--framing", "slip"][..],
        &["osc", "dump", "9", "--framing", "size", "--timeout", "10"][..],
    ] {
        let o = cmd().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(out(&o).1.contains("--tcp"), "{args:?}: {}", out(&o).1);
    }
}

/// Starts `osc dump 0 ARGS...` and reads the port it says it got
/// (`listening on PROTOCOL port N`); returns the child, the rest of its
/// stderr and the port.
fn dump_on_port_0(
    protocol: &str,
    args: &[&str],
) -> (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    u16,
) {
    dump_on_port_0_to(protocol, args, Stdio::piped())
}

/// [`dump_on_port_0`] printing to `stdout`.
fn dump_on_port_0_to(
    protocol: &str,
    args: &[&str],
    stdout: Stdio,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    u16,
) {
    let mut dump = std::process::Command::new(cargo_bin("renoise-socket"))
        .args(["osc", "dump", "0"])
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(dump.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix(&format!("listening on {protocol} port "))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"));
    assert_ne!(port, 0);
    (dump, err, port)
}

#[test]
fn osc_dump_on_port_0_says_which_port_it_got() {
    let (dump, _err, port) = dump_on_port_0("UDP", &["--count", "1", "--timeout", "10000"]);
    cmd()
        .args(["osc", "send", "127.0.0.1", &port.to_string(), "/x", "i:5"])
        .assert()
        .success();
    let o = dump.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "/x i 5\n");
}

#[test]
fn osc_send_takes_hex_integers_and_dump_prints_a_message_without_type_tags() {
    let (dump, _err, port) = dump_on_port_0("UDP", &["--count", "2", "--timeout", "10000"]);
    cmd()
        .args([
            "osc",
            "send",
            "127.0.0.1",
            &port.to_string(),
            "/x",
            "i:0x10",
            "h:0x10",
            "i:-0x10",
            "h:-0X8000000000000000",
        ])
        .assert()
        .success();
    // An address alone, as OSC 1.0 lets old senders send it.
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"/notypes\0\0\0\0", ("127.0.0.1", port))
        .unwrap();
    let o = dump.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "/x ihih 16 16 -16 -9223372036854775808\n/notypes \n"
    );
}

/// Starts `osc dump 0 --tcp --timeout 3000`, lets `peer` talk to it over
/// one connection (then closes it), and returns the connection's address,
/// what the dump printed and what it said on stderr once it ended.
fn tcp_dump_of(
    peer: impl FnOnce(&mut std::net::TcpStream),
) -> (std::net::SocketAddr, String, String) {
    let (dump, mut err, port) = dump_on_port_0("TCP", &["--tcp", "--timeout", "3000"]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let me = s.local_addr().unwrap();
    peer(&mut s);
    drop(s);
    let mut said = String::new();
    std::io::Read::read_to_string(&mut err, &mut said).unwrap();
    let o = dump.wait_with_output().unwrap();
    assert!(o.status.success());
    (me, String::from_utf8_lossy(&o.stdout).into_owned(), said)
}

#[test]
fn osc_dump_takes_keepalive_empty_frames_between_packets() {
    use renoise_socket::osc::{Arg, Message};
    // Empty frames, dropped as they come, some in the read that starts a
    // packet: the packet resumes where the drop left it.
    let a = Message::new("/a", vec![Arg::Int(1)]).to_bytes().unwrap();
    let (_, printed, said) = tcp_dump_of(|s| {
        for _ in 0..4 {
            s.write_all(&[0xc0; 2000]).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        s.write_all(&[&[0xc0; 1000][..], &a[..5]].concat()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(&[&a[5..], &[0xc0; 3]].concat()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(&[&a[..], &[0xc0][..]].concat()).unwrap();
    });
    assert_eq!(said, "", "nothing to complain about");
    assert_eq!(printed, "/a i 1\n/a i 1\n");
}

#[test]
fn osc_dump_says_when_a_tcp_peer_ends_inside_a_frame() {
    // A size prefix announcing 100 bytes, then 10 of them, then the end.
    let (_, printed, said) = tcp_dump_of(|s| {
        s.write_all(&[0, 0, 0, 100]).unwrap();
        s.write_all(b"/cut\0\0\0\0,i").unwrap();
    });
    assert!(
        said.contains("bad OSC frame: stream ended inside a frame (14 bytes)"),
        "{said}"
    );
    assert_eq!(printed, "");
    // Unframed: a message cut off by the end, said with the peer.
    let (me, printed, said) = tcp_dump_of(|s| s.write_all(b"/cut\0\0\0\0,i\0\0\0\0").unwrap());
    assert!(
        said.contains(&format!("{me}: stream ended inside a message (14 bytes)")),
        "{said}"
    );
    assert_eq!(printed, "");
}

#[test]
fn osc_dump_over_tcp_without_framing_cuts_messages_where_each_ends() {
    use renoise_socket::osc::{Arg, Message};
    let bytes = |m: Message| m.to_bytes().unwrap();
    let a = bytes(Message::new("/a", vec![Arg::Int(1)]));
    let b = bytes(Message::new("/b", vec![Arg::String(b"x".to_vec())]));
    let c = bytes(Message::new("/c", vec![Arg::Float(2.5), Arg::True]));
    // Two whole messages and half of a third in one write, as TCP may
    // deliver what a program sent quickly; then the rest, and a last
    // message with no type tags (OSC 1.0), which only the end delimits.
    let (_, printed, said) = tcp_dump_of(|s| {
        s.write_all(&[&a[..], &b[..], &c[..5]].concat()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        s.write_all(&c[5..]).unwrap();
        s.write_all(b"/end\0\0\0\0").unwrap();
    });
    assert_eq!(said, "", "nothing to complain about");
    assert_eq!(printed, "/a i 1\n/b s \"x\"\n/c fT 2.500000 #T\n/end \n");
}

#[test]
fn osc_dump_ends_an_unframed_connection_at_bytes_that_are_not_osc() {
    use renoise_socket::osc::{Arg, Message};
    let a = Message::new("/a", vec![Arg::Int(1)]).to_bytes().unwrap();
    let b = Message::new("/b", vec![Arg::Int(2)]).to_bytes().unwrap();
    // A message, then bytes no message starts with, in one write; a
    // message after that is not trusted (how TCP cut the stream must not
    // decide what is printed).
    let (me, printed, said) = tcp_dump_of(|s| {
        s.write_all(&[&a[..], b"XYZW"].concat()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let _ = s.write_all(&b);
    });
    assert!(said.contains(&format!("{me}: not OSC (4 bytes)")), "{said}");
    assert_eq!(printed, "/a i 1\n", "{said}");
    // A tag-less message (OSC 1.0) before a bundle: both printed.
    let bundle = renoise_socket::osc::Bundle::of_messages(0.0, vec![Message::new("/in", vec![])])
        .to_bytes()
        .unwrap();
    let (_, printed, said) = tcp_dump_of(|s| {
        s.write_all(&[&b"/tagless\0\0\0\0"[..], &bundle[..]].concat())
            .unwrap();
    });
    assert_eq!(said, "");
    assert_eq!(printed, "/tagless \n/in \n");
}

#[test]
fn osc_dump_says_a_broken_frame_after_what_came_before_it() {
    use renoise_socket::osc::{Arg, Message};
    let good = Message::new("/a", vec![Arg::Int(1)]).to_bytes().unwrap();
    let framed = |p: &[u8]| [&(p.len() as u32).to_be_bytes()[..], p].concat();
    // One write: a good packet, one that is not OSC, then a prefix no
    // packet can have.
    let (_, printed, said) = tcp_dump_of(|s| {
        let all = [framed(&good), framed(b"zzzz"), vec![0xff; 4]].concat();
        s.write_all(&all).unwrap();
    });
    assert_eq!(printed, "/a i 1\n");
    let not_osc = said.find("not OSC (4 bytes)");
    let broken = said.find("size prefix announces 4294967295 bytes");
    assert!(not_osc.is_some() && broken.is_some(), "{said}");
    assert!(not_osc < broken, "{said}");
}

#[test]
fn osc_dump_reads_slip_with_an_end_after_each_packet_only() {
    use renoise_socket::osc::{Arg, Message};
    // RFC 1055's plain form starts with the packet itself, so the first
    // byte says "unframed"; the END where the next packet would start
    // says SLIP, and the rest is read so (an escaped END in a blob too).
    let a = Message::new("/a", vec![Arg::Int(1)]).to_bytes().unwrap();
    let b = Message::new("/b", vec![Arg::Blob(vec![0xc0, 7])])
        .to_bytes()
        .unwrap();
    let escaped: Vec<u8> = b
        .iter()
        .flat_map(|&x| match x {
            0xc0 => vec![0xdb, 0xdc],
            0xdb => vec![0xdb, 0xdd],
            x => vec![x],
        })
        .collect();
    let (_, printed, said) = tcp_dump_of(|s| {
        s.write_all(&[&a[..], &[0xc0]].concat()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        s.write_all(&[&escaped[..], &[0xc0]].concat()).unwrap();
    });
    assert_eq!(said, "", "nothing to complain about");
    assert_eq!(printed, "/a i 1\n/b b [2b 0xc0 0x7]\n");
}

#[test]
fn osc_send_to_a_broadcast_address_takes_broadcast() {
    let (everyone, p) = broadcast_listener();
    let o = cmd()
        .args(["osc", "send", "127.255.255.255", &p, "/all"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(said.contains("broadcast option"), "{said}");
    cmd()
        .args(["osc", "send", "--broadcast", "127.255.255.255", &p, "/all"])
        .assert()
        .success();
    let mut buf = [0u8; 64];
    let (n, _) = everyone.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &[osc_str("/all"), osc_str(",")].concat()[..]);
}

#[test]
fn osc_send_rounds_f_to_float32_as_a_c_cast_does() {
    // As the Lua module's Message and liblo's oscsend: past float32's
    // range is infinity, not an error (`d` carries such values).
    let (sink, p) = udp_peer();
    let p = p.to_string();
    cmd()
        .args(["osc", "send", "127.0.0.1", &p])
        .args(["/f", "f:1e40", "f:-1e40", "f:0.1"])
        .assert()
        .success();
    let mut buf = [0u8; 64];
    let n = sink.recv(&mut buf).unwrap();
    let want = [
        osc_str("/f"),
        osc_str(",fff"),
        f32::INFINITY.to_be_bytes().to_vec(),
        f32::NEG_INFINITY.to_be_bytes().to_vec(),
        0.1f32.to_be_bytes().to_vec(),
    ]
    .concat();
    assert_eq!(&buf[..n], &want[..]);
}

#[test]
fn osc_send_bad_arguments() {
    let fails = |args: &[&str], says: &str| {
        let o = cmd()
            .args(["osc", "send", "127.0.0.1", "9"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(out(&o).1.contains(says), "{args:?}: {}", out(&o).1);
    };
    fails(&["/a", "i:x"], "argument 'i:x': not a whole number");
    fails(
        &["noslash"],
        "the OSC address must start with '/', got 'noslash'",
    );
    fails(&["/a", "q:1"], "unknown tag");
    fails(&["/a", "h:9223372036854775808"], "out of the int64 range");
    fails(&["/a", "h:0x8000000000000000"], "out of the int64 range");
    // The sign goes before 0x.
    fails(&["/a", "i:0x-10"], "argument 'i:0x-10': not a whole number");
    fails(&["/a", "r:-0x1"], "must fit in 32 bits unsigned");
    // A negative time is a value out of range, not an unknown option.
    fails(
        &["/a", "--bundle", "-1"],
        "time -1 is not a number of seconds in 0 <= t < 2^32",
    );
}

#[test]
fn liblo_interop() {
    if !(have("oscsend") && have("oscdump")) {
        eprintln!("liblo-tools (oscsend, oscdump) not installed: interop test skipped");
        return;
    }
    // liblo's oscsend -> our dump
    let port = free_udp_port();
    let p = port.to_string();
    let dump = ["osc", "dump", &p, "--count", "1", "--timeout", "10000"];
    let lines = dump_lines(&cargo_bin("renoise-socket"), &dump, 1, || {
        let st = std::process::Command::new("oscsend")
            .args(["127.0.0.1", &p, "/liblo", "ifsTh", "3", "1.5", "text", "9"])
            .status()
            .unwrap();
        assert!(st.success());
    });
    assert_eq!(lines, ["/liblo ifsTh 3 1.500000 \"text\" #T 9"]);

    // our send -> liblo's oscdump: the same line after oscdump's timestamp
    let port = free_udp_port();
    let p = port.to_string();
    let lines = dump_lines(Path::new("oscdump"), &["-L", &p], 1, || {
        cmd()
            .args([
                "osc",
                "send",
                "127.0.0.1",
                &p,
                "/ours",
                "i:3",
                "f:1.5",
                "s:text",
                "T",
                "h:9",
            ])
            .assert()
            .success();
    });
    let line = lines.first().cloned().unwrap_or_default();
    let ours = line.split_once(' ').map(|x| x.1).unwrap_or("");
    assert_eq!(
        ours.trim_end(),
        "/ours ifsTh 3 1.500000 \"text\" #T 9",
        "{line}"
    );
}

/// `e` padded with NULs to a multiple of 4, as OSC strings are.
fn osc_str(e: &str) -> Vec<u8> {
    let mut b = e.as_bytes().to_vec();
    b.push(0);
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    b
}

/// A bundle at timetag 0x12345678.9abcdef0 holding `/a/b ,if 7 1.5` and
/// `/c ,s "hi"`, built by hand (not by our encoder), and the lone message.
fn hand_made_bundle() -> (Vec<u8>, Vec<u8>) {
    let mut msg = [osc_str("/a/b"), osc_str(",if")].concat();
    msg.extend_from_slice(&7i32.to_be_bytes());
    msg.extend_from_slice(&1.5f32.to_be_bytes());
    let msg2 = [osc_str("/c"), osc_str(",s"), osc_str("hi")].concat();
    let mut bundle = osc_str("#bundle");
    bundle.extend_from_slice(&0x1234_5678_9abc_def0u64.to_be_bytes());
    for m in [&msg, &msg2] {
        bundle.extend_from_slice(&(m.len() as i32).to_be_bytes());
        bundle.extend_from_slice(m);
    }
    (bundle, msg)
}

/// Starts `program args` (a dump listening on a port), lets it start, runs
/// `send`, and returns the first `n` lines it prints (bounded).
fn dump_lines(program: &Path, args: &[&str], n: usize, send: impl FnOnce()) -> Vec<String> {
    dump_byte_lines(program, args, n, send)
        .into_iter()
        .map(|l| String::from_utf8(l).expect("a line in UTF-8"))
        .collect()
}

/// Waits (at most 10 s) until some process listens on TCP `port` or has
/// bound UDP `port`, as the kernel's tables say: a program just started
/// may take a while on a loaded machine, and a datagram sent before it
/// binds is lost. Reading the tables binds nothing, so it cannot take the
/// port from the program.
fn wait_bound(port: u16, tcp: bool) {
    let files: &[&str] = if tcp {
        &["/proc/net/tcp", "/proc/net/tcp6"]
    } else {
        &["/proc/net/udp", "/proc/net/udp6"]
    };
    let local = format!(":{port:04X} ");
    let bound = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < bound {
        let found = files.iter().any(|f| {
            std::fs::read_to_string(f).is_ok_and(|table| {
                table.lines().skip(1).any(|row| {
                    let cols: Vec<&str> = row.split_whitespace().collect();
                    // local address, then state: 0A is LISTEN (TCP); UDP: 07.
                    cols.len() > 3
                        && format!("{} ", cols[1]).ends_with(&local)
                        && (!tcp || cols[3] == "0A")
                })
            })
        });
        if found {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// [`dump_lines`], as bytes (without the newlines).
fn dump_byte_lines(program: &Path, args: &[&str], n: usize, send: impl FnOnce()) -> Vec<Vec<u8>> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The port is the first number among the arguments.
    let port = args
        .iter()
        .find_map(|a| a.parse::<u16>().ok().filter(|&p| p != 0));
    let tcp = args.contains(&"--tcp");
    match port {
        Some(port) => wait_bound(port, tcp),
        None => std::thread::sleep(Duration::from_millis(300)),
    }
    send();
    let r = BufReader::new(child.stdout.take().unwrap());
    let reader = std::thread::spawn(move || r.split(b'\n').take(n).map_while(Result::ok).collect());
    let bound = std::time::Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() && std::time::Instant::now() < bound {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    reader.join().unwrap()
}

/// [`dump_lines`] for the hand-made bundle and the lone message, sent to
/// `port`: the first three lines.
fn dump_three_lines(program: &Path, args: &[&str], port: u16) -> Vec<String> {
    dump_lines(program, args, 3, || {
        let (bundle, msg) = hand_made_bundle();
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.send_to(&bundle, ("127.0.0.1", port)).unwrap();
        u.send_to(&msg, ("127.0.0.1", port)).unwrap();
    })
}

/// `/x ,Sfdbbt` built by hand: a symbol, a NaN, minus infinity, a blob
/// too long to list, a short one with a zero byte, and a timetag that a
/// double cannot hold exactly.
fn hand_made_odd_args() -> Vec<u8> {
    let mut m = [osc_str("/x"), osc_str(",Sfdbbt"), osc_str("sym")].concat();
    m.extend_from_slice(&f32::NAN.to_be_bytes());
    m.extend_from_slice(&f64::NEG_INFINITY.to_be_bytes());
    m.extend_from_slice(&20u32.to_be_bytes());
    m.extend_from_slice(&[7u8; 20]);
    m.extend_from_slice(&3u32.to_be_bytes());
    m.extend_from_slice(&[0, 5, 0xab, 0]);
    m.extend_from_slice(&0xeeba_8f00_1234_5678u64.to_be_bytes());
    m
}

#[test]
fn osc_dump_prints_odd_arguments_as_oscdump_does() {
    let want = ["/x Sfdbbt 'sym nan -inf [20 byte blob] [3b 00 0x5 0xab] eeba8f00.12345678"];
    let dump = |program: &Path, args: &[&str], port: u16| {
        dump_lines(program, args, 1, || {
            let u = UdpSocket::bind("127.0.0.1:0").unwrap();
            u.send_to(&hand_made_odd_args(), ("127.0.0.1", port))
                .unwrap();
        })
    };
    let port = free_udp_port();
    let lines = dump(
        &cargo_bin("renoise-socket"),
        &["osc", "dump", &port.to_string()],
        port,
    );
    assert_eq!(lines, want, "renoise-socket");
    if have("oscdump") {
        let port = free_udp_port();
        let theirs = dump(Path::new("oscdump"), &["-L", &port.to_string()], port);
        let theirs: Vec<_> = theirs
            .iter()
            .map(|l| l.split_once(' ').map_or("", |x| x.1))
            .collect();
        assert_eq!(theirs, want, "oscdump");
    }
}

#[test]
fn osc_dump_prints_strings_and_chars_as_their_bytes() {
    // `/x ,sSc`: a string and a symbol that are not UTF-8, a char above 0x7f.
    let mut packet = [
        osc_str("/x"),
        osc_str(",sSc"),
        b"\xe9t\xe9\0".to_vec(),
        b"\xff\0\0\0".to_vec(),
    ]
    .concat();
    packet.extend_from_slice(&0xe9u32.to_be_bytes());
    let want: Vec<u8> = b"/x sSc \"\xe9t\xe9\" '\xff '\xe9'".to_vec();
    let dump = |program: &Path, args: &[&str], port: u16| {
        dump_byte_lines(program, args, 1, || {
            let u = UdpSocket::bind("127.0.0.1:0").unwrap();
            u.send_to(&packet, ("127.0.0.1", port)).unwrap();
        })
    };
    let port = free_udp_port();
    let ours = dump(
        &cargo_bin("renoise-socket"),
        &["osc", "dump", &port.to_string()],
        port,
    );
    assert_eq!(
        ours,
        std::slice::from_ref(&want),
        "{:?}",
        String::from_utf8_lossy(&ours.concat())
    );
    if have("oscdump") {
        let port = free_udp_port();
        let theirs = dump(Path::new("oscdump"), &["-L", &port.to_string()], port);
        // oscdump starts its line with a timetag.
        let theirs: Vec<Vec<u8>> = theirs
            .iter()
            .map(|l| {
                l.splitn(2, |&b| b == b' ')
                    .nth(1)
                    .unwrap_or_default()
                    .to_vec()
            })
            .collect();
        assert_eq!(theirs, [want], "oscdump");
    }
}

#[test]
fn osc_dump_count_stops_inside_a_bundle() {
    let port = free_udp_port();
    let p = port.to_string();
    let lines = dump_lines(
        &cargo_bin("renoise-socket"),
        &["osc", "dump", &p, "--count", "2", "--timeout", "10000"],
        4,
        || {
            let (bundle, msg) = hand_made_bundle();
            let u = UdpSocket::bind("127.0.0.1:0").unwrap();
            u.send_to(&msg, ("127.0.0.1", port)).unwrap();
            u.send_to(&bundle, ("127.0.0.1", port)).unwrap();
            u.send_to(&msg, ("127.0.0.1", port)).unwrap();
        },
    );
    // The dump exits after two: the lone message and the bundle's first.
    assert_eq!(lines, ["/a/b if 7 1.500000", "/a/b if 7 1.500000"]);
}

/// The first line a default-framed TCP `osc dump` prints of what `send`
/// sends to its port.
fn tcp_dump_line(send: impl FnOnce(&str)) -> Vec<String> {
    let _one_at_a_time = LISTENING.lock();
    let p = free_tcp_port().to_string();
    let dump = [
        "osc",
        "dump",
        &p,
        "--tcp",
        "--count",
        "1",
        "--timeout",
        "10000",
    ];
    dump_lines(&cargo_bin("renoise-socket"), &dump, 1, || send(&p))
}

#[test]
fn osc_dump_over_tcp_tells_the_framing_by_the_first_byte() {
    for framing in ["size", "slip", "none"] {
        let lines = tcp_dump_line(|p| {
            let args = ["osc", "send", "127.0.0.1", p, "/f", "s:", "--tcp"];
            cmd()
                .args(args)
                .args(["--framing", framing])
                .assert()
                .success();
        });
        assert_eq!(lines, ["/f s \"\""], "{framing}");
    }
    if have("oscsend") {
        // liblo's own TCP framing (a size prefix), to the default dump
        let lines = tcp_dump_line(|p| {
            let url = format!("osc.tcp://127.0.0.1:{p}");
            let st = std::process::Command::new("oscsend")
                .args([url.as_str(), "/liblo", "i", "8"])
                .status()
                .unwrap();
            assert!(st.success());
        });
        assert_eq!(lines, ["/liblo i 8"]);
    }
}

#[test]
fn osc_dump_timetags_mark_bundles_as_oscdump_does() {
    let ours = cargo_bin("renoise-socket");
    let port = free_udp_port();
    let p = port.to_string();
    let lines = dump_three_lines(&ours, &["osc", "dump", &p, "--timetags"], port);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "12345678.9abcdef0 /a/b if 7 1.500000");
    assert_eq!(lines[1], "12345678.9abcdef0 /c s \"hi\"");
    // A lone message carries its arrival time.
    assert_arrived_now(&lines[2], "/a/b if 7 1.500000");

    // Without the flag: the same lines, no timetags.
    let port = free_udp_port();
    let p = port.to_string();
    let plain = dump_three_lines(&ours, &["osc", "dump", &p], port);
    assert_eq!(
        plain,
        ["/a/b if 7 1.500000", "/c s \"hi\"", "/a/b if 7 1.500000"]
    );

    // liblo's oscdump prints the bundle's lines exactly so.
    if !have("oscdump") {
        eprintln!("liblo-tools not installed: oscdump comparison skipped");
        return;
    }
    let port = free_udp_port();
    let theirs = dump_three_lines(Path::new("oscdump"), &["-L", &port.to_string()], port);
    assert_eq!(
        theirs.get(..2),
        lines.get(..2),
        "oscdump printed {theirs:?}"
    );
}

#[test]
fn osc_dump_timetags_an_immediate_bundle_inside_a_timed_one_with_the_arrival() {
    // A bundle at 0x12345678.9abcdef0 holding an "immediately" bundle
    // (timetag 1) holding `/c ,s "hi"`: oscdump starts every bundle, a
    // nested one too, with the arrival time for "immediately".
    let (_, msg) = hand_made_bundle();
    let inner_msg = [osc_str("/c"), osc_str(",s"), osc_str("hi")].concat();
    let mut inner = osc_str("#bundle");
    inner.extend_from_slice(&1u64.to_be_bytes());
    inner.extend_from_slice(&(inner_msg.len() as i32).to_be_bytes());
    inner.extend_from_slice(&inner_msg);
    let mut outer = osc_str("#bundle");
    outer.extend_from_slice(&0x1234_5678_9abc_def0u64.to_be_bytes());
    for e in [&msg, &inner] {
        outer.extend_from_slice(&(e.len() as i32).to_be_bytes());
        outer.extend_from_slice(e);
    }
    let port = free_udp_port();
    let p = port.to_string();
    let lines = dump_lines(
        &cargo_bin("renoise-socket"),
        &[
            "osc",
            "dump",
            &p,
            "--timetags",
            "--count",
            "2",
            "--timeout",
            "10000",
        ],
        2,
        || {
            let u = UdpSocket::bind("127.0.0.1:0").unwrap();
            u.send_to(&outer, ("127.0.0.1", port)).unwrap();
        },
    );
    assert_eq!(lines[0], "12345678.9abcdef0 /a/b if 7 1.500000");
    assert_arrived_now(&lines[1], "/c s \"hi\"");
}

#[test]
fn osc_dump_prints_and_stamps_each_message_as_it_arrives() {
    // Each message is sent once the line of the one before was printed:
    // a dump that waited out fixed slices of time would print it, and
    // take its arrival time, a slice later (200 ms, when it used `wait`).
    let port = free_udp_port();
    let p = port.to_string();
    let mut child = std::process::Command::new(cargo_bin("renoise-socket"))
        .args(["osc", "dump", &p, "--timetags", "--count", "3"])
        .args(["--timeout", "30000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bound(port, false);
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let msg = [osc_str("/now"), osc_str(",")].concat();
    let ntp_secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            + 2_208_988_800.0
    };
    for i in 0..3 {
        let sent = ntp_secs(std::time::SystemTime::now());
        u.send_to(&msg, ("127.0.0.1", port)).unwrap();
        let Ok(line) = lines.recv_timeout(Duration::from_secs(10)) else {
            let _ = child.kill();
            panic!("message {i} was not printed");
        };
        let (tag, rest) = line.split_once(' ').unwrap();
        assert_eq!(rest, "/now ", "{line}");
        let (secs, frac) = tag.split_once('.').unwrap();
        let stamp = u64::from_str_radix(secs, 16).unwrap() as f64
            + u64::from_str_radix(frac, 16).unwrap() as f64 / 4_294_967_296.0;
        // NTP seconds wrap every 136 years; this century is era 0 + 2^32.
        let stamp = stamp + ((sent as u64) >> 32 << 32) as f64;
        let late = stamp - sent;
        assert!(
            (-0.01..0.1).contains(&late),
            "message {i}: stamped {late:.3} s after it was sent ({line})"
        );
    }
    assert!(child.wait().unwrap().success());
}

/// `line` is `TIMETAG rest`, with the timetag NTP seconds of about now
/// (an arrival time, as oscdump prints it).
fn assert_arrived_now(line: &str, rest: &str) {
    let (tag, got) = line.split_once(' ').unwrap();
    assert_eq!(got, rest, "{line}");
    let secs = u64::from_str_radix(tag.split('.').next().unwrap(), 16).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2_208_988_800;
    assert!(secs.abs_diff(now & 0xffff_ffff) < 60, "{tag} vs {now:x}");
}

/// The tests that listen on a port found free, or connect to one that
/// should refuse, take turns: the kernel may hand the port one found free
/// to another's listener (or port 0) meanwhile, and a connect meant for one
/// test then reaches another's listener (a `connect --listen` took a
/// stranger as its first peer, and reset the test's own connection).
static LISTENING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn connect_listen_talks_to_the_first_peer() {
    let _one_at_a_time = LISTENING.lock();
    let mut hosts = vec![("127.0.0.1", std::net::IpAddr::from([127, 0, 0, 1]))];
    if TcpListener::bind("[::1]:0").is_ok() {
        // The bracketed form, as the other commands take it.
        hosts.push(("[::1]", std::net::Ipv6Addr::LOCALHOST.into()));
    }
    for (host, ip) in hosts {
        let port = free_tcp_port();
        let mut child = std::process::Command::new(cargo_bin("renoise-socket"))
            .args(["connect", "--listen", host, &port.to_string()])
            .args(["--timeout", "300", "--accept-timeout", "10000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
        // Connect once it listens (bounded).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let s = loop {
            match std::net::TcpStream::connect((ip, port)) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "{host}: never listened: {e}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        // What the peer sends at once is not lost between the accept and
        // the command's first read.
        (&s).write_all(b"early\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut got = String::new();
        r.read_line(&mut got).unwrap();
        assert_eq!(got, "hello\n", "{host}");
        (&s).write_all(b"reply\n").unwrap();
        drop(r);
        drop(s);
        let o = child.wait_with_output().unwrap();
        let (so, se) = out(&o);
        assert!(o.status.success(), "{host}: {se}");
        assert_eq!(so, "early\nreply\n", "{host}");
    }
}

#[test]
fn connect_listen_without_a_peer_is_one_line_after_the_accept_timeout() {
    let _one_at_a_time = LISTENING.lock();
    // What `connect --listen` says on stderr when nobody comes (exit 1).
    let listen_alone = |port: &str| {
        let o = cmd()
            .args([
                "connect",
                "--listen",
                "127.0.0.1",
                port,
                "--accept-timeout",
                "200",
            ])
            .write_stdin("")
            .output()
            .unwrap();
        let se = out(&o).1;
        assert_eq!(o.status.code(), Some(1), "{se}");
        se
    };
    let port = free_tcp_port().to_string();
    let se = listen_alone(&port);
    assert!(se.contains("no peer connected"), "{se}");
    assert_eq!(se.trim_end().lines().count(), 1, "{se}");
    // On port 0, both lines name the port the system picked.
    let se = listen_alone("0");
    let at = se
        .lines()
        .find_map(|l| l.strip_prefix("listening on "))
        .expect("the port is told");
    assert!(!at.ends_with(":0"), "{se}");
    assert!(
        se.contains(&format!("no peer connected to {at} within")),
        "{se}"
    );
    // UDP has no listen mode: a usage error.
    let o = cmd()
        .args(["connect", "--listen", "--udp", "127.0.0.1", &port])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn osc_send_bundle_reaches_dump_and_oscdump_with_its_timetag() {
    let dump = |program: &Path, args: &[&str], port: u16, time: &str| {
        dump_lines(program, args, 1, || {
            let p = port.to_string();
            cmd()
                .args(["osc", "send", "127.0.0.1", &p, "/x", "i:1", "s:hi"])
                .args(["--bundle", time])
                .assert()
                .success();
        })
    };
    let ours = cargo_bin("renoise-socket");
    let run = |program: &Path, time: &str| {
        let port = free_udp_port();
        let p = port.to_string();
        let args = if program == ours {
            vec!["osc", "dump", &p, "--timetags", "--count", "1"]
        } else {
            vec!["-L", &p]
        };
        dump(program, &args, port, time)
    };
    let mut programs = vec![ours.clone()];
    if have("oscdump") {
        programs.push(PathBuf::from("oscdump"));
    }
    for program in &programs {
        assert_eq!(
            run(program, "2.5"),
            ["00000002.80000000 /x is 1 \"hi\""],
            "{program:?}"
        );
        // A bundle timed "immediately" (2e-10 s is the timetag 1): its
        // message shows its arrival.
        assert_arrived_now(&run(program, "2e-10")[0], "/x is 1 \"hi\"");
    }
    // Spaces around the number are taken, as around a `t:` argument's.
    assert_eq!(run(&ours, " 2.5 "), ["00000002.80000000 /x is 1 \"hi\""]);
}

#[test]
fn the_projects_readme_holds_this_commands_readme() {
    let ours = std::fs::read_to_string(here("README.md")).unwrap();
    let top = std::fs::read_to_string(here("../../README.md")).unwrap();
    let from = ours
        .find("## Run your Renoise tool outside Renoise")
        .expect("the command's README has its run section");
    assert!(
        top.contains(ours[from..].trim_end()),
        "README.md's sections on the command differ from crates/cli/README.md: copy them over"
    );
}

#[test]
fn a_menu_name_shared_by_two_entries_needs_the_full_name() {
    let tool = here("tests/runner/same_last_part.xrnx");
    let tool = tool.to_str().unwrap();
    let o = cmd().args(["run", tool, "--menu", "Dup"]).output().unwrap();
    let (so, se) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{so}{se}");
    assert!(se.contains("'Dup' is ambiguous"), "{se}");
    assert!(!se.contains("stack traceback"), "{se}");
    assert!(
        se.contains("Pattern Editor:Dup") && !so.contains("dup"),
        "{so}{se}"
    );
    let so = run_ok(&["run", tool, "--menu", "Pattern Editor:Dup"]);
    assert_eq!(so, "pattern dup\n");
}

#[test]
fn a_menu_entry_whose_active_function_says_false_cannot_be_invoked() {
    // Renoise greys such an entry out; the state it depends on changes
    // with the entries invoked before it.
    let (dir, f) = temp_file(
        "inactive",
        "main.lua",
        "local running = false\n\
         renoise.tool():add_menu_entry { name = 'Main Menu:Tools:Start', \
           active = function() return not running end, \
           invoke = function() running = true print('started') end }\n\
         renoise.tool():add_menu_entry { name = 'Main Menu:Tools:Stop', \
           active = function() return running end, \
           invoke = function() running = false print('stopped') end }\n",
    );
    let f = f.to_str().unwrap();
    let so = run_ok(&["run", f, "--menu", "Start", "--menu", "Stop"]);
    assert_eq!(so, "started\nstopped\n");
    let o = cmd().args(["run", f, "--menu", "Stop"]).output().unwrap();
    let (so, se) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{so}{se}");
    assert!(
        se.contains("'Main Menu:Tools:Stop' is inactive") && !so.contains("stopped"),
        "{so}{se}"
    );
    assert!(!se.contains("stack traceback"), "{se}");
    let o = cmd()
        .args(["run", f, "--menu", "Start", "--menu", "Start"])
        .output()
        .unwrap();
    let (so, se) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{so}{se}");
    assert_eq!(so, "started\n");
    assert!(se.contains("'Main Menu:Tools:Start' is inactive"), "{se}");
    std::fs::remove_dir_all(dir).unwrap();

    // Only menu entries have that state; an error in active() is the
    // tool's, which --keep-going reports and goes on from (the entry not
    // run).
    let (dir, f) = temp_file(
        "inactive-kinds",
        "main.lua",
        "renoise.tool():add_keybinding { name = 'Global:Tools:Key', \
           active = function() return false end, invoke = function() print('key') end }\n\
         renoise.tool():add_menu_entry { name = 'Main Menu:Tools:Nil', \
           active = function() end, invoke = function() print('nil') end }\n\
         renoise.tool():add_menu_entry { name = 'Main Menu:Tools:Boom', \
           active = function() error('active boom') end, invoke = function() print('boom') end }\n",
    );
    let f = f.to_str().unwrap();
    assert_eq!(run_ok(&["run", f, "--menu", "Key"]), "key\n");
    let o = cmd().args(["run", f, "--menu", "Nil"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o)
            .1
            .contains("'Main Menu:Tools:Nil' is inactive (its active function returned nil)"),
        "{}",
        out(&o).1
    );
    let o = cmd()
        .args(["run", f, "--keep-going", "--menu", "Boom", "--menu", "Key"])
        .output()
        .unwrap();
    let (so, se) = out(&o);
    assert_eq!(so, "key\n", "{se}");
    assert!(
        se.contains("error (the run goes on)") && se.contains("active boom"),
        "{se}"
    );
    let o = cmd().args(["run", f, "--menu", "Boom"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains("active boom"), "{}", out(&o).1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn os_tmpname_folder_is_removed_however_the_run_ends() {
    // Each script names a file, writes it, prints the folder, then ends
    // its own way.
    let make = "local n = os.tmpname('wav') local f = assert(io.open(n, 'wb')) \
                f:write('x') f:close() print(n:match('^(.*)/')) io.stdout:flush() ";
    let cases = [
        ("normal.lua", "", Some(0)),
        ("exit.lua", "os.exit(3)", Some(3)),
        ("error.lua", "error('boom')", Some(1)),
        ("forever.lua", "while true do end", Some(124)),
    ];
    for (name, end, code) in cases {
        let (dir, f) = temp_file("tmpname", name, format!("{make}{end}"));
        let o = cmd()
            .args(["run", "-q", "--timeout", "2", f.to_str().unwrap()])
            .output()
            .unwrap();
        let (so, se) = out(&o);
        assert_eq!(o.status.code(), code, "{name}: {se}");
        let folder = PathBuf::from(so.lines().next().unwrap_or_default());
        assert!(
            folder.starts_with(std::env::temp_dir()) && folder.components().count() > 1,
            "{name}: {so}"
        );
        assert!(!folder.exists(), "{name}: {} left behind", folder.display());
        std::fs::remove_dir_all(dir).unwrap();
    }
    // Ctrl-C, kill and a closed terminal: the folder goes, and the run
    // still dies of the signal (what a shell reports).
    use std::os::unix::process::ExitStatusExt;
    for (sig, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        let (dir, f) = temp_file("tmpname-sig", "sig.lua", format!("{make}while true do end"));
        let mut run = std::process::Command::new(cargo_bin("renoise-socket"));
        run.args(["run", "-q", "--timeout", "20", f.to_str().unwrap()])
            .stdout(std::process::Stdio::piped());
        // The run keeps a signal its parent ignored ignored (as `nohup`
        // asks; a shell's background job ignores INT): the test may run
        // under either, so the child starts with the defaults.
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut run, || {
                for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                    libc::signal(s, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        let mut child = run.spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let folder = PathBuf::from(line.trim_end());
        assert!(folder.exists(), "{sig}: {line}");
        let killed = std::process::Command::new("kill")
            .args([format!("-{sig}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{sig}: still running"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.signal(), Some(number), "{sig}: {status:?}");
        assert!(!folder.exists(), "{sig}: {} left behind", folder.display());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_reader_that_has_gone_ends_the_run_as_it_ends_lua() {
    use std::os::unix::process::ExitStatusExt;
    // A tool that prints for ever from a timer, with a temporary file.
    let script = "local n = os.tmpname() print(n:match('^(.*)/')) \
                  renoise.tool():add_timer(function() print('tick') end, 5)";
    let (dir, f) = temp_file("sigpipe", "ticks.lua", script);
    let mut child = std::process::Command::new(cargo_bin("renoise-socket"))
        .args(["run", "-q", "--timeout", "20", f.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    reader.read_line(&mut line).unwrap();
    let folder = PathBuf::from(line.trim_end());
    assert!(folder.exists(), "{line}");
    drop(reader); // `| head -1`
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("still printing into nothing");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}");
    assert!(!folder.exists(), "{} left behind", folder.display());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn keep_going_reports_errors_of_notifiers_and_timers_and_goes_on() {
    // A new-document notifier that uses the song (nil here, so indexing it
    // raises), a timer that fails once, and a timer that ends the run
    // after both.
    let script = r#"
renoise.tool().app_new_document_observable:add_notifier(function()
  local bpm = renoise.song().transport.bpm
end)
local calls = 0
local function flaky()
  calls = calls + 1
  if calls == 2 then error("boom on call 2") end
  if calls == 4 then
    renoise.tool():remove_timer(flaky)
    print("done after " .. calls .. " calls")
  end
end
renoise.tool():add_timer(flaky, 10)
"#;
    let (dir, f) = temp_file("keep-going", "tool.lua", script);
    let plain = cmd()
        .args(["run", "--timeout", "10", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(1));
    // Said once, before the error of the tool that indexed the nil.
    let said = out(&plain).1;
    assert_eq!(
        said.matches("[renoise-socket] renoise.song(): there is no song outside Renoise: nil")
            .count(),
        1,
        "{said}"
    );
    assert!(said.contains("a nil value"), "{said}");
    assert!(!out(&plain).0.contains("done"));
    let going = cmd()
        .args([
            "run",
            "--keep-going",
            "--timeout",
            "10",
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let (so, se) = out(&going);
    assert_eq!(going.status.code(), Some(1), "errors were reported: {se}");
    assert_eq!(so.trim(), "done after 4 calls", "{se}");
    assert_eq!(se.matches("error (the run goes on)").count(), 2, "{se}");
    assert!(
        se.contains("renoise.song()") && se.contains("boom on call 2"),
        "{se}"
    );
    assert!(
        se.contains("tool.lua:"),
        "the traceback names the script: {se}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_tool_finds_the_shared_libraries_beside_the_tools_folder() {
    // ~/.renoise/V*/Scripts/{Tools/x.xrnx, Libraries/renoise/...}, as in a
    // user's Renoise folder and Renoise's tools repository; a run from
    // elsewhere.
    let (dir, _) = temp_file("shared-libs", "unused", "");
    let tool = dir.join("Scripts/Tools/com.example.T.xrnx");
    let lib = dir.join("Scripts/Libraries/renoise");
    std::fs::create_dir_all(&tool).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("shared.lua"), "return { answer = 42 }\n").unwrap();
    std::fs::write(
        tool.join("main.lua"),
        "print('answer ' .. require('renoise.shared').answer)\n",
    )
    .unwrap();
    let so = cmd()
        .current_dir(std::env::temp_dir())
        .args(["run", "-q", "--timeout", "10", tool.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(so.status.success(), "{:?}", out(&so));
    assert_eq!(out(&so).0, "answer 42\n");
    std::fs::remove_dir_all(dir).unwrap();
}
