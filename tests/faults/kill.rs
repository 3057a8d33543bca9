//! kill -9 at random instants, during dispatch and during export.

use super::*;

#[test]
fn kill_9_at_random_instants_during_dispatch() {
    let mut rng = Rng::new(1);
    let unit = Unit::new(&CHARM);
    let typical = typical_dispatch(&unit, "hooks/install");
    let n = trials(25, 1000);
    let calls = unit.state.join("calls");
    let mut offset = std::fs::metadata(&calls).map_or(0, |m| m.len() as usize);
    // The trace ids of the dispatches that completed (exit 0): each must be in the buffer.
    let mut must_be_stored: Vec<String> = Vec::new();
    let mut killed = 0;
    let note_completed = |offset: &mut usize, ok: bool, must: &mut Vec<String>| {
        let (ids, end) = logged_trace_ids_since(&calls, *offset);
        *offset = end;
        if ok {
            must.extend(ids);
        }
    };
    for i in 0..n {
        let hook = *rng.pick(HOOKS);
        // Its own process group, killed whole: the dispatch and the hook tool it may be
        // running (a tool left running would log for it after it is gone).
        let mut child = unit
            .dispatch_command(hook, &[])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn_retrying();
        std::thread::sleep(rng.instant(typical.mul_f64(1.2)));
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        match wait_or_kill(&mut child, GUARD) {
            Some(st) if st.success() => note_completed(&mut offset, true, &mut must_be_stored),
            Some(_) => {
                killed += 1;
                note_completed(&mut offset, false, &mut must_be_stored);
            }
            None => panic!("trial {i}: the dispatch hung"),
        }
        // After every kill the buffer opens and reads, and the next dispatch works.
        if i % 10 == 9 {
            let (st, err, _) = dispatch(&unit, "hooks/update-status", &[]);
            assert!(
                st.is_some_and(|s| s.success()),
                "after a kill: {}",
                String::from_utf8_lossy(&err)
            );
            note_completed(&mut offset, true, &mut must_be_stored);
        }
    }
    // Every dispatch that completed (exit 0) has its whole trace in the buffer, exactly once.
    let (roots, corrupt) = buffered_roots(&unit.charm_dir);
    let mut figures = Figures::new("kill -9 during dispatch");
    figures.trials = n;
    figures.corrupt = corrupt;
    figures.duplicated = roots.values().filter(|n| **n > 1).count();
    figures.lost = must_be_stored
        .iter()
        .filter(|id| !roots.contains_key(*id))
        .count();
    figures.note = format!(
        "{killed} killed mid-dispatch, {} completed; stored state and buffer read back after \
         each",
        must_be_stored.len()
    );
    // The stored state is whole too.
    let state = std::fs::read(unit.charm_dir.join(".charmkit-state.json")).unwrap_or_default();
    assert!(
        state.is_empty() || serde_json::from_slice::<serde_json::Value>(&state).is_ok(),
        "torn stored state"
    );
    figures.print().assert_clean();
}

#[test]
fn kill_9_at_random_instants_during_export() {
    let mut rng = Rng::new(2);
    let unit = Unit::new(&CHARM);
    // A collector slow enough that kills land inside POSTs too.
    let collector = Server::scripted(vec![], 200);
    set_destination(&unit, &collector.url("http"), None);
    let b = Buffer::open(&unit.charm_dir).unwrap();
    let n = trials(25, 1000);
    let mut appended: BTreeSet<String> = BTreeSet::new();
    let mut next = 0u64;
    let mut refill = |b: &Buffer, appended: &mut BTreeSet<String>| {
        for _ in 0..20 {
            let marker = format!("chunk-{next:06}");
            next += 1;
            b.append(
                format!(r#"{{"resourceSpans":[],"marker":"{marker}"}}"#).as_bytes(),
                PRIORITY_DEFAULT,
            )
            .unwrap();
            appended.insert(marker);
        }
    };
    refill(&b, &mut appended);
    // How long an exporter takes to drain 20 chunks here: kills are aimed inside that.
    let start = Instant::now();
    let out = unit
        .command(&["trace", "flush", "--timeout", "20"], &[])
        .output()
        .unwrap();
    assert!(out.status.success());
    let typical = start.elapsed();
    let mut hung = 0;
    for _ in 0..n {
        if b.stats().unwrap().chunks < 5 {
            refill(&b, &mut appended);
        }
        // The background exporter itself, as a dispatch starts it.
        let mut child = unit
            .command(
                &["__export"],
                &[("JUJU_CHARM_DIR", &unit.charm_dir.display().to_string())],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn_retrying();
        std::thread::sleep(rng.instant(typical));
        let _ = child.kill();
        if wait_or_kill(&mut child, GUARD).is_none() {
            hung += 1;
        }
    }
    // Then an exporter that is left alone sends the rest.
    flush_all(&unit, &[]);
    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    let mut corrupt = 0;
    for r in collector.received() {
        match serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v["marker"].as_str().map(str::to_owned))
        {
            Some(m) => *received.entry(m).or_insert(0) += 1,
            None => corrupt += 1,
        }
    }
    let (left, buffer_corrupt) = buffer_contents(&unit.charm_dir);
    let mut figures = Figures::new("kill -9 during export");
    figures.trials = n;
    figures.corrupt = corrupt + buffer_corrupt;
    figures.lost = appended
        .iter()
        .filter(|m| !received.contains_key(*m))
        .count()
        + left.len();
    // The first flush (before the kills) counts too.
    figures.duplicated = received.values().filter(|n| **n > 1).count();
    figures.failed = hung;
    figures.note = format!(
        "{} chunks through {} kills of the exporter; duplicates are chunks whose POST was cut by \
         the kill (at least once)",
        appended.len(),
        n
    );
    figures.print().assert_clean();
}
