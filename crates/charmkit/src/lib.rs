//! # charmkit: a Rust operator framework for Juju charms
//!
//! A Juju charm is a program Juju runs on every event (install, start, relation-changed, an
//! action…) through `dispatch`, with the context in `JUJU_*` variables; it talks back only
//! through hook tools. charmkit is the Rust counterpart of Python's `ops`, with tracing built in.
//! A charm imports [`prelude`] and calls [`main`]; its tests use `charmkit::testing` (the
//! `testing` feature).
//!
//! ## Module map
//!
//! Layers, bottom up: a module uses only the layers below it, and nothing imports the command
//! line. Linked modules are public (`testing` too, with its feature); the others are the crate's
//! own.
//!
//! 1. **Shared small types and helpers**: `types` (relation ids, status, storage kinds —
//!    re-exported by [`hookcmd`] and the [`prelude`]), `fs` (atomic writes, private temporary
//!    directories), `span` (the span names the framework and the trace core share), `suggest`
//!    (did-you-mean), [`error`] (every error the crate raises).
//! 2. **Talking to the outside**: [`hookcmd`] (every hook tool behind one trait: the documented
//!    low-level layer), [`pebble`] (the Pebble client a sidecar charm drives its containers with).
//! 3. **What Juju says**: [`context`] (the typed `JUJU_*` context), [`meta`] (metadata, config
//!    options, actions), [`event`] (events resolved against the metadata).
//! 4. **The charm's view**: [`model`] (leadership, typed config, relations and their databags,
//!    secrets, status, workload containers; cached per hook).
//! 5. **The framework**: [`framework`] (observers, defer, custom events, collect-status, and
//!    [`framework::dispatch`]), [`observe`] (typed selectors [`On`] and named handlers
//!    [`handler!`]), `ctx` (what a handler sees: [`Ctx`]), [`state`] (stored state and deferred
//!    events, written atomically), `logging` (the `log` crate to `juju-log`).
//! 6. **The trace core**: `trace` (a root span per dispatch, a span per observer, hook-tool and
//!    Pebble call, the crash-safe priority buffer, OTLP/JSON export), wired in by the runtime.
//! 7. **Charm libraries**: [`tracing`] (the [`Tracing`](tracing::Tracing) requirer of `tracing`
//!    v2 and `certificate_transfer` v1, and what a charm reads of the trace core).
//! 8. **The harness** (feature `testing`): `testing` (the state-in/state-out harness: the
//!    in-memory Juju, the fake Pebble, the consistency checker, the simulator).
//! 9. **On top**: `runtime` (one dispatch under Juju) and `cli` (`simulate`, `trace
//!    status|dump|flush`, `help`), between which [`main`] chooses.
//!
//! ## Public surface
//!
//! 157 items (structs, enums, traits, functions, macros, constants, type aliases; 185 with
//! `testing`), down from 262 when every module was public: `pebble` 52, `hookcmd` 26, `event`
//! 22, `meta` 11, `tracing` 11, `framework` 9, `model` 9, the rest 17 (and `testing` 28). The
//! trace core, the runtime, the CLI and logging are the crate's own; charmkit's integration
//! tests reach the trace core through a private feature. To count again: `cargo doc --no-deps
//! -p charmkit`, then `grep -o '<li><a href="[^"]*\.html">' target/doc/charmkit/all.html | wc -l`.
//!
//! A complete charm:
//!
//! ```no_run
//! use charmkit::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Config {
//!     port: u16,
//! }
//!
//! struct MyCharm;
//!
//! impl Charm for MyCharm {
//!     fn new(fw: &mut Framework<Self>) -> charmkit::Result<Self> {
//!         fw.observe(On::start(), handler!(Self::on_start));
//!         fw.observe(On::collect_unit_status(), handler!(Self::on_collect_status));
//!         Ok(MyCharm)
//!     }
//! }
//!
//! impl MyCharm {
//!     fn on_start(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
//!         let config: Config = ctx.model().config()?;
//!         log::info!("starting {} on port {}", ctx.model().unit_name(), config.port);
//!         Ok(())
//!     }
//!
//!     fn on_collect_status(&mut self, ctx: &mut Ctx<'_, CollectStatus>) -> HandlerResult {
//!         ctx.add_status(Status::active("ready"));
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     charmkit::main::<MyCharm>()
//! }
//! ```
//!
//! Handlers are typed by the event they observe (`Ctx<'_, RelationEvent>` has the
//! relation; `Ctx<'_, ActionEvent>` has the action's params and results); what a deferred event
//! is keyed by is in [`observe`]; every error the crate raises is in the map of [`error`].
#![forbid(unsafe_code)]

pub mod context;
pub mod error;
pub mod event;
pub mod framework;
pub mod hookcmd;
pub mod meta;
pub mod model;
pub mod observe;
pub mod pebble;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tracing;

mod cli;
mod ctx;
mod fs;
mod logging;
mod runtime;
mod span;
mod suggest;
mod types;

// The trace core is the crate's own; charmkit's integration tests and benches see it through the
// private `_internals` feature (charmkit-test-support turns it on).
#[cfg(feature = "_internals")]
#[doc(hidden)]
pub mod trace;
#[cfg(not(feature = "_internals"))]
mod trace;

pub use error::{Error, Result};
pub use framework::{Charm, Ctx, Framework, HandlerResult};
pub use observe::{Handler, On};

/// Runs the charm: what a charm's `main` calls.
///
/// ```no_run
/// # use charmkit::{Charm, Framework};
/// # struct MyCharm;
/// # impl Charm for MyCharm { fn new(_: &mut Framework<Self>) -> charmkit::Result<Self> { Ok(MyCharm) } }
/// fn main() -> std::process::ExitCode {
///     charmkit::main::<MyCharm>()
/// }
/// ```
///
/// With `JUJU_DISPATCH_PATH` set (Juju runs `dispatch`), one dispatch (the runtime); without it,
/// the arguments are a command for a person (the CLI): `simulate`, `trace status|dump|flush`,
/// `help`.
pub fn main<C: Charm>() -> std::process::ExitCode {
    if std::env::var_os("JUJU_DISPATCH_PATH").is_some_and(|v| !v.is_empty()) {
        return runtime::run_dispatch::<C>();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    cli::run::<C>(&args)
}

/// What a charm's `charm.rs` needs, in one `use charmkit::prelude::*;`: the framework, the
/// typed events, the model, status, and the [`Tracing`](crate::tracing::Tracing) library.
pub mod prelude {
    pub use crate::event::{
        ActionEvent, CheckEvent, CollectStatus, ContainerScoped, CustomEvent, HookEvent,
        NoticeEvent, RelationDepartedEvent, RelationEvent, RelationJoinedEvent, RelationScoped,
        SecretEvent, SecretRevisionEvent, StorageEvent, WorkloadEvent,
    };
    pub use crate::framework::{Charm, Ctx, Framework, HandlerResult};
    pub use crate::handler;
    pub use crate::hookcmd::Port;
    pub use crate::model::{Container, Model};
    pub use crate::observe::{Handler, On};
    pub use crate::tracing::{CaSource, Tracing};
    pub use crate::types::{Status, StatusName};
}
