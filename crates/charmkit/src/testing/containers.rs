//! Workload containers in the harness: during a dispatch each container of the [`State`] is
//! served by its own [`FakePebble`], and every Pebble call the charm makes is recorded, in
//! order, as a [`PebbleCall`]; after it, the containers go back into the state as the charm
//! left them.
//!
//! A container the metadata declares but the state does not hold has no Pebble at all: asking
//! the model for it is an [`Error::Inconsistent`] that fails the handler (under Juju every
//! declared container exists; a test that leaves one out is incomplete, as Scenario says).

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::pebble::{Container, FakePebble, FsKind};
use super::State;
use crate::error::{Error, Result};
use crate::model::PebbleConnector;
use crate::pebble::{self, Request, Response, Transport, WebSocket};

/// One Pebble call the charm made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PebbleCall {
    /// The container whose Pebble it went to.
    pub container: String,
    /// `GET` or `POST`.
    pub method: String,
    /// The path with its query (`/v1/services?names=web`); bodies are not kept.
    pub path: String,
}

impl fmt::Display for PebbleCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}", self.container, self.method, self.path)
    }
}

type Calls = Arc<Mutex<Vec<PebbleCall>>>;

fn record(calls: &Calls, call: PebbleCall) {
    calls.lock().unwrap_or_else(|p| p.into_inner()).push(call);
}

/// The fake Pebbles of one dispatch, one per container of the state.
pub(crate) struct FakeContainers {
    fakes: Vec<FakePebble>,
    calls: Calls,
}

impl FakeContainers {
    /// Takes the containers out of `state` and serves each.
    pub(crate) fn take(state: &mut State) -> FakeContainers {
        FakeContainers {
            fakes: std::mem::take(&mut state.containers)
                .into_iter()
                .map(FakePebble::new)
                .collect(),
            calls: Calls::default(),
        }
    }

    /// The containers as the dispatch left them, in the state's order.
    pub(crate) fn containers(&self) -> Vec<Container> {
        self.fakes.iter().map(FakePebble::container).collect()
    }

    /// Every call made, in order.
    pub(crate) fn calls(&self) -> Vec<PebbleCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl PebbleConnector for FakeContainers {
    fn connect(&self, container: &str) -> Result<Arc<dyn Transport>> {
        let Some(fake) = self.fakes.iter().find(|f| f.name() == container) else {
            return Err(Error::Inconsistent(format!(
                "the charm uses container {container:?}, which is declared but not in the \
                 test's State: add it with State::with_container(Container::new({container:?}))"
            )));
        };
        Ok(Arc::new(Recorded {
            container: container.to_string(),
            fake: fake.clone(),
            calls: self.calls.clone(),
        }))
    }
}

/// A fake Pebble that records each call in the dispatch's list.
#[derive(Debug)]
struct Recorded {
    container: String,
    fake: FakePebble,
    calls: Calls,
}

impl Recorded {
    fn record(&self, method: pebble::Method, path: &str) {
        record(
            &self.calls,
            PebbleCall {
                container: self.container.clone(),
                method: method.as_str().to_string(),
                path: path.to_string(),
            },
        );
    }
}

impl Transport for Recorded {
    fn roundtrip(&self, request: &Request) -> pebble::Result<Response> {
        self.record(request.method, &request.path);
        self.fake.roundtrip(request)
    }

    fn websocket(&self, path: &str) -> pebble::Result<WebSocket> {
        self.record(pebble::Method::Get, path);
        self.fake.websocket(path)
    }

    fn endpoint(&self) -> PathBuf {
        self.fake.endpoint()
    }
}

/// What `simulate` prints about the containers after a dispatch: the Pebble calls, then per
/// container its services and their statuses, its checks, and its files.
pub(crate) fn render(out: &mut String, calls: &[PebbleCall], containers: &[Container]) {
    if containers.is_empty() {
        return;
    }
    let _ = writeln!(out, "  pebble:");
    for c in calls {
        let _ = writeln!(out, "    {c}");
    }
    for c in containers {
        if !c.can_connect {
            let _ = writeln!(out, "  container {}: cannot connect", c.name);
            continue;
        }
        let plan = c.plan().unwrap_or_default();
        let services: Vec<String> = plan
            .services
            .keys()
            .map(|s| format!("{s} {}", c.service_status(s).as_str()))
            .collect();
        let checks: Vec<&String> = plan.checks.keys().collect();
        let files: Vec<String> = c
            .files
            .iter()
            .filter_map(|(path, e)| match &e.kind {
                FsKind::File(data) => Some(format!("{path} ({} bytes)", data.len())),
                FsKind::Directory => None,
            })
            .collect();
        let _ = writeln!(
            out,
            "  container {}: services [{}]; checks [{}]; files [{}]",
            c.name,
            services.join(", "),
            checks
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            files.join(", ")
        );
    }
}
