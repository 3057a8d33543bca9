use super::*;
use std::collections::VecDeque;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

const K4: u64 = 4096;

fn buf(limit: u64) -> (tempfile::TempDir, Buffer) {
    let t = tempfile::tempdir().expect("tempdir");
    let b = Buffer::open_dir(&t.path().join(DIR_NAME), limit).expect("open");
    (t, b)
}

fn ids(chunks: &[Chunk]) -> Vec<String> {
    chunks.iter().map(|c| c.id.to_string()).collect()
}

fn datas(chunks: &[Chunk]) -> Vec<Vec<u8>> {
    chunks.iter().map(|c| c.data.clone()).collect()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).expect("metadata").mode() & 0o777
}

fn chunk_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| parse_chunk_name(n).is_some())
        .collect();
    v.sort();
    v
}

#[test]
fn crc32_known_vector() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(chunk_header(b"abc").len(), HEADER_LEN);
}

#[test]
fn append_and_read_back() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    let a = b.append(br#"{"a":1}"#, PRIORITY_DEFAULT).unwrap();
    let e = b.append(b"", PRIORITY_DEFAULT).unwrap();
    let c = b.append(&[0u8, 255, 10, 13], PRIORITY_OBSERVED).unwrap();
    assert_eq!(a.to_string(), "p10-000000000000");
    assert_eq!(e.to_string(), "p10-000000000001");
    assert_eq!(c.to_string(), "p50-000000000000");
    let q = b.export_queue(10).unwrap();
    assert_eq!(ids(&q), vec![c.to_string(), a.to_string(), e.to_string()]);
    assert_eq!(
        datas(&q),
        vec![vec![0u8, 255, 10, 13], br#"{"a":1}"#.to_vec(), vec![]]
    );
    assert_eq!(q[0].priority, PRIORITY_OBSERVED);
    let all = b.chunks_oldest_first().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].id, a);
    // A second handle on the same directory sees the same data.
    let b2 = Buffer::open_dir(b.dir(), DEFAULT_LIMIT_BYTES).unwrap();
    assert_eq!(ids(&b2.export_queue(10).unwrap()), ids(&q));
}

#[test]
fn chunk_id_parse_and_display() {
    for s in ["p10-000000000123", "in-10-00000000000000000001-42-7"] {
        assert_eq!(ChunkId::parse(s).map(|i| i.to_string()).as_deref(), Some(s));
    }
    for s in [
        "p10-123",
        "p999-000000000001",
        "x",
        "in-10-",
        "p+1-000000000001",
        "",
    ] {
        assert!(ChunkId::parse(s).is_none(), "{s}");
    }
}

#[test]
fn export_queue_is_priority_then_age_and_respects_max() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    let mut expect50 = vec![];
    let mut expect10 = vec![];
    for i in 0..8u8 {
        let p = if i % 3 == 0 {
            PRIORITY_OBSERVED
        } else {
            PRIORITY_DEFAULT
        };
        let id = b.append(&[i], p).unwrap();
        if p == PRIORITY_OBSERVED {
            expect50.push(id.to_string());
        } else {
            expect10.push(id.to_string());
        }
    }
    let all: Vec<String> = expect50.iter().chain(&expect10).cloned().collect();
    assert_eq!(ids(&b.export_queue(100).unwrap()), all);
    assert_eq!(ids(&b.export_queue(4).unwrap()), all[..4].to_vec());
    assert!(b.export_queue(0).unwrap().is_empty());
    // Removing the oldest observed chunk exposes the next one.
    b.remove(&ChunkId::parse(&all[0]).unwrap()).unwrap();
    assert_eq!(ids(&b.export_queue(1).unwrap()), vec![all[1].clone()]);
    // Removing is idempotent.
    b.remove(&ChunkId::parse(&all[0]).unwrap()).unwrap();
    assert_eq!(b.stats().unwrap().chunks, 7);
}

#[test]
fn rounding_to_4k() {
    assert_eq!(charged_bytes(0), K4);
    assert_eq!(charged_bytes(1), K4);
    assert_eq!(charged_bytes(4096), K4);
    assert_eq!(charged_bytes(4097), 2 * K4);
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    b.append(&[1], 10).unwrap();
    b.append(&[0; 4096], 10).unwrap();
    b.append(&[0; 4097], 50).unwrap();
    let s = b.stats().unwrap();
    assert_eq!(s.bytes, 4 * K4);
    assert_eq!(s.chunks, 3);
}

