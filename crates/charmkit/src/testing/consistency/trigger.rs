//! The trigger's checks: the action and its parameters against its schema, and each event
//! against the state it is about (the relation, the unit joining or leaving, the secret, the
//! storage, the container and its notices and checks).

use serde_json::Value;

use super::super::fake::State;
use super::super::Trigger;
use crate::meta::Metadata;
use crate::pebble::CheckStatus;
use crate::suggest::did_you_mean;

pub(super) fn check_action(meta: &Metadata, trigger: &Trigger, problems: &mut Vec<String>) {
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
pub(super) fn schema_mismatch(schema: &Value, value: &Value) -> Option<String> {
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

pub(super) fn check_hook(trigger: &Trigger, state: &State, problems: &mut Vec<String>) {
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

pub(super) fn check_pebble_event(
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

pub(super) fn check_relation_event(
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
    if trigger.by_app && what != "changed" {
        problems.push(format!(
            "{hook}: only relation-changed comes from the remote application's databag"
        ));
    }
    if trigger.by_app && trigger.remote_unit.is_some() {
        problems.push(format!(
            "{hook} is about the remote application's databag, which Juju runs with no remote \
             unit: drop with_remote_unit, or use Trigger::relation_changed for a unit's databag"
        ));
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

pub(super) fn check_secret_event(
    trigger: &Trigger,
    state: &State,
    hook: &str,
    problems: &mut Vec<String>,
) {
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
