//! The Kubernetes starter's integration tests, one binary: the charm state in and state out
//! (`charm`), and its real binary through `./dispatch` against a fake Pebble on a unix socket
//! (`integration`).

mod util;

mod charm;
mod integration;
