//! One dispatch: what [`crate::main`] runs when Juju runs `dispatch` (`JUJU_DISPATCH_PATH` set).
//!
//! Context → metadata → tracing → [`crate::framework::dispatch`] → spans to the buffer → export
//! handed off. The exit status is 0 unless a handler failed (then Juju retries the hook).
//! Tracing never fails a hook.

use std::process::ExitCode;
use std::rc::Rc;

use crate::context::JujuContext;
use crate::framework::short_type_name;
use crate::framework::{dispatch, Charm};
use crate::hookcmd::{HookTools, ProcessTools};
use crate::logging::LogSink;
use crate::meta::Metadata;
use crate::model::SocketConnector;
use crate::trace::pebble::TracedConnector;
use crate::trace::tools::TracedTools;
use crate::trace::DispatchTrace;

/// One dispatch under Juju: the context from the environment, the hook tools as processes.
pub(crate) fn run_dispatch<C: Charm>() -> ExitCode {
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
    let resource = crate::trace::setup::resource(&ctx, &meta.name, short_type_name::<C>());
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
