//! What the tests and benches of charmkit and its charms share. Dev-only: never a dependency of
//! a charm's binary.
//!
//! Depending on it turns on charmkit's `testing` feature, so every test build has the harness.
