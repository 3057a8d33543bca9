//! Parsing Juju's text: the error a value that does not parse gives, and the name of a JSON
//! value's type for messages that must not quote the value.

use std::fmt;

use serde_json::Value;

/// A value that could not be parsed from its text form (a relation id, a status name, a port, a
/// log level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    input: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, input: impl Into<String>) -> Self {
        ParseError {
            what,
            input: input.into(),
        }
    }

    /// What was being parsed, e.g. `relation id`.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The text that could not be parsed.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {:?}", self.what, self.input)
    }
}

impl std::error::Error for ParseError {}

/// What a JSON value is, for error messages that must not quote it: `a string`, `a list`…
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_displays_input() {
        let e = ParseError::new("relation id", "x");
        assert_eq!(e.to_string(), "invalid relation id: \"x\"");
        assert_eq!(e.input(), "x");
        assert_eq!(e.what(), "relation id");
    }
}
