//! Tracing built in: a root span per dispatch, a span per observer and per hook-tool call, a
//! crash-safe priority buffer on disk, OTLP/JSON export.

pub mod buffer;
pub mod drain;
pub mod export;
pub mod otlp;
pub mod relation;
pub mod requirer;
pub mod setup;
pub mod status;
pub mod tools;

/// The instrumentation scope of the framework's spans.
pub const SCOPE: &str = "charmkit";

/// The root span's name. It is ops's (`ops.main`) on purpose: Tempo and Grafana queries written
/// for ops charms keep finding our dispatches.
pub const ROOT_SPAN: &str = "ops.main";

use std::path::Path;

use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use buffer::{Buffer, PRIORITY_DEFAULT, PRIORITY_OBSERVED};

/// Stores one dispatch's spans in the buffer under `charm_dir`, at priority 50 if the dispatch
/// was observed, else 10. Never fails: a problem (full disk, unwritable directory) is logged once
/// at WARNING and the data of this dispatch is dropped.
pub fn store_dispatch(charm_dir: &Path, spans: Vec<SpanData>, resource: &Resource, observed: bool) {
    if spans.is_empty() {
        return;
    }
    let priority = if observed {
        PRIORITY_OBSERVED
    } else {
        PRIORITY_DEFAULT
    };
    let data = otlp::encode(spans, resource);
    let stored = Buffer::open(charm_dir).and_then(|b| b.append(&data, priority));
    if let Err(e) = stored {
        log::warn!(
            "tracing: could not buffer this dispatch's trace data under {}: {e}",
            charm_dir.join(buffer::DIR_NAME).display()
        );
    }
}
pub use drain::flush;
pub use requirer::{CaSource, Tracing};
pub use status::{status, TraceStatus};
