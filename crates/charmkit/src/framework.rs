//! Observers, the emit loop, defer, custom events, collect-status — and [`dispatch`], the one
//! entrypoint that runs a whole Juju dispatch (as kube-rs has one reconcile entrypoint).
//!
//! A charm is a type implementing [`Charm`]: its constructor registers handlers on the
//! [`Framework`] with [`Framework::observe`]. Libraries inside the charm (such as
//! [`crate::tracing::Tracing`]) register theirs the same way. A handler gets the charm and a
//! [`Ctx`]: the event, the [`Model`], stored state, `defer()`, `emit()` for custom events and
//! `add_status()` during collect-status.
//!
//! Order of a dispatch, as ops does it: charm init (observers registered) → deferred events
//! re-emitted, oldest first → `Emitting Juju event X.` → the event → collect-status (app status
//! if leader, then unit status) → stored state committed. A handler error or panic stops the
//! dispatch, is logged at ERROR, leaves stored state uncommitted and makes the hook fail — so
//! Juju retries it, as with ops.
//!
//! Every emitted event is recorded with whether at least one handler observed it; a dispatch in
//! which any Juju, action or custom event was observed is *observed* (framework events such as
//! collect-status do not count). Tracing uses this to rank the dispatch's data.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use opentelemetry::trace::{Span as _, Status as SpanStatus, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::context::JujuContext;
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};
use crate::hookcmd::HookTools;
use crate::hookcmd::Status;
use crate::meta::Metadata;
use crate::model::Model;
use crate::state::{Deferred, StoredState};

/// What a handler returns: `Ok(())`, or any error (it fails the hook).
pub type HandlerResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

type HandlerFn<C> = Box<dyn FnMut(&mut C, &mut Ctx<'_>) -> HandlerResult>;

/// A charm: built once per dispatch, registering its handlers as it is built.
pub trait Charm: Sized + 'static {
    /// Builds the charm and registers its observers on `fw`. An error here fails the hook.
    fn new(fw: &mut Framework<Self>) -> Result<Self>;
}

/// Which events a handler observes: a kind, optionally narrowed to one endpoint, storage,
/// container, action or custom-event owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct On {
    kind: EventKind,
    subject: Option<String>,
}

impl On {
    /// Every event of `kind` (e.g. every relation-changed, whatever the endpoint).
    pub fn kind(kind: EventKind) -> Self {
        On {
            kind,
            subject: None,
        }
    }

    /// Events of `kind` about `subject`: an endpoint (`On::about(RelationChanged, "db")`), a
    /// storage, a container, an action name or a custom-event name.
    pub fn about(kind: EventKind, subject: &str) -> Self {
        On {
            kind,
            subject: Some(subject.to_string()),
        }
    }

    /// The action `name` (as in `actions.yaml`, with dashes).
    pub fn action(name: &str) -> Self {
        Self::about(EventKind::Action, name)
    }

    /// The custom event `name` (emitted with [`Ctx::emit`]).
    pub fn custom(name: &str) -> Self {
        Self::about(EventKind::Custom, &name.replace('-', "_"))
    }

    /// The selector's stable text, part of an observation's identity in the deferred queue:
    /// the kind (`start`, `relation_changed`, `action`) and, if narrowed, `:` and the subject
    /// (`relation_changed:db`, `action:backup`).
    pub fn key(&self) -> String {
        let kind = format!("{:?}", self.kind);
        let mut key = String::new();
        for (i, c) in kind.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                key.push('_');
            }
            key.push(c.to_ascii_lowercase());
        }
        if let Some(s) = &self.subject {
            key.push(':');
            key.push_str(s);
        }
        key
    }

    fn matches(&self, ev: &Event) -> bool {
        if self.kind != ev.kind() {
            return false;
        }
        match (&self.subject, ev.kind()) {
            (None, _) => true,
            (Some(s), EventKind::Custom) => *s == ev.name,
            (Some(s), _) => ev.subject.as_deref() == Some(s.as_str()),
        }
    }
}

impl From<EventKind> for On {
    fn from(kind: EventKind) -> Self {
        On::kind(kind)
    }
}

