//! Framework behaviour, through the public state-in/state-out harness.

use std::collections::BTreeMap;

use opentelemetry::trace::Status as SpanStatus;
use opentelemetry::Value;
use serde_json::json;

use crate::event::{Event, EventKind};
use crate::hookcmd::{LogLevel, Status, StatusName};
use crate::meta::Metadata;
use crate::observe::Handler;
use crate::prelude::*;
use crate::testing::{demo_meta, run, run_with, Relation, State, Trigger};

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
    State::new("demo/0").with_leader(true)
}

fn db() -> Relation {
    Relation::new("db", 4, "pg")
        .with_remote_app_data([("dsn", "postgres://x")])
        .with_remote_unit("pg/0", [("k", "v")])
}

/// Records which handlers ran, in order, in stored state.
struct Recorder;

fn note<E: crate::event::EventType>(ctx: &mut Ctx<'_, E>, what: &str) -> HandlerResult {
    let mut seen: Vec<String> = ctx.stored("seen")?.unwrap_or_default();
    seen.push(what.to_string());
    ctx.store("seen", &seen)?;
    Ok(())
}

impl Charm for Recorder {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(
            On::start(),
            Handler::new("first", |_, ctx| note(ctx, "first")),
        );
        fw.observe(
            On::start(),
            Handler::new("second", |_, ctx: &mut Ctx<'_>| {
                note(ctx, "second")?;
                ctx.emit("ready", Some(json!({"n": 1})));
                Ok(())
            }),
        );
        fw.observe(On::custom("ready"), handler!(Self::on_ready));
        fw.observe(On::relation_changed("db"), handler!(Self::on_db));
        fw.observe(On::action("backup"), handler!(Self::on_backup));
        Ok(Recorder)
    }
}

#[derive(serde::Deserialize)]
struct Ready {
    n: u32,
}

impl Recorder {
    fn on_ready(&mut self, ctx: &mut Ctx<'_, CustomEvent>) -> HandlerResult {
        let ready: Ready = ctx.event().payload()?.unwrap();
        assert_eq!(ready.n, 1);
        note(ctx, "ready")
    }

    fn on_db(&mut self, ctx: &mut Ctx<'_, RelationEvent>) -> HandlerResult {
        assert_eq!(ctx.event().app, "pg");
        let rel = ctx.relation();
        // Read twice: Juju is asked once.
        for _ in 0..2 {
            rel.remote_app_data()?.to_map()?;
            ctx.model().is_leader()?;
        }
        rel.local_unit_data().set("host", "10.0.0.1")?;
        // Our own write is visible to later reads in the same dispatch.
        assert_eq!(
            rel.local_unit_data().get("host")?.as_deref(),
            Some("10.0.0.1")
        );
        note(ctx, "db")
    }

    fn on_backup(&mut self, ctx: &mut Ctx<'_, ActionEvent>) -> HandlerResult {
        ctx.set_results(&json!({"password": "hunter2"}))?;
        note(ctx, "backup")
    }
}

fn seen(state: &State) -> Vec<String> {
    state.stored_value("seen").unwrap().unwrap_or_default()
}

#[test]
fn observers_run_in_registration_order_and_custom_events_follow() {
    let out = run::<Recorder>(&meta(), Trigger::start(), leader());
    assert!(out.error.is_none(), "{:?}", out.error);
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
    let out = run::<Recorder>(&meta(), Trigger::update_status(), leader());
    assert!(out.error.is_none(), "{:?}", out.error);
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
    let rel = db();
    let out = run::<Recorder>(
        &meta(),
        Trigger::relation_changed(&rel),
        leader().with_relation(rel),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.calls_of("is-leader").count(), 1);
    assert_eq!(out.calls_of("relation-get").count(), 2); // pg's app bag; our unit bag once
    assert_eq!(
        out.calls_of("relation-list").count(),
        0,
        "the app came with the event"
    );
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
        fw.observe(
            On::config_changed(),
            Handler::new("on_config", |_, ctx: &mut Ctx<'_>| {
                let mode = ctx.model().config_str("mode")?.unwrap_or_default();
                note(ctx, &format!("config:{mode}"))?;
                if mode == "wait" {
                    ctx.defer()?;
                }
                Ok(())
            }),
        );
        fw.observe(
            On::start(),
            Handler::new("on_start", |_, ctx: &mut Ctx<'_>| {
                let ready = ctx.model().config_str("mode")? != Some("wait".into());
                note(ctx, &format!("start:{ready}"))?;
                if !ready {
                    ctx.defer()?;
                }
                Ok(())
            }),
        );
        Ok(Deferrer)
    }
}

