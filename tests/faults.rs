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

mod common;
#[path = "../crates/charmkit/tests/common/mod.rs"]
mod net;
#[path = "faults/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use charmkit::tracing::buffer::{Buffer, Destination, PRIORITY_DEFAULT};
use common::{eventually, Unit};
use net::Server;
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
    let out =
        common::output_retrying(&mut unit.command(&["trace", "flush", "--timeout", "30"], env));
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

// ----- kill -9 ------------------------------------------------------------------------------

#[test]
fn kill_9_at_random_instants_during_dispatch() {
    let mut rng = Rng::new(1);
    let unit = Unit::new();
    let typical = typical_dispatch(&unit, "hooks/install");
    let n = trials(25, 1000);
    let calls = unit.state.join("calls");
    let mut offset = std::fs::metadata(&calls).map_or(0, |m| m.len() as usize);
    // The trace ids of the dispatches that completed (exit 0): each must be in the buffer.
    let mut must_be_stored: Vec<String> = Vec::new();
    let mut killed = 0;
    let note_completed = |offset: &mut usize, ok: bool, must: &mut Vec<String>| {
        let (ids, end) = logged_trace_ids_since(&calls, *offset);
        *offset = end;
        if ok {
            must.extend(ids);
        }
    };
    for i in 0..n {
        let hook = *rng.pick(HOOKS);
        // Its own process group, killed whole: the dispatch and the hook tool it may be
        // running (a tool left running would log for it after it is gone).
        let mut child = unit
            .dispatch_command(hook, &[])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn_retrying();
        std::thread::sleep(rng.instant(typical.mul_f64(1.2)));
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        match wait_or_kill(&mut child, GUARD) {
            Some(st) if st.success() => note_completed(&mut offset, true, &mut must_be_stored),
            Some(_) => {
                killed += 1;
                note_completed(&mut offset, false, &mut must_be_stored);
            }
            None => panic!("trial {i}: the dispatch hung"),
        }
        // After every kill the buffer opens and reads, and the next dispatch works.
        if i % 10 == 9 {
            let (st, err, _) = dispatch(&unit, "hooks/update-status", &[]);
            assert!(
                st.is_some_and(|s| s.success()),
                "after a kill: {}",
                String::from_utf8_lossy(&err)
            );
            note_completed(&mut offset, true, &mut must_be_stored);
        }
    }
    // Every dispatch that completed (exit 0) has its whole trace in the buffer, exactly once.
    let (roots, corrupt) = buffered_roots(&unit.charm_dir);
    let mut figures = Figures::new("kill -9 during dispatch");
    figures.trials = n;
    figures.corrupt = corrupt;
    figures.duplicated = roots.values().filter(|n| **n > 1).count();
    figures.lost = must_be_stored
        .iter()
        .filter(|id| !roots.contains_key(*id))
        .count();
    figures.note = format!(
        "{killed} killed mid-dispatch, {} completed; stored state and buffer read back after \
         each",
        must_be_stored.len()
    );
    // The stored state is whole too.
    let state = std::fs::read(unit.charm_dir.join(".charmkit-state.json")).unwrap_or_default();
    assert!(
        state.is_empty() || serde_json::from_slice::<serde_json::Value>(&state).is_ok(),
        "torn stored state"
    );
    figures.print().assert_clean();
}

#[test]
fn kill_9_at_random_instants_during_export() {
    let mut rng = Rng::new(2);
    let unit = Unit::new();
    // A collector slow enough that kills land inside POSTs too.
    let collector = Server::scripted(vec![], 200);
    set_destination(&unit, &collector.url("http"), None);
    let b = Buffer::open(&unit.charm_dir).unwrap();
    let n = trials(25, 1000);
    let mut appended: BTreeSet<String> = BTreeSet::new();
    let mut next = 0u64;
    let mut refill = |b: &Buffer, appended: &mut BTreeSet<String>| {
        for _ in 0..20 {
            let marker = format!("chunk-{next:06}");
            next += 1;
            b.append(
                format!(r#"{{"resourceSpans":[],"marker":"{marker}"}}"#).as_bytes(),
                PRIORITY_DEFAULT,
            )
            .unwrap();
            appended.insert(marker);
        }
    };
    refill(&b, &mut appended);
    // How long an exporter takes to drain 20 chunks here: kills are aimed inside that.
    let start = Instant::now();
    let out = unit
        .command(&["trace", "flush", "--timeout", "20"], &[])
        .output()
        .unwrap();
    assert!(out.status.success());
    let typical = start.elapsed();
    let mut hung = 0;
    for _ in 0..n {
        if b.stats().unwrap().chunks < 5 {
            refill(&b, &mut appended);
        }
        // The background exporter itself, as a dispatch starts it.
        let mut child = unit
            .command(
                &["__export"],
                &[("JUJU_CHARM_DIR", &unit.charm_dir.display().to_string())],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn_retrying();
        std::thread::sleep(rng.instant(typical));
        let _ = child.kill();
        if wait_or_kill(&mut child, GUARD).is_none() {
            hung += 1;
        }
    }
    // Then an exporter that is left alone sends the rest.
    flush_all(&unit, &[]);
    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    let mut corrupt = 0;
    for r in collector.received() {
        match serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v["marker"].as_str().map(str::to_owned))
        {
            Some(m) => *received.entry(m).or_insert(0) += 1,
            None => corrupt += 1,
        }
    }
    let (left, buffer_corrupt) = buffer_contents(&unit.charm_dir);
    let mut figures = Figures::new("kill -9 during export");
    figures.trials = n;
    figures.corrupt = corrupt + buffer_corrupt;
    figures.lost = appended
        .iter()
        .filter(|m| !received.contains_key(*m))
        .count()
        + left.len();
    // The first flush (before the kills) counts too.
    figures.duplicated = received.values().filter(|n| **n > 1).count();
    figures.failed = hung;
    figures.note = format!(
        "{} chunks through {} kills of the exporter; duplicates are chunks whose POST was cut by \
         the kill (at least once)",
        appended.len(),
        n
    );
    figures.print().assert_clean();
}

// ----- 8 dispatchers and an exporter ----------------------------------------------------------

/// 8 dispatcher threads, `per_thread` dispatches each, on one unit; returns the hook times, the
/// hooks that failed, and the trace ids the dispatches logged.
fn crowd(
    unit: &Arc<Unit>,
    per_thread: usize,
    env: &[(&'static str, String)],
) -> (Vec<Duration>, usize, Vec<String>) {
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let unit = unit.clone();
            let env = env.to_vec();
            std::thread::spawn(move || {
                // Each dispatcher logs to its own stub state, so log lines never interleave.
                let state = unit.root.path().join(format!("state-{t}"));
                std::fs::create_dir_all(state.join("resp")).unwrap();
                let calls = state.join("calls");
                let offset = std::fs::metadata(&calls).map_or(0, |m| m.len() as usize);
                let state_s = state.display().to_string();
                let mut env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                env.push(("STUB_STATE", &state_s));
                let mut times = Vec::new();
                let mut failed = 0;
                for i in 0..per_thread {
                    let hook = HOOKS[(t + i) % HOOKS.len()];
                    let (st, _, took) = dispatch(&unit, hook, &env);
                    times.push(took);
                    if !st.is_some_and(|s| s.success()) {
                        failed += 1;
                    }
                }
                (times, failed, logged_trace_ids_since(&calls, offset).0)
            })
        })
        .collect();
    let mut out = (Vec::new(), 0, Vec::new());
    for t in threads {
        let (times, failed, ids) = t.join().unwrap();
        out.0.extend(times);
        out.1 += failed;
        out.2.extend(ids);
    }
    out
}

#[test]
fn eight_concurrent_dispatchers_with_an_exporter() {
    let unit = Arc::new(Unit::new());
    let collector = Server::scripted(vec![], 200);
    let url = collector.url("http");
    let per_thread = trials(5, 50);
    // The same crowd with tracing off, for the hook time tracing adds under contention.
    let (mut off, _, _) = crowd(&unit, per_thread, &[("CHARMKIT_TRACING", "off".into())]);
    let otel = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.clone())];
    let (mut on, failed, logged) = crowd(&unit, per_thread, &otel);
    // Let the exporters finish, then send what is left.
    let _ = eventually(Duration::from_secs(20), || {
        Buffer::open(&unit.charm_dir)
            .unwrap()
            .stats()
            .unwrap()
            .chunks
            == 0
    });
    flush_all(&unit, &[(otel[0].0, &url)]);
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    let mut corrupt = 0;
    for r in collector.received() {
        assert_eq!(r.answered, 200);
        match root_trace_ids(&r.body) {
            Some(ids) => ids
                .into_iter()
                .for_each(|id| *delivered.entry(id).or_insert(0) += 1),
            None => corrupt += 1,
        }
    }
    let mut figures = Figures::new("8 concurrent dispatchers + exporter");
    figures.trials = 8 * per_thread;
    figures.failed = failed;
    figures.corrupt = corrupt + buffer_contents(&unit.charm_dir).1;
    figures.lost = logged
        .iter()
        .filter(|id| !delivered.contains_key(*id))
        .count();
    figures.duplicated = delivered.values().filter(|n| **n > 1).count();
    let (on, off) = (median(&mut on), median(&mut off));
    figures.hook_added = Some(on.saturating_sub(off));
    figures.note = format!(
        "{} traces delivered; median hook {:.1} ms with tracing, {:.1} ms without (8 \
         dispatchers on 2 cores)",
        delivered.len(),
        on.as_secs_f64() * 1e3,
        off.as_secs_f64() * 1e3
    );
    assert_eq!(
        logged.len(),
        8 * per_thread,
        "every dispatch logged its trace id"
    );
    figures.print().assert_clean();
}

