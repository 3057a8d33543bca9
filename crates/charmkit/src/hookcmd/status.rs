//! Workload status: `status-set`, `status-get`, `application-version-set`.

use serde::Deserialize;

use super::common::bad_output;
use super::{Hook, ToolCall};
use crate::error::{Error, Result};
use crate::types::{Status, StatusName};

/// The part of `status-get` output we read (it also has `status-data`, and `units` for an app).
#[derive(Deserialize)]
struct RawStatus {
    status: String,
    #[serde(default)]
    message: Option<String>,
}

/// What `status-get --format=json --include-data` prints: the details, or — when the unit's
/// status cannot be read (`NotImplemented`) — the bare status name `"unknown"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawOutput<T> {
    Name(String),
    Details(T),
}

#[derive(Deserialize)]
struct RawAppStatus {
    #[serde(rename = "application-status")]
    application_status: RawStatus,
}

impl Hook<'_> {
    /// Sets this unit's status, or with `app` the application's (leader only).
    ///
    /// Runs `status-set [--application] STATUS -- MESSAGE`. Only `active`, `blocked`,
    /// `maintenance` and `waiting` can be set: others give [`Error::Usage`] without a call.
    pub fn status_set(&self, status: &Status, app: bool) -> Result<()> {
        if !status.name.settable() {
            return Err(Error::Usage(format!(
                "status-set: a charm cannot set status `{}` (only active, blocked, maintenance, \
                 waiting)",
                status.name
            )));
        }
        let mut args = Vec::with_capacity(4);
        if app {
            args.push("--application".to_string());
        }
        args.extend([
            status.name.as_str().to_string(),
            "--".to_string(),
            status.message.clone(),
        ]);
        self.exec(&ToolCall::new("status-set", args))
    }

    /// This unit's status, or with `app` the application's (leader only). Any status Juju can
    /// report comes back (`error`, `unknown`, `terminated` too).
    ///
    /// Runs `status-get --format=json --include-data [--application]`, which prints
    /// `{"message":..,"status":..,"status-data":{}}` for a unit and
    /// `{"application-status":{"message":..,"status":..,"status-data":{},"units":{..}}}` for
    /// the application — or a bare `"unknown"` when Juju cannot read the status.
    pub fn status_get(&self, app: bool) -> Result<Status> {
        let mut args = vec!["--format=json", "--include-data"];
        if app {
            args.push("--application");
        }
        let call = ToolCall::new("status-get", args);
        let raw = if app {
            match self.exec_json::<RawOutput<RawAppStatus>>(
                &call,
                "an object with `application-status`, or a status name",
            )? {
                RawOutput::Details(d) => d.application_status,
                RawOutput::Name(status) => RawStatus {
                    status,
                    message: None,
                },
            }
        } else {
            match self.exec_json::<RawOutput<RawStatus>>(
                &call,
                "an object with `status` and `message`, or a status name",
            )? {
                RawOutput::Details(d) => d,
                RawOutput::Name(status) => RawStatus {
                    status,
                    message: None,
                },
            }
        };
        let name = raw
            .status
            .parse::<StatusName>()
            .map_err(|e| bad_output(&call, e))?;
        Ok(Status::new(name, raw.message.unwrap_or_default()))
    }

    /// Sets the workload version shown by `juju status`.
    ///
    /// Runs `application-version-set -- VERSION`.
    pub fn application_version_set(&self, version: &str) -> Result<()> {
        self.exec(&ToolCall::new("application-version-set", ["--", version]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use super::*;

    #[test]
    fn status_set() {
        let (r, a) = run_with("", |h| h.status_set(&Status::active("ready"), false));
        r.unwrap();
        assert_eq!(a, argv(&["status-set", "active", "--", "ready"]));
        let (r, a) = run_with("", |h| h.status_set(&Status::blocked("-x"), true));
        r.unwrap();
        assert_eq!(
            a,
            argv(&["status-set", "--application", "blocked", "--", "-x"])
        );
        let m = Mock::default();
        assert!(matches!(
            Hook::new(&m).status_set(&Status::unknown(), false),
            Err(Error::Usage(_))
        ));
        assert!(m.calls().is_empty());
        assert_exit_error("status-set", |h| h.status_set(&Status::active(""), true));
    }

    #[test]
    fn status_get_unit_and_app() {
        let (r, a) = run_with(
            r#"{"message":"ready","status":"active","status-data":{}}"#,
            |h| h.status_get(false),
        );
        assert_eq!(a, argv(&["status-get", "--format=json", "--include-data"]));
        assert_eq!(r.unwrap(), Status::active("ready"));
        let out = r#"{"application-status":{"message":"","status":"waiting","status-data":{},
            "units":{"app/0":{"message":"","status":"active","status-data":{}}}}}"#;
        let (r, a) = run_with(out, |h| h.status_get(true));
        assert_eq!(
            a,
            argv(&[
                "status-get",
                "--format=json",
                "--include-data",
                "--application"
            ])
        );
        assert_eq!(r.unwrap(), Status::waiting(""));
        assert_exit_error("status-get", |h| h.status_get(true));
        assert_bad_output("status-get", "{", |h| h.status_get(false));
        assert_bad_output("status-get", r#"{"status":"active"}"#, |h| {
            h.status_get(true)
        });
        let d = assert_bad_output("status-get", r#"{"status":"dancing"}"#, |h| {
            h.status_get(false)
        });
        assert!(d.contains("invalid status name"), "{d}");
        assert_bad_output("status-get", "3", |h| h.status_get(false));
    }

    #[test]
    fn status_get_reads_every_status_juju_reports() {
        for name in ["error", "terminated", "unknown", "maintenance"] {
            let out = format!(r#"{{"message":"m","status":"{name}","status-data":{{}}}}"#);
            let (r, _) = run_with(&out, |h| h.status_get(false));
            assert_eq!(r.unwrap(), Status::new(name.parse().unwrap(), "m"));
        }
        // When Juju cannot read the status it prints the bare name, even with --include-data.
        let (r, _) = run_with("\"unknown\"\n", |h| h.status_get(false));
        assert_eq!(r.unwrap(), Status::unknown());
        let (r, _) = run_with("\"unknown\"\n", |h| h.status_get(true));
        assert_eq!(r.unwrap(), Status::unknown());
        let m = Mock::default();
        assert!(matches!(
            Hook::new(&m).status_set(&Status::new(StatusName::Terminated, ""), false),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn application_version_set() {
        let (r, a) = run_with("", |h| h.application_version_set("1.2.3"));
        r.unwrap();
        assert_eq!(a, argv(&["application-version-set", "--", "1.2.3"]));
        assert_exit_error("application-version-set", |h| {
            h.application_version_set("1")
        });
    }
}
