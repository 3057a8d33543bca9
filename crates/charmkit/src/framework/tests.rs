//! Framework behaviour, through the public state-in/state-out harness.

use std::collections::BTreeMap;

use opentelemetry::trace::Status as SpanStatus;
use opentelemetry::Value;
use serde_json::json;

use crate::event::EventKind;
use crate::framework::{Charm, Framework, On};
use crate::hookcmd::{LogLevel, Status, StatusName};
use crate::meta::Metadata;
use crate::testing::{run, Relation, State, Trigger};

fn meta() -> Metadata {
    Metadata::from_yaml(
        None,
        Some("name: demo\nrequires:\n  db:\n    interface: pgsql\n"),
        Some("options:\n  mode:\n    type: string\n    default: fast\n"),
        Some("backup:\n  description: back up\n"),
    )
    .unwrap()
}

fn leader() -> State {
    State {
        unit_name: "demo/0".into(),
        leader: true,
        ..State::default()
    }
}

/// Records which handlers ran, in order, in stored state.
struct Recorder;

fn note(ctx: &mut crate::Ctx<'_>, what: &str) -> crate::HandlerResult {
    let mut seen: Vec<String> = ctx.stored("seen").unwrap_or_default();
    seen.push(what.to_string());
    ctx.store("seen", &seen)?;
    Ok(())
}

impl Charm for Recorder {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(EventKind::Start, "first", |_, ctx| note(ctx, "first"));
        fw.observe(EventKind::Start, "second", |_, ctx| {
            note(ctx, "second")?;
            ctx.emit("ready", Some(json!({"n": 1})));
            Ok(())
        });
        fw.observe(On::custom("ready"), "on_ready", |_, ctx| {
            assert_eq!(ctx.event().payload, Some(json!({"n": 1})));
            note(ctx, "ready")
        });
        fw.observe(
            On::about(EventKind::RelationChanged, "db"),
            "on_db",
            |_, ctx| {
                let rel = ctx.event().relation.clone().unwrap();
                // Read twice: Juju is asked once.
                for _ in 0..2 {
                    let app = ctx.model().relation_remote_app(&rel)?.unwrap();
                    ctx.model().app_data(&rel, &app)?;
                    ctx.model().is_leader()?;
                }
                ctx.model()
                    .set_unit_data(&rel, &BTreeMap::from([("host".into(), "10.0.0.1".into())]))?;
                // Our own write is visible to later reads in the same dispatch.
                let mine = ctx.model().unit_data(&rel, "demo/0")?;
                assert_eq!(mine.get("host").map(String::as_str), Some("10.0.0.1"));
                note(ctx, "db")
            },
        );
        fw.observe(On::action("backup"), "on_backup", |_, ctx| {
            let mut res = BTreeMap::new();
            res.insert("password".to_string(), "hunter2".to_string());
            ctx.model().hook().action_set(&res)?;
            note(ctx, "backup")
        });
        Ok(Recorder)
    }
}

fn seen(state: &State) -> Vec<String> {
    state.stored.get("Recorder", "seen").unwrap_or_default()
}

#[test]
fn observers_run_in_registration_order_and_custom_events_follow() {
    let out = run::<Recorder>(&meta(), Trigger::hook("start"), leader());
    assert_eq!(out.error, None);
    assert_eq!(seen(&out.state), ["first", "second", "ready"]);
    assert!(out.observed);
    let names: Vec<(&str, usize)> = out
        .emitted
        .iter()
        .map(|e| (e.name.as_str(), e.observers))
        .collect();
    assert_eq!(names, [("start", 2), ("ready", 1)]);
}

#[test]
fn unobserved_event_is_not_observed() {
    let out = run::<Recorder>(&meta(), Trigger::hook("update-status"), leader());
    assert_eq!(out.error, None);
    assert!(!out.observed);
    assert_eq!(out.emitted.len(), 1);
    assert_eq!(out.emitted[0].observers, 0);
    assert!(seen(&out.state).is_empty());
    // The root span is there even so, with the event recorded on it.
    let root = out.spans.iter().find(|s| s.name == "ops.main").unwrap();
    assert_eq!(root.events.events[0].name, "update_status");
}

