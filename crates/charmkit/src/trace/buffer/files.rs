//! Names, the chunk file format (header, CRC-32) and careful file access for the buffer.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::*;

pub(super) fn chunk_name(priority: u8, seq: u64) -> String {
    format!("p{priority}-{seq:012}{CHUNK_EXT}")
}

pub(super) fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `p10-000000000123` → (10, 123); only the canonical spelling is accepted.
pub(super) fn parse_stored_stem(stem: &str) -> Option<(u8, u64)> {
    let (p, seq) = stem.strip_prefix('p')?.split_once('-')?;
    let p = u8::try_from(parse_digits(p)?).ok()?;
    let seq = parse_digits(seq).filter(|s| *s <= MAX_SEQ)?;
    (format!("p{p}-{seq:012}") == stem).then_some((p, seq))
}

pub(super) fn parse_chunk_name(name: &str) -> Option<(u8, u64)> {
    parse_stored_stem(name.strip_suffix(CHUNK_EXT)?)
}

/// `in-<prio>-<nanos>-<pid>-<n>.chunk` → priority.
pub(super) fn parse_incoming_name(name: &str) -> Option<u8> {
    match ChunkId(name.strip_suffix(CHUNK_EXT)?.to_owned()).loc()? {
        Loc::Incoming { priority } => Some(priority),
        Loc::Stored { .. } => None,
    }
}

pub(super) fn incoming_order_key(name: &str) -> String {
    // After `in-<prio>-` comes the zero-padded nanosecond timestamp: sorts by write time.
    name.splitn(3, '-').nth(2).unwrap_or(name).to_owned()
}

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

pub(super) fn data_len(file_len: u64) -> u64 {
    file_len.saturating_sub(HEADER_LEN as u64)
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE), as used by zlib.
pub(super) fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

pub(super) fn chunk_header(data: &[u8]) -> Vec<u8> {
    format!("CKCHUNK1 {:016x} {:08x}\n", data.len(), crc32(data)).into_bytes()
}

/// Verifies a chunk file's bytes; returns the data.
pub(super) fn decode_chunk(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < HEADER_LEN
        || !bytes.starts_with(HEADER_MAGIC)
        || bytes[HEADER_LEN - 1] != b'\n'
    {
        return Err("bad header".into());
    }
    let header = std::str::from_utf8(&bytes[HEADER_MAGIC.len()..HEADER_LEN - 1])
        .map_err(|_| "bad header".to_string())?;
    let (len, crc) = header.split_once(' ').ok_or("bad header")?;
    let len = u64::from_str_radix(len, 16).map_err(|_| "bad length")?;
    let crc = u32::from_str_radix(crc, 16).map_err(|_| "bad checksum field")?;
    let data = &bytes[HEADER_LEN..];
    if data.len() as u64 != len {
        return Err(format!("length {} but header says {len}", data.len()));
    }
    if crc32(data) != crc {
        return Err("checksum mismatch".into());
    }
    Ok(data)
}

/// Reads chunk file `path` of at most `max` bytes (header included). `Ok(None)` if it is gone;
/// `InvalidData` if it is corrupt (bad header, length, checksum, or longer than `max`); another
/// error ([`not_ours`]) if it is not a regular file of ours — never followed, never deleted.
pub(super) fn read_chunk_file(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    let bytes = match read_regular(path, max) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match decode_chunk(&bytes) {
        Ok(data) => Ok(Some(data.to_vec())),
        Err(why) => Err(io::Error::new(io::ErrorKind::InvalidData, why)),
    }
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
