//! The on-disk trace buffer: OTLP/JSON chunks wait here until an exporter sends them.
//!
//! Every dispatch appends one or more chunks; an exporter (possibly another process) reads the
//! export queue and removes what it sent. Several processes use one buffer at once (Juju runs an
//! action while a hook runs, a detached exporter deletes chunks), any of them may be `kill -9`ed at
//! any instant, and the disk may be full. The buffer is a spool directory, chosen over an embedded
//! database because it is crash-safe by construction (write, fsync, rename), needs no C library,
//! and makes "this dispatch is observed after all" a rename.
//!
//! # On-disk format
//!
//! ```text
//! $JUJU_CHARM_DIR/.charm-tracing/        0700
//!   p10-000000000123.chunk               0600  one chunk: priority 10, sequence 123 of that priority
//!   p50-000000000007.chunk               0600
//!   index.json                           0600  cache: per priority {head, next, count, bytes}
//!   lock                                 0600  flock: short critical sections
//!   exporter.lock                        0600  flock: at most one exporter per unit
//!   destination.json, last-export.json   0600  exporter's destination and last outcome
//!   reported-export                      0600  which outcome the dispatches already reported
//!   low-space                            0600  empty: a refusal for lack of space was reported
//!   tmp/                                 0700  temp files being written (`<nanos>-<pid>-<n>.tmp`)
//!   incoming/                            0700  chunks stored without the lock (`in-<prio>-<token>.chunk`)
//! ```
//!
//! A chunk file is a fixed 35-byte text header `CKCHUNK1 <len:016x> <crc32:08x>\n` followed by the
//! data. The header makes a truncated or altered file detectable; readers verify length and CRC-32
//! and skip (and, under the lock, delete) a chunk that fails with one `log::warn!`. Files whose names
//! are not ours are skipped with a warning and never deleted.
//!
//! # Nothing in the directory is trusted
//!
//! Only the unit writes here, but a restored backup, an operator's mistake or an attacker with
//! the charm's rights may leave anything under our names. So: every file is opened with
//! `O_NOFOLLOW | O_NONBLOCK` after an `lstat` that shows a regular file, and checked again on the
//! open descriptor (still regular, the same inode, one link); reads are bounded (a chunk at most
//! the cap or 64 MiB, an index or destination at most 4 MiB); a symlink, FIFO or device with a
//! chunk's name is skipped with a warning and never read, followed, deleted or counted. The
//! buffer directory itself being a symlink (or not a directory) is refused with an error — it is
//! never followed, and never chmod'ed through (the mode is set on a descriptor opened with
//! `O_NOFOLLOW`). Inside it, where only we write, a symlink or other odd entry in place of `tmp/`,
//! `incoming/` or a lock file is removed (the link, never its target) and recreated. An index or
//! destination file that is not a regular file is ignored (and replaced at the next write, a
//! rename). A chunk that cannot be read for another reason (hard-linked elsewhere, unreadable) is
//! skipped and reported, and the export goes on with the rest.
//!
//! Sequence numbers are per priority, so the chunks of one priority, oldest first, are the files
//! `head, head+1, …, next-1` of that priority (with holes where chunks were removed out of order).
//! The index caches `head`, `next`, `count` and `bytes` per priority, so an append needs no
//! directory scan: it allocates `next`, renames its temp file into place, adds its size, and evicts
//! from the lowest priority's `head` while the total is over the cap. Each chunk is charged its data
//! length rounded up to 4 KiB (at least 4 KiB). The newest chunk is never evicted by its own append.
//! Promotion (10 → 50) renames `p10-x` to `p50-<next of 50>`: the promoted chunk ranks as the
//! newest of priority 50 (ops keeps its original age; the difference only matters for the order of
//! eviction among priority-50 chunks). Cost per append: a temp write (+ fsync for observed data), a
//! rename (+ a directory fsync for observed data), a few `stat`s to validate the index, reading an
//! (almost always empty) `incoming/`
//! directory, and an index rewrite; none of it depends on how many chunks are stored (the head walk
//! over holes is amortised: the head only moves forward; it probes at most 64 sequence numbers,
//! then finds the head by one directory scan, so no index, however wrong, makes it walk a long run
//! of numbers that have no chunk). The exporter's queue comes from one directory scan, never from
//! sequence numbers.
//!
//! # The index is a cache
//!
//! `index.json` is replaced atomically (temp + rename, no fsync: it can always be recomputed). A
//! lock holder trusts it only if it parses, is not marked dirty, its numbers are plausible (`next`
//! at most 10^15, at least 4 KiB per counted chunk), every non-empty priority's `head` file exists
//! (as a regular file), and no priority's `next` name is taken. Otherwise it is rebuilt by one scan of the
//! directory. Operations that delete or rename a chunk other than a head (remove, promote) first
//! write the index marked `dirty`, so a crash part-way through forces a rebuild instead of leaving
//! wrong counts; appends and head evictions are covered by the `next`/`head` probes.
//!
//! # Crash safety
//!
//! - Data is written to `tmp/`, then renamed into place with no-replace semantics
//!   (`renameat2(RENAME_NOREPLACE)`, or `link` + `unlink`). A chunk file therefore either does not
//!   exist or is complete as far as any process can see; a `kill -9` leaves at most a temp
//!   file, which the next [`Buffer::open`] deletes once its writer's pid is gone (or it is an hour
//!   old). A chunk is never overwritten, so a stale index cannot destroy data.
//! - Power loss is a different matter, and there priority decides: observed data (priority 50) is
//!   `fsync`ed before the rename and the directory after it, and a promotion fsyncs the chunk it
//!   promotes; unobserved data (priority 10) is not, which saves ~0.7 ms of every unobserved
//!   dispatch. After a power loss such a chunk may be missing, or torn — its header's length and
//!   CRC-32 catch that, and it is skipped and deleted like any corrupt chunk.
//! - Once [`Buffer::append`] has returned `Ok`, the chunk is in place; only eviction or
//!   [`Buffer::remove`] deletes it.
//! - Tracing is never why a disk fills. The buffer always leaves [`free_floor`] free on its
//!   filesystem (10 %, at least 64 KiB, at most 256 MiB), so that the hook's own writes (stored
//!   state, the charm's files) always find room: before storing, and after, it evicts (lowest
//!   priority, oldest first) to keep the floor — unobserved data never displaces observed data —
//!   and if that is not enough it stores nothing and says so with a [`NoRoom`] error (the first
//!   one since data was last stored is marked worth a warning). A full disk (ENOSPC) on the temp
//!   write is met the same way: the temp file is deleted, older data of the same rank or lower
//!   evicted, the write retried once. Failing to rewrite the index is only logged: the next lock
//!   holder notices and rebuilds it.
//! - Nothing here panics on what it reads from disk; errors are `io::Error`s for the caller to log.
//!
//! # Concurrency
//!
//! Every change to the chunk set happens with an exclusive `flock` on `lock`, held for a short
//! critical section (no payload I/O inside except the rename). Lock acquisition polls a
//! non-blocking `flock` with back-off for at most [`DEFAULT_LOCK_TIMEOUT`] (2 s). A lock is released
//! by the kernel when its holder dies, so a crashed process never blocks the others. If an append
//! cannot get the lock in time, its fsynced temp file is renamed into `incoming/` without the lock
//! and the chunk id refers to it; every lock holder first adopts `incoming/` (giving each file a
//! sequence number) and remembers the id mapping for [`Buffer::promote`] and [`Buffer::remove`].
//! Readers of chunk files need no lock: files are immutable once in place, and one that vanishes
//! while being read is simply skipped. [`Buffer::try_lock_exporter`] is a separate non-blocking
//! `flock` on `exporter.lock`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

