//! The trace core, built into every dispatch: a root span per dispatch, a span per observer,
//! hook-tool call and Pebble call (`dispatch`, [`tools`], [`pebble`]), a crash-safe priority
//! buffer on disk ([`buffer`]), OTLP/JSON ([`otlp`]) and its export ([`export`], [`drain`]).
//!
//! The runtime wires it in; the framework only makes spans with the OpenTelemetry API. It is the
//! crate's own: charms reach what they need of it through `charmkit::tracing`, which also holds
//! the `Tracing` charm library that finds the destination. charmkit's integration tests and
//! benches see it through the private `_internals` feature.

mod dispatch;

pub mod buffer;
pub mod destination;
pub mod drain;
pub mod export;
mod omit;
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
