//! The state-in/state-out test harness: run a charm's dispatch against an in-memory Juju.
//!
//! Like ops.testing (Scenario) and goops' goopstest: give a charm, an event ([`Trigger`]) and a
//! [`State`] (leadership, config, relations with their databags, secrets, status, stored
//! state…); [`run`] performs the whole dispatch in memory — no process is spawned, every hook
//! tool is answered by [`FakeJuju`] — and returns an [`Output`]: the state after the dispatch,
//! every hook-tool call made, the logs, the finished spans, the emitted events and the error if
//! the hook failed.
//!
//! ```
//! use charmkit::event::EventKind;
//! use charmkit::framework::{Charm, Framework};
//! use charmkit::hookcmd::{Status, StatusName};
//! use charmkit::testing::{run, State, Trigger};
//!
//! struct Hello;
//! impl Charm for Hello {
//!     fn new(fw: &mut Framework<Self>) -> charmkit::Result<Self> {
//!         fw.observe(EventKind::Start, "on_start", |_, ctx| {
//!             ctx.model().set_unit_status(&Status::active("hello"))?;
//!             Ok(())
//!         });
//!         Ok(Hello)
//!     }
//! }
//!
//! let meta = charmkit::meta::Metadata::from_yaml(Some("name: hello"), None, None, None).unwrap();
//! let out = run::<Hello>(&meta, Trigger::hook("start"), State::default());
//! assert!(out.error.is_none());
//! assert_eq!(out.state.unit_status.name, StatusName::Active);
//! assert!(out.observed);
//! assert!(out.calls.iter().any(|c| c.tool == "status-set"));
//! assert!(out.spans.iter().any(|s| s.name == "start: Hello"));
//! ```

pub mod fake;
pub mod pebble;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use opentelemetry_sdk::trace::SpanData;

use crate::context::{JujuContext, StorageRef};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::framework::{dispatch, Charm, Emitted};
use crate::hookcmd::LogLevel;
use crate::hookcmd::RelationId;
use crate::hookcmd::{HookTools, ToolCall};
use crate::logging::LogSink;
use crate::meta::Metadata;
use crate::state::{Deferred, StoredState};
use crate::tracing::setup::SpanCollector;
use crate::tracing::tools::TracedTools;

pub use fake::{FakeJuju, Relation, State};

/// What Juju sends: the dispatch path plus what goes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// `hooks/<name>` or `actions/<name>`.
    pub path: String,
    /// The relation id, for relation events (must be in the state's relations).
    pub relation: Option<u32>,
    /// The remote unit (default: the relation's first remote unit).
    pub remote_unit: Option<String>,
    /// The departing unit (relation-departed).
    pub departing_unit: Option<String>,
    /// The secret id, label and revision (secret events).
    pub secret: Option<(String, Option<String>, Option<u64>)>,
    /// The storage index (storage events).
    pub storage_index: Option<u32>,
    /// The container (Pebble events) is taken from the hook name; the check or notice here.
    pub pebble_check: Option<String>,
    /// Action parameters.
    pub params: BTreeMap<String, serde_json::Value>,
}

impl Trigger {
    /// A hook by name: `install`, `config-changed`, `db-relation-changed`…
    pub fn hook(name: &str) -> Self {
        Trigger {
            path: format!("hooks/{name}"),
            relation: None,
            remote_unit: None,
            departing_unit: None,
            secret: None,
            storage_index: None,
            pebble_check: None,
            params: BTreeMap::new(),
        }
    }

    /// An action by name, with no parameters.
    pub fn action(name: &str) -> Self {
        Trigger {
            path: format!("actions/{name}"),
            ..Trigger::hook("")
        }
    }

    /// A relation hook (`created`, `joined`, `changed`, `departed`, `broken`) on relation `id`
    /// of `endpoint`.
    pub fn relation(endpoint: &str, what: &str, id: u32) -> Self {
        Trigger {
            relation: Some(id),
            ..Trigger::hook(&format!("{endpoint}-relation-{what}"))
        }
    }

    /// Sets the remote unit.
    pub fn with_remote_unit(mut self, unit: &str) -> Self {
        self.remote_unit = Some(unit.to_string());
        self
    }

    /// Sets the departing unit.
    pub fn with_departing_unit(mut self, unit: &str) -> Self {
        self.departing_unit = Some(unit.to_string());
        self
    }

    /// Sets an action parameter.
    pub fn with_param(mut self, key: &str, value: serde_json::Value) -> Self {
        self.params.insert(key.to_string(), value);
        self
    }

