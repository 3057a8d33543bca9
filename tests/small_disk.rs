//! The trace buffer on a small filesystem: it must never be why a hook fails. Run against the
//! real charm binary through `./dispatch`, on a 256 KiB tmpfs where we may mount one (root, as in
//! CI); elsewhere the same behaviour is covered in-process by an injected statvfs (the buffer's
//! unit tests).

use crate::util::{stderr, Tmpfs, Unit, CHARM};

#[test]
fn a_256k_disk_never_fails_a_hook_and_the_buffer_leaves_room() {
    let Some(fs) = Tmpfs::mount("256k") else {
        println!("SKIPPED: cannot mount a tmpfs here (not root); see the buffer's unit tests");
        return;
    };
    let unit = Unit::with_charm_dir(&CHARM, Some(fs.path().join("charm")));
    let hooks = [
        "hooks/install",
        "hooks/config-changed",
        "hooks/start",
        "hooks/update-status",
    ];
    let mut failed = Vec::new();
    for i in 0..120 {
        let hook = hooks[i % hooks.len()];
        let out = unit.dispatch(hook, &[]);
        if !out.status.success() {
            failed.push(format!("#{i} {hook}: {}", stderr(&out)));
        }
    }
    let stat = nix::sys::statvfs::statvfs(fs.path()).unwrap();
    let free = stat.blocks_available() as u64 * stat.fragment_size() as u64;
    println!("after 120 dispatches: {free} bytes free of 256 KiB");
    assert!(
        failed.is_empty(),
        "{} hook(s) failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    assert!(free >= 64 * 1024, "the buffer left only {free} bytes free");
    // It kept buffering what fits, observed data first.
    let b = charmkit::trace::buffer::Buffer::open(&unit.charm_dir).unwrap();
    assert!(b.stats().unwrap().chunks > 0);
}
