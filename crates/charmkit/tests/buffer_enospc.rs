//! A full disk: on a tiny tmpfs (needs root; skipped cleanly when mounting is not permitted),
//! appends fail with an error once the disk is full, leave no partial chunk or temp file, every
//! stored chunk stays readable, and freeing space makes appends work again. (The same property
//! is unit-tested everywhere with an injected ENOSPC writer.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use charmkit::tracing::buffer::{Buffer, ChunkId};

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn try_mount(at: &Path) -> Option<Mount> {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=128k,mode=0700", "tmpfs"])
        .arg(at)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(at.to_path_buf()))
}

#[test]
fn full_disk_returns_error_and_keeps_buffer_readable() {
    let t = tempfile::tempdir().expect("tempdir");
    let Some(_mount) = try_mount(t.path()) else {
        eprintln!("skipping: cannot mount a tmpfs here (not root?)");
        return;
    };
    let dir = t.path().join(".charm-tracing");
    let b = Buffer::open_dir(&dir, u64::MAX).expect("open");
    b.set_destination(Some(&charmkit::tracing::buffer::Destination {
        url: "http://collector:4318/v1/traces".into(),
        ca: None,
    }))
    .expect("destination");
    let mut stored: Vec<(ChunkId, Vec<u8>)> = vec![];
    let mut err = None;
    for n in 0..200u32 {
        let data = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "z".repeat(3000)).into_bytes();
        match b.append(&data, 10) {
            Ok(id) => stored.push((id, data)),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let err = err.expect("the disk filled up");
    assert_eq!(err.raw_os_error(), Some(28), "ENOSPC, got {err}");
    assert!(!stored.is_empty());
    // Try a few more times (different sizes), all must fail cleanly.
    for len in [1usize, 100, 10_000] {
        assert!(b.append(&vec![b'q'; len], 50).is_err());
    }
    assert_eq!(
        fs::read_dir(dir.join("tmp")).expect("tmp").count(),
        0,
        "no temp left"
    );
    let check = |b: &Buffer, stored: &[(ChunkId, Vec<u8>)]| {
        let got: Vec<(ChunkId, Vec<u8>)> = b
            .export_queue(usize::MAX)
            .expect("queue")
            .into_iter()
            .map(|c| (c.id, c.data))
            .collect();
        assert_eq!(got, stored, "exactly the stored chunks, whole");
        assert_eq!(b.stats().expect("stats").chunks, stored.len() as u64);
    };
    check(&b, &stored);
    // A fresh open (e.g. the next dispatch) on the full disk works too, and so does the exporter.
    let b2 = Buffer::open_dir(&dir, u64::MAX).expect("reopen on a full disk");
    assert!(b2.destination().expect("destination").is_some());
    check(&b2, &stored);
    // The exporter frees space; appending works again.
    for (id, _) in stored.drain(..3) {
        b2.remove(&id).expect("remove on a full disk");
    }
    check(&b2, &stored);
    // Removing from the middle (the index cannot even be marked dirty on a full disk).
    let (mid, _) = stored.remove(stored.len() / 2);
    assert!(b2.remove_checked(&mid).expect("remove from the middle"));
    check(&b2, &stored);
    let data = b"{\"after\":true}".to_vec();
    let id = b2.append(&data, 10).expect("append after freeing space");
    stored.push((id, data));
    check(&b2, &stored);
}
