//! Several processes use one trace buffer at once: four writers (one of them never waits for the
//! lock, so its chunks go through `incoming/`), promoting some of their chunks, and an exporter
//! removing chunks as they come. Nothing may be lost or duplicated, and the counts must add up.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use charmkit::trace::buffer::{Buffer, PRIORITY_DEFAULT, PRIORITY_OBSERVED};

const CHILD_ENV: &str = "CHARMKIT_BUFFER_CONC_CHILD";
const PER_WRITER: u64 = 120;

fn payload(w: u64, n: u64) -> Vec<u8> {
    let mut v = format!("{{\"w\":{w},\"n\":{n},\"pad\":\"").into_bytes();
    v.resize(v.len() + 200 + ((w * 31 + n * 17) % 3000) as usize, b'x');
    v.extend_from_slice(b"\"}");
    v
}

fn key(data: &[u8]) -> (u64, u64) {
    let v: serde_json::Value = serde_json::from_slice(data).expect("chunk is JSON");
    (v["w"].as_u64().expect("w"), v["n"].as_u64().expect("n"))
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} unset"))
}

fn open_log() -> fs::File {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(env("BUF_LOG"))
        .expect("log")
}

fn writer() {
    let w: u64 = env("BUF_WRITER").parse().expect("writer");
    let mut b = Buffer::open_dir(&PathBuf::from(env("BUF_DIR")), u64::MAX).expect("open");
    if w == 0 {
        b = b.with_lock_timeout(Duration::ZERO);
    }
    let mut log = open_log();
    let mut pending = vec![];
    for n in 0..PER_WRITER {
        let prio = if n % 5 == 0 {
            PRIORITY_OBSERVED
        } else {
            PRIORITY_DEFAULT
        };
        let id = b.append(&payload(w, n), prio).expect("append");
        let via = if id.as_str().starts_with("in-") {
            "incoming"
        } else {
            "locked"
        };
        log.write_all(format!("A {w} {n} {via}\n").as_bytes())
            .expect("log");
        pending.push(id);
        if n % 7 == 6 {
            // A dispatch turned out observed: promote what it wrote (some may be gone already).
            let _ = b.promote(&pending, PRIORITY_OBSERVED);
            pending.clear();
        }
    }
}

fn remover() {
    let dir = PathBuf::from(env("BUF_DIR"));
    let stop = dir.with_extension("stop");
    let b = Buffer::open_dir(&dir, u64::MAX).expect("open");
    let mut log = open_log();
    let _exporter = b
        .try_lock_exporter()
        .expect("exporter lock")
        .expect("only exporter");
    loop {
        let stopping = stop.exists();
        let q = b.export_queue(5).expect("queue");
        if q.is_empty() && stopping {
            break;
        }
        for c in q.iter().take(3) {
            if b.remove_checked(&c.id).expect("remove") {
                let (w, n) = key(&c.data);
                log.write_all(format!("R {w} {n}\n").as_bytes())
                    .expect("log");
            }
        }
        if stopping {
            // Leave some behind for the final check.
            break;
        }
    }
}

#[test]
fn child_entry() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        match mode.as_str() {
            "writer" => writer(),
            "remover" => remover(),
            other => panic!("unknown child mode {other}"),
        }
        std::process::exit(0);
    }
}

fn spawn(mode: &str, dir: &PathBuf, log: &PathBuf, writer: u64) -> Child {
    Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "buffer_concurrency::child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .env("BUF_DIR", dir)
        .env("BUF_LOG", log)
        .env("BUF_WRITER", writer.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn")
}

#[test]
fn writers_and_an_exporter_at_once() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path().join(".charm-tracing");
    drop(Buffer::open_dir(&dir, u64::MAX).expect("create"));
    let t0 = Instant::now();
    let writers: Vec<Child> = (0..4)
        .map(|w| spawn("writer", &dir, &t.path().join(format!("w{w}.log")), w))
        .collect();
    let rlog = t.path().join("r.log");
    let mut remover = spawn("remover", &dir, &rlog, 99);
    for mut c in writers {
        assert!(c.wait().expect("wait").success(), "a writer failed");
    }
    fs::write(dir.with_extension("stop"), b"").expect("stop");
    assert!(
        remover.wait().expect("wait").success(),
        "the remover failed"
    );
    eprintln!("4 writers + exporter: {:?}", t0.elapsed());

    let mut appended = BTreeSet::new();
    for w in 0..4 {
        let text = fs::read_to_string(t.path().join(format!("w{w}.log"))).expect("log");
        for l in text.lines() {
            let f: Vec<&str> = l.split(' ').collect();
            appended.insert((
                f[1].parse::<u64>().expect("w"),
                f[2].parse::<u64>().expect("n"),
            ));
        }
    }
    assert_eq!(appended.len() as u64, 4 * PER_WRITER);
    let via_incoming = (0..4)
        .map(|w| fs::read_to_string(t.path().join(format!("w{w}.log"))).expect("log"))
        .map(|t| t.lines().filter(|l| l.ends_with("incoming")).count())
        .sum::<usize>();
    eprintln!("{via_incoming} appends went through incoming/");
    let mut removed = BTreeSet::new();
    for l in fs::read_to_string(&rlog).expect("rlog").lines() {
        let f: Vec<&str> = l.split(' ').collect();
        let k = (
            f[1].parse::<u64>().expect("w"),
            f[2].parse::<u64>().expect("n"),
        );
        assert!(removed.insert(k), "{k:?} removed twice");
    }
    assert!(!removed.is_empty(), "the exporter removed something");

    let b = Buffer::open_dir(&dir, u64::MAX).expect("open");
    let chunks = b.chunks_oldest_first().expect("dump");
    let mut present = BTreeMap::new();
    for c in &chunks {
        assert!(
            present.insert(key(&c.data), c.priority).is_none(),
            "duplicate"
        );
    }
    for k in &removed {
        assert!(!present.contains_key(k), "{k:?} removed but still present");
    }
    let union: BTreeSet<_> = present
        .keys()
        .copied()
        .chain(removed.iter().copied())
        .collect();
    assert_eq!(
        union, appended,
        "every chunk is either present or was removed"
    );
    let s = b.stats().expect("stats");
    assert_eq!(s.chunks, present.len() as u64);
    let mut by_prio = BTreeMap::new();
    for p in present.values() {
        *by_prio.entry(*p).or_insert(0u64) += 1;
    }
    assert_eq!(s.by_priority, by_prio);
    assert_eq!(
        b.export_queue(usize::MAX).expect("queue").len(),
        present.len()
    );
    assert_eq!(
        fs::read_dir(dir.join("incoming"))
            .expect("incoming")
            .count(),
        0
    );
}
