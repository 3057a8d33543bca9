//! Tracing built in: a root span per dispatch, a span per observer and per hook-tool call, a
//! crash-safe priority buffer on disk, OTLP/JSON export.

mod dispatch;

pub mod buffer;
pub mod destination;
pub mod drain;
pub mod export;
pub mod otlp;
pub mod pebble;
pub mod propagate;
pub mod setup;
pub mod status;
pub mod tools;

#[cfg(test)]
mod tests;

pub use dispatch::DispatchTrace;
pub use drain::flush;
pub use status::status;

/// A variable lookup over fixed pairs, for tests of the environment rules.
#[cfg(test)]
pub(crate) fn fake_env(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> {
    move |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}
