//! Network information: `network-get`.

use serde_json::Value;

use super::{Hook, ToolCall};
use crate::error::Result;

impl Hook<'_> {
    /// The network configuration of endpoint or extra-binding `binding` (`bind-addresses`,
    /// `egress-subnets`, `ingress-addresses`), as Juju prints it.
    ///
    /// Runs `network-get --format=json BINDING`.
    pub fn network_get(&self, binding: &str) -> Result<Value> {
        self.exec_json(
            &ToolCall::new("network-get", ["--format=json", binding]),
            "a JSON value",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use serde_json::json;

    #[test]
    fn network_get() {
        let (r, a) = run_with(r#"{"ingress-addresses":["10.0.0.1"]}"#, |h| {
            h.network_get("juju-info")
        });
        assert_eq!(a, argv(&["network-get", "--format=json", "juju-info"]));
        assert_eq!(r.unwrap()["ingress-addresses"], json!(["10.0.0.1"]));
        assert_exit_error("network-get", |h| h.network_get("x"));
        assert_bad_output("network-get", "{", |h| h.network_get("x"));
    }
}
