//! The buffer → collector path end to end: `tracing::drain::drain` and `tracing::drain::flush`
//! on a real on-disk buffer filled with OTLP/JSON chunks of real SDK spans, against HTTP and
//! HTTPS servers on 127.0.0.1.

use std::path::Path;
use std::time::{Duration, Instant};

use charmkit::hookcmd::LogLevel;
use charmkit::trace::buffer::{
    Buffer, Destination, ExportOutcome, PRIORITY_DEFAULT, PRIORITY_OBSERVED,
};
use charmkit::trace::drain::{drain, flush};
use charmkit::trace::otlp;
use charmkit::trace::setup::SpanCollector;
use charmkit_test_support::collector::{refused_port, Server, Step};
use charmkit_test_support::pki::{server_config, Ca};
use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use rustls::version::{TLS12, TLS13};

const IP: &[&str] = &["127.0.0.1"];

/// One OTLP/JSON chunk holding one real span named `name`.
fn chunk(name: &str) -> Vec<u8> {
    let collector = SpanCollector::start();
    let tracer = opentelemetry::global::tracer("export-e2e");
    let mut span = tracer.start(name.to_string());
    span.set_attribute(KeyValue::new("chunk", name.to_string()));
    span.end();
    let spans = collector.take();
    assert_eq!(spans.len(), 1);
    let resource = Resource::builder_empty()
        .with_attribute(KeyValue::new("service.name", "export-e2e"))
        .build();
    otlp::encode(spans, &resource)
}

/// The span names in an OTLP/JSON body (it must parse).
fn span_names(body: &[u8]) -> Vec<String> {
    let req = otlp::decode(body).expect("the collector got valid OTLP/JSON");
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.clone())
        .collect()
}

fn wire(server: &Server) -> Vec<String> {
    server
        .received()
        .iter()
        .map(|r| {
            assert_eq!(r.method, "POST");
            assert_eq!(r.path, "/v1/traces");
            assert_eq!(r.header("content-type"), Some("application/json"));
            let names = span_names(&r.body);
            assert_eq!(names.len(), 1, "{names:?}");
            names[0].clone()
        })
        .collect()
}

/// A unit directory whose buffer holds `chunks` (name, priority), appended in this order.
fn unit(chunks: &[(&str, u8)]) -> (tempfile::TempDir, Buffer) {
    let dir = tempfile::tempdir().unwrap();
    let buffer = Buffer::open(dir.path()).unwrap();
    for (name, priority) in chunks {
        buffer.append(&chunk(name), *priority).unwrap();
    }
    (dir, buffer)
}

fn three() -> Vec<(&'static str, u8)> {
    vec![("a", 10), ("b", 10), ("c", 10)]
}

fn chunks(buffer: &Buffer) -> u64 {
    buffer.stats().unwrap().chunks
}

fn dest(url: String, ca: Option<String>) -> Destination {
    Destination { url, ca }
}

fn run(buffer: &Buffer, d: &Destination, within: Duration) -> (ExportOutcome, Vec<String>) {
    let mut progress = Vec::new();
    let outcome = drain(buffer, d, Instant::now() + within, &mut |m| {
        progress.push(m.to_string())
    });
    assert_eq!(
        buffer.last_export().unwrap().as_ref(),
        Some(&outcome),
        "the outcome is recorded beside the buffer"
    );
    assert_eq!(outcome.remaining, chunks(buffer));
    (outcome, progress)
}

/// An outcome's error: one line, without the URL (the outcome names it once, in `url`; the
/// warning that reports it says "last export to <url>: <error>").
fn assert_one_line(msg: &str, url: &str) {
    assert!(!msg.contains(url), "the URL repeated in {msg}");
    assert!(!msg.contains('\n'), "{msg:?}");
}

// ----- HTTP ---------------------------------------------------------------------------------

