//! The consistency checker: refuses a test whose [`Trigger`] and [`State`] could not happen
//! under Juju for this charm's metadata, as Scenario's does — each refusal names the
//! inconsistency — and fills what Juju fills (config and action-parameter defaults, the unit's
//! name).
//!
//! Refused: an undeclared action, endpoint, storage or container; an event name the charm
//! does not know (with a suggestion); a relation event without a relation, or for a relation
//! not in the state; relation-joined/departed without the unit it is about; config keys not
//! declared or of the wrong type; action parameters not declared, of the wrong type, or
//! required and missing; secret events without a secret (or for one not in the state, or not
//! owned/observed as the event needs); storage events for storage not in the state; a unit
//! whose application is not the charm; a peer relation whose remote application is not this
//! one, or whose remote model is another; ports opened for an undeclared endpoint; resources
//! and added storage (`storage-add`) the metadata does not declare; an empty model uuid;
//! a container in the state the metadata does not declare (or twice), whose layers do not
//! combine, whose check infos are not checks of its plan (or differ from it in level, startup
//! or threshold), or with two exec handlers for one command prefix; a Pebble event for a
//! container not in the state, a custom-notice event for a notice that container does not
//! have, a check event for a check it has no info for, or check-failed for a check that is not
//! down (check-recovered: not up).

use serde_json::Value;

use super::fake::State;
use super::Trigger;
use crate::error::{Error, Result};
use crate::event::Family;
use crate::meta::{ConfigType, Metadata, Role};
use crate::pebble::{CheckStatus, Startup};
use crate::suggest::did_you_mean;
use crate::types::app_of;

/// Checks `trigger` and `state` against `meta`; every inconsistency found, in one
/// [`Error::Inconsistent`].
pub fn check(meta: &Metadata, trigger: &Trigger, state: &State) -> Result<()> {
    let mut problems = Vec::new();
    check_unit(meta, state, &mut problems);
    check_config(meta, state, &mut problems);
    check_relations(meta, state, &mut problems);
    check_storages(meta, state, &mut problems);
    check_unit_resources(meta, state, &mut problems);
    check_containers(meta, state, &mut problems);
    match trigger.known(meta) {
        Err(why) => problems.push(why),
        Ok(()) if trigger.is_action() => check_action(meta, trigger, &mut problems),
        Ok(()) => check_hook(trigger, state, &mut problems),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Inconsistent(problems.join("; ")))
    }
}

/// What Juju fills in that a test may leave out: the unit's name (`<charm>/0` if empty),
/// config defaults, and the action's parameters with their defaults.
pub(crate) fn fill_defaults(meta: &Metadata, trigger: &Trigger, state: &mut State) {
    if state.unit_name.is_empty() {
        state.unit_name = format!("{}/0", meta.name);
    }
    for (k, opt) in &meta.config {
        if let Some(d) = &opt.default {
            state.config.entry(k.clone()).or_insert_with(|| d.clone());
        }
    }
    if trigger.is_action() {
        let mut params = trigger.params.clone();
        if let Some(action) = meta.actions.get(trigger.hook_name()) {
            for (k, schema) in &action.params {
                if let Some(d) = schema.get("default") {
                    params.entry(k.clone()).or_insert_with(|| d.clone());
                }
            }
        }
        state.action_params = params;
    }
}

fn check_unit(meta: &Metadata, state: &State, problems: &mut Vec<String>) {
    if state.model_uuid.is_empty() {
        problems.push(
            "the model uuid is empty; Juju always sets JUJU_MODEL_UUID (State::new gives \
             testing::fake::MODEL_UUID)"
                .into(),
        );
    }
    if state.unit_name.is_empty() {
        return;
    }
    match app_of(&state.unit_name) {
        Some(app) if app == meta.name => {}
        Some(app) => problems.push(format!(
            "unit {:?} belongs to application {app:?}, but the charm is {:?} (use {:?})",
            state.unit_name,
            meta.name,
            format!("{}/0", meta.name)
        )),
        None => problems.push(format!(
            "unit name {:?} is not of the form application/number",
            state.unit_name
        )),
    }
}

