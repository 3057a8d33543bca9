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
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

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
}

mod chunk;
mod files;
mod incoming;
mod index;
mod queue;
mod records;
mod space;

use crate::fs::{remove_if_exists, unique_token};
use chunk::*;
pub use chunk::{Chunk, ChunkId};
use files::*;
#[cfg(test)]
pub(crate) use incoming::Fault;
pub use records::{Destination, ExportOutcome};
#[cfg(any(test, feature = "_internals"))]
pub use space::free_floor;
use space::is_out_of_space;
pub use space::NoRoom;

#[cfg(test)]
mod tests;