struct Observer<C> {
    on: On,
    owner: String,
    handler: String,
    f: HandlerFn<C>,
}

impl<C> Observer<C> {
    /// Whether this is the observation that deferred `d`. A version-1 entry (no selector) is
    /// matched by owner, handler and an event its selector matches.
    fn deferred(&self, d: &Deferred) -> bool {
        self.owner == d.owner
            && self.handler == d.handler
            && match &d.on {
                Some(on) => *on == self.on.key(),
                None => self.on.matches(&d.event),
            }
    }
}

/// One emitted event and whether it was observed: the dispatch's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    /// The event's name.
    pub name: String,
    /// Its kind.
    pub kind: EventKind,
    /// Whether it was a re-emitted deferred event.
    pub deferred: bool,
    /// How many handlers ran for it.
    pub observers: usize,
}

/// The registry of observers and the state of one dispatch.
pub struct Framework<C> {
    observers: Vec<Observer<C>>,
    model: Rc<Model>,
    state: StoredState,
    state_dirty: bool,
    emitted: Vec<Emitted>,
    current_owner: String,
    pending_statuses: Vec<Status>,
    registration_errors: Vec<String>,
}

impl<C: 'static> Framework<C> {
    /// A framework over `model`, with `state` as stored state.
    pub fn new(model: Rc<Model>, state: StoredState) -> Self {
        Framework {
            observers: Vec::new(),
            model,
            state,
            state_dirty: false,
            emitted: Vec::new(),
            current_owner: std::any::type_name::<C>()
                .rsplit("::")
                .next()
                .unwrap_or("Charm")
                .to_string(),
            pending_statuses: Vec::new(),
            registration_errors: Vec::new(),
        }
    }

    /// The charm's metadata.
    pub fn meta(&self) -> &Metadata {
        self.model.meta()
    }

    /// The model (unit, app, relations, config…), e.g. for a library's own setup.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Registers `f` to run on events matching `on`. `handler` names it (e.g. `on_start`): the
    /// name appears in spans and logs, and identifies it in the deferred-event queue, so keep it
    /// stable across charm upgrades. The owner is the charm's type name unless registered
    /// through [`Framework::observe_as`].
    ///
    /// Owner, handler and selector together identify the observation: a deferred event is
    /// re-emitted to that one observation only. Registering the same triple twice is an error
    /// at charm init ([`Error::Usage`]).
    pub fn observe<F>(&mut self, on: impl Into<On>, handler: &str, f: F)
    where
        F: FnMut(&mut C, &mut Ctx<'_>) -> HandlerResult + 'static,
    {
        let owner = self.current_owner.clone();
        self.observe_as(&owner, on, handler, f);
    }

    /// Registers a handler on behalf of a library named `owner` (e.g. `Tracing`).
    pub fn observe_as<F>(&mut self, owner: &str, on: impl Into<On>, handler: &str, f: F)
    where
        F: FnMut(&mut C, &mut Ctx<'_>) -> HandlerResult + 'static,
    {
        let on = on.into();
        if self
            .observers
            .iter()
            .any(|o| o.owner == owner && o.handler == handler && o.on == on)
        {
            self.registration_errors.push(format!(
                "{owner}.{handler} is registered twice for {}: one observation per handler and \
                 event, or a deferred event could not tell which to go back to",
                on.key()
            ));
        }
        self.observers.push(Observer {
            on,
            owner: owner.to_string(),
            handler: handler.to_string(),
            f: Box::new(f),
        });
    }

    /// Every event emitted so far in this dispatch.
    pub fn emitted(&self) -> &[Emitted] {
        &self.emitted
    }

    /// Whether any Juju, action or custom event emitted so far had at least one observer.
    pub fn observed(&self) -> bool {
        self.emitted
            .iter()
            .any(|e| e.observers > 0 && e.kind.counts_as_observed())
    }

    /// Emits `event` to every matching observer (and any custom events they emit, depth first).
    /// Errors stop at the first failing handler.
    pub fn emit(&mut self, charm: &mut C, event: &Event) -> Result<()> {
        self.emit_inner(charm, event, None)
    }

    /// The registration errors found so far (a handler registered twice for one event): an
    /// error at charm init, before any event is emitted.
    pub fn check_registrations(&self) -> Result<()> {
        match self.registration_errors.as_slice() {
            [] => Ok(()),
            errors => Err(Error::Usage(errors.join("; "))),
        }
    }

    /// Re-emits the deferred events, oldest first, each to exactly the observation that
    /// deferred it (owner, handler and selector), for exactly that event. One deferred again
    /// stays in the queue, in order.
    pub fn reemit_deferred(&mut self, charm: &mut C) -> Result<()> {
        let queue = std::mem::take(&mut self.state.deferred);
        if queue.is_empty() {
            return Ok(());
        }
        self.state_dirty = true;
        let mut rest = queue.into_iter();
        while let Some(d) = rest.next() {
            let Some(index) = self.observers.iter().position(|o| o.deferred(&d)) else {
                log::debug!(
                    "dropping deferred {} for {}: no such observer any more",
                    d.event.name,
                    d.observer()
                );
                continue;
            };
            if let Err(e) = self.emit_inner(charm, &d.event, Some(index)) {
                // Keep what was not re-emitted, so nothing is lost.
                self.state.deferred.extend(rest);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Emits `event` to every matching observer, or — re-emitting a deferred event — to the
    /// observer at index `only`.
    fn emit_inner(&mut self, charm: &mut C, event: &Event, only: Option<usize>) -> Result<()> {
        let deferred = only.is_some();
        let tracer = opentelemetry::global::tracer(crate::tracing::SCOPE);
        Context::current().span().add_event(
            event.name.clone(),
            vec![
                KeyValue::new("deferred", deferred),
                KeyValue::new("kind", event.kind().event_type()),
            ],
        );
        let record = self.emitted.len();
        self.emitted.push(Emitted {
            name: event.name.clone(),
            kind: event.kind(),
            deferred,
            observers: 0,
        });
        let mut i = 0;
        while i < self.observers.len() {
            let matches = match only {
                Some(index) => i == index,
                None => self.observers[i].on.matches(event),
            };
            if !matches {
                i += 1;
                continue;
            }
            self.emitted[record].observers += 1;
            let (owner, handler) = (
                self.observers[i].owner.clone(),
                self.observers[i].handler.clone(),
            );
            let mut span = tracer.start(format!("{}: {}", event.name, owner));
            span.set_attributes([
                KeyValue::new("deferred", deferred),
                KeyValue::new("event", event.name.clone()),
                KeyValue::new("event_type", event.kind().event_type()),
                KeyValue::new("event_class", format!("{:?}", event.kind())),
                KeyValue::new("event_name", event.name.clone()),
                KeyValue::new("handler", format!("{owner}.{handler}")),
            ]);
            let cx = Context::current_with_span(span);
            let guard = cx.clone().attach();
            let mut ctx = Ctx {
                event,
                model: &self.model,
                state: &mut self.state,
                owner: &owner,
                deferred: false,
                refused_defer: false,
                state_dirty: false,
                emitted: Vec::new(),
                statuses: Vec::new(),
            };
            let f = &mut self.observers[i].f;
            let outcome = catch_unwind(AssertUnwindSafe(|| f(charm, &mut ctx)));
            let (did_defer, refused_defer, dirty, emitted, statuses) = (
                ctx.deferred,
                ctx.refused_defer,
                ctx.state_dirty,
                ctx.emitted,
                ctx.statuses,
            );
            let failure = match outcome {
                // A handler that tried to defer what cannot be deferred and ignored the error
                // still fails: never a silent queue entry.
                Ok(Ok(())) if refused_defer => Some(("error", not_deferrable(event).to_string())),
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(("error", e.to_string())),
                Err(panic) => Some(("panic", panic_message(&*panic))),
            };
            if let Some((kind, message)) = &failure {
                let span = cx.span();
                record_exception(&span, kind, message);
            }
            drop(guard);
            cx.span().end();
            if let Some((kind, message)) = failure {
                let text = format!("{owner}.{handler} failed on {}: {message}", event.name);
                record_exception(&Context::current().span(), kind, &text);
                return Err(Error::Handler(text));
            }
            self.state_dirty |= dirty;
            if did_defer {
                log::debug!("{owner}.{handler} deferred {}", event.name);
                let on = self.observers[i].on.key();
                self.state.deferred.push(Deferred {
                    event: event.clone(),
                    owner: owner.clone(),
                    handler: handler.clone(),
                    on: Some(on),
                });
                self.state_dirty = true;
            }
            self.pending_statuses.extend(statuses);
            for ev in emitted {
                self.emit_inner(charm, &ev, None)?;
            }
            i += 1;
        }
        Ok(())
    }
}

impl<C: 'static> Framework<C> {
    /// The collect-status step: if leader, emits collect-app-status and sets the app status to
    /// the highest-priority status the handlers added; then the same for the unit. Nothing is
    /// set when no handler added a status.
    pub fn collect_status(&mut self, charm: &mut C) -> Result<()> {
        let steps: &[(EventKind, bool)] = &[
            (EventKind::CollectAppStatus, true),
            (EventKind::CollectUnitStatus, false),
        ];
        for &(kind, app) in steps {
            if !self.observers.iter().any(|o| o.on.kind == kind) {
                continue;
            }
            if app && !self.model.is_leader()? {
                continue;
            }
            self.pending_statuses.clear();
            self.emit(charm, &Event::of(kind))?;
            if let Some(status) = Status::highest(std::mem::take(&mut self.pending_statuses)) {
                if app {
                    self.model.set_app_status(&status)?;
                } else {
                    self.model.set_unit_status(&status)?;
                }
            }
        }
        Ok(())
    }

    /// Writes stored state back if anything changed.
    pub fn commit(&mut self) -> Result<()> {
        if self.state_dirty {
            self.state.save(&self.model.context().charm_dir)?;
            self.state_dirty = false;
        }
        Ok(())
    }

    /// The stored state as it stands.
    pub fn state(&self) -> &StoredState {
        &self.state
    }
}

/// What a handler sees: the event, the model, stored state, and what it can ask of the
/// framework.
pub struct Ctx<'a> {
    event: &'a Event,
    model: &'a Model,
    state: &'a mut StoredState,
    owner: &'a str,
    deferred: bool,
    refused_defer: bool,
    state_dirty: bool,
    emitted: Vec<Event>,
    statuses: Vec<Status>,
}

impl Ctx<'_> {
    /// The event being handled.
    pub fn event(&self) -> &Event {
        self.event
    }

    /// The model: this unit and app, config, relations, status, and the raw hook tools.
    pub fn model(&self) -> &Model {
        self.model
    }

    /// Defers the event: it is re-emitted to this handler — this registration of it, for this
    /// event only — before the next event.
    ///
    /// Actions and collect-status cannot be deferred: for those this returns
    /// [`Error::Usage`], and the handler fails even if it ignores the error.
    pub fn defer(&mut self) -> Result<()> {
        if !self.event.kind().deferrable() {
            self.refused_defer = true;
            return Err(not_deferrable(self.event));
        }
        self.deferred = true;
        Ok(())
    }

    /// Emits a custom event after this handler returns (handlers observe it with
    /// [`On::custom`]). The event's owner is this handler's owner.
    pub fn emit(&mut self, name: &str, payload: Option<serde_json::Value>) {
        self.emitted.push(Event::custom(self.owner, name, payload));
    }

    /// This handler's owner's stored value `key`, if any and of type `T`.
    pub fn stored<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.state.get(self.owner, key)
    }

    /// Stores `value` as this handler's owner's `key`; committed at the end of the dispatch.
    pub fn store<T: serde::Serialize>(&mut self, key: &str, value: &T) -> Result<()> {
        self.state_dirty = true;
        self.state.set(self.owner, key, value)
    }

    /// During collect-status: proposes a status; the highest priority proposed wins
    /// (error > blocked > maintenance > waiting > active).
    pub fn add_status(&mut self, status: Status) {
        self.statuses.push(status);
    }
}

