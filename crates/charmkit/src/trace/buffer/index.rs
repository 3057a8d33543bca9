//! The index (a cache of per-priority sequence numbers, counts and bytes) and everything done
//! with it while the buffer lock is held: validation, rebuild, placement, eviction, adoption of
//! `incoming/`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;

use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};

use super::files::*;
use super::*;

/// Per-priority bookkeeping in the index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Lane {
    /// Oldest stored sequence (its file exists when `count > 0`; equals `next` when empty).
    pub(super) head: u64,
    /// Next sequence to allocate (its file never exists).
    pub(super) next: u64,
    pub(super) count: u64,
    pub(super) bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Index {
    pub(super) version: u32,
    #[serde(default)]
    pub(super) dirty: bool,
    pub(super) prios: BTreeMap<u8, Lane>,
    /// `in-…` ids adopted recently → the stored id they became.
    #[serde(default)]
    pub(super) aliases: Vec<(String, String)>,
}

impl Index {
    pub(super) fn new() -> Index {
        Index {
            version: INDEX_VERSION,
            dirty: false,
            prios: BTreeMap::new(),
            aliases: Vec::new(),
        }
    }

    pub(super) fn total_bytes(&self) -> u64 {
        self.prios
            .values()
            .fold(0u64, |a, l| a.saturating_add(l.bytes))
    }
}

/// The index while the lock is held.
pub(super) struct Locked<'a> {
    pub(super) buf: &'a Buffer,
    pub(super) _lock: Flock<File>,
    pub(super) idx: Index,
    pub(super) changed: bool,
    pub(super) dirty_on_disk: bool,
}

