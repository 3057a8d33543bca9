//! Changes: what Pebble does asynchronously (service actions, exec). The calls that get, wait
//! for and abort them are the client's own (`client.rs`), and a failed change is an
//! [`Error::Change`](super::Error::Change) (`error.rs`): this file holds only the data.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A change's id (Pebble's ids are strings of digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeId(pub String);

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The status of a change or a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeStatus {
    /// Not started.
    Do,
    /// Running.
    Doing,
    /// Finished successfully.
    Done,
    /// Aborted.
    Abort,
    /// Being undone.
    Undo,
    /// Undoing.
    Undoing,
    /// Undone.
    Undone,
    /// Held.
    Hold,
    /// Failed.
    Error,
    /// Waiting.
    Wait,
    /// A status this client does not know.
    #[serde(untagged)]
    Other(String),
}

/// A task's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    /// What is being counted.
    #[serde(default)]
    pub label: String,
    /// Done so far.
    #[serde(default)]
    pub done: u64,
    /// In total.
    #[serde(default)]
    pub total: u64,
}

/// One task of a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Task {
    /// Its id.
    pub id: String,
    /// Its kind, e.g. `start`, `exec`.
    pub kind: String,
    /// A one-line summary, e.g. `Start service "web"`.
    pub summary: String,
    /// Its status.
    pub status: ChangeStatus,
    /// Its log lines (`<time> INFO …`, `<time> ERROR …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
    /// Its progress.
    #[serde(default)]
    pub progress: TaskProgress,
    /// When it was created (RFC 3339).
    pub spawn_time: String,
    /// When it finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_time: Option<String>,
    /// Data it exposes (exec's `exit-code`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, Json>,
}

/// A change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Change {
    /// Its id.
    pub id: ChangeId,
    /// Its kind, e.g. `start`, `replan`, `exec`.
    pub kind: String,
    /// A one-line summary.
    pub summary: String,
    /// Its status.
    pub status: ChangeStatus,
    /// Its tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    /// Whether it has finished (successfully or not).
    pub ready: bool,
    /// Pebble's error when it failed (`cannot perform the following tasks: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err: Option<String>,
    /// When it was created (RFC 3339).
    pub spawn_time: String,
    /// When it finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_time: Option<String>,
    /// Data it exposes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, Json>,
}

/// Which changes [`Client::changes`](super::Client::changes) lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChangeSelect {
    /// Those still running (Pebble's default).
    #[default]
    InProgress,
    /// Those finished.
    Ready,
    /// All.
    All,
}

impl ChangeSelect {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChangeSelect::InProgress => "in-progress",
            ChangeSelect::Ready => "ready",
            ChangeSelect::All => "all",
        }
    }
}
