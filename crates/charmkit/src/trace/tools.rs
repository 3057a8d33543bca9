//! The hook-tool span decorator: wraps any [`HookTools`] and makes one span per call.
//!
//! The span is named after the tool (`relation-get`, `status-set`…), of kind CLIENT, with
//! attributes `call` (the tool) and `args` (its arguments as a list). Whatever the binding marked
//! secret is never recorded: redacted arguments and `KEY=VALUE` values show as `<redacted>`; a
//! secret stdin (relation-set data, state-set) is recorded only as its top-level keys; a secret
//! output is never looked at. `juju-log` gets no span (as in ops): it would double every log.
//! A failing call ends its span with an `exception` event and ERROR status.

use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};
use opentelemetry::{KeyValue, StringValue, Value};

use crate::error::Result;
use crate::hookcmd::{HookTools, ToolCall};

/// A [`HookTools`] that traces every call it passes on to `T`.
#[derive(Debug, Clone)]
pub struct TracedTools<T> {
    inner: T,
}

impl<T> TracedTools<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        TracedTools { inner }
    }
}

fn list(items: impl IntoIterator<Item = String>) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(StringValue::from)
            .collect::<Vec<_>>()
            .into(),
    )
}

/// The span attributes for `call`, with secrets removed.
pub fn call_attributes(call: &ToolCall) -> Vec<KeyValue> {
    let mut attrs = vec![
        KeyValue::new("call", call.tool.clone()),
        KeyValue::new("args", list(call.safe_args())),
    ];
    if let Some(stdin) = &call.stdin {
        if call.redact.stdin {
            let keys: Vec<String> = serde_json::from_slice::<serde_json::Map<_, _>>(stdin)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            attrs.push(KeyValue::new("keys", list(keys)));
        } else {
            attrs.push(KeyValue::new(
                "stdin",
                String::from_utf8_lossy(stdin).into_owned(),
            ));
        }
    }
    attrs
}

impl<T: HookTools> HookTools for TracedTools<T> {
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        if call.tool == "juju-log" {
            return self.inner.run(call);
        }
        let tracer = crate::span::tracer();
        let mut span = tracer
            .span_builder(call.tool.clone())
            .with_kind(SpanKind::Client)
            .with_attributes(call_attributes(call))
            .start(&tracer);
        let out = self.inner.run(call);
        if let Err(e) = &out {
            span.add_event(
                "exception",
                crate::span::exception("HookToolError", e.to_string()),
            );
            span.set_status(Status::error(e.to_string()));
        }
        span.end();
        out
    }
}
