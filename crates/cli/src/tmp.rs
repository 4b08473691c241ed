//! The run's temporary folder: Renoise's `os.tmpname([extension])` names
//! files in a folder that Renoise removes on exit. Here it is made on first
//! use (private to the user), and removed however the run ends: normally,
//! by `os.exit`, by an error, by `--timeout`, or by Ctrl-C, `kill` or a
//! closed terminal, or a reader of the output that has gone (SIGINT,
//! SIGTERM, SIGHUP, SIGPIPE; see [`remove_on_signals`]).

use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::io::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;

static FOLDER: Mutex<Option<PathBuf>> = Mutex::new(None);
static NEXT: AtomicU64 = AtomicU64::new(1);

/// A new empty file in the run's temporary folder, its name ending in
/// `extension` (taken as it is: `".tmp"`, `".wav"`, or `""`). Made, as
/// plain Lua's `os.tmpname` makes it, so code that expects the file works.
pub fn name(extension: &str) -> std::io::Result<PathBuf> {
    let mut folder = FOLDER.lock().unwrap_or_else(|p| p.into_inner());
    let dir = match folder.as_ref() {
        Some(d) => d.clone(),
        None => {
            let d = make()?;
            *folder = Some(d.clone());
            d
        }
    };
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("tmp{n:06}{extension}"));
        let made = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match made {
            Ok(_) => return Ok(path),
            // The script made a file of that name itself.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

/// Removes the folder and everything in it, if it was made.
pub fn remove() {
    let taken = FOLDER.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(dir) = taken {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The descriptor the signal handler writes the signal's number to.
static SIGNAL_WAKE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    // Async-signal-safe: one write(2) of the signal's number.
    let byte = sig as u8;
    // SAFETY: a valid one-byte buffer; a bad descriptor only fails.
    unsafe {
        libc::write(
            SIGNAL_WAKE.load(Ordering::Relaxed),
            (&byte as *const u8).cast(),
            1,
        )
    };
}

/// On SIGINT, SIGTERM, SIGHUP or SIGPIPE the folder goes too, and then the
/// process dies of that signal as it would have (the shell sees the same
/// status).
/// Nothing can be cleaned up inside a signal handler, so the handler only
/// wakes a thread that does it. A signal the parent set to be ignored
/// (`nohup`) stays ignored. Programs the tool starts get the default
/// handlers back when they are executed.
pub fn remove_on_signals() {
    // A socket pair (std makes it close-on-exec): the handler writes to
    // one end, the thread reads the other.
    let Ok((mut wake, wakes)) = UnixStream::pair() else {
        return;
    };
    SIGNAL_WAKE.store(wakes.into_raw_fd(), Ordering::Relaxed);
    std::thread::spawn(move || {
        let mut sig = [0u8];
        if wake.read_exact(&mut sig).is_err() {
            return;
        }
        remove();
        let sig = libc::c_int::from(sig[0]);
        // SAFETY: back to the default action, then that action.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
        std::process::exit(128 + sig);
    });
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
        // SAFETY: plain sigaction calls with zeroed, then filled, structs.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            // Rust's runtime ignores SIGPIPE before `main`, whatever the
            // parent did: it is taken, so that a tool printing to a reader
            // that has gone (`| head`) ends as under `lua` (status 141)
            // instead of printing into nothing for ever. Sockets never
            // raise it (MSG_NOSIGNAL).
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || (old.sa_sigaction == libc::SIG_IGN && sig != libc::SIGPIPE)
            {
                continue;
            }
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            new.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut new.sa_mask);
            libc::sigaction(sig, &new, std::ptr::null_mut());
        }
    }
}

fn make() -> std::io::Result<PathBuf> {
    let base = std::env::temp_dir();
    let pid = std::process::id();
    let mut last = None;
    // A folder left by an earlier process of the same id is not ours.
    for i in 0..100 {
        let dir = base.join(format!("renoise-socket-run.{pid}.{i}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot make a temporary folder in {}: {e}", base.display()),
                ))
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary folder")))
}
