//! Services: their status, start/stop/restart/replan/autostart, and signals.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use super::changes::{Change, ChangeId};
use super::client::{names, with_query, Client};
use super::layer::Startup;
use super::Result;

/// A service's current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceStatus {
    /// Running.
    Active,
    /// Not running (never started, or stopped).
    Inactive,
    /// Exited and waiting to be restarted.
    Backoff,
    /// Exited and not restarted.
    Error,
    /// A status this client does not know.
    #[serde(untagged)]
    Other(String),
}

impl ServiceStatus {
    /// As Pebble writes it: `active`, `inactive`, `backoff`, `error`.
    pub fn as_str(&self) -> &str {
        match self {
            ServiceStatus::Active => "active",
            ServiceStatus::Inactive => "inactive",
            ServiceStatus::Backoff => "backoff",
            ServiceStatus::Error => "error",
            ServiceStatus::Other(s) => s,
        }
    }
}

/// What `GET /v1/services` says of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ServiceInfo {
    /// The service's name.
    pub name: String,
    /// Whether `replan`/`autostart` starts it.
    pub startup: Startup,
    /// Its state.
    pub current: ServiceStatus,
    /// Since when (RFC 3339), when Pebble knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_since: Option<String>,
}

impl ServiceInfo {
    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.current == ServiceStatus::Active
    }
}

impl Client {
    /// The services named in `services` (every service in the plan when empty).
    pub fn services(&self, services: &[&str]) -> Result<Vec<ServiceInfo>> {
        self.get(&with_query("/v1/services", &[("names", names(services))]))
    }

    /// One service, or `None` if the plan has no such service.
    pub fn service(&self, name: &str) -> Result<Option<ServiceInfo>> {
        Ok(self.services(&[name])?.into_iter().find(|s| s.name == name))
    }

    /// Starts the named services (and those they require) and waits for the change: an
    /// [`Error::Change`](super::Error::Change) with the task logs if one fails to start.
    pub fn start_services(&self, services: &[&str]) -> Result<Change> {
        self.services_action("start", services)
    }

    /// Stops the named services and waits for the change.
    pub fn stop_services(&self, services: &[&str]) -> Result<Change> {
        self.services_action("stop", services)
    }

    /// Restarts the named services (stopping those running) and waits for the change.
    pub fn restart_services(&self, services: &[&str]) -> Result<Change> {
        self.services_action("restart", services)
    }

    /// Brings the services in line with the plan — starts `startup: enabled` services that are
    /// not running, restarts those whose configuration changed — and waits for the change.
    pub fn replan_services(&self) -> Result<Change> {
        self.services_action("replan", &[])
    }

    /// Starts the `startup: enabled` services and waits for the change. Pebble refuses (kind
    /// `no-default-services`) when there are none.
    pub fn autostart_services(&self) -> Result<Change> {
        self.services_action("autostart", &[])
    }

    /// Sends `services_action` without waiting: the change's id.
    pub fn services_action_async(&self, action: &str, services: &[&str]) -> Result<ChangeId> {
        // As Pebble's Go client: replan and autostart take no names and send `null`.
        let list = if services.is_empty() {
            Json::Null
        } else {
            json!(services)
        };
        let (id, _) =
            self.post_async("/v1/services", &json!({"action": action, "services": list}))?;
        Ok(ChangeId(id))
    }

    fn services_action(&self, action: &str, services: &[&str]) -> Result<Change> {
        let id = self.services_action_async(action, services)?;
        let change = self.wait_change(&id, self.change_timeout())?;
        change.into_result()
    }

    /// Sends `signal` (e.g. `SIGHUP`) to the named running services.
    pub fn send_signal(&self, signal: &str, services: &[&str]) -> Result<()> {
        let _: Json = self.post(
            "/v1/signals",
            &json!({"signal": signal, "services": services}),
        )?;
        Ok(())
    }
}
