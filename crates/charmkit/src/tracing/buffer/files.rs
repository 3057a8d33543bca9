//! Names, the chunk file format (header, CRC-32) and careful file access for the buffer.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
            | TMP_DIR
            | INCOMING_DIR
    )
}

pub(super) fn data_len(file_len: u64) -> u64 {
    file_len.saturating_sub(HEADER_LEN as u64)
}

pub(super) fn unique_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:020}-{}-{n}", std::process::id())
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

/// `Ok(None)` if the file is gone; `InvalidData` if it is corrupt.
pub(super) fn read_chunk_file(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match decode_chunk(&bytes) {
        Ok(data) => Ok(Some(data.to_vec())),
        Err(why) => Err(io::Error::new(io::ErrorKind::InvalidData, why)),
    }
}

pub(super) fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a directory", dir.display()),
        ));
    }
    if meta.mode() & 0o777 != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

pub(super) fn open_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

pub(super) fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
