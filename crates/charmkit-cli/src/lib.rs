//! The `charmkit` command: `charmkit new` writes a new charm project, `charmkit pack` builds a
//! charm project and writes its `.charm` files. In this repository `cargo xtask pack` is
//! `charmkit pack` (an alias in `.cargo/config.toml`).
//!
//! * [`scaffold`] — `charmkit new NAME [--k8s]`: a project laid out as the reference charms are,
//!   named throughout, whose tests pass on the first `cargo test`;
//! * [`pack`] — `charmkit pack`: the `.charm` files that `charmcraft pack` writes for the same
//!   `charmcraft.yaml` and `metadata.yaml`, without charmcraft, LXD or a matching host;
//! * [`project`], [`pyyaml`], [`glibc`] — what packing reads and writes;
//! * [`cli`] — the command line over them.
#![forbid(unsafe_code)]

pub mod cli;
pub mod glibc;
pub mod pack;
pub mod project;
pub mod pyyaml;
pub mod scaffold;
