//! The kinds of events, their ops-style names, and the family each belongs to (what its subject
//! is: a relation endpoint, a storage, a container or an action).

use serde::{Deserialize, Serialize};

use super::hook::JUJU_INFO;
use crate::meta::Metadata;

/// What kind of event this is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EventKind {
    /// `install`
    Install,
    /// `start`
    Start,
    /// `stop`
    Stop,
    /// `remove`
    Remove,
    /// `config-changed`
    ConfigChanged,
    /// `update-status`
    UpdateStatus,
    /// `upgrade-charm`
    UpgradeCharm,
    /// `leader-elected`
    LeaderElected,
    /// `leader-settings-changed`
    LeaderSettingsChanged,
    /// `collect-metrics`
    CollectMetrics,
    /// `pre-series-upgrade`
    PreSeriesUpgrade,
    /// `post-series-upgrade`
    PostSeriesUpgrade,
    /// `<endpoint>-relation-created`
    RelationCreated,
    /// `<endpoint>-relation-joined`
    RelationJoined,
    /// `<endpoint>-relation-changed`
    RelationChanged,
    /// `<endpoint>-relation-departed`
    RelationDeparted,
    /// `<endpoint>-relation-broken`
    RelationBroken,
    /// `<storage>-storage-attached`
    StorageAttached,
    /// `<storage>-storage-detaching`
    StorageDetaching,
    /// `<container>-pebble-ready`
    PebbleReady,
    /// `<container>-pebble-custom-notice`
    PebbleCustomNotice,
    /// `<container>-pebble-check-failed`
    PebbleCheckFailed,
    /// `<container>-pebble-check-recovered`
    PebbleCheckRecovered,
    /// `secret-changed`
    SecretChanged,
    /// `secret-expired`
    SecretExpired,
    /// `secret-remove`
    SecretRemove,
    /// `secret-rotate`
    SecretRotate,
    /// `actions/<name>`
    Action,
    /// The framework's collect-status step for the application status (leader only).
    CollectAppStatus,
    /// The framework's collect-status step for the unit status.
    CollectUnitStatus,
    /// An event a library or the charm emits itself.
    #[default]
    Custom,
}

impl EventKind {
    /// `hook`, `action`, `framework` or `custom`: the `event_type` span attribute.
    pub fn event_type(self) -> &'static str {
        match self {
            EventKind::Action => "action",
            EventKind::CollectAppStatus | EventKind::CollectUnitStatus => "framework",
            EventKind::Custom => "custom",
            _ => "hook",
        }
    }

    /// Whether observing this kind makes a dispatch "observed" (framework events do not).
    pub fn counts_as_observed(self) -> bool {
        self.event_type() != "framework"
    }

    /// Whether a handler may defer an event of this kind. Actions may not (ops raises too: the
    /// person running the action waits for its result now), nor may collect-status (it runs at
    /// the end of every dispatch anyway; deferring it would only grow the queue).
    pub fn deferrable(self) -> bool {
        !matches!(
            self,
            EventKind::Action | EventKind::CollectAppStatus | EventKind::CollectUnitStatus
        )
    }

    /// The kind in snake case (`start`, `relation_changed`, `action`): the first part of an
    /// observation's selector key.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Install => "install",
            EventKind::Start => "start",
            EventKind::Stop => "stop",
            EventKind::Remove => "remove",
            EventKind::ConfigChanged => "config_changed",
            EventKind::UpdateStatus => "update_status",
            EventKind::UpgradeCharm => "upgrade_charm",
            EventKind::LeaderElected => "leader_elected",
            EventKind::LeaderSettingsChanged => "leader_settings_changed",
            EventKind::CollectMetrics => "collect_metrics",
            EventKind::PreSeriesUpgrade => "pre_series_upgrade",
            EventKind::PostSeriesUpgrade => "post_series_upgrade",
            EventKind::RelationCreated => "relation_created",
            EventKind::RelationJoined => "relation_joined",
            EventKind::RelationChanged => "relation_changed",
            EventKind::RelationDeparted => "relation_departed",
            EventKind::RelationBroken => "relation_broken",
            EventKind::StorageAttached => "storage_attached",
            EventKind::StorageDetaching => "storage_detaching",
            EventKind::PebbleReady => "pebble_ready",
            EventKind::PebbleCustomNotice => "pebble_custom_notice",
            EventKind::PebbleCheckFailed => "pebble_check_failed",
            EventKind::PebbleCheckRecovered => "pebble_check_recovered",
            EventKind::SecretChanged => "secret_changed",
            EventKind::SecretExpired => "secret_expired",
            EventKind::SecretRemove => "secret_remove",
            EventKind::SecretRotate => "secret_rotate",
            EventKind::Action => "action",
            EventKind::CollectAppStatus => "collect_app_status",
            EventKind::CollectUnitStatus => "collect_unit_status",
            EventKind::Custom => "custom",
        }
    }

    /// The family of hooks this kind belongs to, if it is one named after a declared endpoint,
    /// storage or container: what an observer's selector checks a subject against.
    pub(crate) fn family(self) -> Option<Family> {
        let family = match self {
            EventKind::RelationCreated
            | EventKind::RelationJoined
            | EventKind::RelationChanged
            | EventKind::RelationDeparted
            | EventKind::RelationBroken => Family::Relation,
            EventKind::StorageAttached | EventKind::StorageDetaching => Family::Storage,
            EventKind::PebbleReady
            | EventKind::PebbleCustomNotice
            | EventKind::PebbleCheckFailed
            | EventKind::PebbleCheckRecovered => Family::Container,
            EventKind::Action => Family::Action,
            _ => return None,
        };
        Some(family)
    }
}

/// What the subject of an event is: a relation endpoint, a storage, a container or an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Relation,
    Storage,
    Container,
    Action,
}

impl Family {
    /// `relation endpoint`, `storage`, `container`, `action`.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Family::Relation => "relation endpoint",
            Family::Storage => "storage",
            Family::Container => "container",
            Family::Action => "action",
        }
    }

    /// The names of this family the metadata declares (relations: with the implicit
    /// `juju-info`).
    pub(crate) fn declared(self, meta: &Metadata) -> Vec<String> {
        match self {
            Family::Relation => {
                let mut names: Vec<String> = meta.relations.keys().cloned().collect();
                if !meta.relations.contains_key(JUJU_INFO) {
                    names.push(JUJU_INFO.to_string());
                }
                names
            }
            Family::Storage => meta.storages.clone(),
            Family::Container => meta.containers.keys().cloned().collect(),
            Family::Action => meta.actions.keys().cloned().collect(),
        }
    }
}