#[test]
fn reads_are_cached_per_dispatch_and_writes_update_the_cache() {
    let mut state = leader();
    state.relations.push(
        Relation::new("db", 4, "pg")
            .with_remote_app_data([("dsn", "postgres://x")])
            .with_remote_unit("pg/0", [("k", "v")]),
    );
    let out = run::<Recorder>(&meta(), Trigger::relation("db", "changed", 4), state);
    assert_eq!(out.error, None);
    assert_eq!(out.calls_of("is-leader").count(), 1);
    assert_eq!(out.calls_of("relation-get").count(), 2); // pg's app bag; our unit bag once
    assert_eq!(out.calls_of("relation-list").count(), 1);
    assert_eq!(
        out.state.relations[0]
            .local_unit_data
            .get("host")
            .map(String::as_str),
        Some("10.0.0.1")
    );
}

struct Deferrer;

impl Charm for Deferrer {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(EventKind::ConfigChanged, "on_config", |_, ctx| {
            let mode = ctx.model().config_str("mode")?.unwrap_or_default();
            note(ctx, &format!("config:{mode}"))?;
            if mode == "wait" {
                ctx.defer()?;
            }
            Ok(())
        });
        fw.observe(EventKind::Start, "on_start", |_, ctx| {
            let ready = ctx.model().config_str("mode")? != Some("wait".into());
            note(ctx, &format!("start:{ready}"))?;
            if !ready {
                ctx.defer()?;
            }
            Ok(())
        });
        Ok(Deferrer)
    }
}

fn deferrer_seen(state: &State) -> Vec<String> {
    state.stored.get("Deferrer", "seen").unwrap_or_default()
}

#[test]
fn deferred_events_are_reemitted_in_order_before_the_next_event() {
    let mut state = leader();
    state.config.insert("mode".into(), json!("wait"));
    let out = run::<Deferrer>(&meta(), Trigger::hook("config-changed"), state);
    let out = run::<Deferrer>(&meta(), Trigger::hook("start"), out.state);
    assert_eq!(
        out.deferred()
            .iter()
            .map(|d| d.event.name.as_str())
            .collect::<Vec<_>>(),
        ["config_changed", "start"]
    );
    assert_eq!(out.deferred()[0].observer(), "Deferrer.on_config");
    assert_eq!(out.deferred()[0].on.as_deref(), Some("config_changed"));
    // Still waiting: both re-emitted (in order) and deferred again, then the new event.
    let out = run::<Deferrer>(&meta(), Trigger::hook("update-status"), out.state);
    assert_eq!(out.deferred().len(), 2);
    assert!(out.observed, "re-emitted deferred events are observed");
    let mut state = out.state;
    state.config.insert("mode".into(), json!("go"));
    let out = run::<Deferrer>(&meta(), Trigger::hook("update-status"), state);
    assert!(out.deferred().is_empty());
    assert_eq!(
        deferrer_seen(&out.state),
        [
            "config:wait",
            "config:wait",
            "start:false",
            "config:wait",
            "start:false",
            "config:go",
            "start:true"
        ]
    );
    let flags: Vec<bool> = out.emitted.iter().map(|e| e.deferred).collect();
    assert_eq!(flags, [true, true, false]);
    let span = out
        .spans
        .iter()
        .find(|s| s.name == "config_changed: Deferrer")
        .unwrap();
    assert!(span
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "deferred" && kv.value == Value::Bool(true)));
}

struct Statuses;

