//! Goal state: `goal-state`.

use serde_json::Value;

use super::{Hook, ToolCall};
use crate::error::Result;

impl Hook<'_> {
    /// The units and relations Juju is converging to (`{"units":{..},"relations":{..}}`).
    ///
    /// Runs `goal-state --format=json`.
    pub fn goal_state(&self) -> Result<Value> {
        self.exec_json(
            &ToolCall::new("goal-state", ["--format=json"]),
            "a JSON value",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use serde_json::json;

    #[test]
    fn goal_state() {
        let (r, a) = run_with(r#"{"units":{},"relations":{}}"#, |h| h.goal_state());
        assert_eq!(a, argv(&["goal-state", "--format=json"]));
        assert_eq!(r.unwrap(), json!({"units": {}, "relations": {}}));
        assert_exit_error("goal-state", |h| h.goal_state());
        assert_bad_output("goal-state", "", |h| h.goal_state());
    }
}
