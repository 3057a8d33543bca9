//! Tiny, full and read-only filesystems (tmpfs), tracing on against tracing off.

use super::*;

#[derive(Clone, Copy, Debug)]
enum Disk {
    Tiny,
    Full,
    ReadOnly,
}

/// `n` dispatches on a fresh tmpfs in the state `disk`, tracing on or off; returns the hooks
/// that failed (or hung, or panicked), their times, and the corrupt chunks found after.
fn on_disk(disk: Disk, n: usize, tracing: bool) -> Option<(usize, Vec<Duration>, usize)> {
    let size = match disk {
        Disk::Tiny => "256k",
        Disk::Full | Disk::ReadOnly => "1m",
    };
    let fs = crate::util::Tmpfs::mount(size)?;
    let unit = Unit::with_charm_dir(&CHARM, Some(fs.path().join("charm")));
    let env: &[(&str, &str)] = if tracing {
        &[]
    } else {
        &[("CHARMKIT_TRACING", "off")]
    };
    let _ = dispatch(&unit, "hooks/install", env);
    match disk {
        Disk::Tiny => {}
        Disk::Full => {
            // Something else fills the disk to the last block.
            let mut f = std::fs::File::create(fs.path().join("ballast")).unwrap();
            let block = vec![0u8; 4096];
            while std::io::Write::write_all(&mut f, &block).is_ok() {}
        }
        Disk::ReadOnly => fs.remount(true),
    }
    let mut failed = 0;
    let mut times = Vec::new();
    for i in 0..n {
        let (st, err, took) = dispatch(&unit, HOOKS[i % HOOKS.len()], env);
        times.push(took);
        if !st.is_some_and(|s| s.success()) || panicked(st, &err) {
            failed += 1;
        }
    }
    let corrupt = buffer_contents(&unit.charm_dir).1;
    if matches!(disk, Disk::ReadOnly) {
        fs.remount(false);
    }
    Some((failed, times, corrupt))
}

#[test]
fn tiny_full_and_read_only_filesystems() {
    let n = trials(10, 200);
    for (class, disk) in [
        ("tiny disk (256 KiB tmpfs)", Disk::Tiny),
        ("full disk (tmpfs, 0 bytes free)", Disk::Full),
        ("read-only filesystem", Disk::ReadOnly),
    ] {
        let mut figures = Figures::new(class);
        let (Some(on), Some(off)) = (on_disk(disk, n, true), on_disk(disk, n, false)) else {
            figures.note = "SKIPPED: cannot mount a tmpfs here (not root); the buffer's unit \
                            tests inject the same faults"
                .into();
            figures.print();
            continue;
        };
        let (failed_on, mut times_on, corrupt) = on;
        let (failed_off, mut times_off, _) = off;
        figures.trials = n;
        figures.corrupt = corrupt;
        // Hooks failing with tracing that do not without it: failed because of tracing.
        figures.failed = failed_on.saturating_sub(failed_off);
        figures.hook_added = Some(median(&mut times_on).saturating_sub(median(&mut times_off)));
        figures.note = format!(
            "{failed_on} hook(s) failed with tracing, {failed_off} without it (those cannot \
             save the charm's own stored state)"
        );
        figures.print().assert_clean();
    }
}
