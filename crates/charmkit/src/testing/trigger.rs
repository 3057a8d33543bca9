//! [`Trigger`]: the event a test (or `simulate`) sends, built from the state objects it is
//! about — `Trigger::relation_changed(&relation)`, `Trigger::secret_changed(&secret)`,
//! `Trigger::storage_attached(&storage)`, `Trigger::pebble_ready(&container)` — as Scenario's
//! `ctx.on.*` are, rather than from strings and ids.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fake::{Relation, Secret, Storage};
use super::pebble::Container;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::meta::Metadata;
use crate::pebble::{CheckInfo, Notice};

/// What Juju sends: the dispatch path plus what goes with it. Checked against the metadata
/// and the [`super::State`] before anything runs (see [`super::check`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// `hooks/<name>` or `actions/<name>`.
    pub path: String,
    /// The relation (endpoint and number), for relation events.
    pub relation: Option<(String, u32)>,
    /// The remote unit (default: the relation's first remote unit, for joined, changed and
    /// departed).
    pub remote_unit: Option<String>,
    /// A relation-changed caused by the remote application's databag: no remote unit, as Juju
    /// runs it ([`Trigger::relation_changed_by_app`]).
    pub by_app: bool,
    /// The departing unit (relation-departed).
    pub departing_unit: Option<String>,
    /// The secret id, label and revision (secret events).
    pub secret: Option<(String, Option<String>, Option<u64>)>,
    /// The storage index (storage events; the name is in the hook name).
    pub storage_index: Option<u32>,
    /// The Pebble notice id, type and key (pebble-custom-notice).
    pub notice: Option<(String, String, String)>,
    /// The Pebble check (pebble-check-failed/recovered).
    pub pebble_check: Option<String>,
    /// Action parameters (the metadata's defaults fill the rest).
    pub params: BTreeMap<String, Value>,
}

macro_rules! lifecycle {
    ($($fn:ident => $hook:literal),+ $(,)?) => {
        $(
            #[doc = concat!("`", $hook, "`")]
            pub fn $fn() -> Self {
                Trigger::hook($hook)
            }
        )+
    };
}

macro_rules! on_relation {
    ($($fn:ident => $suffix:literal),+ $(,)?) => {
        $(
            #[doc = concat!("`<endpoint>-relation-", $suffix, "` on `relation` (it must be in the state).")]
            pub fn $fn(relation: &Relation) -> Self {
                Trigger::on_relation(relation, $suffix)
            }
        )+
    };
}

impl Trigger {
    /// A hook by name: `install`, `config-changed`, `db-relation-changed`… A name the charm
    /// does not know is refused when the test runs, with a suggestion. Prefer the typed
    /// constructors (`Trigger::start()`, `Trigger::relation_changed(&rel)`).
    pub fn hook(name: &str) -> Self {
        Trigger {
            path: format!("hooks/{name}"),
            relation: None,
            remote_unit: None,
            by_app: false,
            departing_unit: None,
            secret: None,
            storage_index: None,
            notice: None,
            pebble_check: None,
            params: BTreeMap::new(),
        }
    }

    lifecycle! {
        install => "install",
        start => "start",
        stop => "stop",
        remove => "remove",
        config_changed => "config-changed",
        update_status => "update-status",
        upgrade_charm => "upgrade-charm",
        leader_elected => "leader-elected",
        leader_settings_changed => "leader-settings-changed",
        collect_metrics => "collect-metrics",
    }

    fn on_relation(relation: &Relation, what: &str) -> Self {
        Trigger {
            relation: Some((relation.endpoint.clone(), relation.id)),
            ..Trigger::hook(&format!("{}-relation-{what}", relation.endpoint))
        }
    }

    on_relation! {
        relation_created => "created",
        relation_joined => "joined",
        relation_broken => "broken",
    }

    /// `<endpoint>-relation-changed` on `relation` (it must be in the state), caused by a remote
    /// unit's databag: the unit is [`Trigger::with_remote_unit`]'s, or else the relation's
    /// first remote unit. For a change of the remote application's databag,
    /// [`Trigger::relation_changed_by_app`].
    pub fn relation_changed(relation: &Relation) -> Self {
        Trigger::on_relation(relation, "changed")
    }

    /// `<endpoint>-relation-changed` on `relation` caused by the remote application's databag:
    /// Juju runs it with `JUJU_REMOTE_UNIT` empty, so the event names no unit
    /// ([`RelationEvent::unit`](crate::event::RelationEvent::unit) is `None`, as ops'
    /// `RelationChangedEvent.unit` is).
    pub fn relation_changed_by_app(relation: &Relation) -> Self {
        Trigger {
            by_app: true,
            ..Trigger::on_relation(relation, "changed")
        }
    }

    /// `<endpoint>-relation-departed` on `relation`, with `departing` leaving (a remote unit,
    /// or this one).
    pub fn relation_departed(relation: &Relation, departing: &str) -> Self {
        Trigger {
            departing_unit: Some(departing.to_string()),
            ..Trigger::on_relation(relation, "departed")
        }
    }

    /// An action by name, with no parameters yet ([`Trigger::with_param`]).
    pub fn action(name: &str) -> Self {
        Trigger {
            path: format!("actions/{name}"),
            ..Trigger::hook("")
        }
    }

    fn on_secret(secret: &Secret, hook: &str, revision: Option<u64>) -> Self {
        Trigger {
            secret: Some((secret.id.clone(), secret.label.clone(), revision)),
            ..Trigger::hook(hook)
        }
    }

