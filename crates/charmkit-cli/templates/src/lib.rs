//! The {{name}} charm. Start reading at [`charm`]; its binary is `src/main.rs`.
#![forbid(unsafe_code)]

pub mod charm;

pub use charm::{{type}};
