//! Trace context for what the charm starts: `TRACEPARENT` (W3C trace context) for a process,
//! so a workload that speaks OpenTelemetry joins the charm's trace.
//!
//! Pebble exec gets it from the Pebble span decorator ([`super::pebble`]); a process the charm
//! spawns itself gets it from [`command`] or [`with_trace_context`]. Pebble *services* are left
//! alone: a long-running service outlives the span, so the charm sets it in a layer's
//! `environment` only if it wants that ([`traceparent`] gives the value).

use std::process::Command;

use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::Context;

/// The environment variable W3C trace context uses for processes.
pub const TRACEPARENT: &str = "TRACEPARENT";

/// `00-<trace id>-<span id>-<flags>` for `span`, or `None` if it is not a valid (recorded)
/// span context.
pub fn traceparent_of(span: &SpanContext) -> Option<String> {
    if !span.is_valid() {
        return None;
    }
    Some(format!(
        "00-{}-{}-{:02x}",
        span.trace_id(),
        span.span_id(),
        span.trace_flags().to_u8()
    ))
}

/// The `TRACEPARENT` of the current span (the running observer's, or a charm's own), if any.
pub fn traceparent() -> Option<String> {
    traceparent_of(Context::current().span().span_context())
}

/// Sets `TRACEPARENT` on `cmd` for the current span (left unset outside any span).
pub fn with_trace_context(cmd: &mut Command) -> &mut Command {
    if let Some(tp) = traceparent() {
        cmd.env(TRACEPARENT, tp);
    }
    cmd
}

/// A [`Command`] for `program` carrying the current span's `TRACEPARENT`.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    with_trace_context(&mut cmd);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::setup::SpanCollector;
    use opentelemetry::trace::{Span as _, Tracer as _};

    #[test]
    fn a_spawned_process_sees_the_span_that_started_it() {
        let collector = SpanCollector::start();
        let tracer = crate::span::tracer();
        let span = tracer.start("parent");
        let expected = traceparent_of(span.span_context()).unwrap();
        let cx = Context::current_with_span(span);
        let out = {
            let _guard = cx.clone().attach();
            command("sh")
                .args(["-c", "printf %s \"$TRACEPARENT\""])
                .output()
                .unwrap()
        };
        cx.span().end();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
        assert!(
            expected.starts_with("00-") && expected.ends_with("-01"),
            "{expected}"
        );
        assert_eq!(collector.take().len(), 1);
        // Outside any span, nothing is set.
        let out = command("sh")
            .args(["-c", "printf %s \"${TRACEPARENT-unset}\""])
            .env_remove(TRACEPARENT)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "unset");
    }
}
