//! Export from the real charm binary, run through `./dispatch` as Juju runs it (stub hook tools),
//! against collectors on 127.0.0.1:
//!
//! - a hook never waits for the collector, even one that accepts TCP and never answers;
//! - the detached background exporter delivers the data after the hook and empties the buffer;
//! - overlapping dispatches never send the same chunk twice;
//! - `dispatch trace flush --timeout S`: exit 0 when all is sent, non-zero when data remains.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::{eventually, stderr, Unit, CHARM};
use charmkit::trace::buffer::{Buffer, Destination};
use charmkit_test_support::collector::Server;

fn buffer(unit: &Unit) -> Buffer {
    Buffer::open(&unit.charm_dir).unwrap()
}

fn set_destination(unit: &Unit, url: &str) {
    buffer(unit)
        .set_destination(Some(&Destination {
            url: url.to_string(),
            ca: None,
        }))
        .unwrap();
}

fn chunks(unit: &Unit) -> u64 {
    buffer(unit).stats().unwrap().chunks
}

fn timed_dispatch(unit: &Unit, hook: &str) -> Duration {
    let start = Instant::now();
    let out = unit.dispatch(hook, &[]);
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{hook}: {}", stderr(&out));
    elapsed
}

#[test]
fn the_hook_never_waits_for_a_collector_that_never_answers() {
    let unit = Unit::new(&CHARM);
    // Warm-up and baseline: no destination, nothing is exported.
    timed_dispatch(&unit, "hooks/install");
    let baseline = timed_dispatch(&unit, "hooks/update-status");

    let silent = Server::silent();
    set_destination(&unit, &silent.url("http"));
    let mut worst = Duration::ZERO;
    for _ in 0..3 {
        worst = worst.max(timed_dispatch(&unit, "hooks/update-status"));
    }
    println!(
        "update-status: {baseline:?} with no destination, at worst {worst:?} with a collector \
         that never answers"
    );
    assert!(worst < Duration::from_secs(1), "{worst:?}");
    // The exporter did start (in the background) and is stuck on the collector, not the hook.
    assert!(
        eventually(Duration::from_secs(5), || silent.connections() > 0),
        "no exporter ever connected"
    );
    assert!(chunks(&unit) >= 4, "nothing may be lost: {}", chunks(&unit));
}

#[test]
fn the_background_exporter_delivers_and_empties_the_buffer() {
    let unit = Unit::new(&CHARM);
    let collector = Server::http(200);
    set_destination(&unit, &collector.url("http"));
    let took = timed_dispatch(&unit, "hooks/install");
    println!("install with a working collector: {took:?}");
    assert!(
        // The exporter removes a delivered chunk before it records the outcome: wait for both.
        eventually(Duration::from_secs(10), || !collector.bodies().is_empty()
            && chunks(&unit) == 0
            && matches!(buffer(&unit).last_export(), Ok(Some(_)))),
        "delivered {} chunk(s), {} left",
        collector.bodies().len(),
        chunks(&unit)
    );
    let bodies = collector.bodies();
    assert_eq!(bodies.len(), 1);
    let req = charmkit::trace::otlp::decode(&bodies[0]).expect("OTLP/JSON");
    let names: Vec<&str> = req.resource_spans[0]
        .scope_spans
        .iter()
        .flat_map(|s| &s.spans)
        .map(|s| s.name.as_str())
        .collect();
    assert!(names.contains(&"ops.main"), "{names:?}");
    assert!(names.contains(&"install: RustStarter"), "{names:?}");
    let last = buffer(&unit)
        .last_export()
        .unwrap()
        .expect("outcome recorded");
    assert_eq!((last.sent, last.remaining), (1, 0));
    assert_eq!(last.error, None);
}

