//! A tiny recording [`HookTools`] for the bindings' unit tests: it answers each call with the
//! next queued reply and remembers every call.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Debug;

pub(crate) use super::Hook;
use super::{HookTools, ToolCall};
use crate::error::{Error, Result};

enum Reply {
    Out(Vec<u8>),
    Fail(i32, String),
}

#[derive(Default)]
pub(crate) struct Mock {
    replies: RefCell<VecDeque<Reply>>,
    calls: RefCell<Vec<ToolCall>>,
}

impl Mock {
    /// A mock whose first call prints `out`.
    pub(crate) fn out(out: &str) -> Self {
        let m = Mock::default();
        m.replies
            .borrow_mut()
            .push_back(Reply::Out(out.as_bytes().to_vec()));
        m
    }

    /// A mock whose first call exits with `status` and `stderr`.
    pub(crate) fn failing(status: i32, stderr: &str) -> Self {
        let m = Mock::default();
        m.replies
            .borrow_mut()
            .push_back(Reply::Fail(status, stderr.to_string()));
        m
    }

    pub(crate) fn calls(&self) -> Vec<ToolCall> {
        self.calls.borrow().clone()
    }

    /// The single call made, as `tool arg…`.
    pub(crate) fn argv(&self) -> Vec<String> {
        let calls = self.calls.borrow();
        assert_eq!(calls.len(), 1, "expected exactly one call, got {calls:?}");
        let mut v = vec![calls[0].tool.clone()];
        v.extend(calls[0].args.iter().cloned());
        v
    }

    /// The single call made.
    pub(crate) fn call(&self) -> ToolCall {
        let calls = self.calls.borrow();
        assert_eq!(calls.len(), 1, "expected exactly one call, got {calls:?}");
        calls[0].clone()
    }
}

impl HookTools for Mock {
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        self.calls.borrow_mut().push(call.clone());
        match self.replies.borrow_mut().pop_front() {
            None => Ok(Vec::new()),
            Some(Reply::Out(out)) => Ok(out),
            Some(Reply::Fail(status, stderr)) => Err(Error::HookTool {
                tool: call.tool.clone(),
                args: call.safe_args(),
                status: Some(status),
                stderr,
            }),
        }
    }
}

/// Runs `f` against a mock that prints `out`; returns the result and the argv of the one call.
pub(crate) fn run_with<T>(out: &str, f: impl FnOnce(Hook<'_>) -> T) -> (T, Vec<String>) {
    let m = Mock::out(out);
    let r = f(Hook::new(&m));
    (r, m.argv())
}

/// Checks that a non-zero exit of `tool` comes back as `Error::HookTool` with its status and stderr.
pub(crate) fn assert_exit_error<T: Debug>(tool: &str, f: impl FnOnce(Hook<'_>) -> Result<T>) {
    let m = Mock::failing(2, "ERROR boom");
    match f(Hook::new(&m)) {
        Err(Error::HookTool {
            tool: t,
            status,
            stderr,
            ..
        }) => {
            assert_eq!(t, tool);
            assert_eq!(status, Some(2));
            assert_eq!(stderr, "ERROR boom");
        }
        other => panic!("expected a HookTool error, got {other:?}"),
    }
}

/// Checks that output `out` is rejected as `Error::ToolOutput` naming `tool`; returns the detail.
pub(crate) fn assert_bad_output<T: Debug>(
    tool: &str,
    out: &str,
    f: impl FnOnce(Hook<'_>) -> Result<T>,
) -> String {
    let m = Mock::out(out);
    match f(Hook::new(&m)) {
        Err(Error::ToolOutput { tool: t, detail }) => {
            assert_eq!(t, tool);
            detail
        }
        other => panic!("expected a ToolOutput error for {out:?}, got {other:?}"),
    }
}

/// Builds an owned argv from string literals.
pub(crate) fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}
