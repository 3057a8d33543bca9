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
//! [`drain`] sends the best chunks first (highest priority, oldest first) over one keep-alive
//! connection: 2xx deletes the chunk; a permanent rejection (4xx other than 408/429) drops it
//! — a chunk the collector will never take must not block the queue, as it does in ops; 5xx,
//! 408, 429, timeouts and network errors stop the drain and keep the chunk for the next one.
//! One drain sends for as long as its deadline allows, so a full 40 MiB backlog empties in a
//! bounded number of dispatches, observed data first.
//!
//! The background exporter cannot log through `juju-log` (its hook has ended), so it records its
//! outcome beside the buffer; the next dispatch reports a failure in one log line
//! ([`report_last_export`]) — one line per dispatch, not one per attempt.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::buffer::{Buffer, Destination, ExportOutcome};
use super::export::{Outcome, Sender};
use super::requirer::env_endpoint;

/// The hidden command that runs the background exporter.
pub const BACKGROUND_COMMAND: &str = "__export";
/// The background exporter's hard deadline: it exits after this, whatever it is doing.
pub const BACKGROUND_DEADLINE: Duration = Duration::from_secs(30);
/// The timeout of one POST.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const BATCH: usize = 32;
const REPORTED_FILE: &str = "reported-export";

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
        at_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        url: dest.url.clone(),
        sent: 0,
        dropped: 0,
        remaining: 0,
        error: None,
    };
    let left = deadline.saturating_duration_since(Instant::now());
    match Sender::new(&dest.url, dest.ca.as_deref(), left.min(REQUEST_TIMEOUT)) {
        Err(e) => outcome.error = Some(e.to_string()),
        Ok(sender) => {
            'outer: while Instant::now() < deadline {
                let batch = match buffer.export_queue(BATCH) {
                    Ok(b) if b.is_empty() => break,
                    Ok(b) => b,
                    Err(e) => {
                        outcome.error = Some(format!("reading the buffer: {e}"));
                        break;
                    }
                };
                for chunk in batch {
                    // Each POST must end by the deadline.
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break 'outer;
                    }
                    let outcome_text = match sender.post_within(&chunk.data, left) {
                        Outcome::Delivered(_) => {
                            outcome.sent += 1;
                            format!("sent chunk {} (priority {})", chunk.id, chunk.priority)
                        }
                        Outcome::Rejected(status) => {
                            outcome.dropped += 1;
                            let msg = format!(
                                "{} rejected chunk {} with HTTP {status}; dropped it",
                                dest.url, chunk.id
                            );
                            outcome.error = Some(msg.clone());
                            msg
                        }
                        Outcome::Retry(why) => {
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
    outcome.remaining = buffer.stats().map(|s| s.chunks).unwrap_or(0);
    if let Err(e) = buffer.record_export(&outcome) {
        progress(&format!("cannot record the export outcome: {e}"));
    }
    outcome
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
            super::requirer::ENV_TRACES_ENDPOINT,
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
        dest.url
    );
    let outcome = drain(&buffer, &dest, deadline, &mut |m| eprintln!("  {m}"));
    eprintln!(
        "sent {}, dropped {}, remaining {}{}",
        outcome.sent,
        outcome.dropped,
        outcome.remaining,
        outcome
            .error
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    Ok(outcome.remaining)
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
    std::thread::spawn(|| {
        std::thread::sleep(BACKGROUND_DEADLINE + Duration::from_secs(1));
        std::process::exit(3);
    });
    let deadline = Instant::now() + BACKGROUND_DEADLINE;
    let Ok(buffer) = Buffer::open(charm_dir) else {
        return ExitCode::FAILURE;
    };
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
    let Some(error) = &last.error else {
        return;
    };
    let marker = buffer.dir().join(REPORTED_FILE);
    let stamp = format!("{}:{}:{}", last.at_unix, last.sent, last.remaining);
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(stamp.as_str()) {
        return;
    }
    log::warn!(
        "tracing: last export to {}: {error} (sent {}, dropped {}, {} chunk(s) kept)",
        last.url,
        last.sent,
        last.dropped,
        last.remaining
    );
    let _ = crate::state::write_atomic(&marker, stamp.as_bytes());
}
