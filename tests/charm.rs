//! The reference charm, state in and state out, through charmkit's test harness: no process, no
//! Juju. Copy this file when you fork the charm.

use charmkit::meta::Metadata;
use charmkit::state::{Deferred, StoredState};
use charmkit::testing::{run, State, Trigger};
use rust_starter::RustStarter;

fn meta() -> Metadata {
    Metadata::from_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn unit() -> State {
    State::new("rust-starter/0").with_leader(true)
}

/// Regression: `reconcile` is registered for start, config-changed, leader-elected and
/// upgrade-charm; a deferred start must go back to the start registration only (it used to
/// re-run all four, and a charm that deferred again grew its queue 1 → 4 → 16 → 64).
#[test]
fn a_deferred_start_reruns_reconcile_once() {
    let mut state = unit();
    state.stored = StoredState {
        deferred: vec![Deferred {
            event: charmkit::event::Event::of(charmkit::event::EventKind::Start),
            owner: "RustStarter".into(),
            handler: "reconcile".into(),
            on: Some("start".into()),
        }],
        ..StoredState::default()
    };
    let out = run::<RustStarter>(&meta(), Trigger::hook("update-status"), state);
    assert_eq!(out.error, None);
    assert_eq!(out.emitted[0].name, "start");
    assert_eq!(out.emitted[0].observers, 1);
    assert!(out.emitted[0].deferred);
    assert_eq!(
        out.state.stored.get::<u64>("RustStarter", "reconciles"),
        Some(1)
    );
    assert!(out.deferred().is_empty());
}
