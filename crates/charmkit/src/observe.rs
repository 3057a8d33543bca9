//! What a charm observes: typed event selectors ([`On`]) and named handlers ([`Handler`],
//! [`handler!`](crate::handler)).
//!
//! ```
//! use charmkit::prelude::*;
//!
//! struct MyCharm;
//!
//! impl Charm for MyCharm {
//!     fn new(fw: &mut Framework<Self>) -> charmkit::Result<Self> {
//!         fw.observe(On::start(), handler!(Self::reconcile));
//!         fw.observe(On::config_changed(), handler!(Self::reconcile));
//!         fw.observe(On::relation_joined("db"), handler!(Self::on_db_joined));
//!         Ok(MyCharm)
//!     }
//! }
//!
//! impl MyCharm {
//!     fn reconcile(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
//!         log::info!("{} on {}", ctx.event_name(), ctx.model().unit_name());
//!         Ok(())
//!     }
//!
//!     // The payload is typed: a relation-joined event always has its remote unit.
//!     fn on_db_joined(&mut self, ctx: &mut Ctx<'_, RelationJoinedEvent>) -> HandlerResult {
//!         log::info!("{} joined {}", ctx.event().unit, ctx.event().relation);
//!         Ok(())
//!     }
//! }
//! ```
//!
//! ## What identifies an observation (and a deferred event)
//!
//! An observation is **owner + handler + selector**:
//!
//! - the *owner*: `charm` for the charm itself — whatever its struct is called, so renaming it
//!   loses neither stored values nor deferred events — or the name a library registers under
//!   (`Tracing`). Spans and logs show the charm's type name (`start: RustStarter`);
//! - the *handler*'s name: derived from the method by [`handler!`](crate::handler)
//!   (`handler!(Self::reconcile)` is `reconcile`), or given to [`Handler::new`] for a closure;
//! - the *selector*'s [`key`](On::key): the kind and, if narrowed, the subject
//!   (`start`, `relation_changed:db`, `action:backup`).
//!
//! Registering the same triple twice is an error at charm init. A deferred event is stored with
//! its triple and re-emitted to that one observation only, for that event only. Keep handler
//! names stable across upgrades of a charm with deferred events in flight: a deferred event
//! whose observation no longer exists is dropped (logged at debug level), as in ops.
//!
//! ## Checked against the metadata
//!
//! A selector on an endpoint, storage, container or action the metadata does not declare is an
//! error at charm init naming it, with a suggestion for a near miss
//! (`On::relation_joined("databse")` → *did you mean "database"?*). The implicit `juju-info`
//! endpoint needs no declaration.

use std::marker::PhantomData;

use crate::ctx::{Ctx, HandlerResult};
use crate::event::{
    ActionEvent, CheckEvent, CollectStatus, CustomEvent, Event, EventKind, EventType, HookEvent,
    NoticeEvent, RelationDepartedEvent, RelationEvent, RelationJoinedEvent, SecretEvent,
    SecretRevisionEvent, StorageEvent, WorkloadEvent,
};
use crate::meta::Metadata;

/// Which events a handler observes, and as which type `E` it receives them.
///
/// Built with the constructor named after the hook (`On::start()`,
/// `On::relation_changed("db")`, `On::action("backup")`, `On::collect_unit_status()`); or, for
/// a handler that takes any event untyped, [`On::kind`] / [`On::about`].
pub struct On<E> {
    pub(crate) kind: EventKind,
    pub(crate) subject: Option<String>,
    _event: PhantomData<fn() -> E>,
}

impl<E> Clone for On<E> {
    fn clone(&self) -> Self {
        On {
            kind: self.kind,
            subject: self.subject.clone(),
            _event: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for On<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "On({})", self.key())
    }
}

impl<E> PartialEq for On<E> {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.subject == other.subject
    }
}

impl<E> On<E> {
    fn new(kind: EventKind, subject: Option<&str>) -> Self {
        On {
            kind,
            subject: subject.map(str::to_string),
            _event: PhantomData,
        }
    }

    /// The selector's stable text, part of an observation's identity in the deferred queue:
    /// the kind (`start`, `relation_changed`, `action`) and, if narrowed, `:` and the subject
    /// (`relation_changed:db`, `action:backup`).
    pub fn key(&self) -> String {
        match &self.subject {
            Some(s) => format!("{}:{s}", self.kind.as_str()),
            None => self.kind.as_str().to_string(),
        }
    }

    /// The kind of event selected.
    pub fn event_kind(&self) -> EventKind {
        self.kind
    }

