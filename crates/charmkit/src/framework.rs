//! Observers, the emit loop, defer, custom events, collect-status — and [`dispatch`], the one
//! entrypoint that runs a whole Juju dispatch (as kube-rs has one reconcile entrypoint).
//!
//! A charm is a type implementing [`Charm`]: its constructor registers handlers on the
//! [`Framework`] with [`Framework::observe`], a typed selector ([`On`]) and a named handler
//! ([`handler!`](crate::handler)). Libraries inside the charm (such as
//! `charmkit::tracing::Tracing`) register theirs with [`Framework::observe_as`]. A handler gets
//! the charm and a [`Ctx`]: the event (typed), the [`Model`], stored state, `defer()`, `emit()`
//! for custom events, `add_status()` during collect-status. What identifies an observation and
//! a deferred event is documented in [`crate::observe`].
//!
//! Order of a dispatch, as ops does it: charm init (observers registered and checked against
//! the metadata) → deferred events re-emitted, oldest first → `Emitting Juju event X.` → the
//! event → collect-status (app status if leader, then unit status) → stored state committed. A
//! handler error or panic stops the dispatch, is logged at ERROR, leaves stored state
//! uncommitted and makes the hook fail — so Juju retries it, as with ops. The error keeps its
//! type: [`Error::Handler`] carries the handler's own error as its `source()`.
//!
//! Every emitted event is recorded with whether at least one handler observed it; a dispatch in
//! which any Juju, action or custom event was observed is *observed* (framework events such as
//! collect-status do not count). Tracing uses this to rank the dispatch's data.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use opentelemetry::trace::{Span as _, Status as SpanStatus, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::context::JujuContext;
use crate::ctx::{not_deferrable, Core, Effects};
use crate::error::{Error, Panic, Result};
use crate::event::{Event, EventKind, EventType};
use crate::hookcmd::HookTools;
use crate::meta::Metadata;
use crate::model::{Model, PebbleConnector};
use crate::observe::{Handler, On};
use crate::state::{Deferred, StoredState};
use crate::types::Status;

pub use crate::ctx::{Ctx, HandlerResult};

/// The stored-state and deferral owner of the charm's own observations, whatever the charm's
/// struct is called (spans still show the struct's name).
pub const CHARM_OWNER: &str = "charm";

/// A handler with its event type erased: extracts the typed payload and runs.
type ErasedFn<C> = Box<dyn FnMut(&mut C, Core<'_>, &Event) -> (HandlerResult, Effects)>;

/// The last path segment of `C`'s type name (`RustStarter`): how spans and logs name the
/// charm's observers.
pub(crate) fn short_type_name<C>() -> &'static str {
    let full = std::any::type_name::<C>();
    full.rsplit("::").next().unwrap_or(full)
}

/// A charm: built once per dispatch, registering its handlers as it is built.
pub trait Charm: Sized + 'static {
    /// Builds the charm and registers its observers on `fw`. An error here fails the hook.
    fn new(fw: &mut Framework<Self>) -> Result<Self>;
}

struct Observer<C> {
    on: On<Event>,
    /// The stored-state and deferral owner.
    owner: String,
    /// The name spans and logs show (the charm's type name, or the library's name).
    display: String,
    handler: String,
    f: ErasedFn<C>,
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
    charm_name: String,
    pending_statuses: Vec<Status>,
    registration_errors: Vec<String>,
}

