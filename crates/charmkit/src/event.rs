//! Events: what Juju (or a library) asks the charm to react to.
//!
//! [`Event::from_context`] turns `JUJU_DISPATCH_PATH` (+ the other `JUJU_*` variables) into an
//! [`Event`], resolving the endpoint, storage or container name against the metadata so names
//! with dashes work (`charm-tracing-relation-changed` → `RelationChanged` on `charm-tracing`).
//! An [`Event`] is plain data and serializable: that is what a deferred event stores.

use serde::{Deserialize, Serialize};

use crate::context::JujuContext;
use crate::hookcmd::RelationId;
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
}

const SIMPLE_HOOKS: &[(&str, EventKind)] = &[
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
type Suffixes = &'static [(&'static str, EventKind)];

const RELATION_SUFFIXES: Suffixes = &[
    ("-relation-created", EventKind::RelationCreated),
    ("-relation-joined", EventKind::RelationJoined),
    ("-relation-changed", EventKind::RelationChanged),
    ("-relation-departed", EventKind::RelationDeparted),
    ("-relation-broken", EventKind::RelationBroken),
];

const STORAGE_SUFFIXES: Suffixes = &[
    ("-storage-attached", EventKind::StorageAttached),
    ("-storage-detaching", EventKind::StorageDetaching),
];

const PEBBLE_SUFFIXES: Suffixes = &[
    ("-pebble-ready", EventKind::PebbleReady),
    ("-pebble-custom-notice", EventKind::PebbleCustomNotice),
    ("-pebble-check-failed", EventKind::PebbleCheckFailed),
    ("-pebble-check-recovered", EventKind::PebbleCheckRecovered),
];

/// One event, with everything Juju said about it. Plain data: it is what a deferred event stores.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Event {
    /// The kind.
    pub kind: EventKind,
    /// The ops-style name: `install`, `charm_tracing_relation_changed`, `backup_action`, or a
    /// custom event's name.
    pub name: String,
    /// The endpoint, storage, container, action or custom-event owner this event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The relation (relation events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<RelationId>,
    /// The remote application (relation events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_app: Option<String>,
    /// The remote unit (relation events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_unit: Option<String>,
    /// The departing unit (relation-departed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departing_unit: Option<String>,
    /// The secret id (secret events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    /// The secret label (secret events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_label: Option<String>,
    /// The secret revision (secret-expired, secret-remove).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_revision: Option<u64>,
    /// The storage index (storage events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_index: Option<u32>,
    /// The Pebble notice id, type and key (custom-notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<(String, String, String)>,
    /// The Pebble check name (check-failed/recovered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// The action's id (actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    /// A custom event's payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

impl Event {
    /// An event of a simple kind (install, start, …) with its ops-style name.
    pub fn of(kind: EventKind) -> Self {
        let name = match kind {
            EventKind::CollectAppStatus => "collect_app_status".to_string(),
            EventKind::CollectUnitStatus => "collect_unit_status".to_string(),
            _ => SIMPLE_HOOKS
                .iter()
                .find(|(_, k)| *k == kind)
                .map(|(n, _)| n.replace('-', "_"))
                .unwrap_or_else(|| format!("{kind:?}").to_lowercase()),
        };
        Event {
            kind,
            name,
            ..Event::default()
        }
    }

    /// A custom event named `name` emitted by `owner` (a library or the charm), with a payload.
    pub fn custom(owner: &str, name: &str, payload: Option<serde_json::Value>) -> Self {
        Event {
            kind: EventKind::Custom,
            name: name.replace('-', "_"),
            subject: Some(owner.to_string()),
            payload,
            ..Event::default()
        }
    }

