//! What the tests share beyond `charmkit-test-support`: the charm under test (this package).

pub use charmkit_test_support::unit::{Call, Unit};
pub use charmkit_test_support::{stderr, stdout, Package};

/// The charm under test: this package, and the test build of its binary.
pub const CHARM: Package = charmkit_test_support::package!();
