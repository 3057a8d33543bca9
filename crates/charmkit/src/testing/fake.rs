//! An in-memory Juju for one unit.
//!
//! [`FakeJuju`] implements [`HookTools`] by parsing the very command lines the typed bindings
//! ([`Hook`]) emit and answering as jujuc would, from a plain-data [`State`] that goes in before
//! a dispatch and comes out after it. Every test that runs through it therefore also checks the
//! bindings' argv, and what they make of Juju's answers.
//!
//! It reproduces jujuc (juju/juju `internal/worker/uniter/runner/jujuc`, read on the 3.6 line;
//! the table in [`crate::hookcmd`] says which file each tool was checked against):
//!
//! - command lines are parsed as `juju/gnuflag` does — `--flag=value`, `--flag value`, one-letter
//!   flag clusters (`-rdb:5`), `--` ending the flags — and refused with its words
//!   (`flag provided but not defined: --bogus`, `unrecognized args: ["x"]`);
//! - a flag or argument error exits 2 and a refusal exits 1, with `ERROR <message>` on stderr,
//!   values quoted as Go's `%q` quotes them;
//! - output is `cmd.Output`'s: the tool's default format (`smart` for most) unless `--format`
//!   says `json` or `yaml`, JSON as Go's `encoding/json` writes it;
//! - a relation is named by `-r`/`--relation` with only the number after the last `:` read; an
//!   unknown one is `invalid value "db:9" for flag -r: relation not found` (exit 2);
//! - leadership, ownership and the other rules each tool checks, refused in Juju's words: a
//!   non-leader gets `this unit is not the leader` from `status-set --application` and for
//!   application-owned secrets, `finding application status: this unit is not the leader` from
//!   `status-get --application`, `cannot write relation settings` from `relation-set --app`, and
//!   `permission denied` when it reads its own application databag;
//! - an unknown tool gives exit 127 (`TOOL: command not found`);
//! - a relation can be hidden from `relation-ids` ([`FakeJuju::hide_relation`]), as Juju hides
//!   the broken relation during relation-broken, while its data stays readable.
//!
//! The harness gives the fake the hook context of the dispatch it runs ([`FakeJuju::enter`]), as
//! the uniter gives jujuc: `-r` defaults to the hook's relation, `relation-get` reads the hook's
//! remote unit (or, with `--app`, application) when none is named, `storage-get` the hook's
//! storage, and the action tools refuse with `not running an action` outside an action. A fake
//! used on its own has no hook context: `-r`, `-s` and the unit must be given, and the action
//! tools answer. Where the fake still cannot behave as Juju (changes Juju accepts during a hook
//! but refuses when committing it are refused at once), [`crate::hookcmd`] lists it under *What
//! could not be checked*.
//!
//! Every call is recorded in order ([`FakeJuju::calls`], with stdin), `juju-log` lines also
//! separately ([`FakeJuju::logs`]). Tests can make a tool fail ([`FakeJuju::fail`]) or print
//! given bytes ([`FakeJuju::respond`]).
//!
//! A dispatch is single-threaded, so the fake uses `RefCell`s: it is not `Sync`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use charmkit::hookcmd::{Hook, RelationId};
//! use charmkit::testing::fake::{FakeJuju, Relation, State};
//!
//! let state = State::new("rust-starter/0").with_leader(true).with_relation(
//!     Relation::new("charm-tracing", 5, "tempo")
//!         .with_remote_app_data([("receivers", "[]")]),
//! );
//! let juju = FakeJuju::new(state);
//! let hook = juju.hook();
//! let rid = RelationId::new("charm-tracing", 5);
//! assert_eq!(hook.relation_get(&rid, "tempo", true).unwrap()["receivers"], "[]");
//! hook.relation_set(&rid, true, &BTreeMap::from([("receivers".into(), r#"["otlp_http"]"#.into())]))
//!     .unwrap();
//! let out = juju.into_state();
//! assert_eq!(out.relations[0].local_app_data["receivers"], r#"["otlp_http"]"#);
//! ```

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::hookcmd::{Hook, HookTools, LogLevel, Port, RelationId, SecretOwner, Status, ToolCall};

fn string_map<I, K, V>(data: I) -> BTreeMap<String, String>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    data.into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

