//! The tracing relations end to end through the state-in/state-out harness: a tiny charm that
//! calls `Tracing::setup` as the reference charm does, dispatched against the fake Juju.
//!
//! - our side of `tracing` v2 and `certificate_transfer` v1, byte for byte, leader and not;
//! - the destination the exporter gets (read back from the unit's buffer directory);
//! - misuse of `Tracing::setup` is a clear `Error::Usage`;
//! - a corpus of bad provider data never panics, never fails the hook, gives no destination and
//!   exactly one `tracing: no destination` line per dispatch.

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use charmkit::context::JujuContext;
use charmkit::framework::{Charm, Framework};
use charmkit::hookcmd::{LogLevel, ToolCall};
use charmkit::meta::Metadata;
use charmkit::model::Model;
use charmkit::state::StoredState;
use charmkit::testing::{run, run_in, FakeJuju, Output, Relation, State, Trigger};
use charmkit::trace::buffer::{Buffer, Destination};
use charmkit::tracing::{CaSource, Tracing};
use charmkit::Error;

/// The reference charm's metadata, exactly: both relations as it declares them.
const METADATA: &str = include_str!("../../../metadata.yaml");

const UNIT: &str = "rust-starter/0";
const APP: &str = "rust-starter";
const TRACING: &str = "charm-tracing";
const CA: &str = "receive-ca-cert";
const TRACING_ID: u32 = 5;
const CA_ID: u32 = 8;

/// The provider databag of relation-interfaces.md, verbatim.
const DOC_RECEIVERS: &str = r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo.cos.svc.cluster.local:4317"}, {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo.cos.svc.cluster.local:4318"}]"#;
const HTTPS_RECEIVERS: &str = r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo.cos.svc.cluster.local:4317"}, {"protocol": {"name": "otlp_http", "type": "http"}, "url": "https://tempo.cos.svc.cluster.local:4318/"}]"#;

/// Two real CA certificates (a destination's CA bundle is parsed when it is reconciled).
fn cert(which: usize) -> &'static str {
    static CERTS: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    let certs = CERTS.get_or_init(|| {
        ["ca-a", "ca-b"].map(|name| {
            rcgen::generate_simple_self_signed(vec![name.to_string()])
                .unwrap()
                .cert
                .pem()
                .trim_end()
                .to_string()
        })
    });
    &certs[which]
}

fn cert_a() -> &'static str {
    cert(0)
}

fn cert_b() -> &'static str {
    cert(1)
}

/// The test charm: one line of tracing, nothing else.
struct Traced;

impl Charm for Traced {
    fn new(fw: &mut Framework<Self>) -> charmkit::Result<Self> {
        Tracing::setup(fw, TRACING, CaSource::Relation(CA))?;
        Ok(Traced)
    }
}

fn meta() -> Metadata {
    Metadata::from_yaml(None, Some(METADATA), None, None).unwrap()
}

fn unit(leader: bool) -> State {
    State::new(UNIT).with_leader(leader)
}

fn tempo(receivers: Option<&str>) -> Relation {
    let rel = Relation::new(TRACING, TRACING_ID, "tempo")
        .with_remote_unit("tempo/0", BTreeMap::<String, String>::new());
    match receivers {
        Some(r) => rel.with_remote_app_data([("receivers", r)]),
        None => rel,
    }
}

fn ca_relation(app_data: &[(&str, &str)]) -> Relation {
    Relation::new(CA, CA_ID, "self-signed-certificates")
        .with_remote_unit(
            "self-signed-certificates/0",
            BTreeMap::<String, String>::new(),
        )
        .with_remote_app_data(app_data.iter().copied())
}

/// The trigger for relation event `what` (`created`, `joined`, `changed`, `departed`,
/// `broken`) on `rel`, as the state holds it; departed is about its first remote unit.
fn on(rel: &Relation, what: &str) -> Trigger {
    match what {
        "created" => Trigger::relation_created(rel),
        "joined" => Trigger::relation_joined(rel),
        "changed" => Trigger::relation_changed(rel),
        "departed" => {
            let unit = rel.remote_units_data.keys().next().expect("a remote unit");
            Trigger::relation_departed(rel, unit)
        }
        "broken" => Trigger::relation_broken(rel),
        other => panic!("no relation event {other:?}"),
    }
}