// ----- filesystems ----------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Disk {
    Tiny,
    Full,
    ReadOnly,
}

/// `n` dispatches on a fresh tmpfs in the state `disk`, tracing on or off; returns the hooks
/// that failed (or hung, or panicked), their times, and the corrupt chunks found after.
fn on_disk(disk: Disk, n: usize, tracing: bool) -> Option<(usize, Vec<Duration>, usize)> {
    let size = match disk {
        Disk::Tiny => "256k",
        Disk::Full | Disk::ReadOnly => "1m",
    };
    let fs = common::Tmpfs::mount(size)?;
    let unit = Unit::with_charm_dir(Some(fs.path().join("charm")));
    let env: &[(&str, &str)] = if tracing {
        &[]
    } else {
        &[("CHARMKIT_TRACING", "off")]
    };
    let _ = dispatch(&unit, "hooks/install", env);
    match disk {
        Disk::Tiny => {}
        Disk::Full => {
            // Something else fills the disk to the last block.
            let mut f = std::fs::File::create(fs.path().join("ballast")).unwrap();
            let block = vec![0u8; 4096];
            while std::io::Write::write_all(&mut f, &block).is_ok() {}
        }
        Disk::ReadOnly => fs.remount(true),
    }
    let mut failed = 0;
    let mut times = Vec::new();
    for i in 0..n {
        let (st, err, took) = dispatch(&unit, HOOKS[i % HOOKS.len()], env);
        times.push(took);
        if !st.is_some_and(|s| s.success()) || panicked(st, &err) {
            failed += 1;
        }
    }
    let corrupt = buffer_contents(&unit.charm_dir).1;
    if matches!(disk, Disk::ReadOnly) {
        fs.remount(false);
    }
    Some((failed, times, corrupt))
}

#[test]
fn tiny_full_and_read_only_filesystems() {
    let n = trials(10, 200);
    for (class, disk) in [
        ("tiny disk (256 KiB tmpfs)", Disk::Tiny),
        ("full disk (tmpfs, 0 bytes free)", Disk::Full),
        ("read-only filesystem", Disk::ReadOnly),
    ] {
        let mut figures = Figures::new(class);
        let (Some(on), Some(off)) = (on_disk(disk, n, true), on_disk(disk, n, false)) else {
            figures.note = "SKIPPED: cannot mount a tmpfs here (not root); the buffer's unit \
                            tests inject the same faults"
                .into();
            figures.print();
            continue;
        };
        let (failed_on, mut times_on, corrupt) = on;
        let (failed_off, mut times_off, _) = off;
        figures.trials = n;
        figures.corrupt = corrupt;
        // Hooks failing with tracing that do not without it: failed because of tracing.
        figures.failed = failed_on.saturating_sub(failed_off);
        figures.hook_added = Some(median(&mut times_on).saturating_sub(median(&mut times_off)));
        figures.note = format!(
            "{failed_on} hook(s) failed with tracing, {failed_off} without it (those cannot \
             save the charm's own stored state)"
        );
        figures.print().assert_clean();
    }
}

// ----- hostile collectors ---------------------------------------------------------------------

/// How a hostile collector is expected to end an export.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Every chunk delivered.
    Delivered,
    /// Kept for later, the failure recorded and reported once.
    Kept,
    /// Rejected (4xx) and dropped, by design, the reason recorded and reported once.
    Dropped,
}

struct Hostile {
    name: &'static str,
    server: Server,
    url: String,
    ca: Option<String>,
    expect: Expect,
    /// A second server that must never be reached (a redirect's target).
    elsewhere: Option<Server>,
    /// Requests that reached this server are requests sent without verifying it.
    must_not_receive: bool,
}

fn hostile_collectors_list() -> Vec<Hostile> {
    use net::{server_config, Ca};
    use rustls::version::{TLS12, TLS13};
    let root = Ca::root("campaign root");
    let ca = Some(root.pem());
    let tls = |leaf: net::Leaf| {
        Server::https(
            200,
            server_config(vec![leaf.cert.der().clone()], &leaf.key, &[&TLS13, &TLS12]),
        )
    };
    let mk = |name, server: Server, scheme: &str, ca: Option<String>, expect| {
        let url = server.url(scheme);
        Hostile {
            name,
            server,
            url,
            ca,
            expect,
            elsewhere: None,
            must_not_receive: false,
        }
    };
    let huge = {
        let body = vec![b'x'; 2 << 20];
        let mut reply = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        reply.extend(body);
        reply
    };
    let target = Server::http(200);
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
        target.url("http")
    );
    let other_root = Ca::root("somebody else");
    let mut list = vec![
        mk(
            "answers 200 (control)",
            Server::http(200),
            "http",
            None,
            Expect::Delivered,
        ),
        mk(
            "never answers",
            Server::silent(),
            "http",
            None,
            Expect::Kept,
        ),
        mk(
            "trickles its answer",
            Server::trickle(),
            "http",
            None,
            Expect::Kept,
        ),
        mk(
            "resets the connection",
            Server::reset(),
            "http",
            None,
            Expect::Kept,
        ),
        mk("HTTP 400", Server::http(400), "http", None, Expect::Dropped),
        mk("HTTP 500", Server::http(500), "http", None, Expect::Kept),
        mk("HTTP 429", Server::http(429), "http", None, Expect::Kept),
        mk(
            "4xx with a 2 MiB body",
            Server::raw(huge),
            "http",
            None,
            Expect::Dropped,
        ),
        mk(
            "Tempo 2.0 (refuses unknown fields)",
            Server::strict(&["flags", "entityRefs"]),
            "http",
            None,
            Expect::Delivered,
        ),
        mk(
            "nothing listening",
            Server::silent(),
            "http",
            None,
            Expect::Kept,
        ),
        mk(
            "TLS, valid certificate (control)",
            tls(root.leaf(&["127.0.0.1"], false)),
            "https",
            ca.clone(),
            Expect::Delivered,
        ),
        mk(
            "TLS, certificate for another host",
            tls(root.leaf(&["other.example"], false)),
            "https",
            ca.clone(),
            Expect::Kept,
        ),
        mk(
            "TLS, expired certificate",
            tls(root.leaf(&["127.0.0.1"], true)),
            "https",
            ca.clone(),
            Expect::Kept,
        ),
        mk(
            "TLS, certificate from another CA",
            tls(other_root.leaf(&["127.0.0.1"], false)),
            "https",
            ca.clone(),
            Expect::Kept,
        ),
        mk(
            "plain HTTP on an https URL",
            Server::http(200),
            "https",
            ca.clone(),
            Expect::Kept,
        ),
    ];
    list[9].url = format!("http://127.0.0.1:{}/v1/traces", net::refused_port());
    for h in &mut list[11..] {
        h.must_not_receive = true;
    }
    let mut r = mk(
        "redirects elsewhere (307)",
        Server::raw(redirect.into_bytes()),
        "http",
        None,
        Expect::Kept,
    );
    r.elsewhere = Some(target);
    list.push(r);
    list
}