#[test]
fn eviction_lowest_priority_then_oldest_and_newest_always_fits() {
    let (_t, b) = buf(5 * K4);
    let a = b.append(b"a50", 50).unwrap();
    let bb = b.append(b"b10", 10).unwrap();
    let c = b.append(b"c10", 10).unwrap();
    let d = b.append(b"d50", 50).unwrap();
    let e = b.append(b"e10", 10).unwrap();
    assert_eq!(b.stats().unwrap().chunks, 5);
    let f = b.append(b"f50", 50).unwrap(); // over by one: oldest p10 goes
    let q = ids(&b.export_queue(100).unwrap());
    assert!(!q.contains(&bb.to_string()));
    assert_eq!(q.len(), 5);
    let g = b.append(b"g10", 10).unwrap(); // next oldest p10
    let q = ids(&b.export_queue(100).unwrap());
    assert!(!q.contains(&c.to_string()));
    for id in [&a, &d, &e, &f, &g] {
        assert!(q.contains(&id.to_string()), "{id} missing");
    }
    // A chunk bigger than the cap evicts everything else but is kept itself.
    let big = b.append(&vec![7u8; 6 * K4 as usize], 10).unwrap();
    let q = b.export_queue(100).unwrap();
    assert_eq!(ids(&q), vec![big.to_string()]);
    let s = b.stats().unwrap();
    assert_eq!((s.chunks, s.bytes), (1, 6 * K4));
    // ...until the next append.
    let h = b.append(b"h", 10).unwrap();
    assert_eq!(ids(&b.export_queue(100).unwrap()), vec![h.to_string()]);
    // p50 data goes only when no p10 (other than the new chunk) is left.
    let (_t2, b) = buf(3 * K4);
    let x = b.append(b"x", 50).unwrap();
    let y = b.append(b"y", 50).unwrap();
    let z = b.append(b"z", 10).unwrap();
    let w = b.append(b"w", 10).unwrap(); // evicts z (p10, oldest)
    assert_eq!(
        ids(&b.export_queue(9).unwrap()),
        vec![x.to_string(), y.to_string(), w.to_string()]
    );
    let v = b.append(b"v", 10).unwrap(); // evicts w
    assert_eq!(
        ids(&b.export_queue(9).unwrap()),
        vec![x.to_string(), y.to_string(), v.to_string()]
    );
    let u = b.append(&vec![1u8; 2 * K4 as usize], 10).unwrap(); // evicts v (p10) then x (p50)
    assert_eq!(
        ids(&b.export_queue(9).unwrap()),
        vec![y.to_string(), u.to_string()]
    );
    let _ = z;
}

#[test]
fn promote_moves_earlier_data_and_skips_gone_chunks() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    let a = b.append(b"a", 10).unwrap();
    let x = b.append(b"x", 10).unwrap();
    let c = b.append(b"c", 10).unwrap();
    let o = b.append(b"o", 50).unwrap();
    let gone = b.append(b"gone", 10).unwrap();
    b.remove(&gone).unwrap();
    let new = b
        .promote(&[a.clone(), c.clone(), gone.clone(), o.clone()], 50)
        .unwrap();
    assert_eq!(new.len(), 3, "removed chunk skipped: {new:?}");
    assert_eq!(new[2], o, "already at 50 keeps its id");
    assert!(new[0].to_string().starts_with("p50-"));
    let q = b.export_queue(10).unwrap();
    assert_eq!(
        ids(&q),
        vec![
            o.to_string(),
            new[0].to_string(),
            new[1].to_string(),
            x.to_string()
        ]
    );
    assert_eq!(
        datas(&q),
        vec![b"o".to_vec(), b"a".to_vec(), b"c".to_vec(), b"x".to_vec()]
    );
    let s = b.stats().unwrap();
    assert_eq!(s.by_priority, BTreeMap::from([(10, 1), (50, 3)]));
    assert_eq!(s.bytes, 4 * K4);
    // The old ids are gone: promoting or removing them again does nothing.
    assert!(b.promote(std::slice::from_ref(&a), 50).unwrap().is_empty());
    b.remove(&a).unwrap();
    assert_eq!(b.stats().unwrap().chunks, 4);
    // Data appended after promotion at 50 goes after the promoted chunks.
    let later = b.append(b"later", 50).unwrap();
    assert_eq!(b.export_queue(10).unwrap()[3].id, later);
    // A non-head promotion leaves no dirty index behind.
    assert!(!b.read_index().unwrap().dirty);
}

