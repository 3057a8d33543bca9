//! The buffer directory's own names, and careful file access: never through a symlink, never a
//! special file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::*;

pub(super) fn is_reserved_name(name: &str) -> bool {
    matches!(
        name,
        INDEX_FILE
            | LOCK_FILE
            | EXPORTER_LOCK_FILE
            | DESTINATION_FILE
            | LAST_EXPORT_FILE
            | LOW_SPACE_FILE
            | REPORTED_FILE
            | TMP_DIR
            | INCOMING_DIR
    )
}

/// The error for an entry that is not a plain file of ours: skipped, reported, left alone.
pub(super) fn not_ours(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_owned())
}

/// The flags of every open in the buffer: never follow a symlink, never block on a FIFO, never
/// leak the descriptor into a child.
fn careful_flags() -> i32 {
    use nix::fcntl::OFlag;
    (OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).bits()
}

/// Reads `path` if it is a regular file with one link and at most `max` bytes, without following
/// a symlink or opening anything else (a FIFO, a device): it is looked at first (`lstat`), opened
/// with `O_NOFOLLOW | O_NONBLOCK`, and checked again on the open descriptor (the same file, still
/// regular). Longer than `max` → `InvalidData`, and only `max + 1` bytes are ever read.
pub(super) fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let before = fs::symlink_metadata(path)?;
    if !before.file_type().is_file() {
        return Err(not_ours("not a regular file"));
    }
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(careful_flags())
        .open(path)?;
    let meta = f.metadata()?;
    if !meta.file_type().is_file() || meta.ino() != before.ino() || meta.dev() != before.dev() {
        return Err(not_ours("replaced while being opened"));
    }
    if meta.nlink() > 1 {
        return Err(not_ours("has other hard links"));
    }
    if meta.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} bytes, more than the {max} allowed", meta.len()),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("more than the {max} bytes allowed"),
        ));
    }
    Ok(bytes)
}

/// Opens regular file `path` for reading, without following a symlink or blocking on a FIFO.
pub(super) fn open_regular(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(careful_flags())
        .open(path)?;
    if !f.metadata()?.file_type().is_file() {
        return Err(not_ours("not a regular file"));
    }
    Ok(f)
}

/// Opens directory `dir` without following a symlink.
pub(super) fn open_dir(dir: &Path) -> io::Result<File> {
    use nix::fcntl::OFlag;
    OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).bits())
        .open(dir)
}

/// Makes `dir` a directory of ours, mode 0700, never following a symlink: the mode is set
/// through a descriptor opened with `O_NOFOLLOW`, so a directory swapped for a link meanwhile is
/// not chmod'ed. Something else at `dir` (a symlink, a file) is refused with an error naming it —
/// or, with `replace` (an entry inside the buffer, where only we write), removed (the link, not
/// its target) and replaced by a fresh directory.
pub(super) fn ensure_private_dir(dir: &Path, replace: bool) -> io::Result<()> {
    for _ in 0..3 {
        match fs::symlink_metadata(dir) {
            Ok(m) if m.is_dir() => {
                if m.mode() & 0o777 != 0o700 {
                    open_dir(dir)?.set_permissions(fs::Permissions::from_mode(0o700))?;
                }
                return Ok(());
            }
            Ok(m) => {
                let what = if m.file_type().is_symlink() {
                    "a symlink"
                } else {
                    "not a directory"
                };
                if !replace {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} is {what}; not using it", dir.display()),
                    ));
                }
                log::warn!("trace buffer: replacing {} ({what})", dir.display());
                remove_if_exists(dir)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match fs::DirBuilder::new()
                    .recursive(!replace)
                    .mode(0o700)
                    .create(dir)
                {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "{} keeps changing under us",
        dir.display()
    )))
}

/// Opens (creating, mode 0600) a small file of ours for locking: never through a symlink; a
/// symlink, FIFO or device found under that name is removed (never opened) and replaced.
pub(super) fn open_private(path: &Path) -> io::Result<File> {
    match fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => {
            log::warn!(
                "trace buffer: replacing {} (not a regular file)",
                path.display()
            );
            remove_if_exists(path)?;
        }
        _ => {}
    }
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(careful_flags())
        .open(path)?;
    if !f.metadata()?.file_type().is_file() {
        return Err(not_ours("not a regular file"));
    }
    Ok(f)
}