#[test]
fn deferred_events_are_reemitted_in_order_before_the_next_event() {
    let state = leader().with_config("mode", "wait");
    let out = run::<Deferrer>(&meta(), Trigger::config_changed(), state);
    let out = run::<Deferrer>(&meta(), Trigger::start(), out.state);
    assert_eq!(
        out.deferred()
            .iter()
            .map(|d| d.event.name.as_str())
            .collect::<Vec<_>>(),
        ["config_changed", "start"]
    );
    assert_eq!(out.deferred()[0].observer(), "charm.on_config");
    assert_eq!(out.deferred()[0].on.as_deref(), Some("config_changed"));
    // Still waiting: both re-emitted (in order) and deferred again, then the new event.
    let out = run::<Deferrer>(&meta(), Trigger::update_status(), out.state);
    assert_eq!(out.deferred().len(), 2);
    assert!(out.observed, "re-emitted deferred events are observed");
    let mut state = out.state;
    state.config.insert("mode".into(), json!("go"));
    let out = run::<Deferrer>(&meta(), Trigger::update_status(), state);
    assert!(out.deferred().is_empty());
    assert_eq!(
        seen(&out.state),
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

/// Registers one `reconcile` for the four kinds the reference charm does, and defers while the
/// config says `wait`: the shape of the deferral bug (a deferred start re-run by all four
/// registrations, the queue growing 1 → 4 → 16 → 64).
struct Reconciler;

impl Charm for Reconciler {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        for on in [
            On::start(),
            On::config_changed(),
            On::leader_elected(),
            On::upgrade_charm(),
        ] {
            fw.observe(on, handler!(Self::reconcile));
        }
        Ok(Reconciler)
    }
}

impl Reconciler {
    fn reconcile(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        let name = ctx.event_name().to_string();
        note(ctx, &name)?;
        if ctx.model().config_str("mode")?.as_deref() == Some("wait") {
            ctx.defer()?;
        }
        Ok(())
    }
}

#[test]
fn a_deferred_event_goes_back_to_exactly_the_observation_that_deferred_it() {
    let state = leader().with_config("mode", "wait");
    let out = run::<Reconciler>(&meta(), Trigger::start(), state);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.deferred().len(), 1);
    let mut state = out.state;
    for round in 1..=3 {
        let out = run::<Reconciler>(&meta(), Trigger::update_status(), state);
        assert!(out.error.is_none(), "{:?}", out.error);
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
    assert_eq!(seen(&state), ["start"; 4]);
    // Once ready, the deferred start runs once more and the queue is empty.
    state.config.insert("mode".into(), json!("go"));
    let out = run::<Reconciler>(&meta(), Trigger::update_status(), state);
    assert!(out.deferred().is_empty());
    assert_eq!(seen(&out.state), ["start"; 5]);
}

#[test]
fn a_version_1_deferred_event_goes_to_the_one_matching_registration() {
    // Written by charmkit before deferral named the selector: the charm's values and queue
    // under its type name, `Owner.handler` only.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(crate::state::STATE_FILE),
        r#"{"stored": {"Reconciler": {"seen": ["old"]}}, "deferred": [{"event": {"kind": "Start", "name": "start"}, "handler": "Reconciler.reconcile"}]}"#,
    )
    .unwrap();
    let state = leader().with_config("mode", "go");
    let out =
        crate::testing::run_in::<Reconciler>(dir.path(), &meta(), Trigger::update_status(), state);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.emitted[0].observers, 1);
    assert!(out.deferred().is_empty());
    // The values moved to the stable owner.
    assert_eq!(seen(&out.state), ["old", "start"]);
    assert!(out
        .logs
        .iter()
        .any(|(l, m)| *l == LogLevel::Warning && m.contains("format 1")));
}

/// Tries to defer what cannot be deferred, through the untyped view (the typed one does not
/// compile: see `Ctx::defer`).
struct BadDeferrer;

impl Charm for BadDeferrer {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(
            On::about(EventKind::Action, "backup"),
            Handler::new("on_backup", |_, ctx: &mut Ctx<'_, Event>| {
                ctx.defer()?;
                Ok(())
            }),
        );
        fw.observe(
            On::kind(EventKind::CollectUnitStatus),
            Handler::new("on_collect", |_, ctx: &mut Ctx<'_, Event>| {
                let _ = ctx.defer();
                Ok(())
            }),
        );
        Ok(BadDeferrer)
    }
}

#[test]
fn deferring_an_action_or_collect_status_is_an_error_not_a_queue_entry() {
    let out = run::<BadDeferrer>(&meta(), Trigger::action("backup"), leader());
    let err = out
        .error
        .as_ref()
        .expect("deferring an action fails the handler");
    let text = err.to_string();
    assert!(
        text.contains("BadDeferrer.on_backup failed on backup_action"),
        "{text}"
    );
    assert!(text.contains("cannot be deferred"), "{text}");
    assert!(matches!(
        err.handler_error::<crate::Error>(),
        Some(crate::Error::Usage(_))
    ));
    assert!(out.deferred().is_empty());

    // Ignoring the error does not make it a silent queue entry either; and the queue does not
    // grow by one per dispatch.
    let mut state = leader();
    for _ in 0..3 {
        let out = run::<BadDeferrer>(&meta(), Trigger::update_status(), state);
        let err = out.error.as_ref().expect("deferring collect-status fails");
        assert!(
            err.to_string()
                .contains("collect_unit_status cannot be deferred"),
            "{err}"
        );
        assert!(out.deferred().is_empty());
        state = out.state;
    }
}