    /// Whether `ev` is selected.
    pub fn matches(&self, ev: &Event) -> bool {
        self.kind == ev.kind()
            && match &self.subject {
                None => true,
                Some(s) => ev.subject() == Some(s.as_str()),
            }
    }

    /// Why this selector cannot be observed in a charm with `meta`, if it cannot: its subject
    /// is not a declared endpoint, storage, container or action.
    pub(crate) fn check(&self, meta: &Metadata) -> Option<String> {
        let family = self.kind.family()?;
        let subject = self.subject.as_deref()?;
        let declared = family.declared(meta);
        if declared.iter().any(|d| d == subject) {
            return None;
        }
        Some(format!(
            "{} observes {} {subject:?}, which the charm's metadata does not declare{}",
            self.key(),
            family.noun(),
            crate::suggest::did_you_mean(subject, &declared)
        ))
    }

    /// The untyped view of this selector.
    pub(crate) fn erase(&self) -> On<Event> {
        On::new(self.kind, self.subject.as_deref())
    }
}

impl On<Event> {
    /// Every event of `kind`, received untyped (as [`Event`]). Prefer the typed constructors.
    pub fn kind(kind: EventKind) -> Self {
        On::new(kind, None)
    }

    /// Events of `kind` about `subject` (an endpoint, storage, container, action or custom
    /// event name), received untyped.
    pub fn about(kind: EventKind, subject: &str) -> Self {
        On::new(kind, Some(subject))
    }
}