/// One hostile collector against its own unit: `k` unobserved dispatches (they never reconcile,
/// so the destination set here stays), then the export's record and the next dispatch's report.
fn against(h: &Hostile, k: usize) -> Figures {
    let unit = Unit::new();
    // A short per-request timeout keeps the campaign quick; what it shows holds for any.
    let env = [("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1000")];
    let (st, _, _) = dispatch(&unit, "hooks/install", &env);
    assert!(st.is_some_and(|s| s.success()));
    // The same hook on a twin unit with no destination, alternated with this one's: the hook
    // time the collector adds, under the same load.
    let twin = Unit::new();
    let _ = dispatch(&twin, "hooks/install", &env);
    let mut baseline = Vec::new();
    // What is buffered so far (install and the baseline) goes too: all of it must be accounted.
    set_destination(&unit, &h.url, h.ca.clone());
    let calls = unit.state.join("calls");
    let mut figures = Figures::new(h.name);
    let mut times = Vec::new();
    let mut warnings = Vec::new();
    for i in 0..k {
        baseline.push(dispatch(&twin, "hooks/update-status", &env).2);
        let before = std::fs::metadata(&calls).map_or(0, |m| m.len() as usize);
        let (st, err, took) = dispatch(&unit, "hooks/update-status", &env);
        times.push(took);
        if !st.is_some_and(|s| s.success()) || panicked(st, &err) {
            figures.failed += 1;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&calls).unwrap()[before..]).into_owned();
        warnings.extend(
            text.lines()
                .filter(|l| l.contains("last export"))
                .map(str::to_owned),
        );
        // The exporter records how it ended, well before its 30 s deadline.
        let recorded = Instant::now();
        let done = eventually(Duration::from_secs(15), || {
            let b = Buffer::open(&unit.charm_dir).unwrap();
            match (h.expect, b.last_export()) {
                (Expect::Delivered, Ok(Some(o))) => o.remaining == 0,
                (_, Ok(Some(o))) => o.error.is_some(),
                _ => false,
            }
        });
        assert!(
            done,
            "{}: no export outcome recorded after {:?}",
            h.name,
            recorded.elapsed()
        );
        if i == 0 {
            figures.note = format!(
                "outcome recorded {:.1} s after the hook",
                recorded.elapsed().as_secs_f64()
            );
        }
    }
    // One more dispatch reports the last failure, if any, once.
    let before = std::fs::metadata(&calls).map_or(0, |m| m.len() as usize);
    let _ = dispatch(&unit, "hooks/update-status", &env);
    let text = String::from_utf8_lossy(&std::fs::read(&calls).unwrap()[before..]).into_owned();
    warnings.extend(
        text.lines()
            .filter(|l| l.contains("last export"))
            .map(str::to_owned),
    );
    let logged = logged_trace_ids_since(&calls, 0).0;
    let (buffered, corrupt) = buffered_roots(&unit.charm_dir);
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    for r in h.server.received() {
        if !(200..300).contains(&r.answered) {
            continue;
        }
        match root_trace_ids(&r.body) {
            Some(ids) => ids
                .into_iter()
                .for_each(|id| *delivered.entry(id).or_insert(0) += 1),
            None => figures.corrupt += 1,
        }
    }
    figures.trials = k;
    figures.corrupt += corrupt;
    figures.duplicated = delivered.values().filter(|n| **n > 1).count();
    figures.lost = match h.expect {
        // Rejected chunks are dropped by design (a 4xx is permanent): not lost.
        Expect::Dropped => 0,
        _ => logged
            .iter()
            .filter(|id| !buffered.contains_key(*id) && !delivered.contains_key(*id))
            .count(),
    };
    let received =
        h.server.received().len() + h.elsewhere.as_ref().map_or(0, |e| e.received().len());
    figures.unverified = Some(if h.must_not_receive || h.elsewhere.is_some() {
        received
    } else {
        0
    });
    figures.hook_added = Some(median(&mut times).saturating_sub(median(&mut baseline)));
    let expected_warnings = if h.expect == Expect::Delivered { 0 } else { 1 };
    let distinct: BTreeSet<&String> = warnings.iter().collect();
    assert!(
        distinct.len() >= expected_warnings && warnings.len() == distinct.len(),
        "{}: warnings {warnings:?}",
        h.name
    );
    if h.expect == Expect::Delivered {
        assert!(warnings.is_empty(), "{}: {warnings:?}", h.name);
        assert!(!delivered.is_empty(), "{}: nothing delivered", h.name);
    }
    if let Some(w) = warnings.first() {
        // The warning as logged, without its URL and counts: what the operator reads.
        let what = w.split("/v1/traces: ").nth(1).unwrap_or(w);
        let what = what.split(" (sent ").next().unwrap_or(what);
        let short: String = what.chars().take(90).collect();
        let cut = if short.len() < what.len() { "…" } else { "" };
        figures.note += &format!("; reported once: \"{short}{cut}\"");
    }
    figures
}