struct Twice;

impl Charm for Twice {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(
            On::start(),
            Handler::new("reconcile", |_, _: &mut Ctx<'_>| Ok(())),
        );
        fw.observe(
            On::config_changed(),
            Handler::new("reconcile", |_, _: &mut Ctx<'_>| Ok(())),
        );
        fw.observe(
            On::start(),
            Handler::new("reconcile", |_, _: &mut Ctx<'_>| Ok(())),
        );
        Ok(Twice)
    }
}

#[test]
fn registering_one_handler_twice_for_one_event_is_an_error_at_init() {
    let out = run::<Twice>(&meta(), Trigger::install(), leader());
    let err = out
        .error
        .expect("a duplicate registration fails charm init")
        .to_string();
    assert!(
        err.contains("Twice.reconcile is registered twice for start"),
        "{err}"
    );
    assert!(
        out.emitted.is_empty(),
        "nothing is emitted after a failed init"
    );
}

/// Observes what the metadata does not declare.
struct Typos;

impl Charm for Typos {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(
            On::relation_joined("bd"),
            Handler::new("on_db", |_, _: &mut Ctx<'_, RelationJoinedEvent>| Ok(())),
        );
        fw.observe(
            On::action("backpu"),
            Handler::new("on_backup", |_, _: &mut Ctx<'_, ActionEvent>| Ok(())),
        );
        fw.observe(
            On::storage_attached("data"),
            Handler::new("on_data", |_, _: &mut Ctx<'_, StorageEvent>| Ok(())),
        );
        fw.observe(
            On::pebble_ready("web"),
            Handler::new("on_web", |_, _: &mut Ctx<'_, WorkloadEvent>| Ok(())),
        );
        // The implicit juju-info endpoint is fine.
        fw.observe(
            On::relation_joined("juju-info"),
            Handler::new("on_info", |_, _: &mut Ctx<'_, RelationJoinedEvent>| Ok(())),
        );
        Ok(Typos)
    }
}

#[test]
fn observing_what_the_metadata_does_not_declare_is_an_error_at_init() {
    let out = run::<Typos>(&meta(), Trigger::install(), leader());
    let err = out
        .error
        .expect("typo'd observers fail charm init")
        .to_string();
    for want in [
        "Typos.on_db: relation_joined:bd observes relation endpoint \"bd\", which the charm's \
         metadata does not declare; did you mean \"db\"?",
        "action \"backpu\", which the charm's metadata does not declare; did you mean \"backup\"?",
        "storage \"data\"",
        "container \"web\"",
    ] {
        assert!(err.contains(want), "{want}\n in {err}");
    }
    assert!(!err.contains("juju-info"), "{err}");
}

struct Statuses;

impl Charm for Statuses {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(
            On::collect_unit_status(),
            Handler::new("a", |_, ctx: &mut Ctx<'_, CollectStatus>| {
                ctx.add_status(Status::active("fine"));
                ctx.add_status(Status::waiting("db"));
                Ok(())
            }),
        );
        fw.observe(
            On::collect_unit_status(),
            Handler::new("b", |_, ctx: &mut Ctx<'_, CollectStatus>| {
                ctx.add_status(Status::blocked("need config"));
                ctx.add_status(Status::maintenance("busy"));
                Ok(())
            }),
        );
        fw.observe(
            On::collect_app_status(),
            Handler::new("app", |_, ctx: &mut Ctx<'_, CollectStatus>| {
                ctx.add_status(Status::active("app ok"));
                Ok(())
            }),
        );
        Ok(Statuses)
    }
}

#[test]
fn collect_status_sets_the_highest_priority_status_app_only_as_leader() {
    let out = run::<Statuses>(&meta(), Trigger::update_status(), leader());
    assert!(out.error.is_none(), "{:?}", out.error);
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

    let out = run::<Statuses>(
        &meta(),
        Trigger::update_status(),
        leader().with_leader(false),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.state.app_status.name, StatusName::Unknown);
    assert_eq!(out.calls_of("status-set").count(), 1);
}

/// The charm's own error type: it reaches the harness's output intact.
#[derive(Debug, PartialEq)]
struct DiskOnFire {
    disk: String,
}

impl std::fmt::Display for DiskOnFire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "disk {} on fire", self.disk)
    }
}

impl std::error::Error for DiskOnFire {}

struct Failing;