#[test]
fn stats_by_priority() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    assert_eq!(
        b.stats().unwrap(),
        Stats {
            dir: b.dir().to_path_buf(),
            chunks: 0,
            bytes: 0,
            limit_bytes: DEFAULT_LIMIT_BYTES,
            by_priority: BTreeMap::new()
        }
    );
    for p in [10, 10, 50, 10, 30] {
        b.append(b"{}", p).unwrap();
    }
    let s = b.stats().unwrap();
    assert_eq!(s.by_priority, BTreeMap::from([(10, 3), (30, 1), (50, 1)]));
    assert_eq!((s.chunks, s.bytes), (5, 5 * K4));
}

#[test]
fn destination_and_outcome_round_trip() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    assert_eq!(b.destination().unwrap(), None);
    assert_eq!(b.last_export().unwrap(), None);
    let d = Destination {
        url: "https://tempo:4318/v1/traces".into(),
        ca: Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into()),
    };
    b.set_destination(Some(&d)).unwrap();
    assert_eq!(b.destination().unwrap(), Some(d.clone()));
    assert_eq!(mode(&b.dir().join(DESTINATION_FILE)), 0o600);
    let d2 = Destination {
        url: "http://x".into(),
        ca: None,
    };
    b.set_destination(Some(&d2)).unwrap();
    assert_eq!(b.destination().unwrap(), Some(d2));
    b.set_destination(None).unwrap();
    b.set_destination(None).unwrap();
    assert_eq!(b.destination().unwrap(), None);
    let o = ExportOutcome {
        at_unix: 1_700_000_000,
        url: "http://x".into(),
        sent: 3,
        dropped: 1,
        remaining: 2,
        error: Some("timeout".into()),
        skipped: 0,
    };
    b.record_export(&o).unwrap();
    assert_eq!(b.last_export().unwrap(), Some(o));
    assert_eq!(mode(&b.dir().join(LAST_EXPORT_FILE)), 0o600);
    // Garbage in these files reads as None, not an error or a panic.
    fs::write(b.dir().join(LAST_EXPORT_FILE), b"{not json").unwrap();
    assert_eq!(b.last_export().unwrap(), None);
}

#[test]
fn permissions_owner_only() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join(DIR_NAME);
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let b = Buffer::open_dir(&dir, DEFAULT_LIMIT_BYTES).unwrap();
    b.append(b"x", 10).unwrap();
    let _l = b.try_lock_exporter().unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(TMP_DIR)), 0o700);
    assert_eq!(mode(&dir.join(INCOMING_DIR)), 0o700);
    for f in [
        "p10-000000000000.chunk",
        INDEX_FILE,
        LOCK_FILE,
        EXPORTER_LOCK_FILE,
    ] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
}

#[test]
fn open_uses_charm_dir() {
    let t = tempfile::tempdir().unwrap();
    let b = Buffer::open(t.path()).unwrap();
    assert_eq!(b.dir(), t.path().join(DIR_NAME));
    assert!(t.path().join(DIR_NAME).is_dir());
}

#[test]
fn limit_from_env_value_parses() {
    assert_eq!(limit_from_env_value(None), DEFAULT_LIMIT_BYTES);
    assert_eq!(limit_from_env_value(Some("1048576")), 1 << 20);
    assert_eq!(limit_from_env_value(Some(" 8192 ")), 8192);
    assert_eq!(limit_from_env_value(Some("2MiB")), 2 << 20);
    assert_eq!(limit_from_env_value(Some("64K")), 64 << 10);
    assert_eq!(limit_from_env_value(Some("0")), 0);
    for bad in [
        "",
        "lots",
        "-5",
        "1.5M",
        "99999999999999999999",
        "18446744073709551615G",
    ] {
        assert_eq!(
            limit_from_env_value(Some(bad)),
            DEFAULT_LIMIT_BYTES,
            "{bad}"
        );
    }
}