/// One relation of the unit, with the four kinds of databag it can see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relation {
    /// The relation number (`5` in `charm-tracing:5`).
    pub id: u32,
    /// The local endpoint name.
    pub endpoint: String,
    /// The remote application's name.
    pub remote_app: String,
    /// Our application's databag (leader-only for reading and writing).
    pub local_app_data: BTreeMap<String, String>,
    /// Our unit's databag.
    pub local_unit_data: BTreeMap<String, String>,
    /// The remote application's databag.
    pub remote_app_data: BTreeMap<String, String>,
    /// The remote units (as `relation-list` lists them) and their databags.
    pub remote_units_data: BTreeMap<String, BTreeMap<String, String>>,
    /// The uuid of the remote application's model (`relation-model-get`), for a cross-model
    /// relation; `None` for one within the model.
    pub remote_model_uuid: Option<String>,
}

impl Relation {
    /// A relation on `endpoint` with number `id` to `remote_app`, with empty databags and no
    /// remote units.
    pub fn new(endpoint: impl Into<String>, id: u32, remote_app: impl Into<String>) -> Self {
        Relation {
            id,
            endpoint: endpoint.into(),
            remote_app: remote_app.into(),
            ..Relation::default()
        }
    }

    /// The relation's id, `endpoint:id`.
    pub fn relation_id(&self) -> RelationId {
        RelationId::new(self.endpoint.clone(), self.id)
    }

    /// Adds to the remote application's databag.
    pub fn with_remote_app_data<I, K, V>(mut self, data: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.remote_app_data.extend(string_map(data));
        self
    }

    /// Adds a remote unit with its databag.
    pub fn with_remote_unit<I, K, V>(mut self, unit: impl Into<String>, data: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.remote_units_data
            .entry(unit.into())
            .or_default()
            .extend(string_map(data));
        self
    }

    /// Adds to our application's databag.
    pub fn with_local_app_data<I, K, V>(mut self, data: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.local_app_data.extend(string_map(data));
        self
    }

    /// Adds to our unit's databag.
    pub fn with_local_unit_data<I, K, V>(mut self, data: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.local_unit_data.extend(string_map(data));
        self
    }
}

/// A grant of a secret to a relation (and optionally one of its remote units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretGrant {
    /// The relation number.
    pub relation_id: u32,
    /// The remote unit, or `None` for the whole remote application.
    pub unit: Option<String>,
}

/// A secret the unit owns or observes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secret {
    /// Its id, `secret:…`.
    pub id: String,
    /// Its label, if any.
    pub label: Option<String>,
    /// Its description, if any.
    pub description: Option<String>,
    /// Who owns it: our application, this unit, or `None` when another application owns it
    /// and this unit only observes it.
    pub owner: Option<SecretOwner>,
    /// The latest revision.
    pub revision: u64,
    /// The latest revision's content.
    pub content: BTreeMap<String, String>,
    /// For an observed secret: the content of the revision this unit tracks, when older than
    /// the latest (`secret-get` returns it until `--refresh`; `--peek` shows the latest).
    pub tracked_content: Option<BTreeMap<String, String>>,
    /// `--expire`, as given.
    pub expire: Option<String>,
    /// `--rotate`, as given.
    pub rotate: Option<String>,
    /// Grants made with `secret-grant` and not revoked.
    pub grants: Vec<SecretGrant>,
    /// Revisions removed with `secret-remove --revision`.
    pub removed_revisions: Vec<u64>,
}

impl Secret {
    /// An application-owned secret at revision 1.
    pub fn new<I, K, V>(id: impl Into<String>, content: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Secret {
            id: id.into(),
            owner: Some(SecretOwner::Application),
            revision: 1,
            content: string_map(content),
            ..Secret::default()
        }
    }

    /// A secret owned by another application, observed by this unit.
    pub fn observed<I, K, V>(id: impl Into<String>, content: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Secret {
            owner: None,
            ..Secret::new(id, content)
        }
    }

    /// Sets the label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the owner.
    pub fn with_owner(mut self, owner: Option<SecretOwner>) -> Self {
        self.owner = owner;
        self
    }

    /// Sets the content of the revision this unit tracks (see [`Secret::tracked_content`]).
    pub fn with_tracked_content<I, K, V>(mut self, content: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.tracked_content = Some(string_map(content));
        self
    }
}

/// A storage instance attached to the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// Its id, `name/index` (e.g. `data/0`).
    pub id: String,
    /// `filesystem` or `block`.
    pub kind: String,
    /// Where it is mounted (or the device path).
    pub location: String,
}

impl Storage {
    /// A storage instance.
    pub fn new(
        id: impl Into<String>,
        kind: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        Storage {
            id: id.into(),
            kind: kind.into(),
            location: location.into(),
        }
    }
}

