//! Draining the buffer to the collector — off the hook's path.
//!
//! **A hook never waits for the collector.** At the end of a dispatch, once its spans are in the
//! buffer, [`spawn_background`] starts a detached copy of the charm binary (`__export`): its own
//! process group and session, stdio on /dev/null (so Juju, which waits for the hook's output
//! pipes to close, does not wait for it), holding the per-unit exporter lock (so at most one
//! exporter runs per unit; another finds the lock taken and exits at once), with a hard deadline
//! ([`BACKGROUND_DEADLINE`]) after which it exits whatever it is doing. The hook itself pays only
//! for a fork/exec. ops, by contrast, exports inside the hook and adds ~6.3 s to *every* dispatch
//! when the collector accepts connections and never answers.
//!
//! Each POST has its own timeout ([`REQUEST_TIMEOUT`], or `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`),
//! also cut to what is left of the deadline, so a collector that accepts TCP and never answers (or
//! a plain-HTTP server on an `https` URL) costs one timeout and a recorded failure, never a silent
//! exporter killed at its deadline.
//!
//! [`drain`] sends the best chunks first (highest priority, oldest first) over one keep-alive
//! connection: 2xx deletes the chunk; a permanent rejection (4xx other than 408/429) drops it
//! — a chunk the collector will never take must not block the queue, as it does in ops — with
//! the collector's reason in the record (its response body, one line, bounded). A 400 naming an
//! unknown field (Tempo 2.0.x knows no span `flags`) first gets that chunk once more in the
//! minimal encoding ([`otlp::minimal`]), and the rest of the drain goes so; 5xx,
//! 408, 429, timeouts and network errors stop the drain and keep the chunk for the next one.
//! One drain sends for as long as its deadline allows, so a full 40 MiB backlog empties in a
//! bounded number of dispatches, observed data first.
//!
//! The background exporter cannot log through `juju-log` (its hook has ended), so it records its
//! outcome beside the buffer; the next dispatch reports a failure in one log line
//! ([`report_last_export`]) — one line per dispatch, not one per attempt.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::buffer::{Buffer, Chunk, Destination, ExportOutcome};
use super::destination::env_endpoint;
use super::destination::redact;
use super::export::{Outcome, Sender};
use super::otlp;

/// The hidden command that runs the background exporter.
pub const BACKGROUND_COMMAND: &str = "__export";
/// The background exporter's hard deadline: it exits after this, whatever it is doing.
pub const BACKGROUND_DEADLINE: Duration = Duration::from_secs(30);
/// The default timeout of one POST (connect, TLS, send and answer); `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`
/// or `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds, per the OpenTelemetry specification) override it.
/// Far under [`BACKGROUND_DEADLINE`], so an exporter stuck on a collector that never answers
/// records the failure itself instead of being stopped with nothing recorded.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The environment variables that set the per-request timeout, in milliseconds, first wins.
pub const TIMEOUT_ENV: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
];
const BATCH: usize = 32;
/// How long after [`BACKGROUND_DEADLINE`] the watchdog ends a background exporter.
const WATCHDOG_GRACE: Duration = Duration::from_secs(5);

/// Chunks this process delivered and dropped, for the watchdog's record.
static SENT: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The per-request timeout: the first of [`TIMEOUT_ENV`] that holds a positive whole number of
/// milliseconds, else [`REQUEST_TIMEOUT`].
pub fn request_timeout() -> Duration {
    request_timeout_from(|k| std::env::var(k).ok())
}

fn request_timeout_from(lookup: impl Fn(&str) -> Option<String>) -> Duration {
    TIMEOUT_ENV
        .iter()
        .filter_map(|k| lookup(k))
        .find_map(|v| v.trim().parse::<u64>().ok().filter(|ms| *ms > 0))
        .map_or(REQUEST_TIMEOUT, Duration::from_millis)
}

/// The destination to use: the OpenTelemetry environment variables win over the relation's.
pub fn effective_destination(buffer: &Buffer) -> Option<Destination> {
    if let Some(url) = env_endpoint() {
        let ca = buffer.destination().ok().flatten().and_then(|d| d.ca);
        return Some(Destination { url, ca });
    }
    buffer.destination().ok().flatten()
}

