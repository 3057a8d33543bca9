//! Tracing built in: a root span per dispatch, a span per observer and per hook-tool call, a
//! crash-safe priority buffer on disk, OTLP/JSON export.

pub mod buffer;
pub mod export;
pub mod otlp;
pub mod relation;