impl Charm for Failing {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(
            On::install(),
            Handler::new("store_then_fail", |_, ctx: &mut Ctx<'_>| {
                ctx.store("written", &true)?;
                Err(DiskOnFire { disk: "sda".into() }.into())
            }),
        );
        fw.observe(
            On::start(),
            Handler::new("panics", |_, _: &mut Ctx<'_>| panic!("oh no")),
        );
        fw.observe(
            On::remove(),
            Handler::new("never", |_, ctx| note(ctx, "never")),
        );
        fw.observe(
            On::stop(),
            Handler::new("tool_fails", |_, ctx: &mut Ctx<'_>| {
                ctx.model().set_workload_version("1")?;
                Ok(())
            }),
        );
        Ok(Failing)
    }
}

fn span_failed(out: &crate::testing::Output, name: &str) -> bool {
    let s = out.spans.iter().find(|s| s.name == name).unwrap();
    matches!(s.status, SpanStatus::Error { .. })
        && s.events.events.iter().any(|e| e.name == "exception")
}

#[test]
fn handler_errors_keep_their_type_and_fail_the_hook_without_committing_state() {
    let out = run::<Failing>(&meta(), Trigger::install(), leader());
    let err = out.error.as_ref().unwrap();
    assert_eq!(
        err.to_string(),
        "Failing.store_then_fail failed on install: disk sda on fire"
    );
    // No String flattening: the charm's own error, as its source.
    assert_eq!(
        err.handler_error::<DiskOnFire>(),
        Some(&DiskOnFire { disk: "sda".into() })
    );
    let source = std::error::Error::source(err).unwrap();
    assert!(source.downcast_ref::<DiskOnFire>().is_some());
    assert_eq!(out.state.stored_value::<bool>("written").unwrap(), None);
    assert!(span_failed(&out, "install: Failing"));
    assert!(span_failed(&out, "ops.main"));
    assert!(out
        .logs
        .iter()
        .any(|(l, m)| *l == LogLevel::Error && m.contains("disk sda on fire")));

    let out = run::<Failing>(&meta(), Trigger::start(), leader());
    let err = out.error.as_ref().unwrap();
    assert_eq!(
        err.handler_error::<crate::error::Panic>()
            .map(|p| p.message.as_str()),
        Some("oh no")
    );
    assert!(err.to_string().contains("panicked: oh no"));
    assert!(span_failed(&out, "start: Failing"));

    let out = run_with::<Failing>(&meta(), Trigger::stop(), leader(), |j| {
        j.fail("application-version-set", 2, "ERROR boom")
    });
    let err = out.error.unwrap();
    match err.handler_error::<crate::Error>() {
        Some(crate::Error::HookTool { tool, status, .. }) => {
            assert_eq!(
                (tool.as_str(), *status),
                ("application-version-set", Some(2))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("status 2: ERROR boom"), "{err}");
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
    let rel = db();
    let out = run::<Recorder>(
        &meta(),
        Trigger::relation_changed(&rel),
        leader().with_relation(rel),
    );
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
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.state.action_results.get("password").map(String::as_str),
        Some("hunter2")
    );
    let all = format!("{:?}", out.spans);
    assert!(!all.contains("hunter2"), "action-set values never recorded");
    assert!(all.contains("password=<redacted>"));
}

// ----- stored state -------------------------------------------------------------------------

struct Counter;

impl Charm for Counter {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(On::start(), handler!(Self::count));
        fw.observe(On::stop(), handler!(Self::forget));
        Ok(Counter)
    }
}

impl Counter {
    fn count(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        let n: u64 = ctx.stored("count")?.unwrap_or(0);
        ctx.store("count", &(n + 1))?;
        Ok(())
    }

    fn forget(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        assert!(ctx.remove_stored("count"));
        assert!(!ctx.remove_stored("count"));
        Ok(())
    }
}

/// The same charm under another name: a fork that renamed its struct.
struct RenamedCounter;

impl Charm for RenamedCounter {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(
            On::start(),
            Handler::new("count", |_, ctx: &mut Ctx<'_>| {
                let n: u64 = ctx.stored("count")?.unwrap_or(0);
                ctx.store("count", &(n + 1))?;
                Ok(())
            }),
        );
        Ok(RenamedCounter)
    }
}

