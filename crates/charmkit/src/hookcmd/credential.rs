//! Cloud credentials: `credential-get` (trusted charms only).

use serde_json::Value;

use super::{Hook, Redact, ToolCall};
use crate::error::Result;

impl Hook<'_> {
    /// The cloud credential the model uses (only for applications deployed with `--trust`).
    ///
    /// Runs `credential-get --format=json`; the output is marked secret.
    pub fn credential_get(&self) -> Result<Value> {
        let call = ToolCall::new("credential-get", ["--format=json"]).with_redact(Redact {
            output: true,
            ..Redact::default()
        });
        self.exec_json(&call, "a JSON value")
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;

    #[test]
    fn credential_get() {
        let m = Mock::out(r#"{"type":"lxd","credential":{"attrs":{"k":"v"}}}"#);
        let r = Hook::new(&m).credential_get().unwrap();
        assert_eq!(r["type"], "lxd");
        let call = m.call();
        assert_eq!(call.args, argv(&["--format=json"]));
        assert!(call.redact.output);
        assert_exit_error("credential-get", |h| h.credential_get());
        let d = assert_bad_output("credential-get", "{\"s3cret", |h| h.credential_get());
        assert!(!d.contains("s3cret"), "{d}");
    }
}
