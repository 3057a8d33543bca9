//! The write path: the data goes to a temp file (`tmp/`), is renamed into `incoming/` (where a
//! crash leaves it complete or absent), then given its stored name under the lock. Temp files a
//! killed writer left behind are cleaned after an hour.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::time::SystemTime;

use super::*;

/// Test-only fault injection for the chunk write path.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// Write this many bytes of the temp file, then fail with ENOSPC.
    EnospcAfter(usize),
    /// Pretend the buffer is alone on a filesystem of this many bytes.
    DiskBytes(u64),
}

impl Buffer {
    pub(super) fn write_temp(&self, data: &[u8], durable: bool) -> io::Result<(String, String)> {
        let token = unique_token();
        let name = format!("{TMP_DIR}/{token}.tmp");
        let path = self.dir.join(&name);
        let mut buf = Vec::with_capacity(HEADER_LEN + data.len());
        buf.extend_from_slice(&chunk_header(data));
        buf.extend_from_slice(data);
        let res = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            self.write_payload(&mut f, &buf)?;
            if durable {
                f.sync_data()?;
            }
            Ok(())
        })();
        match res {
            Ok(()) => Ok((name, token)),
            Err(e) => {
                let _ = fs::remove_file(&path);
                Err(e)
            }
        }
    }

    #[cfg(not(test))]
    pub(super) fn write_payload(&self, f: &mut File, buf: &[u8]) -> io::Result<()> {
        f.write_all(buf)
    }

    #[cfg(test)]
    pub(super) fn write_payload(&self, f: &mut File, buf: &[u8]) -> io::Result<()> {
        let fault = *self.fault.lock().unwrap_or_else(|e| e.into_inner());
        match fault {
            Some(Fault::EnospcAfter(n)) => {
                f.write_all(&buf[..n.min(buf.len())])?;
                Err(io::Error::from_raw_os_error(Errno::ENOSPC as i32))
            }
            Some(Fault::DiskBytes(_)) | None => f.write_all(buf),
        }
    }

    #[cfg(test)]
    pub(crate) fn set_fault(&self, fault: Option<Fault>) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = fault;
    }

    pub(super) fn append_incoming(
        &self,
        tmp_name: &str,
        token: &str,
        priority: u8,
    ) -> io::Result<ChunkId> {
        let stem = format!("{INCOMING_PREFIX}{priority}-{token}");
        let res = fs::rename(
            self.dir.join(tmp_name),
            self.dir
                .join(INCOMING_DIR)
                .join(format!("{stem}{CHUNK_EXT}")),
        )
        .and_then(|()| open_dir(&self.dir.join(INCOMING_DIR))?.sync_all());
        if let Err(e) = res {
            let _ = fs::remove_file(self.dir.join(tmp_name));
            return Err(e);
        }
        log::debug!(
            "trace buffer {} busy: chunk stored as incoming/{stem}",
            self.dir.display()
        );
        Ok(ChunkId(stem))
    }

    /// Renames `from` to `to` (both relative to the buffer dir) unless `to` exists
    /// (`AlreadyExists`).
    pub(super) fn rename_noreplace(&self, from: &str, to: &str) -> io::Result<()> {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
            // Full paths, like every other file operation here (not `dir_fd`, which would point
            // elsewhere if the directory were replaced under us).
            match renameat2(
                AT_FDCWD,
                &self.dir.join(from),
                AT_FDCWD,
                &self.dir.join(to),
                RenameFlags::RENAME_NOREPLACE,
            ) {
                Ok(()) => return Ok(()),
                Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (from, to) = (self.dir.join(from), self.dir.join(to));
        fs::hard_link(&from, &to)?;
        remove_if_exists(&from)
    }

    /// Deletes temp files whose writer is dead (or that are older than an hour).
    pub(super) fn clean_stale_temps(&self) {
        let tmp = self.dir.join(TMP_DIR);
        let Ok(entries) = fs::read_dir(&tmp) else {
            return;
        };
        let me = std::process::id();
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .split('-')
                .nth(1)
                .and_then(parse_digits)
                .and_then(|p| i32::try_from(p).ok());
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE_TEMP_AGE);
            let dead = match pid {
                Some(p) if p as u32 == me => false,
                Some(p) => matches!(
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None),
                    Err(Errno::ESRCH)
                ),
                None => false,
            };
            if dead || old {
                log::debug!("trace buffer: deleting stale temp file {name}");
                if let Err(e) = remove_if_exists(&entry.path()) {
                    log::warn!(
                        "trace buffer: deleting stale {}: {e}",
                        entry.path().display()
                    );
                }
            }
        }
    }
}