#[test]
fn stored_state_survives_a_rename_is_removable_and_a_mismatch_names_the_key() {
    let out = run::<Counter>(&meta(), Trigger::start(), leader());
    assert_eq!(out.state.stored_value::<u64>("count").unwrap(), Some(1));
    let out = run::<RenamedCounter>(&meta(), Trigger::start(), out.state);
    assert_eq!(out.state.stored_value::<u64>("count").unwrap(), Some(2));
    let out = run::<Counter>(&meta(), Trigger::stop(), out.state);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.state.stored_value::<u64>("count").unwrap(), None);

    let mut state = leader();
    state.stored.set("charm", "count", &"three").unwrap();
    let out = run::<Counter>(&meta(), Trigger::start(), state);
    let err = out.error.unwrap();
    match err.handler_error::<crate::Error>() {
        Some(crate::Error::StoredValue { owner, key, .. }) => {
            assert_eq!((owner.as_str(), key.as_str()), ("charm", "count"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("stored value \"count\" of charm: invalid type: string \"three\""),
        "{err}"
    );
}

// ----- typed config, actions, relations, secrets ------------------------------------------

#[derive(serde::Deserialize, Debug, PartialEq)]
#[serde(rename_all = "kebab-case")]
struct Config {
    port: u16,
    log_level: String,
    token: Option<String>,
}

#[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
struct DbInfo {
    host: String,
    port: u16,
    tags: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Backup {
    target: String,
    copies: u32,
}

struct Typed;

impl Charm for Typed {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(On::config_changed(), handler!(Self::on_config));
        fw.observe(On::relation_changed("db"), handler!(Self::on_db));
        fw.observe(On::relation_joined("cluster"), handler!(Self::on_peer));
        fw.observe(On::action("backup"), handler!(Self::on_backup));
        fw.observe(On::secret_changed(), handler!(Self::on_secret));
        Ok(Typed)
    }
}

impl Typed {
    fn on_config(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        let config: Config = ctx.model().config()?;
        ctx.store("config", &format!("{config:?}"))?;
        Ok(())
    }

    fn on_db(&mut self, ctx: &mut Ctx<'_, RelationEvent>) -> HandlerResult {
        let info: DbInfo = ctx.relation().remote_app_data()?.load()?;
        ctx.relation().local_unit_data().save(&info)?;
        Ok(())
    }

    fn on_peer(&mut self, ctx: &mut Ctx<'_, RelationJoinedEvent>) -> HandlerResult {
        let peer = ctx.model().relation("cluster")?.expect("the peer relation");
        assert_eq!(peer.app()?.as_deref(), Some("demo"));
        assert_eq!(*peer.units()?, [ctx.event().unit.clone()]);
        peer.local_app_data()
            .set("leader", ctx.model().unit_name())?;
        Ok(())
    }

    fn on_backup(&mut self, ctx: &mut Ctx<'_, ActionEvent>) -> HandlerResult {
        let params: Backup = ctx.params()?;
        ctx.log(&format!("backing up to {}", params.target))?;
        if params.target == "nowhere" {
            ctx.fail("no such target")?;
            return Ok(());
        }
        ctx.set_results(
            &json!({"copies": params.copies, "where": {"target": params.target, "ok": true}}),
        )?;
        Ok(())
    }

    fn on_secret(&mut self, ctx: &mut Ctx<'_, SecretEvent>) -> HandlerResult {
        let secret = ctx.model().secret(&ctx.event().id);
        let old = secret.content()?;
        let new = secret.refresh()?;
        ctx.store("rotated", &(old["password"] != new["password"]))?;
        Ok(())
    }
}

#[test]
fn typed_config_fills_defaults_and_names_the_option_on_a_mismatch() {
    let out = run::<Typed>(&demo_meta(), Trigger::config_changed(), State::default());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.state.stored_value::<String>("config").unwrap().unwrap(),
        r#"Config { port: 80, log_level: "info", token: None }"#
    );
    // The harness refuses a value of the wrong type; Juju could still give one the charm's
    // type does not take (a port over 65535): an error naming the option.
    let out = run::<Typed>(
        &demo_meta(),
        Trigger::config_changed(),
        State::default().with_config("port", 70000),
    );
    let err = out.error.unwrap();
    match err.handler_error::<crate::Error>() {
        Some(crate::Error::Config { option, .. }) => assert_eq!(option, "port"),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("config option port: invalid value: integer `70000`"),
        "{err}"
    );
}

#[test]
fn relation_data_loads_and_saves_with_the_json_in_string_convention() {
    let rel = Relation::new("db", 3, "pg")
        .with_remote_unit("pg/0", [("private-address", "10.1.1.1")])
        .with_remote_app_data([
            ("host", "\"pg.local\""),
            ("port", "5432"),
            ("tags", "[\"a\", \"b\"]"),
            ("ingress-address", "10.1.1.1"), // not JSON, and not a field: ignored
        ]);
    let out = run::<Typed>(
        &demo_meta(),
        Trigger::relation_changed(&rel),
        State::default().with_relation(rel),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    let mine = &out.state.relations[0].local_unit_data;
    assert_eq!(mine["host"], "\"pg.local\"");
    assert_eq!(mine["port"], "5432");
    assert_eq!(
        mine["tags"], "[\"a\", \"b\"]",
        "as Python's json.dumps writes it"
    );

    // A value of the wrong type: an error naming the relation, the databag and the key.
    let rel = Relation::new("db", 3, "pg").with_remote_app_data([
        ("host", "pg.local"), // not JSON: taken as the string itself
        ("port", "\"fifty\""),
        ("tags", "[]"),
    ]);
    let out = run::<Typed>(
        &demo_meta(),
        Trigger::relation_changed(&rel),
        State::default().with_relation(rel),
    );
    let err = out.error.unwrap();
    match err.handler_error::<crate::Error>() {
        Some(crate::Error::RelationData {
            relation, bag, key, ..
        }) => {
            assert_eq!(
                (relation.as_str(), bag.as_str(), key.as_deref()),
                ("db:3", "pg", Some("port"))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn peer_relations_are_relations_like_any_other() {
    let peers = Relation::new("cluster", 1, "demo").with_remote_unit("demo/1", [("k", "v")]);
    let out = run::<Typed>(
        &demo_meta(),
        Trigger::relation_joined(&peers),
        State::default().with_leader(true).with_relation(peers),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.state.relations[0].local_app_data["leader"], "demo/0");
}

#[test]
fn actions_take_typed_params_with_defaults_and_give_json_results() {
    let out = run::<Typed>(
        &demo_meta(),
        Trigger::action("backup").with_param("target", "s3"),
        State::default(),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    let results: Vec<(&str, &str)> = out
        .state
        .action_results
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        results,
        [
            ("copies", "1"),
            ("where.ok", "true"),
            ("where.target", "s3")
        ]
    );
    assert_eq!(out.state.action_logs, ["backing up to s3"]);
    assert_eq!(out.state.action_failed, None);

    let out = run::<Typed>(
        &demo_meta(),
        Trigger::action("backup").with_param("target", "nowhere"),
        State::default(),
    );
    assert!(out.error.is_none(), "fail() is not a hook failure");
    assert_eq!(out.state.action_failed.as_deref(), Some("no such target"));
}

#[test]
fn secrets_are_objects() {
    // Juju's ids are xids; the fake refuses anything else, as Juju does.
    let secret =
        crate::testing::Secret::observed("secret:cj9sk5ufltq4c6e0a8ng", [("password", "new")])
            .with_tracked_content([("password", "old")]);
    let out = run::<Typed>(
        &demo_meta(),
        Trigger::secret_changed(&secret),
        State::default().with_secret(secret),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.state.stored_value::<bool>("rotated").unwrap(),
        Some(true)
    );
    assert!(
        !format!("{:?}", out.spans).contains("new"),
        "secret content never in spans"
    );
}

/// Records which remote unit, if any, a relation-changed names, and what the remote
/// application's databag holds.
struct ChangedBy;

impl Charm for ChangedBy {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(
            On::relation_changed("db"),
            Handler::new("changed", |_, ctx: &mut Ctx<'_, RelationEvent>| {
                let unit = ctx.event().unit.clone();
                assert_eq!(unit, ctx.model().context().remote_unit, "JUJU_REMOTE_UNIT");
                let dsn = ctx.relation().remote_app_data()?.get("dsn")?;
                let what = format!("{} {unit:?} {dsn:?}", ctx.event().app);
                note(ctx, &what)
            }),
        );
        Ok(ChangedBy)
    }
}

#[test]
fn relation_changed_names_a_remote_unit_only_for_a_unit_databag() {
    let rel = db();
    let by_unit = run::<ChangedBy>(
        &meta(),
        Trigger::relation_changed(&rel),
        leader().with_relation(rel.clone()),
    );
    assert!(by_unit.error.is_none(), "{:?}", by_unit.error);
    assert_eq!(
        seen(&by_unit.state),
        [r#"pg Some("pg/0") Some("postgres://x")"#]
    );
    // The remote application's databag changed: Juju runs the hook with JUJU_REMOTE_UNIT empty.
    let by_app = run::<ChangedBy>(
        &meta(),
        Trigger::relation_changed_by_app(&rel),
        leader().with_relation(rel),
    );
    assert!(by_app.error.is_none(), "{:?}", by_app.error);
    assert_eq!(seen(&by_app.state), [r#"pg None Some("postgres://x")"#]);
}

fn payload_meta() -> Metadata {
    Metadata::from_yaml(
        Some(
            "name: demo\nrequires:\n  db:\n    interface: pgsql\nstorage:\n  data:\n    type: \
             filesystem\ncontainers:\n  web:\n    resource: img\nresources:\n  img:\n    type: \
             oci-image\n",
        ),
        None,
        None,
        None,
    )
    .unwrap()
}

/// Records each typed payload it receives, as text, in stored state.
struct Payloads;

impl Charm for Payloads {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(
            On::storage_attached("data"),
            Handler::new("storage", |_, ctx: &mut Ctx<'_, StorageEvent>| {
                // Juju's JUJU_STORAGE_LOCATION and JUJU_STORAGE_KIND, from the state's instance.
                let juju = ctx.model().context();
                let what = format!(
                    "storage {} {:?} {:?}",
                    ctx.event().id(),
                    juju.storage_location,
                    juju.storage_kind
                );
                note(ctx, &what)
            }),
        );
        fw.observe(
            On::pebble_ready("web"),
            Handler::new("ready", |_, ctx: &mut Ctx<'_, WorkloadEvent>| {
                let what = format!("ready {}", ctx.event().container);
                note(ctx, &what)
            }),
        );
        fw.observe(
            On::pebble_custom_notice("web"),
            Handler::new("notice", |_, ctx: &mut Ctx<'_, NoticeEvent>| {
                let e = ctx.event();
                let what = format!(
                    "notice {} {} {} {}",
                    e.container, e.id, e.notice_type, e.key
                );
                note(ctx, &what)
            }),
        );
        fw.observe(
            On::pebble_check_failed("web"),
            Handler::new("check", |_, ctx: &mut Ctx<'_, CheckEvent>| {
                let what = format!("check {} {}", ctx.event().container, ctx.event().check);
                note(ctx, &what)
            }),
        );
        fw.observe(
            On::relation_departed("db"),
            Handler::new("departed", |_, ctx: &mut Ctx<'_, RelationDepartedEvent>| {
                let e = ctx.event();
                let what = format!("departed {} {} {}", e.relation, e.unit, e.departing_unit);
                note(ctx, &what)
            }),
        );
        fw.observe(
            On::secret_expired(),
            Handler::new("expired", |_, ctx: &mut Ctx<'_, SecretRevisionEvent>| {
                let e = ctx.event();
                let what = format!("expired {} {:?} {}", e.id, e.label, e.revision);
                ctx.model().secret(&e.id).remove_revision(e.revision)?;
                note(ctx, &what)
            }),
        );
        Ok(Payloads)
    }
}

