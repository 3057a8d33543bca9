//! The `log` crate, routed to `juju-log`.
//!
//! [`init`] installs one global logger (idempotent). Where its records go is set per thread by
//! [`LogSink`] for the span of a dispatch: the dispatch's hook tools (so `juju-log` runs, with the
//! matching level), and also stderr when `JUJU_DEBUG` is set. With no sink — outside a hook —
//! records go to stderr. Because the sink is per thread, the test harness can run dispatches in
//! parallel tests and each captures its own logs.
//!
//! Levels: ERROR → `ERROR`, WARN → `WARNING`, INFO → `INFO`, DEBUG and TRACE → `DEBUG` (the
//! `From<log::Level>` conversion of [`LogLevel`]).
//! Records from our HTTP/TLS dependencies (`ureq`, `rustls`, `opentelemetry*`) are passed on only
//! at WARN and above: each `juju-log` is a process, and they are chatty.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::hookcmd::LogLevel;
use crate::hookcmd::{Hook, HookTools};

thread_local! {
    static SINK: RefCell<Option<(Rc<dyn HookTools>, bool)>> = const { RefCell::new(None) };
    static IN_LOG: Cell<bool> = const { Cell::new(false) };
}

struct JujuLogger;

static LOGGER: JujuLogger = JujuLogger;

/// Installs the global logger (once; later calls do nothing).
pub fn init() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(LevelFilter::Debug);
    }
}

/// Routes this thread's log records to `tools`' `juju-log` until dropped (and to stderr too if
/// `also_stderr`).
pub struct LogSink {
    previous: Option<(Rc<dyn HookTools>, bool)>,
}

impl LogSink {
    /// Starts routing this thread's records to `tools`.
    pub fn install(tools: Rc<dyn HookTools>, also_stderr: bool) -> Self {
        init();
        let previous = SINK.with(|s| s.borrow_mut().replace((tools, also_stderr)));
        LogSink { previous }
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        let prev = self.previous.take();
        SINK.with(|s| *s.borrow_mut() = prev);
    }
}

fn is_dependency(target: &str) -> bool {
    ["ureq", "rustls", "opentelemetry", "webpki"]
        .iter()
        .any(|p| target.starts_with(p))
}

impl Log for JujuLogger {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= Level::Debug && (m.level() <= Level::Warn || !is_dependency(m.target()))
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // A failing juju-log must not log about itself forever.
        if IN_LOG.with(|f| f.replace(true)) {
            return;
        }
        let msg = record.args().to_string();
        let sink = SINK.with(|s| s.borrow().clone());
        let to_stderr = match &sink {
            None => true,
            Some((tools, also_stderr)) => {
                if let Err(e) = Hook::new(&**tools).juju_log(LogLevel::from(record.level()), &msg) {
                    let _ = writeln!(std::io::stderr(), "juju-log failed ({e}); message was:");
                    true
                } else {
                    *also_stderr
                }
            }
        };
        if to_stderr {
            let _ = writeln!(std::io::stderr(), "{:<5} {msg}", record.level());
        }
        IN_LOG.with(|f| f.set(false));
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hookcmd::mock::Mock;

    /// The `(level, message)` of every `juju-log` call the mock saw.
    fn logs(m: &Mock) -> Vec<(LogLevel, String)> {
        m.calls()
            .iter()
            .map(|c| match c.args.as_slice() {
                [flag, level, dashes, message] if flag == "--log-level" && dashes == "--" => {
                    (level.parse().unwrap(), message.clone())
                }
                other => panic!("not a juju-log call: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn levels_map_to_juju_levels() {
        assert_eq!(LogLevel::from(Level::Error), LogLevel::Error);
        assert_eq!(LogLevel::from(Level::Warn), LogLevel::Warning);
        assert_eq!(LogLevel::from(Level::Info), LogLevel::Info);
        assert_eq!(LogLevel::from(Level::Debug), LogLevel::Debug);
        assert_eq!(LogLevel::from(Level::Trace), LogLevel::Debug);
    }

    #[test]
    fn records_go_to_this_threads_juju_log_and_chatty_dependencies_are_filtered() {
        let fake = Rc::new(Mock::default());
        {
            let _sink = LogSink::install(fake.clone(), false);
            log::error!("bad {}", 1);
            log::warn!("careful");
            log::info!("fyi");
            log::debug!("detail");
            log::debug!(target: "rustls::client", "handshake noise");
            log::warn!(target: "ureq::unit", "a real problem");
        }
        // After the sink is dropped, nothing more reaches this fake.
        log::info!("after");
        let logs = logs(&fake);
        assert_eq!(
            logs,
            [
                (LogLevel::Error, "bad 1".to_string()),
                (LogLevel::Warning, "careful".to_string()),
                (LogLevel::Info, "fyi".to_string()),
                (LogLevel::Debug, "detail".to_string()),
                (LogLevel::Warning, "a real problem".to_string()),
            ]
        );
        let call = &fake.calls()[0];
        assert_eq!(call.args, ["--log-level", "ERROR", "--", "bad 1"]);
    }

    #[test]
    fn a_failing_juju_log_does_not_recurse_or_panic() {
        let fake = Rc::new(Mock::failing(1, "ERROR no context"));
        let _sink = LogSink::install(fake.clone(), false);
        log::error!("still fine");
        assert_eq!(fake.calls().len(), 1, "one attempt, no recursion");
    }
}
