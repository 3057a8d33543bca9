//! The state-in/state-out test harness: run a charm's dispatch against an in-memory Juju.
//!
//! With charmkit's `testing` feature only: enable it under `[dev-dependencies]` to keep the fake
//! Juju out of the charm's binary, or under `[dependencies]` for `./dispatch simulate`.
//!
//! Like ops.testing (Scenario) and goops' goopstest: give a charm, an event ([`Trigger`], built
//! from the state objects it is about) and a [`State`] (leadership, config, relations with
//! their databags, secrets, storage, status, stored state, workload [`Container`]s…); [`run`]
//! performs the whole dispatch in memory — no process is spawned, every hook tool is answered
//! by [`FakeJuju`], each container's Pebble by a [`pebble::FakePebble`] — and returns an
//! [`Output`]: the state after the dispatch, every hook-tool and Pebble call made, the logs,
//! the finished spans, the emitted events and the error if the hook failed (with the handler's
//! own error as its `source()`).
//!
//! As strict as Scenario: before anything runs, the trigger and the state are checked against
//! the charm's metadata ([`check`]), and an inconsistent test is refused with the
//! inconsistency named — [`run`] panics with it (the test fails, loudly), [`try_run`] returns
//! it. Config and action-parameter defaults are filled from the metadata, as Juju does; an
//! empty [`State::unit_name`] is the charm's unit `0`.
//!
//! ```
//! use charmkit::prelude::*;
//! use charmkit::hookcmd::StatusName;
//! use charmkit::testing::{run, State, Trigger};
//!
//! struct Hello;
//! impl Charm for Hello {
//!     fn new(fw: &mut Framework<Self>) -> charmkit::Result<Self> {
//!         fw.observe(On::start(), Handler::new("on_start", |_, ctx: &mut Ctx<'_>| {
//!             ctx.model().set_unit_status(&Status::active("hello"))?;
//!             Ok(())
//!         }));
//!         Ok(Hello)
//!     }
//! }
//!
//! let meta = charmkit::meta::Metadata::from_yaml(Some("name: hello"), None, None, None).unwrap();
//! let out = run::<Hello>(&meta, Trigger::start(), State::default());
//! assert!(out.error.is_none());
//! assert_eq!(out.state.unit_status.name, StatusName::Active);
//! assert!(out.observed);
//! assert!(out.calls.iter().any(|c| c.tool == "status-set"));
//! assert!(out.spans.iter().any(|s| s.name == "start: Hello"));
//! ```

mod consistency;
mod containers;
pub mod fake;
pub mod pebble;
mod trigger;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use opentelemetry_sdk::trace::SpanData;

use crate::context::{JujuContext, StorageRef};
use crate::error::{Error, Result};
use crate::event::{Event, Family};
use crate::framework::{dispatch, Charm, Emitted};
use crate::hookcmd::LogLevel;
use crate::hookcmd::RelationId;
use crate::hookcmd::{HookTools, ToolCall};
use crate::logging::LogSink;
use crate::meta::Metadata;
use crate::state::{Deferred, StoredState};
use crate::trace::pebble::TracedConnector;
use crate::trace::setup::SpanCollector;
use crate::trace::tools::TracedTools;

pub use consistency::check;
pub use containers::PebbleCall;
pub use fake::{FakeJuju, Relation, Secret, State, Storage};
pub use pebble::Container;
pub use trigger::Trigger;