impl Locked<'_> {
    /// Whether chunk `(p, seq)` is there: a regular file by that name (a symlink, FIFO or device
    /// with a chunk's name is never one of ours). An error other than "not found" counts as
    /// there, so that a transient problem never makes the index skip data.
    pub(super) fn exists(&self, p: u8, seq: u64) -> bool {
        match fs::symlink_metadata(self.buf.chunk_path(p, seq)) {
            Ok(m) => m.file_type().is_file(),
            Err(e) => e.kind() != io::ErrorKind::NotFound,
        }
    }

    /// Whether anything at all has the name of chunk `(p, seq)` (a new chunk cannot go there).
    pub(super) fn occupied(&self, p: u8, seq: u64) -> bool {
        match fs::symlink_metadata(self.buf.chunk_path(p, seq)) {
            Ok(_) => true,
            Err(e) => e.kind() != io::ErrorKind::NotFound,
        }
    }

    pub(super) fn consistent(&self, idx: &Index) -> bool {
        // A lane starts at sequence 0; a well-known priority missing from the index must have no
        // chunk 0 (a crash right after the first append of that priority).
        let missing_lane = [PRIORITY_DEFAULT, PRIORITY_OBSERVED]
            .iter()
            .any(|p| !idx.prios.contains_key(p) && self.occupied(*p, 0));
        !missing_lane
            && idx.prios.iter().all(|(&p, l)| {
                l.head <= l.next
                    && l.next <= MAX_SEQ
                    && l.count <= l.next - l.head
                    && l.bytes >= l.count.saturating_mul(BLOCK_BYTES)
                    && (l.count > 0 || (l.bytes == 0 && l.head == l.next))
                    && (l.count == 0 || self.exists(p, l.head))
                    && !self.occupied(p, l.next)
            })
    }

    pub(super) fn lane(&mut self, p: u8) -> &mut Lane {
        self.idx.prios.entry(p).or_default()
    }

    /// Accounts for a chunk that now exists at `(p, seq)` (`seq` == the lane's `next`).
    pub(super) fn add(&mut self, p: u8, seq: u64, charge: u64) {
        let lane = self.lane(p);
        if lane.count == 0 {
            lane.head = seq;
        }
        lane.next = lane.next.max(seq.saturating_add(1));
        lane.count = lane.count.saturating_add(1);
        lane.bytes = lane.bytes.saturating_add(charge);
        self.changed = true;
    }

    /// Accounts for a chunk that no longer exists at `(p, seq)`.
    pub(super) fn sub(&mut self, p: u8, seq: u64, charge: u64) {
        let lane = self.lane(p);
        lane.count = lane.count.saturating_sub(1);
        lane.bytes = lane.bytes.saturating_sub(charge);
        if lane.count == 0 {
            lane.head = lane.next;
            lane.bytes = 0;
        } else if seq == lane.head {
            // Walk over holes to the next existing chunk (amortised: the head only moves forward),
            // a bounded number of steps: past that (a long run of holes, or an index whose counts
            // lie), one scan of the directory finds the head instead.
            let (mut h, next) = (seq.saturating_add(1), lane.next);
            let end = next.min(h.saturating_add(HEAD_PROBES));
            while h < end && !self.exists(p, h) {
                h += 1;
            }
            if h < next && !self.exists(p, h) {
                if let Err(e) = self.rebuild() {
                    log::warn!(
                        "trace buffer {}: rescanning for the oldest chunk: {e}",
                        self.buf.dir.display()
                    );
                    // The head now names no chunk: the next lock holder's check rebuilds.
                    self.lane(p).head = h;
                }
            } else {
                self.lane(p).head = h;
            }
        }
        self.changed = true;
    }

    /// Renames the temp file into the next sequence of `p`; returns that sequence.
    pub(super) fn place(&mut self, tmp_name: &str, p: u8, durable: bool) -> io::Result<u64> {
        let len = fs::symlink_metadata(self.buf.dir.join(tmp_name))?.len();
        let mut rebuilt = false;
        loop {
            let seq = self.lane(p).next;
            match self.buf.rename_noreplace(tmp_name, &chunk_name(p, seq)) {
                Ok(()) => {
                    if durable {
                        if let Err(e) = self.buf.dir_fd.sync_all() {
                            log::warn!("trace buffer {}: fsync: {e}", self.buf.dir.display());
                        }
                    }
                    self.add(p, seq, charged_bytes(data_len(len)));
                    return Ok(seq);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !rebuilt => {
                    log::warn!(
                        "trace buffer {}: sequence {seq} of priority {p} already taken; \
                         rebuilding the index",
                        self.buf.dir.display()
                    );
                    self.rebuild()?;
                    rebuilt = true;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Deletes `(p, seq)` if present and accounts for it. `Ok(false)` if it was not there.
    pub(super) fn unlink_chunk(&mut self, p: u8, seq: u64) -> io::Result<bool> {
        let path = self.buf.chunk_path(p, seq);
        let len = match fs::symlink_metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        self.sub(p, seq, charged_bytes(data_len(len)));
        Ok(true)
    }

    /// Evicts lowest priority first, oldest first, while over the cap; never `keep`.
    pub(super) fn evict(&mut self, keep: Option<(u8, u64)>) -> io::Result<()> {
        let limit = self.buf.limit;
        self.evict_while(keep, u8::MAX, |st| st.idx.total_bytes() > limit)
    }

    /// Evicts, lowest priority first, oldest first, while the filesystem holding the buffer is
    /// short of `need` bytes above the floor it keeps free; only data of priority at most
    /// `up_to` (unobserved data never displaces observed data), never `keep`.
    pub(super) fn evict_for_space(
        &mut self,
        need: u64,
        up_to: u8,
        keep: Option<(u8, u64)>,
    ) -> io::Result<()> {
        self.evict_while(keep, up_to, |st| st.buf.short_of_space(need).is_some())
    }

    pub(super) fn evict_while(
        &mut self,
        keep: Option<(u8, u64)>,
        up_to: u8,
        over: impl Fn(&Self) -> bool,
    ) -> io::Result<()> {
        let mut rebuilt = false;
        while over(self) {
            let victim = self
                .idx
                .prios
                .iter()
                .take_while(|(&p, _)| p <= up_to)
                .find(|(&p, l)| l.count > 0 && keep != Some((p, l.head)))
                .map(|(&p, l)| (p, l.head));
            let Some((p, seq)) = victim else { break };
            if !self.unlink_chunk(p, seq)? {
                if rebuilt {
                    break;
                }
                log::warn!(
                    "trace buffer {}: head chunk {} missing; rebuilding the index",
                    self.buf.dir.display(),
                    chunk_name(p, seq)
                );
                self.rebuild()?;
                rebuilt = true;
            }
        }
        Ok(())
    }

    /// Writes the index marked dirty before a change that the head/next probes cannot detect.
    pub(super) fn mark_dirty(&mut self) -> io::Result<()> {
        if !self.dirty_on_disk {
            let mut idx = self.idx.clone();
            idx.dirty = true;
            if let Err(e) = self.buf.write_index(&idx) {
                // E.g. a full disk: deleting the index forces a rebuild just as well.
                log::debug!("trace buffer: marking index dirty: {e}; deleting it instead");
                remove_if_exists(&self.buf.dir.join(INDEX_FILE))?;
            }
            self.dirty_on_disk = true;
        }
        Ok(())
    }

    pub(super) fn commit(&mut self) -> io::Result<()> {
        if self.changed || self.dirty_on_disk {
            self.idx.dirty = false;
            self.buf.write_index(&self.idx)?;
            self.changed = false;
            self.dirty_on_disk = false;
        }
        Ok(())
    }

    pub(super) fn commit_logged(&mut self) {
        if let Err(e) = self.commit() {
            log::warn!(
                "trace buffer {}: writing index: {e} (it will be rebuilt)",
                self.buf.dir.display()
            );
        }
    }

    /// Where `id` lives now, following adoption aliases.
    pub(super) fn resolve(&self, id: &ChunkId) -> Option<(u8, u64)> {
        match id.loc()? {
            Loc::Stored { priority, seq } => Some((priority, seq)),
            Loc::Incoming { .. } => {
                let (_, to) = self
                    .idx
                    .aliases
                    .iter()
                    .rev()
                    .find(|(from, _)| from == &id.0)?;
                parse_stored_stem(to)
            }
        }
    }

    /// Recomputes the index from one scan of the directory.
    pub(super) fn rebuild(&mut self) -> io::Result<()> {
        let dir = &self.buf.dir;
        // Per priority: (oldest regular chunk, highest sequence taken by anything, lane).
        let mut prios: BTreeMap<u8, (Option<u64>, u64, Lane)> = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_reserved_name(&name) {
                continue;
            }
            let Some((p, seq)) = parse_chunk_name(&name) else {
                log::warn!(
                    "trace buffer: skipping foreign file {}",
                    dir.join(&name).display()
                );
                continue;
            };
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    log::warn!("trace buffer: skipping {}: {e}", dir.join(&name).display());
                    continue;
                }
            };
            let e = prios.entry(p).or_insert((None, 0, Lane::default()));
            // Whatever holds the name, the sequence is taken.
            e.1 = e.1.max(seq);
            if !meta.is_file() {
                log::warn!(
                    "trace buffer: skipping {} (not a regular file)",
                    dir.join(&name).display()
                );
                continue;
            }
            // Shorter than a header, or longer than any chunk can be: corrupt (or planted). Counted,
            // a huge one would make eviction throw real data away to stay under the cap.
            if meta.len() < HEADER_LEN as u64 || meta.len() > self.buf.max_chunk_file() {
                log::warn!(
                    "trace buffer: deleting corrupt chunk {} ({} bytes)",
                    dir.join(&name).display(),
                    meta.len()
                );
                remove_if_exists(&entry.path())?;
                continue;
            }
            e.0 = Some(e.0.map_or(seq, |m| m.min(seq)));
            e.2.count = e.2.count.saturating_add(1);
            e.2.bytes =
                e.2.bytes
                    .saturating_add(charged_bytes(data_len(meta.len())));
        }
        // Keep the lanes' sequence counters moving forward (never reuse an id someone may hold),
        // using the previous index, however wrong, as a floor.
        let mut idx = Index::new();
        for (&p, l) in &self.idx.prios {
            let next = l.next.max(l.head);
            if next > MAX_SEQ {
                // Not a counter this buffer could have reached: a corrupt index, no floor.
                continue;
            }
            idx.prios.insert(
                p,
                Lane {
                    head: next,
                    next,
                    count: 0,
                    bytes: 0,
                },
            );
        }
        idx.aliases = std::mem::take(&mut self.idx.aliases);
        for (p, (min, max, mut lane)) in prios {
            let floor = idx.prios.get(&p).map_or(0, |l| l.next);
            lane.next = max.saturating_add(1).max(floor);
            lane.head = min.unwrap_or(lane.next);
            idx.prios.insert(p, lane);
        }
        for lane in idx.prios.values_mut() {
            if lane.count == 0 {
                lane.head = lane.next;
            }
        }
        self.idx = idx;
        self.changed = true;
        self.dirty_on_disk = false;
        self.commit_logged();
        Ok(())
    }

    /// Gives sequence numbers to chunks stored lock-free in `incoming/`.
    pub(super) fn adopt_incoming(&mut self) -> io::Result<()> {
        let inc = self.buf.dir.join(INCOMING_DIR);
        let entries = match fs::read_dir(&inc) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                ensure_private_dir(&inc, true)?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            match parse_incoming_name(&name) {
                Some(p) => names.push((incoming_order_key(&name), p, name)),
                None => log::warn!(
                    "trace buffer: skipping foreign file {}",
                    inc.join(&name).display()
                ),
            }
        }
        if names.is_empty() {
            return Ok(());
        }
        names.sort();
        let mut newest = None;
        for (_, p, name) in names {
            let from = format!("{INCOMING_DIR}/{name}");
            let len = match fs::symlink_metadata(self.buf.dir.join(&from)) {
                Ok(m) if m.file_type().is_file() => m.len(),
                Ok(_) => {
                    // Only we write here: whatever else took a chunk's name (a symlink, a FIFO)
                    // is removed — the link, never what it points to — and never adopted.
                    log::warn!("trace buffer: removing incoming/{name} (not a regular file)");
                    remove_if_exists(&self.buf.dir.join(&from))?;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if len < HEADER_LEN as u64 {
                log::warn!("trace buffer: deleting corrupt incoming chunk {name}");
                remove_if_exists(&self.buf.dir.join(&from))?;
                continue;
            }
            let seq = self.place(&from, p, p >= PRIORITY_OBSERVED)?;
            let stem = name.trim_end_matches(CHUNK_EXT).to_owned();
            self.idx.aliases.push((stem, format!("p{p}-{seq:012}")));
            newest = Some((p, seq));
        }
        let excess = self.idx.aliases.len().saturating_sub(MAX_ALIASES);
        self.idx.aliases.drain(..excess);
        self.evict(newest)?;
        self.commit_logged();
        Ok(())
    }
}

impl Buffer {
    pub(super) fn read_index(&self) -> Option<Index> {
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

    pub(super) fn write_index(&self, idx: &Index) -> io::Result<()> {
        let bytes = serde_json::to_vec(idx).map_err(io::Error::other)?;
        let tmp = self
            .dir
            .join(TMP_DIR)
            .join(format!("{}.idx.tmp", unique_token()));
        // The index is a cache (rebuilt when it looks wrong): no fsync needed.
        crate::fs::write_via(&tmp, &self.dir.join(INDEX_FILE), &bytes, false)
    }

    /// Takes the state under the lock: a validated (or rebuilt) index with `incoming/` adopted.
    pub(super) fn load(&self, lock: Flock<File>) -> io::Result<Locked<'_>> {
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
}
