//! Layers and the plan: what Pebble runs (`services`), watches (`checks`) and ships logs to
//! (`log-targets`), as YAML (`internals/plan/plan.go`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::Client;
use super::error::Error;
use super::Result;

/// How a layer's entry combines with the same entry in lower layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Override {
    /// Fields given here replace (scalars) or extend (lists, maps) the lower layers'.
    Merge,
    /// This entry replaces the lower layers' entry wholesale.
    Replace,
}

/// Whether a service (or check) starts with `replan`/`autostart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Startup {
    /// Started by `replan` and `autostart`.
    Enabled,
    /// Only started explicitly.
    Disabled,
}

/// The health level a check counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckLevel {
    /// `alive`
    Alive,
    /// `ready` (a failing alive check also makes the workload not ready).
    Ready,
}

impl CheckLevel {
    /// `alive` or `ready`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckLevel::Alive => "alive",
            CheckLevel::Ready => "ready",
        }
    }
}

/// What Pebble does when a service exits or a check fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceAction {
    /// Restart the service (with backoff).
    Restart,
    /// Shut Pebble down.
    Shutdown,
    /// Shut Pebble down with a success exit code.
    SuccessShutdown,
    /// Shut Pebble down with a failure exit code.
    FailureShutdown,
    /// Do nothing.
    Ignore,
}

/// One service of a layer or the plan. Unset fields are left out of the YAML, so a `merge`
/// layer changes only what it sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Service {
    /// A one-line summary.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// A longer description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `enabled` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<Startup>,
    /// `merge` or `replace` (required in a layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#override: Option<Override>,
    /// The command line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// Services to start before this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Services to start after this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    /// Services started along with this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// The workload (Pebble's workload section) it runs in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workload: String,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// The user id to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u32>,
    /// The user name to run as.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// The group id to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u32>,
    /// The group name to run as.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The working directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    /// What to do when it exits with code 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_success: Option<ServiceAction>,
    /// What to do when it exits non-zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<ServiceAction>,
    /// What to do when a named check fails.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub on_check_failure: BTreeMap<String, ServiceAction>,
    /// First backoff delay (a Go duration, e.g. `500ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_delay: Option<String>,
    /// Backoff growth factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_factor: Option<f64>,
    /// Largest backoff delay (a Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<String>,
    /// How long to wait after SIGTERM before SIGKILL (a Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_delay: Option<String>,
}

/// An HTTP check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpCheck {
    /// The URL fetched; 2xx is up.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// A TCP check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TcpCheck {
    /// The port connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The host (default localhost).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
}

/// An exec check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExecCheck {
    /// The command; exit code 0 is up.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// Run in this service's context (environment, user, working directory).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_context: String,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// User id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u32>,
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u32>,
    /// Group name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Working directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
}

/// One check of a layer or the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Check {
    /// `merge` or `replace` (required in a layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#override: Option<Override>,
    /// `alive` or `ready`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<CheckLevel>,
    /// `enabled` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<Startup>,
    /// How often it runs (a Go duration, default `10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// How long one run may take (a Go duration, default `3s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Failures in a row before it is down (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    /// An HTTP check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    /// A TCP check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    /// An exec check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecCheck>,
}

/// One log target (where Pebble forwards service logs, e.g. Loki).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogTarget {
    /// `merge` or `replace` (required in a layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#override: Option<Override>,
    /// `loki` or `opentelemetry`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    /// The URL logs go to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// Which services' logs (`all`, names, `-name` to exclude).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Labels added to every log line.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A layer: a labelled piece of configuration added on top of the others.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Layer {
    /// A one-line summary.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// A longer description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Services, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    /// Checks, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Check>,
    /// Log targets, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_targets: BTreeMap<String, LogTarget>,
}

impl Layer {
    /// Parses a layer from YAML; unknown fields are refused, as Pebble does.
    pub fn from_yaml(yaml: &str) -> Result<Layer, serde_norway::Error> {
        if yaml.trim().is_empty() {
            return Ok(Layer::default());
        }
        serde_norway::from_str(yaml)
    }

    /// The layer as YAML.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).expect("a layer serializes")
    }
}

/// The plan: every layer combined.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    /// Services, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    /// Checks, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Check>,
    /// Log targets, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_targets: BTreeMap<String, LogTarget>,
}

impl Plan {
    /// Parses the plan's YAML (sections Pebble extensions add are ignored).
    pub fn from_yaml(yaml: &str) -> Result<Plan, serde_norway::Error> {
        if yaml.trim().is_empty() || yaml.trim() == "{}" {
            return Ok(Plan::default());
        }
        serde_norway::from_str(yaml)
    }

    /// The plan as YAML.
    pub fn to_yaml(&self) -> String {
        if *self == Plan::default() {
            return "{}\n".into();
        }
        serde_norway::to_string(self).expect("a plan serializes")
    }
}

impl Client {
    /// Adds `layer` under `label`. With `combine`, a layer with that label already there is
    /// combined with this one (its entries merged or replaced as each says); without, an
    /// existing label is an error. Nothing starts until a `replan` or `start`.
    pub fn add_layer(&self, label: &str, layer: &Layer, combine: bool) -> Result<()> {
        self.add_layer_yaml(label, &layer.to_yaml(), combine)
    }

    /// [`Client::add_layer`] with the layer as YAML text.
    pub fn add_layer_yaml(&self, label: &str, yaml: &str, combine: bool) -> Result<()> {
        let body = json!({
            "action": "add", "combine": combine, "inner": false,
            "label": label, "format": "yaml", "layer": yaml,
        });
        let _: serde_json::Value = self.post("/v1/layers", &body)?;
        Ok(())
    }

    /// The plan: every layer combined.
    pub fn plan(&self) -> Result<Plan> {
        let yaml: String = self.get("/v1/plan?format=yaml")?;
        Plan::from_yaml(&yaml).map_err(|e| Error::protocol("GET /v1/plan", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_yaml_round_trips_and_refuses_unknown_fields() {
        let yaml = "\
summary: web
services:
  web:
    override: replace
    command: /bin/web --port 8080
    startup: enabled
    environment:
      MODE: prod
    on-check-failure:
      up: restart
checks:
  up:
    override: replace
    level: ready
    http:
      url: http://localhost:8080/health
";
        let layer = Layer::from_yaml(yaml).unwrap();
        let web = &layer.services["web"];
        assert_eq!(web.r#override, Some(Override::Replace));
        assert_eq!(web.startup, Some(Startup::Enabled));
        assert_eq!(web.on_check_failure["up"], ServiceAction::Restart);
        assert_eq!(
            layer.checks["up"].http.as_ref().unwrap().url,
            "http://localhost:8080/health"
        );
        assert_eq!(Layer::from_yaml(&layer.to_yaml()).unwrap(), layer);
        let err = Layer::from_yaml("services:\n  a:\n    commandd: x\n").unwrap_err();
        assert!(err.to_string().contains("commandd"), "{err}");
        assert_eq!(Plan::default().to_yaml(), "{}\n");
        assert_eq!(Plan::from_yaml("{}\n").unwrap(), Plan::default());
    }
}