macro_rules! lifecycle {
    ($($(#[$doc:meta])* $fn:ident => $kind:ident;)+) => {
        impl On<HookEvent> {
            $($(#[$doc])* pub fn $fn() -> Self {
                On::new(EventKind::$kind, None)
            })+
        }
    };
}

lifecycle! {
    /// `install`
    install => Install;
    /// `start`
    start => Start;
    /// `stop`
    stop => Stop;
    /// `remove`
    remove => Remove;
    /// `config-changed`
    config_changed => ConfigChanged;
    /// `update-status`
    update_status => UpdateStatus;
    /// `upgrade-charm`
    upgrade_charm => UpgradeCharm;
    /// `leader-elected`
    leader_elected => LeaderElected;
    /// `leader-settings-changed`
    leader_settings_changed => LeaderSettingsChanged;
    /// `collect-metrics`
    collect_metrics => CollectMetrics;
    /// `pre-series-upgrade`
    pre_series_upgrade => PreSeriesUpgrade;
    /// `post-series-upgrade`
    post_series_upgrade => PostSeriesUpgrade;
}

macro_rules! about {
    ($ty:ty { $($(#[$doc:meta])* $fn:ident($arg:ident) => $kind:ident;)+ }) => {
        impl On<$ty> {
            $($(#[$doc])* pub fn $fn($arg: &str) -> Self {
                On::new(EventKind::$kind, Some($arg))
            })+
        }
    };
}

about!(RelationEvent {
    /// `<endpoint>-relation-created`
    relation_created(endpoint) => RelationCreated;
    /// `<endpoint>-relation-changed`
    relation_changed(endpoint) => RelationChanged;
    /// `<endpoint>-relation-broken`
    relation_broken(endpoint) => RelationBroken;
});
about!(RelationJoinedEvent {
    /// `<endpoint>-relation-joined`
    relation_joined(endpoint) => RelationJoined;
});
about!(RelationDepartedEvent {
    /// `<endpoint>-relation-departed`
    relation_departed(endpoint) => RelationDeparted;
});
about!(StorageEvent {
    /// `<storage>-storage-attached`
    storage_attached(storage) => StorageAttached;
    /// `<storage>-storage-detaching`
    storage_detaching(storage) => StorageDetaching;
});
about!(WorkloadEvent {
    /// `<container>-pebble-ready`
    pebble_ready(container) => PebbleReady;
});
about!(NoticeEvent {
    /// `<container>-pebble-custom-notice`
    pebble_custom_notice(container) => PebbleCustomNotice;
});
about!(CheckEvent {
    /// `<container>-pebble-check-failed`
    pebble_check_failed(container) => PebbleCheckFailed;
    /// `<container>-pebble-check-recovered`
    pebble_check_recovered(container) => PebbleCheckRecovered;
});
about!(ActionEvent {
    /// The action `name`, as declared (with dashes).
    action(name) => Action;
});

impl On<CustomEvent> {
    /// The custom event `name` (emitted with [`Ctx::emit`]).
    pub fn custom(name: &str) -> Self {
        On::new(EventKind::Custom, Some(&name.replace('-', "_")))
    }
}

impl On<SecretEvent> {
    /// `secret-changed`: a secret this unit observes has a new revision.
    pub fn secret_changed() -> Self {
        On::new(EventKind::SecretChanged, None)
    }

    /// `secret-rotate`: a secret this application owns is due for rotation.
    pub fn secret_rotate() -> Self {
        On::new(EventKind::SecretRotate, None)
    }
}

impl On<SecretRevisionEvent> {
    /// `secret-expired`: a revision of an owned secret expired.
    pub fn secret_expired() -> Self {
        On::new(EventKind::SecretExpired, None)
    }

    /// `secret-remove`: no observer tracks a revision of an owned secret any more.
    pub fn secret_remove() -> Self {
        On::new(EventKind::SecretRemove, None)
    }
}

impl On<CollectStatus> {
    /// The unit's collect-status step (every dispatch, at the end).
    pub fn collect_unit_status() -> Self {
        On::new(EventKind::CollectUnitStatus, None)
    }

    /// The application's collect-status step (leader only, before the unit's).
    pub fn collect_app_status() -> Self {
        On::new(EventKind::CollectAppStatus, None)
    }
}

/// The boxed handler function of a charm `C` for events of type `E`.
type HandlerFn<C, E> = Box<dyn FnMut(&mut C, &mut Ctx<'_, E>) -> HandlerResult>;

/// A named handler: a function of the charm (or a closure) and the name that identifies it in
/// spans, logs and the deferred queue. Build one with [`handler!`](crate::handler) from a method
/// path, or with [`Handler::new`] for a closure.
pub struct Handler<C, E: EventType> {
    pub(crate) name: String,
    pub(crate) f: HandlerFn<C, E>,
}

impl<C, E: EventType> Handler<C, E> {
    /// A handler named `name` (keep it stable across upgrades: see the [module docs](self)).
    pub fn new<F>(name: &str, f: F) -> Self
    where
        F: FnMut(&mut C, &mut Ctx<'_, E>) -> HandlerResult + 'static,
    {
        Handler {
            name: name.to_string(),
            f: Box::new(f),
        }
    }

    /// A handler named after the last segment of `path` (`Self :: reconcile` → `reconcile`):
    /// what [`handler!`](crate::handler) calls with `stringify!` of its argument.
    pub fn from_path<F>(path: &str, f: F) -> Self
    where
        F: FnMut(&mut C, &mut Ctx<'_, E>) -> HandlerResult + 'static,
    {
        let name = path.rsplit("::").next().unwrap_or(path).trim();
        Handler::new(name, f)
    }

    /// The handler's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A [`Handler`] from a method or function path, named after its last segment:
/// `handler!(Self::reconcile)` is the handler `reconcile`. The name is the source text, so it
/// cannot drift from the function, and stays the same whatever the compiler.
#[macro_export]
macro_rules! handler {
    ($($path:ident)::+) => {
        $crate::observe::Handler::from_path(stringify!($($path)::+), $($path)::+)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_names() {
        assert_eq!(On::start().key(), "start");
        assert_eq!(On::relation_changed("db").key(), "relation_changed:db");
        assert_eq!(On::action("run-backup").key(), "action:run-backup");
        assert_eq!(On::custom("ready-now").key(), "custom:ready_now");
        assert_eq!(On::collect_unit_status().key(), "collect_unit_status");
        let h: Handler<(), HookEvent> = Handler::from_path("Self :: reconcile", |_, _| Ok(()));
        assert_eq!(h.name(), "reconcile");
        fn free(_: &mut (), _: &mut Ctx<'_>) -> HandlerResult {
            Ok(())
        }
        let h: Handler<(), HookEvent> = crate::handler!(free);
        assert_eq!(h.name(), "free");
    }

    #[test]
    fn selectors_are_checked_against_the_metadata() {
        let meta = Metadata::from_yaml(
            Some("name: x\nrequires:\n  database:\n    interface: pg\nstorage:\n  data:\n    type: filesystem\nactions:\n  backup: {}\n"),
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(On::relation_changed("database").check(&meta), None);
        assert_eq!(On::relation_joined("juju-info").check(&meta), None);
        assert_eq!(On::start().check(&meta), None);
        let err = On::relation_joined("databse").check(&meta).unwrap();
        assert!(err.contains("relation endpoint \"databse\""), "{err}");
        assert!(err.contains("did you mean \"database\"?"), "{err}");
        assert!(On::storage_attached("cache").check(&meta).is_some());
        assert!(On::pebble_ready("web").check(&meta).is_some());
        assert!(On::action("restore").check(&meta).is_some());
        assert_eq!(On::action("backup").check(&meta), None);
    }
}