/// Everything the fake Juju knows about the unit: what goes in before a dispatch and comes out
/// after it.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The unit's name, `app/N`; the application name is the part before `/`. Empty (the
    /// default) means the charm's unit 0 when the harness runs it; another application's unit
    /// is refused.
    pub unit_name: String,
    /// Whether the unit is the leader.
    pub leader: bool,
    /// Configuration (`config-get`); `null` values are unset options.
    pub config: BTreeMap<String, Value>,
    /// The unit's relations.
    pub relations: Vec<Relation>,
    /// Secrets the unit owns or observes.
    pub secrets: Vec<Secret>,
    /// The unit's status (`status-set`).
    pub unit_status: Status,
    /// The application's status (`status-set --application`).
    pub app_status: Status,
    /// `application-version-set`.
    pub workload_version: Option<String>,
    /// Opened ports, by endpoint, as Juju groups them: the key `""` holds the ports opened for
    /// every endpoint (without `--endpoints`).
    pub opened_ports: BTreeMap<String, BTreeSet<Port>>,
    /// The running action's parameters (`action-get`).
    pub action_params: BTreeMap<String, Value>,
    /// Results set with `action-set`, by (possibly dotted) key.
    pub action_results: BTreeMap<String, String>,
    /// The `action-fail` message, if the action failed.
    pub action_failed: Option<String>,
    /// `action-log` messages, in order.
    pub action_logs: Vec<String>,
    /// Server-side state (`state-get`/`state-set`).
    pub juju_state: BTreeMap<String, String>,
    /// `network-get` answers, by binding name.
    pub networks: BTreeMap<String, Value>,
    /// The `goal-state` answer.
    pub goal_state: Value,
    /// Attached storage.
    pub storages: Vec<Storage>,
    /// Storage instances asked for with `storage-add`, by storage name.
    pub storage_added: BTreeMap<String, u64>,
    /// The charm's resources (`resource-get`): name to the path of the unit's copy.
    pub resources: BTreeMap<String, std::path::PathBuf>,
    /// The `credential-get` answer; `None` for an untrusted application.
    pub credentials: Option<Value>,
    /// Whether `juju-reboot` was called.
    pub reboot_requested: bool,
    /// Stored state and deferred events (the framework's, on disk under the charm directory).
    pub stored: crate::state::StoredState,
    /// The model's uuid (`JUJU_MODEL_UUID`): new secrets get ids `secret://<uuid>/<id>`, as
    /// Juju 3.6 gives them, and [`FakeJuju::hook`] canonicalises ids with it.
    pub model_uuid: String,
    /// Workload containers (Kubernetes sidecar charms), each served by a fake Pebble during
    /// the dispatch; after it, as the charm left them (plan, services, files, execs).
    pub containers: Vec<super::pebble::Container>,
}

/// The model uuid of a [`State::new`]: the one the test harness gives its dispatches.
pub const MODEL_UUID: &str = "00000000-0000-4000-8000-000000000000";

impl Default for State {
    /// A non-leader unit 0 of the charm under test, with nothing set.
    fn default() -> Self {
        State::new("")
    }
}

impl State {
    /// A non-leader unit `unit_name` with nothing set.
    pub fn new(unit_name: impl Into<String>) -> Self {
        State {
            unit_name: unit_name.into(),
            leader: false,
            config: BTreeMap::new(),
            relations: Vec::new(),
            secrets: Vec::new(),
            unit_status: Status::unknown(),
            app_status: Status::unknown(),
            workload_version: None,
            opened_ports: BTreeMap::new(),
            action_params: BTreeMap::new(),
            action_results: BTreeMap::new(),
            action_failed: None,
            action_logs: Vec::new(),
            juju_state: BTreeMap::new(),
            networks: BTreeMap::new(),
            goal_state: json!({"units": {}, "relations": {}}),
            storages: Vec::new(),
            storage_added: BTreeMap::new(),
            resources: BTreeMap::new(),
            credentials: None,
            reboot_requested: false,
            stored: Default::default(),
            model_uuid: MODEL_UUID.to_string(),
            containers: Vec::new(),
        }
    }