fn check_config(meta: &Metadata, state: &State, problems: &mut Vec<String>) {
    let declared: Vec<&String> = meta.config.keys().collect();
    for (k, v) in &state.config {
        let Some(opt) = meta.config.get(k) else {
            problems.push(format!(
                "config option {k:?} is not declared{}",
                did_you_mean(k, &declared)
            ));
            continue;
        };
        let fits = match opt.kind {
            _ if v.is_null() => true,
            ConfigType::String | ConfigType::Secret => v.is_string(),
            ConfigType::Int => v.is_i64() || v.is_u64(),
            ConfigType::Float => v.is_number(),
            ConfigType::Boolean => v.is_boolean(),
        };
        if !fits {
            problems.push(format!(
                "config option {k:?} is declared {}, but the state gives {v}",
                config_type(opt.kind)
            ));
        }
    }
}

fn config_type(kind: ConfigType) -> &'static str {
    match kind {
        ConfigType::String => "string",
        ConfigType::Int => "int",
        ConfigType::Float => "float",
        ConfigType::Boolean => "boolean",
        ConfigType::Secret => "secret",
    }
}

fn check_relations(meta: &Metadata, state: &State, problems: &mut Vec<String>) {
    let declared = Family::Relation.declared(meta);
    // The unit's application is the charm's (check_unit refuses any other).
    let our_app = meta.name.as_str();
    let mut ids = std::collections::BTreeSet::new();
    for rel in &state.relations {
        if !ids.insert(rel.id) {
            problems.push(format!("two relations in the state have id {}", rel.id));
        }
        if !declared.contains(&rel.endpoint) {
            problems.push(format!(
                "relation {}:{} is on endpoint {:?}, which the metadata does not declare{}",
                rel.endpoint,
                rel.id,
                rel.endpoint,
                did_you_mean(&rel.endpoint, &declared)
            ));
            continue;
        }
        let peer = meta
            .relation(&rel.endpoint)
            .is_some_and(|r| r.role == Role::Peers);
        if peer && rel.remote_app != our_app {
            problems.push(format!(
                "peer relation {}:{} has remote application {:?}; a peer relation's is this \
                 application, {our_app:?}",
                rel.endpoint, rel.id, rel.remote_app
            ));
        }
        match &rel.remote_model_uuid {
            Some(m) if peer && *m != state.model_uuid => problems.push(format!(
                "peer relation {}:{} has remote model {m:?}; a peer relation's is this model, \
                 {:?}",
                rel.endpoint, rel.id, state.model_uuid
            )),
            Some(m) if m.is_empty() => problems.push(format!(
                "relation {}:{} has an empty remote model uuid (None means this model)",
                rel.endpoint, rel.id
            )),
            _ => {}
        }
        for unit in rel.remote_units_data.keys() {
            if app_of(unit) != Some(rel.remote_app.as_str()) {
                problems.push(format!(
                    "relation {}:{}: remote unit {unit:?} is not a unit of its remote \
                     application {:?}",
                    rel.endpoint, rel.id, rel.remote_app
                ));
            }
        }
    }
}

fn check_storages(meta: &Metadata, state: &State, problems: &mut Vec<String>) {
    for s in &state.storages {
        let name = s.id.split_once('/').map_or(s.id.as_str(), |(n, _)| n);
        if !meta.storages.iter().any(|d| d == name) {
            problems.push(format!(
                "storage {:?} is not declared{}",
                s.id,
                did_you_mean(name, &meta.storages)
            ));
        }
    }
    for name in state.storage_added.keys() {
        if !meta.storages.contains(name) {
            problems.push(format!(
                "storage-add of storage {name:?}, which is not declared{}",
                did_you_mean(name, &meta.storages)
            ));
        }
    }
}

