//! The client: where the socket is, how a call becomes a request and its envelope a value, and
//! the changes async calls give (get, wait, abort).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value as Json};

use super::changes::{Change, ChangeId, ChangeSelect};
use super::godur;
use super::transport::{Request, SocketTransport, Transport};
use super::wire::{self, Envelope};
use super::Result;

/// The environment variable naming the directory that holds `<container>/pebble.socket`.
pub const CONTAINERS_DIR_ENV: &str = "CHARMKIT_CONTAINERS_DIR";

/// Where Juju mounts the workload containers' Pebble sockets in the charm container.
pub const DEFAULT_CONTAINERS_DIR: &str = "/charm/containers";

/// How long service actions, and exec once its streams are done, wait for their change.
const DEFAULT_CHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A Pebble client (cheap to clone: the transport is shared).
#[derive(Debug, Clone)]
pub struct Client {
    transport: Arc<dyn Transport>,
    change_timeout: Duration,
}

impl Client {
    /// The socket of `container`: `$CHARMKIT_CONTAINERS_DIR/<container>/pebble.socket`, the
    /// directory being `/charm/containers` when the variable is unset or empty.
    pub fn socket_path(container: &str) -> PathBuf {
        socket_in(std::env::var_os(CONTAINERS_DIR_ENV), container)
    }

    /// A client for the Pebble of `container` (see [`Client::socket_path`]), untraced. Within a
    /// dispatch, prefer `charmkit::tracing::pebble::client`, which makes a span per call.
    pub fn for_container(container: &str) -> Client {
        Client::with_socket(Client::socket_path(container))
    }

    /// A client for the Pebble listening on `socket`.
    pub fn with_socket(socket: impl Into<PathBuf>) -> Client {
        Client::with_transport(Arc::new(SocketTransport::new(socket)))
    }

    /// A client over any transport (the fake Pebble, a traced transport…).
    pub fn with_transport(transport: Arc<dyn Transport>) -> Client {
        Client {
            transport,
            change_timeout: DEFAULT_CHANGE_TIMEOUT,
        }
    }

    /// How long service actions and exec wait for their change (default 30 s).
    pub fn with_change_timeout(mut self, timeout: Duration) -> Client {
        self.change_timeout = timeout;
        self
    }

    /// The change timeout in use.
    pub fn change_timeout(&self) -> Duration {
        self.change_timeout
    }

    /// The transport.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// Sends `request` and reads its envelope.
    pub(crate) fn call(&self, request: &Request) -> Result<Envelope> {
        let response = self.transport.roundtrip(request)?;
        wire::parse(&request.describe(), response.status, &response.body)
    }

    /// GETs `path` and decodes the result.
    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let request = Request::get(path);
        self.call(&request)?.decode(&request.describe())
    }

    /// POSTs `body` as JSON to `path` and decodes the result.
    pub(crate) fn post<T: DeserializeOwned>(&self, path: &str, body: &Json) -> Result<T> {
        let request = Request::post_json(path, body);
        self.call(&request)?.decode(&request.describe())
    }

    /// POSTs `body` as JSON to `path`, expecting an async reply; returns the change id and the
    /// result.
    pub(crate) fn post_async(&self, path: &str, body: &Json) -> Result<(String, Json)> {
        let request = Request::post_json(path, body);
        let envelope = self.call(&request)?;
        match envelope.change {
            Some(id) => Ok((id, envelope.result)),
            None => Err(super::Error::protocol(
                &request.describe(),
                "a sync reply where an async one (with a change id) was expected",
            )),
        }
    }
}

/// Changes: an async call (a service action, exec) gives one; these get, wait for and abort it.
impl Client {
    /// One change, as it is now.
    pub fn change(&self, id: &ChangeId) -> Result<Change> {
        self.get(&format!("/v1/changes/{}", encode(&id.0)))
    }

    /// The changes `select` picks, only those concerning `service` when given.
    pub fn changes(&self, select: ChangeSelect, service: Option<&str>) -> Result<Vec<Change>> {
        let path = with_query(
            "/v1/changes",
            &[
                ("select", select.as_str().to_owned()),
                ("for", service.unwrap_or_default().to_owned()),
            ],
        );
        self.get(&path)
    }

    /// Waits until the change is ready, for at most `timeout` (Pebble answers 504 then:
    /// [`Error::is_timeout`](super::Error::is_timeout)). A failed change is returned as it is; see
    /// [`Change::into_result`].
    pub fn wait_change(&self, id: &ChangeId, timeout: Duration) -> Result<Change> {
        // Pebble's wait blocks forever without a timeout: always send one.
        let timeout = timeout.max(Duration::from_millis(1));
        let path = format!(
            "/v1/changes/{}/wait?timeout={}",
            encode(&id.0),
            godur::format(timeout)
        );
        self.get(&path)
    }

    /// Aborts a change that is not finished yet; returns it.
    pub fn abort_change(&self, id: &ChangeId) -> Result<Change> {
        self.post(
            &format!("/v1/changes/{}", encode(&id.0)),
            &json!({"action": "abort"}),
        )
    }
}

/// The socket of `container` under `dir` (the value of [`CONTAINERS_DIR_ENV`]; unset or empty:
/// [`DEFAULT_CONTAINERS_DIR`]).
fn socket_in(dir: Option<std::ffi::OsString>, container: &str) -> PathBuf {
    let dir = dir
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONTAINERS_DIR));
    dir.join(container).join("pebble.socket")
}

/// Percent-encodes a query value (RFC 3986 unreserved characters and `/` are kept, so paths read
/// naturally; `,` separates list items, as Pebble's `names=a,b`).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Builds `path?k=v&…` from the pairs whose value is not empty.
pub(crate) fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Adds the owner fields exec and the file calls share (`user-id`, `user`, `group-id`,
/// `group`): those that are set.
pub(crate) fn insert_owner(
    m: &mut Map<String, Json>,
    user_id: Option<u32>,
    user: Option<&str>,
    group_id: Option<u32>,
    group: Option<&str>,
) {
    if let Some(u) = user_id {
        m.insert("user-id".into(), json!(u));
    }
    if let Some(u) = user {
        m.insert("user".into(), json!(u));
    }
    if let Some(g) = group_id {
        m.insert("group-id".into(), json!(g));
    }
    if let Some(g) = group {
        m.insert("group".into(), json!(g));
    }
}

/// Joins names for a `names=a,b` query ([`with_query`] encodes the commas, as Go's
/// `url.Values` does).
pub(crate) fn names(list: &[&str]) -> String {
    list.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_path_defaults_and_honours_the_environment() {
        // The variable's value is passed in: no test changes the process environment.
        for unset in [None, Some("".into())] {
            assert_eq!(
                socket_in(unset, "workload"),
                PathBuf::from("/charm/containers/workload/pebble.socket")
            );
        }
        assert_eq!(
            socket_in(Some("/tmp/cs".into()), "web"),
            PathBuf::from("/tmp/cs/web/pebble.socket")
        );
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(
            with_query(
                "/v1/files",
                &[
                    ("action", "read".into()),
                    ("path", "/tmp/a b&c".into()),
                    ("pattern", String::new())
                ]
            ),
            "/v1/files?action=read&path=/tmp/a%20b%26c"
        );
        assert_eq!(
            with_query("/v1/services", &[("names", String::new())]),
            "/v1/services"
        );
    }
}
