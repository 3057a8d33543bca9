//! Events: what Juju (or a library) asks the charm to react to.
//!
//! [`Event::from_context`] turns `JUJU_DISPATCH_PATH` (+ the other `JUJU_*` variables) into an
//! [`Event`], resolving the endpoint, storage or container name against the metadata so names
//! with dashes work (`charm-tracing-relation-changed` → `RelationChanged` on `charm-tracing`).
//!
//! An [`Event`] is a kind, an ops-style name and a typed [`Payload`]; it is plain data and
//! serializable, which is what a deferred event stores. Handlers see the payload as its own type
//! (see `charmkit::observe::On`): a relation event carries its relation and remote application
//! without `Option` ([`RelationEvent`]), a relation-joined event its remote unit
//! ([`RelationJoinedEvent`]), relation-departed the departing unit ([`RelationDepartedEvent`]);
//! secret, storage, Pebble and action events carry theirs. What Juju guarantees to set and does
//! not is an [`Error::Env`] naming the variable, not a silently empty field.

use serde::{Deserialize, Serialize};

use crate::context::JujuContext;
use crate::error::{Error, Result};
use crate::meta::Metadata;
use crate::types::canonical_secret_id;

mod hook;
mod kind;
mod payload;

pub use hook::{known_hooks, JUJU_INFO};
pub use kind::EventKind;
pub(crate) use kind::Family;

pub use payload::{
    ActionEvent, CheckEvent, CollectStatus, ContainerScoped, CustomEvent, Deferrable, EventType,
    HookEvent, NoticeEvent, RelationDepartedEvent, RelationEvent, RelationJoinedEvent,
    RelationScoped, SecretEvent, SecretRevisionEvent, StorageEvent, WorkloadEvent,
};

/// One event: its kind, its ops-style name and its typed payload. Plain data: it is what a
/// deferred event stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The kind.
    pub kind: EventKind,
    /// The ops-style name: `install`, `charm_tracing_relation_changed`, `backup_action`, or a
    /// custom event's name.
    pub name: String,
    /// What Juju (or the emitter) said about it.
    #[serde(default)]
    pub payload: Payload,
}

/// An event's typed content. Which variant goes with which [`EventKind`] is fixed (see
/// [`Event::is_consistent`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Payload {
    /// Lifecycle hooks (install, start, config-changed…) and collect-status: nothing more.
    #[default]
    None,
    /// relation-created, relation-changed, relation-broken.
    Relation(RelationEvent),
    /// relation-joined.
    RelationJoined(RelationJoinedEvent),
    /// relation-departed.
    RelationDeparted(RelationDepartedEvent),
    /// secret-changed, secret-rotate.
    Secret(SecretEvent),
    /// secret-expired, secret-remove.
    SecretRevision(SecretRevisionEvent),
    /// storage-attached, storage-detaching.
    Storage(StorageEvent),
    /// pebble-ready.
    Workload(WorkloadEvent),
    /// pebble-custom-notice.
    Notice(NoticeEvent),
    /// pebble-check-failed, pebble-check-recovered.
    Check(CheckEvent),
    /// An action.
    Action(ActionEvent),
    /// A custom event.
    Custom(CustomEvent),
}

impl Event {
    /// An event of a simple kind (install, start, …, collect-status) with its ops-style name.
    pub fn of(kind: EventKind) -> Self {
        Event {
            kind,
            name: kind.as_str().to_string(),
            payload: Payload::None,
        }
    }

    /// A custom event named `name` emitted by `owner` (a library or the charm), with a payload.
    pub fn custom(owner: &str, name: &str, payload: Option<serde_json::Value>) -> Self {
        let name = name.replace('-', "_");
        Event {
            kind: EventKind::Custom,
            name: name.clone(),
            payload: Payload::Custom(CustomEvent {
                owner: owner.to_string(),
                name,
                payload,
            }),
        }
    }