#[test]
fn http_delivers_every_chunk_as_otlp() {
    let server = Server::http(200);
    let (_dir, buffer) = unit(&three());
    let d = dest(server.url("http"), None);
    let (outcome, progress) = run(&buffer, &d, Duration::from_secs(10));
    assert_eq!(wire(&server), ["a", "b", "c"]);
    assert_eq!(
        (outcome.sent, outcome.dropped, outcome.remaining),
        (3, 0, 0)
    );
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.url, d.url);
    assert_eq!(progress.len(), 3, "{progress:?}");
    assert_eq!(chunks(&buffer), 0);
    // One kept-alive connection for the whole drain.
    assert_eq!(server.connections(), 1);
    // Nothing left: a second drain sends nothing.
    let (outcome, _) = run(&buffer, &d, Duration::from_secs(10));
    assert_eq!(outcome.sent, 0);
    assert_eq!(server.received().len(), 3);
}

#[test]
fn priority_order_on_the_wire_observed_first_oldest_first() {
    let server = Server::http(200);
    let (_dir, buffer) = unit(&[
        ("old-10", PRIORITY_DEFAULT),
        ("old-50", PRIORITY_OBSERVED),
        ("new-10", PRIORITY_DEFAULT),
        ("new-50", PRIORITY_OBSERVED),
    ]);
    run(
        &buffer,
        &dest(server.url("http"), None),
        Duration::from_secs(10),
    );
    assert_eq!(wire(&server), ["old-50", "new-50", "old-10", "new-10"]);
}

#[test]
fn a_rejected_chunk_is_dropped_and_does_not_block_the_queue() {
    let server = Server::scripted(vec![Step::Status(400)], 200);
    let (_dir, buffer) = unit(&three());
    let d = dest(server.url("http"), None);
    let (outcome, _) = run(&buffer, &d, Duration::from_secs(10));
    assert_eq!(wire(&server), ["a", "b", "c"]);
    assert_eq!(
        (outcome.sent, outcome.dropped, outcome.remaining),
        (2, 1, 0)
    );
    let err = outcome.error.expect("the rejection is recorded");
    assert!(err.contains("400"), "{err}");
    // One line; the URL is the outcome's own field, not repeated in the message.
    assert!(!err.contains('\n') && !err.contains(&d.url), "{err}");
    assert_eq!(outcome.url, d.url);
    // It is gone for good: never sent again.
    buffer.append(&chunk("d"), 10).unwrap();
    run(&buffer, &d, Duration::from_secs(10));
    assert_eq!(wire(&server), ["a", "b", "c", "d"]);
}

#[test]
fn a_collector_refusing_newer_fields_gets_the_minimal_encoding() {
    // Tempo 2.0.x refuses unknown fields; our encoding omits defaults (so `entityRefs: []` and a
    // scope's `droppedAttributesCount: 0` are never sent) and, on a 400 naming a field it sets
    // (`flags`), retries that chunk once in the minimal encoding — then sends the rest so.
    let server = Server::strict(&["flags", "entityRefs", "droppedAttributesCount"]);
    let (_dir, buffer) = unit(&three());
    let d = dest(server.url("http"), None);
    let (outcome, progress) = run(&buffer, &d, Duration::from_secs(10));
    assert_eq!(
        (outcome.sent, outcome.dropped, outcome.remaining),
        (3, 0, 0),
        "{outcome:?} {progress:?}"
    );
    assert_eq!(outcome.error, None);
    let got = server.received();
    // a, a again (minimal), then b and c minimal straight away.
    assert_eq!(got.len(), 4, "{progress:?}");
    let delivered: Vec<String> = got[1..]
        .iter()
        .map(|r| span_names(&r.body)[0].clone())
        .collect();
    assert_eq!(delivered, ["a", "b", "c"]);
    assert!(
        progress[0].contains("in the minimal encoding"),
        "{progress:?}"
    );
}