impl<C: 'static> Framework<C> {
    /// A framework over `model`, with `state` as stored state.
    pub fn new(model: Rc<Model>, state: StoredState) -> Self {
        let charm_name = short_type_name::<C>().to_string();
        Framework {
            observers: Vec::new(),
            model,
            state,
            state_dirty: false,
            emitted: Vec::new(),
            charm_name,
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

    /// Registers `handler` to run on events `on` selects, receiving them as `E`:
    /// `fw.observe(On::start(), handler!(Self::reconcile))`.
    ///
    /// Checked at charm init (an error there fails the hook, naming the problem): the selector's
    /// endpoint, storage, container or action must be declared in the metadata, and one
    /// handler cannot be registered twice for one selector. See [`crate::observe`] for what
    /// identifies the observation in the deferred queue.
    pub fn observe<E: EventType>(&mut self, on: On<E>, handler: Handler<C, E>) {
        let display = self.charm_name.clone();
        self.register(CHARM_OWNER.to_string(), display, on, handler);
    }

    /// Registers a handler on behalf of a library named `owner` (e.g. `Tracing`): its stored
    /// values, deferred events and spans are under that name.
    pub fn observe_as<E: EventType>(&mut self, owner: &str, on: On<E>, handler: Handler<C, E>) {
        self.register(owner.to_string(), owner.to_string(), on, handler);
    }

    fn register<E: EventType>(
        &mut self,
        owner: String,
        display: String,
        on: On<E>,
        handler: Handler<C, E>,
    ) {
        if let Some(why) = on.check(self.model.meta()) {
            self.registration_errors
                .push(format!("{display}.{}: {why}", handler.name));
        }
        let on = on.erase();
        if self
            .observers
            .iter()
            .any(|o| o.owner == owner && o.handler == handler.name && o.on == on)
        {
            self.registration_errors.push(format!(
                "{display}.{} is registered twice for {}: one observation per handler and \
                 event, or a deferred event could not tell which to go back to",
                handler.name,
                on.key()
            ));
        }
        let Handler { name, mut f } = handler;
        let erased: ErasedFn<C> = Box::new(move |charm: &mut C, core: Core<'_>, event: &Event| {
            let Some(payload) = E::extract(event) else {
                let err = Error::Usage(format!(
                    "{} does not carry the payload its selector promises (a charmkit bug)",
                    event.name
                ));
                return (Err(err.into()), core.effects);
            };
            let mut ctx = Ctx {
                core,
                event,
                payload,
            };
            let result = f(charm, &mut ctx);
            (result, ctx.core.effects)
        });
        self.observers.push(Observer {
            on,
            owner,
            display,
            handler: name,
            f: erased,
        });
    }

    /// The registration errors found so far: an error at charm init, before any event is
    /// emitted.
    pub fn check_registrations(&self) -> Result<()> {
        match self.registration_errors.as_slice() {
            [] => Ok(()),
            errors => Err(Error::Usage(errors.join("; "))),
        }
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
        let tracer = crate::span::tracer();
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
            let observer = &self.observers[i];
            let (owner, display, handler) = (
                observer.owner.clone(),
                observer.display.clone(),
                observer.handler.clone(),
            );
            let mut span = tracer.start(format!("{}: {}", event.name, display));
            span.set_attributes([
                KeyValue::new("deferred", deferred),
                KeyValue::new("event", event.name.clone()),
                KeyValue::new("event_type", event.kind().event_type()),
                KeyValue::new("event_class", format!("{:?}", event.kind())),
                KeyValue::new("event_name", event.name.clone()),
                KeyValue::new("handler", format!("{display}.{handler}")),
            ]);
            let cx = Context::current_with_span(span);
            let guard = cx.clone().attach();
            let core = Core {
                model: &self.model,
                state: &mut self.state,
                owner: &owner,
                effects: Effects::default(),
            };
            let f = &mut self.observers[i].f;
            let outcome = catch_unwind(AssertUnwindSafe(|| f(charm, core, event)));
            let (failure, effects): (Option<(&str, Box<dyn std::error::Error + Send + Sync>)>, _) =
                match outcome {
                    // A handler that tried to defer what cannot be deferred and ignored the
                    // error still fails: never a silent queue entry.
                    Ok((Ok(()), fx)) if fx.refused_defer => {
                        (Some(("error", Box::new(not_deferrable(event)))), fx)
                    }
                    Ok((Ok(()), fx)) => (None, fx),
                    Ok((Err(e), fx)) => (Some(("error", e)), fx),
                    Err(panic) => (
                        Some((
                            "panic",
                            Box::new(Panic {
                                message: panic_message(&*panic),
                            }),
                        )),
                        Effects::default(),
                    ),
                };
            if let Some((kind, source)) = &failure {
                record_exception(&cx.span(), kind, &source.to_string());
            }
            drop(guard);
            cx.span().end();
            if let Some((_, source)) = failure {
                // The error goes up to `dispatch`, which records it on the root span: once (a
                // record here too put two identical `exception` events on `ops.main`).
                let err = Error::Handler {
                    observer: format!("{display}.{handler}"),
                    event: event.name.clone(),
                    source,
                };
                return Err(err);
            }
            self.state_dirty |= effects.state_dirty;
            if effects.deferred {
                log::debug!("{display}.{handler} deferred {}", event.name);
                let on = self.observers[i].on.key();
                self.state.deferred.push(Deferred {
                    event: event.clone(),
                    owner,
                    handler,
                    on: Some(on),
                });
                self.state_dirty = true;
            }
            self.pending_statuses.extend(effects.statuses);
            for ev in effects.emitted {
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
            if !self.observers.iter().any(|o| o.on.event_kind() == kind) {
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

/// A panic's message (the payload of `panic!`), or a placeholder.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Records an `exception` span event and ERROR status on `span`.
pub(crate) fn record_exception(
    span: &opentelemetry::trace::SpanRef<'_>,
    kind: &str,
    message: &str,
) {
    let mut attributes = crate::span::exception(kind, message);
    // `force_capture`: `capture` records nothing unless RUST_BACKTRACE is set, which it never is
    // under Juju. Only a failing dispatch pays for it.
    attributes.push(KeyValue::new(
        "exception.stacktrace",
        std::backtrace::Backtrace::force_capture().to_string(),
    ));
    span.add_event("exception", attributes);
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
/// `tools` are the hook tools (real or fake), `pebble` how workload containers' Pebbles are
/// reached (their sockets, or fakes). Spans go to the global OpenTelemetry tracer provider; the
/// caller (the runtime, or the test harness) collects and stores them.
///
/// `checkpoint` is called, with whether the dispatch is observed so far, after deferred events
/// were re-emitted (if there were any): the runtime writes the spans finished so far to the
/// buffer there, so a hook killed later still leaves them.
pub fn dispatch<C: Charm>(
    ctx: JujuContext,
    meta: Metadata,
    tools: Rc<dyn HookTools>,
    pebble: Rc<dyn PebbleConnector>,
    checkpoint: &mut dyn FnMut(bool),
) -> DispatchReport {
    let tracer = crate::span::tracer();
    let root = tracer.start(crate::span::ROOT_SPAN);
    let trace_id = format!(
        "{:032x}",
        u128::from_be_bytes(root.span_context().trace_id().to_bytes())
    );
    let cx = Context::current_with_span(root);
    let guard = cx.clone().attach();
    let parsed = Event::from_context(&ctx, &meta);
    let event = parsed.as_ref().ok().cloned().flatten();
    let model = Rc::new(Model::new(ctx, meta, tools).with_pebble(pebble));
    let (mut state, version) = StoredState::load_versioned(&model.context().charm_dir);
    state.adopt_legacy_owner(version, short_type_name::<C>(), CHARM_OWNER);
    let mut fw: Framework<C> = Framework::new(model.clone(), state);
    let result = match parsed {
        Ok(_) => run_phases(&mut fw, event.as_ref(), &trace_id, checkpoint),
        Err(e) => Err(e),
    };
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