impl Charm for Statuses {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(EventKind::CollectUnitStatus, "a", |_, ctx| {
            ctx.add_status(Status::active("fine"));
            ctx.add_status(Status::waiting("db"));
            Ok(())
        });
        fw.observe(EventKind::CollectUnitStatus, "b", |_, ctx| {
            ctx.add_status(Status::blocked("need config"));
            ctx.add_status(Status::maintenance("busy"));
            Ok(())
        });
        fw.observe(EventKind::CollectAppStatus, "app", |_, ctx| {
            ctx.add_status(Status::active("app ok"));
            Ok(())
        });
        Ok(Statuses)
    }
}

#[test]
fn collect_status_sets_the_highest_priority_status_app_only_as_leader() {
    let out = run::<Statuses>(&meta(), Trigger::hook("update-status"), leader());
    assert_eq!(out.error, None);
    assert_eq!(out.state.unit_status, Status::blocked("need config"));
    assert_eq!(out.state.app_status, Status::active("app ok"));
    assert!(
        !out.observed,
        "collect-status alone does not make a dispatch observed"
    );
    let set: Vec<String> = out
        .calls_of("status-set")
        .map(|c| c.args.join(" "))
        .collect();
    assert_eq!(
        set,
        ["--application active -- app ok", "blocked -- need config"]
    );

    let follower = State {
        leader: false,
        ..leader()
    };
    let out = run::<Statuses>(&meta(), Trigger::hook("update-status"), follower);
    assert_eq!(out.error, None);
    assert_eq!(out.state.app_status.name, StatusName::Unknown);
    assert_eq!(out.calls_of("status-set").count(), 1);
}

struct Failing;

impl Charm for Failing {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(EventKind::Install, "store_then_fail", |_, ctx| {
            ctx.store("written", &true)?;
            Err("disk on fire".into())
        });
        fw.observe(EventKind::Start, "panics", |_, _| panic!("oh no"));
        fw.observe(EventKind::Remove, "never", |_, ctx| note(ctx, "never"));
        fw.observe(EventKind::Stop, "tool_fails", |_, ctx| {
            ctx.model().hook().application_version_set("1")?;
            Ok(())
        });
        Ok(Failing)
    }
}

fn span_failed(out: &crate::testing::Output, name: &str) -> bool {
    let s = out.spans.iter().find(|s| s.name == name).unwrap();
    matches!(s.status, SpanStatus::Error { .. })
        && s.events.events.iter().any(|e| e.name == "exception")
}

#[test]
fn handler_errors_and_panics_fail_the_hook_without_committing_state() {
    let out = run::<Failing>(&meta(), Trigger::hook("install"), leader());
    let err = out.error.clone().unwrap();
    assert!(
        err.contains("Failing.store_then_fail failed on install: disk on fire"),
        "{err}"
    );
    assert_eq!(out.state.stored.get::<bool>("Failing", "written"), None);
    assert!(span_failed(&out, "install: Failing"));
    assert!(span_failed(&out, "ops.main"));
    assert!(out
        .logs
        .iter()
        .any(|(l, m)| *l == LogLevel::Error && m.contains("disk on fire")));

    let out = run::<Failing>(&meta(), Trigger::hook("start"), leader());
    assert!(out.error.clone().unwrap().contains("panicked: oh no"));
    assert!(span_failed(&out, "start: Failing"));

    let out = crate::testing::run_with::<Failing>(&meta(), Trigger::hook("stop"), leader(), |j| {
        j.fail("application-version-set", 2, "ERROR boom")
    });
    let err = out.error.unwrap();
    assert!(err.contains("application-version-set"), "{err}");
    assert!(err.contains("status 2: ERROR boom"), "{err}");
}

#[test]
fn a_failing_hook_tool_is_an_error_with_status_and_stderr() {
    use crate::testing::FakeJuju;
    let fake = FakeJuju::new(leader());
    fake.fail("is-leader", 1, "ERROR connection refused");
    let err = fake.hook().is_leader().unwrap_err();
    match err {
        crate::Error::HookTool {
            tool,
            status,
            stderr,
            ..
        } => {
            assert_eq!(tool, "is-leader");
            assert_eq!(status, Some(1));
            assert_eq!(stderr, "ERROR connection refused");
        }
        other => panic!("{other:?}"),
    }
    fake.clear_injections();
    fake.respond("is-leader", b"maybe".to_vec());
    assert!(matches!(
        fake.hook().is_leader(),
        Err(crate::Error::ToolOutput { .. })
    ));
}