#[test]
fn a_rejection_says_why_in_one_line_naming_the_url_once() {
    let server = Server::strict(&["traceId"]);
    let (_dir, buffer) = unit(&[("a", 10)]);
    let d = dest(server.url("http"), None);
    let (outcome, _) = run(&buffer, &d, Duration::from_secs(10));
    assert_eq!((outcome.sent, outcome.dropped), (0, 1));
    let err = outcome.error.unwrap();
    assert!(
        err.contains(r#"HTTP 400: unknown field "traceId" in v1.Span"#),
        "{err}"
    );
    assert!(!err.contains('\n') && !err.contains(&d.url), "{err}");
    // The warning the next dispatch logs names the URL once.
    let warning = capture_warning(&buffer);
    assert_eq!(warning.matches(&d.url).count(), 1, "{warning}");
    assert!(warning.contains("unknown field"), "{warning}");
}

/// The one WARNING line `report_last_export` logs, captured.
fn capture_warning(buffer: &Buffer) -> String {
    let ((), lines) =
        charmkit::testing::capture_logs(|| charmkit::trace::drain::report_last_export(buffer));
    lines
        .into_iter()
        .filter(|(level, _)| *level == LogLevel::Warning)
        .map(|(_, line)| line)
        .find(|l| l.contains("last export"))
        .unwrap_or_default()
}

#[test]
fn a_server_error_keeps_the_chunk_and_stops() {
    let server = Server::http(500);
    let (_dir, buffer) = unit(&three());
    let d = dest(server.url("http"), None);
    let (outcome, _) = run(&buffer, &d, Duration::from_secs(10));
    // One attempt, not one per chunk nor ten of the same chunk.
    assert_eq!(wire(&server), ["a"]);
    assert_eq!(
        (outcome.sent, outcome.dropped, outcome.remaining),
        (0, 0, 3)
    );
    let err = outcome.error.expect("the failure is recorded");
    assert!(err.contains("500"), "{err}");
    assert_one_line(&err, &d.url);
    // 408 and 429 are retryable too.
    for status in [408, 429, 503] {
        server.set_status(status);
        let (outcome, _) = run(&buffer, &d, Duration::from_secs(10));
        assert_eq!(outcome.remaining, 3, "{status}");
    }
    // The collector recovers: everything goes, the kept chunk first.
    server.set_status(200);
    let (outcome, _) = run(&buffer, &d, Duration::from_secs(10));
    assert_eq!((outcome.sent, outcome.remaining), (3, 0));
    assert_eq!(outcome.error, None);
    assert_eq!(wire(&server), ["a", "a", "a", "a", "a", "b", "c"]);
}

#[test]
fn a_refused_connection_keeps_everything() {
    let url = format!("http://127.0.0.1:{}/v1/traces", refused_port());
    let (_dir, buffer) = unit(&three());
    let (outcome, _) = run(&buffer, &dest(url.clone(), None), Duration::from_secs(5));
    assert_eq!((outcome.sent, outcome.remaining), (0, 3));
    assert_one_line(&outcome.error.unwrap(), &url);
}

#[test]
fn a_collector_that_never_answers_costs_at_most_the_deadline() {
    let server = Server::silent();
    let (_dir, buffer) = unit(&three());
    let start = Instant::now();
    let (outcome, _) = run(
        &buffer,
        &dest(server.url("http"), None),
        Duration::from_millis(800),
    );
    let elapsed = start.elapsed();
    println!("drain against a silent collector returned after {elapsed:?} (deadline 800 ms)");
    assert!(elapsed < Duration::from_millis(1300), "{elapsed:?}");
    assert_eq!(outcome.remaining, 3);
    assert!(outcome.error.is_some());
}

#[test]
fn the_deadline_holds_when_the_collector_stalls_mid_drain() {
    // The first chunk is answered late (600 ms), the second never: the drain must still end by
    // its deadline (1 s), not one full request timeout after the second POST started.
    let server = Server::scripted(
        vec![Step::After(Duration::from_millis(600), 200), Step::Hang],
        200,
    );
    let (_dir, buffer) = unit(&three());
    let start = Instant::now();
    let (outcome, _) = run(
        &buffer,
        &dest(server.url("http"), None),
        Duration::from_secs(1),
    );
    let elapsed = start.elapsed();
    println!("drain with a stalling collector returned after {elapsed:?} (deadline 1 s)");
    assert!(elapsed < Duration::from_millis(1400), "{elapsed:?}");
    assert_eq!(outcome.sent, 1);
    assert_eq!(outcome.remaining, 2);
    assert_eq!(wire(&server), ["a", "b"]);
}

#[test]
fn a_past_deadline_sends_nothing() {
    let server = Server::http(200);
    let (_dir, buffer) = unit(&three());
    let (outcome, _) = run(&buffer, &dest(server.url("http"), None), Duration::ZERO);
    assert_eq!(outcome.sent, 0);
    assert_eq!(outcome.remaining, 3);
    assert!(server.received().is_empty());
}

// ----- HTTPS --------------------------------------------------------------------------------

fn https(chain: Vec<rustls::pki_types::CertificateDer<'static>>, key: &rcgen::KeyPair) -> Server {
    Server::https(200, server_config(chain, key, &[&TLS13, &TLS12]))
}

#[test]
fn https_with_the_right_ca_delivers() {
    let ca = Ca::root("tempo ca");
    let leaf = ca.leaf(IP, false);
    let server = https(vec![leaf.cert.der().clone()], &leaf.key);
    let (_dir, buffer) = unit(&three());
    let (outcome, _) = run(
        &buffer,
        &dest(server.url("https"), Some(ca.pem())),
        Duration::from_secs(10),
    );
    assert_eq!((outcome.sent, outcome.remaining), (3, 0));
    assert_eq!(wire(&server), ["a", "b", "c"]);
}

#[test]
fn https_with_an_intermediate_only_bundle_delivers() {
    let root = Ca::root("root");
    let intermediate = root.intermediate("intermediate");
    let leaf = intermediate.leaf(IP, false);
    let server = https(vec![leaf.cert.der().clone(), intermediate.der()], &leaf.key);
    let (_dir, buffer) = unit(&three());
    let (outcome, _) = run(
        &buffer,
        &dest(server.url("https"), Some(intermediate.pem())),
        Duration::from_secs(10),
    );
    assert_eq!((outcome.sent, outcome.remaining), (3, 0));
    // And the sorted bundle of a CA rotation (old + new), as the requirer builds it.
    let old = Ca::root("old");
    let mut pems = [old.pem(), root.pem()];
    pems.sort();
    buffer.append(&chunk("d"), 10).unwrap();
    let (outcome, _) = run(
        &buffer,
        &dest(server.url("https"), Some(pems.join("\n"))),
        Duration::from_secs(10),
    );
    assert_eq!((outcome.sent, outcome.remaining), (1, 0));
    assert_eq!(wire(&server), ["a", "b", "c", "d"]);
}

#[test]
fn https_failures_send_nothing_keep_the_data_and_record_the_error() {
    let ca = Ca::root("tempo ca");
    let other = Ca::root("someone else");
    let good = ca.leaf(IP, false);
    let expired = ca.leaf(IP, true);
    let wrong_host = ca.leaf(&["tempo.example"], false);
    let cases: Vec<(&str, Server, Option<String>, &str)> = vec![
        (
            "wrong CA",
            https(vec![good.cert.der().clone()], &good.key),
            Some(other.pem()),
            "certificate",
        ),
        (
            "no CA (system roots)",
            https(vec![good.cert.der().clone()], &good.key),
            None,
            "certificate",
        ),
        (
            "expired",
            https(vec![expired.cert.der().clone()], &expired.key),
            Some(ca.pem()),
            "expired",
        ),
        (
            "wrong host",
            https(vec![wrong_host.cert.der().clone()], &wrong_host.key),
            Some(ca.pem()),
            "not valid for name",
        ),
        (
            "not a CA bundle",
            https(vec![good.cert.der().clone()], &good.key),
            Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into()),
            "invalid ca bundle",
        ),
    ];
    for (what, server, ca_pem, expect) in cases {
        let (_dir, buffer) = unit(&three());
        let d = dest(server.url("https"), ca_pem);
        let (outcome, _) = run(&buffer, &d, Duration::from_secs(10));
        assert!(server.received().is_empty(), "{what}: data went out");
        assert_eq!((outcome.sent, outcome.remaining), (0, 3), "{what}");
        let err = outcome.error.unwrap_or_else(|| panic!("{what}: no error"));
        assert!(err.to_lowercase().contains(expect), "{what}: {err}");
        assert_one_line(&err, &d.url);
    }
}

