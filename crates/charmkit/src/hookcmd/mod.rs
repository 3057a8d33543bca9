//! Hook tools: the only way a charm talks to Juju.
//!
//! Every tool call goes through one trait, [`HookTools`], which takes a [`ToolCall`] (the tool's
//! name, its command-line arguments, optional stdin) and returns the tool's stdout. Three
//! implementations plug in behind it:
//!
//! - [`ProcessTools`] runs the real tool found on `PATH` (what happens under Juju);
//! - the in-memory Juju of the test harness (`charmkit::testing`), which parses the same command
//!   lines, so unit tests never spawn a process and still check the exact arguments;
//! - the tracing decorator, which wraps any of them and makes one span per call.
//!
//! The typed bindings — one file per tool family, as in goops — build the command lines and parse
//! the `--format=json` output; they live on [`Hook`], a thin borrowed handle over a `HookTools`.
//!
//! Each binding marks which of its arguments (and whether its stdin and output) can carry secret
//! values, through [`Redact`]; errors and spans show `<redacted>` in their place.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

mod action;
mod common;
mod config;
mod credential;
mod goal_state;
mod leader;
mod log;
#[cfg(test)]
mod mock;
mod network;
mod ports;
#[cfg(test)]
mod process_tests;
mod reboot;
mod relation;
mod resource;
mod secret;
mod state;
mod status;
mod storage;

pub(crate) use action::valid_result_key_part;
pub use action::RESERVED_RESULT_KEYS;
pub use common::ParseError;
pub use log::LogLevel;
pub use ports::{OpenedPort, Port, PortEndpoints, PortRange, Protocol};
pub use relation::RelationId;
pub(crate) use secret::valid_secret_key;
pub use secret::{
    canonical_secret_id, SecretAccess, SecretInfo, SecretOptions, SecretOwner, SecretRefresh,
};
pub use state::{MAX_STATE_KEY, MAX_STATE_VALUE};
pub use status::{Status, StatusName};
pub use storage::StorageKind;

/// What of a call may carry secret values and must never be logged, traced or put in an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redact {
    /// Indices into [`ToolCall::args`] whose values are secret (shown as `<redacted>`).
    pub args: Vec<usize>,
    /// For `KEY=VALUE` arguments: indices whose *value* part is secret (the key is kept).
    pub values: Vec<usize>,
    /// The stdin is secret (e.g. `relation-set --file -` data).
    pub stdin: bool,
    /// The output is secret (e.g. `secret-get`).
    pub output: bool,
}

/// One hook-tool invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The tool's name, e.g. `relation-get`.
    pub tool: String,
    /// Its arguments, not including the tool name.
    pub args: Vec<String>,
    /// Bytes to write to its stdin, if any.
    pub stdin: Option<Vec<u8>>,
    /// What must not be recorded.
    pub redact: Redact,
}

/// The placeholder shown instead of a secret value.
pub const REDACTED: &str = "<redacted>";

impl ToolCall {
    /// A call with no stdin and nothing secret.
    pub fn new<I, S>(tool: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ToolCall {
            tool: tool.to_string(),
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
            redact: Redact::default(),
        }
    }

    /// Sets the stdin.
    pub fn with_stdin(mut self, stdin: Vec<u8>) -> Self {
        self.stdin = Some(stdin);
        self
    }

    /// Sets what must be redacted.
    pub fn with_redact(mut self, redact: Redact) -> Self {
        self.redact = redact;
        self
    }

    /// The arguments with secret values replaced by [`REDACTED`]: safe for logs, spans and errors.
    pub fn safe_args(&self) -> Vec<String> {
        self.args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if self.redact.args.contains(&i) {
                    REDACTED.to_string()
                } else if self.redact.values.contains(&i) {
                    match a.split_once('=') {
                        Some((k, _)) => format!("{k}={REDACTED}"),
                        None => REDACTED.to_string(),
                    }
                } else {
                    a.clone()
                }
            })
            .collect()
    }
}

/// The one seam between the framework and Juju: run a hook tool, return its stdout.
///
/// A non-zero exit must come back as [`Error::HookTool`] carrying the exit status and stderr.
pub trait HookTools {
    /// Runs `call` and returns its stdout.
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>>;
}

impl<T: HookTools + ?Sized> HookTools for &T {
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        (**self).run(call)
    }
}

impl<T: HookTools + ?Sized> HookTools for Box<T> {
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        (**self).run(call)
    }
}

impl<T: HookTools + ?Sized> HookTools for std::rc::Rc<T> {
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        (**self).run(call)
    }
}

impl<T: HookTools + ?Sized> HookTools for std::sync::Arc<T> {
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        (**self).run(call)
    }
}

/// Runs the real hook tools found on `PATH`, as Juju provides them to a hook.
#[derive(Debug, Clone, Default)]
pub struct ProcessTools;

impl HookTools for ProcessTools {
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        let mut cmd = Command::new(&call.tool);
        cmd.args(&call.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if call.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = cmd.spawn().map_err(|source| Error::ToolSpawn {
            tool: call.tool.clone(),
            source,
        })?;
        if let (Some(data), Some(mut stdin)) = (call.stdin.as_ref(), child.stdin.take()) {
            // A tool that exits without reading its stdin gives EPIPE here; its exit status
            // below is what matters.
            let _ = stdin.write_all(data);
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::io(format!("waiting for hook tool `{}`", call.tool), e))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(Error::HookTool {
                tool: call.tool.clone(),
                args: call.safe_args(),
                status: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }
}

/// Typed bindings over any [`HookTools`]: one method per tool, grouped one file per family.
#[derive(Clone, Copy)]
pub struct Hook<'a> {
    tools: &'a dyn HookTools,
    model_uuid: Option<&'a str>,
}

impl<'a> Hook<'a> {
    /// Typed bindings over `tools`.
    pub fn new(tools: &'a dyn HookTools) -> Self {
        Hook {
            tools,
            model_uuid: None,
        }
    }

    /// The same bindings, knowing the model's uuid (`JUJU_MODEL_UUID`): secret ids are then
    /// canonicalised to `secret://<model-uuid>/<id>` (see [`canonical_secret_id`]). An empty
    /// uuid is ignored.
    pub fn with_model_uuid(mut self, model_uuid: &'a str) -> Self {
        self.model_uuid = Some(model_uuid).filter(|u| !u.is_empty());
        self
    }

    /// The model uuid given with [`Hook::with_model_uuid`].
    pub fn model_uuid(&self) -> Option<&'a str> {
        self.model_uuid
    }

    /// Runs a raw call.
    pub fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        self.tools.run(call)
    }

    /// Runs a call and parses its stdout as JSON.
    pub fn run_json<T: serde::de::DeserializeOwned>(&self, call: &ToolCall) -> Result<T> {
        let out = self.tools.run(call)?;
        serde_json::from_slice(&out).map_err(|e| {
            Error::tool_output(
                call.tool.clone(),
                format!(
                    "invalid JSON from `{} {}`: {e}",
                    call.tool,
                    call.safe_args().join(" ")
                ),
            )
        })
    }
}