#[test]
fn corrupt_and_foreign_files_are_skipped() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    let good = b.append(b"good", 10).unwrap();
    let bad = b.append(b"will be altered", 10).unwrap();
    let good2 = b.append(b"good2", 50).unwrap();
    let dir = b.dir().to_path_buf();
    // Flip a byte of a stored chunk (same length: only the checksum can tell).
    let p = dir.join(format!("{bad}{CHUNK_EXT}"));
    let mut bytes = fs::read(&p).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    fs::write(&p, &bytes).unwrap();
    fs::write(dir.join("notes.txt"), b"hello").unwrap();
    fs::write(dir.join("p10-abc.chunk"), b"x").unwrap();
    fs::create_dir(dir.join("p10-000000000099.chunk")).unwrap();
    fs::write(dir.join("p50-000000000077.chunk"), b"short").unwrap(); // truncated
    fs::write(dir.join(INCOMING_DIR).join("README"), b"x").unwrap();
    // Dump skips what it cannot read.
    let dump = b.chunks_oldest_first().unwrap();
    assert_eq!(ids(&dump), vec![good.to_string(), good2.to_string()]);
    // Force a rebuild (which also meets the foreign files) and read the queue.
    fs::remove_file(dir.join(INDEX_FILE)).unwrap();
    let q = b.export_queue(10).unwrap();
    assert_eq!(ids(&q), vec![good2.to_string(), good.to_string()]);
    // The corrupt chunks were deleted; foreign files stay.
    assert!(!p.exists());
    assert!(!dir.join("p50-000000000077.chunk").exists());
    assert!(dir.join("notes.txt").exists());
    assert!(dir.join("p10-abc.chunk").exists());
    let s = b.stats().unwrap();
    assert_eq!(s.chunks, 2);
    // Appends still work and do not reuse a sequence number.
    let n = b.append(b"new", 50).unwrap();
    assert_ne!(n, good2);
    assert_eq!(b.export_queue(10).unwrap().len(), 3);
}

#[test]
fn garbage_or_missing_index_is_rebuilt() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    let mut all = vec![];
    for i in 0..6u8 {
        all.push(b.append(&[i], if i % 2 == 0 { 10 } else { 50 }).unwrap());
    }
    b.remove(&all[2]).unwrap(); // a hole in the middle of priority 10
    let before = b.stats().unwrap();
    let q_before = ids(&b.export_queue(100).unwrap());
    let idx = b.dir().join(INDEX_FILE);
    for garbage in [
        &b"\x00\xff garbage"[..],
        b"",
        b"{\"version\":1,\"prios\":{\"10\":{\"head\":0,\"next\":1,\"count\":99,\"bytes\":1}}}",
        b"{\"version\":1,\"prios\":{}}",
        b"{\"version\":7,\"prios\":{}}",
        b"{\"version\":1,\"dirty\":true,\"prios\":{\"10\":{\"head\":0,\"next\":3,\"count\":2,\"bytes\":8192},\"50\":{\"head\":0,\"next\":3,\"count\":3,\"bytes\":12288}}}",
    ] {
        fs::write(&idx, garbage).unwrap();
        assert_eq!(b.stats().unwrap(), before, "{:?}", String::from_utf8_lossy(garbage));
        assert_eq!(ids(&b.export_queue(100).unwrap()), q_before);
    }
    fs::remove_file(&idx).unwrap();
    assert_eq!(b.stats().unwrap(), before);
    assert!(idx.exists(), "the rebuilt index is written back");
    // A stale index whose `next` is already taken: the append must not overwrite.
    let stale = b.read_index().unwrap();
    let n1 = b.append(b"n1", 10).unwrap();
    b.write_index(&stale).unwrap();
    let n2 = b.append(b"n2", 10).unwrap();
    assert_ne!(n1, n2);
    let q = b.export_queue(100).unwrap();
    let by_id: BTreeMap<String, Vec<u8>> = q
        .iter()
        .map(|c| (c.id.to_string(), c.data.clone()))
        .collect();
    assert_eq!(by_id.get(n1.as_str()).map(Vec::as_slice), Some(&b"n1"[..]));
    assert_eq!(by_id.get(n2.as_str()).map(Vec::as_slice), Some(&b"n2"[..]));
    assert_eq!(b.stats().unwrap().chunks, before.chunks + 2);
}