#[test]
fn spans_name_observers_and_tools_and_never_record_secret_values() {
    let mut state = leader();
    state
        .relations
        .push(Relation::new("db", 4, "pg").with_remote_unit("pg/0", [("k", "v")]));
    let out = run::<Recorder>(&meta(), Trigger::relation("db", "changed", 4), state);
    let set = out.spans.iter().find(|s| s.name == "relation-set").unwrap();
    let text = format!("{:?}", set.attributes);
    assert!(text.contains("host"), "keys are recorded: {text}");
    assert!(!text.contains("10.0.0.1"), "values are not: {text}");
    let obs = out
        .spans
        .iter()
        .find(|s| s.name == "db_relation_changed: Recorder")
        .unwrap();
    let attr = |k: &str| {
        obs.attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr("event").as_deref(), Some("db_relation_changed"));
    assert_eq!(attr("event_type").as_deref(), Some("hook"));
    assert_eq!(attr("handler").as_deref(), Some("Recorder.on_db"));
    assert_eq!(attr("deferred").as_deref(), Some("false"));
    // Parentage: tool span → observer span → root.
    let root = out.spans.iter().find(|s| s.name == "ops.main").unwrap();
    assert_eq!(obs.parent_span_id, root.span_context.span_id());
    assert_eq!(set.parent_span_id, obs.span_context.span_id());
    assert!(out
        .spans
        .iter()
        .all(|s| s.span_context.trace_id() == root.span_context.trace_id()));
    assert!(!out.spans.iter().any(|s| s.name == "juju-log"));

    let out = run::<Recorder>(&meta(), Trigger::action("backup"), leader());
    assert_eq!(out.error, None);
    assert_eq!(
        out.state.action_results.get("password").map(String::as_str),
        Some("hunter2")
    );
    let all = format!("{:?}", out.spans);
    assert!(!all.contains("hunter2"), "action-set values never recorded");
    assert!(all.contains("password=<redacted>"));
}

/// Registers one `reconcile` for the four kinds the reference charm does, and defers while the
/// config says `wait`: the shape of the deferral bug (a deferred start re-run by all four
/// registrations, the queue growing 1 → 4 → 16 → 64).
struct Reconciler;

impl Charm for Reconciler {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        for kind in [
            EventKind::Start,
            EventKind::ConfigChanged,
            EventKind::LeaderElected,
            EventKind::UpgradeCharm,
        ] {
            fw.observe(kind, "reconcile", |_, ctx| {
                let name = ctx.event().name.clone();
                note(ctx, &name)?;
                if ctx.model().config_str("mode")?.as_deref() == Some("wait") {
                    ctx.defer()?;
                }
                Ok(())
            });
        }
        Ok(Reconciler)
    }
}

#[test]
fn a_deferred_event_goes_back_to_exactly_the_observation_that_deferred_it() {
    let mut state = leader();
    state.config.insert("mode".into(), json!("wait"));
    let out = run::<Reconciler>(&meta(), Trigger::hook("start"), state);
    assert_eq!(out.error, None);
    assert_eq!(out.deferred().len(), 1);
    let mut state = out.state;
    for round in 1..=3 {
        let out = run::<Reconciler>(&meta(), Trigger::hook("update-status"), state);
        assert_eq!(out.error, None);
        // Not 4, 16, 64: the deferred start went to the start registration alone, which
        // deferred it again.
        assert_eq!(out.deferred().len(), 1, "round {round}");
        assert_eq!(out.deferred()[0].event.name, "start");
        assert_eq!(out.deferred()[0].on.as_deref(), Some("start"));
        let reemitted: Vec<(&str, usize, bool)> = out
            .emitted
            .iter()
            .map(|e| (e.name.as_str(), e.observers, e.deferred))
            .collect();
        assert_eq!(
            reemitted,
            [("start", 1, true), ("update_status", 0, false)],
            "round {round}"
        );
        state = out.state;
    }
    assert_eq!(
        state
            .stored
            .get::<Vec<String>>("Reconciler", "seen")
            .unwrap(),
        ["start"; 4]
    );
    // Once ready, the deferred start runs once more and the queue is empty.
    state.config.insert("mode".into(), json!("go"));
    let out = run::<Reconciler>(&meta(), Trigger::hook("update-status"), state);
    assert!(out.deferred().is_empty());
    assert_eq!(
        out.state
            .stored
            .get::<Vec<String>>("Reconciler", "seen")
            .unwrap(),
        ["start"; 5]
    );
}

