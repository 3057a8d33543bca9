//! A fake Pebble that behaves like Pebble: for the test harness, and for integration tests of
//! anything that talks to Pebble over its unix socket.
//!
//! One implementation of Pebble's behaviour — the plan and its layers (combined with `override:
//! merge|replace`), services and their statuses, changes (with Pebble's summaries, task logs and
//! errors), checks and health, an in-memory filesystem (Pebble's per-item errors and its
//! multipart pull reply), exec (handlers keyed by command prefix, over real websockets) and
//! notices — answering the same HTTP requests with the same envelopes, status codes and error
//! wording as Pebble v1.32 (`internals/daemon/api*.go`). It is used two ways:
//!
//! - in memory: [`FakePebble`] is a [`Transport`], so
//!   [`FakePebble::client`] gives a [`Client`] that never touches a socket (exec's websockets
//!   run over an in-process socket pair);
//! - over a real unix socket: [`FakePebble::serve`] listens where a charm expects Pebble.
//!
//! Its state is a plain [`Container`]: build one, run, then read it back
//! ([`FakePebble::container`]) to assert on files, layers, service statuses and execs.
//!
//! Where it is simpler than Pebble (documented, never kinder): services start and stop at once
//! (no okay-delay; a service in [`Container::start_failures`] fails as Pebble reports one that
//! "exited quickly"); checks do not run (their state is [`Container::check_infos`]); exec runs
//! no process (its [`ExecHandler`] gives the output); over the socket, [`Container::can_connect`]
//! is not modelled (point the client at a missing socket). Service order is Pebble's: a start
//! brings in what is required, a stop (and a replan's stops) what requires it, ordered by
//! `after`/`before` only, and a plan with a before/after loop is refused.
//!
//! ```
//! use charmkit::pebble::{FileOptions, Layer};
//! use charmkit::testing::pebble::{Container, FakePebble};
//!
//! let fake = FakePebble::new(Container::new("workload"));
//! let client = fake.client();
//! let layer = Layer::from_yaml(
//!     "services:\n  web:\n    override: replace\n    command: /bin/web\n    startup: enabled\n",
//! ).unwrap();
//! client.add_layer("base", &layer, true).unwrap();
//! client.replan_services().unwrap();
//! client.push("/etc/web.conf", "port: 80\n", &FileOptions::default()).unwrap();
//!
//! let after = fake.container();
//! assert!(after.service_status("web") == charmkit::pebble::ServiceStatus::Active);
//! assert_eq!(after.file("/etc/web.conf"), Some(&b"port: 80\n"[..]));
//! ```

mod api;
mod changes;
pub(crate) mod checks;
mod container;
mod exec;
mod files;
mod notices;
mod plan;
mod reply;
mod server;
mod services;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::pebble::{self, Change, Client, Request, Response, Service, Transport, WebSocket};

pub use container::{
    Container, ExecHandler, ExecRecord, ExecResult, FsEntry, FsKind, StartFailure, User,
};
pub use server::PebbleServer;

/// One request the fake answered (method and path with query; bodies are not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// `GET` or `POST`.
    pub method: String,
    /// The path with its query.
    pub path: String,
}

/// Everything the daemon keeps besides the container.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub(crate) container: Container,
    pub(crate) last_change: u64,
    pub(crate) last_task: u64,
    pub(crate) last_notice: u64,
    /// The configuration each running service was started with (for replan).
    pub(crate) started_with: BTreeMap<String, Service>,
    pub(crate) executions: BTreeMap<String, exec::Execution>,
    pub(crate) requests: Vec<RequestRecord>,
    pub(crate) boot_id: String,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) daemon: Mutex<Daemon>,
    /// Signalled when a change becomes ready or a notice is added.
    pub(crate) changed: Condvar,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Daemon> {
        self.daemon.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The fake Pebble of one container. Cheap to clone: clones share the state.
#[derive(Debug, Clone)]
pub struct FakePebble {
    shared: Arc<Shared>,
}

impl FakePebble {
    /// A Pebble serving `container`. Its active services are taken to run the plan's current
    /// configuration, so a replan after a layer changes one restarts it, as Pebble would.
    pub fn new(container: Container) -> FakePebble {
        let started_with = match container.plan() {
            Ok(plan) => plan
                .services
                .into_iter()
                .filter(|(name, _)| container.service_status(name) == pebble::ServiceStatus::Active)
                .collect(),
            Err(_) => BTreeMap::new(),
        };
        let last_notice = container
            .notices
            .iter()
            .filter_map(|n| n.id.parse::<u64>().ok())
            .max()
            .unwrap_or_default();
        let last_change = container
            .changes
            .iter()
            .filter_map(|c| c.id.0.parse::<u64>().ok())
            .max()
            .unwrap_or_default();
        let last_task = container
            .changes
            .iter()
            .flat_map(|c| &c.tasks)
            .filter_map(|t| t.id.parse::<u64>().ok())
            .max()
            .unwrap_or_default();
        let daemon = Daemon {
            container,
            last_change,
            last_task,
            last_notice,
            started_with,
            executions: BTreeMap::new(),
            requests: Vec::new(),
            boot_id: "d0c8a3a4-3f3e-4a4e-9a4c-5e2c2a6f4b10".into(),
        };
        FakePebble {
            shared: Arc::new(Shared {
                daemon: Mutex::new(daemon),
                changed: Condvar::new(),
            }),
        }
    }

    /// A client talking to this fake in memory.
    pub fn client(&self) -> Client {
        Client::with_transport(Arc::new(self.clone()))
    }

    /// The container's name.
    pub fn name(&self) -> String {
        self.shared.lock().container.name.clone()
    }

    /// The container's state now.
    pub fn container(&self) -> Container {
        self.shared.lock().container.clone()
    }

    /// Changes the container's state (e.g. a service crashing, a file appearing).
    pub fn update<R>(&self, f: impl FnOnce(&mut Container) -> R) -> R {
        let r = f(&mut self.shared.lock().container);
        self.shared.changed.notify_all();
        r
    }

    /// Every change Pebble made, oldest first.
    pub fn changes(&self) -> Vec<Change> {
        self.shared.lock().container.changes.clone()
    }

    /// Every request answered, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.clone()
    }

    /// Answers `request` as Pebble would.
    pub fn handle(&self, request: &Request) -> Response {
        api::handle(&self.shared, request)
    }

    /// Serves this fake on a unix socket at `socket` (created; removed when the server is
    /// dropped), each connection on its own thread.
    pub fn serve(&self, socket: &Path) -> io::Result<PebbleServer> {
        server::serve(self.shared.clone(), socket)
    }

    fn refuse_if_down(&self) -> pebble::Result<()> {
        if self.shared.lock().container.can_connect {
            Ok(())
        } else {
            Err(pebble::Error::Connection {
                socket: self.endpoint(),
                source: io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused"),
            })
        }
    }
}

impl Transport for FakePebble {
    fn roundtrip(&self, request: &Request) -> pebble::Result<Response> {
        self.refuse_if_down()?;
        Ok(self.handle(request))
    }

    fn websocket(&self, path: &str) -> pebble::Result<WebSocket> {
        self.refuse_if_down()?;
        exec::connect_in_memory(&self.shared, path)
    }

    fn endpoint(&self) -> PathBuf {
        PathBuf::from(format!("(fake Pebble of {})", self.name()))
    }
}