/// The result of one dispatch.
#[derive(Debug)]
pub struct Output {
    /// The dispatch path that ran.
    pub path: String,
    /// The state after the dispatch (stored state included).
    pub state: State,
    /// Every hook-tool call, in order (`juju-log` included).
    pub calls: Vec<ToolCall>,
    /// Every Pebble call, in order, to any container (the containers after the dispatch are
    /// in [`State::containers`]: plan, service statuses, files, execs).
    pub pebble_calls: Vec<PebbleCall>,
    /// Every log line sent to `juju-log`.
    pub logs: Vec<(LogLevel, String)>,
    /// The finished spans of the dispatch (root span last).
    pub spans: Vec<SpanData>,
    /// Every event emitted, with its observer count.
    pub emitted: Vec<Emitted>,
    /// Whether the dispatch was observed.
    pub observed: bool,
    /// The root trace id.
    pub trace_id: String,
    /// The error that failed the hook, if any; a handler's own error is its `source()` (see
    /// [`Error::handler_error`]).
    pub error: Option<Error>,
}

impl Output {
    /// The deferred events after the dispatch.
    pub fn deferred(&self) -> &[Deferred] {
        &self.state.stored.deferred
    }

    /// The calls of one tool.
    pub fn calls_of<'a>(&'a self, tool: &'a str) -> impl Iterator<Item = &'a ToolCall> + 'a {
        self.calls.iter().filter(move |c| c.tool == tool)
    }

    /// The span tree, indented, with durations: what `simulate` prints.
    pub fn span_tree(&self) -> String {
        render_span_tree(&self.spans)
    }

    /// A human-readable account of the dispatch: what `simulate` prints per event.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "── {} ── {}{}",
            self.path,
            if self.observed {
                "observed"
            } else {
                "not observed"
            },
            match &self.error {
                Some(e) => format!(" — FAILED: {e}"),
                None => String::new(),
            }
        );
        let _ = writeln!(s, "  hook tools:");
        for c in self.calls.iter().filter(|c| c.tool != "juju-log") {
            let _ = writeln!(s, "    {} {}", c.tool, c.safe_args().join(" "));
        }
        containers::render(&mut s, &self.pebble_calls, &self.state.containers);
        let _ = writeln!(
            s,
            "  status:     unit {} {:?}; app {} {:?}",
            self.state.unit_status.name.as_str(),
            self.state.unit_status.message,
            self.state.app_status.name.as_str(),
            self.state.app_status.message
        );
        if !self.state.action_results.is_empty() {
            let _ = writeln!(s, "  action results:");
            for (k, v) in &self.state.action_results {
                let _ = writeln!(s, "    {k}: {v}");
            }
        }
        if let Some(why) = &self.state.action_failed {
            let _ = writeln!(s, "  action failed: {why}");
        }
        for rel in &self.state.relations {
            for (whose, bag) in [("app", &rel.local_app_data), ("unit", &rel.local_unit_data)] {
                if !bag.is_empty() {
                    let _ = writeln!(
                        s,
                        "  our {whose} databag on {}:{}: {}",
                        rel.endpoint,
                        rel.id,
                        serde_json::to_string(bag).unwrap_or_default()
                    );
                }
            }
        }
        if !self.deferred().is_empty() {
            let names: Vec<&str> = self
                .deferred()
                .iter()
                .map(|d| d.event.name.as_str())
                .collect();
            let _ = writeln!(s, "  deferred:   {}", names.join(", "));
        }
        let _ = writeln!(s, "  logs:");
        for (level, msg) in &self.logs {
            let _ = writeln!(s, "    {:<7} {msg}", level.as_str());
        }
        let _ = writeln!(s, "  spans (trace {}):", self.trace_id);
        for line in self.span_tree().lines() {
            let _ = writeln!(s, "    {line}");
        }
        s
    }
}

/// Renders spans as an indented tree (children in start order) with durations in ms.
pub fn render_span_tree(spans: &[SpanData]) -> String {
    let ids: std::collections::HashSet<_> =
        spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut sorted: Vec<&SpanData> = spans.iter().collect();
    sorted.sort_by_key(|s| s.start_time);
    let mut out = String::new();
    fn walk(out: &mut String, all: &[&SpanData], span: &SpanData, depth: usize) {
        let ms = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0;
        let err = matches!(span.status, opentelemetry::trace::Status::Error { .. });
        let _ = writeln!(
            out,
            "{}{}  {ms:.3} ms{}",
            "  ".repeat(depth),
            span.name,
            if err { "  [ERROR]" } else { "" }
        );
        for child in all
            .iter()
            .filter(|c| c.parent_span_id == span.span_context.span_id())
        {
            walk(out, all, child, depth + 1);
        }
    }
    for root in sorted.iter().filter(|s| !ids.contains(&s.parent_span_id)) {
        walk(&mut out, &sorted, root, 0);
    }
    out
}

