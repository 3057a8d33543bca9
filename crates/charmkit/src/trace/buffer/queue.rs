//! Reading chunks back: the export queue (best first) and the dump (oldest first), both from a
//! scan of the directory, never from walking sequence numbers.

use std::fs;
use std::io;
use std::time::SystemTime;

use super::files::*;
use super::*;

impl Buffer {
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

    #[cfg(any(test, feature = "_internals"))]
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
}