    /// The kind.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// Resolves the dispatch path against the metadata. `None` means an event this charm does
    /// not know (Juju may send hooks a newer version invented): the caller logs it.
    pub fn from_context(ctx: &JujuContext, meta: &Metadata) -> Option<Self> {
        let path = ctx.dispatch_path.trim_matches('/');
        let (dir, name) = path.rsplit_once('/')?;
        let mut ev = if dir.ends_with("actions") {
            if !meta.actions.is_empty() && !meta.actions.contains_key(name) {
                return None;
            }
            Event {
                kind: EventKind::Action,
                name: format!("{}_action", name.replace('-', "_")),
                subject: Some(name.to_string()),
                action_id: ctx.action_uuid.clone(),
                ..Event::default()
            }
        } else if dir.ends_with("hooks") {
            Self::parse_hook(name, meta)?
        } else {
            return None;
        };
        match ev.kind() {
            EventKind::RelationCreated
            | EventKind::RelationJoined
            | EventKind::RelationChanged
            | EventKind::RelationDeparted
            | EventKind::RelationBroken => {
                ev.relation = ctx.relation_id.clone().map(|mut r| {
                    if r.endpoint.is_empty() {
                        r.endpoint = ev.subject.clone().unwrap_or_default();
                    }
                    r
                });
                ev.remote_app = ctx.remote_app.clone().or_else(|| {
                    ctx.remote_unit
                        .as_deref()
                        .and_then(crate::context::app_of)
                        .map(String::from)
                });
                ev.remote_unit = ctx.remote_unit.clone();
                ev.departing_unit = ctx.departing_unit.clone();
            }
            EventKind::StorageAttached | EventKind::StorageDetaching => {
                ev.storage_index = ctx.storage_id.as_ref().map(|s| s.index);
            }
            EventKind::PebbleCustomNotice => {
                ev.notice = Some((
                    ctx.notice_id.clone().unwrap_or_default(),
                    ctx.notice_type.clone().unwrap_or_default(),
                    ctx.notice_key.clone().unwrap_or_default(),
                ));
            }
            EventKind::PebbleCheckFailed | EventKind::PebbleCheckRecovered => {
                ev.check = ctx.pebble_check_name.clone();
            }
            EventKind::SecretChanged
            | EventKind::SecretExpired
            | EventKind::SecretRemove
            | EventKind::SecretRotate => {
                ev.secret_id = ctx.secret_id.clone();
                ev.secret_label = ctx.secret_label.clone();
                ev.secret_revision = ctx.secret_revision;
            }
            _ => {}
        }
        Some(ev)
    }

