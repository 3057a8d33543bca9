//! An in-memory Juju for one unit.
//!
//! [`FakeJuju`] implements [`HookTools`] by parsing the very command lines the typed bindings
//! ([`Hook`]) emit and answering as Juju would, from a plain-data [`State`] that goes in before a
//! dispatch and comes out after it. Because it parses the real command lines (and rejects unknown
//! flags, a missing `--format=json`, extra arguments), every test that runs through it also
//! checks the bindings' argv.
//!
//! Juju's rules it enforces:
//!
//! - a non-leader unit reading or writing its *own* application databag (`relation-get --app`,
//!   `relation-set --app`), or using `status-set --application` / `status-get --application`,
//!   gets exit 1 and `ERROR permission denied`; so does a non-leader managing an
//!   application-owned secret, or any unit managing a secret it does not own;
//! - an unknown relation id gives exit 2 and
//!   `ERROR invalid value "ID" for option -r: relation not found`;
//! - `relation-set` and `state-set` merge, and an empty value deletes its key;
//! - an unknown tool gives exit 127 (`TOOL: command not found`);
//! - a relation can be hidden from `relation-ids` ([`FakeJuju::hide_relation`]), as Juju hides
//!   the broken relation during relation-broken, while its data stays readable.
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

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::hookcmd::{
    Hook, HookTools, LogLevel, Port, RelationId, SecretOwner, Status, StatusName, ToolCall,
};

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
    /// Opened ports.
    pub opened_ports: BTreeSet<Port>,
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
    /// The `credential-get` answer; `None` for an untrusted application.
    pub credentials: Option<Value>,
    /// Whether `juju-reboot` was called.
    pub reboot_requested: bool,
    /// Stored state and deferred events (the framework's, on disk under the charm directory).
    pub stored: crate::state::StoredState,
}

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
            opened_ports: BTreeSet::new(),
            action_params: BTreeMap::new(),
            action_results: BTreeMap::new(),
            action_failed: None,
            action_logs: Vec::new(),
            juju_state: BTreeMap::new(),
            networks: BTreeMap::new(),
            goal_state: json!({"units": {}, "relations": {}}),
            storages: Vec::new(),
            credentials: None,
            reboot_requested: false,
            stored: Default::default(),
        }
    }

    /// The charm's own stored value `key` (owner `charm`, whatever the charm's struct is
    /// called): `None` if absent; an error naming the key if it is not a `T`.
    pub fn stored_value<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.stored.get(crate::framework::CHARM_OWNER, key)
    }

    /// The application's name (the unit name before `/`).
    pub fn app_name(&self) -> &str {
        crate::context::app_of(&self.unit_name).unwrap_or(&self.unit_name)
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

    /// Sets the cloud credential (a trusted application).
    pub fn with_credentials(mut self, credentials: Value) -> Self {
        self.credentials = Some(credentials);
        self
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

/// A hook tool's failure: exit status and stderr.
#[derive(Debug)]
struct Fail {
    code: i32,
    stderr: String,
}

impl Fail {
    fn new(code: i32, stderr: impl Into<String>) -> Self {
        Fail {
            code,
            stderr: stderr.into(),
        }
    }

    /// A command-line error: exit 2, `ERROR …`.
    fn usage(msg: impl std::fmt::Display) -> Self {
        Fail::new(2, format!("ERROR {msg}"))
    }

    fn denied() -> Self {
        Fail::new(1, "ERROR permission denied")
    }
}

type Out = std::result::Result<Vec<u8>, Fail>;

/// A parsed command line: flags by canonical name (`"true"`/`"false"` for booleans), and
/// positional arguments.
#[derive(Debug, Default)]
struct Parsed {
    flags: BTreeMap<&'static str, String>,
    pos: Vec<String>,
}

impl Parsed {
    fn get(&self, flag: &str) -> Option<&str> {
        self.flags.get(flag).map(String::as_str)
    }

    fn has(&self, flag: &str) -> bool {
        self.get(flag) == Some("true")
    }

    /// Fails if there are more than `n` positional arguments.
    fn at_most(&self, n: usize) -> std::result::Result<(), Fail> {
        if self.pos.len() > n {
            return Err(Fail::usage(format_args!(
                "unrecognized args: {:?}",
                &self.pos[n..]
            )));
        }
        Ok(())
    }

    /// Fails unless `--format=json` was given (the bindings always ask for JSON).
    fn json(&self) -> std::result::Result<(), Fail> {
        match self.get("format") {
            Some("json") => Ok(()),
            other => Err(Fail::usage(format_args!(
                "fake juju answers only --format=json (got {other:?})"
            ))),
        }
    }
}

/// Parses `args` as Juju's `gnuflag` does (flags anywhere, `--flag=v` or `--flag v`, `--` ends
/// flags, `-` is positional). `spec` lists `(names, takes_value)`, names as `"r|relation"`.
fn parse(args: &[String], spec: &[(&'static str, bool)]) -> std::result::Result<Parsed, Fail> {
    let mut p = Parsed::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            p.pos.extend(it.by_ref().cloned());
            break;
        }
        if a.len() < 2 || !a.starts_with('-') {
            p.pos.push(a.clone());
            continue;
        }
        let body = a.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(&(names, takes_value)) = spec
            .iter()
            .find(|(names, _)| names.split('|').any(|n| n == name))
        else {
            return Err(Fail::usage(format_args!(
                "flag provided but not defined: -{name}"
            )));
        };
        let canonical = names.split('|').next().unwrap_or(names);
        let value = if takes_value {
            match inline {
                Some(v) => v.to_string(),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| Fail::usage(format_args!("flag needs an argument: {a}")))?,
            }
        } else {
            match inline {
                None | Some("true") => "true".to_string(),
                Some("false") => "false".to_string(),
                Some(v) => {
                    return Err(Fail::usage(format_args!(
                        "invalid boolean value {v:?} for -{name}"
                    )))
                }
            }
        };
        p.flags.insert(canonical, value);
    }
    Ok(p)
}

/// Checks a command line that is exactly `--format=json`.
fn only_json(args: &[String]) -> std::result::Result<(), Fail> {
    let p = parse(args, &[("format", true)])?;
    p.json()?;
    p.at_most(0)
}

fn json_out<T: Serialize + ?Sized>(v: &T) -> Out {
    let mut out = serde_json::to_vec(v).map_err(|e| Fail::new(1, format!("ERROR {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// `KEY=VALUE` arguments into a map.
fn key_values(args: &[String]) -> std::result::Result<BTreeMap<String, String>, Fail> {
    args.iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    // Only the key part could be shown; the argument may hold a secret.
                    Fail::usage("expected \"key=value\" arguments")
                })
        })
        .collect()
}

/// The settings of `relation-set`/`state-set`: `--file -` (stdin, JSON or YAML map of strings)
/// then `KEY=VALUE` arguments.
fn settings(call: &ToolCall, p: &Parsed) -> std::result::Result<BTreeMap<String, String>, Fail> {
    let mut data = BTreeMap::new();
    if let Some(file) = p.get("file") {
        if file != "-" {
            return Err(Fail::usage(format_args!(
                "fake juju reads --file only from stdin (`-`), got {file:?}"
            )));
        }
        let stdin = call.stdin.as_deref().unwrap_or_default();
        if !stdin.iter().all(u8::is_ascii_whitespace) {
            let parsed: BTreeMap<String, String> = serde_json::from_slice(stdin)
                .or_else(|_| serde_norway::from_slice(stdin))
                .map_err(|_| Fail::usage("cannot parse settings: expected a map of strings"))?;
            data.extend(parsed);
        }
    }
    data.extend(key_values(&p.pos)?);
    Ok(data)
}

/// Merges `data` into `bag`; an empty value deletes its key.
fn merge(bag: &mut BTreeMap<String, String>, data: BTreeMap<String, String>) {
    for (k, v) in data {
        if v.is_empty() {
            bag.remove(&k);
        } else {
            bag.insert(k, v);
        }
    }
}

/// Juju's rule for action result keys: dotted segments of lowercase alphanumerics and hyphens,
/// starting and ending alphanumeric.
fn valid_action_key(key: &str) -> bool {
    key.split('.').all(|seg| {
        let b = seg.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

/// Juju's rule for secret content keys: `^[a-z](-?[a-z0-9]){2,}$`.
fn valid_secret_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !key.ends_with('-')
        && !key.contains("--")
}

/// The in-memory Juju: see the [module docs](self).
#[derive(Debug, Default)]
pub struct FakeJuju {
    state: RefCell<State>,
    calls: RefCell<Vec<ToolCall>>,
    logs: RefCell<Vec<(LogLevel, String)>>,
    hidden: RefCell<BTreeSet<u32>>,
    failures: RefCell<BTreeMap<String, (i32, String)>>,
    responses: RefCell<BTreeMap<String, Vec<u8>>>,
    secret_seq: Cell<u64>,
}

impl FakeJuju {
    /// A fake Juju holding `state`.
    pub fn new(state: State) -> Self {
        FakeJuju {
            state: RefCell::new(state),
            ..FakeJuju::default()
        }
    }

    /// Typed bindings over this fake.
    pub fn hook(&self) -> Hook<'_> {
        Hook::new(self)
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
        let a = &call.args;
        match call.tool.as_str() {
            "is-leader" => {
                only_json(a)?;
                json_out(&self.state.borrow().leader)
            }
            "relation-ids" => self.relation_ids(a),
            "relation-list" => self.relation_list(a),
            "relation-get" => self.relation_get(a),
            "relation-set" => self.relation_set(call),
            "config-get" => self.config_get(a),
            "status-set" => self.status_set(a),
            "status-get" => self.status_get(a),
            "application-version-set" => {
                let p = parse(a, &[])?;
                let [v] = p.pos.as_slice() else {
                    return Err(Fail::usage("expected exactly one version argument"));
                };
                self.state.borrow_mut().workload_version = Some(v.clone());
                Ok(Vec::new())
            }
            "juju-log" => self.juju_log(a),
            "action-get" => self.action_get(a),
            "action-set" => self.action_set(a),
            "action-log" => {
                let msg = parse(a, &[])?.pos.join(" ");
                if msg.is_empty() {
                    return Err(Fail::usage("no message specified"));
                }
                self.state.borrow_mut().action_logs.push(msg);
                Ok(Vec::new())
            }
            "action-fail" => {
                let msg = parse(a, &[])?.pos.join(" ");
                self.state.borrow_mut().action_failed = Some(msg);
                Ok(Vec::new())
            }
            "open-port" | "close-port" => self.port(&call.tool, a),
            "opened-ports" => {
                let p = parse(a, &[("format", true), ("endpoints", false)])?;
                p.json()?;
                p.at_most(0)?;
                let ports: Vec<String> = self
                    .state
                    .borrow()
                    .opened_ports
                    .iter()
                    .map(Port::to_string)
                    .collect();
                json_out(&ports)
            }
            "network-get" => self.network_get(a),
            "goal-state" => {
                only_json(a)?;
                json_out(&self.state.borrow().goal_state)
            }
            "storage-list" => self.storage_list(a),
            "storage-get" => self.storage_get(a),
            "credential-get" => {
                only_json(a)?;
                match &self.state.borrow().credentials {
                    Some(c) => json_out(c),
                    None => Err(Fail::new(
                        1,
                        "ERROR cannot access cloud credentials: permission denied",
                    )),
                }
            }
            "juju-reboot" => {
                parse(a, &[("now", false)])?.at_most(0)?;
                self.state.borrow_mut().reboot_requested = true;
                Ok(Vec::new())
            }
            "state-get" => self.state_get(a),
            "state-set" => {
                let p = parse(a, &[("file", true)])?;
                let data = settings(call, &p)?;
                merge(&mut self.state.borrow_mut().juju_state, data);
                Ok(Vec::new())
            }
            "state-delete" => {
                let p = parse(a, &[])?;
                let [k] = p.pos.as_slice() else {
                    return Err(Fail::usage("expected exactly one key"));
                };
                self.state.borrow_mut().juju_state.remove(k);
                Ok(Vec::new())
            }
            "secret-add" => self.secret_add(a),
            "secret-get" => self.secret_get(a),
            "secret-set" => self.secret_set(a),
            "secret-remove" => self.secret_remove(a),
            "secret-info-get" => self.secret_info_get(a),
            "secret-grant" | "secret-revoke" => self.secret_grant(&call.tool, a),
            "secret-ids" => {
                only_json(a)?;
                let ids: Vec<String> = self
                    .state
                    .borrow()
                    .secrets
                    .iter()
                    .filter(|s| s.owner.is_some())
                    .map(|s| s.id.clone())
                    .collect();
                json_out(&ids)
            }
            tool => Err(Fail::new(127, format!("{tool}: command not found"))),
        }
    }

    // --- relations -------------------------------------------------------------------------

    fn relation_ids(&self, a: &[String]) -> Out {
        let p = parse(a, &[("format", true)])?;
        p.json()?;
        p.at_most(1)?;
        let Some(endpoint) = p.pos.first() else {
            return Err(Fail::usage("no endpoint name specified"));
        };
        let hidden = self.hidden.borrow();
        let ids: Vec<String> = self
            .state
            .borrow()
            .relations
            .iter()
            .filter(|r| &r.endpoint == endpoint && !hidden.contains(&r.id))
            .map(|r| r.relation_id().to_string())
            .collect();
        json_out(&ids)
    }

    fn relation_list(&self, a: &[String]) -> Out {
        let p = parse(a, &[("format", true), ("r|relation", true), ("app", false)])?;
        p.json()?;
        p.at_most(0)?;
        let st = self.state.borrow();
        let rel = &st.relations[relation_index(&st, &p)?];
        if p.has("app") {
            json_out(&rel.remote_app)
        } else {
            json_out(&rel.remote_units_data.keys().collect::<Vec<_>>())
        }
    }

    fn relation_get(&self, a: &[String]) -> Out {
        let p = parse(a, &[("format", true), ("r|relation", true), ("app", false)])?;
        p.json()?;
        p.at_most(2)?;
        let [key, target] = p.pos.as_slice() else {
            return Err(Fail::usage(
                "fake juju: relation-get needs KEY (or -) and UNIT",
            ));
        };
        let st = self.state.borrow();
        let rel = &st.relations[relation_index(&st, &p)?];
        let rid = rel.relation_id();
        let bag = if p.has("app") {
            if target == st.app_name() {
                if !st.leader {
                    return Err(Fail::denied());
                }
                &rel.local_app_data
            } else if *target == rel.remote_app {
                &rel.remote_app_data
            } else {
                return Err(Fail::new(
                    1,
                    format!(
                        "ERROR cannot read application settings for {target:?} in relation \
                         \"{rid}\": settings not found"
                    ),
                ));
            }
        } else if !target.contains('/') {
            return Err(Fail::usage(format_args!("invalid unit name {target:?}")));
        } else if *target == st.unit_name {
            &rel.local_unit_data
        } else if let Some(bag) = rel.remote_units_data.get(target) {
            bag
        } else {
            return Err(Fail::new(
                1,
                format!(
                    "ERROR cannot read settings for unit {target:?} in relation \"{rid}\": \
                     unit {target:?}: settings not found"
                ),
            ));
        };
        if key == "-" {
            json_out(bag)
        } else {
            json_out(&bag.get(key))
        }
    }

    fn relation_set(&self, call: &ToolCall) -> Out {
        let p = parse(
            &call.args,
            &[("r|relation", true), ("app", false), ("file", true)],
        )?;
        let data = settings(call, &p)?;
        let mut st = self.state.borrow_mut();
        let idx = relation_index(&st, &p)?;
        let app = p.has("app");
        if app && !st.leader {
            return Err(Fail::denied());
        }
        let rel = &mut st.relations[idx];
        merge(
            if app {
                &mut rel.local_app_data
            } else {
                &mut rel.local_unit_data
            },
            data,
        );
        Ok(Vec::new())
    }

    // --- config, status, log -----------------------------------------------------------------

    fn config_get(&self, a: &[String]) -> Out {
        let p = parse(a, &[("format", true), ("a|all", false)])?;
        p.json()?;
        p.at_most(1)?;
        let st = self.state.borrow();
        match p.pos.first() {
            Some(key) => json_out(st.config.get(key).unwrap_or(&Value::Null)),
            None if p.has("a") => json_out(&st.config),
            None => json_out(
                &st.config
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .collect::<BTreeMap<_, _>>(),
            ),
        }
    }

    fn status_set(&self, a: &[String]) -> Out {
        let p = parse(a, &[("application", false)])?;
        p.at_most(2)?;
        let Some(name) = p.pos.first() else {
            return Err(Fail::usage("invalid args, require <status> [message]"));
        };
        let name = name
            .parse::<StatusName>()
            .ok()
            .filter(|n| n.settable())
            .ok_or_else(|| {
                Fail::usage(format_args!(
                    "invalid status {name:?}, expected one of [maintenance blocked waiting active]"
                ))
            })?;
        let status = Status::new(name, p.pos.get(1).cloned().unwrap_or_default());
        let mut st = self.state.borrow_mut();
        if p.has("application") {
            if !st.leader {
                return Err(Fail::denied());
            }
            st.app_status = status;
        } else {
            st.unit_status = status;
        }
        Ok(Vec::new())
    }

    fn status_get(&self, a: &[String]) -> Out {
        let p = parse(
            a,
            &[
                ("format", true),
                ("include-data", false),
                ("application", false),
            ],
        )?;
        p.json()?;
        p.at_most(0)?;
        if !p.has("include-data") {
            return Err(Fail::usage(
                "fake juju answers only status-get --include-data",
            ));
        }
        let st = self.state.borrow();
        let one = |s: &Status| json!({"message": s.message, "status": s.name.as_str(), "status-data": {}});
        if p.has("application") {
            if !st.leader {
                return Err(Fail::denied());
            }
            let mut app = one(&st.app_status);
            app["units"] = json!({ st.unit_name.clone(): one(&st.unit_status) });
            json_out(&json!({ "application-status": app }))
        } else {
            json_out(&one(&st.unit_status))
        }
    }

    fn juju_log(&self, a: &[String]) -> Out {
        let p = parse(a, &[("l|log-level", true), ("debug", false)])?;
        let level = if p.has("debug") {
            LogLevel::Debug
        } else {
            match p.get("l") {
                None => LogLevel::Info,
                Some(l) => l
                    .parse()
                    .map_err(|_| Fail::usage(format_args!("invalid log level {l:?}")))?,
            }
        };
        let msg = p.pos.join(" ");
        if msg.is_empty() {
            return Err(Fail::usage("no message specified"));
        }
        self.logs.borrow_mut().push((level, msg));
        Ok(Vec::new())
    }

    // --- actions -------------------------------------------------------------------------------

    fn action_get(&self, a: &[String]) -> Out {
        let p = parse(a, &[("format", true)])?;
        p.json()?;
        p.at_most(1)?;
        let st = self.state.borrow();
        match p.pos.first() {
            None => json_out(&st.action_params),
            Some(key) => {
                let mut parts = key.split('.');
                let first = parts.next().and_then(|k| st.action_params.get(k));
                let v = parts.fold(first, |v, k| v.and_then(|v| v.get(k)));
                json_out(v.unwrap_or(&Value::Null))
            }
        }
    }

    fn action_set(&self, a: &[String]) -> Out {
        let p = parse(a, &[])?;
        if p.pos.is_empty() {
            return Err(Fail::usage("no key=value pairs specified"));
        }
        let results = key_values(&p.pos)?;
        if let Some(bad) = results.keys().find(|k| !valid_action_key(k)) {
            return Err(Fail::usage(format_args!(
                "key {bad:?} must start and end with lowercase alphanumeric, and contain only \
                 lowercase alphanumeric, hyphens and periods"
            )));
        }
        self.state.borrow_mut().action_results.extend(results);
        Ok(Vec::new())
    }

    // --- ports, network, storage, state --------------------------------------------------------

    fn port(&self, tool: &str, a: &[String]) -> Out {
        let p = parse(a, &[("endpoints", true)])?;
        let [port] = p.pos.as_slice() else {
            return Err(Fail::usage("expected exactly one port, range or icmp"));
        };
        let port: Port = port
            .parse()
            .map_err(|_| Fail::usage(format_args!("invalid port or range {port:?}")))?;
        let mut st = self.state.borrow_mut();
        if tool == "open-port" {
            st.opened_ports.insert(port);
        } else {
            st.opened_ports.remove(&port);
        }
        Ok(Vec::new())
    }

    fn network_get(&self, a: &[String]) -> Out {
        let p = parse(
            a,
            &[
                ("format", true),
                ("r|relation", true),
                ("primary-address", false),
                ("bind-address", false),
                ("ingress-address", false),
                ("egress-subnets", false),
            ],
        )?;
        p.json()?;
        let [binding] = p.pos.as_slice() else {
            return Err(Fail::usage("expected exactly one binding name"));
        };
        match self.state.borrow().networks.get(binding) {
            Some(info) => json_out(info),
            None => Err(Fail::new(
                1,
                format!("ERROR no network config found for binding {binding:?}"),
            )),
        }
    }

    fn storage_list(&self, a: &[String]) -> Out {
        let p = parse(a, &[("format", true)])?;
        p.json()?;
        p.at_most(1)?;
        let name = p.pos.first();
        let st = self.state.borrow();
        let ids: Vec<&str> = st
            .storages
            .iter()
            .map(|s| s.id.as_str())
            .filter(|id| name.map_or(true, |n| id.split('/').next() == Some(n.as_str())))
            .collect();
        json_out(&ids)
    }

    fn storage_get(&self, a: &[String]) -> Out {
        let p = parse(a, &[("format", true), ("s", true)])?;
        p.json()?;
        p.at_most(1)?;
        let st = self.state.borrow();
        let storage = match p.get("s") {
            Some(id) => st.storages.iter().find(|s| s.id == id).ok_or_else(|| {
                Fail::usage(format_args!(
                    "invalid value {id:?} for option -s: storage not found"
                ))
            })?,
            None => match st.storages.as_slice() {
                [only] => only,
                _ => return Err(Fail::usage("no storage instance specified")),
            },
        };
        let attrs = json!({"kind": storage.kind, "location": storage.location});
        match p.pos.first() {
            None => json_out(&attrs),
            Some(k) => json_out(attrs.get(k).unwrap_or(&Value::Null)),
        }
    }

    fn state_get(&self, a: &[String]) -> Out {
        let p = parse(a, &[("format", true), ("strict", false)])?;
        p.json()?;
        p.at_most(1)?;
        let st = self.state.borrow();
        match p.pos.first().map(String::as_str) {
            None | Some("-") => json_out(&st.juju_state),
            Some(k) => match st.juju_state.get(k) {
                Some(v) => json_out(v),
                None if p.has("strict") => Err(Fail::new(1, format!("ERROR key {k:?} not found"))),
                None => json_out(&Value::Null),
            },
        }
    }

    // --- secrets -------------------------------------------------------------------------------

    fn secret_add(&self, a: &[String]) -> Out {
        let p = parse(a, SECRET_FLAGS)?;
        let content = secret_content(&p.pos)?;
        if content.is_empty() {
            return Err(Fail::usage("missing secret value"));
        }
        let owner = match p.get("owner") {
            None | Some("application") => SecretOwner::Application,
            Some("unit") => SecretOwner::Unit,
            Some(o) => return Err(Fail::usage(format_args!("invalid secret owner {o:?}"))),
        };
        let mut st = self.state.borrow_mut();
        if owner == SecretOwner::Application && !st.leader {
            return Err(Fail::denied());
        }
        if let Some(label) = p.get("label") {
            if st
                .secrets
                .iter()
                .any(|s| s.owner.is_some() && s.label.as_deref() == Some(label))
            {
                return Err(Fail::new(
                    1,
                    format!("ERROR secret with label {label:?} already exists"),
                ));
            }
        }
        let id = loop {
            let n = self.secret_seq.get() + 1;
            self.secret_seq.set(n);
            let id = format!("secret:fake{n:016}");
            if !st.secrets.iter().any(|s| same_secret(&s.id, &id)) {
                break id;
            }
        };
        st.secrets.push(Secret {
            id: id.clone(),
            label: p.get("label").map(str::to_string),
            description: p.get("description").map(str::to_string),
            owner: Some(owner),
            revision: 1,
            content,
            expire: p.get("expire").map(str::to_string),
            rotate: p.get("rotate").map(str::to_string),
            ..Secret::default()
        });
        Ok(format!("{id}\n").into_bytes())
    }

    fn secret_get(&self, a: &[String]) -> Out {
        let p = parse(
            a,
            &[
                ("format", true),
                ("label", true),
                ("refresh", false),
                ("peek", false),
            ],
        )?;
        p.json()?;
        p.at_most(1)?;
        if p.has("refresh") && p.has("peek") {
            return Err(Fail::usage(
                "specify one of --peek or --refresh but not both",
            ));
        }
        let id = p.pos.first().map(String::as_str);
        let label = p.get("label");
        let mut st = self.state.borrow_mut();
        let idx = secret_index(&st, id, label)?;
        let s = &mut st.secrets[idx];
        if let (Some(_), Some(l)) = (id, label) {
            s.label = Some(l.to_string());
        }
        let content = if s.owner.is_some() || p.has("peek") {
            s.content.clone()
        } else if p.has("refresh") {
            s.tracked_content = None;
            s.content.clone()
        } else {
            s.tracked_content
                .clone()
                .unwrap_or_else(|| s.content.clone())
        };
        json_out(&content)
    }

    fn secret_set(&self, a: &[String]) -> Out {
        let p = parse(a, SECRET_FLAGS)?;
        let Some((id, rest)) = p.pos.split_first() else {
            return Err(Fail::usage("missing secret id"));
        };
        let content = secret_content(rest)?;
        let mut st = self.state.borrow_mut();
        let idx = secret_index(&st, Some(id), None)?;
        if !can_manage(&st, &st.secrets[idx]) {
            return Err(Fail::denied());
        }
        let s = &mut st.secrets[idx];
        if !content.is_empty() {
            s.revision += 1;
            s.content = content;
        }
        let set = |field: &mut Option<String>, flag: &str| {
            if let Some(v) = p.get(flag) {
                *field = Some(v.to_string());
            }
        };
        set(&mut s.label, "label");
        set(&mut s.description, "description");
        set(&mut s.expire, "expire");
        set(&mut s.rotate, "rotate");
        Ok(Vec::new())
    }

    fn secret_remove(&self, a: &[String]) -> Out {
        let p = parse(a, &[("revision", true)])?;
        p.at_most(1)?;
        let Some(id) = p.pos.first() else {
            return Err(Fail::usage("missing secret id"));
        };
        let mut st = self.state.borrow_mut();
        let idx = secret_index(&st, Some(id), None)?;
        if !can_manage(&st, &st.secrets[idx]) {
            return Err(Fail::denied());
        }
        match p.get("revision") {
            None => {
                st.secrets.remove(idx);
            }
            Some(r) => {
                let s = &mut st.secrets[idx];
                let rev = r
                    .parse::<u64>()
                    .ok()
                    .filter(|r| *r >= 1 && *r <= s.revision && !s.removed_revisions.contains(r))
                    .ok_or_else(|| Fail::new(1, format!("ERROR secret revision {r} not found")))?;
                s.removed_revisions.push(rev);
            }
        }
        Ok(Vec::new())
    }

    fn secret_info_get(&self, a: &[String]) -> Out {
        let p = parse(a, &[("format", true), ("label", true)])?;
        p.json()?;
        p.at_most(1)?;
        let id = p.pos.first().map(String::as_str);
        let st = self.state.borrow();
        let s = &st.secrets[secret_index(&st, id, p.get("label"))?];
        let Some(owner) = s.owner else {
            return Err(not_found(id.or(p.get("label")).unwrap_or_default()));
        };
        let mut info = json!({"revision": s.revision, "owner": owner.as_str()});
        for (k, v) in [
            ("label", &s.label),
            ("description", &s.description),
            ("expiry", &s.expire),
            ("rotation", &s.rotate),
        ] {
            if let Some(v) = v {
                info[k] = json!(v);
            }
        }
        json_out(&json!({ bare_secret_id(&s.id): info }))
    }

    fn secret_grant(&self, tool: &str, a: &[String]) -> Out {
        let p = parse(a, &[("r|relation", true), ("unit", true)])?;
        p.at_most(1)?;
        let Some(id) = p.pos.first() else {
            return Err(Fail::usage("missing secret id"));
        };
        let mut st = self.state.borrow_mut();
        let rel = relation_index(&st, &p)?;
        let relation_id = st.relations[rel].id;
        let idx = secret_index(&st, Some(id), None)?;
        if !can_manage(&st, &st.secrets[idx]) {
            return Err(Fail::denied());
        }
        let grant = SecretGrant {
            relation_id,
            unit: p.get("unit").map(str::to_string),
        };
        let grants = &mut st.secrets[idx].grants;
        if tool == "secret-grant" {
            if !grants.contains(&grant) {
                grants.push(grant);
            }
        } else {
            grants.retain(|g| *g != grant);
        }
        Ok(Vec::new())
    }
}

const SECRET_FLAGS: &[(&str, bool)] = &[
    ("label", true),
    ("description", true),
    ("expire", true),
    ("rotate", true),
    ("owner", true),
];

fn secret_content(args: &[String]) -> std::result::Result<BTreeMap<String, String>, Fail> {
    let content = key_values(args)?;
    if let Some(bad) = content.keys().find(|k| !valid_secret_key(k)) {
        return Err(Fail::usage(format_args!("key {bad:?} not valid")));
    }
    Ok(content)
}

fn not_found(what: &str) -> Fail {
    Fail::new(1, format!("ERROR secret {what:?} not found"))
}

fn secret_index(
    st: &State,
    id: Option<&str>,
    label: Option<&str>,
) -> std::result::Result<usize, Fail> {
    let found = match (id, label) {
        (Some(id), _) => st.secrets.iter().position(|s| same_secret(&s.id, id)),
        (None, Some(l)) => st
            .secrets
            .iter()
            .position(|s| s.label.as_deref() == Some(l)),
        (None, None) => return Err(Fail::usage("require either a secret URI or label")),
    };
    found.ok_or_else(|| not_found(id.or(label).unwrap_or_default()))
}

fn can_manage(st: &State, s: &Secret) -> bool {
    match s.owner {
        Some(SecretOwner::Application) => st.leader,
        Some(SecretOwner::Unit) => true,
        None => false,
    }
}

/// The index of the relation named by `-r` (`endpoint:id` or bare id).
fn relation_index(st: &State, p: &Parsed) -> std::result::Result<usize, Fail> {
    let Some(raw) = p.get("r") else {
        return Err(Fail::usage("fake juju: no relation id specified (-r)"));
    };
    let not_found = || {
        Fail::usage(format_args!(
            "invalid value {raw:?} for option -r: relation not found"
        ))
    };
    let (endpoint, num) = match raw.rsplit_once(':') {
        Some((e, n)) => (Some(e), n),
        None => (None, raw),
    };
    let id: u32 = num.parse().map_err(|_| not_found())?;
    st.relations
        .iter()
        .position(|r| r.id == id && endpoint.map_or(true, |e| e == r.endpoint))
        .ok_or_else(not_found)
}

impl HookTools for FakeJuju {
    fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
        self.calls.borrow_mut().push(call.clone());
        let failure = self.failures.borrow().get(&call.tool).cloned();
        let response = self.responses.borrow().get(&call.tool).cloned();
        let outcome = match (failure, response) {
            (Some((code, stderr)), _) => Err(Fail::new(code, stderr)),
            (None, Some(out)) => Ok(out),
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
mod tests {
    use super::*;
    use crate::hookcmd::{SecretOptions, SecretRefresh};

    fn rid() -> RelationId {
        RelationId::new("charm-tracing", 5)
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        string_map(pairs.iter().copied())
    }

    fn state(leader: bool) -> State {
        State::new("rust-starter/0")
            .with_leader(leader)
            .with_relation(
                Relation::new("charm-tracing", 5, "tempo")
                    .with_remote_app_data([("receivers", "[]")])
                    .with_remote_unit("tempo/0", [("ingress", "10.0.0.1")])
                    .with_remote_unit("tempo/1", Vec::<(String, String)>::new()),
            )
    }

    /// The exit status and stderr of a HookTool error.
    fn exit<T: std::fmt::Debug>(r: Result<T>) -> (i32, String) {
        match r {
            Err(Error::HookTool { status, stderr, .. }) => (status.unwrap_or(-1), stderr),
            other => panic!("expected a HookTool error, got {other:?}"),
        }
    }

    #[test]
    fn leadership() {
        assert!(FakeJuju::new(state(true)).hook().is_leader().unwrap());
        assert!(!FakeJuju::new(state(false)).hook().is_leader().unwrap());
        assert_eq!(State::new("charm/0").app_name(), "charm");
        assert_eq!(
            State::default().app_name(),
            "",
            "the harness names it after the charm"
        );
        assert_eq!(state(true).app_name(), "rust-starter");
    }

    #[test]
    fn relation_round_trip_as_leader() {
        let juju = FakeJuju::new(state(true));
        let h = juju.hook();
        assert_eq!(h.relation_ids("charm-tracing").unwrap(), vec![rid()]);
        assert!(h.relation_ids("receive-ca-cert").unwrap().is_empty());
        assert_eq!(h.relation_list(&rid()).unwrap(), vec!["tempo/0", "tempo/1"]);
        assert_eq!(
            h.relation_list_app(&rid()).unwrap().as_deref(),
            Some("tempo")
        );
        assert_eq!(
            h.relation_get(&rid(), "tempo", true).unwrap(),
            map(&[("receivers", "[]")])
        );
        assert_eq!(
            h.relation_get_key(&rid(), "ingress", "tempo/0", false)
                .unwrap()
                .as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(
            h.relation_get_key(&rid(), "nope", "tempo/0", false)
                .unwrap(),
            None
        );

        h.relation_set(
            &rid(),
            true,
            &map(&[("receivers", r#"["otlp_http"]"#), ("x", "1")]),
        )
        .unwrap();
        h.relation_set(&rid(), true, &map(&[("x", ""), ("y", "2")]))
            .unwrap();
        assert_eq!(
            h.relation_get(&rid(), "rust-starter", true).unwrap(),
            map(&[("receivers", r#"["otlp_http"]"#), ("y", "2")])
        );
        h.relation_set(&rid(), false, &map(&[("addr", "10.1.1.1")]))
            .unwrap();
        assert_eq!(
            h.relation_get_key(&rid(), "addr", "rust-starter/0", false)
                .unwrap()
                .as_deref(),
            Some("10.1.1.1")
        );
        let out = juju.into_state();
        let rel = out.relation(5).unwrap();
        assert_eq!(rel.local_app_data["y"], "2");
        assert_eq!(rel.local_unit_data["addr"], "10.1.1.1");
    }

    #[test]
    fn non_leader_cannot_touch_own_app_databag() {
        let juju = FakeJuju::new(state(false));
        let h = juju.hook();
        let denied = (1, "ERROR permission denied".to_string());
        assert_eq!(
            exit(h.relation_set(&rid(), true, &map(&[("k", "v")]))),
            denied
        );
        assert_eq!(exit(h.relation_get(&rid(), "rust-starter", true)), denied);
        assert_eq!(
            exit(h.relation_get_key(&rid(), "k", "rust-starter", true)),
            denied
        );
        // The remote app's databag and our unit's are fine.
        h.relation_get(&rid(), "tempo", true).unwrap();
        h.relation_set(&rid(), false, &map(&[("k", "v")])).unwrap();
        assert!(juju.state().relations[0].local_app_data.is_empty());
    }

    #[test]
    fn unknown_relation_and_unit() {
        let juju = FakeJuju::new(state(true));
        let h = juju.hook();
        let (code, err) = exit(h.relation_get(&RelationId::new("charm-tracing", 9), "tempo", true));
        assert_eq!(code, 2);
        assert_eq!(
            err,
            "ERROR invalid value \"charm-tracing:9\" for option -r: relation not found"
        );
        // Right number, wrong endpoint.
        let (code, _) = exit(h.relation_list(&RelationId::new("db", 5)));
        assert_eq!(code, 2);
        let (code, err) = exit(h.relation_get(&rid(), "tempo/7", false));
        assert_eq!(code, 1);
        assert!(err.contains("settings not found"), "{err}");
        let (code, _) = exit(h.relation_get(&rid(), "other-app", true));
        assert_eq!(code, 1);
        // A bare id works for -r too.
        let call = ToolCall::new("relation-list", ["--format=json", "-r", "5"]);
        assert_eq!(juju.run(&call).unwrap(), b"[\"tempo/0\",\"tempo/1\"]\n");
    }

    #[test]
    fn hidden_relation_is_not_listed_but_readable() {
        let juju = FakeJuju::new(state(true));
        juju.hide_relation(5);
        let h = juju.hook();
        assert!(h.relation_ids("charm-tracing").unwrap().is_empty());
        assert_eq!(
            h.relation_get(&rid(), "tempo", true).unwrap()["receivers"],
            "[]"
        );
        juju.unhide_relation(5);
        assert_eq!(h.relation_ids("charm-tracing").unwrap(), vec![rid()]);
    }

    #[test]
    fn status_set_get() {
        let juju = FakeJuju::new(state(true));
        let h = juju.hook();
        assert_eq!(h.status_get(false).unwrap(), Status::unknown());
        h.status_set(&Status::active("ready"), false).unwrap();
        h.status_set(&Status::blocked("no tempo"), true).unwrap();
        assert_eq!(h.status_get(false).unwrap(), Status::active("ready"));
        assert_eq!(h.status_get(true).unwrap(), Status::blocked("no tempo"));
        h.status_set(&Status::maintenance(""), false).unwrap();
        let out = juju.into_state();
        assert_eq!(out.unit_status, Status::maintenance(""));
        assert_eq!(out.app_status, Status::blocked("no tempo"));

        let juju = FakeJuju::new(state(false));
        let h = juju.hook();
        let denied = (1, "ERROR permission denied".to_string());
        assert_eq!(exit(h.status_set(&Status::active(""), true)), denied);
        assert_eq!(exit(h.status_get(true)), denied);
        h.status_set(&Status::waiting("w"), false).unwrap();
        // Juju refuses statuses a charm cannot set.
        let (code, _) = exit(juju.run(&ToolCall::new("status-set", ["error", "--", "x"])));
        assert_eq!(code, 2);
    }

    #[test]
    fn config_and_workload_version() {
        let juju = FakeJuju::new(
            State::new("a/0")
                .with_config("port", 8080)
                .with_config("unset", Value::Null),
        );
        let h = juju.hook();
        let all = h.config_get().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(h.config_get_key("port").unwrap(), Some(json!(8080)));
        assert_eq!(h.config_get_key("unset").unwrap(), None);
        assert_eq!(h.config_get_key("missing").unwrap(), None);
        h.application_version_set("1.2.3").unwrap();
        assert_eq!(juju.state().workload_version.as_deref(), Some("1.2.3"));
    }

    #[test]
    fn actions() {
        let juju = FakeJuju::new(
            State::new("a/0")
                .with_action_param("count", 3)
                .with_action_param("opts", json!({"deep": true})),
        );
        let h = juju.hook();
        assert_eq!(h.action_get().unwrap()["count"], json!(3));
        let call = ToolCall::new("action-get", ["--format=json", "opts.deep"]);
        assert_eq!(juju.run(&call).unwrap(), b"true\n");
        h.action_set(&map(&[("result.path", "/tmp/x"), ("password", "s3cret")]))
            .unwrap();
        h.action_log("half way").unwrap();
        h.action_fail("disk full").unwrap();
        let (code, err) = exit(h.action_set(&map(&[("Bad_Key", "v")])));
        assert_eq!(code, 2);
        assert!(err.contains("Bad_Key"), "{err}");
        let out = juju.into_state();
        assert_eq!(out.action_results["result.path"], "/tmp/x");
        assert_eq!(out.action_results["password"], "s3cret");
        assert_eq!(out.action_logs, vec!["half way"]);
        assert_eq!(out.action_failed.as_deref(), Some("disk full"));
    }

    #[test]
    fn secrets_owned_by_the_app() {
        let juju = FakeJuju::new(state(true));
        let h = juju.hook();
        let id = h
            .secret_add(
                &map(&[("password", "s3cret")]),
                &SecretOptions::new()
                    .with_label("db")
                    .with_description("creds"),
            )
            .unwrap();
        assert!(id.starts_with("secret:"), "{id}");
        assert_eq!(h.secret_ids().unwrap(), vec![id.clone()]);
        assert_eq!(
            h.secret_get(None, Some("db"), SecretRefresh::Tracked)
                .unwrap(),
            map(&[("password", "s3cret")])
        );
        h.secret_set(&id, &map(&[("password", "n3w")]), &SecretOptions::new())
            .unwrap();
        assert_eq!(
            h.secret_get(Some(&id), None, SecretRefresh::Tracked)
                .unwrap()["password"],
            "n3w"
        );
        let info = h.secret_info_get(Some(&id), None).unwrap();
        let bare = id.strip_prefix("secret:").unwrap();
        assert_eq!(info[bare]["revision"], 2);
        assert_eq!(info[bare]["label"], "db");
        assert_eq!(info[bare]["owner"], "application");
        // A second secret with the same label is refused.
        let (code, _) = exit(h.secret_add(
            &map(&[("password", "x")]),
            &SecretOptions::new().with_label("db"),
        ));
        assert_eq!(code, 1);
        // Juju's key rule: at least 3 characters.
        let (code, _) = exit(h.secret_add(&map(&[("pw", "x")]), &SecretOptions::new()));
        assert_eq!(code, 2);

        h.secret_grant(&id, &rid(), None).unwrap();
        h.secret_grant(&id, &rid(), Some("tempo/0")).unwrap();
        h.secret_revoke(&id, &rid(), None).unwrap();
        assert_eq!(
            juju.state().secret("db").unwrap().grants,
            vec![SecretGrant {
                relation_id: 5,
                unit: Some("tempo/0".into())
            }]
        );
        let (code, _) = exit(h.secret_grant(&id, &RelationId::new("x", 42), None));
        assert_eq!(code, 2);

        h.secret_remove(&id, Some(1)).unwrap();
        let (code, _) = exit(h.secret_remove(&id, Some(1)));
        assert_eq!(code, 1);
        assert_eq!(juju.state().secret(&id).unwrap().removed_revisions, vec![1]);
        h.secret_remove(&id, None).unwrap();
        assert!(h.secret_ids().unwrap().is_empty());
        let (code, err) = exit(h.secret_get(Some(&id), None, SecretRefresh::Tracked));
        assert_eq!(code, 1);
        assert!(err.contains("not found"), "{err}");

        // The content never shows in the recorded, redacted arguments.
        for c in juju
            .calls_of("secret-add")
            .iter()
            .chain(&juju.calls_of("secret-set"))
        {
            assert!(!c.safe_args().join(" ").contains("s3cret"), "{c:?}");
            assert!(!c.safe_args().join(" ").contains("n3w"), "{c:?}");
        }
    }

    #[test]
    fn secret_permissions_for_non_leader() {
        let juju = FakeJuju::new(
            state(false)
                .with_secret(Secret::new("secret:app1", [("token", "t")]).with_label("app")),
        );
        let h = juju.hook();
        let denied = (1, "ERROR permission denied".to_string());
        assert_eq!(
            exit(h.secret_add(&map(&[("token", "x")]), &SecretOptions::new())),
            denied
        );
        assert_eq!(
            exit(h.secret_set(
                "secret:app1",
                &map(&[("token", "y")]),
                &SecretOptions::new()
            )),
            denied
        );
        assert_eq!(exit(h.secret_remove("secret:app1", None)), denied);
        // A unit-owned secret is fine.
        let id = h
            .secret_add(
                &map(&[("token", "x")]),
                &SecretOptions::new().with_owner(crate::hookcmd::SecretOwner::Unit),
            )
            .unwrap();
        h.secret_set(&id, &map(&[("token", "z")]), &SecretOptions::new())
            .unwrap();
        assert_eq!(juju.state().secret(&id).unwrap().revision, 2);
    }

    #[test]
    fn observed_secret_tracks_peeks_and_refreshes() {
        let juju = FakeJuju::new(
            State::new("a/0").with_secret(
                Secret::observed("secret:remote1", [("ca", "new")])
                    .with_tracked_content([("ca", "old")]),
            ),
        );
        let h = juju.hook();
        let get = |r| h.secret_get(Some("secret:remote1"), None, r).unwrap()["ca"].clone();
        assert_eq!(get(SecretRefresh::Tracked), "old");
        assert_eq!(get(SecretRefresh::Peek), "new");
        assert_eq!(get(SecretRefresh::Tracked), "old");
        assert_eq!(get(SecretRefresh::Refresh), "new");
        assert_eq!(get(SecretRefresh::Tracked), "new");
        // Labelling by id + label, then finding by label.
        h.secret_get(Some("remote1"), Some("ca-secret"), SecretRefresh::Tracked)
            .unwrap();
        assert_eq!(
            h.secret_get(None, Some("ca-secret"), SecretRefresh::Tracked)
                .unwrap()["ca"],
            "new"
        );
        assert!(h.secret_ids().unwrap().is_empty());
        let (code, _) = exit(h.secret_info_get(Some("secret:remote1"), None));
        assert_eq!(code, 1);
        let (code, _) = exit(h.secret_set(
            "secret:remote1",
            &map(&[("cert", "x")]),
            &SecretOptions::new(),
        ));
        assert_eq!(code, 1);
    }

    #[test]
    fn ports() {
        let juju = FakeJuju::new(State::new("a/0"));
        let h = juju.hook();
        h.open_port(&Port::tcp(8080)).unwrap();
        h.open_port(&Port::tcp(8080)).unwrap();
        h.open_port(&Port::udp_range(1000, 1010)).unwrap();
        h.open_port(&Port::icmp()).unwrap();
        h.close_port(&Port::udp_range(1000, 1010)).unwrap();
        assert_eq!(
            h.opened_ports().unwrap(),
            vec![Port::tcp(8080), Port::icmp()]
        );
        let (code, _) = exit(juju.run(&ToolCall::new("open-port", ["80/sctp"])));
        assert_eq!(code, 2);
    }

    #[test]
    fn juju_state() {
        let juju = FakeJuju::new(State::new("a/0"));
        let h = juju.hook();
        h.state_set(&map(&[("a", "1"), ("b", "2")])).unwrap();
        h.state_set(&map(&[("b", "")])).unwrap();
        assert_eq!(h.state_get().unwrap(), map(&[("a", "1")]));
        assert_eq!(h.state_get_key("a").unwrap().as_deref(), Some("1"));
        assert_eq!(h.state_get_key("b").unwrap(), None);
        h.state_delete("a").unwrap();
        assert!(juju.into_state().juju_state.is_empty());
    }

    #[test]
    fn network_goal_storage_credentials_reboot() {
        let juju = FakeJuju::new(
            State::new("a/0")
                .with_network("juju-info", json!({"ingress-addresses": ["10.0.0.2"]}))
                .with_storage(Storage::new("data/0", "filesystem", "/srv/data"))
                .with_storage(Storage::new("logs/0", "filesystem", "/srv/logs")),
        );
        let h = juju.hook();
        assert_eq!(
            h.network_get("juju-info").unwrap()["ingress-addresses"][0],
            "10.0.0.2"
        );
        assert_eq!(exit(h.network_get("nope")).0, 1);
        assert_eq!(
            h.goal_state().unwrap(),
            json!({"units": {}, "relations": {}})
        );
        assert_eq!(h.storage_list(None).unwrap(), vec!["data/0", "logs/0"]);
        assert_eq!(h.storage_list(Some("logs")).unwrap(), vec!["logs/0"]);
        assert_eq!(
            h.storage_get(Some("data/0")).unwrap()["location"],
            json!("/srv/data")
        );
        assert_eq!(exit(h.storage_get(None)).0, 2);
        assert_eq!(exit(h.credential_get()).0, 1);
        juju.with_state(|s| s.credentials = Some(json!({"type": "lxd"})));
        assert_eq!(h.credential_get().unwrap()["type"], "lxd");
        h.juju_reboot(false).unwrap();
        assert!(juju.state().reboot_requested);
    }

    #[test]
    fn logs_and_calls_are_recorded() {
        let juju = FakeJuju::new(state(true));
        let h = juju.hook();
        h.juju_log(LogLevel::Warning, "-careful").unwrap();
        h.juju_log(LogLevel::Debug, "two words").unwrap();
        h.relation_set(&rid(), true, &map(&[("k", "v")])).unwrap();
        assert_eq!(
            juju.logs(),
            vec![
                (LogLevel::Warning, "-careful".to_string()),
                (LogLevel::Debug, "two words".to_string())
            ]
        );
        let calls = juju.calls();
        assert_eq!(
            calls.iter().map(|c| c.tool.as_str()).collect::<Vec<_>>(),
            ["juju-log", "juju-log", "relation-set"]
        );
        assert_eq!(calls[2].stdin.as_deref(), Some(&br#"{"k":"v"}"#[..]));
        assert!(calls[2].redact.stdin);
    }

    #[test]
    fn failure_injection() {
        let juju = FakeJuju::new(state(true));
        let h = juju.hook();
        juju.fail("is-leader", 1, "ERROR connection refused");
        assert_eq!(
            exit(h.is_leader()),
            (1, "ERROR connection refused".to_string())
        );
        juju.respond("relation-ids", b"not json".to_vec());
        match h.relation_ids("charm-tracing") {
            Err(Error::ToolOutput { tool, .. }) => assert_eq!(tool, "relation-ids"),
            other => panic!("{other:?}"),
        }
        juju.respond("status-get", br#"{"status":"sleeping"}"#.to_vec());
        assert!(matches!(h.status_get(false), Err(Error::ToolOutput { .. })));
        juju.clear_injections();
        assert!(h.is_leader().unwrap());
        // Injected failures are recorded like any call.
        assert_eq!(juju.calls_of("is-leader").len(), 2);
    }

    #[test]
    fn fake_checks_command_lines() {
        let juju = FakeJuju::new(state(true));
        let (code, err) = exit(juju.run(&ToolCall::new("no-such-tool", ["x"])));
        assert_eq!(code, 127);
        assert_eq!(err, "no-such-tool: command not found");
        let (code, err) = exit(juju.run(&ToolCall::new("is-leader", ["--format=json", "--bogus"])));
        assert_eq!(code, 2);
        assert!(err.contains("flag provided but not defined"), "{err}");
        let (code, err) = exit(juju.run(&ToolCall::new("is-leader", Vec::<String>::new())));
        assert_eq!(code, 2);
        assert!(err.contains("--format=json"), "{err}");
        let (code, _) = exit(juju.run(&ToolCall::new("goal-state", ["--format=json", "extra"])));
        assert_eq!(code, 2);
        // gnuflag forms: `--flag value`, `--flag=value`, `--` ends flags.
        let call = ToolCall::new(
            "relation-get",
            [
                "--format",
                "json",
                "--relation=5",
                "--app",
                "--",
                "-",
                "tempo",
            ],
        );
        assert_eq!(juju.run(&call).unwrap(), b"{\"receivers\":\"[]\"}\n");
        // relation-set takes YAML too, and KEY=VALUE arguments.
        let call = ToolCall::new("relation-set", ["-r", "5", "--file", "-", "b=2"])
            .with_stdin(b"a: '1'\n".to_vec());
        juju.run(&call).unwrap();
        assert_eq!(
            juju.state().relations[0].local_unit_data,
            map(&[("a", "1"), ("b", "2")])
        );
    }
}
