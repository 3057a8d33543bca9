//! The reference charm for charmkit. Start reading at [`charm`].
#![forbid(unsafe_code)]

pub mod charm;

pub use charm::RustStarter;
