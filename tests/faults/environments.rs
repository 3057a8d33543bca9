//! Hostile `JUJU_*` environments: the real binary, and a proptest in-process.

use super::*;

/// Hostile values for the variables a dispatch reads.
fn hostile_env_values() -> Vec<(&'static str, std::ffi::OsString)> {
    use std::os::unix::ffi::OsStringExt;
    let s = |v: &str| std::ffi::OsString::from(v);
    let huge = "x".repeat(64 * 1024);
    let mut v = Vec::new();
    for var in [
        "JUJU_DISPATCH_PATH",
        "JUJU_UNIT_NAME",
        "JUJU_MODEL_NAME",
        "JUJU_MODEL_UUID",
        "JUJU_VERSION",
        "JUJU_RELATION",
        "JUJU_RELATION_ID",
        "JUJU_REMOTE_APP",
        "JUJU_REMOTE_UNIT",
        "JUJU_ACTION_NAME",
        "JUJU_SECRET_REVISION",
        "JUJU_STORAGE_ID",
        "JUJU_DEBUG",
    ] {
        v.push((var, s("")));
        v.push((var, s(&huge)));
        v.push((
            var,
            std::ffi::OsString::from_vec(vec![0xff, 0xfe, b'/', 0x80]),
        ));
        v.push((var, s("a\nb\u{1b}[31m")));
    }
    for (var, value) in [
        ("JUJU_DISPATCH_PATH", "../../../etc/passwd"),
        ("JUJU_DISPATCH_PATH", "hooks/"),
        ("JUJU_DISPATCH_PATH", "actions/"),
        ("JUJU_DISPATCH_PATH", "hooks/charm-tracing-relation-changed"),
        (
            "JUJU_DISPATCH_PATH",
            "hooks/receive-ca-cert-relation-broken",
        ),
        (
            "JUJU_DISPATCH_PATH",
            "hooks/no-such-relation-relation-joined",
        ),
        ("JUJU_DISPATCH_PATH", "actions/trace-status"),
        ("JUJU_DISPATCH_PATH", "hooks/data-storage-attached"),
        ("JUJU_DISPATCH_PATH", "hooks/secret-changed"),
        ("JUJU_DISPATCH_PATH", "hooks/stop"),
        ("JUJU_UNIT_NAME", "rust-starter"),
        ("JUJU_UNIT_NAME", "/0"),
        ("JUJU_UNIT_NAME", "a/b/c"),
        ("JUJU_UNIT_NAME", "rust-starter/-1"),
        ("JUJU_UNIT_NAME", "rust-starter/99999999999999999999"),
        ("JUJU_RELATION_ID", "charm-tracing:-1"),
        ("JUJU_RELATION_ID", ":5"),
        ("JUJU_RELATION_ID", "charm-tracing:99999999999999999999"),
        ("JUJU_RELATION_ID", "5"),
        ("JUJU_STORAGE_ID", "data/x"),
        ("JUJU_SECRET_REVISION", "-3"),
        ("JUJU_CHARM_DIR", "/nonexistent/charm"),
        ("JUJU_CHARM_DIR", "/dev/null"),
        ("JUJU_CHARM_DIR", "relative/charm"),
        ("CHARM_TRACING_BUFFER_BYTES", "-1"),
        ("CHARM_TRACING_BUFFER_BYTES", "0"),
        ("CHARM_TRACING_BUFFER_BYTES", "18446744073709551616"),
        ("CHARM_TRACING_BUFFER_BYTES", "1 GiB"),
        ("CHARM_TRACING_STOP_FLUSH_SECONDS", "NaN"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://[::1:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "::::"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-5"),
        ("CHARMKIT_TRACING", "maybe"),
    ] {
        v.push((var, s(value)));
    }
    v
}

#[test]
fn hostile_juju_environments() {
    let mut rng = Rng::new(7);
    let values = hostile_env_values();
    let n = trials(values.len(), 10 * values.len());
    let unit = Unit::new(&CHARM);
    let mut figures = Figures::new("hostile JUJU_* environments");
    let mut failures = Vec::new();
    for i in 0..n {
        // Every value once, then random combinations of two or three.
        let picks: Vec<&(&str, std::ffi::OsString)> = if i < values.len() {
            vec![&values[i]]
        } else {
            (0..2 + rng.below(2)).map(|_| rng.pick(&values)).collect()
        };
        let mut cmd = unit.dispatch_command("hooks/update-status", &[]);
        for (var, value) in &picks {
            cmd.env(var, value);
        }
        let ran = run_guarded(&mut cmd);
        let (st, err) = (ran.status, ran.stderr);
        figures.trials += 1;
        // Refusing a context Juju would never give is fine (exit 1, one message); a panic, a
        // signal or a hang is not.
        let bad = st.is_none() || st.and_then(|s| s.code()).is_none() || panicked(st, &err);
        if bad {
            figures.failed += 1;
            failures.push(format!("{picks:?}: {st:?}"));
        }
    }
    figures.note =
        "no panic, no hang, no crash; an impossible context is refused with one line".into();
    assert!(failures.is_empty(), "{failures:?}");
    figures.print().assert_clean();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
        if long() { 20_000 } else { 300 }
    ))]

    /// In-process, any environment at all: the context is read or refused, never a panic, and
    /// the event is parsed against the real metadata (or found unknown).
    #[test]
    fn any_juju_environment_is_read_or_refused(
        vars in proptest::collection::vec(
            (proptest::sample::select(vec![
                "JUJU_DISPATCH_PATH", "JUJU_UNIT_NAME", "JUJU_MODEL_NAME", "JUJU_MODEL_UUID",
                "JUJU_RELATION", "JUJU_RELATION_ID", "JUJU_REMOTE_APP", "JUJU_REMOTE_UNIT",
                "JUJU_DEPARTING_UNIT", "JUJU_ACTION_NAME", "JUJU_SECRET_ID",
                "JUJU_SECRET_REVISION", "JUJU_STORAGE_ID", "JUJU_NOTICE_ID", "JUJU_VERSION",
                "JUJU_CHARM_DIR", "JUJU_DEBUG", "JUJU_WORKLOAD_NAME", "JUJU_PEBBLE_CHECK_NAME",
            ]), "(hooks/|actions/)?[a-z0-9:/._-]{0,24}|.{0,40}"),
            0..12,
        )
    ) {
        let meta = charmkit::meta::Metadata::from_dir(&crate::util::repo_root()).unwrap();
        let mut vars = vars;
        vars.push(("JUJU_UNIT_NAME", "rust-starter/0".into()));
        vars.push(("JUJU_DISPATCH_PATH", "hooks/install".into()));
        let lookup = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        if let Ok(ctx) = charmkit::context::JujuContext::from_lookup(lookup) {
            let _ = charmkit::event::Event::from_context(&ctx, &meta);
        }
    }
}