#[test]
fn overlapping_dispatches_never_send_a_chunk_twice() {
    let unit = Unit::new(&CHARM);
    // A slow collector, and a backlog, so the exporters of the dispatches overlap.
    let collector = Server::http(200).with_delay(Duration::from_millis(20));
    let b = buffer(&unit);
    for i in 0..30 {
        b.append(format!(r#"{{"resourceSpans":[],"n":{i}}}"#).as_bytes(), 10)
            .unwrap();
    }
    set_destination(&unit, &collector.url("http"));
    let unit = Arc::new(unit);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let unit = unit.clone();
            std::thread::spawn(move || {
                let hook = if i % 2 == 0 {
                    "hooks/update-status"
                } else {
                    "hooks/config-changed"
                };
                assert!(unit.dispatch(hook, &[]).status.success());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let expected = 30 + 4;
    assert!(
        eventually(Duration::from_secs(12), || chunks(&unit) == 0
            && collector.bodies().len() >= expected),
        "{} chunk(s) left, {} received",
        chunks(&unit),
        collector.bodies().len()
    );
    // Let any straggler finish, then count.
    std::thread::sleep(Duration::from_millis(300));
    let bodies = collector.bodies();
    let mut seen: BTreeMap<&[u8], usize> = BTreeMap::new();
    for body in &bodies {
        *seen.entry(body.as_slice()).or_default() += 1;
    }
    let twice: Vec<String> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(b, n)| format!("{n}x {}", String::from_utf8_lossy(&b[..b.len().min(60)])))
        .collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(bodies.len(), expected);
}

#[test]
fn trace_flush_exits_zero_when_everything_is_sent() {
    let unit = Unit::new(&CHARM);
    let collector = Server::http(200);
    let b = buffer(&unit);
    for i in 0..3 {
        b.append(format!(r#"{{"resourceSpans":[],"n":{i}}}"#).as_bytes(), 50)
            .unwrap();
    }
    set_destination(&unit, &collector.url("http"));
    let out = unit
        .command(&["trace", "flush", "--timeout", "10"], &[])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(chunks(&unit), 0);
    assert_eq!(collector.bodies().len(), 3);
    assert!(
        err.contains(&format!("flushing 3 chunk(s) to {}", collector.url("http"))),
        "{err}"
    );
    assert_eq!(err.matches("sent chunk").count(), 3, "{err}");
    assert!(err.contains("sent 3, dropped 0, remaining 0"), "{err}");
}

#[test]
fn trace_flush_exits_non_zero_when_data_remains() {
    let unit = Unit::new(&CHARM);
    let collector = Server::http(500);
    let b = buffer(&unit);
    for i in 0..3 {
        b.append(format!(r#"{{"resourceSpans":[],"n":{i}}}"#).as_bytes(), 10)
            .unwrap();
    }
    set_destination(&unit, &collector.url("http"));
    let out = unit
        .command(&["trace", "flush", "--timeout", "5"], &[])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(chunks(&unit), 3);
    assert_eq!(collector.bodies().len(), 1, "one attempt, then stop");
    assert!(err.contains("HTTP 500"), "{err}");
    assert!(err.contains(&collector.url("http")), "{err}");
    assert!(err.contains("3 chunk(s) remain in the buffer"), "{err}");

    // A collector that never answers: flush gives up by its timeout, non-zero.
    let silent = Server::silent();
    set_destination(&unit, &silent.url("http"));
    let start = Instant::now();
    let out = unit
        .command(&["trace", "flush", "--timeout", "0.5"], &[])
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(chunks(&unit), 3);

    // A bad --timeout is a usage error.
    let out = unit
        .command(&["trace", "flush", "--timeout", "soon"], &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--timeout"), "{}", stderr(&out));
}

/// The `juju-log` messages recorded since the last call, as `LEVEL message`.
fn logs(unit: &Unit) -> Vec<String> {
    unit.take_calls()
        .into_iter()
        .filter(|c| c.tool == "juju-log")
        .map(|c| format!("{} {}", c.args[1], c.args[3..].join(" ")))
        .collect()
}

#[test]
fn a_collector_that_never_answers_is_recorded_in_time_and_reported_once() {
    let unit = Unit::new(&CHARM);
    let silent = Server::silent();
    set_destination(&unit, &silent.url("http"));
    timed_dispatch(&unit, "hooks/update-status");
    // Each POST has its own timeout (5 s), far under the exporter's 30 s deadline: the exporter
    // records the failure itself instead of being killed with nothing recorded.
    let start = Instant::now();
    assert!(
        eventually(Duration::from_secs(15), || matches!(
            buffer(&unit).last_export(),
            Ok(Some(o)) if o.error.is_some()
        )),
        "no export outcome recorded after {:?}",
        start.elapsed()
    );
    println!("failure recorded {:?} after the hook", start.elapsed());
    let last = buffer(&unit).last_export().unwrap().unwrap();
    assert_eq!(last.sent, 0);
    assert!(last.remaining >= 1, "{last:?}");
    logs(&unit);
    // The next dispatch says so, once, at WARNING; the one after stays quiet about it.
    timed_dispatch(&unit, "hooks/update-status");
    let warned: Vec<String> = logs(&unit)
        .into_iter()
        .filter(|l| l.contains("last export"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].starts_with("WARNING "), "{warned:?}");
    assert!(warned[0].contains(&silent.url("http")), "{warned:?}");
    timed_dispatch(&unit, "hooks/update-status");
    let again: Vec<String> = logs(&unit)
        .into_iter()
        .filter(|l| l.contains("last export"))
        .collect();
    // Another failed export may have been recorded meanwhile (a new outcome is reported once);
    // never the same one twice.
    assert!(again.len() <= 1, "{again:?}");
    if let Some(l) = again.first() {
        assert_ne!(l, &warned[0], "the same outcome reported twice");
    }
}

/// The exporter's last-export record as stored.
fn record(unit: &Unit) -> String {
    std::fs::read_to_string(
        unit.charm_dir
            .join(charmkit::trace::buffer::DIR_NAME)
            .join("last-export.json"),
    )
    .unwrap_or_default()
}

#[test]
fn credentials_in_the_receiver_url_are_never_shown() {
    let unit = Unit::new(&CHARM);
    let collector = Server::http(400);
    let url = format!(
        "http://tracer:S3CRET-PASS@{}/v1/traces?api_key=S3CRET-KEY",
        collector.addr
    );
    let env = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.as_str())];
    let mut shown = String::new();
    for hook in ["hooks/start", "hooks/update-status"] {
        let out = unit.dispatch(hook, &env);
        assert!(out.status.success(), "{}", stderr(&out));
        shown += &stderr(&out);
        shown += &logs(&unit).join("\n");
        // Wait for the background exporter's record before the next dispatch reports it.
        assert!(eventually(Duration::from_secs(10), || matches!(
            buffer(&unit).last_export(),
            Ok(Some(o)) if o.error.is_some()
        )));
        shown += &record(&unit);
    }
    for args in [&["trace", "status"][..], &["trace", "status", "--json"]] {
        let out = unit.command(args, &env).output().unwrap();
        shown += &String::from_utf8_lossy(&out.stdout);
        shown += &stderr(&out);
    }
    let out = unit
        .command(&["trace", "flush", "--timeout", "5"], &env)
        .output()
        .unwrap();
    shown += &stderr(&out);
    shown += &record(&unit);
    assert!(shown.contains("sending trace data to"), "{shown}");
    assert!(shown.contains("last export"), "{shown}");
    for secret in ["S3CRET-PASS", "S3CRET-KEY", "tracer:"] {
        assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
    }
    // What is shown still names the collector.
    assert!(
        shown.contains(&format!("http://***@{}/v1/traces?***", collector.addr)),
        "{shown}"
    );
}

#[test]
fn trace_commands_create_nothing_and_are_quiet_about_our_own_files() {
    let unit = Unit::new(&CHARM);
    let dir = unit.charm_dir.join(charmkit::trace::buffer::DIR_NAME);
    // Read-only commands on a unit that never buffered anything create nothing.
    for args in [
        &["trace", "status"][..],
        &["trace", "status", "--json"],
        &["trace", "dump"],
    ] {
        let out = unit.command(args, &[]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(!dir.exists(), "{args:?} created {}", dir.display());
    }
    let out = unit.command(&["trace", "status"], &[]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("chunks:       0"));

    // A failed export, reported by the next dispatch (which notes that it did).
    let collector = Server::http(400);
    set_destination(&unit, &collector.url("http"));
    timed_dispatch(&unit, "hooks/install");
    assert!(eventually(Duration::from_secs(10), || matches!(
        buffer(&unit).last_export(),
        Ok(Some(o)) if o.error.is_some()
    )));
    let out = unit.dispatch("hooks/update-status", &[]);
    assert!(out.status.success());
    let warned: Vec<String> = logs(&unit)
        .into_iter()
        .filter(|l| l.contains("last export"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(!warned[0].contains("tracing: tracing:"), "{warned:?}");
    // Our own bookkeeping files are never "foreign", in a dump or in an index rebuild.
    std::fs::remove_file(dir.join("index.json")).unwrap();
    for args in [&["trace", "dump"][..], &["trace", "status"]] {
        let out = unit.command(args, &[]).output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("foreign"), "{args:?}: {err}");
    }
    // The last export's time is a date, not a raw epoch.
    let out = unit.command(&["trace", "status"], &[]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("last export:"))
        .unwrap_or_default()
        .to_string();
    assert!(line.contains("Z to "), "{text}");
    assert!(!line.contains("(unix)"), "{text}");
}

#[test]
fn the_release_binary_keeps_its_symbols_for_exception_stacktraces() {
    // `exception.stacktrace` on spans is `<unknown>` frames in a binary stripped of its symbol
    // table; stripping only the debug info keeps function names (for a modest size cost).
    let manifest = std::fs::read_to_string(crate::util::repo_root().join("Cargo.toml")).unwrap();
    let release = manifest
        .split("[profile.release]")
        .nth(1)
        .expect("a release profile")
        .split("\n[")
        .next()
        .unwrap();
    let strip = release
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("strip"))
        .and_then(|l| l.split_once('='))
        .map(|(_, v)| v.trim().trim_matches('"').to_string());
    assert!(
        matches!(
            strip.as_deref(),
            None | Some("none" | "false" | "debuginfo")
        ),
        "strip = {strip:?} removes the symbol table"
    );
}

#[test]
fn stop_and_remove_send_the_buffer_before_the_unit_goes_away() {
    // The pod (and the buffer in it) may be gone after `stop`: the hook itself sends the backlog,
    // synchronously, instead of leaving it to a background exporter.
    for hook in ["hooks/stop", "hooks/remove"] {
        let unit = Unit::new(&CHARM);
        let collector = Server::http(200);
        let b = buffer(&unit);
        for i in 0..20 {
            b.append(format!(r#"{{"resourceSpans":[],"n":{i}}}"#).as_bytes(), 10)
                .unwrap();
        }
        set_destination(&unit, &collector.url("http"));
        let took = timed_dispatch(&unit, hook);
        // Nothing left the moment the hook is done: no waiting for a background exporter.
        assert_eq!(chunks(&unit), 0, "{hook}");
        assert_eq!(
            collector.bodies().len(),
            21,
            "{hook}: the backlog and the hook's own"
        );
        let said: Vec<String> = logs(&unit)
            .into_iter()
            .filter(|l| l.contains("going away"))
            .collect();
        assert_eq!(said.len(), 1, "{hook}: {said:?}");
        assert!(
            said[0].starts_with("INFO ") && said[0].contains("sent the last 21"),
            "{said:?}"
        );
        println!("{hook} with a 20-chunk backlog: {took:?}");
    }
}

#[test]
fn stop_against_a_collector_that_never_answers_is_bounded_and_says_what_is_left() {
    let unit = Unit::new(&CHARM);
    let silent = Server::silent();
    set_destination(&unit, &silent.url("http"));
    timed_dispatch(&unit, "hooks/install");
    logs(&unit);
    let start = Instant::now();
    let out = unit.dispatch("hooks/stop", &[("CHARM_TRACING_STOP_FLUSH_SECONDS", "1")]);
    let took = start.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    println!("stop with a collector that never answers and a 1 s deadline: {took:?}");
    // A hang guard, far above the 1 s asked for.
    assert!(took < Duration::from_secs(10), "{took:?}");
    let said: Vec<String> = logs(&unit)
        .into_iter()
        .filter(|l| l.contains("going away"))
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("WARNING ") && said[0].contains("left"),
        "{said:?}"
    );
    assert!(chunks(&unit) >= 2, "nothing is lost: it stays buffered");

    // Without a destination the data stays, and the hook says so.
    let unit = Unit::new(&CHARM);
    timed_dispatch(&unit, "hooks/install");
    logs(&unit);
    timed_dispatch(&unit, "hooks/remove");
    assert!(logs(&unit)
        .iter()
        .any(|l| l.contains("going away") && l.contains("no destination")),);
}
