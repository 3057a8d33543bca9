//! charmkit is publishable, and only charmkit: `cargo package` would upload its library and
//! README and nothing else, its manifest has what crates.io shows, and it depends on nothing
//! crates.io does not have. `.ci/run` also runs `cargo package -p charmkit`, which builds the
//! packaged crate on its own.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::util::{cargo, repo_root};

/// The workspace's packages, from `cargo metadata`.
fn packages() -> Vec<serde_json::Value> {
    let meta = cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]);
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    meta["packages"].as_array().unwrap().clone()
}

#[test]
fn only_charmkit_is_published() {
    for p in packages() {
        let name = p["name"].as_str().unwrap();
        // `publish`: null when it may go to any registry, [] when it may go to none.
        let publishable = p["publish"].is_null();
        assert_eq!(
            publishable,
            name == "charmkit",
            "{name}: publish = {}",
            p["publish"]
        );
    }
}

#[test]
fn charmkits_manifest_has_what_crates_io_shows_and_no_path_only_dependency() {
    let charmkit = packages()
        .into_iter()
        .find(|p| p["name"] == "charmkit")
        .unwrap();
    for field in [
        "description",
        "license",
        "repository",
        "documentation",
        "readme",
    ] {
        let value = charmkit[field].as_str().unwrap_or_default();
        assert!(!value.is_empty(), "charmkit has no {field}");
    }
    for field in ["keywords", "categories"] {
        let n = charmkit[field].as_array().map_or(0, Vec::len);
        assert!((1..=5).contains(&n), "charmkit has {n} {field}");
    }
    for dep in charmkit["dependencies"].as_array().unwrap() {
        let name = dep["name"].as_str().unwrap();
        // A dev-dependency by path alone is dropped from the package; anything else must come
        // from crates.io.
        if dep["kind"] == "dev" && dep["source"].is_null() {
            continue;
        }
        let source = dep["source"].as_str().unwrap_or("a path");
        assert!(
            source.starts_with("registry+https://github.com/rust-lang/crates.io-index"),
            "charmkit depends on {name} from {source}"
        );
    }
}

#[test]
fn the_package_holds_the_library_and_its_readme() {
    let listed: BTreeSet<String> = cargo(&[
        "package",
        "-p",
        "charmkit",
        "--list",
        "--allow-dirty",
        "--offline",
    ])
    .lines()
    .map(str::to_string)
    .collect();
    // Every source file of the library, and the README.
    let src = repo_root().join("crates/charmkit");
    let mut want: BTreeSet<String> = ["Cargo.toml", "Cargo.toml.orig", "Cargo.lock", "README.md"]
        .map(String::from)
        .into();
    rust_files(&src, &src.join("src"), &mut want);
    // cargo adds the commit it was packaged from, in a git checkout.
    let ours: BTreeSet<String> = listed
        .iter()
        .filter(|f| *f != ".cargo_vcs_info.json")
        .cloned()
        .collect();
    assert_eq!(ours, want);
    assert!(want.contains("src/lib.rs"));
}

fn rust_files(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel);
        }
    }
}
