//! Tests of the trace core that need the harness's fake Pebble.

use std::sync::Arc;

use opentelemetry::trace::Status;

use super::pebble::TracedTransport;
use super::propagate::{traceparent_of, TRACEPARENT};
use crate::pebble::{Client, ExecOptions, FileOptions};
use crate::testing::pebble::{Container, ExecResult, FakePebble};
use crate::trace::setup::SpanCollector;

#[test]
fn one_span_per_call_without_contents_and_exec_gets_traceparent() {
    let fake = FakePebble::new(Container::new("web").with_exec(
        &["env"],
        ExecResult {
            stdout: b"ok".to_vec(),
            ..Default::default()
        },
    ));
    let client = Client::with_transport(Arc::new(TracedTransport::new(fake.clone(), "web")));
    let collector = SpanCollector::start();
    client
        .push(
            "/etc/secret.conf",
            "password=hunter2",
            &FileOptions::default(),
        )
        .unwrap();
    let err = client.pull("/etc/missing").unwrap_err();
    assert!(err.is_not_found());
    let opts = ExecOptions::default().env("TOKEN", "s3cret");
    client.exec(&["env"], &opts).unwrap();
    let _ = client.start_services(&["nope"]).unwrap_err();
    let spans = collector.take();
    let names: Vec<String> = spans.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names[0], "pebble POST /v1/files");
    assert_eq!(names[1], "pebble GET /v1/files");
    assert!(
        names.contains(&"pebble POST /v1/exec".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"pebble GET /v1/tasks/1/websocket/stdio".to_string()),
        "{names:?}"
    );
    let last = spans.last().unwrap();
    assert_eq!(last.name, "pebble POST /v1/services");
    assert!(matches!(last.status, Status::Error { .. }));
    assert!(last.events.iter().any(|e| e.name == "exception"));
    // No body ever reaches a span.
    let dump = format!("{spans:?}");
    for secret in ["hunter2", "s3cret", "TOKEN"] {
        assert!(!dump.contains(secret), "{secret} leaked into a span");
    }
    // Exec ran with TRACEPARENT of its span; the charm's own variable is kept.
    let exec_span = spans
        .iter()
        .find(|s| s.name == "pebble POST /v1/exec")
        .unwrap();
    let record = &fake.container().exec_history[0];
    assert_eq!(record.environment["TOKEN"], "s3cret");
    assert_eq!(
        record.environment[TRACEPARENT],
        traceparent_of(&exec_span.span_context).unwrap()
    );
}