#[test]
fn rebuild_happens_only_when_needed() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    b.append(b"a", 10).unwrap();
    let idx = b.read_index().unwrap();
    assert!(!idx.dirty);
    // An index edited to wrong-but-plausible numbers that pass the probes is trusted (a cache):
    // appends do not scan.
    let mut fake = idx.clone();
    if let Some(l) = fake.prios.get_mut(&10) {
        l.bytes = 12345 * K4;
    }
    b.write_index(&fake).unwrap();
    assert_eq!(b.stats().unwrap().bytes, 12345 * K4);
}

#[test]
fn stale_temp_files_are_cleaned() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let tmp = b.dir().join(TMP_DIR);
    let dead_file = tmp.join(format!("{:020}-{dead}-0.tmp", 1));
    let live_file = tmp.join(format!("{:020}-{}-0.tmp", 1, std::process::id()));
    fs::write(&dead_file, b"half").unwrap();
    fs::write(&live_file, b"half").unwrap();
    let b2 = Buffer::open_dir(b.dir(), DEFAULT_LIMIT_BYTES).unwrap();
    assert!(!dead_file.exists());
    assert!(live_file.exists());
    // Temp files are never read as chunks.
    assert!(b2.chunks_oldest_first().unwrap().is_empty());
    assert_eq!(b2.stats().unwrap().chunks, 0);
}

#[test]
fn enospc_leaves_no_partial_chunk() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    // Observed data: unobserved data that does not fit never displaces it.
    let a = b.append(b"before", 50).unwrap();
    let before = b.stats().unwrap();
    for n in [0, 10, HEADER_LEN, HEADER_LEN + 3] {
        b.set_fault(Some(Fault::EnospcAfter(n)));
        let err = b.append(b"this will not fit", 10).unwrap_err();
        assert!(NoRoom::of(&err).is_some(), "{err}");
    }
    b.set_fault(None);
    assert_eq!(fs::read_dir(b.dir().join(TMP_DIR)).unwrap().count(), 0);
    assert_eq!(chunk_files(b.dir()), vec![format!("{a}{CHUNK_EXT}")]);
    assert_eq!(b.stats().unwrap(), before);
    let c = b.append(b"after", 10).unwrap();
    assert_eq!(
        datas(&b.export_queue(10).unwrap()),
        vec![b"before".to_vec(), b"after".to_vec()]
    );
    assert_eq!(c.to_string(), "p10-000000000000");
}

#[test]
fn enospc_evicts_older_data_of_the_same_rank_and_retries() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    b.append(b"old", 10).unwrap();
    // The first write fails for lack of space; eviction of the older chunk makes room.
    b.set_fault(Some(Fault::EnospcAfter(3)));
    let err = b.append(b"new", 10).unwrap_err();
    // (The fault keeps failing every write, so the retry fails too: nothing stored, no temp.)
    assert!(NoRoom::of(&err).is_some(), "{err}");
    b.set_fault(None);
    assert_eq!(b.stats().unwrap().chunks, 0, "the older chunk was evicted");
    assert_eq!(fs::read_dir(b.dir().join(TMP_DIR)).unwrap().count(), 0);
}

#[test]
fn the_buffer_keeps_a_floor_of_free_space_on_a_small_disk() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    // The buffer alone on a 1 MiB filesystem: it keeps 10 % (at least 64 KiB) free.
    let disk = 1024 * 1024;
    let floor = free_floor(disk);
    assert_eq!(floor, 104_857);
    b.set_fault(Some(Fault::DiskBytes(disk)));
    let used = |b: &Buffer| disk - b.space().unwrap().avail;
    let chunk = vec![b'x'; 20_000];
    for _ in 0..100 {
        b.append(&chunk, PRIORITY_DEFAULT).unwrap();
        assert!(disk - used(&b) >= floor, "{} free", disk - used(&b));
    }
    let tens = b.stats().unwrap().chunks;
    assert!(tens > 30, "{tens}: it still fills what it may");
    // Observed data displaces unobserved data...
    for _ in 0..100 {
        b.append(&chunk, PRIORITY_OBSERVED).unwrap();
        assert!(disk - used(&b) >= floor);
    }
    assert_eq!(b.stats().unwrap().by_priority.get(&PRIORITY_DEFAULT), None);
    // ...never the other way round: then nothing is stored, with one warning's worth of error.
    let err = b.append(&chunk, PRIORITY_DEFAULT).unwrap_err();
    let no_room = NoRoom::of(&err).expect("NoRoom");
    assert!(no_room.first);
    assert!(
        no_room.floor == floor && no_room.free < floor + 24_576,
        "{no_room:?}"
    );
    let err = b.append(&chunk, PRIORITY_DEFAULT).unwrap_err();
    assert!(!NoRoom::of(&err).unwrap().first, "said once is enough");
    assert!(err.to_string().contains("not buffering"), "{err}");
    // Stored again once there is room: the next refusal is worth a warning again.
    b.set_fault(Some(Fault::DiskBytes(2 * disk)));
    b.append(b"small", PRIORITY_DEFAULT).unwrap();
    b.set_fault(Some(Fault::DiskBytes(disk / 2)));
    let err = b.append(&chunk, PRIORITY_DEFAULT).unwrap_err();
    assert!(NoRoom::of(&err).unwrap().first);
}

