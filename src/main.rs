//! The charm's binary: hands control to charmkit.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    charmkit::main::<rust_starter::RustStarter>()
}
