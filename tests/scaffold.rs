//! `charmkit new`, end to end: a new charm of each kind, depending on this checkout's charmkit by
//! path, builds without a warning, passes its tests on the first `cargo test`, its `./dispatch
//! simulate` runs a deploy, and `charmkit pack` packs it. (Its layout is checked with the
//! reference charm's, in `tests/layout.rs`.)
//!
//! Offline and cheap: the project gets this workspace's `Cargo.lock` (the same versions; cargo
//! drops what the charm does not use) and builds into this workspace's target directory, where
//! its dependencies are already compiled — only charmkit (when changed) and the charm are.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::util::{repo_root, stderr, stdout, NewCharm};
use charmkit_cli::pack::cargo_command;

/// This workspace's target directory (the parent of cargo's directory for test files).
fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `cargo test --offline` in the new project, into this workspace's target directory.
fn cargo_test(new: &NewCharm) -> Output {
    cargo_command()
        .args(["test", "--offline"])
        .current_dir(&new.dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// How many tests passed in all, and whether any failed, from `cargo test`'s output.
fn results(stdout: &str) -> (usize, bool) {
    let mut passed = 0;
    let mut failed = false;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("test result: ") {
            failed |= !rest.starts_with("ok.") || !rest.contains(" 0 failed;");
            let n = rest.trim_start_matches("ok. ").split(' ').next().unwrap();
            passed += n.parse::<usize>().unwrap_or(0);
        }
    }
    (passed, failed)
}

/// Builds and tests the new charm, runs `./dispatch simulate` with the test build as a test
/// unit's `bin/<name>`, and packs that build; what simulate printed.
fn builds_tests_simulates_and_packs(new: &NewCharm) -> String {
    fs::copy(repo_root().join("Cargo.lock"), new.dir.join("Cargo.lock")).unwrap();
    let out = cargo_test(new);
    let (out_text, err_text) = (stdout(&out), stderr(&out));
    assert!(
        out.status.success(),
        "cargo test in the new charm {} failed:\n{err_text}\n{out_text}",
        new.name
    );
    assert!(
        !err_text.contains(&format!("warning: `{}`", new.name)),
        "the new charm {} builds with warnings:\n{err_text}",
        new.name
    );
    // Every test of its tests/charm.rs ran and passed.
    let written = fs::read_to_string(new.dir.join("tests/charm.rs")).unwrap();
    let declared = written.matches("#[test]").count();
    assert!(declared >= 5, "{}: {declared} tests", new.name);
    let (passed, failed) = results(&out_text);
    assert!(
        passed >= declared && !failed,
        "{}: {passed} passed of {declared}:\n{out_text}",
        new.name
    );

    let bin = new.dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::copy(
        target_dir().join("debug").join(new.name),
        bin.join(new.name),
    )
    .unwrap();
    let out = Command::new(new.dir.join("dispatch"))
        .arg("simulate")
        .current_dir(&new.dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: ./dispatch simulate failed: {}",
        new.name,
        stderr(&out)
    );
    let shown = stdout(&out);
    // And it packs (the test build, as `charmkit pack --binary`; tests/pack.rs packs a release
    // build of rust-starter).
    let charms = new.dir.join("charms");
    let built = bin.join(new.name);
    let args = [
        "pack".as_ref(),
        "--project".as_ref(),
        new.dir.as_os_str(),
        "--binary".as_ref(),
        built.as_os_str(),
        "--output".as_ref(),
        charms.as_os_str(),
    ];
    charmkit_cli::cli::run(args).unwrap_or_else(|e| panic!("{}: charmkit pack: {e}", new.name));
    let mut packed: Vec<String> = fs::read_dir(&charms)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    packed.sort_unstable();
    let want: Vec<String> = if new.k8s {
        vec![format!("{}_amd64.charm", new.name)]
    } else {
        ["22.04", "24.04"]
            .iter()
            .map(|v| format!("{}_ubuntu@{v}-amd64.charm", new.name))
            .collect()
    };
    assert_eq!(packed, want);
    for event in [
        "install",
        "leader-elected",
        "config-changed",
        "start",
        "update-status",
    ] {
        assert!(
            shown.contains(&format!("── hooks/{event} ──")),
            "{}: no {event} in\n{shown}",
            new.name
        );
    }
    shown
}

#[test]
fn a_new_machine_charm_builds_passes_its_tests_simulates_and_packs() {
    let new = NewCharm::write("my-machine-charm", false);
    let shown = builds_tests_simulates_and_packs(&new);
    assert!(
        shown.contains("unit active \"hello from my-machine-charm/0\""),
        "{shown}"
    );
    assert!(shown.contains("start: MyMachineCharm"), "{shown}");
}

#[test]
fn a_new_k8s_charm_builds_passes_its_tests_simulates_and_packs() {
    let new = NewCharm::write("my-k8s-charm", true);
    let shown = builds_tests_simulates_and_packs(&new);
    // The fake Pebble of its `workload` container got the layer, and runs nginx.
    assert!(
        shown.contains("unit active \"serving on :8080\""),
        "{shown}"
    );
    assert!(shown.contains("services [nginx active]"), "{shown}");
    assert!(shown.contains("config_changed: MyK8sCharm"), "{shown}");
}
