//! Helpers shared by the tool families: running a call and decoding what it printed.
//!
//! Decoding errors never quote the output: hook-tool output can hold secret values (relation
//! data, secret content), so a [`Error::ToolOutput`] says what *kind* of JSON came back and what
//! was expected, plus the command line with its secret arguments redacted.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Hook, RelationId, ToolCall};
use crate::error::{Error, Result};
use crate::types::json_kind;

/// `tool arg…` with secret arguments redacted.
pub(crate) fn command_line(call: &ToolCall) -> String {
    let mut s = call.tool.clone();
    for a in call.safe_args() {
        s.push(' ');
        s.push_str(&a);
    }
    s
}

/// An [`Error::ToolOutput`] for `call`.
pub(crate) fn bad_output(call: &ToolCall, what: impl fmt::Display) -> Error {
    Error::tool_output(
        call.tool.clone(),
        format!("`{}`: {what}", command_line(call)),
    )
}

/// Parses `out` as JSON, then as `T`; `expected` describes `T` for the error message.
pub(crate) fn decode<T: DeserializeOwned>(
    call: &ToolCall,
    out: &[u8],
    expected: &str,
) -> Result<T> {
    let value: Value = serde_json::from_slice(out)
        .map_err(|e| bad_output(call, format_args!("invalid JSON ({e})")))?;
    from_value(call, value, expected)
}

/// Converts an already-parsed JSON value to `T`.
pub(crate) fn from_value<T: DeserializeOwned>(
    call: &ToolCall,
    value: Value,
    expected: &str,
) -> Result<T> {
    let kind = json_kind(&value);
    // serde's message would quote the offending value, which may be secret: keep only its kind.
    serde_json::from_value(value).map_err(|_| {
        bad_output(
            call,
            format_args!("expected {expected}, got {kind} of another shape or type"),
        )
    })
}

/// Whether the output is empty or only whitespace.
pub(crate) fn is_blank(out: &[u8]) -> bool {
    out.iter().all(u8::is_ascii_whitespace)
}

impl Hook<'_> {
    /// Runs a call whose output does not matter.
    pub(crate) fn exec(&self, call: &ToolCall) -> Result<()> {
        self.run(call).map(drop)
    }

    /// Runs a call and returns its output as trimmed UTF-8 text.
    pub(crate) fn exec_text(&self, call: &ToolCall) -> Result<String> {
        let out = self.run(call)?;
        let text = String::from_utf8(out).map_err(|_| bad_output(call, "output is not UTF-8"))?;
        Ok(text.trim().to_string())
    }

    /// Runs a call and decodes its JSON output as `T`.
    pub(crate) fn exec_json<T: DeserializeOwned>(
        &self,
        call: &ToolCall,
        expected: &str,
    ) -> Result<T> {
        let out = self.run(call)?;
        decode(call, &out, expected)
    }

    /// Like [`Hook::exec_json`], but empty output and JSON `null` give `None`.
    pub(crate) fn exec_json_opt<T: DeserializeOwned>(
        &self,
        call: &ToolCall,
        expected: &str,
    ) -> Result<Option<T>> {
        let out = self.run(call)?;
        if is_blank(&out) {
            return Ok(None);
        }
        let value: Value = decode(call, &out, expected)?;
        if value.is_null() {
            return Ok(None);
        }
        from_value(call, value, expected).map(Some)
    }
}

/// The stderr of a failed tool call, if `err` is one.
fn tool_stderr(err: &Error) -> Option<&str> {
    match err {
        Error::HookTool { stderr, .. } => Some(stderr),
        _ => None,
    }
}

/// Juju's "relation not found" for the relation passed with `-r` as
/// [`Error::RelationNotFound`]; any other error as it is.
pub(crate) fn relation_not_found(err: Error, relation: &RelationId) -> Error {
    if tool_stderr(&err).is_some_and(|s| s.contains("relation not found")) {
        return Error::RelationNotFound {
            relation: relation.to_string(),
            source: Box::new(err),
        };
    }
    err
}

/// A `secret-*` tool's "… not found" for the secret passed (`id` or label) as
/// [`Error::SecretNotFound`]; any other error as it is (as ops maps them).
pub(crate) fn secret_not_found(err: Error, secret: &str) -> Error {
    if tool_stderr(&err)
        .is_some_and(|s| s.ends_with("not found") && !s.contains("relation not found"))
    {
        return Error::SecretNotFound {
            secret: secret.to_string(),
            source: Box::new(err),
        };
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_do_not_quote_output() {
        let call = ToolCall::new("secret-get", ["--format=json", "secret:1"]);
        let err = decode::<bool>(&call, br#""s3cret""#, "true or false").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("a string"), "{text}");
        let err = decode::<bool>(&call, b"s3cret", "true or false").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(err.to_string().contains("invalid JSON"), "{err}");
    }
}