/// Sends chunks to `dest` until the buffer is empty, a retryable failure, or `deadline`.
/// `progress` is told about each step (for `trace flush`). Records and returns the outcome.
pub fn drain(
    buffer: &Buffer,
    dest: &Destination,
    deadline: Instant,
    progress: &mut dyn FnMut(&str),
) -> ExportOutcome {
    let mut outcome = ExportOutcome {
        at_unix: now_unix(),
        url: redact(&dest.url),
        sent: 0,
        dropped: 0,
        remaining: 0,
        error: None,
        skipped: 0,
    };
    let per_request = request_timeout();
    let mut skipped = std::collections::BTreeSet::new();
    // Set once the collector took a chunk only in the minimal encoding: the rest go so at once.
    let mut minimal = false;
    let left = deadline.saturating_duration_since(Instant::now());
    match Sender::new(&dest.url, dest.ca.as_deref(), left.min(per_request)) {
        Err(e) => outcome.error = Some(without_url(&e.to_string(), &outcome.url)),
        Ok(sender) => {
            'outer: while Instant::now() < deadline {
                let batch = match buffer.export_batch(BATCH) {
                    Ok(b) => {
                        for bad in &b.skipped {
                            if skipped.insert(bad.clone()) {
                                progress(&format!("skipped {bad}"));
                            }
                        }
                        if b.chunks.is_empty() {
                            break;
                        }
                        b.chunks
                    }
                    Err(e) => {
                        outcome.error = Some(format!("reading the buffer: {e}"));
                        break;
                    }
                };
                for chunk in batch {
                    // Each POST gets its own timeout, and must end by the deadline.
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break 'outer;
                    }
                    let timeout = left.min(per_request);
                    let (result, how) = send(&sender, &chunk, timeout, deadline, &mut minimal);
                    let outcome_text = match result {
                        Outcome::Delivered(_) => {
                            outcome.sent += 1;
                            SENT.fetch_add(1, Ordering::Relaxed);
                            format!("sent chunk {} (priority {}){how}", chunk.id, chunk.priority)
                        }
                        Outcome::Rejected { status, reason } => {
                            outcome.dropped += 1;
                            DROPPED.fetch_add(1, Ordering::Relaxed);
                            let said = if reason.is_empty() {
                                String::new()
                            } else {
                                format!(": {reason}")
                            };
                            let msg = format!(
                                "the collector rejected chunk {} with HTTP {status}{said}{how}; \
                                 dropped it",
                                chunk.id
                            );
                            outcome.error = Some(msg.clone());
                            msg
                        }
                        Outcome::Retry(why) => {
                            let why = without_url(&why, &outcome.url);
                            progress(&format!("{why}; keeping the rest for later"));
                            outcome.error = Some(why);
                            break 'outer;
                        }
                    };
                    progress(&outcome_text);
                    // A chunk that cannot be removed would be read and sent again by the next
                    // batch: stop rather than send duplicates.
                    if let Err(e) = buffer.remove(&chunk.id) {
                        let msg = format!("cannot remove chunk {} from the buffer: {e}", chunk.id);
                        progress(&msg);
                        outcome.error = Some(msg);
                        break 'outer;
                    }
                }
            }
        }
    }
    outcome.skipped = skipped.len() as u64;
    outcome.remaining = buffer.stats().map(|s| s.chunks).unwrap_or(0);
    if let Err(e) = buffer.record_export(&outcome) {
        progress(&format!("cannot record the export outcome: {e}"));
    }
    outcome
}