    fn parse_hook(hook: &str, meta: &Metadata) -> Option<Self> {
        let name = hook.replace('-', "_");
        if let Some((_, kind)) = SIMPLE_HOOKS.iter().find(|(n, _)| *n == hook) {
            return Some(Event {
                kind: *kind,
                name,
                ..Event::default()
            });
        }
        let families: [(Suffixes, Vec<&String>); 3] = [
            (RELATION_SUFFIXES, meta.relations.keys().collect()),
            (STORAGE_SUFFIXES, meta.storages.iter().collect()),
            (PEBBLE_SUFFIXES, meta.containers.keys().collect()),
        ];
        for (suffixes, declared) in families {
            for (suffix, kind) in suffixes {
                if let Some(subject) = hook.strip_suffix(suffix) {
                    if declared.iter().any(|d| d.as_str() == subject) {
                        return Some(Event {
                            kind: *kind,
                            name,
                            subject: Some(subject.to_string()),
                            ..Event::default()
                        });
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{RelationMeta, Role};

    fn meta() -> Metadata {
        let mut m = Metadata {
            name: "rust-starter".into(),
            storages: vec!["data".into()],
            containers: [("web".to_string(), Default::default())].into(),
            ..Metadata::default()
        };
        for (name, iface) in [
            ("charm-tracing", "tracing"),
            ("receive-ca-cert", "certificate_transfer"),
        ] {
            m.relations.insert(
                name.into(),
                RelationMeta {
                    name: name.into(),
                    role: Role::Requires,
                    interface: iface.into(),
                    limit: Some(1),
                    optional: true,
                    container_scope: false,
                },
            );
        }
        m
    }

    fn ctx(path: &str) -> JujuContext {
        JujuContext {
            dispatch_path: path.into(),
            unit_name: "rust-starter/0".into(),
            ..JujuContext::default()
        }
    }

    #[test]
    fn every_simple_hook() {
        for (hook, kind) in SIMPLE_HOOKS {
            let ev = Event::from_context(&ctx(&format!("hooks/{hook}")), &meta()).unwrap();
            assert_eq!(ev.kind(), *kind);
            assert_eq!(ev.name, hook.replace('-', "_"));
            assert_eq!(Event::of(*kind).name, ev.name);
        }
    }

    #[test]
    fn dashed_endpoints_resolve_against_metadata() {
        let mut c = ctx("hooks/charm-tracing-relation-changed");
        c.relation_id = "charm-tracing:5".parse().ok();
        c.remote_unit = Some("tempo/0".into());
        let ev = Event::from_context(&c, &meta()).unwrap();
        assert_eq!(ev.kind(), EventKind::RelationChanged);
        assert_eq!(ev.subject.as_deref(), Some("charm-tracing"));
        assert_eq!(ev.name, "charm_tracing_relation_changed");
        assert_eq!(ev.relation.unwrap().id, 5);
        assert_eq!(ev.remote_app.as_deref(), Some("tempo"));
        for (suffix, kind) in RELATION_SUFFIXES {
            let ev = Event::from_context(&ctx(&format!("hooks/receive-ca-cert{suffix}")), &meta())
                .unwrap();
            assert_eq!(
                (ev.kind(), ev.subject.as_deref()),
                (*kind, Some("receive-ca-cert"))
            );
        }
    }

    #[test]
    fn storage_pebble_secret_and_actions() {
        let mut c = ctx("hooks/data-storage-attached");
        c.storage_id = Some(crate::context::StorageRef {
            name: "data".into(),
            index: 2,
        });
        let ev = Event::from_context(&c, &meta()).unwrap();
        assert_eq!(ev.kind(), EventKind::StorageAttached);
        assert_eq!(ev.storage_index, Some(2));
        for (suffix, kind) in PEBBLE_SUFFIXES {
            let ev = Event::from_context(&ctx(&format!("hooks/web{suffix}")), &meta()).unwrap();
            assert_eq!((ev.kind(), ev.subject.as_deref()), (*kind, Some("web")));
        }
        let mut c = ctx("hooks/secret-rotate");
        c.secret_id = Some("secret:x".into());
        assert_eq!(
            Event::from_context(&c, &meta())
                .unwrap()
                .secret_id
                .as_deref(),
            Some("secret:x")
        );
        let ev = Event::from_context(&ctx("actions/trace-status"), &meta()).unwrap();
        assert_eq!(ev.kind(), EventKind::Action);
        assert_eq!(ev.name, "trace_status_action");
        assert_eq!(ev.subject.as_deref(), Some("trace-status"));
    }

    #[test]
    fn unknown_events_are_none() {
        for p in [
            "hooks/frobnicate",
            "hooks/db-relation-changed", // endpoint not declared
            "hooks/",
            "install",
            "",
            "other/install",
        ] {
            assert!(Event::from_context(&ctx(p), &meta()).is_none(), "{p}");
        }
        let mut m = meta();
        m.actions.insert(
            "backup".into(),
            crate::meta::ActionMeta {
                description: String::new(),
                params: Default::default(),
                required: vec![],
            },
        );
        assert!(Event::from_context(&ctx("actions/restore"), &m).is_none());
    }

    #[test]
    fn events_serialize_for_deferral() {
        let mut ev = Event::custom(
            "tracing",
            "endpoint-changed",
            Some(serde_json::json!({"a": 1})),
        );
        ev.relation = "db:3".parse().ok();
        let text = serde_json::to_string(&ev).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), ev);
    }
}
