//! A chunk: its id (`p10-000000000123`, or `in-…` while it waits in `incoming/`), its file name,
//! and the file format — a `CKCHUNK1 <length> <crc32>` header, then the OTLP/JSON data.

use std::fmt;
use std::io;
use std::path::Path;

use super::files::read_regular;
use super::*;

/// Identifies one stored chunk (its file name without extension, e.g. `p10-000000000123`).
///
/// An id stays valid until the chunk is removed, evicted or promoted (promotion returns new ids).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkId(pub(super) String);

impl ChunkId {
    #[cfg(any(test, feature = "_internals"))]
    /// The id as text (what `Display` prints).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[cfg(any(test, feature = "_internals"))]
    /// Parses an id printed earlier (e.g. given on a command line); `None` if it is not one.
    pub fn parse(s: &str) -> Option<ChunkId> {
        let id = ChunkId(s.to_owned());
        id.loc().map(|_| id)
    }

    pub(super) fn stored(priority: u8, seq: u64) -> ChunkId {
        ChunkId(format!("p{priority}-{seq:012}"))
    }

    pub(super) fn loc(&self) -> Option<Loc> {
        if let Some(rest) = self.0.strip_prefix(INCOMING_PREFIX) {
            let (p, token) = rest.split_once('-')?;
            let priority = parse_digits(p)?;
            let priority = u8::try_from(priority).ok()?;
            if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                return None;
            }
            return Some(Loc::Incoming { priority });
        }
        let (priority, seq) = parse_stored_stem(&self.0)?;
        Some(Loc::Stored { priority, seq })
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Loc {
    Stored { priority: u8, seq: u64 },
    Incoming { priority: u8 },
}

/// One chunk read back from the buffer.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Its id, for [`Buffer::remove`] or [`Buffer::promote`].
    pub id: ChunkId,
    /// Its priority ([`PRIORITY_DEFAULT`] or [`PRIORITY_OBSERVED`]).
    pub priority: u8,
    /// The payload exactly as appended (OTLP/JSON).
    pub data: Vec<u8>,
}

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
