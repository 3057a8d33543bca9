//! The fake Juju is not in production builds: a charm that does not enable charmkit's `testing`
//! feature — or enables it only for its tests, in `[dev-dependencies]` — compiles no harness
//! and links none of the harness's crates (`tempfile`, `tiny_http`); its binary has no fake-Juju
//! code, and its `simulate` says why it is not there.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{repo_root, stderr, stdout, CHARM};

/// The crates only the harness needs.
const HARNESS_ONLY: &[&str] = &["tempfile", "tiny_http"];

/// A one-file charm (a `Charm` observing nothing, and `main`) whose manifest has `deps` (a TOML
/// fragment, `CHARMKIT` standing for charmkit's path) beside `[package]`, with the workspace's
/// lock, so that nothing is resolved afresh (or downloaded).
fn plain_charm(deps: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let charmkit = repo_root().join("crates/charmkit");
    let manifest = format!(
        "[package]\nname = \"plain-charm\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         publish = false\n\n{}\n[workspace]\n",
        deps.replace("CHARMKIT", &charmkit.display().to_string())
    );
    fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    fs::create_dir(dir.path().join("src")).unwrap();
    fs::write(
        dir.path().join("src/main.rs"),
        "struct Plain;\n\
         impl charmkit::Charm for Plain {\n    \
             fn new(_: &mut charmkit::Framework<Self>) -> charmkit::Result<Self> {\n        \
                 Ok(Plain)\n    \
             }\n\
         }\n\
         fn main() -> std::process::ExitCode {\n    charmkit::main::<Plain>()\n}\n",
    )
    .unwrap();
    fs::copy(
        repo_root().join("Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    dir
}

/// `cargo tree -e normal,features` of [`plain_charm`]: what its release binary is built from.
fn normal_tree(deps: &str) -> String {
    tree(plain_charm(deps).path())
}

/// cargo, as `charmkit pack` runs it: without this test's per-package `CARGO_*` variables, which
/// would rebuild ring and what is above it in the shared target directory.
fn cargo() -> Command {
    charmkit_cli::pack::cargo_command()
}

fn tree(dir: &Path) -> String {
    let out = cargo()
        .args([
            "tree",
            "--offline",
            "-e",
            "normal,features",
            "--prefix",
            "none",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The crates and charmkit features of a tree, one per line.
fn harness_parts(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter(|l| {
            l.starts_with("charmkit feature \"testing\"")
                || HARNESS_ONLY
                    .iter()
                    .any(|c| l.starts_with(&format!("{c} v")))
        })
        .collect()
}

#[test]
fn a_charm_without_the_testing_feature_has_no_fake_juju_and_no_tempfile() {
    let plain = normal_tree("[dependencies]\ncharmkit = { path = \"CHARMKIT\" }\n");
    assert!(plain.contains("charmkit v0.1.0"), "{plain}");
    assert_eq!(harness_parts(&plain), Vec::<&str>::new(), "{plain}");

    // As README advises a charm that wants the harness for its tests only.
    let dev_only = normal_tree(
        "[dependencies]\ncharmkit = { path = \"CHARMKIT\" }\n\n[dev-dependencies]\n\
         charmkit = { path = \"CHARMKIT\", features = [\"testing\"] }\n",
    );
    assert_eq!(harness_parts(&dev_only), Vec::<&str>::new(), "{dev_only}");

    // The check can fail: with the feature in [dependencies] (as the reference charms have it,
    // for `./dispatch simulate`) the harness and its crates are in the build.
    let with = normal_tree(
        "[dependencies]\ncharmkit = { path = \"CHARMKIT\", features = [\"testing\"] }\n",
    );
    let parts = harness_parts(&with);
    assert!(
        parts
            .iter()
            .any(|l| l.starts_with("charmkit feature \"testing\"")),
        "{with}"
    );
    for c in HARNESS_ONLY {
        assert!(
            parts.iter().any(|l| l.starts_with(&format!("{c} v"))),
            "{c} missing from {with}"
        );
    }
}

#[test]
fn a_charm_without_the_testing_feature_has_no_fake_juju_code_and_no_simulate() {
    let charm = plain_charm("[dependencies]\ncharmkit = { path = \"CHARMKIT\" }\n");
    // Into the workspace's target directory: the dependencies are built already.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let out = cargo()
        .args(["build", "--offline", "--quiet", "--target-dir"])
        .arg(target)
        .current_dir(charm.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo build: {}", stderr(&out));
    let binary = target.join("debug/plain-charm");
    let has_fake_juju = |path: &Path| {
        let bytes = fs::read(path).unwrap();
        bytes.windows(b"FakeJuju".len()).any(|w| w == b"FakeJuju")
    };
    assert!(
        !has_fake_juju(&binary),
        "fake-Juju symbols in {}",
        binary.display()
    );
    // The check can fail: the reference charm, built with `testing`, has them.
    assert!(has_fake_juju(Path::new(CHARM.binary)));

    let out = Command::new(&binary).arg("simulate").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("simulate is not in this build")
            && stderr(&out).contains("`testing` feature"),
        "{}",
        stderr(&out)
    );
    let out = Command::new(&binary).arg("help").output().unwrap();
    assert!(out.status.success());
    assert!(!stdout(&out).contains("simulate"), "{}", stdout(&out));
    assert!(stdout(&out).contains("trace status"), "{}", stdout(&out));
}