/// Runs one dispatch of `C` for `trigger` against `state`, in memory.
///
/// # Panics
///
/// If the test is inconsistent (see [`check`]): the panic names the inconsistency. Use
/// [`try_run`] to get it as an error.
#[track_caller]
pub fn run<C: Charm>(meta: &Metadata, trigger: Trigger, state: State) -> Output {
    run_with::<C>(meta, trigger, state, |_| {})
}

/// Like [`run`], returning an inconsistent test as [`Error::Inconsistent`] instead of
/// panicking.
pub fn try_run<C: Charm>(meta: &Metadata, trigger: Trigger, state: State) -> Result<Output> {
    let dir = temp_charm_dir()?;
    run_inner::<C>(dir.path(), meta, trigger, state, |_| {})
}

/// Like [`run`], letting `setup` prepare the fake Juju first — e.g. make a tool fail
/// ([`FakeJuju::fail`]) or answer garbage ([`FakeJuju::respond`]).
#[track_caller]
pub fn run_with<C: Charm>(
    meta: &Metadata,
    trigger: Trigger,
    state: State,
    setup: impl FnOnce(&FakeJuju),
) -> Output {
    let out =
        temp_charm_dir().and_then(|dir| run_inner::<C>(dir.path(), meta, trigger, state, setup));
    out.unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`run`], with `charm_dir` as the charm directory instead of a fresh temporary one: the
/// stored state, the trace buffer and the exporter's destination live there, so a test can run
/// several dispatches against one unit's disk and inspect it afterwards (e.g.
/// `trace::buffer::Buffer::open(charm_dir)?.destination()`).
#[track_caller]
pub fn run_in<C: Charm>(
    charm_dir: &std::path::Path,
    meta: &Metadata,
    trigger: Trigger,
    state: State,
) -> Output {
    run_inner::<C>(charm_dir, meta, trigger, state, |_| {}).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `f` with this thread's log records going where a dispatch's go — to `juju-log`, here a
/// [`FakeJuju`]'s — and returns what `f` returned and every line logged, with its level: how a
/// test sees what library code logs outside a dispatch.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, Vec<(LogLevel, String)>) {
    crate::logging::init();
    let fake = Rc::new(FakeJuju::new(State::default()));
    let sink = LogSink::install(fake.clone(), false);
    let out = f();
    drop(sink);
    (out, fake.logs())
}

fn temp_charm_dir() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("charmkit-harness")
        .tempdir()
        .map_err(|e| Error::io("creating a temporary charm directory", e))
}