    /// `secret-changed` for `secret` (one this unit observes, in the state).
    pub fn secret_changed(secret: &Secret) -> Self {
        Trigger::on_secret(secret, "secret-changed", None)
    }

    /// `secret-rotate` for `secret` (one this application owns).
    pub fn secret_rotate(secret: &Secret) -> Self {
        Trigger::on_secret(secret, "secret-rotate", None)
    }

    /// `secret-expired` for `revision` of `secret`.
    pub fn secret_expired(secret: &Secret, revision: u64) -> Self {
        Trigger::on_secret(secret, "secret-expired", Some(revision))
    }

    /// `secret-remove` for `revision` of `secret`.
    pub fn secret_remove(secret: &Secret, revision: u64) -> Self {
        Trigger::on_secret(secret, "secret-remove", Some(revision))
    }

    fn on_storage(storage: &Storage, what: &str) -> Self {
        let (name, index) = storage.id.split_once('/').unwrap_or((&storage.id, ""));
        Trigger {
            storage_index: index.parse().ok(),
            ..Trigger::hook(&format!("{name}-storage-{what}"))
        }
    }

    /// `<storage>-storage-attached` for `storage` (in the state).
    pub fn storage_attached(storage: &Storage) -> Self {
        Trigger::on_storage(storage, "attached")
    }

    /// `<storage>-storage-detaching` for `storage` (in the state).
    pub fn storage_detaching(storage: &Storage) -> Self {
        Trigger::on_storage(storage, "detaching")
    }

    /// `<container>-pebble-ready` for `container` (in the state).
    pub fn pebble_ready(container: &Container) -> Self {
        Trigger::hook(&format!("{}-pebble-ready", container.name))
    }

    /// `<container>-pebble-custom-notice` for `notice`, one of `container`'s notices (both in
    /// the state).
    pub fn pebble_custom_notice(container: &Container, notice: &Notice) -> Self {
        Trigger {
            notice: Some((
                notice.id.clone(),
                notice.r#type.as_str().to_string(),
                notice.key.clone(),
            )),
            ..Trigger::hook(&format!("{}-pebble-custom-notice", container.name))
        }
    }

    /// `<container>-pebble-check-failed` for `check`, one of `container`'s check infos (both
    /// in the state; the check down, as Pebble has it when it says so).
    pub fn pebble_check_failed(container: &Container, check: &CheckInfo) -> Self {
        Trigger::on_check(container, check, "failed")
    }

    /// `<container>-pebble-check-recovered` for `check`, one of `container`'s check infos
    /// (both in the state; the check up again).
    pub fn pebble_check_recovered(container: &Container, check: &CheckInfo) -> Self {
        Trigger::on_check(container, check, "recovered")
    }

    fn on_check(container: &Container, check: &CheckInfo, what: &str) -> Self {
        Trigger {
            pebble_check: Some(check.name.clone()),
            ..Trigger::hook(&format!("{}-pebble-check-{what}", container.name))
        }
    }

    /// Sets the remote unit of a relation event.
    pub fn with_remote_unit(mut self, unit: &str) -> Self {
        self.remote_unit = Some(unit.to_string());
        self
    }

    /// Sets an action parameter.
    pub fn with_param(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }

    /// Parses what a person types: `install`, `charm-tracing-relation-created`,
    /// `actions/trace-status`, `hooks/start`, or a bare action name. A name the charm does not
    /// know is an [`Error::Usage`] with a did-you-mean.
    pub fn parse(text: &str, meta: &Metadata) -> Result<Self> {
        let t = if let Some(a) = text.strip_prefix("actions/") {
            Trigger::action(a)
        } else if let Some(h) = text.strip_prefix("hooks/") {
            Trigger::hook(h)
        } else if meta.actions.contains_key(text) {
            Trigger::action(text)
        } else {
            Trigger::hook(text)
        };
        t.known(meta).map_err(Error::Usage)?;
        Ok(t)
    }

    /// Whether the charm knows this event; if not, why, with a suggestion.
    pub(crate) fn known(&self, meta: &Metadata) -> std::result::Result<(), String> {
        let name = self.hook_name();
        if self.is_action() {
            if meta.actions.contains_key(name) {
                return Ok(());
            }
            let declared: Vec<&String> = meta.actions.keys().collect();
            return Err(format!(
                "action {name:?} is not declared in the charm's metadata{}",
                crate::suggest::did_you_mean(name, &declared)
            ));
        }
        if self.path.starts_with("hooks/") && Event::parse_hook_name(name, meta) {
            return Ok(());
        }
        if let Some((family, subject)) = Event::undeclared_subject(name, meta) {
            return Err(format!(
                "{name}: {} {subject:?} is not declared in the charm's metadata{}",
                family.noun(),
                crate::suggest::did_you_mean(subject, &family.declared(meta))
            ));
        }
        let mut known = crate::event::known_hooks(meta);
        known.extend(meta.actions.keys().cloned());
        Err(format!(
            "{name:?} is not an event this charm knows (a hook of its declared relations, \
             storage or containers, or one of its actions){}",
            crate::suggest::did_you_mean(name, &known)
        ))
    }

    /// Whether this is an action.
    pub fn is_action(&self) -> bool {
        self.path.starts_with("actions/")
    }

    /// The hook's or action's name (the last part of the path).
    pub fn hook_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }
}