#[test]
fn a_version_1_deferred_event_goes_to_the_one_matching_registration() {
    // Written by charmkit before deferral named the selector: `Owner.handler` only.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(crate::state::STATE_FILE),
        r#"{"stored": {}, "deferred": [{"event": {"kind": "Start", "name": "start"}, "handler": "Reconciler.reconcile"}]}"#,
    )
    .unwrap();
    let mut state = leader();
    state.config.insert("mode".into(), json!("go"));
    let out = crate::testing::run_in::<Reconciler>(
        dir.path(),
        &meta(),
        Trigger::hook("update-status"),
        state,
    );
    assert_eq!(out.error, None);
    assert_eq!(out.emitted[0].observers, 1);
    assert!(out.deferred().is_empty());
    assert!(out
        .logs
        .iter()
        .any(|(l, m)| *l == LogLevel::Warning && m.contains("format 1")));
}

/// Tries to defer what cannot be deferred: an action, and collect-status (propagating the
/// error, or ignoring it).
struct BadDeferrer;

impl Charm for BadDeferrer {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(On::action("backup"), "on_backup", |_, ctx| {
            ctx.defer()?;
            Ok(())
        });
        fw.observe(EventKind::CollectUnitStatus, "on_collect", |_, ctx| {
            let _ = ctx.defer();
            ctx.add_status(Status::active("ok"));
            Ok(())
        });
        Ok(BadDeferrer)
    }
}

#[test]
fn deferring_an_action_or_collect_status_is_an_error_not_a_queue_entry() {
    let out = run::<BadDeferrer>(&meta(), Trigger::action("backup"), leader());
    let err = out
        .error
        .clone()
        .expect("deferring an action fails the handler");
    assert!(
        err.contains("BadDeferrer.on_backup failed on backup_action"),
        "{err}"
    );
    assert!(err.contains("cannot be deferred"), "{err}");
    assert!(out.deferred().is_empty());

    // Ignoring the error does not make it a silent queue entry either; and the queue does not
    // grow by one per dispatch.
    let mut state = leader();
    for _ in 0..3 {
        let out = run::<BadDeferrer>(&meta(), Trigger::hook("update-status"), state);
        let err = out
            .error
            .clone()
            .expect("deferring collect-status fails the handler");
        assert!(
            err.contains("collect_unit_status cannot be deferred"),
            "{err}"
        );
        assert!(out.deferred().is_empty());
        state = out.state;
    }
}

struct Twice;

impl Charm for Twice {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(EventKind::Start, "reconcile", |_, _| Ok(()));
        fw.observe(EventKind::ConfigChanged, "reconcile", |_, _| Ok(()));
        fw.observe(EventKind::Start, "reconcile", |_, _| Ok(()));
        Ok(Twice)
    }
}

#[test]
fn registering_one_handler_twice_for_one_event_is_an_error_at_init() {
    let out = run::<Twice>(&meta(), Trigger::hook("install"), leader());
    let err = out
        .error
        .expect("a duplicate registration fails charm init");
    assert!(
        err.contains("Twice.reconcile is registered twice for start"),
        "{err}"
    );
    assert!(
        out.emitted.is_empty(),
        "nothing is emitted after a failed init"
    );
}
