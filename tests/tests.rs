//! The reference charm's integration tests, one binary (as ripgrep's): a module per area, and
//! `util` for what they share beyond `charmkit-test-support`.

mod util;

mod charm;
mod docs;
mod e2e_suite;
mod export_hook;
mod faults;
mod features;
mod integration;
mod layout;
mod pack;
mod package;
mod scaffold;
mod small_disk;
mod toolchain;
