//! A tiny and a full disk, on a real tmpfs (needs root; skipped cleanly when mounting is not
//! permitted): the buffer never leaves less than its floor free, evicting its oldest data to
//! stay under it; when something else fills the disk it gives its unobserved data back and stores
//! nothing, with a [`NoRoom`] error, leaving no partial chunk or temp file; every stored chunk
//! stays readable; and freeing space makes appends work again. (The same properties are
//! unit-tested everywhere with an injected ENOSPC writer and a simulated filesystem size.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use std::collections::BTreeMap;

use charmkit::trace::buffer::{free_floor, Buffer, NoRoom};

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

fn free(dir: &Path) -> u64 {
    let st = nix::sys::statvfs::statvfs(dir).expect("statvfs");
    st.blocks_available() as u64 * st.fragment_size() as u64
}

#[test]
fn a_tiny_disk_keeps_its_floor_and_a_full_one_stores_nothing_cleanly() {
    let t = tempfile::tempdir().expect("tempdir");
    let Some(_mount) = try_mount(t.path()) else {
        eprintln!("skipping: cannot mount a tmpfs here (not root?)");
        return;
    };
    let dir = t.path().join(".charm-tracing");
    let b = Buffer::open_dir(&dir, u64::MAX).expect("open");
    b.set_destination(Some(&charmkit::trace::buffer::Destination {
        url: "http://collector:4318/v1/traces".into(),
        ca: None,
    }))
    .expect("destination");
    let floor = free_floor(128 * 1024);
    let mut stored: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    // Far more than fits: every append succeeds, evicting the oldest, and never leaves less
    // than the floor free.
    for n in 0..200u32 {
        let data = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "z".repeat(3000)).into_bytes();
        let id = b.append(&data, 10).expect("append on a tiny disk");
        stored.insert(id.to_string(), data);
        assert!(
            free(t.path()) >= floor,
            "only {} bytes free",
            free(t.path())
        );
    }
    let check = |b: &Buffer, stored: &BTreeMap<String, Vec<u8>>| {
        let got = b.export_queue(usize::MAX).expect("queue");
        for c in &got {
            assert_eq!(Some(&c.data), stored.get(c.id.as_str()), "{} whole", c.id);
        }
        assert_eq!(b.stats().expect("stats").chunks, got.len() as u64);
        got.len()
    };
    let kept = check(&b, &stored);
    assert!(kept >= 5, "it still buffers what fits: {kept}");

    // Something else fills the disk: the buffer gives its unobserved data back, stores nothing
    // more, and says why; nothing partial is left behind.
    let ballast = t.path().join("ballast");
    let mut f = fs::File::create(&ballast).expect("ballast");
    let _ = std::io::Write::write_all(&mut f, &vec![0u8; 256 * 1024]);
    drop(f);
    let err = b.append(&vec![b'q'; 5000], 50).expect_err("a full disk");
    let no_room = NoRoom::of(&err).unwrap_or_else(|| panic!("NoRoom, got {err}"));
    assert!(no_room.first);
    for len in [1usize, 100, 10_000] {
        let err = b.append(&vec![b'q'; len], 10).expect_err("still full");
        assert!(!NoRoom::of(&err).expect("NoRoom").first);
    }
    assert_eq!(
        b.stats().expect("stats").chunks,
        0,
        "unobserved data given back"
    );
    assert_eq!(
        fs::read_dir(dir.join("tmp")).expect("tmp").count(),
        0,
        "no temp left"
    );
    // A fresh open (the next dispatch) on the full disk works, and so does the exporter's side.
    let b2 = Buffer::open_dir(&dir, u64::MAX).expect("reopen on a full disk");
    assert!(b2.destination().expect("destination").is_some());
    check(&b2, &stored);
    // Space comes back: appending works again.
    fs::remove_file(&ballast).expect("rm ballast");
    let data = b"{\"after\":true}".to_vec();
    let id = b2.append(&data, 10).expect("append after freeing space");
    stored.insert(id.to_string(), data);
    assert_eq!(check(&b2, &stored), 1);
}
