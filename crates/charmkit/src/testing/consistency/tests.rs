//! The checker's refusals, each naming the inconsistency, through `try_run`.

use super::super::fake::{Relation, Secret, Storage};
use super::super::pebble::Container;
use super::super::{demo_meta, try_run};
use super::*;
use crate::framework::{Charm, Framework};
use crate::pebble::CheckStatus;
use crate::pebble::Notice;

/// A charm that observes nothing: only the checker is under test.
struct Idle;

impl Charm for Idle {
    fn new(_: &mut Framework<Self>) -> Result<Self> {
        Ok(Idle)
    }
}

/// The inconsistency `try_run` refuses the test with.
fn refused(trigger: Trigger, state: State) -> String {
    match try_run::<Idle>(&demo_meta(), trigger, state) {
        Err(Error::Inconsistent(why)) => why,
        Err(other) => panic!("expected Error::Inconsistent, got {other}"),
        Ok(out) => panic!("the test ran: {out:?}"),
    }
}

fn assert_refused(trigger: Trigger, state: State, want: &str) {
    let why = refused(trigger, state);
    assert!(why.contains(want), "{want:?} not in {why:?}");
}

fn db() -> Relation {
    Relation::new("db", 3, "pg").with_remote_unit("pg/0", [("k", "v")])
}

#[test]
fn a_consistent_test_runs_and_gets_the_defaults() {
    let rel = db();
    let out = try_run::<Idle>(
        &demo_meta(),
        Trigger::relation_changed(&rel),
        State::default().with_relation(rel),
    )
    .unwrap();
    assert!(out.error.is_none());
    assert_eq!(out.state.unit_name, "demo/0");
    assert_eq!(out.state.config["port"], serde_json::json!(80));
    assert!(
        !out.state.config.contains_key("name"),
        "no default, no value"
    );
}

#[test]
fn an_undeclared_action() {
    assert_refused(
        Trigger::action("backpu"),
        State::default(),
        "action \"backpu\" is not declared in the charm's metadata; did you mean \"backup\"?",
    );
}

#[test]
fn an_undeclared_endpoint() {
    let rel = Relation::new("bd", 3, "pg");
    assert_refused(
        Trigger::start(),
        State::default().with_relation(rel.clone()),
        "relation bd:3 is on endpoint \"bd\", which the metadata does not declare; did you \
             mean \"db\"?",
    );
    assert_refused(
        Trigger::relation_changed(&rel),
        State::default(),
        "bd-relation-changed: relation endpoint \"bd\" is not declared",
    );
}

#[test]
fn an_undeclared_storage() {
    let cache = Storage::new("cache/0", "filesystem", "/srv/cache");
    assert_refused(
        Trigger::start(),
        State::default().with_storage(cache.clone()),
        "storage \"cache/0\" is not declared",
    );
    assert_refused(
        Trigger::storage_attached(&cache),
        State::default(),
        "cache-storage-attached: storage \"cache\" is not declared",
    );
    // Declared, but not in the state.
    assert_refused(
        Trigger::storage_attached(&Storage::new("data/1", "filesystem", "/srv")),
        State::default(),
        "is for storage \"data/1\", which is not in the state",
    );
}

#[test]
fn issue_9_state_fields_are_checked_against_the_metadata() {
    let mut state = State::default().with_resource("web-imag", "/r/web.tar");
    state.storage_added.insert("cache".into(), 1);
    state
        .opened_ports
        .entry("bd".into())
        .or_default()
        .insert(crate::hookcmd::Port::tcp(80));
    let why = refused(Trigger::start(), state);
    for want in [
        "resource \"web-imag\" is not declared; did you mean \"web-image\"?",
        "storage-add of storage \"cache\", which is not declared",
        "ports are opened for endpoint \"bd\", which the metadata does not declare; did you \
             mean \"db\"?",
    ] {
        assert!(why.contains(want), "{want:?} not in {why:?}");
    }
    // What the metadata declares passes: a resource, added storage, ports for every
    // endpoint and for a declared one (the implicit juju-info too).
    let mut state = State::default()
        .with_resource("web-image", "/r/web.tar")
        .with_opened_port(crate::hookcmd::Port::tcp(8080));
    state.storage_added.insert("data".into(), 2);
    for endpoint in ["db", "juju-info"] {
        state
            .opened_ports
            .entry(endpoint.into())
            .or_default()
            .insert(crate::hookcmd::Port::tcp(443));
    }
    try_run::<Idle>(&demo_meta(), Trigger::start(), state).unwrap();
}

#[test]
fn the_model_uuid_and_a_peer_relations_remote_model() {
    let mut state = State::default();
    state.model_uuid.clear();
    assert_refused(Trigger::start(), state, "the model uuid is empty");
    let mut peer = Relation::new("cluster", 4, "demo");
    peer.remote_model_uuid = Some("another-model".into());
    assert_refused(
        Trigger::start(),
        State::default().with_relation(peer.clone()),
        "peer relation cluster:4 has remote model \"another-model\"",
    );
    // A cross-model relation on a regular endpoint is fine; so is a peer naming this model.
    let mut cmr = db();
    cmr.remote_model_uuid = Some("another-model".into());
    peer.remote_model_uuid = Some(crate::testing::fake::MODEL_UUID.into());
    let state = State::default().with_relation(cmr).with_relation(peer);
    try_run::<Idle>(&demo_meta(), Trigger::start(), state).unwrap();
}