#[test]
fn typed_payloads_reach_their_handlers() {
    let data = crate::testing::Storage::new("data/1", "filesystem", "/srv/data");
    let rel = Relation::new("db", 2, "pg")
        .with_remote_unit("pg/0", [("a", "b")])
        .with_remote_unit("pg/1", [("a", "b")]);
    let secret = crate::testing::Secret::new("secret:cj9sk5ufltq4c6e0a8o0", [("k", "v")])
        .with_label("creds");
    let layer = crate::pebble::Layer::from_yaml(
        "checks:\n  alive:\n    override: replace\n    tcp:\n      port: 80\n",
    )
    .unwrap();
    let notice = crate::pebble::Notice::custom("7", "a.com/b");
    let mut down = crate::pebble::CheckInfo::up("alive");
    down.status = crate::pebble::CheckStatus::Down;
    let web = crate::testing::Container::new("web")
        .with_layer("base", layer)
        .with_notice(notice.clone())
        .with_check_info(down.clone());
    let cases = [
        (
            Trigger::storage_attached(&data),
            "storage data/1 Some(\"/srv/data\") Some(Filesystem)",
        ),
        (Trigger::pebble_ready(&web), "ready web"),
        (
            Trigger::pebble_custom_notice(&web, &notice),
            "notice web 7 custom a.com/b",
        ),
        (Trigger::pebble_check_failed(&web, &down), "check web alive"),
        (
            Trigger::relation_departed(&rel, "pg/1"),
            "departed db:2 pg/1 pg/1",
        ),
        (
            Trigger::secret_expired(&secret, 1),
            // The id canonical: secret://<model-uuid>/<id>, as secret-add gives it.
            "expired secret://00000000-0000-4000-8000-000000000000/cj9sk5ufltq4c6e0a8o0 Some(\"creds\") 1",
        ),
    ];
    for (trigger, want) in cases {
        let state = State::default()
            .with_leader(true)
            .with_storage(data.clone())
            .with_relation(rel.clone())
            .with_secret(secret.clone())
            .with_container(web.clone());
        let out = run::<Payloads>(&payload_meta(), trigger, state);
        assert!(out.error.is_none(), "{want}: {:?}", out.error);
        assert_eq!(seen(&out.state), [want]);
    }
}

