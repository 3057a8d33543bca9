//! Hook names: `install`, `db-relation-changed`, `web-pebble-ready`… resolved against the metadata
//! (so names with dashes work), and every name a charm can receive.

use super::{Event, EventKind, Family};
use crate::meta::Metadata;

/// The endpoint Juju gives every charm without declaring it: `provides: juju-info:
/// {interface: juju-info}`, through which subordinates attach.
pub const JUJU_INFO: &str = "juju-info";

pub(super) const SIMPLE_HOOKS: &[(&str, EventKind)] = &[
    ("install", EventKind::Install),
    ("start", EventKind::Start),
    ("stop", EventKind::Stop),
    ("remove", EventKind::Remove),
    ("config-changed", EventKind::ConfigChanged),
    ("update-status", EventKind::UpdateStatus),
    ("upgrade-charm", EventKind::UpgradeCharm),
    ("leader-elected", EventKind::LeaderElected),
    ("leader-settings-changed", EventKind::LeaderSettingsChanged),
    ("collect-metrics", EventKind::CollectMetrics),
    ("pre-series-upgrade", EventKind::PreSeriesUpgrade),
    ("post-series-upgrade", EventKind::PostSeriesUpgrade),
    ("secret-changed", EventKind::SecretChanged),
    ("secret-expired", EventKind::SecretExpired),
    ("secret-remove", EventKind::SecretRemove),
    ("secret-rotate", EventKind::SecretRotate),
];

/// Hook-name suffixes of one family and the kinds they stand for.
pub(super) type Suffixes = &'static [(&'static str, EventKind)];

pub(super) const RELATION_SUFFIXES: Suffixes = &[
    ("-relation-created", EventKind::RelationCreated),
    ("-relation-joined", EventKind::RelationJoined),
    ("-relation-changed", EventKind::RelationChanged),
    ("-relation-departed", EventKind::RelationDeparted),
    ("-relation-broken", EventKind::RelationBroken),
];

pub(super) const STORAGE_SUFFIXES: Suffixes = &[
    ("-storage-attached", EventKind::StorageAttached),
    ("-storage-detaching", EventKind::StorageDetaching),
];

pub(super) const PEBBLE_SUFFIXES: Suffixes = &[
    ("-pebble-ready", EventKind::PebbleReady),
    ("-pebble-custom-notice", EventKind::PebbleCustomNotice),
    ("-pebble-check-failed", EventKind::PebbleCheckFailed),
    ("-pebble-check-recovered", EventKind::PebbleCheckRecovered),
];

impl Event {
    #[cfg(any(test, feature = "testing"))]
    /// For a hook named after an endpoint, storage or container the metadata does not declare
    /// (`bd-relation-changed`): the family and the undeclared name.
    pub(crate) fn undeclared_subject<'h>(
        hook: &'h str,
        meta: &Metadata,
    ) -> Option<(Family, &'h str)> {
        for (suffixes, family) in [
            (RELATION_SUFFIXES, Family::Relation),
            (STORAGE_SUFFIXES, Family::Storage),
            (PEBBLE_SUFFIXES, Family::Container),
        ] {
            for (suffix, _) in suffixes {
                if let Some(subject) = hook.strip_suffix(suffix) {
                    if !subject.is_empty() && !family.declared(meta).iter().any(|d| d == subject) {
                        return Some((family, subject));
                    }
                }
            }
        }
        None
    }

    #[cfg(any(test, feature = "testing"))]
    /// Whether `hook` is a hook this charm knows.
    pub(crate) fn parse_hook_name(hook: &str, meta: &Metadata) -> bool {
        Self::parse_hook(hook, meta).is_some()
    }

    /// The kind and subject of hook `hook`, if this charm knows it.
    pub(crate) fn parse_hook(hook: &str, meta: &Metadata) -> Option<(EventKind, Option<String>)> {
        if let Some((_, kind)) = SIMPLE_HOOKS.iter().find(|(n, _)| *n == hook) {
            return Some((*kind, None));
        }
        for (suffixes, family) in [
            (RELATION_SUFFIXES, Family::Relation),
            (STORAGE_SUFFIXES, Family::Storage),
            (PEBBLE_SUFFIXES, Family::Container),
        ] {
            for (suffix, kind) in suffixes {
                if let Some(subject) = hook.strip_suffix(suffix) {
                    if family.declared(meta).iter().any(|d| d == subject) {
                        return Some((*kind, Some(subject.to_string())));
                    }
                }
            }
        }
        None
    }
}

/// Every hook name this charm can receive (`install`, `db-relation-changed`, …), with the
/// action names (`backup`): what a person may type, for did-you-mean suggestions.
pub fn known_hooks(meta: &Metadata) -> Vec<String> {
    let mut names: Vec<String> = SIMPLE_HOOKS.iter().map(|(n, _)| n.to_string()).collect();
    for (suffixes, family) in [
        (RELATION_SUFFIXES, Family::Relation),
        (STORAGE_SUFFIXES, Family::Storage),
        (PEBBLE_SUFFIXES, Family::Container),
    ] {
        for subject in family.declared(meta) {
            for (suffix, _) in suffixes {
                names.push(format!("{subject}{suffix}"));
            }
        }
    }
    names
}