/// Name of the buffer directory inside `$JUJU_CHARM_DIR`.
pub const DIR_NAME: &str = ".charm-tracing";
/// Environment variable overriding the buffer cap, in bytes.
pub const LIMIT_ENV: &str = "CHARM_TRACING_BUFFER_BYTES";
/// Default buffer cap: 40 MiB, as ops.
pub const DEFAULT_LIMIT_BYTES: u64 = 40 * 1024 * 1024;
/// Priority of data from a dispatch that no observer handled.
pub const PRIORITY_DEFAULT: u8 = 10;
/// Priority of data from an observed dispatch.
pub const PRIORITY_OBSERVED: u8 = 50;
/// Each chunk is charged its length rounded up to this many bytes (at least one block).
pub const BLOCK_BYTES: u64 = 4096;
/// Longest time any operation waits for the buffer lock.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

const INDEX_FILE: &str = "index.json";
const LOCK_FILE: &str = "lock";
const EXPORTER_LOCK_FILE: &str = "exporter.lock";
const DESTINATION_FILE: &str = "destination.json";
const LAST_EXPORT_FILE: &str = "last-export.json";
const LOW_SPACE_FILE: &str = "low-space";
const REPORTED_FILE: &str = "reported-export";
const TMP_DIR: &str = "tmp";
const INCOMING_DIR: &str = "incoming";
const CHUNK_EXT: &str = ".chunk";
const INCOMING_PREFIX: &str = "in-";
const HEADER_MAGIC: &[u8] = b"CKCHUNK1 ";
/// `CKCHUNK1 <16 hex> <8 hex>\n`
const HEADER_LEN: usize = 35;
const INDEX_VERSION: u32 = 1;
const MAX_ALIASES: usize = 256;
/// The highest sequence number a lane may reach (at a chunk per millisecond, 30,000 years): an
/// index or a file name beyond it is corrupt or foreign.
const MAX_SEQ: u64 = 999_999_999_999_999;
/// How many sequence numbers the head walk probes before it scans the directory instead.
const HEAD_PROBES: u64 = 64;
/// Longest index, destination or outcome file read.
const MAX_JSON_BYTES: u64 = 4 * 1024 * 1024;
/// Chunks up to this long are always accepted (and read), whatever the cap.
const MIN_CHUNK_BOUND: u64 = 64 * 1024 * 1024;
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Identifies one stored chunk (its file name without extension, e.g. `p10-000000000123`).
///
/// An id stays valid until the chunk is removed, evicted or promoted (promotion returns new ids).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkId(String);