/// An application secret's whole life, through the object API.
struct SecretOwnerCharm;

impl Charm for SecretOwnerCharm {
    fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
        fw.observe(On::install(), handler!(Self::create));
        fw.observe(On::config_changed(), handler!(Self::rotate));
        fw.observe(On::remove(), handler!(Self::destroy));
        fw.observe(On::secret_rotate(), handler!(Self::on_rotate));
        Ok(SecretOwnerCharm)
    }
}

impl SecretOwnerCharm {
    fn create(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        let content = BTreeMap::from([("password".to_string(), "one".to_string())]);
        let opts = crate::hookcmd::SecretOptions::new().with_label("db-password");
        let secret = ctx.model().add_secret(&content, &opts)?;
        let db = ctx.model().relation("db")?.expect("the db relation");
        secret.grant(db.id(), None)?;
        ctx.store("id", &secret.id())?;
        Ok(())
    }

    fn rotate(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        let secret = ctx.model().secret_by_label("db-password");
        let info = secret.info()?;
        let id: Option<String> = ctx.stored("id")?;
        assert_eq!(
            Some(&info.id),
            id.as_ref(),
            "secret-add's id is secret-info-get's"
        );
        assert_eq!(info.label.as_deref(), Some("db-password"));
        assert_eq!(info.owner, crate::hookcmd::SecretOwner::Application);
        assert_eq!(secret.content()?["password"], "one");
        secret.set_content(&BTreeMap::from([("password".into(), "two".into())]))?;
        let db = ctx.model().relation("db")?.expect("the db relation");
        secret.revoke(db.id(), None)?;
        ctx.store("revision", &info.revision)?;
        Ok(())
    }