fn run_inner<C: Charm>(
    charm_dir: &std::path::Path,
    meta: &Metadata,
    trigger: Trigger,
    mut state: State,
    setup: impl FnOnce(&FakeJuju),
) -> Result<Output> {
    check(meta, &trigger, &state)?;
    consistency::fill_defaults(meta, &trigger, &mut state);
    let stored = std::mem::take(&mut state.stored);
    if stored != StoredState::default() {
        stored.save(charm_dir)?;
    }
    let ctx = context_for(meta, &trigger, &state, charm_dir);
    let broken = trigger
        .hook_name()
        .ends_with("-relation-broken")
        .then(|| trigger.relation.as_ref().map(|(_, id)| *id))
        .flatten();
    let pebbles = Rc::new(containers::FakeContainers::take(&mut state));
    let fake = Rc::new(FakeJuju::new(state));
    fake.enter(&ctx);
    if let Some(id) = broken {
        fake.hide_relation(id);
    }
    setup(&fake);
    let collector = SpanCollector::start();
    let report = {
        let _sink = LogSink::install(fake.clone() as Rc<dyn HookTools>, false);
        let traced: Rc<dyn HookTools> = Rc::new(TracedTools::new(fake.clone()));
        let pebble = Rc::new(TracedConnector::new(pebbles.clone()));
        dispatch::<C>(ctx, meta.clone(), traced, pebble, &mut |_| {})
    };
    let spans = collector.take();
    drop(collector);
    let mut state = fake.state();
    state.stored = StoredState::load(charm_dir);
    state.containers = pebbles.containers();
    Ok(Output {
        path: trigger.path,
        calls: fake.calls(),
        pebble_calls: pebbles.calls(),
        logs: fake.logs(),
        state,
        spans,
        emitted: report.emitted,
        observed: report.observed,
        trace_id: report.trace_id,
        error: report.result.err(),
    })
}

/// The context every dispatch of the unit in `state` shares: model, unit, charm directory.
fn unit_context(state: &State, charm_dir: &std::path::Path) -> JujuContext {
    JujuContext {
        model_name: "test-model".into(),
        model_uuid: state.model_uuid.clone(),
        unit_name: state.unit_name.clone(),
        version: Some("3.6.0".into()),
        charm_dir: charm_dir.to_path_buf(),
        ..JujuContext::default()
    }
}

fn context_for(
    meta: &Metadata,
    trigger: &Trigger,
    state: &State,
    charm_dir: &std::path::Path,
) -> JujuContext {
    let hook = trigger.hook_name();
    let mut ctx = JujuContext {
        dispatch_path: trigger.path.clone(),
        hook_name: trigger.path.starts_with("hooks/").then(|| hook.to_string()),
        ..unit_context(state, charm_dir)
    };
    if trigger.is_action() {
        ctx.action_name = Some(hook.to_string());
        ctx.action_uuid = Some("1".into());
    }
    if let Some(rel) = trigger
        .relation
        .as_ref()
        .and_then(|(_, id)| state.relation(*id))
    {
        ctx.relation = Some(rel.endpoint.clone());
        ctx.relation_id = Some(RelationId {
            endpoint: rel.endpoint.clone(),
            id: rel.id,
        });
        ctx.remote_app = Some(rel.remote_app.clone());
        let departing_remote = trigger
            .departing_unit
            .clone()
            .filter(|u| *u != state.unit_name);
        // Juju names a remote unit on joined, departed, and a unit-databag change; none on a
        // change of the application's databag.
        ctx.remote_unit = match hook.rsplit('-').next() {
            Some("changed") if trigger.by_app => None,
            Some("joined") | Some("changed") | Some("departed") => trigger
                .remote_unit
                .clone()
                .or(departing_remote)
                .or_else(|| rel.remote_units_data.keys().next().cloned()),
            _ => trigger.remote_unit.clone(),
        };
        ctx.departing_unit = trigger.departing_unit.clone();
    }
    let subject =
        Event::parse_hook(hook, meta).and_then(|(kind, subject)| Some((kind.family()?, subject?)));
    if let Some((Family::Container, container)) = &subject {
        ctx.workload_name = Some(container.clone());
    }
    if let Some((id, kind, key)) = &trigger.notice {
        ctx.notice_id = Some(id.clone());
        ctx.notice_type = Some(kind.clone());
        ctx.notice_key = Some(key.clone());
    }
    if let Some((id, label, rev)) = &trigger.secret {
        ctx.secret_id = Some(id.clone());
        ctx.secret_label = label.clone();
        ctx.secret_revision = *rev;
    }
    if let (Some(index), Some((Family::Storage, name))) = (trigger.storage_index, &subject) {
        // Juju sets where the instance is and what kind it is along with its id.
        let id = format!("{name}/{index}");
        if let Some(s) = state.storages.iter().find(|s| s.id == id) {
            ctx.storage_location = Some(s.location.clone().into());
            ctx.storage_kind = s.kind.parse().ok();
        }
        ctx.storage_id = Some(StorageRef {
            name: name.clone(),
            index,
        });
    }
    ctx.pebble_check_name = trigger.pebble_check.clone();
    ctx
}

