//! Checks: their status, and starting and stopping them.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::{names, with_query, Client};
use super::layer::{CheckLevel, Startup};
use super::Result;

/// A check's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// Passing (or failing fewer times in a row than its threshold).
    Up,
    /// Failed `threshold` times in a row.
    Down,
    /// Stopped.
    Inactive,
    /// A status this client does not know.
    #[serde(untagged)]
    Other(String),
}

/// What `GET /v1/checks` says of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CheckInfo {
    /// The check's name.
    pub name: String,
    /// Its level, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<CheckLevel>,
    /// Whether it starts with the plan.
    #[serde(default = "enabled")]
    pub startup: Startup,
    /// Up, down or inactive.
    pub status: CheckStatus,
    /// Successes in a row.
    #[serde(default)]
    pub successes: u32,
    /// Failures in a row.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Failures in a row before it is down.
    #[serde(default)]
    pub threshold: u32,
    /// The change running it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    /// The change that ran it before, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_change_id: Option<String>,
}

fn enabled() -> Startup {
    Startup::Enabled
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl CheckInfo {
    /// A check that is up, enabled, with Pebble's default threshold (3).
    pub fn up(name: &str) -> CheckInfo {
        CheckInfo {
            name: name.into(),
            level: None,
            startup: Startup::Enabled,
            status: CheckStatus::Up,
            successes: 0,
            failures: 0,
            threshold: 3,
            change_id: None,
            prev_change_id: None,
        }
    }
}

#[derive(Deserialize)]
struct Changed {
    #[serde(default)]
    changed: Vec<String>,
}

/// `path?level=…&names=…`, for the checks and health endpoints (empty filters left out).
pub(crate) fn checks_query(path: &str, level: Option<CheckLevel>, checks: &[&str]) -> String {
    let level = level.map(|l| l.as_str().to_owned()).unwrap_or_default();
    with_query(path, &[("level", level), ("names", names(checks))])
}

impl Client {
    /// The checks at `level` (all levels when `None`) named in `names` (all when empty).
    pub fn checks(&self, level: Option<CheckLevel>, checks: &[&str]) -> Result<Vec<CheckInfo>> {
        self.get(&checks_query("/v1/checks", level, checks))
    }

    /// Starts the named checks; returns those that were not already running.
    pub fn start_checks(&self, checks: &[&str]) -> Result<Vec<String>> {
        self.checks_action("start", checks)
    }

    /// Stops the named checks; returns those that were running.
    pub fn stop_checks(&self, checks: &[&str]) -> Result<Vec<String>> {
        self.checks_action("stop", checks)
    }

    fn checks_action(&self, action: &str, checks: &[&str]) -> Result<Vec<String>> {
        let changed: Changed =
            self.post("/v1/checks", &json!({"action": action, "checks": checks}))?;
        Ok(changed.changed)
    }
}
