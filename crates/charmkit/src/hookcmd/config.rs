//! Charm configuration: `config-get`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Hook, ToolCall};
use crate::error::Result;

impl Hook<'_> {
    /// All configuration options, including those whose value is `null` (no default, unset).
    ///
    /// Runs `config-get --format=json --all`.
    pub fn config_get(&self) -> Result<BTreeMap<String, Value>> {
        let call = ToolCall::new("config-get", ["--format=json", "--all"]);
        Ok(self.exec_json_opt(&call, "an object")?.unwrap_or_default())
    }

    /// One configuration option; `None` if it is unset (`null`) or unknown.
    ///
    /// Runs `config-get --format=json KEY`.
    pub fn config_get_key(&self, key: &str) -> Result<Option<Value>> {
        let call = ToolCall::new("config-get", ["--format=json", key]);
        self.exec_json_opt(&call, "a JSON value")
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use serde_json::json;

    #[test]
    fn config_get() {
        let (r, a) = run_with(r#"{"log-level":"info","port":8080,"x":null}"#, |h| {
            h.config_get()
        });
        assert_eq!(a, argv(&["config-get", "--format=json", "--all"]));
        let r = r.unwrap();
        assert_eq!(r["port"], json!(8080));
        assert_eq!(r["x"], json!(null));
        assert_exit_error("config-get", |h| h.config_get());
        assert_bad_output("config-get", "{", |h| h.config_get());
        assert_bad_output("config-get", "[]", |h| h.config_get());
    }

    #[test]
    fn config_get_key() {
        let (r, a) = run_with("true", |h| h.config_get_key("debug"));
        assert_eq!(a, argv(&["config-get", "--format=json", "debug"]));
        assert_eq!(r.unwrap(), Some(json!(true)));
        let (r, _) = run_with("null", |h| h.config_get_key("debug"));
        assert_eq!(r.unwrap(), None);
        assert_exit_error("config-get", |h| h.config_get_key("k"));
        assert_bad_output("config-get", "tru", |h| h.config_get_key("k"));
    }
}