/// The unit's resources and opened ports, against what the metadata declares.
fn check_unit_resources(meta: &Metadata, state: &State, problems: &mut Vec<String>) {
    let resources: Vec<&String> = meta.resources.keys().collect();
    for name in state.resources.keys() {
        if !meta.resources.contains_key(name) {
            problems.push(format!(
                "resource {name:?} is not declared{}",
                did_you_mean(name, &resources)
            ));
        }
    }
    let endpoints = Family::Relation.declared(meta);
    for endpoint in state.opened_ports.keys() {
        // "" holds the ports opened for every endpoint (no --endpoints).
        if !endpoint.is_empty() && !endpoints.contains(endpoint) {
            problems.push(format!(
                "ports are opened for endpoint {endpoint:?}, which the metadata does not \
                 declare{}",
                did_you_mean(endpoint, &endpoints)
            ));
        }
    }
}

fn check_action(meta: &Metadata, trigger: &Trigger, problems: &mut Vec<String>) {
    let name = trigger.hook_name();
    let Some(action) = meta.actions.get(name) else {
        return;
    };
    let declared: Vec<&String> = action.params.keys().collect();
    for (k, v) in &trigger.params {
        let Some(schema) = action.params.get(k) else {
            problems.push(format!(
                "action {name:?} has no parameter {k:?}{}",
                did_you_mean(k, &declared)
            ));
            continue;
        };
        if let Some(why) = schema_mismatch(schema, v) {
            problems.push(format!("action {name:?} parameter {k:?}: {why}"));
        }
    }
    for k in &action.required {
        let defaulted = action
            .params
            .get(k)
            .is_some_and(|s| s.get("default").is_some());
        if !trigger.params.contains_key(k) && !defaulted {
            problems.push(format!(
                "action {name:?} requires parameter {k:?}, which the trigger does not give"
            ));
        }
    }
}

/// Why `value` does not fit the JSON-schema `schema` (its `type` and `enum`), if it does not.
fn schema_mismatch(schema: &Value, value: &Value) -> Option<String> {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fits = |t: &str| match t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| fits(t)) {
        return Some(format!(
            "is declared {}, but the trigger gives {value}",
            types.join(" or ")
        ));
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(value) {
            return Some(format!(
                "{value} is not one of {}",
                Value::Array(allowed.clone())
            ));
        }
    }
    None
}

fn check_hook(trigger: &Trigger, state: &State, problems: &mut Vec<String>) {
    let hook = trigger.hook_name();
    if let Some((endpoint, what)) = hook.split_once("-relation-") {
        check_relation_event(trigger, state, endpoint, what, problems);
    } else if hook.starts_with("secret-") {
        check_secret_event(trigger, state, hook, problems);
    } else if let Some(name) = hook
        .strip_suffix("-storage-attached")
        .or_else(|| hook.strip_suffix("-storage-detaching"))
    {
        match trigger.storage_index {
            None => problems.push(format!(
                "{hook} has no storage instance: build it with Trigger::storage_attached(&storage)"
            )),
            Some(i) => {
                let id = format!("{name}/{i}");
                if !state.storages.iter().any(|s| s.id == id) {
                    problems.push(format!(
                        "{hook} is for storage {id:?}, which is not in the state"
                    ));
                }
            }
        }
    } else if let Some((container, what)) = hook.rsplit_once("-pebble-") {
        check_pebble_event(trigger, state, container, what, problems);
    }
}

fn check_containers(meta: &Metadata, state: &State, problems: &mut Vec<String>) {
    let declared: Vec<&String> = meta.containers.keys().collect();
    for (i, c) in state.containers.iter().enumerate() {
        if !meta.containers.contains_key(&c.name) {
            problems.push(format!(
                "container {:?} in the state is not declared in the charm's metadata{}",
                c.name,
                did_you_mean(&c.name, &declared)
            ));
        }
        if state.containers[..i].iter().any(|o| o.name == c.name) {
            problems.push(format!("container {:?} is in the state twice", c.name));
        }
        for (j, h) in c.exec_handlers.iter().enumerate() {
            if c.exec_handlers[..j].iter().any(|o| o.prefix == h.prefix) {
                problems.push(format!(
                    "container {:?} has two exec handlers for the command prefix {:?}",
                    c.name, h.prefix
                ));
            }
        }
        check_infos_fit_the_plan(c, problems);
    }
}

