//! The trace buffer against hostile disk state: an index that lies, chunk files that are
//! symlinks, FIFOs or devices, oversized or unreadable files. Whatever is found, every operation
//! ends (each test runs under a generous hang guard), nothing outside the buffer is read, sent or
//! chmod'ed, and a bad entry is skipped and reported while the rest goes on.

use std::fs;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use charmkit::tracing::buffer::{Buffer, DIR_NAME, PRIORITY_DEFAULT, PRIORITY_OBSERVED};

/// Runs `f` on another thread; fails the test if it has not finished within `limit` (a hang
/// guard, far above the expected time: the point is that it ends at all).
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

const GUARD: Duration = Duration::from_secs(20);

fn write_index(dir: &Path, json: &str) {
    fs::write(dir.join("index.json"), json).unwrap();
}

#[test]
fn an_index_with_a_huge_next_sequence_neither_hangs_export_nor_eviction() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join(DIR_NAME);
    let b = Buffer::open_dir(&dir, 64 * 1024).unwrap();
    for i in 0..3 {
        b.append(format!("chunk {i}").as_bytes(), PRIORITY_DEFAULT)
            .unwrap();
    }
    // Passes the cheap checks (the head exists, `next` does not) but lies about the rest.
    write_index(
        &dir,
        r#"{"version":1,"dirty":false,"prios":{"10":{"head":0,"next":1000000000000,"count":5,"bytes":20480}},"aliases":[]}"#,
    );
    let d = dir.clone();
    let queue = within(GUARD, "export_queue", move || {
        Buffer::open_dir(&d, 64 * 1024)
            .unwrap()
            .export_queue(32)
            .unwrap()
    });
    let mut got: Vec<String> = queue
        .iter()
        .map(|c| String::from_utf8_lossy(&c.data).into_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["chunk 0", "chunk 1", "chunk 2"]);

    // Eviction with a small cap walks the same lane, under the lock, in the hook.
    write_index(
        &dir,
        r#"{"version":1,"dirty":false,"prios":{"10":{"head":0,"next":1000000000000,"count":5,"bytes":20480}},"aliases":[]}"#,
    );
    let d = dir.clone();
    within(GUARD, "append with eviction", move || {
        let b = Buffer::open_dir(&d, 8 * 1024).unwrap();
        for i in 0..4 {
            b.append(&vec![b'x'; 5000 + i], PRIORITY_OBSERVED).unwrap();
        }
        let s = b.stats().unwrap();
        assert!(s.bytes <= 8 * 1024, "{s:?}");
    });
    // Stats agree with the directory again.
    let b = Buffer::open_dir(&dir, 8 * 1024).unwrap();
    let files = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".chunk")
        })
        .count() as u64;
    assert_eq!(b.stats().unwrap().chunks, files);
    assert_eq!(b.export_queue(100).unwrap().len() as u64, files);
}

#[test]
fn an_index_whose_head_lies_far_behind_is_walked_in_bounded_time() {
    // A valid index over a lane with a huge hole: head 0, the next chunk a billion sequence
    // numbers later (as a planted or restored file could make it).
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join(DIR_NAME);
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    b.append(b"first", PRIORITY_DEFAULT).unwrap();
    let far = fs::read(dir.join("p10-000000000000.chunk")).unwrap();
    fs::write(dir.join("p10-001000000000.chunk"), far).unwrap();
    write_index(
        &dir,
        r#"{"version":1,"dirty":false,"prios":{"10":{"head":0,"next":1000000001,"count":2,"bytes":8192}},"aliases":[]}"#,
    );
    let d = dir.clone();
    within(GUARD, "remove head and export", move || {
        let b = Buffer::open_dir(&d, 1 << 20).unwrap();
        let q = b.export_queue(10).unwrap();
        assert_eq!(q.len(), 2);
        b.remove(&q[0].id).unwrap();
        let q = b.export_queue(10).unwrap();
        assert_eq!(q.len(), 1);
        b.remove(&q[0].id).unwrap();
        assert_eq!(b.stats().unwrap().chunks, 0);
    });
}