    /// Sets the secret of a secret event.
    pub fn with_secret(mut self, id: &str, label: Option<&str>, revision: Option<u64>) -> Self {
        self.secret = Some((id.to_string(), label.map(String::from), revision));
        self
    }

    /// Parses what a person types: `install`, `charm-tracing-relation-created`,
    /// `actions/trace-status`, `hooks/start`, or a bare action name. Unknown events are errors.
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
        let probe = JujuContext {
            dispatch_path: t.path.clone(),
            unit_name: "probe/0".into(),
            ..JujuContext::default()
        };
        if Event::from_context(&probe, meta).is_none() {
            return Err(Error::Usage(format!(
                "{text:?} is not an event this charm knows (hooks of its declared relations, \
                 storage and containers, or actions/<name> of its actions)"
            )));
        }
        Ok(t)
    }

    fn hook_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }
}

/// The result of one dispatch.
#[derive(Debug)]
pub struct Output {
    /// The dispatch path that ran.
    pub path: String,
    /// The state after the dispatch (stored state included).
    pub state: State,
    /// Every hook-tool call, in order (`juju-log` included).
    pub calls: Vec<ToolCall>,
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
    /// The error that failed the hook, if any.
    pub error: Option<String>,
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
pub fn run<C: Charm>(meta: &Metadata, trigger: Trigger, state: State) -> Output {
    run_with::<C>(meta, trigger, state, |_| {})
}

/// Like [`run`], letting `setup` prepare the fake Juju first — e.g. make a tool fail
/// ([`FakeJuju::fail`]) or answer garbage ([`FakeJuju::respond`]).
pub fn run_with<C: Charm>(
    meta: &Metadata,
    trigger: Trigger,
    state: State,
    setup: impl FnOnce(&FakeJuju),
) -> Output {
    let dir = match tempfile::Builder::new()
        .prefix("charmkit-harness")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => {
            return Output {
                path: trigger.path,
                state,
                calls: vec![],
                logs: vec![],
                spans: vec![],
                emitted: vec![],
                observed: false,
                trace_id: String::new(),
                error: Some(format!("cannot create a temporary charm directory: {e}")),
            }
        }
    };
    run_inner::<C>(dir.path(), meta, trigger, state, setup)
}

/// Like [`run`], with `charm_dir` as the charm directory instead of a fresh temporary one: the
/// stored state, the trace buffer and the exporter's destination live there, so a test can run
/// several dispatches against one unit's disk and inspect it afterwards (e.g.
/// `tracing::buffer::Buffer::open(charm_dir)?.destination()`).
pub fn run_in<C: Charm>(
    charm_dir: &std::path::Path,
    meta: &Metadata,
    trigger: Trigger,
    state: State,
) -> Output {
    run_inner::<C>(charm_dir, meta, trigger, state, |_| {})
}

fn run_inner<C: Charm>(
    charm_dir: &std::path::Path,
    meta: &Metadata,
    trigger: Trigger,
    mut state: State,
    setup: impl FnOnce(&FakeJuju),
) -> Output {
    let stored = std::mem::take(&mut state.stored);
    if stored != StoredState::default() {
        if let Err(e) = stored.save(charm_dir) {
            log::error!("{e}");
        }
    }
    let ctx = context_for(&trigger, &state, charm_dir);
    if !trigger.params.is_empty() {
        state.action_params = trigger.params.clone();
    }
    let broken = trigger
        .hook_name()
        .ends_with("-relation-broken")
        .then_some(trigger.relation)
        .flatten();
    let fake = Rc::new(FakeJuju::new(state));
    if let Some(id) = broken {
        fake.hide_relation(id);
    }
    setup(&fake);
    let collector = SpanCollector::start();
    let report = {
        let _sink = LogSink::install(fake.clone() as Rc<dyn HookTools>, false);
        let traced: Rc<dyn HookTools> = Rc::new(TracedTools::new(fake.clone()));
        dispatch::<C>(ctx, meta.clone(), traced, &mut |_| {})
    };
    let spans = collector.take();
    drop(collector);
    let mut state = fake.state();
    state.stored = StoredState::load(charm_dir);
    Output {
        path: trigger.path,
        calls: fake.calls(),
        logs: fake.logs(),
        state,
        spans,
        emitted: report.emitted,
        observed: report.observed,
        trace_id: report.trace_id,
        error: report.result.err().map(|e| e.to_string()),
    }
}

/// The context every dispatch of the unit in `state` shares: model, unit, charm directory.
fn unit_context(state: &State, charm_dir: &std::path::Path) -> JujuContext {
    JujuContext {
        model_name: "test-model".into(),
        model_uuid: "00000000-0000-4000-8000-000000000000".into(),
        unit_name: state.unit_name.clone(),
        version: Some("3.6.0".into()),
        charm_dir: charm_dir.to_path_buf(),
        ..JujuContext::default()
    }
}

