//! `charmkit`: writes and packs Rust charms (see the library's docs).
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    charmkit_cli::cli::main()
}