#[test]
fn busy_lock_stores_into_incoming_then_adopts() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    let b = b.with_lock_timeout(Duration::from_millis(50));
    let first = b.append(b"first", 10).unwrap();
    let held = Flock::lock(
        open_private(&b.dir().join(LOCK_FILE)).unwrap(),
        FlockArg::LockExclusiveNonblock,
    )
    .map_err(|(_, e)| e)
    .unwrap();
    let t0 = Instant::now();
    let id = b.append(b"while locked", 10).unwrap();
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert!(id.as_str().starts_with("in-10-"), "{id}");
    assert_eq!(fs::read_dir(b.dir().join(INCOMING_DIR)).unwrap().count(), 1);
    // Other operations time out rather than hang; the dump still sees the chunk.
    assert_eq!(
        b.remove(&first).unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
    assert_eq!(
        datas(&b.chunks_oldest_first().unwrap()),
        vec![b"first".to_vec(), b"while locked".to_vec()]
    );
    drop(held);
    // The next lock holder adopts it; the incoming id still works.
    let s = b.stats().unwrap();
    assert_eq!(s.chunks, 2);
    assert_eq!(fs::read_dir(b.dir().join(INCOMING_DIR)).unwrap().count(), 0);
    let new = b.promote(std::slice::from_ref(&id), 50).unwrap();
    assert_eq!(new.len(), 1);
    let q = b.export_queue(10).unwrap();
    assert_eq!(q[0].id, new[0]);
    assert_eq!(q[0].data, b"while locked");
    b.remove(&new[0]).unwrap();
    assert_eq!(b.stats().unwrap().chunks, 1);
}

#[test]
fn exporter_lock_is_exclusive() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    let l = b.try_lock_exporter().unwrap();
    assert!(l.is_some());
    let b2 = Buffer::open_dir(b.dir(), DEFAULT_LIMIT_BYTES).unwrap();
    assert!(b2.try_lock_exporter().unwrap().is_none());
    assert!(b.try_lock_exporter().unwrap().is_none());
    drop(l);
    assert!(b2.try_lock_exporter().unwrap().is_some());
}

#[test]
fn threads_share_a_buffer() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let b = &b;
            s.spawn(move || {
                for i in 0..25u8 {
                    b.append(&[t, i], if i % 2 == 0 { 10 } else { 50 }).unwrap();
                }
            });
        }
    });
    let q = b.export_queue(1000).unwrap();
    assert_eq!(q.len(), 100);
    let mut seen: Vec<Vec<u8>> = datas(&q);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 100);
    assert_eq!(b.stats().unwrap().chunks, 100);
}

// ----- model-based property test -----

