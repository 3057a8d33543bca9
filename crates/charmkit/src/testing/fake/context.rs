//! The hook context of a dispatch, as the uniter gives it to jujuc: what the tools default to
//! and refuse by it.

use super::FakeJuju;
use crate::context::JujuContext;

/// What the uniter's hook context gives the tools of one dispatch (see [`FakeJuju::enter`]).
#[derive(Debug, Clone, Default)]
pub(super) struct HookContext {
    /// The hook's relation (`-r`'s default).
    pub(super) relation: Option<u32>,
    /// The hook's remote unit (`relation-get`'s default unit).
    pub(super) remote_unit: Option<String>,
    /// The hook's remote application (`relation-get --app`'s default).
    pub(super) remote_app: Option<String>,
    /// The hook's storage (`storage-get -s`'s default).
    pub(super) storage: Option<String>,
    /// Whether an action runs.
    pub(super) action: bool,
}

impl FakeJuju {
    /// Runs the tools from now on in the hook context `ctx` describes, as Juju's uniter does:
    /// `-r` defaults to its relation; `relation-get` reads its remote unit, else (and with
    /// `--app`) its remote application; `storage-get`'s `-s` defaults to its storage;
    /// `action-get`, `action-set`, `action-log` and `action-fail` fail with `not running an
    /// action` unless it is an action, and `juju-reboot` fails in one. The harness does this for
    /// every dispatch it runs.
    pub fn enter(&self, ctx: &JujuContext) {
        *self.context.borrow_mut() = Some(HookContext {
            relation: ctx.relation_id.as_ref().map(|r| r.id),
            remote_unit: ctx.remote_unit.clone(),
            remote_app: ctx.remote_app.clone(),
            storage: ctx
                .storage_id
                .as_ref()
                .map(|s| format!("{}/{}", s.name, s.index)),
            action: ctx.action_name.is_some(),
        });
    }
}
