//! The typed payload of each event family, and [`EventType`], which lets a handler receive its
//! event as its own type.

use serde::{Deserialize, Serialize};

use super::{Event, EventKind, Payload};
use crate::error::{Error, Result};
use crate::types::RelationId;

/// A type a handler can receive its event as: each payload type below, [`HookEvent`] for the
/// lifecycle hooks, [`CollectStatus`], and [`Event`] itself (any event, untyped).
///
/// The framework only hands a handler events its selector matches, and a selector of type
/// `On<E>` only matches kinds whose payload is an `E`, so `extract` failing is a bug in the
/// selector, reported as an error rather than a panic.
pub trait EventType: 'static {
    /// The payload of `event` as `Self`, if it is one.
    fn extract(event: &Event) -> Option<&Self>;
}

/// Event types a handler may defer: [`crate::Ctx::defer`] exists only for these, so deferring
/// an action or collect-status does not compile. On [`Event`] (untyped) it is checked when
/// called instead, and is an error for those kinds.
pub trait Deferrable: EventType {}

impl EventType for Event {
    fn extract(event: &Event) -> Option<&Self> {
        Some(event)
    }
}

impl Deferrable for Event {}
impl Deferrable for HookEvent {}
impl Deferrable for RelationEvent {}
impl Deferrable for RelationJoinedEvent {}
impl Deferrable for RelationDepartedEvent {}
impl Deferrable for SecretEvent {}
impl Deferrable for SecretRevisionEvent {}
impl Deferrable for StorageEvent {}
impl Deferrable for WorkloadEvent {}
impl Deferrable for NoticeEvent {}
impl Deferrable for CheckEvent {}
impl Deferrable for CustomEvent {}

/// A lifecycle hook: install, start, stop, remove, config-changed, update-status,
/// upgrade-charm, leader-elected, leader-settings-changed, collect-metrics, pre/post-series-
/// upgrade. Juju says nothing more about them than their name ([`crate::Ctx::event_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookEvent;

impl EventType for HookEvent {
    fn extract(event: &Event) -> Option<&Self> {
        (event.kind.family().is_none()
            && !matches!(
                event.kind,
                EventKind::Custom
                    | EventKind::CollectAppStatus
                    | EventKind::CollectUnitStatus
                    | EventKind::SecretChanged
                    | EventKind::SecretExpired
                    | EventKind::SecretRemove
                    | EventKind::SecretRotate
            ))
        .then_some(&HookEvent)
    }
}

/// The collect-status step (app status as leader, then unit status): handlers propose statuses
/// with [`crate::Ctx::add_status`]. Not deferrable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectStatus;

impl EventType for CollectStatus {
    fn extract(event: &Event) -> Option<&Self> {
        matches!(
            event.kind,
            EventKind::CollectAppStatus | EventKind::CollectUnitStatus
        )
        .then_some(&CollectStatus)
    }
}

/// What every relation event says: which relation, and the application at the other end.
pub trait RelationScoped: EventType {
    /// The relation (endpoint and number).
    fn relation(&self) -> &RelationId;
    /// The remote application.
    fn app(&self) -> &str;
    /// The remote unit, when the event is about one.
    fn unit(&self) -> Option<&str>;
}

/// relation-created, relation-changed and relation-broken: the relation and the remote
/// application, and — for a change in a unit's databag — the remote unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationEvent {
    /// The relation.
    pub relation: RelationId,
    /// The remote application. Empty only on relation-broken under Juju 2.9 once the remote
    /// application is gone (Juju bug 1960934), as ops' `event.app` is `None` there.
    pub app: String,
    /// The remote unit whose databag changed (relation-changed); `None` for a change of the
    /// application databag, and on created and broken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// relation-joined: a remote unit joined the relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationJoinedEvent {
    /// The relation.
    pub relation: RelationId,
    /// The remote application.
    pub app: String,
    /// The unit that joined.
    pub unit: String,
}

/// relation-departed: a unit is leaving the relation (once per remote unit that leaves, on
/// each remaining unit; and once per remaining unit, on the one leaving).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationDepartedEvent {
    /// The relation.
    pub relation: RelationId,
    /// The remote application.
    pub app: String,
    /// The remote unit the event is about.
    pub unit: String,
    /// The unit that is leaving (may be this one).
    pub departing_unit: String,
}

/// `EventType` for a payload type: its `Payload` variant, for the kinds it goes with.
macro_rules! payload {
    ($ty:ident, $variant:ident, [$($kind:ident),+]) => {
        impl EventType for $ty {
            fn extract(event: &Event) -> Option<&Self> {
                match (&event.payload, event.kind) {
                    (Payload::$variant(e), $(EventKind::$kind)|+) => Some(e),
                    _ => None,
                }
            }
        }
    };
}

