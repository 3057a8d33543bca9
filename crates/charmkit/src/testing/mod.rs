//! The state-in/state-out test harness: run a charm's dispatch against an in-memory Juju.

pub mod fake;
