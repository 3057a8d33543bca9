//! Tracing is never why a disk fills: the floor of free space the buffer keeps on its
//! filesystem, and what it does to keep it (see the buffer's module docs).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
#[cfg(test)]
use std::path::Path;

use nix::errno::Errno;

use super::*;

/// Why [`Buffer::append`] stored nothing: the filesystem holding the buffer is so full that
/// storing would leave less than the floor tracing always keeps free ([`free_floor`]), even after
/// evicting what it could. Carried inside the `io::Error` ([`NoRoom::of`] finds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRoom {
    /// Bytes free on the filesystem.
    pub free: u64,
    /// Bytes tracing leaves free on it.
    pub floor: u64,
    /// Whether this is the first refusal since data was last stored (worth a warning; the
    /// following ones are not).
    pub first: bool,
}

impl NoRoom {
    /// The `NoRoom` inside `e`, if that is what it is.
    pub fn of(e: &io::Error) -> Option<&NoRoom> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<NoRoom>())
    }
}

impl fmt::Display for NoRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "only {} KiB free on its filesystem, and tracing always leaves {} KiB free: not \
             buffering more (older unobserved data was evicted first)",
            self.free / 1024,
            self.floor / 1024
        )
    }
}

impl std::error::Error for NoRoom {}

/// The free space the buffer always leaves on its filesystem of `fs_bytes`: 10 % of it, at least
/// 64 KiB and at most 256 MiB. On a 256 KiB disk the buffer (and everything else) may fill up to
/// 192 KiB; on a 10 GiB disk, tracing stops buffering (evicting first) when under 1 GiB is free.
pub fn free_floor(fs_bytes: u64) -> u64 {
    (fs_bytes / 10).clamp(64 * 1024, 256 * 1024 * 1024)
}

/// Free space on a filesystem.
#[derive(Debug, Clone, Copy)]
pub(super) struct Space {
    pub(super) avail: u64,
    pub(super) total: u64,
    pub(super) inodes_avail: u64,
    pub(super) inodes_total: u64,
}

impl Space {
    pub(super) fn of(dir: &File) -> Option<Space> {
        let st = nix::sys::statvfs::fstatvfs(dir).ok()?;
        let frag = st.fragment_size() as u64;
        Some(Space {
            avail: (st.blocks_available() as u64).saturating_mul(frag),
            total: (st.blocks() as u64).saturating_mul(frag),
            inodes_avail: st.files_available() as u64,
            inodes_total: st.files() as u64,
        })
    }

    /// A filesystem of `total` bytes holding only `dir` (its files rounded up to 4 KiB).
    #[cfg(test)]
    pub(super) fn simulated(dir: &Path, total: u64) -> Space {
        let mut used = 0u64;
        for sub in [dir.to_path_buf(), dir.join(TMP_DIR), dir.join(INCOMING_DIR)] {
            for e in fs::read_dir(sub).into_iter().flatten().flatten() {
                if let Ok(m) = e.metadata() {
                    used += charged_bytes(m.len());
                }
            }
        }
        Space {
            avail: total.saturating_sub(used),
            total,
            inodes_avail: 0,
            inodes_total: 0,
        }
    }
}

pub(super) fn is_out_of_space(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == Errno::ENOSPC as i32 || code == Errno::EDQUOT as i32
    )
}

impl Buffer {
    /// What the filesystem holding the buffer has free, and its size (`None` if unknown).
    #[cfg(not(test))]
    pub(super) fn space(&self) -> Option<Space> {
        Space::of(&self.dir_fd)
    }

    #[cfg(test)]
    pub(super) fn space(&self) -> Option<Space> {
        let fault = *self.fault.lock().unwrap_or_else(|e| e.into_inner());
        match fault {
            Some(Fault::DiskBytes(total)) => Some(Space::simulated(&self.dir, total)),
            _ => Space::of(&self.dir_fd),
        }
    }

    /// `Some((free, floor))` if storing `need` more bytes would leave less than the floor free
    /// (or fewer than a few free inodes).
    pub(super) fn short_of_space(&self, need: u64) -> Option<(u64, u64)> {
        let space = self.space()?;
        let floor = free_floor(space.total);
        let inodes_short = space.inodes_total > 0
            && space.inodes_avail < 2 + (space.inodes_total / 100).clamp(16, 4096);
        (space.avail < need.saturating_add(floor) || inodes_short).then_some((space.avail, floor))
    }

    /// Evicts data of priority at most `up_to` until `need` more bytes fit above the floor;
    /// with `force` (a write just failed for lack of space although the numbers said it would
    /// fit: quotas, reserved blocks), evicts at least `need` bytes' worth first. Errs with
    /// [`NoRoom`] if the floor cannot be kept.
    pub(super) fn make_room(&self, need: u64, up_to: u8, force: bool) -> io::Result<()> {
        if !force && self.short_of_space(need).is_none() {
            return Ok(());
        }
        if let Ok(guard) = self.lock() {
            let mut st = self.load(guard)?;
            if force {
                let target = st.idx.total_bytes().saturating_sub(need);
                st.evict_while(None, up_to, |st| st.idx.total_bytes() > target)?;
            }
            st.evict_for_space(need, up_to, None)?;
            st.commit_logged();
        }
        match self.short_of_space(need) {
            Some(_) => Err(self.no_room(need)),
            None => Ok(()),
        }
    }

    /// The [`NoRoom`] error, noting the refusal beside the buffer so that only the first one
    /// since data was last stored is worth a warning.
    pub(super) fn no_room(&self, need: u64) -> io::Error {
        let (free, floor) = self.short_of_space(need).unwrap_or((0, free_floor(0)));
        let marker = self.dir.join(LOW_SPACE_FILE);
        let first = fs::symlink_metadata(&marker).is_err();
        if first {
            let _ = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&marker);
        }
        io::Error::other(NoRoom { free, floor, first })
    }
}