    /// The kind.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The endpoint, storage, container, action or custom event this event is about.
    pub fn subject(&self) -> Option<&str> {
        match &self.payload {
            Payload::None => None,
            Payload::Relation(e) => Some(&e.relation.endpoint),
            Payload::RelationJoined(e) => Some(&e.relation.endpoint),
            Payload::RelationDeparted(e) => Some(&e.relation.endpoint),
            Payload::Secret(_) | Payload::SecretRevision(_) => None,
            Payload::Storage(e) => Some(&e.name),
            Payload::Workload(e) => Some(&e.container),
            Payload::Notice(e) => Some(&e.container),
            Payload::Check(e) => Some(&e.container),
            Payload::Action(e) => Some(&e.name),
            Payload::Custom(e) => Some(&e.name),
        }
    }

    /// Whether the payload is the one that goes with the kind (a deferred event read from disk
    /// that is not is dropped).
    pub fn is_consistent(&self) -> bool {
        use EventKind as K;
        matches!(
            (self.kind, &self.payload),
            (
                K::RelationCreated | K::RelationChanged | K::RelationBroken,
                Payload::Relation(_)
            ) | (K::RelationJoined, Payload::RelationJoined(_))
                | (K::RelationDeparted, Payload::RelationDeparted(_))
                | (K::SecretChanged | K::SecretRotate, Payload::Secret(_))
                | (
                    K::SecretExpired | K::SecretRemove,
                    Payload::SecretRevision(_)
                )
                | (
                    K::StorageAttached | K::StorageDetaching,
                    Payload::Storage(_)
                )
                | (K::PebbleReady, Payload::Workload(_))
                | (K::PebbleCustomNotice, Payload::Notice(_))
                | (
                    K::PebbleCheckFailed | K::PebbleCheckRecovered,
                    Payload::Check(_)
                )
                | (K::Action, Payload::Action(_))
                | (K::Custom, Payload::Custom(_))
        ) || (self.kind.family().is_none()
            && !matches!(self.kind, K::Custom)
            && !is_secret(self.kind)
            && self.payload == Payload::None)
    }

    /// Resolves the dispatch path against the metadata. `Ok(None)` means an event this charm
    /// does not know (Juju may send hooks a newer version invented): the caller logs it. An
    /// [`Error::Env`] means a variable Juju always sets for this event is missing or empty.
    pub fn from_context(ctx: &JujuContext, meta: &Metadata) -> Result<Option<Self>> {
        let path = ctx.dispatch_path.trim_matches('/');
        let Some((dir, name)) = path.rsplit_once('/') else {
            return Ok(None);
        };
        let (kind, event_name, subject) = if dir.ends_with("actions") {
            if !meta.actions.is_empty() && !meta.actions.contains_key(name) {
                return Ok(None);
            }
            (
                EventKind::Action,
                format!("{}_action", name.replace('-', "_")),
                Some(name.to_string()),
            )
        } else if dir.ends_with("hooks") {
            match Self::parse_hook(name, meta) {
                Some((kind, subject)) => (kind, name.replace('-', "_"), subject),
                None => return Ok(None),
            }
        } else {
            return Ok(None);
        };
        let payload = payload_from(kind, subject, ctx)?;
        Ok(Some(Event {
            kind,
            name: event_name,
            payload,
        }))
    }
}

fn is_secret(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::SecretChanged
            | EventKind::SecretExpired
            | EventKind::SecretRemove
            | EventKind::SecretRotate
    )
}

/// A variable Juju always sets for this event: its value, or an [`Error::Env`].
fn required<'a>(var: &str, value: Option<&'a str>, event: &str) -> Result<&'a str> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| Error::Env {
        var: var.to_string(),
        reason: format!("not set, and Juju always sets it for {event} events"),
    })
}

