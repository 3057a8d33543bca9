//! The command line a person uses outside a hook: `simulate`, `trace status|dump|flush`, `help`.
//!
//! Every command is reachable through `./dispatch <command>`; they read `JUJU_CHARM_DIR`,
//! defaulting to the directory of `dispatch`. `simulate` runs the in-memory Juju of the test
//! harness, so it is in a charm's binary only with charmkit's `testing` feature; without it the
//! command says so.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "testing")]
mod simulate;

use crate::framework::Charm;
use crate::trace::buffer::Buffer;

/// The usage text: `simulate` is listed when this build has it (charmkit's `testing` feature).
fn usage() -> String {
    #[cfg(feature = "testing")]
    let simulate = simulate::USAGE;
    #[cfg(not(feature = "testing"))]
    let simulate = "";
    format!(
        "usage: dispatch [COMMAND]

Juju runs `dispatch` with JUJU_DISPATCH_PATH set, once per event. Run by a person, it takes:

{simulate}  trace status [--json]      the trace buffer: location, chunks, bytes, cap, destination, last export
  trace dump                 every buffered chunk as OTLP/JSON, one document per line, oldest first
  trace flush [--timeout S]  send the buffer to its destination now; non-zero exit if data remains
  help                       this text

The trace buffer lives under $JUJU_CHARM_DIR (default: the directory of `dispatch`)."
    )
}

/// Runs a command; returns the process exit status. (The charm type is for `simulate`.)
#[cfg_attr(not(feature = "testing"), allow(clippy::extra_unused_type_parameters))]
pub(crate) fn run<C: Charm>(args: &[String]) -> ExitCode {
    crate::logging::init();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["help"] | ["--help"] | ["-h"] => {
            if words.is_empty() {
                eprintln!("JUJU_DISPATCH_PATH is not set: this is not a Juju hook.\n");
            }
            println!("{}", usage());
            if words.is_empty() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        #[cfg(feature = "testing")]
        ["simulate", rest @ ..] => match simulate::SimulateArgs::parse(rest) {
            Ok(a) => simulate::simulate::<C>(&charm_dir(), a),
            Err(e) => {
                eprintln!("error: {e}\n\n{}", usage());
                ExitCode::from(2)
            }
        },
        #[cfg(not(feature = "testing"))]
        ["simulate", ..] => {
            eprintln!(
                "simulate is not in this build: it comes with charmkit's `testing` feature \
                 (enable it in the charm's Cargo.toml)"
            );
            ExitCode::from(2)
        }
        ["trace", "status"] => trace_status(false),
        ["trace", "status", "--json"] => trace_status(true),
        ["trace", "dump"] => trace_dump(),
        ["trace", "flush", rest @ ..] => trace_flush(rest),
        [crate::trace::drain::BACKGROUND_COMMAND] => {
            crate::trace::drain::background_child(&charm_dir())
        }
        _ => {
            eprintln!("unknown command: {}\n\n{}", args.join(" "), usage());
            ExitCode::from(2)
        }
    }
}

/// The charm directory outside Juju: `JUJU_CHARM_DIR`, else the directory of the `dispatch`
/// script that ran us (`CHARMKIT_DISPATCH_DIR`, set by it), else our own directory when we are
/// `dispatch` (a packed charm), else the current directory.
fn charm_dir() -> PathBuf {
    for var in ["JUJU_CHARM_DIR", "CHARMKIT_DISPATCH_DIR"] {
        if let Some(d) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return PathBuf::from(d);
        }
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .filter(|exe| exe.file_name().is_some_and(|n| n == "dispatch"))
        .and_then(|exe| exe.parent().map(PathBuf::from))
    {
        return dir;
    }
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

pub(crate) fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

fn trace_status(json: bool) -> ExitCode {
    let status = match crate::trace::status(&charm_dir()) {
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
    // Read-only: a unit that never buffered anything has nothing to dump (and gets no buffer).
    let buffer = match Buffer::open_existing(&charm_dir()) {
        Ok(Some(b)) => b,
        Ok(None) => return ExitCode::SUCCESS,
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
    match crate::trace::flush(&charm_dir(), std::time::Duration::from_secs_f64(timeout)) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(left) => {
            eprintln!("{left} chunk(s) remain in the buffer");
            ExitCode::FAILURE
        }
        Err(e) => fail(e),
    }
}