fn not_deferrable(event: &Event) -> Error {
    Error::Usage(format!(
        "{} cannot be deferred: {}",
        event.name,
        if event.kind() == EventKind::Action {
            "an action runs now or fails (call fail() on it instead)"
        } else {
            "collect-status runs at the end of every dispatch anyway"
        }
    ))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = panic.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

/// Records an `exception` span event and ERROR status on `span`.
pub(crate) fn record_exception(
    span: &opentelemetry::trace::SpanRef<'_>,
    kind: &str,
    message: &str,
) {
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", kind.to_string()),
            KeyValue::new("exception.message", message.to_string()),
            KeyValue::new(
                "exception.stacktrace",
                std::backtrace::Backtrace::capture().to_string(),
            ),
        ],
    );
    span.set_status(SpanStatus::error(message.to_string()));
}

/// The outcome of one dispatch.
#[derive(Debug)]
pub struct DispatchReport {
    /// The event dispatched (`None` if unknown to this charm).
    pub event: Option<Event>,
    /// Every event emitted, in order.
    pub emitted: Vec<Emitted>,
    /// Whether the dispatch was observed.
    pub observed: bool,
    /// The trace id of the root span, as 32 lowercase hex characters.
    pub trace_id: String,
    /// `Ok`, or the error that fails the hook.
    pub result: Result<()>,
}