/// The typed payload of an event of `kind` about `subject`, from the context.
fn payload_from(kind: EventKind, subject: Option<String>, ctx: &JujuContext) -> Result<Payload> {
    let subject = subject.unwrap_or_default();
    let hook = kind.as_str();
    let payload = match kind {
        EventKind::RelationCreated
        | EventKind::RelationJoined
        | EventKind::RelationChanged
        | EventKind::RelationDeparted
        | EventKind::RelationBroken => {
            let mut relation = ctx.relation_id.clone().ok_or_else(|| Error::Env {
                var: "JUJU_RELATION_ID".into(),
                reason: format!("not set, and Juju always sets it for {hook} events"),
            })?;
            if relation.endpoint.is_empty() {
                relation.endpoint = subject;
            }
            let unit = ctx.remote_unit.clone().filter(|u| !u.is_empty());
            let derived = unit.as_deref().and_then(crate::types::app_of);
            let app = match ctx.remote_app.as_deref().filter(|a| !a.is_empty()) {
                Some(a) => a.to_string(),
                // Juju 2.9 leaves JUJU_REMOTE_APP empty on relation-broken once the remote
                // application is gone (LP #1960934): as ops, carry on without it rather than
                // fail the hook forever.
                None if kind == EventKind::RelationBroken && derived.is_none() => {
                    log::warn!("relation-broken without JUJU_REMOTE_APP (Juju bug 1960934)");
                    String::new()
                }
                None => required("JUJU_REMOTE_APP", derived, hook)?.to_string(),
            };
            match kind {
                EventKind::RelationJoined => Payload::RelationJoined(RelationJoinedEvent {
                    relation,
                    app,
                    unit: required("JUJU_REMOTE_UNIT", unit.as_deref(), hook)?.to_string(),
                }),
                EventKind::RelationDeparted => Payload::RelationDeparted(RelationDepartedEvent {
                    relation,
                    app,
                    unit: required("JUJU_REMOTE_UNIT", unit.as_deref(), hook)?.to_string(),
                    departing_unit: required(
                        "JUJU_DEPARTING_UNIT",
                        ctx.departing_unit.as_deref(),
                        hook,
                    )?
                    .to_string(),
                }),
                _ => Payload::Relation(RelationEvent {
                    relation,
                    app,
                    unit,
                }),
            }
        }
        EventKind::StorageAttached | EventKind::StorageDetaching => {
            let storage = ctx.storage_id.as_ref().ok_or_else(|| Error::Env {
                var: "JUJU_STORAGE_ID".into(),
                reason: format!("not set, and Juju always sets it for {hook} events"),
            })?;
            Payload::Storage(StorageEvent {
                name: subject,
                index: storage.index,
            })
        }
        EventKind::PebbleReady => Payload::Workload(WorkloadEvent { container: subject }),
        EventKind::PebbleCustomNotice => Payload::Notice(NoticeEvent {
            container: subject,
            id: required("JUJU_NOTICE_ID", ctx.notice_id.as_deref(), hook)?.to_string(),
            notice_type: required("JUJU_NOTICE_TYPE", ctx.notice_type.as_deref(), hook)?
                .to_string(),
            key: required("JUJU_NOTICE_KEY", ctx.notice_key.as_deref(), hook)?.to_string(),
        }),
        EventKind::PebbleCheckFailed | EventKind::PebbleCheckRecovered => {
            Payload::Check(CheckEvent {
                container: subject,
                check: required(
                    "JUJU_PEBBLE_CHECK_NAME",
                    ctx.pebble_check_name.as_deref(),
                    hook,
                )?
                .to_string(),
            })
        }
        EventKind::SecretChanged
        | EventKind::SecretExpired
        | EventKind::SecretRemove
        | EventKind::SecretRotate => {
            // Canonical, so it compares equal to the id `secret-add` or `secret-ids` gave.
            let id = canonical_secret_id(
                required("JUJU_SECRET_ID", ctx.secret_id.as_deref(), hook)?,
                Some(&ctx.model_uuid),
            );
            let label = ctx.secret_label.clone().filter(|l| !l.is_empty());
            if matches!(kind, EventKind::SecretExpired | EventKind::SecretRemove) {
                let revision = ctx.secret_revision.ok_or_else(|| Error::Env {
                    var: "JUJU_SECRET_REVISION".into(),
                    reason: format!("not set, and Juju always sets it for {hook} events"),
                })?;
                Payload::SecretRevision(SecretRevisionEvent {
                    id,
                    label,
                    revision,
                })
            } else {
                Payload::Secret(SecretEvent { id, label })
            }
        }
        EventKind::Action => Payload::Action(ActionEvent {
            name: subject,
            id: required("JUJU_ACTION_UUID", ctx.action_uuid.as_deref(), "action")?.to_string(),
        }),
        _ => Payload::None,
    };
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::hook::{PEBBLE_SUFFIXES, RELATION_SUFFIXES, SIMPLE_HOOKS};
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

    fn parse(c: &JujuContext) -> Event {
        Event::from_context(c, &meta()).unwrap().unwrap()
    }

    #[test]
    fn every_simple_hook() {
        for (hook, kind) in SIMPLE_HOOKS {
            let c = ctx(&format!("hooks/{hook}"));
            // Secret hooks need their secret; the rest need nothing.
            let c = JujuContext {
                secret_id: Some("secret:x".into()),
                secret_revision: Some(1),
                ..c
            };
            let ev = parse(&c);
            assert_eq!(ev.kind(), *kind);
            assert_eq!(ev.name, hook.replace('-', "_"));
            assert!(ev.is_consistent(), "{hook}");
            if !is_secret(*kind) {
                assert_eq!(Event::of(*kind), ev);
            }
        }
    }

    #[test]
    fn relation_events_carry_their_relation_and_app_without_option() {
        let mut c = ctx("hooks/charm-tracing-relation-changed");
        c.relation_id = "charm-tracing:5".parse().ok();
        c.remote_unit = Some("tempo/0".into());
        let ev = parse(&c);
        assert_eq!(ev.kind(), EventKind::RelationChanged);
        assert_eq!(ev.subject(), Some("charm-tracing"));
        assert_eq!(ev.name, "charm_tracing_relation_changed");
        let Payload::Relation(r) = &ev.payload else {
            panic!("{ev:?}")
        };
        assert_eq!(r.relation.id, 5);
        assert_eq!(r.app, "tempo", "derived from the remote unit");
        assert_eq!(r.unit.as_deref(), Some("tempo/0"));

        c.dispatch_path = "hooks/charm-tracing-relation-joined".into();
        let ev = parse(&c);
        assert_eq!(RelationJoinedEvent::extract(&ev).unwrap().unit, "tempo/0");
        assert!(RelationEvent::extract(&ev).is_none());

        c.dispatch_path = "hooks/charm-tracing-relation-departed".into();
        c.departing_unit = Some("tempo/1".into());
        let ev = parse(&c);
        let d = RelationDepartedEvent::extract(&ev).unwrap();
        assert_eq!(
            (d.unit.as_str(), d.departing_unit.as_str()),
            ("tempo/0", "tempo/1")
        );

        for (suffix, kind) in RELATION_SUFFIXES {
            let mut c = ctx(&format!("hooks/receive-ca-cert{suffix}"));
            c.relation_id = "receive-ca-cert:8".parse().ok();
            c.remote_app = Some("ssc".into());
            c.remote_unit = Some("ssc/0".into());
            c.departing_unit = Some("ssc/0".into());
            let ev = parse(&c);
            assert_eq!((ev.kind(), ev.subject()), (*kind, Some("receive-ca-cert")));
            assert!(ev.is_consistent());
        }
        // The implicit juju-info endpoint needs no declaration.
        let mut c = ctx("hooks/juju-info-relation-joined");
        c.relation_id = "juju-info:2".parse().ok();
        c.remote_unit = Some("sub/0".into());
        assert_eq!(parse(&c).subject(), Some("juju-info"));
    }

    #[test]
    fn what_juju_always_sets_is_an_env_error_when_missing() {
        let cases: &[(&str, &str)] = &[
            ("hooks/charm-tracing-relation-changed", "JUJU_RELATION_ID"),
            ("hooks/data-storage-attached", "JUJU_STORAGE_ID"),
            ("hooks/secret-changed", "JUJU_SECRET_ID"),
            ("hooks/web-pebble-check-failed", "JUJU_PEBBLE_CHECK_NAME"),
            ("hooks/web-pebble-custom-notice", "JUJU_NOTICE_ID"),
            ("actions/trace-status", "JUJU_ACTION_UUID"),
        ];
        for (path, var) in cases {
            match Event::from_context(&ctx(path), &meta()) {
                Err(Error::Env { var: v, .. }) => assert_eq!(v, *var, "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
        let mut c = ctx("hooks/charm-tracing-relation-joined");
        c.relation_id = "charm-tracing:5".parse().ok();
        c.remote_app = Some("tempo".into());
        assert!(matches!(
            Event::from_context(&c, &meta()),
            Err(Error::Env { var, .. }) if var == "JUJU_REMOTE_UNIT"
        ));
        c.remote_app = None;
        c.dispatch_path = "hooks/charm-tracing-relation-changed".into();
        assert!(matches!(
            Event::from_context(&c, &meta()),
            Err(Error::Env { var, .. }) if var == "JUJU_REMOTE_APP"
        ));
        // Except on relation-broken, where old Juju leaves it out once the app is gone.
        c.dispatch_path = "hooks/charm-tracing-relation-broken".into();
        let ev = parse(&c);
        assert_eq!(RelationEvent::extract(&ev).unwrap().app, "");
    }

    #[test]
    fn storage_pebble_secret_and_actions() {
        let mut c = ctx("hooks/data-storage-attached");
        c.storage_id = Some(crate::context::StorageRef {
            name: "data".into(),
            index: 2,
        });
        let ev = parse(&c);
        assert_eq!(ev.kind(), EventKind::StorageAttached);
        assert_eq!(StorageEvent::extract(&ev).unwrap().id(), "data/2");
        for (suffix, kind) in PEBBLE_SUFFIXES {
            let mut c = ctx(&format!("hooks/web{suffix}"));
            c.notice_id = Some("1".into());
            c.notice_type = Some("custom".into());
            c.notice_key = Some("a.com/b".into());
            c.pebble_check_name = Some("up".into());
            let ev = parse(&c);
            assert_eq!((ev.kind(), ev.subject()), (*kind, Some("web")));
            assert!(ev.is_consistent());
        }
        let mut c = ctx("hooks/secret-rotate");
        c.secret_id = Some("secret:x".into());
        assert_eq!(SecretEvent::extract(&parse(&c)).unwrap().id, "secret:x");
        // With the model known, the id is canonical: equal to what secret-add and secret-ids
        // give, whichever form Juju put in JUJU_SECRET_ID.
        c.model_uuid = "m-uuid".into();
        for raw in ["secret:x", "x", " secret://m-uuid/x\n"] {
            c.secret_id = Some(raw.into());
            assert_eq!(
                SecretEvent::extract(&parse(&c)).unwrap().id,
                "secret://m-uuid/x",
                "{raw:?}"
            );
        }
        c.dispatch_path = "hooks/secret-expired".into();
        assert!(matches!(
            Event::from_context(&c, &meta()),
            Err(Error::Env { var, .. }) if var == "JUJU_SECRET_REVISION"
        ));
        c.secret_revision = Some(3);
        assert_eq!(
            SecretRevisionEvent::extract(&parse(&c)).unwrap().revision,
            3
        );
        let mut c = ctx("actions/trace-status");
        c.action_uuid = Some("7".into());
        let ev = parse(&c);
        assert_eq!(ev.kind(), EventKind::Action);
        assert_eq!(ev.name, "trace_status_action");
        assert_eq!(ev.subject(), Some("trace-status"));
        assert_eq!(ActionEvent::extract(&ev).unwrap().id, "7");
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
            assert!(
                Event::from_context(&ctx(p), &meta()).unwrap().is_none(),
                "{p}"
            );
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
        assert!(Event::from_context(&ctx("actions/restore"), &m)
            .unwrap()
            .is_none());
    }

    #[test]
    fn events_serialize_for_deferral() {
        let ev = Event::custom(
            "tracing",
            "endpoint-changed",
            Some(serde_json::json!({"a": 1})),
        );
        let text = serde_json::to_string(&ev).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), ev);
        let mut c = ctx("hooks/charm-tracing-relation-departed");
        c.relation_id = "charm-tracing:5".parse().ok();
        c.remote_unit = Some("tempo/0".into());
        c.departing_unit = Some("tempo/0".into());
        let ev = parse(&c);
        let text = serde_json::to_string(&ev).unwrap();
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, ev);
        assert!(back.is_consistent());
        // A payload that does not go with the kind is not consistent.
        let wrong = Event {
            payload: Payload::None,
            ..ev
        };
        assert!(!wrong.is_consistent());
    }
}
