//! Server-side unit state: `state-get`, `state-set`, `state-delete`.
//!
//! Values can be secret, so `state-set` sends them on stdin, marked [`Redact::stdin`].

use std::collections::BTreeMap;

use super::{Hook, Redact, ToolCall};
use crate::error::{Error, Result};

impl Hook<'_> {
    /// All of this unit's server-side state.
    ///
    /// Runs `state-get --format=json`.
    pub fn state_get(&self) -> Result<BTreeMap<String, String>> {
        let call = ToolCall::new("state-get", ["--format=json"]);
        Ok(self
            .exec_json_opt(&call, "an object of strings")?
            .unwrap_or_default())
    }

    /// One key of the server-side state; `None` if it is missing.
    ///
    /// Runs `state-get --format=json KEY`.
    pub fn state_get_key(&self, key: &str) -> Result<Option<String>> {
        if key == "-" {
            return Err(Error::Usage(
                "state-get: `-` is not a key; use state_get for all keys".into(),
            ));
        }
        let call = ToolCall::new("state-get", ["--format=json", key]);
        self.exec_json_opt(&call, "a string or null")
    }

    /// Merges `data` into the server-side state.
    ///
    /// Runs `state-set --file -` with `data` as a JSON object on stdin (stdin redacted).
    pub fn state_set(&self, data: &BTreeMap<String, String>) -> Result<()> {
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

    /// Deletes `key` from the server-side state.
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
        assert_eq!(a, argv(&["state-get", "--format=json", "a"]));
        assert_eq!(r.unwrap().as_deref(), Some("1"));
        let (r, _) = run_with("null", |h| h.state_get_key("a"));
        assert_eq!(r.unwrap(), None);
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
        assert_exit_error("state-delete", |h| h.state_delete("k"));
    }
}
