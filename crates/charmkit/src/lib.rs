//! # charmkit: a Rust operator framework for Juju charms
//!
//! A Juju charm is a program Juju runs on every event (install, start, relation-changed, an
//! action…) through `dispatch`, with the context in `JUJU_*` variables; it talks back only
//! through hook tools. charmkit is the Rust counterpart of Python's `ops`, with tracing built in:
//!
//! - [`context`]: the typed `JUJU_*` context; [`event`]: events resolved against [`meta`]data;
//! - [`hookcmd`]: every hook tool behind one trait, so tests run in memory;
//! - [`framework`]: observers, defer, custom events, collect-status, and [`framework::dispatch`];
//!   [`observe`]: typed selectors ([`On`]) and named handlers ([`handler!`]); [`ctx`]: what a
//!   handler sees;
//! - [`model`]: the charm-facing API (leadership, typed config, relations and their databags,
//!   secrets, status, workload containers), cached per hook;
//! - [`pebble`]: the Pebble client a Kubernetes sidecar charm drives its workload containers
//!   with ([`model::Model::container`] hands out one per declared container);
//! - [`state`]: stored state and deferred events, written atomically;
//! - [`logging`]: the `log` crate routed to `juju-log`;
//! - [`tracing`]: spans for every dispatch, a crash-safe priority buffer, OTLP/JSON export;
//! - `testing` (feature `testing`): the state-in/state-out harness, and the simulator behind
//!   `dispatch simulate`.
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
#![warn(missing_docs)]

pub mod cli;
pub mod context;
pub mod ctx;
pub mod error;
pub mod event;
pub mod framework;
mod fs;
pub mod hookcmd;
pub mod logging;
pub mod meta;
pub mod model;
pub mod observe;
pub mod pebble;
pub mod runtime;
mod span;
pub mod state;
mod suggest;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;
pub mod tracing;
pub(crate) mod types;

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

/// What a charm's `charm.rs` needs, in one `use charmkit::prelude::*;`.
pub mod prelude {
    pub use crate::event::{
        ActionEvent, CheckEvent, CollectStatus, ContainerScoped, CustomEvent, HookEvent,
        NoticeEvent, RelationDepartedEvent, RelationEvent, RelationJoinedEvent, RelationScoped,
        SecretEvent, SecretRevisionEvent, StorageEvent, WorkloadEvent,
    };
    pub use crate::framework::{Charm, Ctx, Framework, HandlerResult};
    pub use crate::handler;
    pub use crate::observe::{Handler, On};
    pub use crate::types::Status;
}
