//! The process entry: what a charm's `main` calls.
//!
//! ```no_run
//! # use charmkit::{Charm, Framework};
//! # struct MyCharm;
//! # impl Charm for MyCharm { fn new(_: &mut Framework<Self>) -> charmkit::Result<Self> { Ok(MyCharm) } }
//! fn main() -> std::process::ExitCode {
//!     charmkit::main::<MyCharm>()
//! }
//! ```
//!
//! With `JUJU_DISPATCH_PATH` set (Juju runs `dispatch`), it runs one dispatch: context → metadata
//! → tracing → [`crate::framework::dispatch`] → spans to the buffer → export handed off. The exit
//! status is 0 unless a handler failed (then Juju retries the hook). Tracing never fails a hook.
//!
//! Without it, the arguments are a command for a person: `simulate`, `trace status`,
//! `trace dump`, `trace flush`, `help`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use crate::context::JujuContext;
use crate::framework::{dispatch, Charm};
use crate::hookcmd::{HookTools, ProcessTools};
use crate::logging::LogSink;
use crate::meta::Metadata;
use crate::model::SocketConnector;
use crate::tracing::pebble::TracedConnector;
use crate::tracing::tools::TracedTools;
use crate::tracing::DispatchTrace;

use crate::framework::short_type_name;

/// Runs the charm: a dispatch under Juju, or the command line otherwise.
pub fn main<C: Charm>() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::env::var_os("JUJU_DISPATCH_PATH").is_some_and(|v| !v.is_empty()) {
        return run_dispatch::<C>();
    }
    crate::cli::run::<C>(&args)
}

/// The charm directory outside Juju: `JUJU_CHARM_DIR`, else the directory of the `dispatch`
/// script that ran us (`CHARMKIT_DISPATCH_DIR`, set by it), else our own directory when we are
/// `dispatch` (a packed charm), else the current directory.
pub fn charm_dir() -> PathBuf {
    for var in ["JUJU_CHARM_DIR", "CHARMKIT_DISPATCH_DIR"] {
        if let Some(d) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return PathBuf::from(d);
        }
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .filter(|exe| exe.file_name().is_some_and(|n| n == "dispatch"))
        .and_then(|exe| exe.parent().map(PathBuf::from))
    {
        return dir;
    }
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

fn run_dispatch<C: Charm>() -> ExitCode {
    crate::logging::init();
    let ctx = match JujuContext::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("charm: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tools: Rc<dyn HookTools> = Rc::new(ProcessTools);
    let _sink = LogSink::install(tools.clone(), ctx.debug);
    let meta = match Metadata::from_dir(&ctx.charm_dir) {
        Ok(m) => m,
        Err(e) => {
            log::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let ok = run_traced::<C>(ctx, meta, tools);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One traced dispatch over `tools`; spans go to the buffer under the charm dir. Returns
/// whether the hook succeeded.
pub fn run_traced<C: Charm>(ctx: JujuContext, meta: Metadata, tools: Rc<dyn HookTools>) -> bool {
    if tracing_disabled() {
        let pebble = Rc::new(SocketConnector);
        return dispatch::<C>(ctx, meta, tools, pebble, &mut |_| {})
            .result
            .is_ok();
    }
    let charm_dir = ctx.charm_dir.clone();
    let resource = crate::tracing::setup::resource(&ctx, &meta.name, short_type_name::<C>());
    let mut trace = DispatchTrace::start(&charm_dir, resource);
    let traced: Rc<dyn HookTools> = Rc::new(TracedTools::new(tools));
    let pebble = Rc::new(TracedConnector::new(SocketConnector));
    let report = dispatch::<C>(ctx, meta, traced, pebble, &mut |observed| {
        trace.checkpoint(observed)
    });
    // On stop and remove the unit is going away (on Kubernetes, its pod and the buffer with it):
    // the buffer is sent now, within a short deadline, instead of by a background exporter.
    let going_away = matches!(
        report.event.as_ref().map(|e| e.kind()),
        Some(crate::event::EventKind::Stop | crate::event::EventKind::Remove)
    );
    if going_away {
        trace.finish_and_flush(report.observed);
    } else {
        trace.finish_and_export(report.observed);
    }
    report.result.is_ok()
}

/// The environment variable that turns tracing off for a unit (`off`, `0` or `false`): no
/// spans, no buffering, no export. For benchmarks and tiny disks.
pub const TRACING_ENV: &str = "CHARMKIT_TRACING";

fn tracing_disabled() -> bool {
    std::env::var(TRACING_ENV)
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "off" | "0" | "false"
            )
        })
        .unwrap_or(false)
}
