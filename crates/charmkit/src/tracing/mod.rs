//! Tracing for a charm: the [`Tracing`] charm library, which finds where to send the trace data
//! (`tracing` v2 and `certificate_transfer` v1 relations, or the OpenTelemetry environment
//! variables), and what a charm reads of the trace core.
//!
//! The core itself — a root span per dispatch, a span per observer, hook-tool call and Pebble
//! call, the crash-safe priority buffer, OTLP/JSON export — is wired into every dispatch by the
//! runtime; a charm does not call it. `Tracing` sits above the framework and uses it like any
//! charm library: it observes relation events and stores the destination for the exporter.

mod certificate_transfer;
mod not_ready;
mod receivers;
mod requirer;

pub use crate::trace::buffer::ExportOutcome;
pub use crate::trace::flush;
pub use crate::trace::status::{status, TraceStatus};
pub use requirer::{CaSource, Tracing};

/// Traced Pebble clients: a span per call, `TRACEPARENT` given to execs.
pub mod pebble {
    pub use crate::trace::pebble::client;
}

/// Trace context for processes the charm spawns: `TRACEPARENT` in their environment.
pub mod propagate {
    pub use crate::trace::propagate::{command, traceparent, with_trace_context, TRACEPARENT};
}
