//! The minimum Rust version is what the lock really needs: `rust-version` (Cargo.toml) equals
//! the highest `rust-version` among the crates the workspace builds, and the version README gives
//! for the tests equals the highest among the crates the tests build too. A dependency update that
//! raises either fails here, naming the crate.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::{cargo, repo_root};

type Version = (u32, u32, u32);

fn parse_version(v: &str) -> Version {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap());
    (
        parts.next().unwrap(),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

fn show((major, minor, patch): Version) -> String {
    if patch == 0 {
        format!("{major}.{minor}")
    } else {
        format!("{major}.{minor}.{patch}")
    }
}

/// The (name, version) of every crate the workspace compiles for this machine along `edges`
/// (`cargo tree` resolves features and platforms as the build does). `charmkit-test-support` is a
/// member only the tests depend on: its dependencies count where dev-dependencies do.
fn graph(edges: &str) -> BTreeSet<(String, String)> {
    let mut args = vec!["tree", "--locked", "--workspace"];
    if !edges.contains("dev") {
        args.extend(["--exclude", "charmkit-test-support"]);
    }
    args.extend(["--prefix", "none", "-e", edges, "-f", "{p}"]);
    cargo(&args)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next()?;
            let version = words.next()?.strip_prefix('v')?;
            Some((name.to_string(), version.to_string()))
        })
        .collect()
}

/// Every locked dependency's `rust-version` (not the workspace's own packages), and the
/// workspace's.
fn rust_versions() -> (BTreeMap<(String, String), Version>, Version) {
    let meta: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--locked"])).unwrap();
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let mut all = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        if members.contains(&p["id"].as_str().unwrap()) {
            continue;
        }
        if let Some(rv) = p["rust_version"].as_str() {
            let key = (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            );
            all.insert(key, parse_version(rv));
        }
    }
    let ours: BTreeSet<Version> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| members.contains(&p["id"].as_str().unwrap()))
        .map(|p| {
            parse_version(
                p["rust_version"]
                    .as_str()
                    .expect("every member sets rust-version"),
            )
        })
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "the members disagree on rust-version: {ours:?}"
    );
    (all, *ours.iter().next().unwrap())
}

/// The highest `rust-version` in `graph`, and the crates that set it.
fn needs(
    graph: &BTreeSet<(String, String)>,
    versions: &BTreeMap<(String, String), Version>,
) -> (Version, Vec<String>) {
    let top = graph
        .iter()
        .filter_map(|k| versions.get(k))
        .max()
        .copied()
        .unwrap();
    let who = graph
        .iter()
        .filter(|k| versions.get(*k) == Some(&top))
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    (top, who)
}

#[test]
fn rust_version_is_what_the_lock_needs() {
    let (versions, declared) = rust_versions();
    let build = graph("normal,build");
    let tests = graph("normal,build,dev");
    assert!(
        build.iter().any(|(n, _)| n == "ring"),
        "the build graph: {build:?}"
    );
    assert!(tests.len() > build.len());

    let (build_needs, build_who) = needs(&build, &versions);
    assert_eq!(
        build_needs,
        declared,
        "Cargo.toml says rust-version = {}, the locked build dependencies need {} ({}): \
         set rust-version and README's Needs line to it",
        show(declared),
        show(build_needs),
        build_who.join(", ")
    );

    let (test_needs, test_who) = needs(&tests, &versions);
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let needs_line = readme
        .lines()
        .find(|l| l.starts_with("Needs:"))
        .expect("README has a Needs: line");
    let claim = format!(
        "Rust {} or newer to build, {} for the tests",
        show(build_needs),
        show(test_needs)
    );
    assert!(
        needs_line.contains(&claim),
        "README's Needs line should say {claim:?} (the tests need {} for {}): {needs_line}",
        show(test_needs),
        test_who.join(", ")
    );
}

#[test]
fn readme_says_why_each_runtime_dependency_is_there() {
    let meta: serde_json::Value = serde_json::from_str(&cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--no-deps",
    ]))
    .unwrap();
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Dependencies\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a Dependencies section");
    let table: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    let mut missing = Vec::new();
    for p in meta["packages"].as_array().unwrap() {
        if !matches!(p["name"].as_str(), Some("rust-starter" | "charmkit")) {
            continue;
        }
        for d in p["dependencies"].as_array().unwrap() {
            let name = d["name"].as_str().unwrap();
            let workspace = d["path"].is_string();
            if d["kind"].is_null() && !workspace {
                let cell = format!("`{name}`");
                if !table
                    .iter()
                    .any(|row| row.split('|').nth(1).is_some_and(|c| c.contains(&cell)))
                {
                    missing.push(name.to_string());
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "README's Dependencies table does not say why these are there: {missing:?}"
    );
}
