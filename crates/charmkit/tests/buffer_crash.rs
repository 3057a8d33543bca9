//! Crash safety of the trace buffer: a writer process is SIGKILLed at many different instants;
//! after each kill the buffer must open, every chunk must read back whole, and every append (and
//! promotion) the writer reported complete must be there.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use charmkit::trace::buffer::{Buffer, ChunkId, PRIORITY_DEFAULT, PRIORITY_OBSERVED};

const CHILD_ENV: &str = "CHARMKIT_BUFFER_CRASH_CHILD";

/// FNV-1a, to make each payload self-checking.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn payload(writer: u32, n: u64) -> Vec<u8> {
    let len = 300 + (n as usize * 977 + writer as usize * 131) % 6000;
    let pad: String = (0..len)
        .map(|i| char::from(b'a' + ((i as u64 + n) % 26) as u8))
        .collect();
    let sum = fnv(format!("{writer}:{n}:{pad}").as_bytes());
    serde_json::to_vec(&serde_json::json!({"w": writer, "n": n, "pad": pad, "sum": sum}))
        .expect("json")
}

/// Parses and checks a payload; returns (writer, n).
fn check(data: &[u8]) -> (u32, u64) {
    let v: serde_json::Value = serde_json::from_slice(data).expect("chunk is JSON");
    let w = v["w"].as_u64().expect("w") as u32;
    let n = v["n"].as_u64().expect("n");
    let pad = v["pad"].as_str().expect("pad");
    let sum = v["sum"].as_u64().expect("sum");
    assert_eq!(
        sum,
        fnv(format!("{w}:{n}:{pad}").as_bytes()),
        "checksum of {w}:{n}"
    );
    (w, n)
}

fn log_line(log: &mut fs::File, line: String) {
    // One write(2) per line: a kill leaves at most an unterminated last line.
    log.write_all(line.as_bytes()).expect("log");
}

/// Child: append forever, promoting every fourth default-priority chunk; report each completed
/// operation in the log.
fn writer() {
    let dir = PathBuf::from(std::env::var("BUF_DIR").expect("BUF_DIR"));
    let mut log = OpenOptions::new()
        .append(true)
        .create(true)
        .open(std::env::var("BUF_LOG").expect("BUF_LOG"))
        .expect("log");
    let b = Buffer::open_dir(&dir, u64::MAX).expect("open");
    let w = std::process::id();
    for n in 0..1_000_000u64 {
        let prio = if n % 3 == 0 {
            PRIORITY_OBSERVED
        } else {
            PRIORITY_DEFAULT
        };
        let id = b.append(&payload(w, n), prio).expect("append");
        log_line(&mut log, format!("A {w} {n} {id}\n"));
        if n % 4 == 1 {
            let new = b.promote(&[id], PRIORITY_OBSERVED).expect("promote");
            if let Some(new) = new.first() {
                log_line(&mut log, format!("P {w} {n} {new}\n"));
            }
        }
    }
}

#[test]
fn child_entry() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        match mode.as_str() {
            "writer" => writer(),
            other => panic!("unknown child mode {other}"),
        }
        std::process::exit(0);
    }
}

fn chunk_files(dir: &Path) -> usize {
    [dir.to_path_buf(), dir.join("incoming")]
        .iter()
        .flat_map(|d| fs::read_dir(d).expect("read_dir"))
        .filter(|e| {
            e.as_ref()
                .map(|e| e.file_name().to_string_lossy().ends_with(".chunk"))
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn sigkill_at_any_instant_loses_nothing_reported() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path().join(".charm-tracing");
    let log = t.path().join("log");
    let mut reported: BTreeMap<(u32, u64), bool> = BTreeMap::new(); // → promoted?
    let kills = 40;
    for k in 0..kills {
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "buffer_crash::child_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "writer")
            .env("BUF_DIR", &dir)
            .env("BUF_LOG", &log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // Varying delays: some kills during start-up, most mid-stream.
        let delay_us = match k % 4 {
            0 => (k * 397) % 3_000,
            _ => 5_000 + (k * 7_919) % 60_000,
        };
        std::thread::sleep(Duration::from_micros(delay_us as u64));
        child.kill().expect("kill"); // SIGKILL
        child.wait().expect("wait");

        let text = fs::read_to_string(&log).unwrap_or_default();
        for line in text.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() != 4 || ChunkId::parse(f[3]).is_none() {
                continue; // a line cut by the kill
            }
            let key = (f[1].parse().expect("w"), f[2].parse().expect("n"));
            match f[0] {
                "A" => {
                    reported.entry(key).or_insert(false);
                }
                "P" => {
                    reported.insert(key, true);
                }
                _ => {}
            }
        }

        let b = Buffer::open_dir(&dir, u64::MAX).expect("reopen after kill");
        assert_eq!(
            fs::read_dir(dir.join("tmp")).expect("tmp").count(),
            0,
            "temp files of the dead writer are cleaned on open"
        );
        let chunks = b.chunks_oldest_first().expect("dump");
        assert_eq!(
            chunks.len(),
            chunk_files(&dir),
            "every chunk file reads back whole"
        );
        let mut found: BTreeMap<(u32, u64), u8> = BTreeMap::new();
        for c in &chunks {
            let key = check(&c.data);
            assert!(
                found.insert(key, c.priority).is_none(),
                "duplicate chunk {key:?}"
            );
        }
        for (key, promoted) in &reported {
            let prio = found.get(key);
            assert!(prio.is_some(), "kill {k}: reported chunk {key:?} lost");
            if *promoted {
                assert_eq!(
                    prio,
                    Some(&PRIORITY_OBSERVED),
                    "kill {k}: promotion of {key:?} lost"
                );
            }
        }
        let s = b.stats().expect("stats");
        assert_eq!(
            s.chunks,
            found.len() as u64,
            "kill {k}: index agrees with the files"
        );
        let q = b.export_queue(usize::MAX).expect("queue");
        assert_eq!(q.len(), found.len());
        let keys: BTreeSet<_> = q.iter().map(|c| check(&c.data)).collect();
        assert_eq!(keys.len(), found.len());
    }
    assert!(
        reported.len() > kills,
        "the writers made progress: {}",
        reported.len()
    );
    eprintln!(
        "{kills} kills, {} appends reported complete",
        reported.len()
    );
}