impl ChunkId {
    /// The id as text (what `Display` prints).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses an id printed earlier (e.g. given on a command line); `None` if it is not one.
    pub fn parse(s: &str) -> Option<ChunkId> {
        let id = ChunkId(s.to_owned());
        id.loc().map(|_| id)
    }

    fn stored(priority: u8, seq: u64) -> ChunkId {
        ChunkId(format!("p{priority}-{seq:012}"))
    }

    fn loc(&self) -> Option<Loc> {
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
enum Loc {
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

/// Where the exporter sends data: an OTLP/HTTP URL and an optional PEM CA bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// The OTLP/HTTP traces endpoint.
    pub url: String,
    /// PEM bundle of CA certificates to trust for `url`, if any.
    pub ca: Option<String>,
}

/// What the last export attempt did (for `trace status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportOutcome {
    /// When it ended, seconds since the Unix epoch.
    pub at_unix: u64,
    /// The URL it sent to.
    pub url: String,
    /// Chunks accepted by the collector.
    pub sent: u64,
    /// Chunks dropped (rejected for good).
    pub dropped: u64,
    /// Chunks left in the buffer afterwards.
    pub remaining: u64,
    /// The error that stopped it, if any.
    pub error: Option<String>,
    /// Entries of the buffer passed over as not chunks of ours (left in place).
    #[serde(default)]
    pub skipped: u64,
}

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
struct Space {
    avail: u64,
    total: u64,
    inodes_avail: u64,
    inodes_total: u64,
}

impl Space {
    fn of(dir: &File) -> Option<Space> {
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
    fn simulated(dir: &Path, total: u64) -> Space {
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

fn is_out_of_space(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == Errno::ENOSPC as i32 || code == Errno::EDQUOT as i32
    )
}

/// One batch of the export queue: see [`Buffer::export_batch`].
#[derive(Debug, Clone, Default)]
pub struct ExportBatch {
    /// The chunks to send, in order.
    pub chunks: Vec<Chunk>,
    /// Entries that were passed over, each as `name: why` (left in place).
    pub skipped: Vec<String>,
}

/// A summary of the buffer's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The buffer directory.
    pub dir: PathBuf,
    /// Number of stored chunks.
    pub chunks: u64,
    /// Accounted bytes: each chunk's length rounded up to [`BLOCK_BYTES`]; compared with the cap.
    pub bytes: u64,
    /// The cap, in bytes.
    pub limit_bytes: u64,
    /// Number of chunks per priority (priorities with no chunk are absent).
    pub by_priority: BTreeMap<u8, u64>,
}

/// The disk buffer of one unit. Cheap to open; every method is safe to call from several
/// processes (and threads) at once.
#[derive(Debug)]
pub struct Buffer {
    dir: PathBuf,
    limit: u64,
    lock_timeout: Duration,
    dir_fd: File,
    #[cfg(test)]
    fault: std::sync::Mutex<Option<Fault>>,
}

/// Test-only fault injection for the chunk write path.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// Write this many bytes of the temp file, then fail with ENOSPC.
    EnospcAfter(usize),
    /// Pretend the buffer is alone on a filesystem of this many bytes.
    DiskBytes(u64),
}

/// Held by the (single) exporter of a unit; released on drop (or when the process dies).
#[derive(Debug)]
pub struct ExporterLock {
    _lock: Flock<File>,
}

/// Reads the cap from the value of [`LIMIT_ENV`]: a whole number of bytes, optionally with a
/// `K`/`KiB`, `M`/`MiB` or `G`/`GiB` suffix (powers of 1024). Unset → [`DEFAULT_LIMIT_BYTES`];
/// unparsable → the default, with a warning.
pub fn limit_from_env_value(value: Option<&str>) -> u64 {
    let Some(raw) = value else {
        return DEFAULT_LIMIT_BYTES;
    };
    let v = raw.trim();
    let (num, mult) = [
        ("KiB", 1u64 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
        ("K", 1 << 10),
        ("M", 1 << 20),
        ("G", 1 << 30),
    ]
    .iter()
    .find_map(|(suffix, m)| v.strip_suffix(suffix).map(|n| (n.trim(), *m)))
    .unwrap_or((v, 1));
    match parse_digits(num).and_then(|n| n.checked_mul(mult)) {
        Some(n) => n,
        None => {
            log::warn!("{LIMIT_ENV}={raw:?} is not a size in bytes; using {DEFAULT_LIMIT_BYTES}");
            DEFAULT_LIMIT_BYTES
        }
    }
}

/// Bytes a chunk of `len` data bytes is charged against the cap.
pub fn charged_bytes(len: u64) -> u64 {
    len.div_ceil(BLOCK_BYTES).max(1).saturating_mul(BLOCK_BYTES)
}

impl Buffer {
    /// Opens (creating if needed) the buffer in `charm_dir/`[`DIR_NAME`], with the cap from
    /// [`LIMIT_ENV`] or [`DEFAULT_LIMIT_BYTES`].
    pub fn open(charm_dir: &Path) -> io::Result<Buffer> {
        let limit = limit_from_env_value(std::env::var(LIMIT_ENV).ok().as_deref());
        Buffer::open_dir(&charm_dir.join(DIR_NAME), limit)
    }

    /// Opens the buffer in `charm_dir/`[`DIR_NAME`] if there is one: `Ok(None)` if the directory
    /// does not exist — for read-only commands (`trace status`, `trace dump`), which must not
    /// create it.
    pub fn open_existing(charm_dir: &Path) -> io::Result<Option<Buffer>> {
        match fs::symlink_metadata(charm_dir.join(DIR_NAME)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            _ => Buffer::open(charm_dir).map(Some),
        }
    }

    /// Opens (creating if needed) the buffer in `dir` with a cap of `limit_bytes`. Makes the
    /// directory owner-only and deletes temp files left by dead writers.
    pub fn open_dir(dir: &Path, limit_bytes: u64) -> io::Result<Buffer> {
        ensure_private_dir(dir, false)?;
        ensure_private_dir(&dir.join(TMP_DIR), true)?;
        ensure_private_dir(&dir.join(INCOMING_DIR), true)?;
        let dir_fd = open_dir(dir)?;
        drop(open_private(&dir.join(LOCK_FILE))?);
        let buffer = Buffer {
            dir: dir.to_path_buf(),
            limit: limit_bytes,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            dir_fd,
            #[cfg(test)]
            fault: std::sync::Mutex::new(None),
        };
        buffer.clean_stale_temps();
        Ok(buffer)
    }

    /// Sets the longest wait for the buffer lock (default [`DEFAULT_LOCK_TIMEOUT`]).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Buffer {
        self.lock_timeout = timeout;
        self
    }

    /// The buffer directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cap, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Stores `data` at `priority`, evicting older lower-priority data if over the cap; returns
    /// the new chunk's id. When this returns `Ok`, the chunk is complete: a `kill -9` from here
    /// on cannot lose or tear it. Observed data (priority ≥ [`PRIORITY_OBSERVED`]) is also
    /// durable against power loss (file and directory fsynced); unobserved data skips the two
    /// fsyncs (~0.7 ms of every unobserved dispatch) — after a power loss such a chunk may be
    /// missing or torn, and a torn one is detected by its checksum and skipped. If the lock cannot
    /// be had in time the chunk is stored without it (see the module docs).
    pub fn append(&self, data: &[u8], priority: u8) -> io::Result<ChunkId> {
        if (data.len() as u64).saturating_add(HEADER_LEN as u64) > self.max_chunk_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} bytes of trace data in one chunk is more than the buffer takes",
                    data.len()
                ),
            ));
        }
        let durable = priority >= PRIORITY_OBSERVED;
        // Keep the floor of free space: make room (evicting data of this priority or lower) or
        // store nothing — tracing is never why the disk fills and a hook's own writes fail.
        let need = charged_bytes((data.len() + HEADER_LEN) as u64);
        self.make_room(need, priority, false)?;
        let (tmp_name, token) = match self.write_temp(data, durable) {
            Err(e) if is_out_of_space(&e) => {
                self.make_room(need, priority, true)?;
                self.write_temp(data, durable).map_err(|e| {
                    if is_out_of_space(&e) {
                        self.no_room(need)
                    } else {
                        e
                    }
                })?
            }
            other => other?,
        };
        let guard = match self.lock() {
            Ok(g) => g,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                return self.append_incoming(&tmp_name, &token, priority);
            }
            Err(e) => {
                let _ = fs::remove_file(self.dir.join(&tmp_name));
                return Err(e);
            }
        };
        let mut st = match self.load(guard) {
            Ok(st) => st,
            Err(e) => {
                let _ = fs::remove_file(self.dir.join(&tmp_name));
                return Err(e);
            }
        };
        let seq = match st.place(&tmp_name, priority, durable) {
            Ok(seq) => seq,
            Err(e) => {
                let _ = fs::remove_file(self.dir.join(&tmp_name));
                return Err(e);
            }
        };
        // The chunk is stored: from here on, problems are only logged.
        let keep = Some((priority, seq));
        if let Err(e) = st
            .evict(keep)
            .and_then(|()| st.evict_for_space(0, u8::MAX, keep))
        {
            log::warn!("trace buffer {}: eviction failed: {e}", self.dir.display());
        }
        st.commit_logged();
        drop(st);
        let _ = remove_if_exists(&self.dir.join(LOW_SPACE_FILE));
        Ok(ChunkId::stored(priority, seq))
    }

    /// Moves chunks to `priority` (a rename each); returns the new ids, in order. Chunks that are
    /// gone (sent, evicted, unknown ids) are skipped; chunks already at `priority` keep their id.
    pub fn promote(&self, ids: &[ChunkId], priority: u8) -> io::Result<Vec<ChunkId>> {
        let mut st = self.load(self.lock()?)?;
        let mut out = Vec::with_capacity(ids.len());
        let mut renamed = false;
        for id in ids {
            let Some((p, seq)) = st.resolve(id) else {
                continue;
            };
            if p == priority {
                if st.exists(p, seq) {
                    out.push(ChunkId::stored(p, seq));
                }
                continue;
            }
            let len = match fs::symlink_metadata(self.chunk_path(p, seq)) {
                Ok(m) => m.len(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if st.lane(p).head != seq {
                st.mark_dirty()?;
            }
            if priority >= PRIORITY_OBSERVED && p < PRIORITY_OBSERVED {
                // It was written without fsync; observed data is durable.
                let path = self.chunk_path(p, seq);
                if let Err(e) = open_regular(&path).and_then(|f| f.sync_data()) {
                    log::warn!("trace buffer {}: fsync: {e}", self.dir.display());
                }
            }
            let mut placed = None;
            for _ in 0..3 {
                let new_seq = st.lane(priority).next;
                match self.rename_noreplace(&chunk_name(p, seq), &chunk_name(priority, new_seq)) {
                    Ok(()) => {
                        placed = Some(new_seq);
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        log::warn!(
                            "trace buffer {}: sequence {new_seq} of priority {priority} already \
                             taken; rebuilding the index",
                            self.dir.display()
                        );
                        st.rebuild()?;
                        st.mark_dirty()?;
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) => return Err(e),
                }
            }
            let Some(new_seq) = placed else { continue };
            renamed = true;
            let charge = charged_bytes(data_len(len));
            st.sub(p, seq, charge);
            st.add(priority, new_seq, charge);
            out.push(ChunkId::stored(priority, new_seq));
        }
        if renamed {
            if let Err(e) = self.dir_fd.sync_all() {
                log::warn!("trace buffer {}: fsync: {e}", self.dir.display());
            }
        }
        st.commit_logged();
        Ok(out)
    }

    /// Current counts, bytes and cap.
    pub fn stats(&self) -> io::Result<Stats> {
        let idx = match self.lock() {
            Ok(g) => {
                let mut st = self.load(g)?;
                st.commit_logged();
                st.idx
            }
            // Someone holds the lock for long: report the cached index as it is.
            Err(e) if e.kind() == io::ErrorKind::TimedOut => self.read_index().ok_or(e)?,
            Err(e) => return Err(e),
        };
        let mut by_priority = BTreeMap::new();
        for (p, lane) in &idx.prios {
            if lane.count > 0 {
                by_priority.insert(*p, lane.count);
            }
        }
        Ok(Stats {
            dir: self.dir.clone(),
            chunks: idx
                .prios
                .values()
                .fold(0u64, |a, l| a.saturating_add(l.count)),
            bytes: idx.total_bytes(),
            limit_bytes: self.limit,
            by_priority,
        })
    }

    /// Every readable chunk, oldest first (by write time; ties by priority and sequence),
    /// including chunks not yet adopted from `incoming/`. Scans the directory and takes no lock:
    /// meant for `trace dump`, not for the dispatch path. Corrupt and foreign files are skipped
    /// with a warning.
    pub fn chunks_oldest_first(&self) -> io::Result<Vec<Chunk>> {
        let mut found: Vec<((SystemTime, u8, u64, String), Chunk)> = Vec::new();
        for (sub, incoming) in [(None, false), (Some(INCOMING_DIR), true)] {
            let dir = match sub {
                Some(s) => self.dir.join(s),
                None => self.dir.clone(),
            };
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if incoming && e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let parsed = if incoming {
                    parse_incoming_name(&name).map(|p| (p, u64::MAX))
                } else if is_reserved_name(&name) {
                    continue;
                } else {
                    parse_chunk_name(&name)
                };
                let Some((priority, seq)) = parsed else {
                    log::warn!(
                        "trace buffer: skipping foreign file {}",
                        dir.join(&name).display()
                    );
                    continue;
                };
                let path = dir.join(&name);
                let mtime = match fs::symlink_metadata(&path).and_then(|m| m.modified()) {
                    Ok(t) => t,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                match read_chunk_file(&path, self.max_chunk_file()) {
                    Ok(Some(data)) => {
                        let stem = name.trim_end_matches(CHUNK_EXT).to_owned();
                        found.push((
                            (mtime, priority, seq, stem.clone()),
                            Chunk {
                                id: ChunkId(stem),
                                priority,
                                data,
                            },
                        ));
                    }
                    Ok(None) => {}
                    Err(e) => log::warn!("trace buffer: skipping {}: {e}", path.display()),
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found.into_iter().map(|(_, c)| c).collect())
    }

    /// Up to `max` chunks to send next: highest priority first, oldest first within a priority
    /// (see [`Buffer::export_batch`]).
    pub fn export_queue(&self, max: usize) -> io::Result<Vec<Chunk>> {
        self.export_batch(max).map(|b| b.chunks)
    }

    /// Up to `max` chunks to send next: highest priority first, oldest first within a priority,
    /// and the entries skipped on the way. Takes the lock only to adopt `incoming/`; the queue
    /// itself comes from one scan of the directory (never from walking sequence numbers, which a
    /// corrupt index could make endless). A corrupt chunk met on the way is deleted with a
    /// warning; an entry that cannot be read as a chunk of ours (not a regular file, hard-linked,
    /// unreadable) is skipped, reported and left alone, and the rest goes on.
    pub fn export_batch(&self, max: usize) -> io::Result<ExportBatch> {
        {
            let mut st = self.load(self.lock()?)?;
            st.commit_logged();
        }
        let mut queue = self.scan()?;
        queue.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut batch = ExportBatch::default();
        let mut corrupt = Vec::new();
        for (p, seq) in queue {
            if batch.chunks.len() >= max {
                break;
            }
            let path = self.chunk_path(p, seq);
            match read_chunk_file(&path, self.max_chunk_file()) {
                Ok(Some(data)) => batch.chunks.push(Chunk {
                    id: ChunkId::stored(p, seq),
                    priority: p,
                    data,
                }),
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    log::warn!(
                        "trace buffer: deleting corrupt chunk {}: {e}",
                        path.display()
                    );
                    corrupt.push(ChunkId::stored(p, seq));
                }
                Err(e) => {
                    log::warn!("trace buffer: skipping {}: {e}", path.display());
                    batch.skipped.push(format!("{}: {e}", chunk_name(p, seq)));
                }
            }
        }
        for id in corrupt {
            if let Err(e) = self.remove(&id) {
                log::warn!("trace buffer: could not delete corrupt chunk {id}: {e}");
            }
        }
        Ok(batch)
    }

    /// The stored chunks, `(priority, sequence)`, in directory order: one scan, regular files
    /// only (the entry's own type: a symlink is not followed).
    fn scan(&self) -> io::Result<Vec<(u8, u64)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Some(loc) = entry.file_name().to_str().and_then(parse_chunk_name) else {
                continue;
            };
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                out.push(loc);
            }
        }
        Ok(out)
    }

    /// Deletes a chunk. Removing a chunk that is already gone is not an error.
    pub fn remove(&self, id: &ChunkId) -> io::Result<()> {
        self.remove_checked(id).map(drop)
    }

    /// Like [`Buffer::remove`], but tells whether this call deleted the chunk (`false`: it was
    /// already gone — removed, evicted, or promoted under a new id).
    pub fn remove_checked(&self, id: &ChunkId) -> io::Result<bool> {
        let mut st = self.load(self.lock()?)?;
        let mut deleted = false;
        if let Some((p, seq)) = st.resolve(id) {
            if st.lane(p).head != seq && st.exists(p, seq) {
                st.mark_dirty()?;
            }
            deleted = st.unlink_chunk(p, seq)?;
        }
        st.commit_logged();
        Ok(deleted)
    }

    /// Stores (or with `None`, forgets) the exporter's destination, owner-only.
    pub fn set_destination(&self, d: Option<&Destination>) -> io::Result<()> {
        match d {
            Some(d) => self.write_json_file(DESTINATION_FILE, d),
            None => remove_if_exists(&self.dir.join(DESTINATION_FILE)),
        }
    }

    /// The stored destination; `None` if there is none (or it is unreadable, with a warning).
    pub fn destination(&self) -> io::Result<Option<Destination>> {
        self.read_json_file(DESTINATION_FILE)
    }

    /// Records the outcome of an export attempt (replacing the previous one).
    pub fn record_export(&self, o: &ExportOutcome) -> io::Result<()> {
        self.write_json_file(LAST_EXPORT_FILE, o)
    }

    /// The last recorded export outcome, if any (`None` too if unreadable, with a warning).
    pub fn last_export(&self) -> io::Result<Option<ExportOutcome>> {
        self.read_json_file(LAST_EXPORT_FILE)
    }

    /// Which export outcome the dispatches have already reported (an opaque stamp), if any.
    pub fn reported_export(&self) -> Option<String> {
        let bytes = read_regular(&self.dir.join(REPORTED_FILE), 1024).ok()?;
        String::from_utf8(bytes).ok()
    }

    /// Notes that the outcome with this stamp has been reported (best effort).
    pub fn set_reported_export(&self, stamp: &str) {
        let tmp = self
            .dir
            .join(TMP_DIR)
            .join(format!("{}.tmp", unique_token()));
        let _ =
            crate::state::write_via(&tmp, &self.dir.join(REPORTED_FILE), stamp.as_bytes(), false);
    }

    /// Takes the unit's exporter lock without waiting: `None` if another exporter holds it.
    pub fn try_lock_exporter(&self) -> io::Result<Option<ExporterLock>> {
        let f = open_private(&self.dir.join(EXPORTER_LOCK_FILE))?;
        match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
            Ok(l) => Ok(Some(ExporterLock { _lock: l })),
            Err((_, Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(e.into()),
        }
    }

    // ----- internals -----

    fn chunk_path(&self, priority: u8, seq: u64) -> PathBuf {
        self.dir.join(chunk_name(priority, seq))
    }

    /// The longest chunk file read (header included): the cap, and at least 64 MiB. A longer
    /// file is corrupt (or planted); only this much of it is ever read.
    fn max_chunk_file(&self) -> u64 {
        self.limit
            .max(MIN_CHUNK_BOUND)
            .saturating_add(HEADER_LEN as u64)
    }

    fn lock(&self) -> io::Result<Flock<File>> {
        let mut file = open_private(&self.dir.join(LOCK_FILE))?;
        let deadline = Instant::now() + self.lock_timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(l) => return Ok(l),
                Err((f, Errno::EWOULDBLOCK | Errno::EINTR)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("trace buffer {} is locked", self.dir.display()),
                        ));
                    }
                    std::thread::sleep(pause.min(deadline - now));
                    pause = (pause * 2).min(Duration::from_millis(4));
                    file = f;
                }
                Err((_, e)) => return Err(e.into()),
            }
        }
    }

    /// What the filesystem holding the buffer has free, and its size (`None` if unknown).
    #[cfg(not(test))]
    fn space(&self) -> Option<Space> {
        Space::of(&self.dir_fd)
    }

    #[cfg(test)]
    fn space(&self) -> Option<Space> {
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
    fn make_room(&self, need: u64, up_to: u8, force: bool) -> io::Result<()> {
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
    fn no_room(&self, need: u64) -> io::Error {
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

    fn write_temp(&self, data: &[u8], durable: bool) -> io::Result<(String, String)> {
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
    fn write_payload(&self, f: &mut File, buf: &[u8]) -> io::Result<()> {
        f.write_all(buf)
    }

    #[cfg(test)]
    fn write_payload(&self, f: &mut File, buf: &[u8]) -> io::Result<()> {
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

    fn append_incoming(&self, tmp_name: &str, token: &str, priority: u8) -> io::Result<ChunkId> {
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
    fn rename_noreplace(&self, from: &str, to: &str) -> io::Result<()> {
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

    fn read_index(&self) -> Option<Index> {
        let bytes = match read_regular(&self.dir.join(INDEX_FILE), MAX_JSON_BYTES) {
            Ok(b) => b,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    log::warn!("trace buffer {}: reading index: {e}", self.dir.display());
                }
                return None;
            }
        };
        match serde_json::from_slice::<Index>(&bytes) {
            Ok(i) if i.version == INDEX_VERSION => Some(i),
            Ok(i) => {
                log::warn!(
                    "trace buffer {}: index version {} unknown; rebuilding",
                    self.dir.display(),
                    i.version
                );
                None
            }
            Err(e) => {
                log::warn!(
                    "trace buffer {}: index unreadable ({e}); rebuilding",
                    self.dir.display()
                );
                None
            }
        }
    }

    fn write_index(&self, idx: &Index) -> io::Result<()> {
        let bytes = serde_json::to_vec(idx).map_err(io::Error::other)?;
        let tmp = self
            .dir
            .join(TMP_DIR)
            .join(format!("{}.idx.tmp", unique_token()));
        // The index is a cache (rebuilt when it looks wrong): no fsync needed.
        crate::state::write_via(&tmp, &self.dir.join(INDEX_FILE), &bytes, false)
    }

    /// Takes the state under the lock: a validated (or rebuilt) index with `incoming/` adopted.
    fn load(&self, lock: Flock<File>) -> io::Result<Locked<'_>> {
        let mut st = Locked {
            buf: self,
            _lock: lock,
            idx: Index::new(),
            changed: false,
            dirty_on_disk: false,
        };
        match self.read_index() {
            Some(idx) if !idx.dirty && st.consistent(&idx) => st.idx = idx,
            Some(idx) => {
                if !idx.dirty {
                    log::warn!(
                        "trace buffer {}: index inconsistent with the files; rebuilding",
                        self.dir.display()
                    );
                }
                // Its counters still serve as floors, so that sequence numbers are not reused.
                st.idx = idx;
                st.rebuild()?;
            }
            None => st.rebuild()?,
        }
        st.adopt_incoming()?;
        Ok(st)
    }

    fn write_json_file<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        let tmp = self
            .dir
            .join(TMP_DIR)
            .join(format!("{}.tmp", unique_token()));
        crate::state::write_via(&tmp, &self.dir.join(name), &bytes, true)?;
        self.dir_fd.sync_all()
    }

    fn read_json_file<T: for<'de> Deserialize<'de>>(&self, name: &str) -> io::Result<Option<T>> {
        let path = self.dir.join(name);
        let bytes = match read_regular(&path, MAX_JSON_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
                ) || e.raw_os_error() == Some(Errno::ELOOP as i32) =>
            {
                log::warn!("trace buffer: ignoring {}: {e}", path.display());
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        match serde_json::from_slice(&bytes) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                log::warn!("trace buffer: ignoring unreadable {}: {e}", path.display());
                Ok(None)
            }
        }
    }

    /// Deletes temp files whose writer is dead (or that are older than an hour).
    fn clean_stale_temps(&self) {
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

mod files;
mod index;

use files::*;
use index::{Index, Locked};

#[cfg(test)]
mod tests;