/// Posts one chunk. A collector that refuses a field it does not know (a 400 naming an unknown
/// field: Tempo 2.0 and the span's `flags`) gets the chunk once more in the minimal encoding
/// ([`otlp::minimal`]) before it is dropped; once that worked, `minimal` is set and the following
/// chunks go in the minimal encoding straight away. Returns the outcome and, for the progress
/// line, how the chunk was sent.
fn send(
    sender: &Sender,
    chunk: &Chunk,
    timeout: Duration,
    deadline: Instant,
    minimal: &mut bool,
) -> (Outcome, &'static str) {
    const MINIMAL: &str = " in the minimal encoding";
    if *minimal {
        if let Some(min) = otlp::minimal(&chunk.data, None) {
            return (sender.post_within(&min, timeout), MINIMAL);
        }
    }
    let first = sender.post_within(&chunk.data, timeout);
    let Outcome::Rejected {
        status: 400,
        reason,
    } = &first
    else {
        return (first, "");
    };
    let Some(field) = otlp::unknown_field(reason) else {
        return (first, "");
    };
    let left = deadline.saturating_duration_since(Instant::now());
    match otlp::minimal(&chunk.data, Some(&field)) {
        Some(min) if !left.is_zero() => {
            let again = sender.post_within(&min, left.min(timeout));
            *minimal = matches!(again, Outcome::Delivered(_));
            (again, MINIMAL)
        }
        _ => (first, ""),
    }
}

/// `msg` without a leading `POST <url>: ` or `tracing destination <url>: `: an outcome names its
/// URL once, in its own field (`shown_url`, already redacted).
fn without_url(msg: &str, shown_url: &str) -> String {
    let msg = redact(msg);
    for prefix in ["POST ", "tracing destination "] {
        if let Some(rest) = msg
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix(shown_url))
            .and_then(|r| r.strip_prefix(": "))
        {
            return rest.to_owned();
        }
    }
    msg
}

/// ` (<error>)` if the outcome has one, for a summary line.
fn why(outcome: &ExportOutcome) -> String {
    outcome
        .error
        .as_ref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default()
}

