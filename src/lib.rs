//! The reference charm for charmkit. Start reading at [`charm`].
#![forbid(unsafe_code)]

pub mod charm;

pub use charm::RustStarter;

/// README's "Writing a charm" and "Testing a charm" examples, compiled (and the test run) as
/// doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