    /// The charm's own stored value `key` (owner `charm`, whatever the charm's struct is
    /// called): `None` if absent; an error naming the key if it is not a `T`.
    pub fn stored_value<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.stored.get(crate::framework::CHARM_OWNER, key)
    }

    /// The application's name (the unit name before `/`).
    pub fn app_name(&self) -> &str {
        crate::types::app_of(&self.unit_name).unwrap_or(&self.unit_name)
    }

    /// Sets leadership.
    pub fn with_leader(mut self, leader: bool) -> Self {
        self.leader = leader;
        self
    }

    /// Sets a configuration option.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Adds a relation.
    pub fn with_relation(mut self, relation: Relation) -> Self {
        self.relations.push(relation);
        self
    }

    /// Adds a secret.
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Sets an action parameter.
    pub fn with_action_param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.action_params.insert(key.into(), value.into());
        self
    }

    /// Sets the `network-get` answer for `binding`.
    pub fn with_network(mut self, binding: impl Into<String>, info: Value) -> Self {
        self.networks.insert(binding.into(), info);
        self
    }

    /// Attaches a storage instance.
    pub fn with_storage(mut self, storage: Storage) -> Self {
        self.storages.push(storage);
        self
    }

    /// Sets resource `name`'s local copy (what `resource-get` prints).
    pub fn with_resource(
        mut self,
        name: impl Into<String>,
        path: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.resources.insert(name.into(), path.into());
        self
    }

    /// Opens `port` for every endpoint, as `open-port` without `--endpoints` does.
    pub fn with_opened_port(mut self, port: Port) -> Self {
        self.opened_ports
            .entry(String::new())
            .or_default()
            .insert(port);
        self
    }

    /// Every opened port, whatever the endpoints.
    pub fn all_opened_ports(&self) -> BTreeSet<Port> {
        self.opened_ports.values().flatten().copied().collect()
    }

    /// Sets the cloud credential (a trusted application).
    pub fn with_credentials(mut self, credentials: Value) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Adds a workload container (see [`super::pebble::Container`]).
    pub fn with_container(mut self, container: super::pebble::Container) -> Self {
        self.containers.push(container);
        self
    }

    /// The workload container `name`.
    pub fn container(&self, name: &str) -> Option<&super::pebble::Container> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// The relation with number `id`.
    pub fn relation(&self, id: u32) -> Option<&Relation> {
        self.relations.iter().find(|r| r.id == id)
    }

    /// The relation with number `id`, mutably.
    pub fn relation_mut(&mut self, id: u32) -> Option<&mut Relation> {
        self.relations.iter_mut().find(|r| r.id == id)
    }

    /// The secret with this id (with or without the `secret:` prefix) or label.
    pub fn secret(&self, id_or_label: &str) -> Option<&Secret> {
        self.secrets
            .iter()
            .find(|s| same_secret(&s.id, id_or_label))
            .or_else(|| {
                self.secrets
                    .iter()
                    .find(|s| s.label.as_deref() == Some(id_or_label))
            })
    }
}

/// A secret id without `secret:` and any `//model-uuid/` part.
fn bare_secret_id(id: &str) -> &str {
    let id = id.strip_prefix("secret:").unwrap_or(id);
    id.rsplit('/').next().unwrap_or(id)
}

fn same_secret(a: &str, b: &str) -> bool {
    bare_secret_id(a) == bare_secret_id(b)
}

mod action;
mod context;
mod jujuc;
mod network;
mod relation;
mod secret;
mod status;
mod storage;
mod unit;

use context::HookContext;
use jujuc::{Fail, Out};

/// The in-memory Juju: see the [module docs](self).
#[derive(Debug, Default)]
pub struct FakeJuju {
    state: RefCell<State>,
    model_uuid: String,
    calls: RefCell<Vec<ToolCall>>,
    logs: RefCell<Vec<(LogLevel, String)>>,
    hidden: RefCell<BTreeSet<u32>>,
    failures: RefCell<BTreeMap<String, (i32, String)>>,
    responses: RefCell<BTreeMap<String, Vec<u8>>>,
    secret_seq: Cell<u64>,
    context: RefCell<Option<HookContext>>,
}

impl FakeJuju {
    /// A fake Juju holding `state`.
    pub fn new(state: State) -> Self {
        FakeJuju {
            model_uuid: state.model_uuid.clone(),
            state: RefCell::new(state),
            ..FakeJuju::default()
        }
    }

