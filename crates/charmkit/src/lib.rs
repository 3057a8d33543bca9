//! # charmkit: a Rust operator framework for Juju charms
//!
//! A Juju charm is a program Juju runs on every event (install, start, relation-changed, an
//! action…) through `dispatch`, with the context in `JUJU_*` variables; it talks back only
//! through hook tools. charmkit is the Rust counterpart of Python's `ops`, with tracing built in:
//!
//! - [`context`]: the typed `JUJU_*` context; [`event`]: events resolved against [`meta`]data;
//! - [`hookcmd`]: every hook tool behind one trait, so tests run in memory;
//! - [`framework`]: observers, defer, custom events, collect-status, and [`framework::dispatch`];
//! - [`model`]: the charm-facing API (leadership, config, relation data, status), cached per hook;
//! - [`state`]: stored state and deferred events, written atomically;
//! - [`logging`]: the `log` crate routed to `juju-log`;
//! - [`tracing`]: spans for every dispatch, a crash-safe priority buffer, OTLP/JSON export;
//! - [`testing`]: the state-in/state-out harness, and the simulator behind `dispatch simulate`.
//!
//! A complete charm:
//!
//! ```no_run
//! use charmkit::event::EventKind;
//! use charmkit::framework::{Charm, Ctx, Framework, HandlerResult};
//! use charmkit::hookcmd::Status;
//!
//! struct MyCharm;
//!
//! impl Charm for MyCharm {
//!     fn new(fw: &mut Framework<Self>) -> charmkit::Result<Self> {
//!         fw.observe(EventKind::Start, "on_start", Self::on_start);
//!         fw.observe(EventKind::CollectUnitStatus, "on_collect_status", |_, ctx| {
//!             ctx.add_status(Status::active("ready"));
//!             Ok(())
//!         });
//!         Ok(MyCharm)
//!     }
//! }
//!
//! impl MyCharm {
//!     fn on_start(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
//!         log::info!("starting {}", ctx.model().unit_name());
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     charmkit::main::<MyCharm>()
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod context;
pub mod error;
pub mod event;
pub mod framework;
pub mod hookcmd;
pub mod logging;
pub mod meta;
pub mod model;
pub mod pebble;
pub mod runtime;
pub mod state;
pub mod testing;
pub mod tracing;

pub use error::{Error, Result};
pub use framework::{Charm, Ctx, Framework, HandlerResult, On};
pub use runtime::main;
