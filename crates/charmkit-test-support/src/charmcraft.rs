//! charmcraft, where it is installed (`.ci/run` installs it from PyPI): finding it, the Python it
//! runs on, and a command that runs it quietly without a terminal.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// charmcraft, where it is installed: `$CHARMCRAFT`, else `charmcraft` on PATH. `.ci/run`
/// installs it from PyPI and sets `CHARMCRAFT`.
pub fn charmcraft() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHARMCRAFT").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("charmcraft"))
        .find(|p| p.is_file())
}

/// The Python charmcraft runs on (its script's `#!` line), to call its code directly.
pub fn charmcraft_python(charmcraft: &Path) -> Option<PathBuf> {
    let text = fs::read(charmcraft).ok()?;
    let first = text.split(|b| *b == b'\n').next()?;
    let first = std::str::from_utf8(first).ok()?;
    let python = first.strip_prefix("#!")?.split_whitespace().next()?;
    Some(PathBuf::from(python))
}

/// A `charmcraft` command that runs quietly without a terminal or a session: no stdin, its
/// runtime directory (it warns without one) under `home`.
pub fn charmcraft_command(charmcraft: &Path, home: &Path) -> Command {
    let runtime = home.join("runtime");
    fs::create_dir_all(&runtime).unwrap();
    fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = Command::new(charmcraft);
    cmd.env("XDG_RUNTIME_DIR", &runtime)
        .env("HOME", home)
        .stdin(std::process::Stdio::null());
    cmd
}

/// charmcraft, or `None` after saying that `test` is skipped for want of it.
pub fn charmcraft_or_skip(test: &str) -> Option<PathBuf> {
    let found = charmcraft();
    if found.is_none() {
        crate::skip(
            test,
            "charmcraft is not installed (.ci/run installs it; or set CHARMCRAFT)",
        );
    }
    found
}
