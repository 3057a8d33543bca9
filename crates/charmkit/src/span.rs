//! The span vocabulary every layer that makes spans shares: the instrumentation scope, the root
//! span's name and the `exception` event.
//!
//! The framework makes its spans (one per observer) with the OpenTelemetry API alone; the trace
//! core (`trace`) installs the SDK that collects them, buffers and exports them. Both
//! take their names from here, so the framework never depends on the trace core.

use opentelemetry::global::BoxedTracer;
use opentelemetry::KeyValue;

/// The instrumentation scope of the framework's spans.
pub(crate) const SCOPE: &str = "charmkit";

/// The root span's name. It is ops's (`ops.main`) on purpose: Tempo and Grafana queries written
/// for ops charms keep finding our dispatches.
pub(crate) const ROOT_SPAN: &str = "ops.main";

/// The tracer of [`SCOPE`].
pub(crate) fn tracer() -> BoxedTracer {
    opentelemetry::global::tracer(SCOPE)
}

/// The attributes of an `exception` span event (OpenTelemetry's semantic conventions).
pub(crate) fn exception(kind: impl Into<String>, message: impl Into<String>) -> Vec<KeyValue> {
    vec![
        KeyValue::new("exception.type", kind.into()),
        KeyValue::new("exception.message", message.into()),
    ]
}