#[test]
fn an_undeclared_container() {
    let wbe = Container::new("wbe");
    assert_refused(
        Trigger::pebble_ready(&wbe),
        State::default(),
        "wbe-pebble-ready: container \"wbe\" is not declared in the charm's metadata; did \
             you mean \"web\"?",
    );
    assert_refused(
        Trigger::start(),
        State::default().with_container(wbe),
        "container \"wbe\" in the state is not declared in the charm's metadata; did you \
             mean \"web\"?",
    );
    assert_refused(
        Trigger::start(),
        State::default()
            .with_container(Container::new("web"))
            .with_container(Container::new("web")),
        "container \"web\" is in the state twice",
    );
}

fn web_layer() -> crate::pebble::Layer {
    crate::pebble::Layer::from_yaml(
        "checks:\n  up:\n    override: replace\n    level: alive\n    threshold: 5\n    \
             tcp:\n      port: 80\n",
    )
    .unwrap()
}

fn check(status: CheckStatus) -> crate::pebble::CheckInfo {
    let mut info = crate::pebble::CheckInfo::up("up");
    info.level = Some(crate::pebble::CheckLevel::Alive);
    info.threshold = 5;
    info.status = status;
    info
}

#[test]
fn a_pebble_event_for_a_container_not_in_the_state() {
    let web = Container::new("web");
    assert_refused(
        Trigger::pebble_ready(&web),
        State::default(),
        "web-pebble-ready is for container \"web\", which is not in the state",
    );
    assert!(try_run::<Idle>(
        &demo_meta(),
        Trigger::pebble_ready(&web),
        State::default().with_container(web.clone())
    )
    .is_ok());
}

#[test]
fn a_notice_the_container_does_not_have() {
    let notice = Notice::custom("3", "example.com/reload");
    let web = Container::new("web");
    assert_refused(
        Trigger::pebble_custom_notice(&web, &notice),
        State::default().with_container(web.clone()),
        "web-pebble-custom-notice is for notice 3 (example.com/reload), which container \
             \"web\" does not have",
    );
    let other = Notice::custom("3", "example.com/other");
    assert_refused(
        Trigger::pebble_custom_notice(&web, &notice),
        State::default().with_container(web.clone().with_notice(other)),
        "notice 3 of container \"web\" is custom example.com/other, not custom \
             example.com/reload",
    );
    assert_refused(
        Trigger::hook("web-pebble-custom-notice"),
        State::default().with_container(web.clone()),
        "has no notice: build it with Trigger::pebble_custom_notice",
    );
    let web = web.with_notice(notice.clone());
    assert!(try_run::<Idle>(
        &demo_meta(),
        Trigger::pebble_custom_notice(&web, &notice),
        State::default().with_container(web.clone())
    )
    .is_ok());
}

#[test]
fn a_check_the_container_has_no_info_for_or_in_the_wrong_state() {
    let web = Container::new("web").with_layer("base", web_layer());
    let down = check(CheckStatus::Down);
    assert_refused(
        Trigger::pebble_check_failed(&web, &down),
        State::default().with_container(web.clone()),
        "web-pebble-check-failed is for check \"up\", which container \"web\" has no \
             check info for",
    );
    assert_refused(
        Trigger::hook("web-pebble-check-recovered"),
        State::default().with_container(web.clone()),
        "has no check: build it with Trigger::pebble_check_recovered",
    );
    let web = web.with_check_info(down.clone());
    assert_refused(
        Trigger::pebble_check_recovered(&web, &down),
        State::default().with_container(web.clone()),
        "is for check \"up\", which is Down in container \"web\"; Pebble says it \
             recovered only once it is up",
    );
    assert!(try_run::<Idle>(
        &demo_meta(),
        Trigger::pebble_check_failed(&web, &down),
        State::default().with_container(web)
    )
    .is_ok());
}

#[test]
fn check_infos_must_match_the_plan_and_exec_prefixes_be_unique() {
    let no_plan = Container::new("web").with_check_info(check(CheckStatus::Up));
    assert_refused(
        Trigger::start(),
        State::default().with_container(no_plan),
        "container \"web\" has a check info for \"up\", but its plan has no checks",
    );
    let mut info = check(CheckStatus::Up);
    info.threshold = 3;
    info.level = None;
    let web = Container::new("web")
        .with_layer("base", web_layer())
        .with_check_info(info);
    let why = refused(Trigger::start(), State::default().with_container(web));
    assert!(
        why.contains("the check info for \"up\" has level None, but the plan has Some(Alive)"),
        "{why}"
    );
    assert!(why.contains("has threshold 3, but the plan has 5"), "{why}");
    let exec = super::super::pebble::ExecResult::default();
    let web = Container::new("web")
        .with_exec(&["ls"], exec.clone())
        .with_exec(&["ls"], exec);
    assert_refused(
        Trigger::start(),
        State::default().with_container(web),
        "container \"web\" has two exec handlers for the command prefix [\"ls\"]",
    );
}

