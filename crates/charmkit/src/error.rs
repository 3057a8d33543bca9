//! The framework's error type.
//!
//! One `#[non_exhaustive]` enum for the whole crate, in the style of ureq: every variant carries
//! what a field engineer needs to act on it (the variable, the tool and its exit status and
//! stderr, the file and the line), and nothing secret (hook-tool arguments that can hold secret
//! values are redacted before they reach an error).
//!
//! ## The error map
//!
//! | variant | raised when | what to do |
//! |---|---|---|
//! | [`Error::Env`] | a `JUJU_*` variable is missing or malformed, or one Juju always sets for the event is absent | a Juju bug or a hand-run `dispatch`: set the variable |
//! | [`Error::HookTool`] | a hook tool exited non-zero (its status and stderr, arguments redacted) | read the tool's stderr; Juju retries the hook |
//! | [`Error::ToolSpawn`] | a hook tool could not be started | the tool is not on `PATH`: not under Juju? |
//! | [`Error::ToolOutput`] | a hook tool printed something we cannot parse | a Juju version mismatch: report it |
//! | [`Error::Metadata`] | `charmcraft.yaml` & co. are unreadable or malformed (file, line, column) | fix the file |
//! | [`Error::Usage`] | the code asks for what the metadata or Juju forbids: an observer on an undeclared endpoint, a handler registered twice, deferring an action, writing a remote databag | fix the charm's code |
//! | [`Error::Config`] | `Model::config` cannot decode an option into the charm's type | names the option; fix the config or the type |
//! | [`Error::StoredValue`] | a stored value does not decode into the type asked for | names the owner and key; migrate or remove it |
//! | [`Error::RelationData`] | a databag does not decode into the type asked for (`load`) or a value cannot be encoded (`save`) | names the relation, the databag and the key |
//! | [`Error::Action`] | action parameters do not decode, or results are not a map | names the action |
//! | [`Error::State`] | the stored-state file cannot be written | disk full or read-only? |
//! | [`Error::Io`] | any other I/O error, with what we were doing | |
//! | [`Error::RelationNotFound`] | a hook tool was given a relation Juju does not know (never existed, or gone) — `relation not found`, exit 2 | the relation is gone: skip it; the tool's failure is the `source()` |
//! | [`Error::SecretNotFound`] | a `secret-*` tool was given a secret Juju does not know, or this unit cannot see it | removed, never granted, or a wrong label: names the id or label |
//! | [`Error::ResourceNotFound`] | `resource-get` of a resource not declared or never attached | `juju attach-resource`, or check the name |
//! | [`Error::Handler`] | a handler returned an error or panicked: the observer, the event, and the handler's own error as [`std::error::Error::source`] (downcast it with [`Error::handler_error`]) | the charm's own error |
//! | [`Error::Pebble`] | a Pebble call the framework makes for a handler (e.g. fetching a Pebble event's notice) failed: the container and the [`crate::pebble::Error`] as its `source()` | see the Pebble error; `can_connect()` false means the container is not up |
//! | [`Error::Inconsistent`] | the test harness refuses an inconsistent test (an undeclared endpoint, a relation event without its relation…) | fix the test |
//!
//! A hook fails (Juju retries it) on any error out of a handler or the framework; tracing
//! never fails a hook.

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
    /// A config option does not decode into the type the charm asked for.
    Config {
        /// The option's name (or the path into it, `option.field`), empty if the whole config
        /// does not fit the type.
        option: String,
        /// What is wrong.
        message: String,
    },
    /// A stored value does not decode into the type asked for, or cannot be encoded.
    StoredValue {
        /// The owner (`charm`, or a library such as `Tracing`).
        owner: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A relation databag does not decode into the type asked for, or a value to save cannot be
    /// encoded.
    RelationData {
        /// The relation, `endpoint:id`.
        relation: String,
        /// Whose databag: an application or unit name.
        bag: String,
        /// The key (or path into it), if the problem is in one.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// An action's parameters do not decode into the type asked for, or its results are not a
    /// map.
    Action {
        /// The action's name.
        action: String,
        /// What is wrong.
        message: String,
    },
    /// A handler returned an error or panicked. The handler's own error is the
    /// [`source`](std::error::Error::source), with its type intact.
    Handler {
        /// The observer, `Owner.handler`.
        observer: String,
        /// The event it was handling (`start`, `db_relation_changed`).
        event: String,
        /// The handler's error (a [`Panic`] if it panicked).
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The test harness refuses an inconsistent test: the message names the inconsistency.
    Inconsistent(String),
    /// A Pebble call the framework made for the charm failed.
    Pebble {
        /// The container.
        container: String,
        /// The Pebble error.
        source: crate::pebble::Error,
    },
}

/// A handler's panic, as the [`source`](std::error::Error::source) of an [`Error::Handler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    /// The panic's message.
    pub message: String,
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panicked: {}", self.message)
    }
}

impl std::error::Error for Panic {}

impl Error {
    /// An [`Error::Io`] with context.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// For an [`Error::Handler`]: the handler's own error, if it is an `E` — e.g. to assert on
    /// it in a test: `out.error.unwrap().handler_error::<MyError>()`.
    pub fn handler_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Error::Handler { source, .. } => source.downcast_ref::<E>(),
            _ => None,
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
            Error::RelationNotFound { relation, source } => {
                write!(f, "relation {relation} not found: {source}")
            }
            Error::SecretNotFound { secret, source } => {
                write!(f, "secret {secret} not found: {source}")
            }
            Error::ResourceNotFound { resource, source } => {
                write!(f, "resource {resource:?} not found: {source}")
            }
            Error::Config { option, message } if option.is_empty() => {
                write!(f, "config: {message}")
            }
            Error::Config { option, message } => write!(f, "config option {option}: {message}"),
            Error::StoredValue {
                owner,
                key,
                message,
            } => write!(f, "stored value {key:?} of {owner}: {message}"),
            Error::RelationData {
                relation,
                bag,
                key,
                message,
            } => {
                write!(f, "relation {relation}, databag of {bag}")?;
                if let Some(k) = key {
                    write!(f, ", key {k:?}")?;
                }
                write!(f, ": {message}")
            }
            Error::Action { action, message } => write!(f, "action {action}: {message}"),
            Error::Handler {
                observer,
                event,
                source,
            } => write!(f, "{observer} failed on {event}: {source}"),
            Error::Inconsistent(m) => write!(f, "inconsistent test: {m}"),
            Error::Pebble { container, source } => write!(f, "container {container}: {source}"),
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
            Error::Handler { source, .. } => Some(&**source),
            Error::Pebble { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The framework's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Decodes `value` as `T`; on failure, the path to the offending field (`a.b[2]`, empty for the
/// top level) and serde's message.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> std::result::Result<T, (String, serde_json::Error)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        (
            if path == "." { String::new() } else { path },
            e.into_inner(),
        )
    })
}
