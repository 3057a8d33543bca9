//! What the tests share beyond `charmkit-test-support`: the charm under test (this package) and
//! its checkout.

use std::path::PathBuf;

pub use charmkit_test_support::charmcraft::{
    charmcraft, charmcraft_command, charmcraft_or_skip, charmcraft_python,
};
pub use charmkit_test_support::tmpfs::Tmpfs;
pub use charmkit_test_support::unit::{tools, Call, Unit};
pub use charmkit_test_support::{eventually, output_retrying, skip, stderr, stdout, Package};

/// The charm under test: this package, and the test build of its binary.
pub const CHARM: Package = charmkit_test_support::package!();

/// The charm's source directory (this checkout's root).
pub fn repo_root() -> PathBuf {
    CHARM.dir()
}
