//! Hostile disk state planted in the buffer and the charm directory.

use super::*;

const OUTSIDE: &str = "OUTSIDE-MARK";

/// A valid chunk in a buffer outside the unit, holding [`OUTSIDE`]; returns its path.
fn outside_chunk(root: &std::path::Path) -> std::path::PathBuf {
    let dir = root
        .join("elsewhere")
        .join(charmkit::trace::buffer::DIR_NAME);
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    let id = b
        .append(
            format!(r#"{{"resourceSpans":[],"marker":"{OUTSIDE}"}}"#).as_bytes(),
            50,
        )
        .unwrap();
    dir.join(format!("{id}.chunk"))
}

/// Plants hostile state number `case` in the unit's buffer (and charm) directory; returns what
/// it planted, for messages, and files outside whose mode and content must not change.
fn plant(unit: &Unit, case: usize) -> (&'static str, Vec<std::path::PathBuf>) {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let root = unit.root.path();
    let buf = unit.charm_dir.join(charmkit::trace::buffer::DIR_NAME);
    let fifo = |p: &std::path::Path| {
        clear(p);
        nix::unistd::mkfifo(p, nix::sys::stat::Mode::S_IRWXU).unwrap();
    };
    let victim_dir = root.join("victim-dir");
    std::fs::create_dir_all(&victim_dir).unwrap();
    std::fs::set_permissions(&victim_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let victim_file = root.join("victim-file");
    std::fs::write(&victim_file, "keep me").unwrap();
    let watch = vec![victim_dir.clone(), victim_file.clone()];
    // One of the unit's own chunks (a regular file; planted ones are numbered from 100).
    let first_chunk = || {
        std::fs::read_dir(&buf)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.ends_with(".chunk") && name.get(4..14) == Some("0000000000")
            })
    };
    let what = match case {
        0 => {
            symlink(outside_chunk(root), buf.join("p50-000000000100.chunk")).unwrap();
            "a chunk that is a symlink to a valid chunk elsewhere"
        }
        1 => {
            std::fs::hard_link(outside_chunk(root), buf.join("p50-000000000101.chunk")).unwrap();
            "a chunk hard-linked to a valid chunk elsewhere"
        }
        2 => {
            std::fs::remove_dir_all(&buf).unwrap();
            outside_chunk(&victim_dir);
            symlink(&victim_dir, &buf).unwrap();
            "the buffer directory a symlink to a directory elsewhere"
        }
        3 => {
            symlink("/dev/zero", buf.join("p50-000000000102.chunk")).unwrap();
            "a chunk that is a symlink to /dev/zero"
        }
        4 => {
            let made = nix::sys::stat::mknod(
                &buf.join("p50-000000000103.chunk"),
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::S_IRWXU,
                nix::sys::stat::makedev(1, 5),
            );
            if made.is_err() {
                symlink("/dev/zero", buf.join("p50-000000000103.chunk")).unwrap();
            }
            "a chunk that is a character device (/dev/zero's)"
        }
        5 => {
            fifo(&buf.join("p10-000000000104.chunk"));
            "a FIFO named like a chunk"
        }
        6 => {
            fifo(&buf.join("index.json"));
            "index.json a FIFO"
        }
        7 => {
            fifo(&buf.join("destination.json"));
            "destination.json a FIFO"
        }
        8 => {
            clear(&buf.join("last-export.json"));
            symlink("/dev/zero", buf.join("last-export.json")).unwrap();
            "last-export.json a symlink to /dev/zero"
        }
        9 => {
            fifo(&buf.join("lock"));
            clear(&buf.join("exporter.lock"));
            symlink(&victim_file, buf.join("exporter.lock")).unwrap();
            "the locks a FIFO and a symlink to a file elsewhere"
        }
        10 => {
            if let Some(c) = first_chunk() {
                std::fs::set_permissions(c, std::fs::Permissions::from_mode(0o000)).unwrap();
            }
            "a chunk of mode 000"
        }
        11 => {
            std::fs::set_permissions(&buf, std::fs::Permissions::from_mode(0o000)).unwrap();
            "the buffer directory of mode 000"
        }
        // (Copies of a real chunk are damaged, not our data itself: a damaged chunk is
        // skipped and deleted, and its trace is gone because of the damage, not of tracing.)
        12 => {
            if let Some(c) = first_chunk() {
                let data = std::fs::read(&c).unwrap();
                std::fs::write(buf.join("p10-000000000110.chunk"), &data[..data.len() / 2])
                    .unwrap();
            }
            "a truncated chunk"
        }
        13 => {
            if let Some(c) = first_chunk() {
                let mut data = std::fs::read(&c).unwrap();
                let last = data.len() - 2;
                data[last] ^= 0x55;
                std::fs::write(buf.join("p10-000000000111.chunk"), data).unwrap();
            }
            "a chunk with a flipped byte"
        }
        14 => {
            std::fs::write(buf.join("p10-000000000105.chunk"), "").unwrap();
            "an empty chunk"
        }
        15 => {
            let f = std::fs::File::create(buf.join("p10-000000000106.chunk")).unwrap();
            f.set_len(1 << 30).unwrap();
            "a sparse 1 GiB chunk"
        }
        16 => {
            for name in [
                "README.txt",
                "p10-abc.chunk",
                "p10-999999999999999999.chunk",
            ] {
                std::fs::write(buf.join(name), OUTSIDE).unwrap();
            }
            std::fs::create_dir(buf.join("p10-000000000107.chunk")).unwrap();
            "foreign files, and a directory named like a chunk"
        }
        17 => {
            clear(&buf.join("index.json"));
            std::fs::write(buf.join("index.json"), r#"{"version":1,"dirty":false,"prios":{"10":{"head":0,"next":1000000000000,"count":9,"bytes":36864}},"aliases":[]}"#).unwrap();
            "an index that lies (next sequence 1e12)"
        }
        18 => {
            clear(&buf.join("index.json"));
            std::fs::write(buf.join("index.json"), "\u{0}garbage{{{").unwrap();
            "a garbage index"
        }
        19 => {
            std::fs::remove_dir_all(buf.join("tmp")).unwrap();
            symlink(&victim_dir, buf.join("tmp")).unwrap();
            symlink(
                outside_chunk(root),
                buf.join("incoming")
                    .join("in-50-00000000000000000001-1-1.chunk"),
            )
            .unwrap();
            "tmp/ a symlink elsewhere, incoming/ holding a symlink to a chunk elsewhere"
        }
        20 => {
            let state = unit.charm_dir.join(".charmkit-state.json");
            clear(&state);
            std::fs::create_dir(&state).unwrap();
            "the stored-state file a directory"
        }
        21 => {
            fifo(&unit.charm_dir.join(".charmkit-state.json"));
            "the stored-state file a FIFO"
        }
        22 => {
            let state = unit.charm_dir.join(".charmkit-state.json");
            clear(&state);
            symlink("/dev/zero", &state).unwrap();
            "the stored-state file a symlink to /dev/zero"
        }
        _ => {
            std::fs::write(
                buf.join("tmp").join("00000000000000000001-999999-1.tmp"),
                "x",
            )
            .unwrap();
            "a stale temp file of a dead writer"
        }
    };
    (what, watch)
}

const DISK_CASES: usize = 24;

/// Removes whatever is at `p` (a file, a link, a directory), so something else can go there.
fn clear(p: &std::path::Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

#[test]
fn hostile_disk_state() {
    use std::os::unix::fs::PermissionsExt;
    let mut rng = Rng::new(8);
    let rounds = trials(1, 5);
    let mut figures = Figures::new("hostile disk state");
    let mut problems = Vec::new();
    for round in 0..rounds {
        for case in 0..DISK_CASES {
            let unit = Unit::new(&CHARM);
            let collector = Server::http(200);
            let url = collector.url("http");
            let env = [
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.as_str()),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1000"),
            ];
            let _ = dispatch(&unit, "hooks/install", &env);
            let _ = eventually(Duration::from_secs(10), || !collector.received().is_empty());
            // A backlog of our own, to be delivered despite what is planted.
            let _ = dispatch(&unit, "hooks/update-status", &[("CHARMKIT_TRACING", "on")]);
            // In the long mode, later rounds plant two states at once.
            let mut planted = vec![plant(&unit, case)];
            // (Not on top of a buffer directory made a symlink or unreadable: planting there
            // would be writing through the link ourselves.)
            let second = rng.below(DISK_CASES as u64) as usize;
            if round > 0 && ![2, 11].contains(&case) && ![2, 11, case].contains(&second) {
                planted.push(plant(&unit, second));
            }
            let what: Vec<&str> = planted.iter().map(|(w, _)| *w).collect();
            let watch: Vec<(std::path::PathBuf, u32, Vec<u8>)> = planted
                .iter()
                .flat_map(|(_, w)| w.iter())
                .map(|p| {
                    let m = std::fs::metadata(p).unwrap();
                    let content = if m.is_file() {
                        std::fs::read(p).unwrap()
                    } else {
                        Vec::new()
                    };
                    (p.clone(), m.permissions().mode() & 0o7777, content)
                })
                .collect();
            let mut outputs = Vec::new();
            for hook in ["hooks/update-status", "hooks/config-changed"] {
                let (st, err, _) = dispatch(&unit, hook, &env);
                figures.trials += 1;
                if !st.is_some_and(|s| s.success()) || panicked(st, &err) {
                    figures.failed += 1;
                    problems.push(format!(
                        "{what:?}: {hook} failed: {}",
                        String::from_utf8_lossy(&err)
                    ));
                }
                outputs.push(err);
            }
            for args in [
                &["trace", "dump"][..],
                &["trace", "status", "--json"],
                &["trace", "flush", "--timeout", "5"],
            ] {
                let ran = run_guarded(&mut unit.command(args, &env));
                if ran.status.is_none() || panicked(ran.status, &ran.stderr) {
                    figures.failed += 1;
                    problems.push(format!("{what:?}: {args:?} hung or panicked"));
                }
                outputs.push(ran.stdout);
            }
            // Nothing from outside was read out, sent, or changed.
            let leaked = outputs
                .iter()
                .any(|o| String::from_utf8_lossy(o).contains(OUTSIDE))
                || collector
                    .received()
                    .iter()
                    .any(|r| String::from_utf8_lossy(&r.body).contains(OUTSIDE));
            if leaked {
                problems.push(format!("{what:?}: data from outside the buffer came out"));
            }
            for (p, mode, content) in &watch {
                let m = std::fs::metadata(p).unwrap();
                let now = if m.is_file() {
                    std::fs::read(p).unwrap()
                } else {
                    Vec::new()
                };
                if m.permissions().mode() & 0o7777 != *mode || &now != content {
                    problems.push(format!("{what:?}: {} changed through a link", p.display()));
                }
            }
            let mut delivered = BTreeSet::new();
            for r in collector.received() {
                match root_trace_ids(&r.body) {
                    Some(ids) => delivered.extend(ids),
                    None => figures.corrupt += 1,
                }
            }
            // Every dispatch's trace reached the collector or waits in the buffer — unless the
            // buffer itself was refused (a symlink), where nothing is stored, by design.
            if !what
                .iter()
                .any(|w| w.starts_with("the buffer directory a symlink"))
            {
                let (buffered, _) = buffered_roots(&unit.charm_dir);
                let logged = logged_trace_ids_since(&unit.state.join("calls"), 0).0;
                let lost = logged
                    .iter()
                    .filter(|id| !delivered.contains(*id) && !buffered.contains_key(*id))
                    .count();
                if lost > 0 {
                    println!("LOST {lost} with {what:?}");
                }
                figures.lost += lost;
            }
            // Undo what would stop the temporary directory's cleanup.
            let buf = unit.charm_dir.join(charmkit::trace::buffer::DIR_NAME);
            if std::fs::symlink_metadata(&buf).is_ok_and(|m| m.is_dir()) {
                let _ = std::fs::set_permissions(&buf, std::fs::Permissions::from_mode(0o700));
            }
        }
    }
    figures.unverified = Some(0);
    figures.note = format!(
        "{DISK_CASES} kinds of planted state (symlinks, hard links, FIFOs, devices, mode 000, \
         truncated, flipped, empty, sparse and foreign files, lying or garbage index, odd stored \
         state); nothing outside read, sent or changed"
    );
    assert!(problems.is_empty(), "{problems:#?}");
    figures.print().assert_clean();
}