fn bag(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn local_app_data(out: &Output, id: u32) -> &BTreeMap<String, String> {
    &out.state
        .relation(id)
        .expect("relation still there")
        .local_app_data
}

fn line(c: &ToolCall) -> String {
    format!("{} {}", c.tool, c.args.join(" "))
}

fn ok(out: &Output) {
    assert!(
        out.error.is_none(),
        "the hook failed: {:?}\n{}",
        out.error,
        out.render()
    );
    assert!(
        !out.logs.iter().any(|(_, m)| m.contains("permission denied")
            || m.contains("cannot write relation settings")),
        "{:?}",
        out.logs
    );
}

/// Calls that touch our own application databag (what Juju refuses a non-leader).
fn own_app_databag_calls(out: &Output) -> Vec<String> {
    out.calls
        .iter()
        .filter(|c| {
            (c.tool == "relation-set" && c.args.iter().any(|a| a == "--app"))
                || (c.tool == "relation-get"
                    && c.args.iter().any(|a| a == "--app")
                    && c.args.last().map(String::as_str) == Some(APP))
        })
        .map(line)
        .collect()
}

fn no_destination_lines(out: &Output) -> usize {
    out.logs
        .iter()
        .filter(|(_, m)| m.contains("tracing: no destination"))
        .count()
}

fn destination(charm_dir: &Path) -> Option<Destination> {
    Buffer::open(charm_dir).unwrap().destination().unwrap()
}

fn relation_sets(out: &Output) -> Vec<String> {
    out.calls_of("relation-set").map(line).collect()
}

// ----- 1. our side of the contracts --------------------------------------------------------

/// One dispatch of the test charm against `dir`, which must succeed.
fn run_ok(dir: &Path, trigger: Trigger, state: State) -> Output {
    let out = run_in::<Traced>(dir, &meta(), trigger, state);
    ok(&out);
    out
}

#[test]
fn leader_publishes_receivers_on_created_joined_changed() {
    for what in ["created", "joined", "changed"] {
        let out = run::<Traced>(
            &meta(),
            on(&tempo(None), what),
            unit(true).with_relation(tempo(None)),
        );
        ok(&out);
        assert_eq!(
            local_app_data(&out, TRACING_ID),
            &bag(&[("receivers", "[\"otlp_http\"]")]),
            "after {what}"
        );
        // Exactly the text of the contract, once, on stdin.
        let sets: Vec<&ToolCall> = out.calls_of("relation-set").collect();
        assert_eq!(sets.len(), 1, "{what}: {:?}", relation_sets(&out));
        assert_eq!(
            sets[0].args,
            ["-r", "charm-tracing:5", "--app", "--file", "-"],
            "{what}"
        );
        let stdin: BTreeMap<String, String> =
            serde_json::from_slice(sets[0].stdin.as_deref().unwrap()).unwrap();
        assert_eq!(stdin, bag(&[("receivers", r#"["otlp_http"]"#)]), "{what}");
        assert!(out.observed, "{what}");
    }
}

#[test]
fn leader_keeps_other_keys_and_rewrites_receivers_on_created_only_when_needed() {
    // created always writes (and keeps other keys).
    let out = run::<Traced>(
        &meta(),
        on(&tempo(None), "created"),
        unit(true).with_relation(tempo(None).with_local_app_data([("other", "x")])),
    );
    ok(&out);
    assert_eq!(
        local_app_data(&out, TRACING_ID),
        &bag(&[("other", "x"), ("receivers", r#"["otlp_http"]"#)])
    );

    // joined/changed with receivers already there: nothing written.
    for what in ["joined", "changed"] {
        let out = run::<Traced>(
            &meta(),
            on(&tempo(None), what),
            unit(true).with_relation(
                tempo(Some(DOC_RECEIVERS))
                    .with_local_app_data([("receivers", r#"["otlp_http"]"#), ("other", "x")]),
            ),
        );
        ok(&out);
        assert!(relation_sets(&out).is_empty(), "{what}: {:?}", out.calls);
        assert_eq!(
            local_app_data(&out, TRACING_ID),
            &bag(&[("other", "x"), ("receivers", r#"["otlp_http"]"#)])
        );
    }

    // A stale value (e.g. from an older charm revision) is corrected.
    let out = run::<Traced>(
        &meta(),
        on(&tempo(None), "changed"),
        unit(true).with_relation(
            tempo(Some(DOC_RECEIVERS)).with_local_app_data([("receivers", r#"["otlp_grpc"]"#)]),
        ),
    );
    ok(&out);
    assert_eq!(relation_sets(&out).len(), 1);
    assert_eq!(
        local_app_data(&out, TRACING_ID),
        &bag(&[("receivers", r#"["otlp_http"]"#)])
    );

    // departed and broken never write.
    for what in ["departed", "broken"] {
        let out = run::<Traced>(
            &meta(),
            on(&tempo(None), what),
            unit(true).with_relation(tempo(Some(DOC_RECEIVERS))),
        );
        ok(&out);
        assert!(relation_sets(&out).is_empty(), "{what}: {:?}", out.calls);
    }
}

#[test]
fn leader_publishes_ca_version_on_created_keeping_other_keys() {
    let out = run::<Traced>(
        &meta(),
        on(&ca_relation(&[]), "created"),
        unit(true).with_relation(ca_relation(&[])),
    );
    ok(&out);
    assert_eq!(local_app_data(&out, CA_ID), &bag(&[("version", "1")]));
    let sets: Vec<&ToolCall> = out.calls_of("relation-set").collect();
    assert_eq!(sets.len(), 1);
    assert_eq!(
        sets[0].args,
        ["-r", "receive-ca-cert:8", "--app", "--file", "-"]
    );
    assert!(out.observed);

    let out = run::<Traced>(
        &meta(),
        on(&ca_relation(&[]), "created"),
        unit(true).with_relation(ca_relation(&[]).with_local_app_data([("keep", "me")])),
    );
    ok(&out);
    assert_eq!(
        local_app_data(&out, CA_ID),
        &bag(&[("keep", "me"), ("version", "1")])
    );

    // Only created writes `version`.
    for what in ["joined", "changed", "departed", "broken"] {
        let out = run::<Traced>(
            &meta(),
            on(&ca_relation(&[]), what),
            unit(true).with_relation(ca_relation(&[])),
        );
        ok(&out);
        assert!(relation_sets(&out).is_empty(), "{what}: {:?}", out.calls);
    }
}

#[test]
fn non_leader_never_touches_its_own_app_databag() {
    let cases: Vec<(Trigger, u32)> = ["created", "joined", "changed", "departed", "broken"]
        .iter()
        .flat_map(|what| {
            [
                (on(&tempo(None), what), TRACING_ID),
                (on(&ca_relation(&[]), what), CA_ID),
            ]
        })
        .chain([
            (Trigger::hook("start"), 0),
            (Trigger::hook("upgrade-charm"), 0),
        ])
        .collect();
    for (trigger, id) in cases {
        let path = trigger.path.clone();
        let out = run::<Traced>(
            &meta(),
            trigger,
            unit(false)
                .with_relation(tempo(Some(HTTPS_RECEIVERS)))
                .with_relation(ca_relation(&[(
                    "certificates",
                    &serde_json::to_string(&[cert_a()]).unwrap(),
                )])),
        );
        ok(&out);
        assert_eq!(own_app_databag_calls(&out), Vec::<String>::new(), "{path}");
        if id != 0 {
            assert!(local_app_data(&out, id).is_empty(), "{path}");
        }
        assert!(out.observed, "{path}");
    }

    // The fake does refuse a non-leader: the check above is not vacuous.
    let juju = FakeJuju::new(unit(false).with_relation(tempo(None)));
    let rid = charmkit::hookcmd::RelationId::new(TRACING, TRACING_ID);
    let err = juju
        .hook()
        .relation_set(&rid, true, &bag(&[("receivers", "x")]))
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot write relation settings"),
        "{err}"
    );
}

#[test]
fn non_leader_still_gets_its_destination() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(
        dir.path(),
        on(&tempo(None), "changed"),
        unit(false).with_relation(tempo(Some(DOC_RECEIVERS))),
    );
    assert_eq!(own_app_databag_calls(&out), Vec::<String>::new());
    assert_eq!(
        destination(dir.path()),
        Some(Destination {
            url: "http://tempo.cos.svc.cluster.local:4318/v1/traces".into(),
            ca: None
        })
    );
}

// ----- 2. destination reconciliation -----------------------------------------------------

#[test]
fn doc_databag_gives_the_http_destination() {
    for trigger in [
        on(&tempo(None), "changed"),
        on(&tempo(None), "joined"),
        Trigger::hook("start"),
        Trigger::hook("upgrade-charm"),
    ] {
        let path = trigger.path.clone();
        let dir = tempfile::tempdir().unwrap();
        let out = run_ok(
            dir.path(),
            trigger,
            unit(true).with_relation(tempo(Some(DOC_RECEIVERS))),
        );
        assert!(out.observed, "{path}");
        assert_eq!(
            destination(dir.path()),
            Some(Destination {
                url: "http://tempo.cos.svc.cluster.local:4318/v1/traces".into(),
                ca: None
            }),
            "{path}"
        );
        assert!(
            out.logs.iter().any(|(l, m)| *l == LogLevel::Info
                && m == "tracing: sending trace data to http://tempo.cos.svc.cluster.local:4318/v1/traces"),
            "{path}: {:?}",
            out.logs
        );
        assert_eq!(no_destination_lines(&out), 0, "{path}");
    }
}

#[test]
fn unobserved_events_leave_the_destination_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(
        dir.path(),
        Trigger::hook("update-status"),
        unit(true).with_relation(tempo(Some(DOC_RECEIVERS))),
    );
    assert!(!out.observed);
    assert!(out.calls_of("relation-get").next().is_none());
    assert_eq!(destination(dir.path()), None);
}

#[test]
fn https_with_ca_gives_the_sorted_bundle() {
    // Any order from the provider; the bundle is sorted and joined with "\n".
    let certs = serde_json::to_string(&[cert_b(), cert_a()]).unwrap();
    let want = Some(Destination {
        url: "https://tempo.cos.svc.cluster.local:4318/v1/traces".into(),
        ca: Some({
            let mut both = [cert_a(), cert_b()];
            both.sort();
            both.join("\n")
        }),
    });
    for (trigger, version) in [
        (on(&ca_relation(&[]), "changed"), Some("1")),
        (on(&tempo(None), "changed"), None),
        (Trigger::hook("start"), Some("1")),
    ] {
        let path = trigger.path.clone();
        let dir = tempfile::tempdir().unwrap();
        let mut ca_data = vec![("certificates", certs.as_str())];
        if let Some(v) = version {
            ca_data.push(("version", v));
        }
        let out = run_ok(
            dir.path(),
            trigger,
            unit(true)
                .with_relation(tempo(Some(HTTPS_RECEIVERS)))
                .with_relation(ca_relation(&ca_data)),
        );
        assert_eq!(destination(dir.path()), want, "{path}");
        assert!(out.observed, "{path}");
    }
}

/// A receive-ca-cert-relation-changed whose provider gives `certificates`, with Tempo's https
/// receivers related.
fn ca_changed(dir: &Path, certificates: &str) -> Output {
    run_ok(
        dir,
        on(&ca_relation(&[]), "changed"),
        unit(true)
            .with_relation(tempo(Some(HTTPS_RECEIVERS)))
            .with_relation(ca_relation(&[("certificates", certificates)])),
    )
}

#[test]
fn a_private_key_in_the_ca_bundle_is_never_stored() {
    // A provider that put its key in beside the CA: the destination works with the certificate,
    // the key is left out of what is stored beside the buffer, and a warning says so without
    // quoting it.
    let key = "-----BEGIN PRIVATE KEY-----\nS0VZLU1BVEVSSUFM\n-----END PRIVATE KEY-----";
    let certs = serde_json::to_string(&[format!("{}\n{key}", cert_a())]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = ca_changed(dir.path(), &certs);
    let dest = destination(dir.path()).expect("an https destination");
    assert_eq!(dest.ca.as_deref().map(str::trim), Some(cert_a().trim()));
    let mut stored = Vec::new();
    for entry in
        charmkit_test_support::files_under(&dir.path().join(charmkit::trace::buffer::DIR_NAME))
    {
        stored.extend(std::fs::read(entry).unwrap());
    }
    let stored = String::from_utf8_lossy(&stored);
    assert!(
        stored.contains("BEGIN CERTIFICATE"),
        "is the bundle stored at all?"
    );
    assert!(!stored.contains("S0VZLU1BVEVSSUFM") && !stored.contains("PRIVATE KEY"));
    let warnings: Vec<_> = out
        .logs
        .iter()
        .filter(|(l, m)| *l == LogLevel::Warning && m.contains("PRIVATE KEY"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", out.logs);
    assert!(!out.logs.iter().any(|(_, m)| m.contains("S0VZLU1BVEVSSUFM")));
}

#[test]
fn https_without_a_ca_yet_gives_no_destination() {
    let certs = serde_json::to_string(&[cert_a()]).unwrap();
    let cases: Vec<(&str, State)> = vec![
        (
            "no CA relation",
            unit(true).with_relation(tempo(Some(HTTPS_RECEIVERS))),
        ),
        (
            "CA relation, nothing published",
            unit(true)
                .with_relation(tempo(Some(HTTPS_RECEIVERS)))
                .with_relation(ca_relation(&[])),
        ),
        (
            "CA relation, only our version key",
            unit(true)
                .with_relation(tempo(Some(HTTPS_RECEIVERS)))
                .with_relation(ca_relation(&[("version", "1")])),
        ),
    ];
    for (what, state) in cases {
        let dir = tempfile::tempdir().unwrap();
        // A destination from earlier is taken away.
        Buffer::open(dir.path())
            .unwrap()
            .set_destination(Some(&Destination {
                url: "https://old:4318/v1/traces".into(),
                ca: Some(certs.clone()),
            }))
            .unwrap();
        let out = run_ok(dir.path(), on(&tempo(None), "changed"), state);
        assert_eq!(destination(dir.path()), None, "{what}");
        assert_eq!(no_destination_lines(&out), 1, "{what}: {:?}", out.logs);
    }
}

#[test]
fn relation_broken_removes_the_destination_without_reading_the_broken_relation() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        dir.path(),
        on(&tempo(None), "changed"),
        unit(true).with_relation(tempo(Some(DOC_RECEIVERS))),
    );
    assert!(destination(dir.path()).is_some());

    for leader in [true, false] {
        let out = run_ok(
            dir.path(),
            on(&tempo(None), "broken"),
            unit(leader).with_relation(tempo(Some(DOC_RECEIVERS))),
        );
        assert!(out.observed);
        assert_eq!(destination(dir.path()), None, "leader={leader}");
        let touching: Vec<String> = out
            .calls
            .iter()
            .filter(|c| {
                c.tool.starts_with("relation-")
                    && c.tool != "relation-ids"
                    && c.args.iter().any(|a| a == "charm-tracing:5" || a == "5")
            })
            .map(line)
            .collect();
        assert_eq!(touching, Vec::<String>::new(), "leader={leader}");
        assert_eq!(no_destination_lines(&out), 1, "{:?}", out.logs);
        // Put it back for the non-leader round.
        Buffer::open(dir.path())
            .unwrap()
            .set_destination(Some(&Destination {
                url: "http://x:4318/v1/traces".into(),
                ca: None,
            }))
            .unwrap();
    }
}

#[test]
fn ca_relation_broken_removes_an_https_destination() {
    let certs = serde_json::to_string(&[cert_a()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = unit(true)
        .with_relation(tempo(Some(HTTPS_RECEIVERS)))
        .with_relation(ca_relation(&[("certificates", &certs)]));
    run_ok(dir.path(), on(&ca_relation(&[]), "changed"), state.clone());
    assert_eq!(
        destination(dir.path()).and_then(|d| d.ca).as_deref(),
        Some(cert_a())
    );
    let out = run_ok(dir.path(), on(&ca_relation(&[]), "broken"), state);
    assert_eq!(destination(dir.path()), None);
    assert!(
        !out.calls.iter().any(|c| c.tool.starts_with("relation-")
            && c.tool != "relation-ids"
            && c.args.iter().any(|a| a == "receive-ca-cert:8")),
        "{:?}",
        out.calls
    );
}

#[test]
fn a_second_tracing_relation_would_not_be_read_when_broken() {
    // Juju keeps `limit: 1` only as a hint; if two relations exist, the live one is used.
    let dir = tempfile::tempdir().unwrap();
    let other = Relation::new(TRACING, 6, "tempo2")
        .with_remote_unit("tempo2/0", BTreeMap::<String, String>::new())
        .with_remote_app_data([(
            "receivers",
            r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo2:4318"}]"#,
        )]);
    run_ok(
        dir.path(),
        on(&tempo(None), "broken"),
        unit(true)
            .with_relation(tempo(Some(DOC_RECEIVERS)))
            .with_relation(other),
    );
    assert_eq!(
        destination(dir.path()).map(|d| d.url).as_deref(),
        Some("http://tempo2:4318/v1/traces")
    );
}

// ----- misuse of Tracing::setup --------------------------------------------------------------

fn setup_with(yaml: &str, ca: CaSource<'_>) -> charmkit::Result<Tracing> {
    struct Probe;
    let meta = Metadata::from_yaml(Some(yaml), None, None, None).unwrap();
    let model = Model::new(
        JujuContext {
            unit_name: UNIT.into(),
            ..JujuContext::default()
        },
        meta,
        Rc::new(FakeJuju::new(unit(true))),
    );
    let mut fw = Framework::<Probe>::new(Rc::new(model), StoredState::default());
    Tracing::setup(&mut fw, TRACING, ca)
}

#[test]
fn misuse_is_a_clear_usage_error() {
    let ok_ca = "  receive-ca-cert:\n    interface: certificate_transfer\n    limit: 1\n";
    let cases: &[(&str, String, &str)] = &[
        (
            "missing",
            format!("name: t\nrequires:\n{ok_ca}"),
            "\"charm-tracing\" is not declared",
        ),
        (
            "provides",
            format!(
                "name: t\nprovides:\n  charm-tracing:\n    interface: tracing\n    limit: 1\nrequires:\n{ok_ca}"
            ),
            "must be declared under `requires:`",
        ),
        (
            "peer",
            format!(
                "name: t\npeers:\n  charm-tracing:\n    interface: tracing\nrequires:\n{ok_ca}"
            ),
            "must be declared under `requires:`",
        ),
        (
            "wrong interface",
            format!(
                "name: t\nrequires:\n  charm-tracing:\n    interface: tempo\n    limit: 1\n{ok_ca}"
            ),
            "must have `interface: tracing`",
        ),
        (
            "no limit",
            format!("name: t\nrequires:\n  charm-tracing:\n    interface: tracing\n{ok_ca}"),
            "must declare `limit: 1`",
        ),
        (
            "limit 2",
            format!(
                "name: t\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: 2\n{ok_ca}"
            ),
            "must declare `limit: 1`",
        ),
        (
            "CA relation missing",
            "name: t\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: 1\n".into(),
            "\"receive-ca-cert\" is not declared",
        ),
        (
            "CA relation wrong interface",
            "name: t\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: 1\n  receive-ca-cert:\n    interface: tls-certificates\n    limit: 1\n".into(),
            "must have `interface: certificate_transfer`",
        ),
        (
            "CA relation without limit",
            "name: t\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: 1\n  receive-ca-cert:\n    interface: certificate_transfer\n".into(),
            "\"receive-ca-cert\" must declare `limit: 1`",
        ),
    ];
    for (what, yaml, expect) in cases {
        match setup_with(yaml, CaSource::Relation(CA)) {
            Err(Error::Usage(msg)) => {
                assert!(msg.contains(expect), "{what}: {msg}");
                assert!(msg.starts_with("Tracing: "), "{what}: {msg}");
            }
            other => panic!("{what}: expected Error::Usage, got {other:?}"),
        }
        // Through the harness: C::new fails, so the hook fails with that message.
        let meta = Metadata::from_yaml(Some(yaml), None, None, None).unwrap();
        // The unit of the charm under test (named after the metadata).
        let out = run::<Traced>(&meta, Trigger::start(), State::default().with_leader(true));
        let err = out
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{what}"))
            .to_string();
        assert!(err.contains(expect), "{what}: {err}");
        assert!(out.calls_of("relation-set").next().is_none(), "{what}");
    }
    // The reference charm's metadata is accepted; a bundle must hold a PEM certificate.
    assert!(setup_with(METADATA, CaSource::Relation(CA)).is_ok());
    assert!(setup_with(METADATA, CaSource::SystemRoots).is_ok());
    assert!(matches!(
        setup_with(METADATA, CaSource::Bundle("not a cert")),
        Err(Error::Usage(_))
    ));
}

// ----- 3. the relation-data corpus ---------------------------------------------------------

fn otlp_url(url_json: &str) -> String {
    format!(r#"[{{"protocol": {{"name": "otlp_http", "type": "http"}}, "url": {url_json}}}]"#)
}

/// Provider `receivers` values that must give no destination (None: key absent).
fn bad_receivers() -> Vec<(String, Option<String>)> {
    let huge_url = format!("\"http://{}.example:4318\"", "a".repeat(1 << 20));
    let s = |v: &str| Some(v.to_string());
    vec![
        ("absent".into(), None),
        ("empty".into(), s("")),
        ("whitespace".into(), s("   ")),
        ("null".into(), s("null")),
        ("true".into(), s("true")),
        ("number".into(), s("4318")),
        ("float".into(), s("1e999")),
        ("string".into(), s("\"otlp_http\"")),
        ("object".into(), s("{}")),
        ("empty list".into(), s("[]")),
        ("list of null".into(), s("[null]")),
        ("list of numbers".into(), s("[1, 2, 3]")),
        ("list of strings".into(), s(r#"["otlp_http"]"#)),
        (
            "double-encoded".into(),
            Some(serde_json::to_string(DOC_RECEIVERS).unwrap()),
        ),
        (
            "nested string url".into(),
            s(&otlp_url(r#""\"http://tempo:4318\"""#)),
        ),
        ("url a number".into(), s(&otlp_url("4318"))),
        ("url null".into(), s(&otlp_url("null"))),
        ("url an object".into(), s(&otlp_url(r#"{"http": "x"}"#))),
        (
            "protocol a string".into(),
            s(r#"[{"protocol": "otlp_http", "url": "http://tempo:4318"}]"#),
        ),
        (
            "no url".into(),
            s(r#"[{"protocol": {"name": "otlp_http", "type": "http"}}]"#),
        ),
        (
            "only grpc".into(),
            s(r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo:4317"}]"#),
        ),
        ("invalid JSON".into(), s("[{\"protocol\": ")),
        (
            "truncated".into(),
            s(&DOC_RECEIVERS[..DOC_RECEIVERS.len() - 3]),
        ),
        ("trailing garbage".into(), s(&format!("{DOC_RECEIVERS} x"))),
        (
            "python repr".into(),
            s("[{'protocol': {'name': 'otlp_http'}}]"),
        ),
        (
            "lone surrogate".into(),
            s(&otlp_url(r#""http://\ud800:4318""#)),
        ),
        (
            "lone surrogate name".into(),
            s(r#"[{"protocol": {"name": "otlp_\udfff", "type": "http"}, "url": "http://t:4318"}]"#),
        ),
        (
            "NUL in url".into(),
            s(&otlp_url(r#""http://t\u0000:4318""#)),
        ),
        (
            "newline in url".into(),
            s(&otlp_url(r#""http://t:4318\n""#)),
        ),
        (
            "non-ASCII host".into(),
            s(&otlp_url("\"http://tempö:4318\"")),
        ),
        ("grpc scheme".into(), s(&otlp_url(r#""grpc://tempo:4317""#))),
        ("ftp scheme".into(), s(&otlp_url(r#""ftp://tempo:4318""#))),
        ("no scheme".into(), s(&otlp_url(r#""tempo:4318""#))),
        (
            "upper-case scheme".into(),
            s(&otlp_url(r#""HTTP://tempo:4318""#)),
        ),
        ("empty url".into(), s(&otlp_url(r#""""#))),
        ("scheme only".into(), s(&otlp_url(r#""http://""#))),
        ("slashes only".into(), s(&otlp_url(r#""https:////""#))),
        ("query".into(), s(&otlp_url(r#""http://tempo:4318?x=1""#))),
        (
            "javascript".into(),
            s(&otlp_url(r#""javascript:alert(1)""#)),
        ),
        ("huge url".into(), Some(otlp_url(&huge_url))),
        ("huge garbage".into(), Some("[".repeat(1 << 20))),
        (
            "deeply nested".into(),
            Some(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))),
        ),
        (
            "huge list".into(),
            Some(format!(
                "[{}]",
                vec![
                    r#"{"protocol": {"name": "zipkin", "type": "http"}, "url": "http://z:9411"}"#;
                    20_000
                ]
                .join(",")
            )),
        ),
    ]
}

#[test]
fn corpus_of_bad_receivers_gives_no_destination_and_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (what, value) in bad_receivers() {
        for leader in [true, false] {
            // Each round starts from a stored destination that must go away.
            Buffer::open(dir.path())
                .unwrap()
                .set_destination(Some(&Destination {
                    url: "http://previous:4318/v1/traces".into(),
                    ca: None,
                }))
                .unwrap();
            let out = run_ok(
                dir.path(),
                on(&tempo(None), "changed"),
                unit(leader).with_relation(tempo(value.as_deref())),
            );
            assert_eq!(destination(dir.path()), None, "{what} (leader={leader})");
            assert_eq!(
                no_destination_lines(&out),
                1,
                "{what} (leader={leader}): {:?}",
                out.logs
            );
            for (_, m) in &out.logs {
                assert!(!m.contains('\n'), "{what}: multi-line log {m:?}");
                assert!(m.chars().count() <= 400, "{what}: long log line {m:?}");
            }
            if !leader {
                assert_eq!(own_app_databag_calls(&out), Vec::<String>::new(), "{what}");
            }
        }
    }
}

#[test]
fn corpus_of_bad_provider_shapes_gives_no_destination() {
    // Relation without a remote app's data at all, or with junk keys only.
    let states = vec![
        ("no relation", unit(true)),
        (
            "relation, no remote units yet",
            unit(true).with_relation(Relation::new(TRACING, TRACING_ID, "tempo")),
        ),
        (
            "junk keys",
            unit(true).with_relation(
                Relation::new(TRACING, TRACING_ID, "tempo")
                    .with_remote_app_data([("receiver", DOC_RECEIVERS), ("", "x")]),
            ),
        ),
    ];
    for (what, state) in states {
        let dir = tempfile::tempdir().unwrap();
        let out = run_ok(dir.path(), Trigger::hook("start"), state);
        assert_eq!(destination(dir.path()), None, "{what}");
        assert_eq!(no_destination_lines(&out), 1, "{what}: {:?}", out.logs);
    }
}

#[test]
fn corpus_of_bad_certificates_gives_no_https_destination() {
    let huge = serde_json::to_string(&[format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
        "A".repeat(1 << 20)
    )])
    .unwrap();
    let private_key =
        serde_json::to_string(&["-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----"])
            .unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("empty list", "[]".into()),
        ("null", "null".into()),
        ("number", "1".into()),
        ("string", serde_json::to_string(cert_a()).unwrap()),
        ("list of numbers", "[1]".into()),
        (
            "list with null",
            format!("[{}, null]", serde_json::to_string(cert_a()).unwrap()),
        ),
        ("not PEM", r#"["hello"]"#.into()),
        ("private key", private_key),
        ("invalid JSON", "[\"-----BEGIN CERTIFICATE-----".into()),
        ("lone surrogate", r#"["\ud800"]"#.into()),
        ("raw PEM", cert_a().into()),
        ("huge invalid", "[".repeat(1 << 20)),
        // Certificate-shaped, but not certificates: refused when the destination is reconciled,
        // not announced and then failing every export.
        ("huge, shaped like a certificate", huge),
        (
            "garbage in PEM armour",
            serde_json::to_string(&[
                "-----BEGIN CERTIFICATE-----\nsecret garbage\n-----END CERTIFICATE-----",
            ])
            .unwrap(),
        ),
        (
            "one good, one garbage",
            serde_json::to_string(&[
                cert_a(),
                "-----BEGIN CERTIFICATE-----\nc2VjcmV0\n-----END CERTIFICATE-----",
            ])
            .unwrap(),
        ),
    ];
    for (what, value) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = ca_changed(dir.path(), &value);
        assert_eq!(destination(dir.path()), None, "{what}");
        assert_eq!(no_destination_lines(&out), 1, "{what}: {:?}", out.logs);
        assert!(
            !out.logs.iter().any(|(_, m)| m.contains("secret")),
            "{what}: certificate content logged: {:?}",
            out.logs
        );
    }
    // A long list of real CAs (a rotation, several issuers) is fine.
    let many: Vec<String> = (0..40)
        .map(|i| {
            rcgen::generate_simple_self_signed(vec![format!("ca-{i}")])
                .unwrap()
                .cert
                .pem()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        dir.path(),
        on(&ca_relation(&[]), "changed"),
        unit(true)
            .with_relation(tempo(Some(HTTPS_RECEIVERS)))
            .with_relation(ca_relation(&[(
                "certificates",
                &serde_json::to_string(&many).unwrap(),
            )])),
    );
    assert!(destination(dir.path()).is_some());
}

#[test]
fn unusable_receiver_urls_give_one_reason_and_no_destination() {
    for url in [
        "http://[::1:4318",
        "http://tempo:0",
        "http://tempo:99999",
        "http://tempo:abc",
        "http://[fe80::zz]:4318",
        "http://:4318",
    ] {
        let receivers = serde_json::to_string(&serde_json::json!([
            {"protocol": {"name": "otlp_http", "type": "http"}, "url": url}
        ]))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = run_ok(
            dir.path(),
            on(&tempo(Some(&receivers)), "changed"),
            unit(true).with_relation(tempo(Some(&receivers))),
        );
        assert_eq!(destination(dir.path()), None, "{url}");
        assert_eq!(no_destination_lines(&out), 1, "{url}: {:?}", out.logs);
        assert!(
            !out.logs
                .iter()
                .any(|(_, m)| m.contains("sending trace data")),
            "{url}: announced: {:?}",
            out.logs
        );
        assert!(
            !out.logs
                .iter()
                .any(|(_, m)| m.contains("tracing: tracing:")),
            "{url}: {:?}",
            out.logs
        );
    }
}

#[test]
fn reasons_and_warnings_name_their_interface_once() {
    let two = r#"[
        {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://first:4318"},
        {"protocol": {"name": "otlp_http", "type": "grpc"}, "url": "http://second:4318"}
    ]"#;
    for receivers in [
        two,
        "not json",
        r#"[{"protocol": {"name": "zipkin", "type": "http"}, "url": "http://z"}]"#,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = run_ok(
            dir.path(),
            on(&tempo(Some(receivers)), "changed"),
            unit(true).with_relation(tempo(Some(receivers))),
        );
        assert!(!out.logs.is_empty());
        for (_, m) in &out.logs {
            assert!(
                !m.contains("tracing: tracing:") && !m.contains("(tracing: "),
                "{receivers}: {m}"
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(
        dir.path(),
        on(&tempo(Some(two)), "changed"),
        unit(true).with_relation(tempo(Some(two))),
    );
    let warnings: Vec<&String> = out
        .logs
        .iter()
        .filter(|(l, _)| *l == LogLevel::Warning)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("tracing: the provider offers 2 otlp_http receivers"),
        "{warnings:?}"
    );
}
