//! [`Ctx`]: what a handler sees (documented on the type, which the framework re-exports).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::event::{
    ActionEvent, CheckEvent, CollectStatus, ContainerScoped, Deferrable, Event, EventKind,
    EventType, HookEvent, NoticeEvent, RelationScoped,
};
use crate::model::{Container, Model, Relation};
use crate::pebble::{CheckInfo, Notice};
use crate::state::StoredState;
use crate::types::Status;

/// What a handler returns: `Ok(())`, or any error (it fails the hook, and reaches
/// [`Error::Handler`]'s `source()` with its type intact).
pub type HandlerResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// What a handler asked of the framework, applied after it returns.
#[derive(Default)]
pub(crate) struct Effects {
    pub(crate) deferred: bool,
    pub(crate) refused_defer: bool,
    pub(crate) state_dirty: bool,
    pub(crate) emitted: Vec<Event>,
    pub(crate) statuses: Vec<Status>,
}

/// The part of a handler's context that does not depend on its event type.
pub(crate) struct Core<'a> {
    pub(crate) model: &'a Model,
    pub(crate) state: &'a mut StoredState,
    /// The stored-state owner (`charm`, `Tracing`).
    pub(crate) owner: &'a str,
    pub(crate) effects: Effects,
}

/// What a handler sees — its event, typed; the [`Model`]; its owner's stored state;
/// and what it can ask of the framework (defer, emit a custom event, propose a status, run its
/// action).
///
/// `Ctx<'_, E>` is parameterised by the event type `E` the handler was registered for, and
/// offers what makes sense for it: [`Ctx::defer`] only for deferrable events,
/// [`Ctx::add_status`] only during collect-status, [`Ctx::params`], [`Ctx::set_results`],
/// [`Ctx::fail`] and [`Ctx::log`] only in an action, [`Ctx::relation`] only for relation
/// events, [`Ctx::container`] only for Pebble events (with [`Ctx::notice`] and
/// [`Ctx::check_info`] for the notice and check ones). `Ctx<'_>` (for [`HookEvent`]) is the
/// common case.
pub struct Ctx<'a, E = HookEvent> {
    pub(crate) core: Core<'a>,
    pub(crate) event: &'a Event,
    pub(crate) payload: &'a E,
}

impl<'a, E: EventType> Ctx<'a, E> {
    /// The event, as the type the handler was registered for (a [`HookEvent`] says nothing
    /// more than its name; a [`crate::event::RelationEvent`] has its relation, application and
    /// unit; …).
    pub fn event(&self) -> &E {
        self.payload
    }

    /// The event's ops-style name: `start`, `db_relation_changed`, `backup_action`.
    pub fn event_name(&self) -> &str {
        &self.event.name
    }

    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.event.kind
    }

    /// The model: this unit and app, config, relations, secrets, status. What it hands out
    /// (relations, secrets) does not borrow the context, so a handler can hold a relation and
    /// still `store()` or `defer()`.
    pub fn model(&self) -> &'a Model {
        self.core.model
    }

    /// Emits a custom event after this handler returns (handlers observe it with
    /// [`crate::On::custom`]). Its owner is this handler's owner.
    pub fn emit(&mut self, name: &str, payload: Option<serde_json::Value>) {
        self.core
            .effects
            .emitted
            .push(Event::custom(self.core.owner, name, payload));
    }

    /// This handler's owner's stored value `key`: `None` if absent; an
    /// [`Error::StoredValue`] naming the key if it does not decode as `T`.
    pub fn stored<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.core.state.get(self.core.owner, key)
    }

    /// Stores `value` as this handler's owner's `key`; committed at the end of the dispatch
    /// (and only if it succeeds).
    pub fn store<T: Serialize>(&mut self, key: &str, value: &T) -> Result<()> {
        self.core.state.set(self.core.owner, key, value)?;
        self.core.effects.state_dirty = true;
        Ok(())
    }

    /// Removes this handler's owner's stored value `key`; whether there was one.
    pub fn remove_stored(&mut self, key: &str) -> bool {
        let removed = self.core.state.remove(self.core.owner, key);
        self.core.effects.state_dirty |= removed;
        removed
    }
}

impl<E: Deferrable> Ctx<'_, E> {
    /// Defers the event: it is re-emitted to this handler — this registration of it, for this
    /// event only — at the start of the next dispatch, before that dispatch's event.
    ///
    /// Only offered for deferrable events: deferring an action or collect-status does not
    /// compile —
    ///
    /// ```compile_fail,E0599
    /// use charmkit::prelude::*;
    /// fn on_backup(ctx: &mut Ctx<'_, ActionEvent>) -> HandlerResult {
    ///     ctx.defer()?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ```compile_fail,E0599
    /// use charmkit::prelude::*;
    /// fn on_collect(ctx: &mut Ctx<'_, CollectStatus>) -> HandlerResult {
    ///     ctx.defer()?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// — and on an untyped [`Event`] it is checked instead: deferring an action or
    /// collect-status returns [`Error::Usage`], and the handler fails even if it ignores the
    /// error.
    pub fn defer(&mut self) -> Result<()> {
        if !self.event.kind.deferrable() {
            self.core.effects.refused_defer = true;
            return Err(not_deferrable(self.event));
        }
        self.core.effects.deferred = true;
        Ok(())
    }
}

