//! What every class of the fault campaign shares: the mode (fast or long), a seeded random
//! generator, the figures each class reports, reading trace ids back from the buffer, the
//! collector and the stub hook tools' log, and a hang guard for child processes.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use charmkit::trace::buffer::{Buffer, DIR_NAME};

/// The environment variable selecting the long mode (`CHARMKIT_FAULTS=long`): ≥ 1,000 kill
/// trials and larger samples everywhere. `bench/faults.sh` runs it.
pub const MODE_ENV: &str = "CHARMKIT_FAULTS";

/// Whether the long mode is on.
pub fn long() -> bool {
    std::env::var(MODE_ENV).is_ok_and(|v| v == "long")
}

/// `fast` trials in the normal test run, `long` in the long mode.
pub fn trials(fast: usize, long_mode: usize) -> usize {
    if long() {
        long_mode
    } else {
        fast
    }
}

/// A small deterministic generator (xorshift64*): the campaign is reproducible from its seed
/// (`CHARMKIT_FAULTS_SEED`, printed with the figures).
pub struct Rng(u64);

impl Rng {
    pub fn new(salt: u64) -> Rng {
        let seed = std::env::var("CHARMKIT_FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0x5eed_cafe_f00d_u64);
        Rng((seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A uniformly random instant in `0..max`.
    pub fn instant(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.below(max.as_micros().max(1) as u64))
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The figures of one class, printed as one row of README's Reliability table.
#[derive(Debug, Default)]
pub struct Figures {
    pub class: &'static str,
    pub trials: usize,
    /// Data a completed dispatch stored that reached neither the collector nor the buffer.
    pub lost: usize,
    /// Chunks (in the buffer or at the collector) that do not read back whole.
    pub corrupt: usize,
    /// Chunks the collector received more than once (allowed: delivery is at least once).
    pub duplicated: usize,
    /// Median time tracing added to a hook, when measured.
    pub hook_added: Option<Duration>,
    /// Requests a collector received over TLS it should have refused (must be 0).
    pub unverified: Option<usize>,
    /// Hooks that failed, hung or panicked because of tracing (must be 0).
    pub failed: usize,
    /// Anything else worth saying in the row.
    pub note: String,
}

impl Figures {
    pub fn new(class: &'static str) -> Figures {
        Figures {
            class,
            ..Figures::default()
        }
    }

    /// Prints the row (`FIGURES | …`, grepped by `bench/faults.sh`) and returns `self`.
    pub fn print(self) -> Figures {
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        println!(
            "FIGURES | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.class,
            self.trials,
            self.lost,
            self.corrupt,
            self.duplicated,
            self.failed,
            self.hook_added.map_or("—".into(), ms),
            self.unverified.map_or("—".into(), |n| n.to_string()),
            self.note,
        );
        self
    }

    /// The invariants every class holds: nothing lost, nothing corrupt, no hook failed because of
    /// tracing, nothing sent unverified. (Duplicates are allowed: at-least-once delivery.)
    pub fn assert_clean(&self) {
        assert_eq!(self.lost, 0, "{}: lost data: {self:?}", self.class);
        assert_eq!(self.corrupt, 0, "{}: corrupt data: {self:?}", self.class);
        assert_eq!(
            self.failed, 0,
            "{}: tracing failed hooks: {self:?}",
            self.class
        );
        assert_eq!(self.unverified.unwrap_or(0), 0, "{}: {self:?}", self.class);
    }
}

/// The trace ids (32 hex) of the `ops.main` root spans in an OTLP/JSON document; `None` if it
/// is not one.
pub fn root_trace_ids(json: &[u8]) -> Option<Vec<String>> {
    let req = charmkit::trace::otlp::decode(json).ok()?;
    Some(
        req.resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .filter(|s| s.name == "ops.main")
            .map(|s| s.trace_id.iter().map(|b| format!("{b:02x}")).collect())
            .collect(),
    )
}

/// What the buffer under `charm_dir` holds: every chunk that reads back, and how many chunk
/// files do not (corrupt: a torn or altered chunk, counted from the directory itself).
pub fn buffer_contents(charm_dir: &Path) -> (Vec<Vec<u8>>, usize) {
    let dir = charm_dir.join(DIR_NAME);
    let Ok(Some(b)) = Buffer::open_existing(charm_dir) else {
        return (Vec::new(), 0);
    };
    let chunks: Vec<Vec<u8>> = b
        .chunks_oldest_first()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.data)
        .collect();
    let mut files = 0usize;
    for sub in [dir.clone(), dir.join("incoming")] {
        for e in fs::read_dir(sub).into_iter().flatten().flatten() {
            let regular = e.file_type().is_ok_and(|t| t.is_file());
            if regular && e.file_name().to_string_lossy().ends_with(".chunk") {
                files += 1;
            }
        }
    }
    let corrupt = files.saturating_sub(chunks.len());
    (chunks, corrupt)
}

/// The root trace ids the buffer holds, each with how many root spans carry it, and the chunks
/// that are not OTLP.
pub fn buffered_roots(charm_dir: &Path) -> (BTreeMap<String, usize>, usize) {
    let (chunks, mut corrupt) = buffer_contents(charm_dir);
    let mut roots = BTreeMap::new();
    for c in chunks {
        match root_trace_ids(&c) {
            Some(ids) => ids
                .into_iter()
                .for_each(|id| *roots.entry(id).or_insert(0) += 1),
            None => corrupt += 1,
        }
    }
    (roots, corrupt)
}

/// The root trace ids that dispatches logged (`Starting root trace with id='…'`) in a stub
/// hook tools' log (`calls`) after byte `offset`, in order, and the log's new end. Lines torn by
/// a kill are skipped.
pub fn logged_trace_ids_since(calls_file: &Path, offset: usize) -> (Vec<String>, usize) {
    let text = fs::read(calls_file).unwrap_or_default();
    let end = text.len();
    let ids = String::from_utf8_lossy(&text[offset.min(end)..])
        .lines()
        .filter(|l| l.starts_with("juju-log\u{1f}"))
        .filter_map(|l| {
            let id = l.split("Starting root trace with id='").nth(1)?;
            let id = id.get(..32)?;
            id.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| id.to_string())
        })
        .collect();
    (ids, end)
}

/// Waits for `child` at most `limit`; kills it (and says so with `None`) if it has not ended.
pub fn wait_or_kill(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Whether a process's output shows a Rust panic.
pub fn panicked(status: Option<ExitStatus>, stderr: &[u8]) -> bool {
    status.and_then(|s| s.code()) == Some(101)
        || String::from_utf8_lossy(stderr).contains("panicked")
}

/// The median of `v` (zero if empty).
pub fn median(v: &mut [Duration]) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[v.len() / 2]
}
