//! The run's temporary folder: Renoise's `os.tmpname([extension])` names
//! files in a folder that Renoise removes on exit. Here it is made on first
//! use (private to the user), and removed however the run ends: normally,
//! by `os.exit`, by an error, or by `--timeout`.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
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