/// A sequence of dispatches against one evolving state: what `simulate` runs. Relations named
/// by relation hooks are created on first use, with a plausible remote application (Tempo for
/// `tracing`, self-signed-certificates for `certificate_transfer`). Each declared container
/// has a fake Pebble that answers; a check event is about the first check of the container's
/// plan (put down for failed, up for recovered), a custom-notice event about a new notice
/// `charmkit.example/simulated`.
pub struct Simulation {
    meta: Metadata,
    state: State,
    dir: tempfile::TempDir,
}

impl Simulation {
    /// A fresh simulated unit `<name>/0`, leader, with the config defaults, and a connectable
    /// fake Pebble for each declared container.
    pub fn new(meta: Metadata) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("charmkit-simulate")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary charm directory", e))?;
        let state = State {
            unit_name: format!("{}/0", meta.name),
            leader: true,
            containers: meta.containers.keys().map(|c| Container::new(c)).collect(),
            ..State::default()
        };
        Ok(Simulation { meta, state, dir })
    }

    /// Makes the unit a follower (or the leader again).
    pub fn set_leader(&mut self, leader: bool) {
        self.state.leader = leader;
    }

    /// Sets a config option from text, typed as the metadata declares it (`--config k=v`).
    /// An undeclared option or a value of the wrong type is an [`Error::Usage`].
    pub fn set_config(&mut self, key: &str, text: &str) -> Result<()> {
        let Some(opt) = self.meta.config.get(key) else {
            let declared: Vec<&String> = self.meta.config.keys().collect();
            return Err(Error::Usage(format!(
                "config option {key:?} is not declared{}",
                crate::suggest::did_you_mean(key, &declared)
            )));
        };
        let bad = |what: &str| {
            Error::Usage(format!(
                "config option {key:?} is {what}, and {text:?} is not"
            ))
        };
        let value = match opt.kind {
            crate::meta::ConfigType::String | crate::meta::ConfigType::Secret => {
                serde_json::Value::String(text.to_string())
            }
            crate::meta::ConfigType::Int => text
                .parse::<i64>()
                .map(Into::into)
                .map_err(|_| bad("an int"))?,
            crate::meta::ConfigType::Float => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(serde_json::Value::Number)
                .ok_or_else(|| bad("a float"))?,
            crate::meta::ConfigType::Boolean => text
                .parse::<bool>()
                .map(Into::into)
                .map_err(|_| bad("a boolean (true or false)"))?,
        };
        self.state.config.insert(key.to_string(), value);
        Ok(())
    }

    /// Adds `key` = `value` to the remote application's databag of the relation on
    /// `endpoint` (created if there is none yet): `--relation-data ENDPOINT k=v`.
    pub fn set_remote_app_data(&mut self, endpoint: &str, key: &str, value: &str) -> Result<()> {
        let declared = crate::event::Family::Relation.declared(&self.meta);
        if !declared.iter().any(|d| d == endpoint) {
            return Err(Error::Usage(format!(
                "relation endpoint {endpoint:?} is not declared{}",
                crate::suggest::did_you_mean(endpoint, &declared)
            )));
        }
        let id = self.ensure_relation(endpoint, "changed");
        if let Some(rel) = self.state.relation_mut(id) {
            rel.remote_app_data
                .insert(key.to_string(), value.to_string());
        }
        Ok(())
    }

    /// The metadata.
    pub fn meta(&self) -> &Metadata {
        &self.meta
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Runs one event and carries the resulting state on. An event that does not fit the
    /// state is an [`Error::Inconsistent`].
    pub fn run<C: Charm>(&mut self, mut trigger: Trigger) -> Result<Output> {
        let hook = trigger.hook_name().to_string();
        if let Some((endpoint, what)) = hook.split_once("-relation-") {
            let id = self.ensure_relation(endpoint, what);
            trigger.relation = Some((endpoint.to_string(), id));
            if what == "departed" && trigger.departing_unit.is_none() {
                trigger.departing_unit = self
                    .state
                    .relation(id)
                    .and_then(|r| r.remote_units_data.keys().next().cloned());
            }
        }
        if let Some((container, what)) = hook.rsplit_once("-pebble-") {
            containers::prepare_event(&mut self.state, &mut trigger, container, what)?;
        }
        let out = run_inner::<C>(
            self.dir.path(),
            &self.meta,
            trigger,
            self.state.clone(),
            |_| {},
        )?;
        self.state = out.state.clone();
        // As on a real unit, the dispatch's spans go to the (simulated) unit's buffer.
        let ctx = unit_context(&self.state, self.dir.path());
        let resource = crate::trace::setup::resource(
            &ctx,
            &self.meta.name,
            crate::framework::short_type_name::<C>(),
        );
        crate::trace::DispatchTrace::start(self.dir.path(), resource)
            .finish_with(out.spans.clone(), out.observed);
        if let Some(endpoint) = hook.strip_suffix("-relation-broken") {
            self.state.relations.retain(|r| r.endpoint != endpoint);
        }
        // Stored state lives in the simulation's charm directory between events.
        let _ = self.state.stored.save(self.dir.path());
        self.state.stored = StoredState::default();
        Ok(out)
    }

    fn ensure_relation(&mut self, endpoint: &str, what: &str) -> u32 {
        if let Some(r) = self.state.relations.iter().find(|r| r.endpoint == endpoint) {
            return r.id;
        }
        let id = self
            .state
            .relations
            .iter()
            .map(|r| r.id + 1)
            .max()
            .unwrap_or(1);
        let declared = self.meta.relation(endpoint);
        let interface = declared.map(|r| r.interface.clone()).unwrap_or_default();
        let peer = declared.is_some_and(|r| r.role == crate::meta::Role::Peers);
        let remote_app = match interface.as_str() {
            _ if peer => self.meta.name.as_str(),
            "tracing" => "tempo",
            "certificate_transfer" => "self-signed-certificates",
            _ => "remote",
        };
        let mut rel = Relation::new(endpoint, id, remote_app);
        if what != "created" {
            // A peer's other unit is 1: this one is 0.
            let unit = format!("{remote_app}/{}", u8::from(peer));
            rel = rel.with_remote_unit(unit, BTreeMap::<String, String>::new());
        }
        if interface == "tracing" {
            rel = rel.with_remote_app_data(BTreeMap::from([(
                "receivers".to_string(),
                r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://localhost:4318"}]"#
                    .to_string(),
            )]));
        }
        self.state.relations.push(rel);
        id
    }
}

/// The metadata the crate's own tests share (the framework's and the consistency checker's): a
/// relation, a peer relation, storage, a container with its image, config options with and
/// without defaults, and an action with a required and a bounded parameter.
#[cfg(test)]
pub(crate) fn demo_meta() -> Metadata {
    Metadata::from_yaml(
        Some(
            r#"
name: demo
requires:
  db:
    interface: pgsql
peers:
  cluster:
    interface: demo-peers
storage:
  data:
    type: filesystem
containers:
  web:
    resource: web-image
resources:
  web-image:
    type: oci-image
config:
  options:
    port:
      type: int
      default: 80
    log-level:
      type: string
      default: info
    token:
      type: string
    name:
      type: string
actions:
  backup:
    params:
      target:
        type: string
      copies:
        type: integer
        default: 1
        enum: [1, 2, 3]
    required: [target]
"#,
        ),
        None,
        None,
        None,
    )
    .expect("the tests' metadata parses")
}
