//! Actions: `action-get`, `action-set`, `action-log`, `action-fail`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::common::check_key;
use super::{Hook, Redact, ToolCall};
use crate::error::Result;

impl Hook<'_> {
    /// The running action's parameters.
    ///
    /// Runs `action-get --format=json`.
    pub fn action_get(&self) -> Result<BTreeMap<String, Value>> {
        let call = ToolCall::new("action-get", ["--format=json"]);
        Ok(self.exec_json_opt(&call, "an object")?.unwrap_or_default())
    }

    /// Adds results to the running action. Keys may be dotted (`a.b=1` gives `{"a":{"b":"1"}}`).
    ///
    /// Runs `action-set KEY=VALUE…` with every value redacted (results can be secret). An empty
    /// map makes no call. Keys that are empty, hold `=` or whitespace, or start with `-` give
    /// [`crate::Error::Usage`].
    pub fn action_set(&self, results: &BTreeMap<String, String>) -> Result<()> {
        if results.is_empty() {
            return Ok(());
        }
        for k in results.keys() {
            check_key("action-set", k)?;
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
    use crate::Error;
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
        let bad = BTreeMap::from([("a=b".to_string(), "v".to_string())]);
        assert!(matches!(
            Hook::new(&m).action_set(&bad),
            Err(Error::Usage(_))
        ));
        assert!(m.calls().is_empty());
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
