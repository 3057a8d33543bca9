//! charmkit: a Rust operator framework for Juju charms.
#![forbid(unsafe_code)]

pub mod error;
pub mod hookcmd;
pub mod meta;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tracing;

pub use error::{Error, Result};
