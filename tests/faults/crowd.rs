//! 8 dispatchers at once on one unit, with exporters.

use super::*;

/// 8 dispatcher threads, `per_thread` dispatches each, on one unit; returns the hook times, the
/// hooks that failed, and the trace ids the dispatches logged.
fn crowd(
    unit: &Arc<Unit>,
    per_thread: usize,
    env: &[(&'static str, String)],
) -> (Vec<Duration>, usize, Vec<String>) {
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let unit = unit.clone();
            let env = env.to_vec();
            std::thread::spawn(move || {
                // Each dispatcher logs to its own stub state, so log lines never interleave.
                let state = unit.root.path().join(format!("state-{t}"));
                std::fs::create_dir_all(state.join("resp")).unwrap();
                let calls = state.join("calls");
                let offset = std::fs::metadata(&calls).map_or(0, |m| m.len() as usize);
                let state_s = state.display().to_string();
                let mut env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                env.push(("STUB_STATE", &state_s));
                let mut times = Vec::new();
                let mut failed = 0;
                for i in 0..per_thread {
                    let hook = HOOKS[(t + i) % HOOKS.len()];
                    let (st, _, took) = dispatch(&unit, hook, &env);
                    times.push(took);
                    if !st.is_some_and(|s| s.success()) {
                        failed += 1;
                    }
                }
                (times, failed, logged_trace_ids_since(&calls, offset).0)
            })
        })
        .collect();
    let mut out = (Vec::new(), 0, Vec::new());
    for t in threads {
        let (times, failed, ids) = t.join().unwrap();
        out.0.extend(times);
        out.1 += failed;
        out.2.extend(ids);
    }
    out
}

#[test]
fn eight_concurrent_dispatchers_with_an_exporter() {
    let unit = Arc::new(Unit::new(&CHARM));
    let collector = Server::scripted(vec![], 200);
    let url = collector.url("http");
    let per_thread = trials(5, 50);
    // The same crowd with tracing off, for the hook time tracing adds under contention.
    let (mut off, _, _) = crowd(&unit, per_thread, &[("CHARMKIT_TRACING", "off".into())]);
    let otel = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.clone())];
    let (mut on, failed, logged) = crowd(&unit, per_thread, &otel);
    // Let the exporters finish, then send what is left.
    let _ = eventually(Duration::from_secs(20), || {
        Buffer::open(&unit.charm_dir)
            .unwrap()
            .stats()
            .unwrap()
            .chunks
            == 0
    });
    flush_all(&unit, &[(otel[0].0, &url)]);
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    let mut corrupt = 0;
    for r in collector.received() {
        assert_eq!(r.answered, 200);
        match root_trace_ids(&r.body) {
            Some(ids) => ids
                .into_iter()
                .for_each(|id| *delivered.entry(id).or_insert(0) += 1),
            None => corrupt += 1,
        }
    }
    let mut figures = Figures::new("8 concurrent dispatchers + exporter");
    figures.trials = 8 * per_thread;
    figures.failed = failed;
    figures.corrupt = corrupt + buffer_contents(&unit.charm_dir).1;
    figures.lost = logged
        .iter()
        .filter(|id| !delivered.contains_key(*id))
        .count();
    figures.duplicated = delivered.values().filter(|n| **n > 1).count();
    let (on, off) = (median(&mut on), median(&mut off));
    figures.hook_added = Some(on.saturating_sub(off));
    figures.note = format!(
        "{} traces delivered; median hook {:.1} ms with tracing, {:.1} ms without (8 \
         dispatchers on 2 cores)",
        delivered.len(),
        on.as_secs_f64() * 1e3,
        off.as_secs_f64() * 1e3
    );
    assert_eq!(
        logged.len(),
        8 * per_thread,
        "every dispatch logged its trace id"
    );
    figures.print().assert_clean();
}
