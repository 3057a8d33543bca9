//! The command line a person uses outside a hook: `simulate`, `trace status|dump|flush`, `help`.
//!
//! Every command is reachable through `./dispatch <command>`; they read `JUJU_CHARM_DIR`,
//! defaulting to the directory of `dispatch`.

use std::io::Write;
use std::process::ExitCode;

use crate::framework::Charm;
use crate::meta::Metadata;
use crate::runtime::charm_dir;
use crate::testing::{Simulation, Trigger};
use crate::tracing::buffer::Buffer;

/// The usage text.
pub const USAGE: &str = "\
usage: dispatch [COMMAND]

Juju runs `dispatch` with JUJU_DISPATCH_PATH set, once per event. Run by a person, it takes:

  simulate [EVENT...]        run events against an in-memory Juju and show what the charm did:
                             hook-tool calls, status, logs and the span tree of each dispatch.
                             EVENT is a hook (install, config-changed, charm-tracing-relation-created)
                             or an action (actions/trace-status). Default: install leader-elected
                             config-changed start update-status
  trace status [--json]      the trace buffer: location, chunks, bytes, cap, destination, last export
  trace dump                 every buffered chunk as OTLP/JSON, one document per line, oldest first
  trace flush [--timeout S]  send the buffer to its destination now; non-zero exit if data remains
  help                       this text

The trace buffer lives under $JUJU_CHARM_DIR (default: the directory of `dispatch`).";

/// Runs a command; returns the process exit status.
pub fn run<C: Charm>(args: &[String]) -> ExitCode {
    crate::logging::init();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["help"] | ["--help"] | ["-h"] => {
            if words.is_empty() {
                eprintln!("JUJU_DISPATCH_PATH is not set: this is not a Juju hook.\n");
            }
            println!("{USAGE}");
            if words.is_empty() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        ["simulate", events @ ..] => simulate::<C>(events),
        ["trace", "status"] => trace_status(false),
        ["trace", "status", "--json"] => trace_status(true),
        ["trace", "dump"] => trace_dump(),
        ["trace", "flush", rest @ ..] => trace_flush(rest),
        [crate::tracing::drain::BACKGROUND_COMMAND] => {
            crate::tracing::drain::background_child(&charm_dir())
        }
        _ => {
            eprintln!("unknown command: {}\n\n{USAGE}", args.join(" "));
            ExitCode::from(2)
        }
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

const DEFAULT_SEQUENCE: &[&str] = &[
    "install",
    "leader-elected",
    "config-changed",
    "start",
    "update-status",
];

fn simulate<C: Charm>(events: &[&str]) -> ExitCode {
    let dir = charm_dir();
    let meta = match Metadata::from_dir(&dir) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let events: Vec<&str> = if events.is_empty() {
        DEFAULT_SEQUENCE.to_vec()
    } else {
        events.to_vec()
    };
    let mut sim = match Simulation::new(meta) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for name in events {
        let trigger = match Trigger::parse(name, sim.meta()) {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        let report = sim.run::<C>(trigger);
        let _ = write!(out, "{}", report.render());
        failed |= report.error.is_some();
    }
    let _ = out.flush();
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn open_buffer() -> std::io::Result<Buffer> {
    Buffer::open(&charm_dir())
}

fn trace_status(json: bool) -> ExitCode {
    let status = match crate::tracing::status(&charm_dir()) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", status.to_json());
    } else {
        print!("{}", status.render());
    }
    ExitCode::SUCCESS
}

fn trace_dump() -> ExitCode {
    let buffer = match open_buffer() {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let chunks = match buffer.chunks_oldest_first() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut out = std::io::stdout().lock();
    for chunk in chunks {
        // Chunks are single-line JSON documents.
        let _ = out.write_all(&chunk.data);
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

fn trace_flush(args: &[&str]) -> ExitCode {
    let timeout = match args {
        [] => 30.0,
        ["--timeout", secs] => match secs.parse::<f64>() {
            Ok(s) if s > 0.0 && s.is_finite() => s,
            _ => return fail(format!("--timeout takes a number of seconds, not {secs:?}")),
        },
        _ => return fail("usage: trace flush [--timeout SECS]"),
    };
    match crate::tracing::flush(&charm_dir(), std::time::Duration::from_secs_f64(timeout)) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(left) => {
            eprintln!("{left} chunk(s) remain in the buffer");
            ExitCode::FAILURE
        }
        Err(e) => fail(e),
    }
}