payload!(
    RelationEvent,
    Relation,
    [RelationCreated, RelationChanged, RelationBroken]
);
payload!(RelationJoinedEvent, RelationJoined, [RelationJoined]);
payload!(RelationDepartedEvent, RelationDeparted, [RelationDeparted]);

macro_rules! relation_scoped {
    ($($ty:ident => |$e:ident| $unit:expr;)+) => {$(
        impl RelationScoped for $ty {
            fn relation(&self) -> &RelationId {
                &self.relation
            }
            fn app(&self) -> &str {
                &self.app
            }
            fn unit(&self) -> Option<&str> {
                let $e = self;
                $unit
            }
        }
    )+};
}

relation_scoped! {
    RelationEvent => |e| e.unit.as_deref();
    RelationJoinedEvent => |e| Some(e.unit.as_str());
    RelationDepartedEvent => |e| Some(e.unit.as_str());
}

/// secret-changed (a secret this unit observes has a new revision) and secret-rotate (a
/// secret this application owns is due for rotation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretEvent {
    /// The secret's id (`secret:…`); open it with `Model::secret`.
    pub id: String,
    /// Its label, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// secret-expired and secret-remove: about one revision of a secret this application owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRevisionEvent {
    /// The secret's id.
    pub id: String,
    /// Its label, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The revision that expired, or that no observer tracks any more.
    pub revision: u64,
}

/// storage-attached and storage-detaching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageEvent {
    /// The storage name, as declared (`data`).
    pub name: String,
    /// The instance's index (`0` in `data/0`).
    pub index: u32,
}

impl StorageEvent {
    /// The storage instance's id, `name/index`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.name, self.index)
    }
}

/// What every Pebble event says: which workload container it is about
/// ([`crate::Ctx::container`] gives its handle).
pub trait ContainerScoped: EventType {
    /// The container's name, as declared.
    fn container(&self) -> &str;
}

/// pebble-ready: the workload container's Pebble is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadEvent {
    /// The container, as declared.
    pub container: String,
}

/// pebble-custom-notice: a custom Pebble notice was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeEvent {
    /// The container.
    pub container: String,
    /// The notice's id.
    pub id: String,
    /// Its type (`custom`).
    pub notice_type: String,
    /// Its key (`example.com/thing`).
    pub key: String,
}

/// pebble-check-failed and pebble-check-recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckEvent {
    /// The container.
    pub container: String,
    /// The check's name.
    pub check: String,
}

/// An action. Its parameters, results, `fail()` and `log()` are on the action's context
/// ([`crate::Ctx::params`] and the methods beside it). Not deferrable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionEvent {
    /// The action's name, as declared (`backup`).
    pub name: String,
    /// The id Juju gave this run of it.
    pub id: String,
}

/// A custom event, emitted with [`crate::Ctx::emit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomEvent {
    /// Who emitted it: the stored-state owner of the emitting handler.
    pub owner: String,
    /// Its name (dashes become underscores).
    pub name: String,
    /// Its payload, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

impl CustomEvent {
    /// The payload decoded as `T` (`None` if there is none); a mismatch is an
    /// [`Error::Usage`] naming the event and the field.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>> {
        let Some(v) = &self.payload else {
            return Ok(None);
        };
        crate::error::decode(v.clone())
            .map(Some)
            .map_err(|(path, e)| {
                Error::Usage(format!(
                    "custom event {}: payload{}: {e}",
                    self.name,
                    if path.is_empty() {
                        String::new()
                    } else {
                        format!(" field {path}")
                    }
                ))
            })
    }
}

payload!(SecretEvent, Secret, [SecretChanged, SecretRotate]);
payload!(
    SecretRevisionEvent,
    SecretRevision,
    [SecretExpired, SecretRemove]
);
payload!(StorageEvent, Storage, [StorageAttached, StorageDetaching]);
payload!(WorkloadEvent, Workload, [PebbleReady]);

macro_rules! container_scoped {
    ($($ty:ident),+) => {$(
        impl ContainerScoped for $ty {
            fn container(&self) -> &str {
                &self.container
            }
        }
    )+};
}

container_scoped!(WorkloadEvent, NoticeEvent, CheckEvent);
payload!(NoticeEvent, Notice, [PebbleCustomNotice]);
payload!(CheckEvent, Check, [PebbleCheckFailed, PebbleCheckRecovered]);
payload!(ActionEvent, Action, [Action]);
payload!(CustomEvent, Custom, [Custom]);