/// `trace flush`: sends the buffer under `charm_dir` now, waiting up to `timeout` in all
/// (including for a running background exporter to finish). Progress goes to stderr. Returns the
/// number of chunks left.
pub fn flush(charm_dir: &Path, timeout: Duration) -> std::io::Result<u64> {
    let deadline = Instant::now() + timeout;
    let buffer = Buffer::open(charm_dir)?;
    let Some(dest) = effective_destination(&buffer) else {
        let left = buffer.stats()?.chunks;
        eprintln!(
            "no destination: relate the charm to a tracing provider, or set {} ({} chunk(s) buffered)",
            super::destination::ENV_TRACES_ENDPOINT,
            left
        );
        return Ok(left);
    };
    let _lock = loop {
        if let Some(l) = buffer.try_lock_exporter()? {
            break l;
        }
        if Instant::now() >= deadline {
            eprintln!("another exporter is still running; try again later");
            return Ok(buffer.stats()?.chunks);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "flushing {} chunk(s) to {}",
        buffer.stats()?.chunks,
        redact(&dest.url)
    );
    let outcome = drain(&buffer, &dest, deadline, &mut |m| eprintln!("  {m}"));
    eprintln!(
        "sent {}, dropped {}, remaining {}{}",
        outcome.sent,
        outcome.dropped,
        outcome.remaining,
        why(&outcome)
    );
    Ok(outcome.remaining)
}

/// The environment variable setting how long `stop` and `remove` may spend sending the buffer,
/// in seconds (a decimal number; `0` turns the final flush off).
pub const STOP_FLUSH_ENV: &str = "CHARM_TRACING_STOP_FLUSH_SECONDS";
/// How long `stop` and `remove` spend at most sending the buffer, by default.
pub const STOP_FLUSH_DEADLINE: Duration = Duration::from_secs(5);
/// The longest final flush [`STOP_FLUSH_ENV`] may ask for (Kubernetes gives a pod 30 s to stop).
const MAX_STOP_FLUSH: Duration = Duration::from_secs(25);

/// The final flush's deadline: [`STOP_FLUSH_ENV`] if it holds a number of seconds (at most 25),
/// else [`STOP_FLUSH_DEADLINE`].
pub fn stop_flush_deadline() -> Duration {
    stop_flush_deadline_from(std::env::var(STOP_FLUSH_ENV).ok().as_deref())
}

fn stop_flush_deadline_from(value: Option<&str>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(STOP_FLUSH_DEADLINE, |s| {
            Duration::from_secs_f64(s.min(MAX_STOP_FLUSH.as_secs_f64()))
        })
}

/// The last export, when the unit is going away (`stop`, `remove`): sends the buffer now, in the
/// hook, for at most [`stop_flush_deadline`] (waiting within it for a running background exporter
/// to finish), and logs in one line what was sent and what is left behind. Trace data is
/// delivered at least once: a chunk whose POST the deadline cut short may have reached the
/// collector and is sent again by whoever exports next, if anyone does. Never fails the hook.
pub fn final_flush(buffer: &Buffer) {
    let buffered = buffer.stats().map_or(0, |s| s.chunks);
    if buffered == 0 {
        return;
    }
    let dir = buffer.dir().display();
    let Some(dest) = effective_destination(buffer) else {
        log::info!(
            "tracing: the unit is going away with {buffered} chunk(s) of trace data and no \
             destination; they stay in {dir}"
        );
        return;
    };
    let limit = stop_flush_deadline();
    let url = redact(&dest.url);
    if limit.is_zero() {
        log::info!(
            "tracing: the unit is going away; {STOP_FLUSH_ENV}=0, so {buffered} chunk(s) are \
             left in {dir}"
        );
        return;
    }
    let deadline = Instant::now() + limit;
    let lock = loop {
        match buffer.try_lock_exporter() {
            Ok(Some(lock)) => break Some(lock),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => break None,
        }
    };
    let Some(_lock) = lock else {
        log::warn!(
            "tracing: the unit is going away and another exporter is still sending to {url}; \
             {buffered} chunk(s) may be left behind in {dir}"
        );
        return;
    };
    let outcome = drain(buffer, &dest, deadline, &mut |_| {});
    if outcome.remaining == 0 && outcome.error.is_none() {
        log::info!(
            "tracing: the unit is going away: sent the last {} chunk(s) to {url}",
            outcome.sent
        );
    } else {
        log::warn!(
            "tracing: the unit is going away: sent {} chunk(s) to {url} in at most {:.1} s, \
             dropped {}, left {} behind in {dir}{}",
            outcome.sent,
            limit.as_secs_f64(),
            outcome.dropped,
            outcome.remaining,
            why(&outcome)
        );
    }
}

/// Starts the background exporter if there is somewhere to send. The caller has just stored
/// data in `buffer`, so there is something to send. Never fails the hook: a problem is logged at
/// WARNING.
pub fn spawn_background(buffer: &Buffer, charm_dir: &Path) {
    if effective_destination(buffer).is_none() {
        return;
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            log::warn!("tracing: cannot find our own binary to export from: {e}");
            return;
        }
    };
    let spawned = Command::new(exe)
        .arg(BACKGROUND_COMMAND)
        .env_remove("JUJU_DISPATCH_PATH")
        .env("JUJU_CHARM_DIR", charm_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        log::warn!("tracing: cannot start the background exporter: {e}");
    }
}