    /// The event's id (`JUJU_SECRET_ID`), `secret-add`'s and `secret-ids`' compare equal.
    fn on_rotate(&mut self, ctx: &mut Ctx<'_, SecretEvent>) -> HandlerResult {
        let id: Option<String> = ctx.stored("id")?;
        let ours = ctx.model().secret(&ctx.event().id);
        let same = id.as_deref() == Some(ctx.event().id.as_str())
            && ours.id() == id.as_deref()
            && ctx.model().hook().secret_ids()? == Vec::from_iter(id);
        ctx.store("same-id", &same)?;
        Ok(())
    }

    fn destroy(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        ctx.model()
            .secret_by_label("db-password")
            .remove_all_revisions()?;
        Ok(())
    }
}

#[test]
fn an_application_secret_through_the_object_api() {
    let state = State::default()
        .with_leader(true)
        .with_relation(Relation::new("db", 2, "pg"));
    let out = run::<SecretOwnerCharm>(&meta(), Trigger::install(), state);
    assert!(out.error.is_none(), "{:?}", out.error);
    let secret = &out.state.secrets[0];
    assert_eq!(secret.label.as_deref(), Some("db-password"));
    assert_eq!(secret.grants.len(), 1);
    let id: Option<String> = out.state.stored_value("id").unwrap();
    assert_eq!(id.as_deref(), Some(secret.id.as_str()));

    // Juju may name it `secret:<id>` or bare in JUJU_SECRET_ID: the event's id is canonical.
    for form in ["secret:", ""] {
        let mut named = secret.clone();
        named.id = format!("{form}{}", secret.id.rsplit('/').next().unwrap());
        let rotated =
            run::<SecretOwnerCharm>(&meta(), Trigger::secret_rotate(&named), out.state.clone());
        assert!(rotated.error.is_none(), "{:?}", rotated.error);
        assert_eq!(
            rotated.state.stored_value::<bool>("same-id").unwrap(),
            Some(true),
            "{form:?}"
        );
    }

    let out = run::<SecretOwnerCharm>(&meta(), Trigger::config_changed(), out.state);
    assert!(out.error.is_none(), "{:?}", out.error);
    let secret = &out.state.secrets[0];
    assert_eq!(secret.content["password"], "two");
    assert_eq!(secret.revision, 2);
    assert!(secret.grants.is_empty());
    assert!(
        !format!("{:?}", out.spans).contains("two"),
        "content never in spans"
    );

    let out = run::<SecretOwnerCharm>(&meta(), Trigger::remove(), out.state);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(out.state.secrets.is_empty());
}

struct FailsOrPanics;

impl crate::framework::Charm for FailsOrPanics {
    fn new(fw: &mut crate::framework::Framework<Self>) -> crate::Result<Self> {
        use crate::framework::Ctx;
        use crate::observe::{Handler, On};
        fw.observe(
            On::install(),
            Handler::new("fails", |_, _: &mut Ctx<'_>| Err("disk on fire".into())),
        );
        fw.observe(
            On::start(),
            Handler::new("panics", |_, _: &mut Ctx<'_>| panic!("oh no")),
        );
        Ok(FailsOrPanics)
    }
}

#[test]
fn a_failing_handler_puts_one_exception_on_each_span_it_crosses() {
    let meta =
        crate::meta::Metadata::from_yaml(None, Some("name: demo\n"), None, None).expect("metadata");
    for (hook, observer) in [
        ("install", "install: FailsOrPanics"),
        ("start", "start: FailsOrPanics"),
    ] {
        let out = run::<FailsOrPanics>(&meta, Trigger::hook(hook), State::new("demo/0"));
        assert!(out.error.is_some(), "{hook}");
        for name in [observer, crate::span::ROOT_SPAN] {
            let span = out.spans.iter().find(|s| s.name == name).expect(name);
            let exceptions = span
                .events
                .events
                .iter()
                .filter(|e| e.name == "exception")
                .count();
            assert_eq!(exceptions, 1, "{hook}: {name} (ops records one per span)");
            let event = span.events.events.iter().find(|e| e.name == "exception");
            let trace = event
                .and_then(|e| {
                    e.attributes
                        .iter()
                        .find(|kv| kv.key.as_str() == "exception.stacktrace")
                })
                .map(|kv| kv.value.to_string())
                .unwrap_or_default();
            assert!(
                !trace.is_empty() && !trace.contains("disabled backtrace"),
                "{hook}: {name}: a stack trace even without RUST_BACKTRACE: {trace:?}"
            );
        }
    }
}
