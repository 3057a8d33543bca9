//! The trace buffer against hostile disk state: an index that lies, chunk files that are
//! symlinks, FIFOs or devices, oversized or unreadable files. Whatever is found, every operation
//! ends (each test runs under a generous hang guard), nothing outside the buffer is read, sent or
//! chmod'ed, and a bad entry is skipped and reported while the rest goes on.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use charmkit::trace::buffer::{Buffer, DIR_NAME, PRIORITY_DEFAULT, PRIORITY_OBSERVED};

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

/// A buffer outside `$JUJU_CHARM_DIR` holding one valid chunk; returns the chunk file's path.
fn outside_chunk(root: &Path, text: &str) -> std::path::PathBuf {
    let b = Buffer::open_dir(&root.join("elsewhere"), 1 << 20).unwrap();
    let id = b.append(text.as_bytes(), PRIORITY_OBSERVED).unwrap();
    root.join("elsewhere").join(format!("{id}.chunk"))
}

fn datas(chunks: &[charmkit::trace::buffer::Chunk]) -> Vec<String> {
    let mut v: Vec<String> = chunks
        .iter()
        .map(|c| String::from_utf8_lossy(&c.data).into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_chunk_that_is_a_symlink_is_never_followed() {
    let t = tempfile::tempdir().unwrap();
    let outside = outside_chunk(t.path(), "OUTSIDE-SECRET");
    let dir = t.path().join("charm").join(DIR_NAME);
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    b.append(b"ours", PRIORITY_DEFAULT).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("p50-000000000007.chunk")).unwrap();
    // A fresh index scan, as after a crash.
    fs::remove_file(dir.join("index.json")).unwrap();
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    assert_eq!(datas(&b.chunks_oldest_first().unwrap()), ["ours"]);
    assert_eq!(datas(&b.export_queue(10).unwrap()), ["ours"]);
    assert_eq!(b.stats().unwrap().chunks, 1);
    // Nothing deletes it either: it is not ours to delete.
    assert!(fs::symlink_metadata(dir.join("p50-000000000007.chunk")).is_ok());
    assert!(outside.exists());
}

#[test]
fn a_hard_link_to_a_chunk_elsewhere_is_skipped_and_the_rest_goes_on() {
    let t = tempfile::tempdir().unwrap();
    let outside = outside_chunk(t.path(), "OUTSIDE-SECRET");
    let dir = t.path().join("charm").join(DIR_NAME);
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    b.append(b"ours", PRIORITY_DEFAULT).unwrap();
    fs::hard_link(&outside, dir.join("p50-000000000000.chunk")).unwrap();
    fs::remove_file(dir.join("index.json")).unwrap();
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    assert_eq!(datas(&b.chunks_oldest_first().unwrap()), ["ours"]);
    assert_eq!(datas(&b.export_queue(10).unwrap()), ["ours"]);
    assert!(outside.exists());
}

#[test]
fn the_buffer_directory_as_a_symlink_is_refused_and_its_target_left_alone() {
    let t = tempfile::tempdir().unwrap();
    let target = t.path().join("shared");
    fs::create_dir(&target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
    let charm = t.path().join("charm");
    fs::create_dir(&charm).unwrap();
    std::os::unix::fs::symlink(&target, charm.join(DIR_NAME)).unwrap();
    let err = Buffer::open(&charm).unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
    let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755, "chmod'ed through the link");
    assert_eq!(
        fs::read_dir(&target).unwrap().count(),
        0,
        "wrote through the link"
    );
}

#[test]
fn inner_entries_that_are_symlinks_are_replaced_not_followed() {
    let t = tempfile::tempdir().unwrap();
    let target = t.path().join("victim");
    fs::create_dir(&target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(t.path().join("victim-file"), "keep me").unwrap();
    let dir = t.path().join("charm").join(DIR_NAME);
    fs::create_dir_all(&dir).unwrap();
    for (name, to) in [
        ("tmp", &target),
        ("incoming", &target),
        ("lock", &t.path().join("victim-file")),
        ("index.json", &t.path().join("victim-file")),
        ("destination.json", &t.path().join("victim-file")),
    ] {
        std::os::unix::fs::symlink(to, dir.join(name)).unwrap();
    }
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    b.append(b"ours", PRIORITY_OBSERVED).unwrap();
    assert_eq!(b.destination().unwrap(), None);
    assert_eq!(datas(&b.export_queue(10).unwrap()), ["ours"]);
    let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755);
    assert_eq!(fs::read_dir(&target).unwrap().count(), 0);
    assert_eq!(
        fs::read_to_string(t.path().join("victim-file")).unwrap(),
        "keep me"
    );
}

#[test]
fn special_files_named_like_chunks_never_block_or_exhaust_memory() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join(DIR_NAME);
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    b.append(b"ours", PRIORITY_DEFAULT).unwrap();
    // A FIFO: opening it for reading would block until a writer comes.
    nix::unistd::mkfifo(
        &dir.join("p10-000000000005.chunk"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    nix::unistd::mkfifo(&dir.join("index.json.fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    // /dev/zero: reading it never ends.
    std::os::unix::fs::symlink("/dev/zero", dir.join("p50-000000000003.chunk")).unwrap();
    // A real device node where we may make one (root).
    let dev = nix::sys::stat::makedev(1, 5);
    let _ = nix::sys::stat::mknod(
        &dir.join("p50-000000000009.chunk"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::S_IRWXU,
        dev,
    );
    // A FIFO as the index and as the destination.
    fs::remove_file(dir.join("index.json")).unwrap();
    nix::unistd::mkfifo(&dir.join("index.json"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    nix::unistd::mkfifo(&dir.join("destination.json"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let d = dir.clone();
    within(GUARD, "reading a buffer with special files", move || {
        let b = Buffer::open_dir(&d, 1 << 20).unwrap();
        assert_eq!(datas(&b.chunks_oldest_first().unwrap()), ["ours"]);
        assert_eq!(datas(&b.export_queue(10).unwrap()), ["ours"]);
        assert_eq!(b.destination().unwrap(), None);
        assert_eq!(b.stats().unwrap().chunks, 1);
        b.append(b"more", PRIORITY_OBSERVED).unwrap();
        assert_eq!(b.stats().unwrap().chunks, 2);
    });
}

#[test]
fn an_index_that_is_dev_zero_is_not_read_forever() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join(DIR_NAME);
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    b.append(b"ours", PRIORITY_DEFAULT).unwrap();
    fs::remove_file(dir.join("index.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("index.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("last-export.json")).unwrap();
    let d = dir.clone();
    within(GUARD, "loading with index.json -> /dev/zero", move || {
        let b = Buffer::open_dir(&d, 1 << 20).unwrap();
        assert_eq!(b.stats().unwrap().chunks, 1);
        assert_eq!(b.last_export().unwrap(), None);
    });
}

/// A sparse 1 GiB file with a chunk's name (`p10-000000000001`): absurd for a chunk.
fn plant_sparse_chunk(dir: &Path) {
    let f = fs::File::create(dir.join("p10-000000000001.chunk")).unwrap();
    f.set_len(1 << 30).unwrap();
}

#[test]
fn an_oversized_chunk_file_is_not_read_whole() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join(DIR_NAME);
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    b.append(b"ours", PRIORITY_DEFAULT).unwrap();
    plant_sparse_chunk(&dir);
    fs::remove_file(dir.join("index.json")).unwrap();
    let d = dir.clone();
    within(GUARD, "reading around a 1 GiB chunk", move || {
        let b = Buffer::open_dir(&d, 1 << 20).unwrap();
        assert_eq!(datas(&b.chunks_oldest_first().unwrap()), ["ours"]);
        assert_eq!(datas(&b.export_queue(10).unwrap()), ["ours"]);
    });
}

#[test]
fn an_oversized_file_never_makes_eviction_throw_real_data_away() {
    // Found by the fault campaign: an index rebuild counted a planted sparse 1 GiB "chunk" against
    // the cap, and eviction deleted the real chunks to make room for it.
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join(DIR_NAME);
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    b.append(b"ours", PRIORITY_DEFAULT).unwrap();
    plant_sparse_chunk(&dir);
    fs::write(dir.join("index.json"), "garbage").unwrap();
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    b.append(b"more", PRIORITY_DEFAULT).unwrap();
    assert_eq!(datas(&b.export_queue(10).unwrap()), ["more", "ours"]);
    assert!(!dir.join("p10-000000000001.chunk").exists());
}
