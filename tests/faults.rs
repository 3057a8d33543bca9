//! The fault campaign: the real charm binary, run through `./dispatch` as Juju runs it (stub hook
//! tools), against everything that goes wrong in the field — `kill -9` at random instants during
//! dispatch and during export, tiny, full and read-only filesystems, 8 dispatchers at once with an
//! exporter, hostile collectors on loopback, hostile relation data for both interfaces, hostile
//! `JUJU_*` environments, hostile disk state, and secrets planted where they could leak.
//!
//! Each class prints one `FIGURES | …` row — trials, lost, corrupt, duplicated, hooks failed by
//! tracing, hook time added, requests sent unverified — and asserts the invariants: nothing
//! lost, nothing corrupt, no hook failed, hung or panicked because of tracing, nothing sent
//! unverified, no secret out. Duplicates are counted, not failed: delivery is at least once (a
//! chunk whose POST an exporter was killed in may be sent again).
//!
//! The normal test run is the fast mode (a few seconds per class). `CHARMKIT_FAULTS=long` runs
//! the long mode (≥ 1,000 kills in each kill class, larger samples elsewhere); `bench/faults.sh`
//! runs it in release and writes the table README quotes. Wall-clock figures are printed, never
//! asserted, except generous hang guards. Filesystem classes need a tmpfs (root, as in CI); they
//! say `SKIPPED` otherwise — the buffer's unit tests cover the same with injected faults.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::{eventually, Unit, CHARM};
use charmkit::trace::buffer::{Buffer, Destination, PRIORITY_DEFAULT};
use charmkit_test_support::collector::{refused_port, Server};
use charmkit_test_support::pki::{server_config, Ca, Leaf};
use support::*;

/// Spawning a script another thread of this process has just written can fail with ETXTBSY (a
/// child forked meanwhile briefly holds the write descriptor): retry, as `execve` callers do.
trait SpawnRetrying {
    fn spawn_retrying(&mut self) -> std::process::Child;
}

impl SpawnRetrying for std::process::Command {
    fn spawn_retrying(&mut self) -> std::process::Child {
        for _ in 0..50 {
            match self.spawn() {
                Err(e) if e.raw_os_error() == Some(nix::libc::ETXTBSY) => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => return other.unwrap(),
            }
        }
        self.spawn().unwrap()
    }
}

/// A generous hang guard for one process (a dispatch, a CLI command).
const GUARD: Duration = Duration::from_secs(30);

fn set_destination(unit: &Unit, url: &str, ca: Option<String>) {
    Buffer::open(&unit.charm_dir)
        .unwrap()
        .set_destination(Some(&Destination {
            url: url.to_string(),
            ca,
        }))
        .unwrap();
}

/// What one guarded run of a process gave.
struct Ran {
    /// `None`: it hung, and was killed.
    status: Option<std::process::ExitStatus>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    took: Duration,
}

/// Runs `cmd` under the hang guard, collecting its output.
fn run_guarded(cmd: &mut std::process::Command) -> Ran {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_retrying();
    fn read_all(mut r: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    }
    let out = read_all(child.stdout.take().unwrap());
    let err = read_all(child.stderr.take().unwrap());
    let status = wait_or_kill(&mut child, GUARD);
    let took = start.elapsed();
    let (stdout, stderr) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    Ran {
        status,
        stdout,
        stderr,
        took,
    }
}

/// Runs one dispatch under the hang guard; returns its status (None: hung and killed), stderr,
/// and how long it took.
fn dispatch(
    unit: &Unit,
    hook: &str,
    env: &[(&str, &str)],
) -> (Option<std::process::ExitStatus>, Vec<u8>, Duration) {
    let ran = run_guarded(&mut unit.dispatch_command(hook, env));
    (ran.status, ran.stderr, ran.took)
}

/// `trace flush`, left alone to send everything; it must succeed.
fn flush_all(unit: &Unit, env: &[(&str, &str)]) {
    let out = crate::util::output_retrying(
        &mut unit.command(&["trace", "flush", "--timeout", "30"], env),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The typical length of one dispatch on this machine, to aim kills inside it.
fn typical_dispatch(unit: &Unit, hook: &str) -> Duration {
    let mut times: Vec<Duration> = (0..3).map(|_| dispatch(unit, hook, &[]).2).collect();
    median(&mut times)
}

const HOOKS: &[&str] = &[
    "hooks/install",
    "hooks/config-changed",
    "hooks/start",
    "hooks/update-status",
    "hooks/leader-elected",
];

mod collectors;
mod crowd;
mod disk_state;
mod disks;
mod environments;
mod kill;
mod relation_data;
mod secrets;
