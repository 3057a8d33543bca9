// The crate docs are README.md (included below), so that crates.io, docs.rs and `cargo doc`
// show one text and its examples are doctests. README.md's links go to docs.rs; these link
// definitions come first, and the first definition of a link wins, so rustdoc links to the items
// themselves. tests/docs.rs checks that both lists name the same links and the same items.
//! [`Charm`]: framework::Charm
//! [`main`]: main()
//! [`Tracing::setup`]: tracing::Tracing::setup
//! [`prelude`]: prelude
//! [`hookcmd`]: hookcmd
//! [`error`]: mod@error
//! [`pebble`]: pebble
//! [`context`]: context
//! [`meta`]: meta
//! [`event`]: event
//! [`model`]: model
//! [`framework`]: framework
//! [`framework::dispatch`]: framework::dispatch
//! [`observe`]: observe
//! [`On`]: observe::On
//! [`handler!`]: handler!
//! [`Ctx`]: framework::Ctx
//! [`state`]: state
//! [`tracing`]: mod@tracing
//! [`Tracing`]: tracing::Tracing
#![doc = include_str!("../README.md")]
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
