//! The end-to-end suite (tests/e2e, Python + jubilant) is kept working here without Juju: it
//! compiles, and where pytest and jubilant are installed it is collected and every test is
//! skipped, saying why. It never runs against a Juju from `cargo test`: `juju` is kept off its
//! PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{repo_root, stderr, stdout};

fn e2e_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("tests/e2e"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    files
}

fn python_with(python: &Path, modules: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A Python that has pytest and jubilant: `$CHARMKIT_E2E_PYTHON`, charmcraft's (`.ci/run`
/// installs both beside it), or `python3`.
fn e2e_python() -> Option<PathBuf> {
    let candidates = std::env::var_os("CHARMKIT_E2E_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(crate::util::charmcraft().and_then(|c| crate::util::charmcraft_python(&c)))
        .chain([PathBuf::from("python3")]);
    candidates
        .into_iter()
        .find(|p| python_with(p, "pytest, jubilant, yaml"))
}

#[test]
fn the_e2e_suite_compiles() {
    let files = e2e_files();
    assert!(files.len() >= 3, "{files:?}");
    if !python_with(Path::new("python3"), "sys") {
        return crate::util::skip("the_e2e_suite_compiles", "no python3");
    }
    // Parsed, not byte-compiled: nothing is written into the source tree.
    let out = Command::new("python3")
        .args([
            "-c",
            "import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)",
        ])
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_e2e_suite_skips_cleanly_without_juju() {
    let Some(python) = e2e_python() else {
        return crate::util::skip(
            "the_e2e_suite_skips_cleanly_without_juju",
            "no Python with pytest and jubilant (.ci/run installs them; or set CHARMKIT_E2E_PYTHON)",
        );
    };
    // PATH without any juju on it.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).filter(|d| !d.join("juju").exists());
    let path = std::env::join_paths(dirs).unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "tests/e2e",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(repo_root())
        .env("PATH", path)
        .env("HOME", home.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("CHARMKIT_E2E_K8S_STARTER")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("juju is not on PATH"), "{text}");
    assert!(
        !text.contains("passed") && !text.contains("failed"),
        "{text}"
    );
    assert!(text.contains(" skipped"), "{text}");
}