#[test]
fn https_url_is_never_sent_in_clear() {
    // A plain-HTTP server behind an https URL: the handshake fails, nothing readable is sent.
    let server = Server::http(200);
    let (_dir, buffer) = unit(&three());
    let ca = Ca::root("x");
    let (outcome, _) = run(
        &buffer,
        &dest(server.url("https"), Some(ca.pem())),
        Duration::from_secs(5),
    );
    assert_eq!(outcome.remaining, 3);
    assert!(server.received().is_empty());
}

// ----- flush (what `trace flush` runs) -----------------------------------------------------

fn set_destination(dir: &Path, d: Option<Destination>) {
    Buffer::open(dir)
        .unwrap()
        .set_destination(d.as_ref())
        .unwrap();
}

#[test]
fn flush_sends_everything_to_the_stored_destination() {
    let server = Server::http(200);
    let (dir, buffer) = unit(&three());
    set_destination(dir.path(), Some(dest(server.url("http"), None)));
    assert_eq!(flush(dir.path(), Duration::from_secs(10)).unwrap(), 0);
    assert_eq!(chunks(&buffer), 0);
    assert_eq!(wire(&server), ["a", "b", "c"]);
}

#[test]
fn flush_reports_what_remains() {
    let server = Server::http(500);
    let (dir, buffer) = unit(&three());
    set_destination(dir.path(), Some(dest(server.url("http"), None)));
    assert_eq!(flush(dir.path(), Duration::from_secs(10)).unwrap(), 3);
    assert_eq!(chunks(&buffer), 3);
    let last = buffer.last_export().unwrap().unwrap();
    assert!(last.error.unwrap().contains("500"));

    // No destination: nothing sent, the count is reported.
    set_destination(dir.path(), None);
    assert_eq!(flush(dir.path(), Duration::from_secs(10)).unwrap(), 3);
}