/// Runs one whole dispatch of charm `C`: the single entrypoint Juju reaches through `dispatch`.
///
/// `tools` are the hook tools (real or fake). Spans go to the global OpenTelemetry tracer
/// provider; the caller (the runtime, or the test harness) collects and stores them.
///
/// `checkpoint` is called, with whether the dispatch is observed so far, after deferred events
/// were re-emitted (if there were any): the runtime writes the spans finished so far to the
/// buffer there, so a hook killed later still leaves them.
pub fn dispatch<C: Charm>(
    ctx: JujuContext,
    meta: Metadata,
    tools: Rc<dyn HookTools>,
    checkpoint: &mut dyn FnMut(bool),
) -> DispatchReport {
    let tracer = opentelemetry::global::tracer(crate::tracing::SCOPE);
    let root = tracer.start(crate::tracing::ROOT_SPAN);
    let trace_id = format!(
        "{:032x}",
        u128::from_be_bytes(root.span_context().trace_id().to_bytes())
    );
    let cx = Context::current_with_span(root);
    let guard = cx.clone().attach();
    let event = Event::from_context(&ctx, &meta);
    let model = Rc::new(Model::new(ctx, meta, tools));
    let state = StoredState::load(&model.context().charm_dir);
    let mut fw: Framework<C> = Framework::new(model.clone(), state);
    let result = run_phases(&mut fw, event.as_ref(), &trace_id, checkpoint);
    if let Err(e) = &result {
        log::error!("{e}");
        record_exception(&cx.span(), "error", &e.to_string());
    }
    drop(guard);
    cx.span().end();
    DispatchReport {
        event,
        observed: fw.observed(),
        emitted: fw.emitted,
        trace_id,
        result,
    }
}

fn run_phases<C: Charm>(
    fw: &mut Framework<C>,
    event: Option<&Event>,
    trace_id: &str,
    checkpoint: &mut dyn FnMut(bool),
) -> Result<()> {
    let mut charm = C::new(fw)?;
    fw.check_registrations()?;
    if !fw.state.deferred.is_empty() {
        fw.reemit_deferred(&mut charm)?;
        checkpoint(fw.observed());
    }
    match event {
        Some(ev) => {
            log::debug!("Emitting Juju event {}.", ev.name);
            log::debug!("Starting root trace with id='{trace_id}'.");
            fw.emit(&mut charm, ev)?;
        }
        None => {
            log::debug!(
                "Unknown event {:?}: not one this charm declares; nothing to do.",
                fw.model().context().dispatch_path
            );
            log::debug!("Starting root trace with id='{trace_id}'.");
        }
    }
    fw.collect_status(&mut charm)?;
    fw.commit()
}

#[cfg(test)]
mod tests;