fn context_for(trigger: &Trigger, state: &State, charm_dir: &std::path::Path) -> JujuContext {
    let hook = trigger.hook_name();
    let mut ctx = JujuContext {
        dispatch_path: trigger.path.clone(),
        hook_name: trigger.path.starts_with("hooks/").then(|| hook.to_string()),
        ..unit_context(state, charm_dir)
    };
    if trigger.path.starts_with("actions/") {
        ctx.action_name = Some(hook.to_string());
        ctx.action_uuid = Some("1".into());
    }
    if let Some(rel) = trigger
        .relation
        .and_then(|id| state.relations.iter().find(|r| r.id == id))
    {
        ctx.relation = Some(rel.endpoint.clone());
        ctx.relation_id = Some(RelationId {
            endpoint: rel.endpoint.clone(),
            id: rel.id,
        });
        ctx.remote_app = Some(rel.remote_app.clone());
        ctx.remote_unit = trigger
            .remote_unit
            .clone()
            .or_else(|| rel.remote_units_data.keys().next().cloned());
        ctx.departing_unit = trigger.departing_unit.clone();
    }
    if let Some((id, label, rev)) = &trigger.secret {
        ctx.secret_id = Some(id.clone());
        ctx.secret_label = label.clone();
        ctx.secret_revision = *rev;
    }
    if let Some(index) = trigger.storage_index {
        if let Some(name) = hook
            .strip_suffix("-storage-attached")
            .or_else(|| hook.strip_suffix("-storage-detaching"))
        {
            ctx.storage_id = Some(StorageRef {
                name: name.to_string(),
                index,
            });
        }
    }
    ctx.pebble_check_name = trigger.pebble_check.clone();
    ctx
}

/// A sequence of dispatches against one evolving state: what `simulate` runs. Relations named
/// by relation hooks are created on first use, with a plausible remote application (Tempo for
/// `tracing`, self-signed-certificates for `certificate_transfer`).
pub struct Simulation {
    meta: Metadata,
    state: State,
    dir: tempfile::TempDir,
}

impl Simulation {
    /// A fresh simulated unit `<name>/0`, leader, with the config defaults.
    pub fn new(meta: Metadata) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("charmkit-simulate")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary charm directory", e))?;
        let mut state = State {
            unit_name: format!("{}/0", meta.name),
            leader: true,
            ..State::default()
        };
        for (k, opt) in &meta.config {
            if let Some(d) = &opt.default {
                state.config.insert(k.clone(), d.clone());
            }
        }
        Ok(Simulation { meta, state, dir })
    }

    /// The metadata.
    pub fn meta(&self) -> &Metadata {
        &self.meta
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Runs one event and carries the resulting state on.
    pub fn run<C: Charm>(&mut self, mut trigger: Trigger) -> Output {
        let hook = trigger.hook_name().to_string();
        if let Some((endpoint, what)) = hook.split_once("-relation-") {
            let id = self.ensure_relation(endpoint, what);
            trigger.relation = Some(id);
        }
        let out = run_in::<C>(self.dir.path(), &self.meta, trigger, self.state.clone());
        self.state = out.state.clone();
        // As on a real unit, the dispatch's spans go to the (simulated) unit's buffer.
        let ctx = unit_context(&self.state, self.dir.path());
        let resource = crate::tracing::setup::resource(
            &ctx,
            &self.meta.name,
            crate::runtime::short_type_name::<C>(),
        );
        crate::tracing::DispatchTrace::start(self.dir.path(), resource)
            .finish_with(out.spans.clone(), out.observed);
        if let Some(endpoint) = hook.strip_suffix("-relation-broken") {
            self.state.relations.retain(|r| r.endpoint != endpoint);
        }
        // Stored state lives in the simulation's charm directory between events.
        let _ = self.state.stored.save(self.dir.path());
        self.state.stored = StoredState::default();
        out
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
        let interface = self
            .meta
            .relation(endpoint)
            .map(|r| r.interface.clone())
            .unwrap_or_default();
        let remote_app = match interface.as_str() {
            "tracing" => "tempo",
            "certificate_transfer" => "self-signed-certificates",
            _ => "remote",
        };
        let mut rel = Relation::new(endpoint, id, remote_app);
        if what != "created" {
            rel =
                rel.with_remote_unit(format!("{remote_app}/0"), BTreeMap::<String, String>::new());
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