#[test]
fn hostile_collectors_on_loopback() {
    let k = trials(2, 10);
    let list = Arc::new(hostile_collectors_list());
    // In parallel in the fast mode; one at a time in the long mode, for clean hook times.
    let rows: Vec<Figures> = if long() {
        list.iter().map(|h| against(h, k)).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = list.iter().map(|h| s.spawn(|| against(h, k))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let mut summary = Figures::new("hostile collectors");
    let mut added = Vec::new();
    for row in rows {
        summary.trials += row.trials;
        summary.lost += row.lost;
        summary.corrupt += row.corrupt;
        summary.duplicated += row.duplicated;
        summary.failed += row.failed;
        *summary.unverified.get_or_insert(0) += row.unverified.unwrap_or(0);
        added.extend(row.hook_added);
        row.print().assert_clean();
    }
    summary.hook_added = Some(median(&mut added));
    summary.note = format!(
        "{} collectors (one row each above); hook time added: the median over them, each paired \
         with a twin unit with no destination; every failure recorded by the exporter and \
         reported once",
        list.len()
    );
    summary.print().assert_clean();
}

// ----- hostile relation data --------------------------------------------------------------------

const MARK: &str = "S3CRET-MARK";

/// Stub answers making `unit` related to a Tempo (`charm-tracing:5`) whose application databag is
/// `tracing`, and, if `ca` is given, to a CA provider (`receive-ca-cert:8`) with that application
/// databag and one unit databag.
fn provider(
    unit: &Unit,
    tracing: &serde_json::Value,
    ca: Option<(&serde_json::Value, &serde_json::Value)>,
) {
    unit.respond(
        "relation-ids charm-tracing --format=json",
        r#"["charm-tracing:5"]"#,
    );
    unit.respond(
        "relation-list --format=json -r charm-tracing:5",
        r#"["tempo/0"]"#,
    );
    unit.respond(
        "relation-list --format=json --app -r charm-tracing:5",
        r#""tempo""#,
    );
    unit.respond(
        "relation-get --format=json -r charm-tracing:5 --app - tempo",
        &tracing.to_string(),
    );
    match ca {
        None => unit.respond("relation-ids receive-ca-cert --format=json", "[]"),
        Some((app, one_unit)) => {
            let ssc = "self-signed-certificates";
            unit.respond(
                "relation-ids receive-ca-cert --format=json",
                r#"["receive-ca-cert:8"]"#,
            );
            unit.respond(
                "relation-list --format=json -r receive-ca-cert:8",
                &format!(r#"["{ssc}/0"]"#),
            );
            unit.respond(
                "relation-list --format=json --app -r receive-ca-cert:8",
                &format!(r#""{ssc}""#),
            );
            unit.respond(
                &format!("relation-get --format=json -r receive-ca-cert:8 --app - {ssc}"),
                &app.to_string(),
            );
            unit.respond(
                &format!("relation-get --format=json -r receive-ca-cert:8 - {ssc}/0"),
                &one_unit.to_string(),
            );
        }
    }
}

fn receivers(url: &str) -> String {
    serde_json::json!([
        {"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo:4317"},
        {"protocol": {"name": "otlp_http", "type": "http"}, "url": url}
    ])
    .to_string()
}

/// Hostile values of the provider's `receivers` (tracing v2): handwritten ones, then `extra`
/// generated from the seed.
fn hostile_receivers(rng: &mut Rng, extra: usize) -> Vec<Option<String>> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut v: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("null".into()),
        Some("[]".into()),
        Some("{}".into()),
        Some("1".into()),
        Some(r#""[]""#.into()),
        Some("[1]".into()),
        Some("[{}]".into()),
        Some("[null]".into()),
        Some(r#"[{"protocol": "otlp_http", "url": "http://t:4318"}]"#.into()),
        Some(r#"[{"protocol": {"name": "otlp_http"}, "url": "http://t:4318"}]"#.into()),
        Some(r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": 4318}]"#.into()),
        Some(r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "t:4317"}]"#.into()),
        Some(receivers("tempo:4318")),
        Some(receivers("ftp://tempo:4318")),
        Some(receivers("http://")),
        Some(receivers("http://:4318")),
        Some(receivers("http://tempo:0")),
        Some(receivers("http://tempo:99999")),
        Some(receivers("http://tempo:abc")),
        Some(receivers("http://[::1:4318")),
        Some(receivers("http://[zz::1]:4318")),
        Some(receivers(&format!("http://tracer:{MARK}@tempo:4318"))),
        Some(receivers(&format!("http://tempo:4318/?key={MARK}"))),
        Some(receivers(&format!("http://tempo:4318/#{MARK}"))),
        Some(receivers("http://tem po:4318")),
        Some(receivers("http://tempo:4318\n/x")),
        Some(receivers("http://tempo\u{0}:4318")),
        Some(receivers("http://témpo:4318")),
        Some(receivers(&format!("http://{}", "a".repeat(1 << 20)))),
        Some(receivers("HTTP://TEMPO:4318")),
        Some(receivers("http://tempo:4318////")),
        Some(receivers("https://tempo:4318")),
        Some(r#"[{"protocol": {"name": "otlp_http", "type": "grpc"}, "url": "http://t:4318"}]"#.into()),
        Some(format!(
            "[{}]",
            vec![r#"{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://t:4318"}"#; 10_000].join(",")
        )),
        Some(deep),
        Some("[".repeat(1 << 20)),
        Some(r#"["\ud800"]"#.into()),
        Some("\u{feff}[]".into()),
        Some(r#"[{"protocol": {"name": "otlp_http", "type": "http", "name": "x"}, "url": "http://t:4318"}]"#.into()),
        Some(serde_json::to_string(&receivers("http://t:4318")).unwrap()),
        Some("not json at all".into()),
        Some("[{\"protocol\": {\"name\": \"otlp_http\", \"type\": \"http\"}, \"url\": \"http://t:4318\"".into()),
    ];
    let atoms = [
        "null",
        "true",
        "0",
        "-1",
        "1e999",
        "\"\"",
        "\"otlp_http\"",
        "\"http://t:4318\"",
        "[]",
        "{}",
        "\"\\u0000\"",
        "\"http://[::1]:4318\"",
        "\"http://u:p@h:1\"",
    ];
    for _ in 0..extra {
        let name = *rng.pick(&atoms);
        let kind = *rng.pick(&atoms);
        let url = *rng.pick(&atoms);
        let item = match rng.below(4) {
            0 => format!(r#"{{"protocol": {{"name": {name}, "type": {kind}}}, "url": {url}}}"#),
            1 => format!(r#"{{"protocol": {name}, "url": {url}}}"#),
            2 => {
                format!(r#"{{"protocol": {{"name": "otlp_http", "type": "http"}}, "url": {url}}}"#)
            }
            _ => (*rng.pick(&atoms)).to_string(),
        };
        let n = 1 + rng.below(3) as usize;
        v.push(Some(format!("[{}]", vec![item; n].join(","))));
    }
    v
}

/// Hostile CA provider data (certificate_transfer v1 app databag, v0 unit databag): handwritten
/// ones, then `extra` generated.
fn hostile_ca_data(rng: &mut Rng, extra: usize) -> Vec<(serde_json::Value, serde_json::Value)> {
    use serde_json::json;
    let root = net::Ca::root("campaign CA").pem();
    let key = format!("-----BEGIN PRIVATE KEY-----\n{MARK}\n-----END PRIVATE KEY-----");
    let garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----";
    let list = |items: &[&str]| serde_json::to_string(items).unwrap();
    let mut v = vec![
        (json!({}), json!({})),
        (json!({"certificates": ""}), json!({})),
        (json!({"certificates": "[]"}), json!({})),
        (json!({"certificates": "null"}), json!({})),
        (json!({"certificates": "{}"}), json!({})),
        (json!({"certificates": "[1]"}), json!({})),
        (json!({"certificates": "not json"}), json!({})),
        (json!({"certificates": list(&["hello"])}), json!({})),
        (json!({"certificates": list(&[garbage])}), json!({})),
        (json!({"certificates": list(&[&root, garbage])}), json!({})),
        (json!({"certificates": list(&[&key])}), json!({})),
        (
            json!({"certificates": list(&[&format!("{root}\n{key}")])}),
            json!({}),
        ),
        (json!({"certificates": list(&[&root, &key])}), json!({})),
        (
            json!({"certificates": list(&[&format!("{root}\n-----BEGIN CERTIFICATE-----\n{MARK}\n")])}),
            json!({}),
        ),
        (
            json!({"certificates": list(&[&format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----", "A".repeat(1 << 20))])}),
            json!({}),
        ),
        (
            json!({"certificates": list(&[&root]), "version": "0"}),
            json!({}),
        ),
        (
            json!({"certificates": list(&[&root]), "version": "banana"}),
            json!({}),
        ),
        (
            json!({"certificates": serde_json::to_string(&list(&[&root])).unwrap()}),
            json!({}),
        ),
        (json!({"certificates": "[".repeat(100_000)}), json!({})),
        (json!({}), json!({"ca": root.clone()})),
        (
            json!({}),
            json!({"ca": serde_json::to_string(&root).unwrap()}),
        ),
        (json!({}), json!({"ca": key.clone()})),
        (json!({}), json!({"ca": garbage})),
        (json!({}), json!({"chain": list(&[&root])})),
        (json!({}), json!({"chain": list(&[&key])})),
        (json!({}), json!({"chain": "not json", "ca": root.clone()})),
        (json!({}), json!({"chain": "[]"})),
        (json!({}), json!({"certificate": key.clone()})),
        (
            json!({"certificates": list(&[&root])}),
            json!({"ca": key.clone()}),
        ),
        (json!({"certificates": list(&[&root])}), json!({})),
    ];
    let parts = [
        root.as_str(),
        garbage,
        key.as_str(),
        "",
        "x",
        "-----BEGIN CERTIFICATE-----",
    ];
    for _ in 0..extra {
        let n = rng.below(4) as usize;
        let items: Vec<String> = (0..n)
            .map(|_| {
                let a = *rng.pick(&parts);
                let b = *rng.pick(&parts);
                format!("{a}{}{b}", if rng.below(2) == 0 { "\n" } else { "" })
            })
            .collect();
        let app = if rng.below(3) == 0 {
            json!({})
        } else {
            json!({"certificates": serde_json::to_string(&items).unwrap()})
        };
        let unit =
            json!({"ca": *rng.pick(&parts), "chain": serde_json::to_string(&items).unwrap()});
        v.push((app, unit));
    }
    v
}

/// One dispatch of `hook` with the provider data planted: the hook must succeed whatever the
/// data; the destination stored must be usable (or absent); log lines stay short and one line;
/// the marker never shows. Returns (failed, destination stored, bad destination, secret shown).
fn databag_trial(
    tracing: &serde_json::Value,
    ca: Option<(&serde_json::Value, &serde_json::Value)>,
    hook: &str,
    rel: (&str, &str, &str),
) -> (bool, bool, bool, bool) {
    let unit = Unit::new();
    provider(&unit, tracing, ca);
    let env = [
        ("JUJU_RELATION", rel.0),
        ("JUJU_RELATION_ID", rel.1),
        ("JUJU_REMOTE_APP", rel.2),
    ];
    let (st, err, _) = dispatch(&unit, hook, &env);
    let failed = !st.is_some_and(|s| s.success()) || panicked(st, &err);
    let dest = Buffer::open(&unit.charm_dir)
        .unwrap()
        .destination()
        .unwrap();
    let bad_dest = dest.as_ref().is_some_and(|d| {
        charmkit::tracing::destination::check_url(&d.url).is_err()
            || d.ca
                .as_deref()
                .is_some_and(|pem| charmkit::tracing::destination::check_ca(pem).is_err())
    });
    let calls =
        String::from_utf8_lossy(&std::fs::read(unit.state.join("calls")).unwrap()).into_owned();
    let logs: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with("juju-log\u{1f}"))
        .collect();
    let long_line = logs.iter().any(|l| l.len() > 1000);
    let shown = calls.contains(MARK) || String::from_utf8_lossy(&err).contains(MARK);
    (failed || long_line, dest.is_some(), bad_dest, shown)
}

#[test]
fn hostile_relation_data_for_both_interfaces() {
    let mut rng = Rng::new(6);
    let tracing_cases = hostile_receivers(&mut rng, trials(6, 200));
    let ca_cases = hostile_ca_data(&mut rng, trials(20, 200));
    let https = serde_json::json!({"receivers": receivers("https://tempo:4318")});
    std::thread::scope(|s| {
        let tracing = s.spawn(|| {
            let mut f = Figures::new("hostile tracing v2 databags");
            let (mut secrets, mut stored, mut bad_dest) = (0, 0, 0);
            for value in &tracing_cases {
                let bag = match value {
                    Some(v) => serde_json::json!({ "receivers": v }),
                    None => serde_json::json!({}),
                };
                let (failed, dest, bad, shown) = databag_trial(
                    &bag,
                    None,
                    "hooks/charm-tracing-relation-changed",
                    ("charm-tracing", "charm-tracing:5", "tempo"),
                );
                f.trials += 1;
                f.failed += usize::from(failed);
                stored += usize::from(dest);
                bad_dest += usize::from(bad);
                secrets += usize::from(shown);
            }
            f.note = format!(
                "{stored} gave a destination, {bad_dest} of them unusable; {secrets} credential(s) \
                 shown"
            );
            assert_eq!(secrets, 0, "a credential from the databag was shown");
            assert_eq!(bad_dest, 0, "an unusable destination was stored");
            assert!(
                stored > 0,
                "no case gave a destination: is the harness working?"
            );
            f
        });
        let ca = s.spawn(|| {
            let mut f = Figures::new("hostile certificate_transfer databags");
            let (mut secrets, mut stored, mut bad_dest) = (0, 0, 0);
            for (app, one_unit) in &ca_cases {
                let (failed, dest, bad, shown) = databag_trial(
                    &https,
                    Some((app, one_unit)),
                    "hooks/receive-ca-cert-relation-changed",
                    (
                        "receive-ca-cert",
                        "receive-ca-cert:8",
                        "self-signed-certificates",
                    ),
                );
                f.trials += 1;
                f.failed += usize::from(failed);
                stored += usize::from(dest);
                bad_dest += usize::from(bad);
                secrets += usize::from(shown);
            }
            f.note = format!(
                "{stored} gave a destination, {bad_dest} of them with an unusable CA; {secrets} \
                 private key(s) shown"
            );
            assert_eq!(secrets, 0, "key material from the databag was shown");
            assert_eq!(bad_dest, 0, "an unusable CA bundle was stored");
            assert!(
                stored > 0,
                "no case gave a destination: is the harness working?"
            );
            f
        });
        let tracing = tracing.join().unwrap();
        let ca = ca.join().unwrap();
        assert!(
            tracing.trials >= 50 && ca.trials >= 50,
            "{} {}",
            tracing.trials,
            ca.trials
        );
        tracing.print().assert_clean();
        ca.print().assert_clean();
    });
}

// ----- hostile JUJU_* environments --------------------------------------------------------------

/// Hostile values for the variables a dispatch reads.
fn hostile_env_values() -> Vec<(&'static str, std::ffi::OsString)> {
    use std::os::unix::ffi::OsStringExt;
    let s = |v: &str| std::ffi::OsString::from(v);
    let huge = "x".repeat(64 * 1024);
    let mut v = Vec::new();
    for var in [
        "JUJU_DISPATCH_PATH",
        "JUJU_UNIT_NAME",
        "JUJU_MODEL_NAME",
        "JUJU_MODEL_UUID",
        "JUJU_VERSION",
        "JUJU_RELATION",
        "JUJU_RELATION_ID",
        "JUJU_REMOTE_APP",
        "JUJU_REMOTE_UNIT",
        "JUJU_ACTION_NAME",
        "JUJU_SECRET_REVISION",
        "JUJU_STORAGE_ID",
        "JUJU_DEBUG",
    ] {
        v.push((var, s("")));
        v.push((var, s(&huge)));
        v.push((
            var,
            std::ffi::OsString::from_vec(vec![0xff, 0xfe, b'/', 0x80]),
        ));
        v.push((var, s("a\nb\u{1b}[31m")));
    }
    for (var, value) in [
        ("JUJU_DISPATCH_PATH", "../../../etc/passwd"),
        ("JUJU_DISPATCH_PATH", "hooks/"),
        ("JUJU_DISPATCH_PATH", "actions/"),
        ("JUJU_DISPATCH_PATH", "hooks/charm-tracing-relation-changed"),
        (
            "JUJU_DISPATCH_PATH",
            "hooks/receive-ca-cert-relation-broken",
        ),
        (
            "JUJU_DISPATCH_PATH",
            "hooks/no-such-relation-relation-joined",
        ),
        ("JUJU_DISPATCH_PATH", "actions/trace-status"),
        ("JUJU_DISPATCH_PATH", "hooks/data-storage-attached"),
        ("JUJU_DISPATCH_PATH", "hooks/secret-changed"),
        ("JUJU_DISPATCH_PATH", "hooks/stop"),
        ("JUJU_UNIT_NAME", "rust-starter"),
        ("JUJU_UNIT_NAME", "/0"),
        ("JUJU_UNIT_NAME", "a/b/c"),
        ("JUJU_UNIT_NAME", "rust-starter/-1"),
        ("JUJU_UNIT_NAME", "rust-starter/99999999999999999999"),
        ("JUJU_RELATION_ID", "charm-tracing:-1"),
        ("JUJU_RELATION_ID", ":5"),
        ("JUJU_RELATION_ID", "charm-tracing:99999999999999999999"),
        ("JUJU_RELATION_ID", "5"),
        ("JUJU_STORAGE_ID", "data/x"),
        ("JUJU_SECRET_REVISION", "-3"),
        ("JUJU_CHARM_DIR", "/nonexistent/charm"),
        ("JUJU_CHARM_DIR", "/dev/null"),
        ("JUJU_CHARM_DIR", "relative/charm"),
        ("CHARM_TRACING_BUFFER_BYTES", "-1"),
        ("CHARM_TRACING_BUFFER_BYTES", "0"),
        ("CHARM_TRACING_BUFFER_BYTES", "18446744073709551616"),
        ("CHARM_TRACING_BUFFER_BYTES", "1 GiB"),
        ("CHARM_TRACING_STOP_FLUSH_SECONDS", "NaN"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://[::1:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "::::"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-5"),
        ("CHARMKIT_TRACING", "maybe"),
    ] {
        v.push((var, s(value)));
    }
    v
}

#[test]
fn hostile_juju_environments() {
    let mut rng = Rng::new(7);
    let values = hostile_env_values();
    let n = trials(values.len(), 10 * values.len());
    let unit = Unit::new();
    let mut figures = Figures::new("hostile JUJU_* environments");
    let mut failures = Vec::new();
    for i in 0..n {
        // Every value once, then random combinations of two or three.
        let picks: Vec<&(&str, std::ffi::OsString)> = if i < values.len() {
            vec![&values[i]]
        } else {
            (0..2 + rng.below(2)).map(|_| rng.pick(&values)).collect()
        };
        let mut cmd = unit.dispatch_command("hooks/update-status", &[]);
        for (var, value) in &picks {
            cmd.env(var, value);
        }
        let ran = run_guarded(&mut cmd);
        let (st, err) = (ran.status, ran.stderr);
        figures.trials += 1;
        // Refusing a context Juju would never give is fine (exit 1, one message); a panic, a
        // signal or a hang is not.
        let bad = st.is_none() || st.and_then(|s| s.code()).is_none() || panicked(st, &err);
        if bad {
            figures.failed += 1;
            failures.push(format!("{picks:?}: {st:?}"));
        }
    }
    figures.note =
        "no panic, no hang, no crash; an impossible context is refused with one line".into();
    assert!(failures.is_empty(), "{failures:?}");
    figures.print().assert_clean();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
        if long() { 20_000 } else { 300 }
    ))]

    /// In-process, any environment at all: the context is read or refused, never a panic, and
    /// the event is parsed against the real metadata (or found unknown).
    #[test]
    fn any_juju_environment_is_read_or_refused(
        vars in proptest::collection::vec(
            (proptest::sample::select(vec![
                "JUJU_DISPATCH_PATH", "JUJU_UNIT_NAME", "JUJU_MODEL_NAME", "JUJU_MODEL_UUID",
                "JUJU_RELATION", "JUJU_RELATION_ID", "JUJU_REMOTE_APP", "JUJU_REMOTE_UNIT",
                "JUJU_DEPARTING_UNIT", "JUJU_ACTION_NAME", "JUJU_SECRET_ID",
                "JUJU_SECRET_REVISION", "JUJU_STORAGE_ID", "JUJU_NOTICE_ID", "JUJU_VERSION",
                "JUJU_CHARM_DIR", "JUJU_DEBUG", "JUJU_WORKLOAD_NAME", "JUJU_PEBBLE_CHECK_NAME",
            ]), "(hooks/|actions/)?[a-z0-9:/._-]{0,24}|.{0,40}"),
            0..12,
        )
    ) {
        let meta = charmkit::meta::Metadata::from_dir(&common::repo_root()).unwrap();
        let mut vars = vars;
        vars.push(("JUJU_UNIT_NAME", "rust-starter/0".into()));
        vars.push(("JUJU_DISPATCH_PATH", "hooks/install".into()));
        let lookup = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        if let Ok(ctx) = charmkit::context::JujuContext::from_lookup(lookup) {
            let _ = charmkit::event::Event::from_context(&ctx, &meta);
        }
    }
}

// ----- hostile disk state -----------------------------------------------------------------------

const OUTSIDE: &str = "OUTSIDE-MARK";

/// A valid chunk in a buffer outside the unit, holding [`OUTSIDE`]; returns its path.
fn outside_chunk(root: &std::path::Path) -> std::path::PathBuf {
    let dir = root
        .join("elsewhere")
        .join(charmkit::tracing::buffer::DIR_NAME);
    let b = Buffer::open_dir(&dir, 1 << 20).unwrap();
    let id = b
        .append(
            format!(r#"{{"resourceSpans":[],"marker":"{OUTSIDE}"}}"#).as_bytes(),
            50,
        )
        .unwrap();
    dir.join(format!("{id}.chunk"))
}

/// Plants hostile state number `case` in the unit's buffer (and charm) directory; returns what
/// it planted, for messages, and files outside whose mode and content must not change.
fn plant(unit: &Unit, case: usize) -> (&'static str, Vec<std::path::PathBuf>) {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let root = unit.root.path();
    let buf = unit.charm_dir.join(charmkit::tracing::buffer::DIR_NAME);
    let fifo = |p: &std::path::Path| {
        clear(p);
        nix::unistd::mkfifo(p, nix::sys::stat::Mode::S_IRWXU).unwrap();
    };
    let victim_dir = root.join("victim-dir");
    std::fs::create_dir_all(&victim_dir).unwrap();
    std::fs::set_permissions(&victim_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let victim_file = root.join("victim-file");
    std::fs::write(&victim_file, "keep me").unwrap();
    let watch = vec![victim_dir.clone(), victim_file.clone()];
    // One of the unit's own chunks (a regular file; planted ones are numbered from 100).
    let first_chunk = || {
        std::fs::read_dir(&buf)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.ends_with(".chunk") && name.get(4..14) == Some("0000000000")
            })
    };
    let what = match case {
        0 => {
            symlink(outside_chunk(root), buf.join("p50-000000000100.chunk")).unwrap();
            "a chunk that is a symlink to a valid chunk elsewhere"
        }
        1 => {
            std::fs::hard_link(outside_chunk(root), buf.join("p50-000000000101.chunk")).unwrap();
            "a chunk hard-linked to a valid chunk elsewhere"
        }
        2 => {
            std::fs::remove_dir_all(&buf).unwrap();
            outside_chunk(&victim_dir);
            symlink(&victim_dir, &buf).unwrap();
            "the buffer directory a symlink to a directory elsewhere"
        }
        3 => {
            symlink("/dev/zero", buf.join("p50-000000000102.chunk")).unwrap();
            "a chunk that is a symlink to /dev/zero"
        }
        4 => {
            let made = nix::sys::stat::mknod(
                &buf.join("p50-000000000103.chunk"),
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::S_IRWXU,
                nix::sys::stat::makedev(1, 5),
            );
            if made.is_err() {
                symlink("/dev/zero", buf.join("p50-000000000103.chunk")).unwrap();
            }
            "a chunk that is a character device (/dev/zero's)"
        }
        5 => {
            fifo(&buf.join("p10-000000000104.chunk"));
            "a FIFO named like a chunk"
        }
        6 => {
            fifo(&buf.join("index.json"));
            "index.json a FIFO"
        }
        7 => {
            fifo(&buf.join("destination.json"));
            "destination.json a FIFO"
        }
        8 => {
            clear(&buf.join("last-export.json"));
            symlink("/dev/zero", buf.join("last-export.json")).unwrap();
            "last-export.json a symlink to /dev/zero"
        }
        9 => {
            fifo(&buf.join("lock"));
            clear(&buf.join("exporter.lock"));
            symlink(&victim_file, buf.join("exporter.lock")).unwrap();
            "the locks a FIFO and a symlink to a file elsewhere"
        }
        10 => {
            if let Some(c) = first_chunk() {
                std::fs::set_permissions(c, std::fs::Permissions::from_mode(0o000)).unwrap();
            }
            "a chunk of mode 000"
        }
        11 => {
            std::fs::set_permissions(&buf, std::fs::Permissions::from_mode(0o000)).unwrap();
            "the buffer directory of mode 000"
        }
        // (Copies of a real chunk are damaged, not our data itself: a damaged chunk is
        // skipped and deleted, and its trace is gone because of the damage, not of tracing.)
        12 => {
            if let Some(c) = first_chunk() {
                let data = std::fs::read(&c).unwrap();
                std::fs::write(buf.join("p10-000000000110.chunk"), &data[..data.len() / 2])
                    .unwrap();
            }
            "a truncated chunk"
        }
        13 => {
            if let Some(c) = first_chunk() {
                let mut data = std::fs::read(&c).unwrap();
                let last = data.len() - 2;
                data[last] ^= 0x55;
                std::fs::write(buf.join("p10-000000000111.chunk"), data).unwrap();
            }
            "a chunk with a flipped byte"
        }
        14 => {
            std::fs::write(buf.join("p10-000000000105.chunk"), "").unwrap();
            "an empty chunk"
        }
        15 => {
            let f = std::fs::File::create(buf.join("p10-000000000106.chunk")).unwrap();
            f.set_len(1 << 30).unwrap();
            "a sparse 1 GiB chunk"
        }
        16 => {
            for name in [
                "README.txt",
                "p10-abc.chunk",
                "p10-999999999999999999.chunk",
            ] {
                std::fs::write(buf.join(name), OUTSIDE).unwrap();
            }
            std::fs::create_dir(buf.join("p10-000000000107.chunk")).unwrap();
            "foreign files, and a directory named like a chunk"
        }
        17 => {
            clear(&buf.join("index.json"));
            std::fs::write(buf.join("index.json"), r#"{"version":1,"dirty":false,"prios":{"10":{"head":0,"next":1000000000000,"count":9,"bytes":36864}},"aliases":[]}"#).unwrap();
            "an index that lies (next sequence 1e12)"
        }
        18 => {
            clear(&buf.join("index.json"));
            std::fs::write(buf.join("index.json"), "\u{0}garbage{{{").unwrap();
            "a garbage index"
        }
        19 => {
            std::fs::remove_dir_all(buf.join("tmp")).unwrap();
            symlink(&victim_dir, buf.join("tmp")).unwrap();
            symlink(
                outside_chunk(root),
                buf.join("incoming")
                    .join("in-50-00000000000000000001-1-1.chunk"),
            )
            .unwrap();
            "tmp/ a symlink elsewhere, incoming/ holding a symlink to a chunk elsewhere"
        }
        20 => {
            let state = unit.charm_dir.join(".charmkit-state.json");
            clear(&state);
            std::fs::create_dir(&state).unwrap();
            "the stored-state file a directory"
        }
        21 => {
            fifo(&unit.charm_dir.join(".charmkit-state.json"));
            "the stored-state file a FIFO"
        }
        22 => {
            let state = unit.charm_dir.join(".charmkit-state.json");
            clear(&state);
            symlink("/dev/zero", &state).unwrap();
            "the stored-state file a symlink to /dev/zero"
        }
        _ => {
            std::fs::write(
                buf.join("tmp").join("00000000000000000001-999999-1.tmp"),
                "x",
            )
            .unwrap();
            "a stale temp file of a dead writer"
        }
    };
    (what, watch)
}

const DISK_CASES: usize = 24;

/// Removes whatever is at `p` (a file, a link, a directory), so something else can go there.
fn clear(p: &std::path::Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

#[test]
fn hostile_disk_state() {
    use std::os::unix::fs::PermissionsExt;
    let mut rng = Rng::new(8);
    let rounds = trials(1, 5);
    let mut figures = Figures::new("hostile disk state");
    let mut problems = Vec::new();
    for round in 0..rounds {
        for case in 0..DISK_CASES {
            let unit = Unit::new();
            let collector = Server::http(200);
            let url = collector.url("http");
            let env = [
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.as_str()),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1000"),
            ];
            let _ = dispatch(&unit, "hooks/install", &env);
            let _ = eventually(Duration::from_secs(10), || !collector.received().is_empty());
            // A backlog of our own, to be delivered despite what is planted.
            let _ = dispatch(&unit, "hooks/update-status", &[("CHARMKIT_TRACING", "on")]);
            // In the long mode, later rounds plant two states at once.
            let mut planted = vec![plant(&unit, case)];
            // (Not on top of a buffer directory made a symlink or unreadable: planting there
            // would be writing through the link ourselves.)
            let second = rng.below(DISK_CASES as u64) as usize;
            if round > 0 && ![2, 11].contains(&case) && ![2, 11, case].contains(&second) {
                planted.push(plant(&unit, second));
            }
            let what: Vec<&str> = planted.iter().map(|(w, _)| *w).collect();
            let watch: Vec<(std::path::PathBuf, u32, Vec<u8>)> = planted
                .iter()
                .flat_map(|(_, w)| w.iter())
                .map(|p| {
                    let m = std::fs::metadata(p).unwrap();
                    let content = if m.is_file() {
                        std::fs::read(p).unwrap()
                    } else {
                        Vec::new()
                    };
                    (p.clone(), m.permissions().mode() & 0o7777, content)
                })
                .collect();
            let mut outputs = Vec::new();
            for hook in ["hooks/update-status", "hooks/config-changed"] {
                let (st, err, _) = dispatch(&unit, hook, &env);
                figures.trials += 1;
                if !st.is_some_and(|s| s.success()) || panicked(st, &err) {
                    figures.failed += 1;
                    problems.push(format!(
                        "{what:?}: {hook} failed: {}",
                        String::from_utf8_lossy(&err)
                    ));
                }
                outputs.push(err);
            }
            for args in [
                &["trace", "dump"][..],
                &["trace", "status", "--json"],
                &["trace", "flush", "--timeout", "5"],
            ] {
                let ran = run_guarded(&mut unit.command(args, &env));
                if ran.status.is_none() || panicked(ran.status, &ran.stderr) {
                    figures.failed += 1;
                    problems.push(format!("{what:?}: {args:?} hung or panicked"));
                }
                outputs.push(ran.stdout);
            }
            // Nothing from outside was read out, sent, or changed.
            let leaked = outputs
                .iter()
                .any(|o| String::from_utf8_lossy(o).contains(OUTSIDE))
                || collector
                    .received()
                    .iter()
                    .any(|r| String::from_utf8_lossy(&r.body).contains(OUTSIDE));
            if leaked {
                problems.push(format!("{what:?}: data from outside the buffer came out"));
            }
            for (p, mode, content) in &watch {
                let m = std::fs::metadata(p).unwrap();
                let now = if m.is_file() {
                    std::fs::read(p).unwrap()
                } else {
                    Vec::new()
                };
                if m.permissions().mode() & 0o7777 != *mode || &now != content {
                    problems.push(format!("{what:?}: {} changed through a link", p.display()));
                }
            }
            let mut delivered = BTreeSet::new();
            for r in collector.received() {
                match root_trace_ids(&r.body) {
                    Some(ids) => delivered.extend(ids),
                    None => figures.corrupt += 1,
                }
            }
            // Every dispatch's trace reached the collector or waits in the buffer — unless the
            // buffer itself was refused (a symlink), where nothing is stored, by design.
            if !what
                .iter()
                .any(|w| w.starts_with("the buffer directory a symlink"))
            {
                let (buffered, _) = buffered_roots(&unit.charm_dir);
                let logged = logged_trace_ids_since(&unit.state.join("calls"), 0).0;
                let lost = logged
                    .iter()
                    .filter(|id| !delivered.contains(*id) && !buffered.contains_key(*id))
                    .count();
                if lost > 0 {
                    println!("LOST {lost} with {what:?}");
                }
                figures.lost += lost;
            }
            // Undo what would stop the temporary directory's cleanup.
            let buf = unit.charm_dir.join(charmkit::tracing::buffer::DIR_NAME);
            if std::fs::symlink_metadata(&buf).is_ok_and(|m| m.is_dir()) {
                let _ = std::fs::set_permissions(&buf, std::fs::Permissions::from_mode(0o700));
            }
        }
    }
    figures.unverified = Some(0);
    figures.note = format!(
        "{DISK_CASES} kinds of planted state (symlinks, hard links, FIFOs, devices, mode 000, \
         truncated, flipped, empty, sparse and foreign files, lying or garbage index, odd stored \
         state); nothing outside read, sent or changed"
    );
    assert!(problems.is_empty(), "{problems:#?}");
    figures.print().assert_clean();
}

// ----- planted secrets --------------------------------------------------------------------------

#[test]
fn planted_secret_markers_never_come_out() {
    let rounds = trials(1, 10);
    let mut figures = Figures::new("planted secret markers");
    let mut leaks = Vec::new();
    for round in 0..rounds {
        let unit = Unit::new();
        let collector = Server::http(200);
        let pass = format!("PASS-{MARK}-{round}");
        let key = format!("KEY-{MARK}-{round}");
        let pem_key = format!("-----BEGIN PRIVATE KEY-----\nPEM-{MARK}\n-----END PRIVATE KEY-----");
        // Credentials in the receiver URL (relation and environment), key material and other
        // secrets in both providers' databags.
        let rel_url = format!("http://tracer:{pass}@{}/?api_key={key}", collector.addr);
        let tracing = serde_json::json!({
            "receivers": receivers(&rel_url),
            "password": format!("DATABAG-{MARK}"),
        });
        let root = net::Ca::root("secrets CA").pem();
        let ca_app = serde_json::json!({
            "certificates": serde_json::to_string(&[format!("{root}\n{pem_key}")]).unwrap(),
        });
        let ca_unit = serde_json::json!({"certificate": pem_key, "private-key": pem_key});
        provider(&unit, &tracing, Some((&ca_app, &ca_unit)));
        let env_url = format!("http://u:{pass}@{}/v1/traces?token={key}", collector.addr);
        let mut shown: Vec<(String, Vec<u8>)> = Vec::new();
        let runs: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("hooks/install", vec![]),
            (
                "hooks/charm-tracing-relation-changed",
                vec![
                    ("JUJU_RELATION", "charm-tracing"),
                    ("JUJU_RELATION_ID", "charm-tracing:5"),
                    ("JUJU_REMOTE_APP", "tempo"),
                ],
            ),
            (
                "hooks/receive-ca-cert-relation-changed",
                vec![
                    ("JUJU_RELATION", "receive-ca-cert"),
                    ("JUJU_RELATION_ID", "receive-ca-cert:8"),
                    ("JUJU_REMOTE_APP", "self-signed-certificates"),
                ],
            ),
            (
                "hooks/start",
                vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url)],
            ),
            (
                "hooks/update-status",
                vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url)],
            ),
            (
                "hooks/update-status",
                vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url)],
            ),
            (
                "actions/trace-status",
                vec![
                    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url),
                    ("JUJU_ACTION_NAME", "trace-status"),
                    ("JUJU_ACTION_UUID", "1"),
                ],
            ),
        ];
        for (hook, env) in &runs {
            let out = unit.dispatch(hook, env);
            figures.trials += 1;
            if !out.status.success() {
                println!("{hook} failed: {}", String::from_utf8_lossy(&out.stderr));
                figures.failed += 1;
            }
            shown.push((format!("{hook} stdout"), out.stdout));
            shown.push((format!("{hook} stderr"), out.stderr));
        }
        // Let the background exporters be done before looking.
        let _ = eventually(Duration::from_secs(10), || {
            Buffer::open(&unit.charm_dir)
                .unwrap()
                .stats()
                .is_ok_and(|s| s.chunks == 0)
        });
        for args in [
            &["trace", "status"][..],
            &["trace", "status", "--json"],
            &["trace", "dump"],
            &["trace", "flush", "--timeout", "5"],
        ] {
            let out = unit
                .command(args, &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &env_url)])
                .output()
                .unwrap();
            shown.push((format!("{args:?} stdout"), out.stdout));
            shown.push((format!("{args:?} stderr"), out.stderr));
        }
        // Every hook-tool call (juju-log lines, status-set, relation-set data, action-set…).
        shown.push((
            "hook-tool calls".into(),
            std::fs::read(unit.state.join("calls")).unwrap(),
        ));
        // Everything stored beside the buffer but the destination (which must hold the URL it
        // sends to), and everything the collector received (spans).
        let buf = unit.charm_dir.join(charmkit::tracing::buffer::DIR_NAME);
        for e in walk(&buf) {
            if !e.ends_with("destination.json") {
                shown.push((
                    e.display().to_string(),
                    std::fs::read(&e).unwrap_or_default(),
                ));
            }
        }
        for r in collector.received() {
            shown.push(("a request to the collector".into(), r.body));
        }
        assert!(
            !collector.received().is_empty(),
            "nothing exported: is the harness working?"
        );
        for (what, bytes) in &shown {
            if String::from_utf8_lossy(bytes).contains(MARK) {
                leaks.push(what.clone());
            }
        }
    }
    figures.note = format!(
        "{} place(s) showed a marker (URL userinfo and query, private keys, other databag keys), \
         grepped across hook output, every hook-tool call, the buffer, the collector's requests \
         and the trace commands",
        leaks.len()
    );
    assert!(leaks.is_empty(), "secrets shown in {leaks:?}");
    figures.print().assert_clean();
}

/// Every regular file under `dir`, recursively (symlinks not followed).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(walk(&e.path())),
            Ok(t) if t.is_file() => out.push(e.path()),
            _ => {}
        }
    }
    out
}
