//! The fake Juju is not in production builds: a charm that does not enable charmkit's `testing`
//! feature — or enables it only for its tests, in `[dev-dependencies]` — compiles no harness
//! and links none of the harness's crates (`tempfile`, `tiny_http`).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{repo_root, stderr};

/// The crates only the harness needs.
const HARNESS_ONLY: &[&str] = &["tempfile", "tiny_http"];

/// `cargo tree -e normal,features` of a one-file charm whose manifest has `deps` (a TOML
/// fragment) beside `[package]`: what its release binary is built from.
fn normal_tree(deps: &str) -> String {
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
        "fn main() -> std::process::ExitCode { std::process::ExitCode::SUCCESS }\n",
    )
    .unwrap();
    // The workspace's lock, so nothing is resolved afresh (and nothing is downloaded).
    fs::copy(
        repo_root().join("Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    tree(dir.path())
}

fn tree(dir: &Path) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
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
