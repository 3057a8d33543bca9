//! Server-side unit state: `state-get`, `state-set`, `state-delete`.
//!
//! Values can be secret, so `state-set` sends them on stdin, marked [`Redact::stdin`]. Juju
//! stores an empty value as it is (only `state-delete` removes a key), and limits keys to
//! 256 bytes and values to 64 KiB (`core/quota`); the bindings check those limits first.

use std::collections::BTreeMap;

use super::{Hook, Redact, ToolCall};
use crate::error::{Error, Result};

/// The longest key Juju stores (`quota.MaxCharmStateKeySize`), in bytes.
pub const MAX_STATE_KEY: usize = 256;

/// The longest value Juju stores (`quota.MaxCharmStateValueSize`), in bytes.
pub const MAX_STATE_VALUE: usize = 64 * 1024;

impl Hook<'_> {
    /// All of this unit's server-side state.
    ///
    /// Runs `state-get --format=json` (Juju prints `null` when there is none).
    pub fn state_get(&self) -> Result<BTreeMap<String, String>> {
        let call = ToolCall::new("state-get", ["--format=json"]);
        Ok(self
            .exec_json_opt(&call, "an object of strings")?
            .unwrap_or_default())
    }

    /// One key of the server-side state; `None` if it is missing (`Some("")` if it was set to
    /// the empty string).
    ///
    /// Runs `state-get --format=json --strict KEY`: without `--strict`, Juju prints `""` for a
    /// missing key too; with it, a missing key is exit 1 and `ERROR "KEY" not found`.
    pub fn state_get_key(&self, key: &str) -> Result<Option<String>> {
        if key == "-" || key.is_empty() {
            return Err(Error::Usage(format!(
                "state-get: {key:?} is not a key; use state_get for all keys"
            )));
        }
        let call = ToolCall::new("state-get", ["--format=json", "--strict", key]);
        match self.exec_json_opt(&call, "a string") {
            Err(Error::HookTool {
                status: Some(1),
                stderr,
                ..
            }) if stderr.ends_with(" not found") => Ok(None),
            other => other,
        }
    }

    /// Merges `data` into the server-side state. An empty value is stored as the empty
    /// string; use [`Hook::state_delete`] to remove a key. Keys over 256 bytes or values over
    /// 64 KiB give [`Error::Usage`] without a call.
    ///
    /// Runs `state-set --file -` with `data` as a JSON object on stdin (stdin redacted).
    pub fn state_set(&self, data: &BTreeMap<String, String>) -> Result<()> {
        for (k, v) in data {
            if k.is_empty() || k.len() > MAX_STATE_KEY {
                return Err(Error::Usage(format!(
                    "state-set: key {k:?} must be 1 to {MAX_STATE_KEY} bytes long"
                )));
            }
            if v.len() > MAX_STATE_VALUE {
                return Err(Error::Usage(format!(
                    "state-set: the value of {k:?} is {} bytes; Juju stores at most \
                     {MAX_STATE_VALUE}",
                    v.len()
                )));
            }
        }
        let stdin = serde_json::to_vec(data)
            .map_err(|e| Error::Usage(format!("state-set: cannot encode data: {e}")))?;
        let call = ToolCall::new("state-set", ["--file", "-"])
            .with_stdin(stdin)
            .with_redact(Redact {
                stdin: true,
                ..Redact::default()
            });
        self.exec(&call)
    }

    /// Deletes `key` from the server-side state (nothing happens if it is missing).
    ///
    /// Runs `state-delete KEY`.
    pub fn state_delete(&self, key: &str) -> Result<()> {
        self.exec(&ToolCall::new("state-delete", [key]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use super::*;

    #[test]
    fn state_get() {
        let (r, a) = run_with(r#"{"a":"1"}"#, |h| h.state_get());
        assert_eq!(a, argv(&["state-get", "--format=json"]));
        assert_eq!(r.unwrap()["a"], "1");
        let (r, _) = run_with("", |h| h.state_get());
        assert!(r.unwrap().is_empty());
        let (r, a) = run_with("\"1\"", |h| h.state_get_key("a"));
        assert_eq!(a, argv(&["state-get", "--format=json", "--strict", "a"]));
        assert_eq!(r.unwrap().as_deref(), Some("1"));
        let (r, _) = run_with("\"\"", |h| h.state_get_key("a"));
        assert_eq!(r.unwrap().as_deref(), Some(""));
        // --strict's not-found error is the missing key.
        let m = Mock::failing(1, "ERROR \"a\" not found");
        assert_eq!(Hook::new(&m).state_get_key("a").unwrap(), None);
        let m = Mock::failing(1, "ERROR loading unit state from database: boom");
        assert!(matches!(
            Hook::new(&m).state_get_key("a"),
            Err(Error::HookTool { .. })
        ));
        assert_exit_error("state-get", |h| h.state_get());
        assert_bad_output("state-get", "{", |h| h.state_get());
        assert_bad_output("state-get", "[]", |h| h.state_get());
        assert_bad_output("state-get", "1", |h| h.state_get_key("a"));
    }

    #[test]
    fn state_set_and_delete() {
        let data = BTreeMap::from([("token".to_string(), "s3cret".to_string())]);
        let m = Mock::default();
        Hook::new(&m).state_set(&data).unwrap();
        let call = m.call();
        assert_eq!(call.tool, "state-set");
        assert_eq!(call.args, argv(&["--file", "-"]));
        assert!(call.redact.stdin);
        assert_eq!(call.stdin.as_deref(), Some(&br#"{"token":"s3cret"}"#[..]));
        let (r, a) = run_with("", |h| h.state_delete("token"));
        r.unwrap();
        assert_eq!(a, argv(&["state-delete", "token"]));
        assert_exit_error("state-set", |h| h.state_set(&data));
        let m = Mock::default();
        let long_key = BTreeMap::from([("k".repeat(257), "v".to_string())]);
        assert!(matches!(
            Hook::new(&m).state_set(&long_key),
            Err(Error::Usage(_))
        ));
        let big = BTreeMap::from([("k".to_string(), "v".repeat(64 * 1024 + 1))]);
        assert!(matches!(
            Hook::new(&m).state_set(&big),
            Err(Error::Usage(_))
        ));
        assert!(m.calls().is_empty());
        assert_exit_error("state-delete", |h| h.state_delete("k"));
    }
}
