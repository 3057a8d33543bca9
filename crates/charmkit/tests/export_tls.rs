//! `tracing::export::Sender` over HTTPS against rustls servers on 127.0.0.1 with rcgen-made
//! certificates.

use std::time::{Duration, Instant};

use charmkit::trace::export::{Outcome, Sender};
use charmkit_test_support::collector::{Handshake, Server};
use charmkit_test_support::pki::{server_config, Ca};
use rustls::version::{TLS12, TLS13};

const TIMEOUT: Duration = Duration::from_secs(5);
const BODY: &[u8] = br#"{"resourceSpans":[]}"#;
const IP: &[&str] = &["127.0.0.1"];

/// An HTTPS server whose certificate (for 127.0.0.1) is issued directly by `ca`.
fn https_server(ca: &Ca) -> Server {
    let leaf = ca.leaf(IP, false);
    Server::https(
        200,
        server_config(vec![leaf.cert.der().clone()], &leaf.key, &[&TLS13, &TLS12]),
    )
}

fn post(server: &Server, ca: Option<&str>) -> Outcome {
    Sender::new(&server.url("https"), ca, TIMEOUT)
        .unwrap()
        .post(BODY)
}

fn assert_retry(outcome: Outcome, server: &Server) -> String {
    match outcome {
        Outcome::Retry(msg) => {
            assert!(msg.contains(&server.url("https")), "{msg}");
            assert!(server.received().is_empty(), "the server got the body");
            msg
        }
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[test]
fn right_ca_delivers_with_alpn_http11() {
    let ca = Ca::root("test root");
    let server = https_server(&ca);
    assert_eq!(post(&server, Some(&ca.pem())), Outcome::Delivered(200));
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, BODY);
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    match &server.handshakes()[..] {
        [Handshake::Done { alpn, version }] => {
            assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
            assert_eq!(*version, rustls::ProtocolVersion::TLSv1_3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn keeps_the_tls_connection_alive() {
    let ca = Ca::root("test root");
    let server = https_server(&ca);
    let sender = Sender::new(&server.url("https"), Some(&ca.pem()), TIMEOUT).unwrap();
    for _ in 0..3 {
        assert_eq!(sender.post(BODY), Outcome::Delivered(200));
    }
    assert_eq!(server.connections(), 1);
    assert_eq!(server.handshakes().len(), 1);
}

#[test]
fn status_classification_over_tls() {
    let ca = Ca::root("test root");
    let server = https_server(&ca);
    let sender = Sender::new(&server.url("https"), Some(&ca.pem()), TIMEOUT).unwrap();
    server.set_status(400);
    assert!(matches!(
        sender.post(BODY),
        Outcome::Rejected { status: 400, .. }
    ));
    server.set_status(503);
    assert!(matches!(sender.post(BODY), Outcome::Retry(_)));
}

#[test]
fn wrong_ca_is_retry_and_sends_nothing() {
    let ca = Ca::root("test root");
    let other = Ca::root("other root");
    let server = https_server(&ca);
    let msg = assert_retry(post(&server, Some(&other.pem())), &server);
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");
}

#[test]
fn system_roots_do_not_trust_a_private_ca() {
    let ca = Ca::root("test root");
    let server = https_server(&ca);
    assert_retry(post(&server, None), &server);
}

#[test]
fn expired_certificate_is_retry() {
    let ca = Ca::root("test root");
    let leaf = ca.leaf(IP, true);
    let server = Server::https(
        200,
        server_config(vec![leaf.cert.der().clone()], &leaf.key, &[&TLS13, &TLS12]),
    );
    let msg = assert_retry(post(&server, Some(&ca.pem())), &server);
    assert!(msg.to_lowercase().contains("expired"), "{msg}");
}

#[test]
fn certificate_for_another_host_is_retry() {
    let ca = Ca::root("test root");
    let leaf = ca.leaf(&["tempo.example", "10.1.2.3"], false);
    let server = Server::https(
        200,
        server_config(vec![leaf.cert.der().clone()], &leaf.key, &[&TLS13, &TLS12]),
    );
    let msg = assert_retry(post(&server, Some(&ca.pem())), &server);
    assert!(msg.to_lowercase().contains("not valid for name"), "{msg}");
}

#[test]
fn an_intermediate_alone_is_a_trust_anchor() {
    let root = Ca::root("test root");
    let intermediate = root.intermediate("test intermediate");
    let leaf = intermediate.leaf(IP, false);
    let chain = vec![leaf.cert.der().clone(), intermediate.der()];
    let server = Server::https(200, server_config(chain, &leaf.key, &[&TLS13, &TLS12]));
    // Only the intermediate, only the root, both: all verify.
    assert_eq!(
        post(&server, Some(&intermediate.pem())),
        Outcome::Delivered(200)
    );
    assert_eq!(post(&server, Some(&root.pem())), Outcome::Delivered(200));
    let both = format!("{}\n{}", root.pem(), intermediate.pem());
    assert_eq!(post(&server, Some(&both)), Outcome::Delivered(200));
    // A bundle after a CA rotation (old and new CA) still verifies.
    let old = Ca::root("old root");
    let rotated = format!("{}\n{}", old.pem(), root.pem());
    assert_eq!(post(&server, Some(&rotated)), Outcome::Delivered(200));
    assert_eq!(server.received().len(), 4);
}

#[test]
fn tls12_and_tls13_only_servers_both_work() {
    let ca = Ca::root("test root");
    for (version, expected) in [
        (&TLS12, rustls::ProtocolVersion::TLSv1_2),
        (&TLS13, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let leaf = ca.leaf(IP, false);
        let server = Server::https(
            200,
            server_config(vec![leaf.cert.der().clone()], &leaf.key, &[version]),
        );
        assert_eq!(post(&server, Some(&ca.pem())), Outcome::Delivered(200));
        match &server.handshakes()[..] {
            [Handshake::Done { alpn, version }] => {
                assert_eq!(*version, expected);
                assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
            }
            other => panic!("{other:?}"),
        }
    }
}

/// A server that answers the ClientHello with a TLS 1.1 ServerHello
/// (TLS_RSA_WITH_AES_128_CBC_SHA, no extensions): the client must refuse it.
#[test]
fn a_tls11_server_is_refused() {
    let mut hello = vec![
        0x16, 0x03, 0x02, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x02,
    ];
    hello.extend_from_slice(&[0x42; 32]); // server random
    hello.extend_from_slice(&[0x00, 0x00, 0x2f, 0x00]); // no session id, suite, no compression
    let server = Server::raw(hello);
    let ca = Ca::root("test root");
    let msg = assert_retry(post(&server, Some(&ca.pem())), &server);
    assert!(msg.to_lowercase().contains("tls"), "{msg}");
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_server_that_never_handshakes_costs_the_timeout() {
    let server = Server::silent();
    let ca = Ca::root("test root");
    let sender = Sender::new(
        &server.url("https"),
        Some(&ca.pem()),
        Duration::from_millis(300),
    )
    .unwrap();
    let start = Instant::now();
    let outcome = sender.post(BODY);
    let elapsed = start.elapsed();
    assert!(matches!(outcome, Outcome::Retry(_)), "{outcome:?}");
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}
