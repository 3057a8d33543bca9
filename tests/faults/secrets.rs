//! Planted secret markers, grepped across every output.

use super::relation_data::{provider, receivers, MARK};
use super::*;

#[test]
fn planted_secret_markers_never_come_out() {
    let rounds = trials(1, 10);
    let mut figures = Figures::new("planted secret markers");
    let mut leaks = Vec::new();
    for round in 0..rounds {
        let unit = Unit::new(&CHARM);
        let collector = Server::http(200);
        let pass = format!("PASS-{MARK}-{round}");
        let key = format!("KEY-{MARK}-{round}");
        let pem_key = format!("-----BEGIN PRIVATE KEY-----\nPEM-{MARK}\n-----END PRIVATE KEY-----");
        // Credentials in the receiver URL (relation and environment), key material and other
        // secrets in both providers' databags.
        let rel_url = format!("http://tracer:{pass}@{}/?api_key={key}", collector.addr);
        let tracing = serde_json::json!({
            "receivers": receivers(&rel_url),
            "password": format!("DATABAG-{MARK}"),
        });
        let root = Ca::root("secrets CA").pem();
        let ca_app = serde_json::json!({
            "certificates": serde_json::to_string(&[format!("{root}\n{pem_key}")]).unwrap(),
        });
        let ca_unit = serde_json::json!({"certificate": pem_key, "private-key": pem_key});
        provider(&unit, &tracing, Some((&ca_app, &ca_unit)));
        let env_url = format!("http://u:{pass}@{}/v1/traces?token={key}", collector.addr);
        let mut shown: Vec<(String, Vec<u8>)> = Vec::new();
        let runs: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("hooks/install", vec![]),
            (
                "hooks/charm-tracing-relation-changed",
                vec![
                    ("JUJU_RELATION", "charm-tracing"),
                    ("JUJU_RELATION_ID", "charm-tracing:5"),
                    ("JUJU_REMOTE_APP", "tempo"),
                ],
            ),
            (
                "hooks/receive-ca-cert-relation-changed",
                vec![
                    ("JUJU_RELATION", "receive-ca-cert"),
                    ("JUJU_RELATION_ID", "receive-ca-cert:8"),
                    ("JUJU_REMOTE_APP", "self-signed-certificates"),
                ],
            ),
            (
                "hooks/start",
                vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url)],
            ),
            (
                "hooks/update-status",
                vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url)],
            ),
            (
                "hooks/update-status",
                vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url)],
            ),
            (
                "actions/trace-status",
                vec![
                    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url),
                    ("JUJU_ACTION_NAME", "trace-status"),
                    ("JUJU_ACTION_UUID", "1"),
                ],
            ),
        ];
        for (hook, env) in &runs {
            let out = unit.dispatch(hook, env);
            figures.trials += 1;
            if !out.status.success() {
                println!("{hook} failed: {}", String::from_utf8_lossy(&out.stderr));
                figures.failed += 1;
            }
            shown.push((format!("{hook} stdout"), out.stdout));
            shown.push((format!("{hook} stderr"), out.stderr));
        }
        // Let the background exporters be done before looking.
        let _ = eventually(Duration::from_secs(10), || {
            Buffer::open(&unit.charm_dir)
                .unwrap()
                .stats()
                .is_ok_and(|s| s.chunks == 0)
        });
        for args in [
            &["trace", "status"][..],
            &["trace", "status", "--json"],
            &["trace", "dump"],
            &["trace", "flush", "--timeout", "5"],
        ] {
            let out = unit
                .command(args, &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url)])
                .output()
                .unwrap();
            shown.push((format!("{args:?} stdout"), out.stdout));
            shown.push((format!("{args:?} stderr"), out.stderr));
        }
        // Every hook-tool call (juju-log lines, status-set, relation-set data, action-set…).
        shown.push((
            "hook-tool calls".into(),
            std::fs::read(unit.state.join("calls")).unwrap(),
        ));
        // Everything stored beside the buffer but the destination (which must hold the URL it
        // sends to), and everything the collector received (spans).
        let buf = unit.charm_dir.join(charmkit::trace::buffer::DIR_NAME);
        for e in charmkit_test_support::files_under(&buf) {
            if !e.ends_with("destination.json") {
                shown.push((
                    e.display().to_string(),
                    std::fs::read(&e).unwrap_or_default(),
                ));
            }
        }
        for r in collector.received() {
            shown.push(("a request to the collector".into(), r.body));
        }
        assert!(
            !collector.received().is_empty(),
            "nothing exported: is the harness working?"
        );
        for (what, bytes) in &shown {
            if String::from_utf8_lossy(bytes).contains(MARK) {
                leaks.push(what.clone());
            }
        }
    }
    figures.note = format!(
        "{} place(s) showed a marker (URL userinfo and query, private keys, other databag keys), \
         grepped across hook output, every hook-tool call, the buffer, the collector's requests \
         and the trace commands",
        leaks.len()
    );
    assert!(leaks.is_empty(), "secrets shown in {leaks:?}");
    figures.print().assert_clean();
}
