//! `tracing::export::Sender` over plain HTTP against real servers on 127.0.0.1.

use std::time::{Duration, Instant};

use charmkit::trace::export::{ExportError, Outcome, Sender};
use charmkit::trace::otlp;
use charmkit_test_support::collector::{refused_port, Server};
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

const TIMEOUT: Duration = Duration::from_secs(5);

fn body() -> Vec<u8> {
    let resource = Resource::builder_empty()
        .with_attribute(KeyValue::new("service.name", "demo"))
        .build();
    otlp::encode(Vec::new(), &resource)
}

#[test]
fn delivers_otlp_json_over_http() {
    let server = Server::http(200);
    let sender = Sender::new(&server.url("http"), None, TIMEOUT).unwrap();
    assert_eq!(sender.post(&body()), Outcome::Delivered(200));

    let got = server.received();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/traces");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.body, body());
    let decoded = otlp::decode(&req.body).unwrap();
    let attrs = &decoded.resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(attrs[0].key, "service.name");
}

#[test]
fn keeps_the_connection_alive_across_posts() {
    let server = Server::http(200);
    let sender = Sender::new(&server.url("http"), None, TIMEOUT).unwrap();
    for _ in 0..3 {
        assert_eq!(sender.post(&body()), Outcome::Delivered(200));
    }
    assert_eq!(server.received().len(), 3);
    assert_eq!(server.connections(), 1);
}

#[test]
fn classifies_statuses() {
    let server = Server::http(200);
    let sender = Sender::new(&server.url("http"), None, TIMEOUT).unwrap();
    // Expected: Some(true) delivered, Some(false) rejected, None retried.
    let cases: &[(u16, Option<bool>)] = &[
        (200, Some(true)),
        (202, Some(true)),
        (204, Some(true)),
        (400, Some(false)),
        (401, Some(false)),
        (404, Some(false)),
        (413, Some(false)),
        (408, None),
        (429, None),
        (500, None),
        (502, None),
        (503, None),
        (302, None),
    ];
    for (status, ok) in cases {
        server.set_status(*status);
        let outcome = sender.post(&body());
        let ok = match ok {
            Some(true) => outcome == Outcome::Delivered(*status),
            Some(false) => {
                matches!(&outcome, Outcome::Rejected { status: s, reason } if s == status
                    && reason == &format!("status {status}"))
            }
            None => matches!(outcome, Outcome::Retry(_)),
        };
        assert!(ok, "{status} gave {outcome:?}");
        if let Outcome::Retry(msg) = outcome {
            assert!(msg.contains(&server.url("http")), "{msg}");
            assert!(msg.contains(&status.to_string()), "{msg}");
            assert!(!msg.contains('\n'), "{msg:?}");
        }
    }
    // Nothing was followed or repeated: one request per post.
    assert_eq!(server.received().len(), cases.len());
}

#[test]
fn a_collector_that_never_answers_costs_the_timeout() {
    let server = Server::silent();
    let sender = Sender::new(&server.url("http"), None, Duration::from_millis(300)).unwrap();
    let start = Instant::now();
    let outcome = sender.post(&body());
    let elapsed = start.elapsed();
    assert!(matches!(outcome, Outcome::Retry(_)), "{outcome:?}");
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_refused_port_is_retry() {
    let url = format!("http://127.0.0.1:{}/v1/traces", refused_port());
    let sender = Sender::new(&url, None, TIMEOUT).unwrap();
    let start = Instant::now();
    match sender.post(&body()) {
        Outcome::Retry(msg) => assert!(msg.contains(&url), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn only_http_and_https_urls() {
    for url in [
        "ftp://127.0.0.1/v1/traces",
        "127.0.0.1:4318/v1/traces",
        "grpc://tempo:4317",
        "",
    ] {
        let err = Sender::new(url, None, TIMEOUT).unwrap_err();
        assert!(
            matches!(err, ExportError::UnsupportedScheme { .. }),
            "{url}: {err:?}"
        );
        assert!(err.to_string().contains(url), "{err}");
    }
    let err = Sender::new("http:///v1/traces", None, TIMEOUT).unwrap_err();
    assert!(matches!(err, ExportError::InvalidUrl { .. }), "{err:?}");
    let err = Sender::new("http://bad host/v1/traces", None, TIMEOUT).unwrap_err();
    assert!(matches!(err, ExportError::InvalidUrl { .. }), "{err:?}");
    assert!(Sender::new("HTTP://127.0.0.1:1/v1/traces", None, TIMEOUT).is_ok());
}

#[test]
fn bad_ca_bundles_are_errors() {
    let url = "https://tempo.example:4318/v1/traces";
    let garbage = "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n";
    let not_a_cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    for ca in ["", "hello", garbage, not_a_cert] {
        let err = Sender::new(url, Some(ca), TIMEOUT).unwrap_err();
        assert!(
            matches!(err, ExportError::InvalidCa { .. }),
            "{ca:?}: {err:?}"
        );
        assert!(err.to_string().contains(url), "{err}");
    }
    // The CA matters only for https.
    assert!(Sender::new(
        "http://tempo.example:4318/v1/traces",
        Some("hello"),
        TIMEOUT
    )
    .is_ok());
}
