//! What the tests share beyond `charmkit-test-support`: the charm under test (this package) and
//! its checkout.

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// `cargo ARGS` in the repository, which must succeed; its standard output.
pub fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// A new charm project, written by `charmkit new` (its command line, in-process) into a temporary
/// directory, depending on this checkout's `crates/charmkit` by path; removed when dropped.
pub struct NewCharm {
    /// The charm's name.
    pub name: &'static str,
    /// Whether it is a Kubernetes charm.
    pub k8s: bool,
    /// The project directory.
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

/// The reference charm a new charm of this kind is made from.
pub fn reference_of(k8s: bool) -> PathBuf {
    if k8s {
        repo_root().join("examples/k8s-starter")
    } else {
        repo_root()
    }
}

impl NewCharm {
    /// `charmkit new NAME [--k8s] --path <this checkout>/crates/charmkit --dir <tmp>/NAME`.
    pub fn write(name: &'static str, k8s: bool) -> NewCharm {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(name);
        let charmkit = repo_root().join("crates/charmkit");
        let mut args: Vec<&Path> = vec!["new".as_ref(), name.as_ref()];
        args.extend([Path::new("--path"), &charmkit, Path::new("--dir"), &dir]);
        if k8s {
            args.push("--k8s".as_ref());
        }
        charmkit_cli::cli::run(args).unwrap_or_else(|e| panic!("charmkit new {name}: {e}"));
        NewCharm {
            name,
            k8s,
            dir,
            _tmp: tmp,
        }
    }

    /// A machine charm and a Kubernetes charm.
    pub fn both() -> [NewCharm; 2] {
        [
            NewCharm::write("my-machine-charm", false),
            NewCharm::write("my-k8s-charm", true),
        ]
    }
}
