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

mod containers;
mod trigger;

use super::fake::State;
use super::Trigger;
use crate::error::{Error, Result};
use crate::event::Family;
use crate::meta::{ConfigType, Metadata, Role};
use crate::suggest::did_you_mean;
use crate::types::app_of;
use containers::check_containers;
use trigger::{check_action, check_hook};

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

#[cfg(test)]
mod tests;
