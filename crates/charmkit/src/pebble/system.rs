//! System info and health.

use serde::Deserialize;

use super::checks::checks_query;
use super::client::Client;
use super::layer::CheckLevel;
use super::Result;

/// What `GET /v1/system-info` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemInfo {
    /// Pebble's version, e.g. `v1.32.1`.
    pub version: String,
    /// The boot id of the container's kernel.
    #[serde(default)]
    pub boot_id: String,
}

#[derive(Deserialize)]
struct Health {
    healthy: bool,
}

impl Client {
    /// Pebble's version and boot id.
    pub fn system_info(&self) -> Result<SystemInfo> {
        self.get("/v1/system-info")
    }

    /// Whether Pebble can be reached and answers: `false` when the socket is missing or refuses
    /// (the container is not up yet), or anything else goes wrong (logged at debug).
    pub fn can_connect(&self) -> bool {
        match self.system_info() {
            Ok(_) => true,
            Err(e) => {
                log::debug!("Pebble is not reachable: {e}");
                false
            }
        }
    }

    /// Whether the checks at `level` (any level when `None`) named in `checks` (all when empty)
    /// are up. Pebble answers HTTP 502 when one is down; that is `Ok(false)` here.
    pub fn health(&self, level: Option<CheckLevel>, checks: &[&str]) -> Result<bool> {
        let health: Health = self.get(&checks_query("/v1/health", level, checks))?;
        Ok(health.healthy)
    }
}