#[derive(Debug, Clone)]
enum Op {
    Append { prio: u8, len: usize },
    Remove(usize),
    Promote(Vec<usize>),
    DropIndex,
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        6 => (prop_oneof![Just(10u8), Just(50u8)], 0usize..9000).prop_map(|(prio, len)| Op::Append { prio, len }),
        2 => (0usize..64).prop_map(Op::Remove),
        2 => proptest::collection::vec(0usize..64, 0..4).prop_map(Op::Promote),
        1 => Just(Op::DropIndex),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]
    #[test]
    fn matches_a_model(ops in proptest::collection::vec(op(), 1..30)) {
        let limit = 6 * K4;
        let (_t, b) = buf(limit);
        // priority → chunks oldest first: (id, data)
        let mut model: BTreeMap<u8, VecDeque<(ChunkId, Vec<u8>)>> = BTreeMap::new();
        let mut known: Vec<ChunkId> = vec![];
        let mut n = 0u32;
        for op in ops {
            match op {
                Op::Append { prio, len } => {
                    n += 1;
                    let mut data = n.to_le_bytes().to_vec();
                    data.resize(len.max(4), 0xAB);
                    let id = b.append(&data, prio).unwrap();
                    model.entry(prio).or_default().push_back((id.clone(), data));
                    known.push(id.clone());
                    let total = |m: &BTreeMap<u8, VecDeque<(ChunkId, Vec<u8>)>>| -> u64 {
                        m.values().flatten().map(|(_, d)| charged_bytes(d.len() as u64)).sum()
                    };
                    while total(&model) > limit {
                        let victim = model.iter().find(|(_, q)| q.front().is_some_and(|(i, _)| *i != id)).map(|(p, _)| *p);
                        let Some(p) = victim else { break };
                        model.get_mut(&p).and_then(VecDeque::pop_front);
                    }
                }
                Op::Remove(k) => {
                    if let Some(id) = known.get(k % known.len().max(1)).cloned() {
                        b.remove(&id).unwrap();
                        for q in model.values_mut() { q.retain(|(i, _)| *i != id); }
                    }
                }
                Op::Promote(ks) => {
                    let ids: Vec<ChunkId> = ks.iter().filter_map(|k| known.get(k % known.len().max(1)).cloned()).collect();
                    let new = b.promote(&ids, 50).unwrap();
                    let mut expect = vec![];
                    for id in &ids {
                        let pos = model.iter().find_map(|(p, q)| q.iter().position(|(i, _)| i == id).map(|x| (*p, x)));
                        let Some((p, x)) = pos else { continue };
                        if p == 50 { expect.push(id.clone()); continue; }
                        let (_, data) = model.get_mut(&p).and_then(|q| q.remove(x)).unwrap();
                        let nid = new.get(expect.len()).cloned().unwrap();
                        model.entry(50).or_default().push_back((nid.clone(), data));
                        known.push(nid.clone());
                        expect.push(nid);
                    }
                    proptest::prop_assert_eq!(&new, &expect);
                }
                Op::DropIndex => { let _ = fs::remove_file(b.dir().join(INDEX_FILE)); }
            }
            let want: Vec<(String, Vec<u8>)> = model.iter().rev().flat_map(|(_, q)| q.iter().map(|(i, d)| (i.to_string(), d.clone()))).collect();
            let got: Vec<(String, Vec<u8>)> = b.export_queue(usize::MAX).unwrap().into_iter().map(|c| (c.id.to_string(), c.data)).collect();
            proptest::prop_assert_eq!(&got, &want);
            let s = b.stats().unwrap();
            proptest::prop_assert_eq!(s.chunks, want.len() as u64);
            proptest::prop_assert_eq!(s.bytes, want.iter().map(|(_, d)| charged_bytes(d.len() as u64)).sum::<u64>());
            let files = chunk_files(b.dir()).len() as u64;
            proptest::prop_assert_eq!(files, s.chunks);
        }
    }
}

#[test]
fn chunk_deleted_behind_our_back_is_noticed() {
    let (_t, b) = buf(DEFAULT_LIMIT_BYTES);
    let a = b.append(b"a", 10).unwrap();
    let c = b.append(b"c", 10).unwrap();
    let d = b.append(b"d", 10).unwrap();
    // The head file missing (e.g. a crash after evicting it, before the index was written).
    fs::remove_file(b.dir().join(format!("{a}{CHUNK_EXT}"))).unwrap();
    let s = b.stats().unwrap();
    assert_eq!((s.chunks, s.bytes), (2, 2 * K4));
    // A crash in the middle of a non-head removal leaves a dirty index: rebuilt.
    let mut idx = b.read_index().unwrap();
    idx.dirty = true;
    b.write_index(&idx).unwrap();
    fs::remove_file(b.dir().join(format!("{c}{CHUNK_EXT}"))).unwrap();
    assert_eq!(b.stats().unwrap().chunks, 1);
    assert_eq!(ids(&b.export_queue(9).unwrap()), vec![d.to_string()]);
    assert!(!b.read_index().unwrap().dirty);
}