/// A container's check infos are the state of checks of its plan, with the plan's level,
/// startup and threshold.
fn check_infos_fit_the_plan(c: &super::pebble::Container, problems: &mut Vec<String>) {
    let plan = match c.plan() {
        Ok(plan) => plan,
        Err(e) => {
            problems.push(format!(
                "container {:?}: its layers do not combine: {e}",
                c.name
            ));
            return;
        }
    };
    for info in &c.check_infos {
        let Some(check) = plan.checks.get(&info.name) else {
            let names: Vec<&String> = plan.checks.keys().collect();
            problems.push(format!(
                "container {:?} has a check info for {:?}, but its plan has {}",
                c.name,
                info.name,
                if names.is_empty() {
                    "no checks".to_string()
                } else {
                    format!("only the checks {names:?}")
                }
            ));
            continue;
        };
        let planned = [
            (
                "level",
                format!("{:?}", check.level),
                format!("{:?}", info.level),
            ),
            (
                "startup",
                format!("{:?}", check.startup.unwrap_or(Startup::Enabled)),
                format!("{:?}", info.startup),
            ),
            (
                "threshold",
                check.threshold.unwrap_or(DEFAULT_THRESHOLD).to_string(),
                info.threshold.to_string(),
            ),
        ];
        for (field, in_plan, in_info) in planned {
            if in_plan != in_info {
                problems.push(format!(
                    "container {:?}: the check info for {:?} has {field} {in_info}, but \
                     the plan has {in_plan}",
                    c.name, info.name
                ));
            }
        }
    }
}

/// Pebble's default check threshold.
const DEFAULT_THRESHOLD: u32 = 3;

fn check_pebble_event(
    trigger: &Trigger,
    state: &State,
    name: &str,
    what: &str,
    problems: &mut Vec<String>,
) {
    let hook = trigger.hook_name();
    let Some(container) = state.container(name) else {
        problems.push(format!(
            "{hook} is for container {name:?}, which is not in the state (add it with \
             State::with_container; under Juju every declared container exists)"
        ));
        return;
    };
    match what {
        "custom-notice" => {
            let Some((id, kind, key)) = &trigger.notice else {
                problems.push(format!(
                    "{hook} has no notice: build it with Trigger::pebble_custom_notice"
                ));
                return;
            };
            match container.notice(id) {
                None => problems.push(format!(
                    "{hook} is for notice {id} ({key}), which container {name:?} does not have"
                )),
                Some(n) if n.r#type.as_str() != kind || &n.key != key => problems.push(format!(
                    "{hook}: notice {id} of container {name:?} is {} {}, not {kind} {key}",
                    n.r#type.as_str(),
                    n.key
                )),
                Some(_) => {}
            }
        }
        "check-failed" | "check-recovered" => {
            let Some(check) = &trigger.pebble_check else {
                problems.push(format!(
                    "{hook} has no check: build it with Trigger::pebble_{}",
                    what.replace('-', "_")
                ));
                return;
            };
            let (want, word) = if what == "check-failed" {
                (CheckStatus::Down, "down")
            } else {
                (CheckStatus::Up, "up")
            };
            match container.check_info(check) {
                None => problems.push(format!(
                    "{hook} is for check {check:?}, which container {name:?} has no check \
                     info for (add it with Container::with_check_info)"
                )),
                Some(info) if info.status != want => problems.push(format!(
                    "{hook} is for check {check:?}, which is {:?} in container {name:?}; \
                     Pebble says it {} only once it is {word}",
                    info.status,
                    if want == CheckStatus::Down {
                        "failed"
                    } else {
                        "recovered"
                    },
                )),
                Some(_) => {}
            }
        }
        _ => {}
    }
}