/// The error of deferring `event`, which cannot be deferred.
pub(crate) fn not_deferrable(event: &Event) -> Error {
    Error::Usage(format!(
        "{} cannot be deferred: {}",
        event.name,
        if event.kind == EventKind::Action {
            "an action runs now or fails (call fail() on its context instead)"
        } else {
            "collect-status runs at the end of every dispatch anyway"
        }
    ))
}

impl Ctx<'_, CollectStatus> {
    /// Proposes a status; the highest priority proposed wins (error > blocked > maintenance >
    /// waiting > active) and is set once, at the end of the step.
    pub fn add_status(&mut self, status: Status) {
        self.core.effects.statuses.push(status);
    }
}

impl<'a, E: RelationScoped> Ctx<'a, E> {
    /// The event's relation, as an object: its units, remote application and databags.
    pub fn relation(&self) -> Relation<'a> {
        self.core
            .model
            .relation_with_app(self.payload.relation(), self.payload.app())
    }
}

impl<E: ContainerScoped> Ctx<'_, E> {
    /// The event's workload container: its Pebble client (see [`Model::container`]).
    pub fn container(&self) -> Result<Container> {
        self.core.model.container(self.payload.container())
    }
}

impl Ctx<'_, NoticeEvent> {
    /// The event's notice as Pebble has it now — its data and occurrences — fetched from the
    /// container (`GET /v1/notices/<id>`; the id, type and key are on [`Ctx::event`] without a
    /// call). A notice Pebble no longer has (it expired) is an [`Error::Pebble`] whose source
    /// [`is_not_found`](crate::pebble::Error::is_not_found).
    pub fn notice(&self) -> Result<Notice> {
        let container = self.container()?;
        container
            .notice(&self.payload.id)
            .map_err(|source| Error::Pebble {
                container: self.payload.container.clone(),
                source,
            })
    }
}

impl Ctx<'_, CheckEvent> {
    /// The event's check as Pebble has it now — status, failures, threshold — fetched from
    /// the container (`GET /v1/checks?names=<check>`); `None` if the plan no longer has it.
    pub fn check_info(&self) -> Result<Option<CheckInfo>> {
        let container = self.container()?;
        let infos = container
            .checks(None, &[self.payload.check.as_str()])
            .map_err(|source| Error::Pebble {
                container: self.payload.container.clone(),
                source,
            })?;
        Ok(infos.into_iter().find(|i| i.name == self.payload.check))
    }
}

impl Ctx<'_, ActionEvent> {
    /// The action's parameters decoded as `T` (e.g. a `#[derive(Deserialize)]` struct with the
    /// parameters' names, dashes as in `actions.yaml` — use `#[serde(rename_all =
    /// "kebab-case")]`). Juju has already validated them against the action's schema and
    /// filled its defaults. A mismatch is an [`Error::Action`] naming the parameter.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T> {
        let params = self.core.model.action_params()?;
        let value =
            serde_json::Value::Object(params.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        crate::error::decode(value).map_err(|(path, e)| Error::Action {
            action: self.payload.name.clone(),
            message: if path.is_empty() {
                format!("parameters: {e}")
            } else {
                format!("parameter {path}: {e}")
            },
        })
    }

    /// Sets results: any value that serializes to a map (a struct, a `json!({…})`). Nested
    /// maps become dotted keys (`{"db": {"size": 3}}` → `db.size=3`), as ops does; strings are
    /// sent as they are, other values as JSON. May be called more than once; keys merge.
    /// Result values never reach logs or spans.
    pub fn set_results<T: Serialize>(&self, results: &T) -> Result<()> {
        let value = serde_json::to_value(results).map_err(|e| Error::Action {
            action: self.payload.name.clone(),
            message: format!("results cannot be encoded: {e}"),
        })?;
        let serde_json::Value::Object(map) = value else {
            return Err(Error::Action {
                action: self.payload.name.clone(),
                message: format!("results must be a map of keys to values, not {value}"),
            });
        };
        let mut flat = BTreeMap::new();
        flatten("", &map, &mut flat);
        self.core.model.hook().action_set(&flat)
    }

    /// Marks the action failed with `message` (the handler still returns `Ok`: the action ran
    /// and reported its failure; the hook succeeds and results set so far are kept).
    pub fn fail(&self, message: &str) -> Result<()> {
        self.core.model.hook().action_fail(message)
    }

    /// Logs a progress message to the person running the action (`juju run` shows it).
    pub fn log(&self, message: &str) -> Result<()> {
        self.core.model.hook().action_log(message)
    }
}

/// Flattens nested maps into dotted keys, strings as themselves and other values as JSON.
fn flatten(
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    out: &mut BTreeMap<String, String>,
) {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::Object(inner) => flatten(&key, inner, out),
            serde_json::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}