#[test]
fn flush_waits_for_a_running_exporter_only_until_its_timeout() {
    let server = Server::http(200);
    let (dir, buffer) = unit(&three());
    set_destination(dir.path(), Some(dest(server.url("http"), None)));
    let held = buffer
        .try_lock_exporter()
        .unwrap()
        .expect("the lock is free");
    let start = Instant::now();
    assert_eq!(flush(dir.path(), Duration::from_millis(300)).unwrap(), 3);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(server.received().is_empty());
    drop(held);
    assert_eq!(flush(dir.path(), Duration::from_secs(10)).unwrap(), 0);
}

#[test]
fn flush_with_a_silent_collector_returns_by_its_timeout() {
    let server = Server::silent();
    let (dir, _buffer) = unit(&three());
    set_destination(dir.path(), Some(dest(server.url("http"), None)));
    let start = Instant::now();
    assert_eq!(flush(dir.path(), Duration::from_millis(700)).unwrap(), 3);
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_millis(1200), "{elapsed:?}");
}

#[test]
fn a_chunk_that_cannot_be_read_is_skipped_and_the_rest_is_sent() {
    let server = Server::http(200);
    let (dir, buffer) = unit(&[("a", 10), ("b", 50)]);
    // A hard link to a chunk elsewhere, with a chunk's name and a higher rank than both: it is
    // read first, refused, and the drain goes on (before, any read error other than corruption
    // stopped every drain at the same place, for good).
    let elsewhere = tempfile::tempdir().unwrap();
    let other = Buffer::open(elsewhere.path()).unwrap();
    let id = other.append(&chunk("OUTSIDE"), 50).unwrap();
    let planted = dir
        .path()
        .join(charmkit::trace::buffer::DIR_NAME)
        .join("p99-000000000000.chunk");
    std::fs::hard_link(
        elsewhere
            .path()
            .join(charmkit::trace::buffer::DIR_NAME)
            .join(format!("{id}.chunk")),
        &planted,
    )
    .unwrap();
    let mut progress = Vec::new();
    let d = dest(server.url("http"), None);
    let outcome = drain(
        &buffer,
        &d,
        Instant::now() + Duration::from_secs(10),
        &mut |m| progress.push(m.to_string()),
    );
    assert_eq!(wire(&server), ["b", "a"]);
    assert_eq!((outcome.sent, outcome.skipped), (2, 1), "{outcome:?}");
    assert!(
        progress.iter().any(|p| p.contains("p99-000000000000")),
        "{progress:?}"
    );
    assert!(planted.exists(), "left in place");
}