/// The body of the background exporter (the hidden `__export` command).
pub fn background_child(charm_dir: &Path) -> ExitCode {
    // A new session (and so a new process group): signals to the hook's group do not reach
    // us. We were not spawned as a group leader, so this succeeds.
    if let Err(e) = nix::unistd::setsid() {
        log::debug!("background exporter: setsid failed: {e}");
    }
    let deadline = Instant::now() + BACKGROUND_DEADLINE;
    let Ok(buffer) = Buffer::open(charm_dir) else {
        return ExitCode::FAILURE;
    };
    // The watchdog: every POST is bounded by its own timeout and by the deadline, so the drain
    // records its outcome before the deadline; should anything still hang (a stuck file system,
    // a resolver that never answers), the watchdog records that much and ends the process.
    let dir = charm_dir.to_path_buf();
    std::thread::spawn(move || {
        std::thread::sleep(BACKGROUND_DEADLINE + WATCHDOG_GRACE);
        if let Ok(b) = Buffer::open(&dir) {
            let b = b.with_lock_timeout(Duration::from_millis(200));
            let outcome = ExportOutcome {
                at_unix: now_unix(),
                url: effective_destination(&b).map_or_else(String::new, |d| redact(&d.url)),
                sent: SENT.load(Ordering::Relaxed),
                dropped: DROPPED.load(Ordering::Relaxed),
                remaining: b.stats().map_or(0, |s| s.chunks),
                error: Some(format!(
                    "the exporter was stopped at its {} s deadline",
                    BACKGROUND_DEADLINE.as_secs()
                )),
                skipped: 0,
            };
            let _ = b.record_export(&outcome);
        }
        std::process::exit(3);
    });
    loop {
        let Ok(Some(lock)) = buffer.try_lock_exporter() else {
            return ExitCode::SUCCESS; // another exporter is at work
        };
        let Some(dest) = effective_destination(&buffer) else {
            return ExitCode::SUCCESS;
        };
        let outcome = drain(&buffer, &dest, deadline, &mut |_| {});
        drop(lock);
        // A dispatch may have stored a chunk after our last read of the queue and started an
        // exporter that found our lock still taken and left. Look again once the lock is
        // released, so that chunk does not wait for the next dispatch. Stop if this drain
        // stopped early (failure, deadline): the next dispatch retries.
        let left = buffer.stats().map_or(0, |s| s.chunks);
        if outcome.remaining > 0 || left == 0 || Instant::now() >= deadline {
            return ExitCode::SUCCESS;
        }
    }
}

/// Logs the last export's problem, once: the next dispatch after a failed export says so in one
/// line (naming the URL and the status or error), then stays quiet until another export fails.
pub fn report_last_export(buffer: &Buffer) {
    let Ok(Some(last)) = buffer.last_export() else {
        return;
    };
    let mut problems: Vec<String> = last.error.iter().cloned().collect();
    if last.skipped > 0 {
        problems.push(format!(
            "{} file(s) in the buffer skipped as not chunks of ours (left in place; \
             `trace dump` names them)",
            last.skipped
        ));
    }
    if problems.is_empty() {
        return;
    }
    let error = problems.join("; ");
    let stamp = format!("{}:{}:{}", last.at_unix, last.sent, last.remaining);
    if buffer.reported_export().as_deref() == Some(stamp.as_str()) {
        return;
    }
    log::warn!(
        "tracing: last export to {}: {} (sent {}, dropped {}, {} chunk(s) kept)",
        redact(&last.url),
        redact(&error),
        last.sent,
        last.dropped,
        last.remaining
    );
    buffer.set_reported_export(&stamp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_flush_deadline_is_short_and_overridable() {
        assert_eq!(stop_flush_deadline_from(None), Duration::from_secs(5));
        assert_eq!(
            stop_flush_deadline_from(Some("1.5")),
            Duration::from_millis(1500)
        );
        assert_eq!(stop_flush_deadline_from(Some("0")), Duration::ZERO);
        assert_eq!(stop_flush_deadline_from(Some("3600")), MAX_STOP_FLUSH);
        for bad in ["-1", "soon", "", "NaN", "inf"] {
            assert_eq!(
                stop_flush_deadline_from(Some(bad)),
                STOP_FLUSH_DEADLINE,
                "{bad}"
            );
        }
    }

    #[test]
    fn request_timeout_follows_the_opentelemetry_variables() {
        let env = crate::trace::fake_env;
        assert_eq!(request_timeout_from(env(&[])), REQUEST_TIMEOUT);
        assert_eq!(
            request_timeout_from(env(&[(TIMEOUT_ENV[1], "1500")])),
            Duration::from_millis(1500)
        );
        assert_eq!(
            request_timeout_from(env(&[(TIMEOUT_ENV[0], "250"), (TIMEOUT_ENV[1], "1500")])),
            Duration::from_millis(250)
        );
        for bad in ["0", "-1", "soon", ""] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(TIMEOUT_ENV[0], bad)]));
            assert_eq!(request_timeout_from(env(pairs)), REQUEST_TIMEOUT, "{bad:?}");
        }
    }
}
