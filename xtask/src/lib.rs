//! The project's own commands, run as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! `cargo xtask pack` builds the charm's release binary and writes the `.charm` files that
//! `charmcraft pack` writes for the same `charmcraft.yaml` and `metadata.yaml` — without
//! charmcraft, LXD or a matching host. See [`pack`].
#![forbid(unsafe_code)]

pub mod glibc;
pub mod pack;
pub mod project;
pub mod pyyaml;
