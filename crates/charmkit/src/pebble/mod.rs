//! A client for Pebble, the service manager that runs a Kubernetes sidecar charm's workload.
//!
//! A sidecar charm drives its workload container through Pebble's HTTP API on a unix socket:
//! `/charm/containers/<container>/pebble.socket` (the directory is `$CHARMKIT_CONTAINERS_DIR`
//! when that is set, for tests and for running outside Kubernetes). [`Client`] wraps that API
//! the way ops' `ops.pebble.Client` and Pebble's own Go client do, synchronously:
//!
//! - system info and health ([`Client::system_info`], [`Client::health`],
//!   [`Client::can_connect`]);
//! - layers and the plan ([`Client::add_layer`], [`Client::plan`]);
//! - services ([`Client::services`], [`Client::start_services`], [`Client::replan_services`]…,
//!   [`Client::send_signal`]);
//! - changes ([`Client::change`], [`Client::wait_change`], [`Client::abort_change`]);
//! - checks ([`Client::checks`], [`Client::start_checks`], [`Client::stop_checks`]);
//! - files ([`Client::push`], [`Client::pull`], [`Client::list_files`], [`Client::make_dir`],
//!   [`Client::remove_path`], [`Client::exists`]);
//! - exec over websockets ([`Client::exec`]);
//! - notices ([`Client::notices`], [`Client::notice`], [`Client::notify`]).
//!
//! Every call goes through a [`Transport`]: [`SocketTransport`] speaks HTTP/1.1 over the unix
//! socket (ureq, with a unix-socket connector) and websockets over it (tungstenite); the test
//! harness's fake Pebble is another transport, and `charmkit::tracing::pebble` wraps any
//! transport to make one span per call. Errors are one typed [`Error`]: the socket is missing or
//! refuses ([`Error::Connection`], what [`Client::can_connect`] reports as `false`), Pebble said
//! no ([`Error::Api`], with its `kind`, message and status code), a change failed
//! ([`Error::Change`], with the failed tasks' logs), a command exited non-zero ([`Error::Exec`],
//! with its stdout and stderr), or a file action failed for one path ([`Error::File`]).
//!
//! As in ops, service actions ([`Client::start_services`]…) wait for their change and fail with
//! [`Error::Change`] carrying the task logs, so "the service exited quickly" is in the error, not
//! behind a second call. Where this differs from ops on purpose: bodies (pushed and pulled files,
//! exec's stdin and output) are held in memory, where ops can stream them — fine for the
//! configuration files and short commands a charm handles, not meant for gigabytes.

mod changes;
mod checks;
mod client;
mod error;
pub(crate) mod exec;
mod files;
pub(crate) mod godur;
mod layer;
pub(crate) mod multipart;
mod notices;
mod services;
mod system;
mod transport;
pub(crate) mod wire;

pub use changes::{Change, ChangeId, ChangeSelect, ChangeStatus, Task, TaskProgress};
pub use checks::{CheckInfo, CheckStatus};
pub use client::{Client, CONTAINERS_DIR_ENV, DEFAULT_CONTAINERS_DIR};
pub use error::Error;
pub use exec::{ExecOptions, ExecOutput};
pub use files::{FileInfo, FileOptions, FileType};
pub use layer::{
    Check, CheckLevel, ExecCheck, HttpCheck, Layer, LogTarget, Override, Plan, Service,
    ServiceAction, Startup, TcpCheck,
};
pub use notices::{Notice, NoticeType, NoticesFilter};
pub use services::{ServiceInfo, ServiceStatus};
pub use system::SystemInfo;
pub use transport::{Method, Request, Response, SocketTransport, Transport, WebSocket, WsStream};

/// The result type of Pebble calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
