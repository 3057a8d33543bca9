//! The charm, state in and state out, through charmkit's test harness: no process, no Juju. Keep
//! one test per behaviour.
//!
//! Each test builds a `State` (what Juju knows about the unit), runs one event (`Trigger`) and
//! asserts on the `Output`: the state after the hook, the hook-tool calls, logs and spans. The
//! harness refuses a test that could not happen under Juju for this charm's metadata (an
//! undeclared relation, a config value of the wrong type…), naming the problem.

use charmkit::event::{Event, EventKind};
use charmkit::hookcmd::{Status, StatusName};
use charmkit::meta::Metadata;
use charmkit::state::Deferred;
use charmkit::testing::{run, try_run, Output, Relation, State, Trigger};
use rust_starter::RustStarter;

fn meta() -> Metadata {
    Metadata::from_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The leader unit, with the config defaults (the harness fills them from charmcraft.yaml).
fn leader() -> State {
    State::default().with_leader(true)
}

fn ok(out: Output) -> Output {
    assert!(out.error.is_none(), "the hook failed: {:?}", out.error);
    out
}

#[test]
fn install_sets_the_workload_version() {
    let out = ok(run::<RustStarter>(&meta(), Trigger::install(), leader()));
    assert_eq!(
        out.state.workload_version.as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(out
        .logs
        .iter()
        .any(|(_, m)| m == "Installing rust-starter/0"));
}

#[test]
fn start_greets_and_counts_reconciles() {
    let out = ok(run::<RustStarter>(&meta(), Trigger::start(), leader()));
    assert_eq!(
        out.state.unit_status,
        Status::active("hello from rust-starter/0")
    );
    assert_eq!(
        out.state.stored_value::<u64>("reconciles").unwrap(),
        Some(1)
    );
    // Our own span sits under the observer's, in the dispatch's trace.
    let observer = out
        .spans
        .iter()
        .find(|s| s.name == "start: RustStarter")
        .unwrap();
    let ours = out
        .spans
        .iter()
        .find(|s| s.name == "render-greeting")
        .unwrap();
    assert_eq!(ours.parent_span_id, observer.span_context.span_id());
    assert!(out.observed);

    let out = ok(run::<RustStarter>(
        &meta(),
        Trigger::config_changed(),
        out.state,
    ));
    assert_eq!(
        out.state.stored_value::<u64>("reconciles").unwrap(),
        Some(2)
    );
}

#[test]
fn an_empty_greeting_blocks_the_unit() {
    let state = leader().with_config("greeting", "");
    let out = ok(run::<RustStarter>(
        &meta(),
        Trigger::config_changed(),
        state,
    ));
    assert_eq!(
        out.state.unit_status,
        Status::blocked("set the `greeting` config option")
    );
}

#[test]
fn update_status_is_not_observed_but_status_is_still_collected() {
    let out = ok(run::<RustStarter>(
        &meta(),
        Trigger::update_status(),
        leader(),
    ));
    assert!(!out.observed);
    assert_eq!(out.state.unit_status.name, StatusName::Active);
}

#[test]
fn the_trace_status_action_reports_the_buffer() {
    let out = ok(run::<RustStarter>(
        &meta(),
        Trigger::action("trace-status"),
        leader(),
    ));
    let results = &out.state.action_results;
    assert_eq!(results["destination"], "none");
    assert!(results.contains_key("chunks"), "{results:?}");
    assert_eq!(out.state.action_failed, None);
}

#[test]
fn relating_to_tempo_publishes_our_receivers_as_leader() {
    let tempo = Relation::new("charm-tracing", 5, "tempo");
    let out = ok(run::<RustStarter>(
        &meta(),
        Trigger::relation_created(&tempo),
        leader().with_relation(tempo),
    ));
    assert_eq!(
        out.state.relations[0].local_app_data["receivers"],
        r#"["otlp_http"]"#
    );
}

/// Regression: `reconcile` is registered for start, config-changed, leader-elected and
/// upgrade-charm; a deferred start must go back to the start registration only (it used to
/// re-run all four, and a charm that deferred again grew its queue 1 → 4 → 16 → 64).
#[test]
fn a_deferred_start_reruns_reconcile_once() {
    let mut state = leader();
    state.stored.deferred.push(Deferred {
        event: Event::of(EventKind::Start),
        owner: "charm".into(),
        handler: "reconcile".into(),
        on: Some("start".into()),
    });
    let out = ok(run::<RustStarter>(&meta(), Trigger::update_status(), state));
    assert_eq!(out.emitted[0].name, "start");
    assert_eq!(out.emitted[0].observers, 1);
    assert!(out.emitted[0].deferred);
    assert_eq!(
        out.state.stored_value::<u64>("reconciles").unwrap(),
        Some(1)
    );
    assert!(out.deferred().is_empty());
}

#[test]
fn an_inconsistent_test_is_refused_with_the_problem_named() {
    let err = try_run::<RustStarter>(
        &meta(),
        Trigger::config_changed(),
        leader().with_config("greting", "hi"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("did you mean \"greeting\"?"),
        "{err}"
    );
}
