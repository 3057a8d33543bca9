//! The Pebble client's error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::changes::{Change, ChangeStatus};
use super::Result;

/// Anything a Pebble call can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Pebble could not be reached: the socket is missing, refuses connections, or the
    /// connection broke. This is what [`Client::can_connect`](super::Client::can_connect)
    /// reports as `false`; in a hook it usually means the workload container is not up yet.
    Connection {
        /// The socket (or what the transport connects to).
        socket: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Pebble answered with an error envelope (`"type":"error"`).
    Api {
        /// The request, e.g. `POST /v1/services`.
        request: String,
        /// The HTTP status code, e.g. 400.
        status_code: u16,
        /// Pebble's error kind (`not-found`, `permission-denied`, `no-default-services`…), when
        /// it gave one.
        kind: Option<String>,
        /// Pebble's message, e.g. `cannot stop services: service "x" does not exist`.
        message: String,
    },
    /// A change Pebble ran failed (its status is `Error`). The change, with every task's log,
    /// is kept: [`Display`](fmt::Display) shows Pebble's error and the failed tasks' logs.
    Change(Box<Change>),
    /// A command run with [`Client::exec`](super::Client::exec) exited non-zero.
    Exec {
        /// The command.
        command: Vec<String>,
        /// Its exit code.
        exit_code: i32,
        /// What it wrote on stdout.
        stdout: Vec<u8>,
        /// What it wrote on stderr (empty when stderr was combined into stdout).
        stderr: Vec<u8>,
    },
    /// A file action (push, pull, make-dir, remove) failed for one path, which Pebble reports
    /// inside an otherwise successful reply.
    File {
        /// The action, e.g. `push`.
        action: &'static str,
        /// The path in the container.
        path: String,
        /// Pebble's error kind: `not-found`, `permission-denied` or `generic-file-error`.
        kind: Option<String>,
        /// Pebble's message, e.g. `stat /etc/x: no such file or directory`.
        message: String,
    },
    /// Pebble answered something this client does not understand.
    Protocol {
        /// The request, e.g. `GET /v1/plan`.
        request: String,
        /// What was wrong.
        detail: String,
    },
}

impl Error {
    /// Pebble's error kind (`not-found`…), for [`Error::Api`] and [`Error::File`].
    pub fn kind(&self) -> Option<&str> {
        match self {
            Error::Api { kind, .. } | Error::File { kind, .. } => kind.as_deref(),
            _ => None,
        }
    }

    /// Whether Pebble said the thing does not exist (kind `not-found`, or HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.kind() == Some("not-found")
            || matches!(
                self,
                Error::Api {
                    status_code: 404,
                    ..
                }
            )
    }

    /// Whether this is Pebble running out of time waiting for a change (HTTP 504).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Api {
                status_code: 504,
                ..
            }
        )
    }

    /// Whether Pebble could not be reached at all.
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }

    pub(crate) fn protocol(request: &str, detail: impl fmt::Display) -> Error {
        Error::Protocol {
            request: request.to_owned(),
            detail: detail.to_string(),
        }
    }
}

/// A failed change is an error.
impl Change {
    /// `Ok(self)` unless it failed, then [`Error::Change`].
    pub fn into_result(self) -> Result<Change> {
        if self.status == ChangeStatus::Error || self.err.is_some() {
            Err(Error::Change(Box::new(self)))
        } else {
            Ok(self)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connection { socket, source } => {
                write!(
                    f,
                    "cannot connect to Pebble at {}: {source}",
                    socket.display()
                )
            }
            Error::Api {
                request,
                status_code,
                kind,
                message,
            } => {
                write!(f, "Pebble {request}: {message} (HTTP {status_code}")?;
                if let Some(k) = kind {
                    write!(f, ", kind {k}")?;
                }
                write!(f, ")")
            }
            Error::Change(change) => {
                write!(
                    f,
                    "Pebble change {} ({}) failed",
                    change.id.0, change.summary
                )?;
                if let Some(err) = &change.err {
                    write!(f, ": {err}")?;
                }
                for task in change.tasks.iter().filter(|t| !t.log.is_empty()) {
                    if task.status == ChangeStatus::Error {
                        write!(f, "\n  task {} ({}) log:", task.id, task.summary)?;
                        for line in &task.log {
                            write!(f, "\n    {line}")?;
                        }
                    }
                }
                Ok(())
            }
            Error::Exec {
                command,
                exit_code,
                stderr,
                ..
            } => {
                write!(f, "command {command:?} exited with code {exit_code}")?;
                let stderr = String::from_utf8_lossy(stderr);
                let stderr = stderr.trim();
                if !stderr.is_empty() {
                    write!(f, ": {stderr}")?;
                }
                Ok(())
            }
            Error::File {
                action,
                path,
                kind,
                message,
            } => {
                write!(f, "Pebble {action} {path}: {message}")?;
                if let Some(k) = kind {
                    write!(f, " (kind {k})")?;
                }
                Ok(())
            }
            Error::Protocol { request, detail } => {
                write!(f, "Pebble {request}: unexpected reply: {detail}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connection { source, .. } => Some(source),
            _ => None,
        }
    }
}
