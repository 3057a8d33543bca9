//! Actions: `action-get`, `action-set`, `action-log`, `action-fail`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Hook, Redact, ToolCall};
use crate::error::{Error, Result};

/// Result keys Juju keeps for itself (`reservedKeys` in jujuc's `action-set.go`), refused as any
/// dot-separated part of a key.
pub const RESERVED_RESULT_KEYS: [&str; 4] =
    ["stdout", "stdout-encoding", "stderr", "stderr-encoding"];

/// Juju's rule for each dot-separated part of an action result key (`charm.GetActionNameRule`):
/// lowercase letters, digits and hyphens, starting and ending with a letter or digit
/// (`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`).
pub(crate) fn valid_result_key_part(part: &str) -> bool {
    let b = part.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Checks an action result key as `action-set` will: every part valid, none reserved.
fn check_result_key(key: &str) -> Result<()> {
    for part in key.split('.') {
        if !valid_result_key_part(part) {
            return Err(Error::Usage(format!(
                "action-set: invalid key {key:?}: each dot-separated part must start and end \
                 with a lowercase letter or digit, and contain only those and hyphens"
            )));
        }
        if RESERVED_RESULT_KEYS.contains(&part) {
            return Err(Error::Usage(format!(
                "action-set: invalid key {key:?}: {part:?} is reserved by Juju"
            )));
        }
    }
    Ok(())
}

impl Hook<'_> {
    /// The running action's parameters.
    ///
    /// Runs `action-get --format=json`.
    pub fn action_get(&self) -> Result<BTreeMap<String, Value>> {
        let call = ToolCall::new("action-get", ["--format=json"]);
        Ok(self.exec_json_opt(&call, "an object")?.unwrap_or_default())
    }

    /// One of the running action's parameters, by key; dots go down into objects
    /// (`tls.cert` is `params["tls"]["cert"]`). `None` if there is no such parameter.
    ///
    /// Runs `action-get --format=json KEY` (Juju prints `null` for a missing key).
    pub fn action_get_key(&self, key: &str) -> Result<Option<Value>> {
        if key.is_empty() || key.starts_with('-') {
            return Err(Error::Usage(format!("action-get: {key:?} is not a key")));
        }
        let call = ToolCall::new("action-get", ["--format=json", key]);
        self.exec_json_opt(&call, "a JSON value")
    }

    /// Adds results to the running action. Keys may be dotted (`a.b=1` gives `{"a":{"b":"1"}}`).
    ///
    /// Runs `action-set KEY=VALUE…` with every value redacted (results can be secret). An empty
    /// map makes no call. A key Juju would refuse — a part that is not lowercase letters, digits
    /// and inner hyphens, or is one of [`RESERVED_RESULT_KEYS`] — gives [`Error::Usage`] without
    /// a call.
    pub fn action_set(&self, results: &BTreeMap<String, String>) -> Result<()> {
        if results.is_empty() {
            return Ok(());
        }
        for k in results.keys() {
            check_result_key(k)?;
        }
        let args: Vec<String> = results.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let redact = Redact {
            values: (0..args.len()).collect(),
            ..Redact::default()
        };
        self.exec(&ToolCall::new("action-set", args).with_redact(redact))
    }

    /// Records a progress message for the running action.
    ///
    /// Runs `action-log -- MESSAGE`.
    pub fn action_log(&self, message: &str) -> Result<()> {
        self.exec(&ToolCall::new("action-log", ["--", message]))
    }

    /// Marks the running action as failed with `message`.
    ///
    /// Runs `action-fail -- MESSAGE`.
    pub fn action_fail(&self, message: &str) -> Result<()> {
        self.exec(&ToolCall::new("action-fail", ["--", message]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn action_get() {
        let (r, a) = run_with(r#"{"count":3,"opts":{"x":"y"}}"#, |h| h.action_get());
        assert_eq!(a, argv(&["action-get", "--format=json"]));
        let r = r.unwrap();
        assert_eq!(r["count"], json!(3));
        assert_eq!(r["opts"], json!({"x": "y"}));
        assert_exit_error("action-get", |h| h.action_get());
        assert_bad_output("action-get", "{", |h| h.action_get());
        assert_bad_output("action-get", "[1]", |h| h.action_get());
    }

    #[test]
    fn action_get_key() {
        let (r, a) = run_with(r#""x""#, |h| h.action_get_key("opts.name"));
        assert_eq!(a, argv(&["action-get", "--format=json", "opts.name"]));
        assert_eq!(r.unwrap(), Some(json!("x")));
        let (r, _) = run_with("null\n", |h| h.action_get_key("nope"));
        assert_eq!(r.unwrap(), None);
        let m = Mock::default();
        assert!(matches!(
            Hook::new(&m).action_get_key(""),
            Err(Error::Usage(_))
        ));
        assert!(m.calls().is_empty());
        assert_exit_error("action-get", |h| h.action_get_key("k"));
    }

    #[test]
    fn action_set_redacts_values() {
        let results = BTreeMap::from([
            ("password".to_string(), "s3cret".to_string()),
            ("db.host".to_string(), "h=1".to_string()),
        ]);
        let m = Mock::default();
        Hook::new(&m).action_set(&results).unwrap();
        let call = m.call();
        assert_eq!(call.tool, "action-set");
        assert_eq!(call.args, argv(&["db.host=h=1", "password=s3cret"]));
        assert_eq!(
            call.safe_args(),
            argv(&["db.host=<redacted>", "password=<redacted>"])
        );
        let m = Mock::default();
        Hook::new(&m).action_set(&BTreeMap::new()).unwrap();
        assert!(m.calls().is_empty());
        for bad in [
            "a=b",
            "",
            "-x",
            "a b",
            "Caps",
            "a_b",
            "a.",
            ".a",
            "a..b",
            "x-",
            "stdout",
            "out.stderr",
            "stdout-encoding.x",
        ] {
            let bad = BTreeMap::from([(bad.to_string(), "v".to_string())]);
            assert!(
                matches!(Hook::new(&m).action_set(&bad), Err(Error::Usage(_))),
                "{bad:?}"
            );
        }
        assert!(m.calls().is_empty());
        let ok = BTreeMap::from([("out.std-out2".to_string(), "v".to_string())]);
        Hook::new(&m).action_set(&ok).unwrap();
        assert_exit_error("action-set", |h| h.action_set(&results));
    }

    #[test]
    fn action_log_and_fail() {
        let (r, a) = run_with("", |h| h.action_log("step 1"));
        r.unwrap();
        assert_eq!(a, argv(&["action-log", "--", "step 1"]));
        let (r, a) = run_with("", |h| h.action_fail("no backup target"));
        r.unwrap();
        assert_eq!(a, argv(&["action-fail", "--", "no backup target"]));
        assert_exit_error("action-log", |h| h.action_log("x"));
        assert_exit_error("action-fail", |h| h.action_fail("x"));
    }
}
