//! Small file helpers every layer shares: atomic replacement, unique temporary names, private
//! temporary directories.
//!
//! The trace buffer adds its own careful access on top (never following a symlink, never
//! opening a special file): see `trace::buffer`.

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes `data` to `path` atomically: a temp file beside it, fsync, mode 0600, rename.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    write_via(&tmp, path, data, true)
}

/// Writes `data` to `tmp` (created fresh, mode 0600), optionally fsyncs it, and renames it to
/// `dest`; on failure the temp file is removed. A crash leaves either the old `dest` or the new.
pub(crate) fn write_via(tmp: &Path, dest: &Path, data: &[u8], sync: bool) -> io::Result<()> {
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(tmp)?;
        f.write_all(data)?;
        if sync {
            f.sync_data()?;
        }
        drop(f);
        fs::rename(tmp, dest)
    })();
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// A name no other writer of this host uses at the same time: nanoseconds, process id and a
/// per-process counter. Temporary files are named with it.
pub(crate) fn unique_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:020}-{}-{n}", std::process::id())
}

/// Removes the file `path`; a file that is not there is not an error.
pub(crate) fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A fresh private directory (`0700`) under the system's temporary directory, removed with
/// everything in it when dropped. It is created with `mkdir`, which never reuses or follows
/// anything already at its name.
#[derive(Debug)]
pub(crate) struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Creates `$TMPDIR/<prefix><unique token>`.
    pub(crate) fn new(prefix: &str) -> io::Result<Self> {
        let base = std::env::temp_dir();
        let mut last = None;
        for _ in 0..16 {
            let path = base.join(format!("{prefix}{}", unique_token()));
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let dir = PrivateDir { path };
                    // Exactly 0700, whatever the umask (which could leave us unable to write).
                    fs::set_permissions(&dir.path, fs::Permissions::from_mode(0o700))?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free name")))
    }

    /// Where it is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dirs_are_fresh_owner_only_and_removed() {
        let a = PrivateDir::new("charmkit-test-").unwrap();
        let b = PrivateDir::new("charmkit-test-").unwrap();
        assert_ne!(a.path(), b.path());
        let mode = fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        fs::write(a.path().join("k"), "v").unwrap();
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists());
    }

    #[test]
    fn atomic_writes_replace_whole_and_leave_no_temp_file() {
        let dir = PrivateDir::new("charmkit-test-").unwrap();
        let dest = dir.path().join("state.json");
        write_atomic(&dest, b"old").unwrap();
        write_atomic(&dest, b"new").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        remove_if_exists(&dest).unwrap();
        remove_if_exists(&dest).unwrap();
        assert!(!dest.exists());
    }
}
