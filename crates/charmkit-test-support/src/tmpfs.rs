//! A small filesystem of its own for a test: a tmpfs, where this process may mount one.

use std::path::Path;
use std::process::Command;

/// A tmpfs of a given size mounted on a fresh directory, unmounted when dropped. Only where we
/// may mount (root, or CAP_SYS_ADMIN); elsewhere [`Tmpfs::mount`] returns `None` and the caller
/// falls back to an injected fault or skips, saying so.
pub struct Tmpfs {
    /// The mount point.
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: `256k`, `4m`); `None` where this
    /// process may not mount.
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Makes the filesystem read-only (or writable again).
    pub fn remount(&self, read_only: bool) {
        let opt = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        let st = Command::new("mount")
            .args(["-o", opt])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "mount -o {opt} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
