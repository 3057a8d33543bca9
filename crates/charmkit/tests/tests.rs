//! charmkit's integration tests, one binary (as ripgrep's): a module per area. What they share
//! (collectors, the test CA) is in `charmkit-test-support`, which also turns on the `testing` and
//! `_internals` features they need.

mod buffer_concurrency;
mod buffer_crash;
mod buffer_enospc;
mod buffer_hostile;
mod export_e2e;
mod export_http;
mod export_tls;
mod pebble_socket;
mod tracing_relations;
