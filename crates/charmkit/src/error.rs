//! The framework's error type.
//!
//! One `#[non_exhaustive]` enum for the whole crate, in the style of ureq: every variant carries
//! what a field engineer needs to act on it (the variable, the tool and its exit status and
//! stderr, the file and the line), and nothing secret (hook-tool arguments that can hold secret
//! values are redacted before they reach an error).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Anything that can go wrong in the framework.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A `JUJU_*` environment variable is missing or malformed.
    Env {
        /// The variable's name.
        var: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A hook tool ran and exited non-zero.
    HookTool {
        /// The tool, e.g. `relation-get`.
        tool: String,
        /// Its arguments, with secret values replaced by `<redacted>`.
        args: Vec<String>,
        /// The exit status, or `None` if it was killed by a signal.
        status: Option<i32>,
        /// What it wrote on stderr, trimmed.
        stderr: String,
    },
    /// A hook tool could not be started (not on PATH, not executable…).
    ToolSpawn {
        /// The tool.
        tool: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// A hook tool answered something we could not understand (e.g. invalid JSON).
    ToolOutput {
        /// The tool.
        tool: String,
        /// What was wrong with the output.
        detail: String,
    },
    /// `charmcraft.yaml`, `metadata.yaml`, `config.yaml` or `actions.yaml` is unreadable or malformed.
    Metadata {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// 1-based column of the problem, when known.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The charm's metadata does not allow what the code asked for (e.g. `Tracing` on a relation
    /// that is not declared, or declared with the wrong interface).
    Usage(String),
    /// Stored state could not be read or written.
    State {
        /// The state file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An I/O error, with what we were doing.
    Io {
        /// What we were doing, e.g. `writing /var/lib/juju/…/.charmkit-state.json`.
        context: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// A handler failed; the message is the handler's.
    Handler(String),
    /// Juju does not know the relation a hook tool was given (`-r`): it never existed, or is
    /// gone. Juju says `invalid value "db:9" for flag -r: relation not found` (exit 2).
    RelationNotFound {
        /// The relation as it was passed, e.g. `db:9`.
        relation: String,
        /// The tool's failure ([`Error::HookTool`]).
        source: Box<Error>,
    },
    /// Juju does not know the secret a `secret-*` tool was given, or this unit cannot see it.
    SecretNotFound {
        /// The secret's id or label, as it was passed.
        secret: String,
        /// The tool's failure ([`Error::HookTool`]).
        source: Box<Error>,
    },
    /// `resource-get` found no such resource: not declared by the charm, or never uploaded.
    ResourceNotFound {
        /// The resource's name.
        resource: String,
        /// The tool's failure ([`Error::HookTool`]).
        source: Box<Error>,
    },
}

impl Error {
    /// An [`Error::Io`] with context.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An [`Error::ToolOutput`].
    pub fn tool_output(tool: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::ToolOutput {
            tool: tool.into(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Env { var, reason } => write!(f, "environment variable {var}: {reason}"),
            Error::HookTool {
                tool,
                args,
                status,
                stderr,
            } => {
                write!(f, "hook tool `{tool}")?;
                for a in args {
                    write!(f, " {a}")?;
                }
                match status {
                    Some(code) => write!(f, "` exited with status {code}")?,
                    None => write!(f, "` was killed by a signal")?,
                }
                if !stderr.is_empty() {
                    write!(f, ": {stderr}")?;
                }
                Ok(())
            }
            Error::ToolSpawn { tool, source } => {
                write!(f, "could not run hook tool `{tool}`: {source}")
            }
            Error::ToolOutput { tool, detail } => {
                write!(f, "hook tool `{tool}` returned unexpected output: {detail}")
            }
            Error::Metadata {
                path,
                line,
                column,
                message,
            } => {
                write!(f, "{}", path.display())?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                    if let Some(c) = column {
                        write!(f, ":{c}")?;
                    }
                }
                write!(f, ": {message}")
            }
            Error::Usage(m) => write!(f, "{m}"),
            Error::State { path, message } => {
                write!(f, "stored state {}: {message}", path.display())
            }
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Handler(m) => write!(f, "{m}"),
            Error::RelationNotFound { relation, source } => {
                write!(f, "relation {relation} not found: {source}")
            }
            Error::SecretNotFound { secret, source } => {
                write!(f, "secret {secret} not found: {source}")
            }
            Error::ResourceNotFound { resource, source } => {
                write!(f, "resource {resource:?} not found: {source}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::ToolSpawn { source, .. } | Error::Io { source, .. } => Some(source),
            Error::RelationNotFound { source, .. }
            | Error::SecretNotFound { source, .. }
            | Error::ResourceNotFound { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// The framework's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
