//! Network information: `network-get`.

use serde_json::Value;

use super::common::relation_not_found;
use super::{Hook, ToolCall};
use crate::error::Result;
use crate::types::RelationId;

impl Hook<'_> {
    /// The network configuration of endpoint or extra-binding `binding` (`bind-addresses`,
    /// `egress-subnets`, `ingress-addresses`), as Juju prints it; with `relation`, as seen by
    /// that relation (its ingress address and egress subnets, e.g. across models).
    ///
    /// Runs `network-get --format=json [-r ID] BINDING`; an unknown relation gives
    /// [`crate::Error::RelationNotFound`].
    pub fn network_get(&self, binding: &str, relation: Option<&RelationId>) -> Result<Value> {
        let mut args = vec!["--format=json".to_string()];
        if let Some(r) = relation {
            args.extend(["-r".to_string(), r.to_string()]);
        }
        args.push(binding.to_string());
        let call = ToolCall::new("network-get", args);
        let out = self.exec_json(&call, "a JSON value");
        match relation {
            Some(r) => out.map_err(|e| relation_not_found(e, r)),
            None => out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use serde_json::json;

    #[test]
    fn network_get() {
        let (r, a) = run_with(r#"{"ingress-addresses":["10.0.0.1"]}"#, |h| {
            h.network_get("juju-info", None)
        });
        assert_eq!(a, argv(&["network-get", "--format=json", "juju-info"]));
        assert_eq!(r.unwrap()["ingress-addresses"], json!(["10.0.0.1"]));
        let rel = super::super::RelationId::new("db", 3);
        let (_, a) = run_with("{}", |h| h.network_get("db", Some(&rel)));
        assert_eq!(
            a,
            argv(&["network-get", "--format=json", "-r", "db:3", "db"])
        );
        assert_exit_error("network-get", |h| h.network_get("x", None));
        assert_bad_output("network-get", "{", |h| h.network_get("x", None));
    }
}