    /// Typed bindings over this fake, with the model uuid of the state it was made with.
    pub fn hook(&self) -> Hook<'_> {
        Hook::new(self).with_model_uuid(&self.model_uuid)
    }

    /// A snapshot of the state.
    pub fn state(&self) -> State {
        self.state.borrow().clone()
    }

    /// The final state.
    pub fn into_state(self) -> State {
        self.state.into_inner()
    }

    /// Changes the state between calls (e.g. the remote side writes its databag).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.borrow_mut())
    }

    /// Every call so far, in order, with its stdin.
    pub fn calls(&self) -> Vec<ToolCall> {
        self.calls.borrow().clone()
    }

    /// The calls of one tool, in order.
    pub fn calls_of(&self, tool: &str) -> Vec<ToolCall> {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.tool == tool)
            .cloned()
            .collect()
    }

    /// The `juju-log` lines so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.borrow().clone()
    }

    /// Hides relation `id` from `relation-ids` (as during its relation-broken hook); its data
    /// stays readable.
    pub fn hide_relation(&self, id: u32) {
        self.hidden.borrow_mut().insert(id);
    }

    /// Lists relation `id` in `relation-ids` again.
    pub fn unhide_relation(&self, id: u32) {
        self.hidden.borrow_mut().remove(&id);
    }

    /// Makes every call of `tool` exit with `status` and `stderr`.
    pub fn fail(&self, tool: &str, status: i32, stderr: impl Into<String>) {
        self.failures
            .borrow_mut()
            .insert(tool.to_string(), (status, stderr.into()));
    }

    /// Makes every call of `tool` succeed and print `stdout` (e.g. invalid JSON).
    pub fn respond(&self, tool: &str, stdout: impl Into<Vec<u8>>) {
        self.responses
            .borrow_mut()
            .insert(tool.to_string(), stdout.into());
    }

    /// Removes all [`FakeJuju::fail`] and [`FakeJuju::respond`] injections.
    pub fn clear_injections(&self) {
        self.failures.borrow_mut().clear();
        self.responses.borrow_mut().clear();
    }

    fn dispatch(&self, call: &ToolCall) -> Out {
        match call.tool.as_str() {
            "is-leader" => self.is_leader(call),
            "relation-ids" => self.relation_ids(call),
            "relation-list" => self.relation_list(call),
            "relation-get" => self.relation_get(call),
            "relation-set" => self.relation_set(call),
            "config-get" => self.config_get(call),
            "status-set" => self.status_set(call),
            "status-get" => self.status_get(call),
            "application-version-set" => self.application_version_set(call),
            "juju-log" => self.juju_log(call),
            "action-get" => self.action_get(call),
            "action-set" => self.action_set(call),
            "action-log" => self.action_log(call),
            "action-fail" => self.action_fail(call),
            "open-port" | "close-port" => self.port(call),
            "opened-ports" => self.opened_ports(call),
            "network-get" => self.network_get(call),
            "goal-state" => self.goal_state(call),
            "storage-list" => self.storage_list(call),
            "storage-get" => self.storage_get(call),
            "storage-add" => self.storage_add(call),
            "resource-get" => self.resource_get(call),
            "relation-model-get" => self.relation_model_get(call),
            "credential-get" => self.credential_get(call),
            "juju-reboot" => self.juju_reboot(call),
            "state-get" => self.state_get(call),
            "state-set" => self.state_set(call),
            "state-delete" => self.state_delete(call),
            "secret-add" => self.secret_add(call),
            "secret-get" => self.secret_get(call),
            "secret-set" => self.secret_set(call),
            "secret-remove" => self.secret_remove(call),
            "secret-info-get" => self.secret_info_get(call),
            "secret-grant" => self.secret_grant(call),
            "secret-revoke" => self.secret_revoke(call),
            "secret-ids" => self.secret_ids(call),
            tool => Err(Fail::new(127, format!("{tool}: command not found"))),
        }
    }
}

impl HookTools for FakeJuju {
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        self.calls.borrow_mut().push(call.clone());
        let failure = self.failures.borrow().get(&call.tool).cloned();
        let response = self.responses.borrow().get(&call.tool).cloned();
        let outcome = match (failure, response) {
            (Some((code, stderr)), _) => Err(Fail::new(code, stderr)),
            (None, Some(out)) => Ok(out),
            (None, None) if jujuc::asks_for_help(&call.args) => {
                Ok(format!("Usage: {} [options]\n", call.tool).into_bytes())
            }
            (None, None) => self.dispatch(call),
        };
        outcome.map_err(|f| Error::HookTool {
            tool: call.tool.clone(),
            args: call.safe_args(),
            status: Some(f.code),
            stderr: f.stderr,
        })
    }
}

#[cfg(test)]
mod tests;
