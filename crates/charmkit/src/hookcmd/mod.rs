//! Hook tools: the only way a charm talks to Juju.
//!
//! Every tool call goes through one trait, [`HookTools`], which takes a [`ToolCall`] (the tool's
//! name, its command-line arguments, optional stdin) and returns the tool's stdout. Three
//! implementations plug in behind it:
//!
//! - [`ProcessTools`] runs the real tool found on `PATH` (what happens under Juju);
//! - the in-memory Juju of the test harness (`charmkit::testing`), which parses the same command
//!   lines as jujuc does and answers, and refuses, in jujuc's words, so unit tests never spawn a
//!   process and still check the exact arguments;
//! - the tracing decorator, which wraps any of them and makes one span per call.
//!
//! The typed bindings — one file per tool family, as in goops — build the command lines and parse
//! the `--format=json` output; they live on [`Hook`], a thin borrowed handle over a `HookTools`.
//!
//! Each binding marks which of its arguments (and whether its stdin and output) can carry secret
//! values, through [`Redact`]; errors and spans show `<redacted>` in their place. Secret content
//! never is an argument at all: it goes through private files (see `secret-add` below).
//!
//! # A low-level layer
//!
//! A charm talks to Juju through the model (`charmkit::model`); `hookcmd` is the layer under
//! it, public and documented for what the model does not cover and for charm libraries, but —
//! as ops documents `ops.hookcmds` — outside the stable API: its signatures follow Juju's tools
//! and may change between minor versions. The shared types it takes and gives ([`Status`],
//! [`RelationId`], [`StorageKind`]…) are stable, and the [`crate::prelude`] has the ones a
//! charm uses.
//!
//! # Errors
//!
//! A tool that exits non-zero is an [`Error::HookTool`] with its exit status and stderr (jujuc
//! exits 2 for a flag or argument error, 1 for a refusal, and writes `ERROR <message>`). Juju's
//! "not found" answers come back typed, with that failure as their source:
//! [`Error::RelationNotFound`] (`invalid value "db:9" for flag -r: relation not found`),
//! [`Error::SecretNotFound`], [`Error::ResourceNotFound`]. Where Juju would refuse an argument
//! (a secret key, an empty secret value, an action result key, a state key too long), the
//! binding refuses it first with [`Error::Usage`], without a call.
//!
//! # The tools, their command lines, and the Juju source they were checked against
//!
//! Each binding was checked against Juju's own command: the file in juju/juju's
//! `internal/worker/uniter/runner/jujuc/` (flags, arguments, `Init`/`Run` errors, output), the
//! uniter's hook context (`internal/worker/uniter/runner/context/context.go`, leadership and
//! secret rules), `core/secrets` (`CreateSecretData`, `ParseURI`) and `core/network`
//! (`ParsePortRange`), `juju/gnuflag` (flag parsing and its messages) and `juju/cmd` (`Main`:
//! exit codes, `ERROR` prefix, `cmd.Output` formats). The fake Juju answers as those files do.
//! The commit is the stored version that was read (see *What could not be checked*).
//!
//! | Tool | Binding | Command line built | Output read | Checked against (commit) |
//! |---|---|---|---|---|
//! | `is-leader` | [`Hook::is_leader`] | `is-leader --format=json` | `true`/`false` | `is-leader.go` (373794e) |
//! | `config-get` | [`Hook::config_get`], [`Hook::config_get_key`] | `config-get --format=json --all`; `config-get --format=json KEY` | object; value or `null` | `config-get.go` (0cdccd5) |
//! | `relation-ids` | [`Hook::relation_ids`] | `relation-ids ENDPOINT --format=json` | sorted list of `endpoint:id` | `relation-ids.go` (0cdccd5) |
//! | `relation-list` | [`Hook::relation_list`], [`Hook::relation_list_app`] | `relation-list --format=json [--app] -r ID` | list of units; app name (`None` if the relation is unknown) | `relation-list.go` (2ba9927), `context.go` `relationIdValue` (12baae6) |
//! | `relation-get` | [`Hook::relation_get`], [`Hook::relation_get_key`] | `relation-get --format=json -r ID [--app] -\|KEY UNIT\|APP` | object of strings; string or `null` | `relation-get.go` (2365bb2) |
//! | `relation-set` | [`Hook::relation_set`] | `relation-set -r ID [--app] --file -`, data as JSON on stdin (redacted) | — | `relation-set.go` (3ff6313) |
//! | `relation-model-get` | [`Hook::relation_model_get`] | `relation-model-get --format=json -r ID` | `{"uuid":…}` | `relation-model-get.go` (e77125b) |
//! | `status-set` | [`Hook::status_set`] | `status-set [--application] STATUS -- MESSAGE` | — | `status-set.go` (12baae6), `context.go` `SetApplicationStatus` |
//! | `status-get` | [`Hook::status_get`] | `status-get --format=json --include-data [--application]` | object, or a bare `"unknown"` | `status-get.go` (0cdccd5) |
//! | `application-version-set` | [`Hook::application_version_set`] | `application-version-set -- VERSION` | — | `application-version-set.go` (12baae6) |
//! | `juju-log` | [`Hook::juju_log`] | `juju-log --log-level LEVEL -- MESSAGE` | — | `juju-log.go` (270b046) |
//! | `action-get` | [`Hook::action_get`], [`Hook::action_get_key`] | `action-get --format=json [KEY.KEY…]` | object; value or `null` | `action-get.go` (0cdccd5) |
//! | `action-set` | [`Hook::action_set`] | `action-set KEY=VALUE…` (values redacted) | — | `action-set.go` (0cdccd5) |
//! | `action-log` | [`Hook::action_log`] | `action-log -- MESSAGE` | — | `action-log.go` (2ba9927) |
//! | `action-fail` | [`Hook::action_fail`] | `action-fail -- MESSAGE` | — | `action-fail.go` (0cdccd5) |
//! | `open-port` | [`Hook::open_port`], [`Hook::open_port_on`] | `open-port [--endpoints A,B] PORT` | — | `ports.go` (0cdccd5), `core/network/portrange.go`, `context/ports.go` |
//! | `close-port` | [`Hook::close_port`], [`Hook::close_port_on`] | `close-port [--endpoints A,B] PORT` | — | `ports.go` (0cdccd5) |
//! | `opened-ports` | [`Hook::opened_ports`], [`Hook::opened_ports_with_endpoints`] | `opened-ports --format=json [--endpoints]` | `["80/tcp"]`; `["80/tcp (*)"]` | `opened-ports.go` (0cdccd5) |
//! | `network-get` | [`Hook::network_get`] | `network-get --format=json [-r ID] BINDING` | object | `network-get.go` (2ba9927) |
//! | `goal-state` | [`Hook::goal_state`] | `goal-state --format=json` | object | `goal-state.go` (12baae6) |
//! | `storage-list` | [`Hook::storage_list`] | `storage-list --format=json [NAME]` | list of ids | `storage-list.go` (0cdccd5) |
//! | `storage-get` | [`Hook::storage_get`] | `storage-get --format=json [-s ID]` | `{"kind":…,"location":…}` | `storage-get.go` (2365bb2) |
//! | `storage-add` | [`Hook::storage_add`] | `storage-add NAME=COUNT` | — | `storage-add.go` (4180630) |
//! | `resource-get` | [`Hook::resource_get`] | `resource-get NAME` | a path, no newline | `resource-get.go` (0cdccd5) |
//! | `credential-get` | [`Hook::credential_get`] | `credential-get --format=json` (output redacted) | object | `credential-get.go` (65266db) |
//! | `juju-reboot` | [`Hook::juju_reboot`] | `juju-reboot [--now]` | — | `reboot.go` (285cce7) |
//! | `state-get` | [`Hook::state_get`], [`Hook::state_get_key`] | `state-get --format=json`; `state-get --format=json --strict KEY` | object or `null`; string (exit 1 `"KEY" not found` → `None`) | `state-get.go` (67d89ab), `context.go` `GetCharmStateValue` |
//! | `state-set` | [`Hook::state_set`] | `state-set --file -`, data as JSON on stdin (redacted) | — | `state-set.go` (2ba9927), `core/quota` |
//! | `state-delete` | [`Hook::state_delete`] | `state-delete KEY` | — | `state-delete.go` (270b046) |
//! | `secret-add` | [`Hook::secret_add`] | `secret-add [--label L] [--description D] [--expire E] [--rotate R] [--owner O] KEY#file=PATH…` | the new id (canonicalised) | `secret-add.go` (0cdccd5), `core/secrets/createsecret.go` (6470adb) |
//! | `secret-set` | [`Hook::secret_set`] | `secret-set ID [flags as secret-add] [KEY#file=PATH…]` | — | `secret-set.go` (0cdccd5), `context.go` `UpdateSecret` |
//! | `secret-get` | [`Hook::secret_get`] | `secret-get --format=json [ID] [--label L] [--refresh\|--peek]` (output redacted) | object of strings | `secret-get.go` (0cdccd5) |
//! | `secret-info-get` | [`Hook::secret_info_get`] | `secret-info-get --format=json ID` or `… --label L`, never both | `{"<bare id>":{…}}` → [`SecretInfo`] | `secret-info-get.go` (0cdccd5) |
//! | `secret-ids` | [`Hook::secret_ids`] | `secret-ids --format=json` | bare ids (canonicalised) | `secret-ids.go` (0cdccd5), `context.go` `SecretMetadata` |
//! | `secret-remove` | [`Hook::secret_remove`] | `secret-remove ID [--revision N]` | — | `secret-remove.go` (2ba9927) |
//! | `secret-grant` | [`Hook::secret_grant`] | `secret-grant ID --relation N [--unit UNIT]` | — | `secret-grant.go` (285cce7), `context.go` `GrantSecret` |
//! | `secret-revoke` | [`Hook::secret_revoke`], [`Hook::secret_revoke_app`] | `secret-revoke ID --relation N [--unit UNIT]`; `secret-revoke ID --app APP` | — | `secret-revoke.go` (0cdccd5) |
//!
//! Notes on the rows:
//!
//! - **Secret content** is written to one file per key, mode `0600`, in a fresh directory of
//!   mode `0700`, passed as `KEY#file=PATH` (absolute: jujuc's server opens it) and removed when
//!   the call returns — never as `KEY=VALUE`, which `/proc/*/cmdline` shows and jujuc logs at
//!   TRACE. Keys must match Juju's `^[a-z](-?[a-z0-9]){2,}$`; an empty value is refused (Juju
//!   refuses `key=` with `key value "key=" not valid`); values over 1 MB base64-encoded, or
//!   content over 1 MB in all, are refused as `core/secrets` refuses them.
//! - **Secret ids** are canonical everywhere ([`canonical_secret_id`]): Juju 3.6's `secret-add`
//!   prints `secret://<model-uuid>/<id>`, older 3.x `secret:<id>`, `secret-ids` and
//!   `secret-info-get` the bare `<id>`. As ops, a bare id gets the model (`secret://<model>/`,
//!   or `secret:` without one); unlike ops, `secret:<id>` gets it too, since Juju reads it as the
//!   same secret of this model. [`Hook::with_model_uuid`] gives the model (`Model::hook` does).
//! - **`-r`**: jujuc reads only the number after the last `:` (`db:5` and `5` are the same
//!   relation; the endpoint part is not checked).
//! - **Leadership**: Juju guarantees `is-leader`'s answer for 30 s; `Model::is_leader`
//!   asks again after that, as ops does.
//! - **`state-get KEY`** without `--strict` prints `""` for a missing key, so the binding passes
//!   `--strict`; `state-set` stores an empty value as it is (only `state-delete` deletes).
//! - **`status-get`** can report any workload status (`terminated`, `error`, `unknown`), and
//!   prints a bare `"unknown"` when the unit's status cannot be read.
//!
//! ## What could not be checked
//!
//! - **The exact 3.6 files.** juju/juju was too large to fetch whole (558 MB), so each file was
//!   read from the stored index, at whatever version it holds. Most of those versions import
//!   `github.com/juju/cmd/v4` and `names/v5` (the 3.x line); `relation-set.go`, `status-set.go`,
//!   `juju-log.go`, `is-leader.go`, `credential-get.go`, `goal-state.go`,
//!   `application-version-set.go` and `state-delete.go` import `cmd/v3` (an earlier 3.x);
//!   `relation-get.go`, `storage-get.go` and `relation-model-get.go` are main-line (4.0,
//!   `internal/cmd`); `core/secrets/createsecret.go` with `#file` support was read at a
//!   main-line commit. The flags, arguments and messages used here agree across those versions,
//!   but no file was read at a 3.6 tag.
//! - **Messages from the controller** (not from jujuc): a missing secret (`secret "<id>" not
//!   found` is what `secret-info-get` and `GrantSecret` say; `secret-get`'s comes from the
//!   secret backend and was not read), a missing resource (`could not download resource:
//!   resource#<app>/<name> not found`, the wording ops' and charm-helpers' tests use), an
//!   unknown `storage-get -s` id, `storage-add`'s count errors, the `--file` YAML errors, and a
//!   non-leader reading its own application databag (`permission denied`, per the interface
//!   reference). The typed errors match on "… not found" / "relation not found", not on the
//!   whole text.
//! - **What fails at commit, not in the hook**: Juju accepts `secret-set`/`secret-remove` on a
//!   secret the unit does not own and `storage-add` of an undeclared storage, and fails the hook
//!   when committing; the fake refuses the first at once (`permission denied`), accepts the
//!   second.
//! - **Defaults from the hook context**: the fake takes them from the dispatch the harness runs
//!   (`-r` the hook's relation, `-s` its storage, `relation-get`'s remote unit or application,
//!   `not running an action`, `juju-reboot` refused in an action); a fake used on its own has no
//!   hook context and needs them all given. The bindings always pass `-r`, `-s` and the unit.
//! - **Machine vs Kubernetes**: Juju refuses port *ranges* on Kubernetes models; the fake does
//!   not know the model type and accepts them.
//! - **Output format details**: the fake writes YAML with serde (Go's yaml.v2 may quote
//!   differently) and `juju-log` levels other than the four [`LogLevel`]s (`TRACE`, `CRITICAL`)
//!   are recorded as `DEBUG`/`ERROR`.

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
pub(crate) mod mock;
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

#[cfg(any(test, feature = "testing"))]
pub(crate) use action::valid_result_key_part;
pub use action::RESERVED_RESULT_KEYS;
pub use log::LogLevel;
pub use ports::{OpenedPort, Port, PortEndpoints, PortRange, Protocol};
#[cfg(any(test, feature = "testing"))]
pub(crate) use secret::valid_secret_key;
pub use secret::{SecretAccess, SecretInfo, SecretOptions, SecretOwner, SecretRefresh};
pub use state::{MAX_STATE_KEY, MAX_STATE_VALUE};
// The shared small types the tools take and give, re-exported where they have always been.
pub use crate::types::{
    canonical_secret_id, ParseError, RelationId, Status, StatusName, StorageKind,
};

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