fn check_relation_event(
    trigger: &Trigger,
    state: &State,
    endpoint: &str,
    what: &str,
    problems: &mut Vec<String>,
) {
    let hook = trigger.hook_name();
    let Some((rel_endpoint, id)) = &trigger.relation else {
        problems.push(format!(
            "{hook} has no relation: build it from the state's relation, \
             Trigger::relation_{what}(&relation)"
        ));
        return;
    };
    let Some(rel) = state.relation(*id) else {
        problems.push(format!(
            "{hook} is for relation {rel_endpoint}:{id}, which is not in the state"
        ));
        return;
    };
    if rel.endpoint != endpoint {
        problems.push(format!(
            "{hook} is for relation {id}, which is on endpoint {:?} in the state",
            rel.endpoint
        ));
    }
    if let Some(u) = &trigger.remote_unit {
        if !rel.remote_units_data.contains_key(u) && trigger.departing_unit.as_ref() != Some(u) {
            problems.push(format!(
                "{hook}: remote unit {u:?} is not a unit of relation {}:{id}",
                rel.endpoint
            ));
        }
    }
    let has_unit = trigger.remote_unit.is_some() || !rel.remote_units_data.is_empty();
    match what {
        "joined" if !has_unit => problems.push(format!(
            "{hook} is about a remote unit joining, but relation {}:{id} has none (add one \
             with Relation::with_remote_unit)",
            rel.endpoint
        )),
        "departed" if trigger.departing_unit.is_none() => problems.push(format!(
            "{hook} needs the departing unit: build it with Trigger::relation_departed(&relation, unit)"
        )),
        _ => {}
    }
}

fn check_secret_event(trigger: &Trigger, state: &State, hook: &str, problems: &mut Vec<String>) {
    let Some((id, _, revision)) = &trigger.secret else {
        problems.push(format!(
            "{hook} has no secret: build it from the state's secret, e.g. \
             Trigger::secret_changed(&secret)"
        ));
        return;
    };
    let Some(secret) = state.secret(id) else {
        problems.push(format!(
            "{hook} is for secret {id:?}, which is not in the state"
        ));
        return;
    };
    let owned = secret.owner.is_some();
    match hook {
        "secret-changed" if owned => problems.push(format!(
            "secret-changed is for observers, but secret {id:?} is owned by this {}",
            if state.leader {
                "application"
            } else {
                "unit's application"
            }
        )),
        "secret-rotate" | "secret-expired" | "secret-remove" if !owned => problems.push(format!(
            "{hook} is for the secret's owner, but secret {id:?} is only observed here"
        )),
        _ => {}
    }
    if matches!(hook, "secret-expired" | "secret-remove") && revision.is_none() {
        problems.push(format!("{hook} needs a revision"));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{Relation, Secret, Storage};
    use super::super::pebble::Container;
    use super::super::try_run;
    use super::*;
    use crate::framework::{Charm, Framework};
    use crate::pebble::Notice;

    /// A charm that observes nothing: only the checker is under test.
    struct Idle;

    impl Charm for Idle {
        fn new(_: &mut Framework<Self>) -> Result<Self> {
            Ok(Idle)
        }
    }

    fn meta() -> Metadata {
        Metadata::from_yaml(
            Some(
                r#"
name: demo
requires:
  db:
    interface: pgsql
peers:
  cluster:
    interface: demo-peers
storage:
  data:
    type: filesystem
containers:
  web:
    resource: web-image
resources:
  web-image:
    type: oci-image
config:
  options:
    port:
      type: int
      default: 80
    name:
      type: string
actions:
  backup:
    params:
      target:
        type: string
      copies:
        type: integer
        enum: [1, 2, 3]
    required: [target]
"#,
            ),
            None,
            None,
            None,
        )
        .unwrap()
    }

    /// The inconsistency `try_run` refuses the test with.
    fn refused(trigger: Trigger, state: State) -> String {
        match try_run::<Idle>(&meta(), trigger, state) {
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
            &meta(),
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
        try_run::<Idle>(&meta(), Trigger::start(), state).unwrap();
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
        try_run::<Idle>(&meta(), Trigger::start(), state).unwrap();
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
            &meta(),
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
            &meta(),
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
            &meta(),
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
            State::default().with_relation(rel),
            "remote unit \"pg/7\" is not a unit of relation db:3",
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
}
