//! Leadership: `is-leader`.

use super::{Hook, ToolCall};
use crate::error::Result;

impl Hook<'_> {
    /// Whether this unit is its application's leader.
    ///
    /// Runs `is-leader --format=json`, which prints `true` or `false`.
    pub fn is_leader(&self) -> Result<bool> {
        self.exec_json(
            &ToolCall::new("is-leader", ["--format=json"]),
            "true or false",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;

    #[test]
    fn is_leader_builds_argv_and_parses() {
        let (r, argv_) = run_with("true\n", |h| h.is_leader());
        assert!(r.unwrap());
        assert_eq!(argv_, argv(&["is-leader", "--format=json"]));
        let (r, _) = run_with("false", |h| h.is_leader());
        assert!(!r.unwrap());
    }

    #[test]
    fn is_leader_bad_input() {
        assert_exit_error("is-leader", |h| h.is_leader());
        let d = assert_bad_output("is-leader", "yes", |h| h.is_leader());
        assert!(d.contains("invalid JSON"), "{d}");
        let d = assert_bad_output("is-leader", "\"true\"", |h| h.is_leader());
        assert!(d.contains("expected true or false"), "{d}");
        assert_bad_output("is-leader", "", |h| h.is_leader());
    }
}