#[test]
fn an_event_name_typo() {
    assert_refused(
        Trigger::hook("strat"),
        State::default(),
        "\"strat\" is not an event this charm knows",
    );
    assert_refused(
        Trigger::hook("config-chnaged"),
        State::default(),
        "did you mean \"config-changed\"?",
    );
}

#[test]
fn a_relation_event_for_a_relation_not_in_the_state() {
    assert_refused(
        Trigger::relation_changed(&db()),
        State::default().with_relation(Relation::new("db", 4, "pg")),
        "db-relation-changed is for relation db:3, which is not in the state",
    );
}

#[test]
fn a_relation_event_with_no_relation() {
    assert_refused(
        Trigger::hook("db-relation-changed"),
        State::default().with_relation(db()),
        "db-relation-changed has no relation",
    );
    assert_refused(
        Trigger::relation_joined(&Relation::new("db", 3, "pg")),
        State::default().with_relation(Relation::new("db", 3, "pg")),
        "has none",
    );
    let rel = db();
    assert_refused(
        Trigger::relation_changed(&rel).with_remote_unit("pg/7"),
        State::default().with_relation(rel.clone()),
        "remote unit \"pg/7\" is not a unit of relation db:3",
    );
    // A change of the application's databag has no remote unit, and only changed is one.
    assert_refused(
        Trigger::relation_changed_by_app(&rel).with_remote_unit("pg/0"),
        State::default().with_relation(rel.clone()),
        "db-relation-changed is about the remote application's databag, which Juju runs with no \
         remote unit",
    );
    let mut joined = Trigger::relation_joined(&rel);
    joined.by_app = true;
    assert_refused(
        joined,
        State::default().with_relation(rel),
        "db-relation-joined: only relation-changed comes from the remote application's databag",
    );
}

#[test]
fn config_keys_not_declared_or_of_the_wrong_type() {
    assert_refused(
        Trigger::config_changed(),
        State::default().with_config("prot", 8080),
        "config option \"prot\" is not declared; did you mean \"port\"?",
    );
    assert_refused(
        Trigger::config_changed(),
        State::default().with_config("port", "8080"),
        "config option \"port\" is declared int, but the state gives \"8080\"",
    );
}

#[test]
fn undeclared_or_mistyped_or_missing_action_params() {
    assert_refused(
        Trigger::action("backup")
            .with_param("target", "s3")
            .with_param("taget", "s3"),
        State::default(),
        "action \"backup\" has no parameter \"taget\"; did you mean \"target\"?",
    );
    assert_refused(
        Trigger::action("backup")
            .with_param("target", "s3")
            .with_param("copies", "two"),
        State::default(),
        "parameter \"copies\": is declared integer, but the trigger gives \"two\"",
    );
    assert_refused(
        Trigger::action("backup")
            .with_param("target", "s3")
            .with_param("copies", 7),
        State::default(),
        "7 is not one of [1,2,3]",
    );
    assert_refused(
        Trigger::action("backup"),
        State::default(),
        "requires parameter \"target\"",
    );
}

#[test]
fn secret_events_without_their_secret() {
    let observed = Secret::observed("secret:abc", [("k", "v")]);
    assert_refused(
        Trigger::hook("secret-changed"),
        State::default().with_secret(observed.clone()),
        "secret-changed has no secret",
    );
    assert_refused(
        Trigger::secret_changed(&observed),
        State::default(),
        "secret-changed is for secret \"secret:abc\", which is not in the state",
    );
    let owned = Secret::new("secret:mine", [("k", "v")]);
    assert_refused(
        Trigger::secret_changed(&owned),
        State::default().with_secret(owned.clone()),
        "secret-changed is for observers",
    );
    assert_refused(
        Trigger::secret_rotate(&observed),
        State::default().with_secret(observed),
        "secret-rotate is for the secret's owner",
    );
}

#[test]
fn a_unit_of_another_application() {
    assert_refused(
        Trigger::start(),
        State::new("rust-starter/0"),
        "unit \"rust-starter/0\" belongs to application \"rust-starter\", but the charm is \
             \"demo\"",
    );
    assert_refused(Trigger::start(), State::new("demo"), "is not of the form");
}

#[test]
fn a_peer_relation_to_another_application() {
    assert_refused(
        Trigger::start(),
        State::default().with_relation(Relation::new("cluster", 1, "other")),
        "peer relation cluster:1 has remote application \"other\"",
    );
}

#[test]
fn every_inconsistency_is_named_at_once() {
    let why = refused(
        Trigger::hook("strat"),
        State::new("x/0").with_config("prot", 1),
    );
    for want in ["unit \"x/0\"", "\"prot\"", "\"strat\""] {
        assert!(why.contains(want), "{want} not in {why}");
    }
}
