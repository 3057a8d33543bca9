//! What the tests and benches of charmkit and its charms share. Dev-only: never a dependency of a
//! charm's binary.
//!
//! - [`unit`](mod@unit): a unit on disk (the charm directory as Juju lays it out) with stub hook tools
//!   that record every call, to run a charm's real binary through `./dispatch`;
//! - [`collector`]: OTLP/HTTP(S) collectors on 127.0.0.1, well-behaved and hostile;
//! - [`pki`]: a test CA and server certificates;
//! - [`tmpfs`]: a small filesystem of a test's own;
//! - [`charmcraft`]: charmcraft where it is installed;
//! - [`eventually`], [`output_retrying`], [`stdout`], [`stderr`], [`skip`].
//!
//! Depending on it turns on charmkit's `testing` feature (the harness) and its private
//! `_internals` feature (the trace core's buffer, exporter and OTLP encoding, for the tests that
//! drive them directly), in test builds only.

pub mod charmcraft;
pub mod collector;
pub mod pki;
pub mod tmpfs;
pub mod unit;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The charm package under test: its name, source directory and test build of its binary. Make
/// it with [`package!`] in the package's tests.
#[derive(Debug, Clone, Copy)]
pub struct Package {
    /// The package's (and its binary's) name, e.g. `rust-starter`.
    pub name: &'static str,
    /// Its source directory (`CARGO_MANIFEST_DIR`).
    pub manifest_dir: &'static str,
    /// The test build of its binary (`CARGO_BIN_EXE_<name>`).
    pub binary: &'static str,
}

impl Package {
    /// Its source directory.
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(self.manifest_dir)
    }

    /// Its unit 0: `<name>/0`.
    pub fn unit_name(&self) -> String {
        format!("{}/0", self.name)
    }
}

/// The package whose tests (or benches) expand it, as a [`Package`]: its binary must be named as
/// the package.
#[macro_export]
macro_rules! package {
    () => {
        $crate::Package {
            name: env!("CARGO_PKG_NAME"),
            manifest_dir: env!("CARGO_MANIFEST_DIR"),
            binary: env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))),
        }
    };
}

/// Polls `cond` every 20 ms for up to `limit`; returns whether it became true.
pub fn eventually(limit: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Runs `cmd`, retrying while exec fails with ETXTBSY: `dispatch` was just copied into place, and
/// a process another test thread forks meanwhile may briefly hold its write descriptor.
pub fn output_retrying(cmd: &mut Command) -> Output {
    for _ in 0..50 {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other.unwrap(),
        }
    }
    cmd.output().unwrap()
}

/// A process's stdout, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A process's stderr, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every regular file under `dir`, recursively (symlinks not followed, special files left out).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(files_under(&e.path())),
            Ok(t) if t.is_file() => out.push(e.path()),
            _ => {}
        }
    }
    out
}

/// Says, on the test's output, that a test did not run and why.
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}
