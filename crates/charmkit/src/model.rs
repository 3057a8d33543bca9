//! The model: this unit and application, config, relations, secrets and status — the
//! charm-facing API over the hook tools.
//!
//! - config: typed with [`Model::config`] (`#[derive(Deserialize)]` struct; a mismatch names
//!   the option), or one option as text with [`Model::config_str`];
//! - relations as objects ([`Relation`]: [`Model::relation`], [`Model::relations`], and
//!   [`crate::Ctx::relation`] for the event's): units, remote application and databags
//!   ([`RelationData`]) with typed `load::<T>()` / `save(&T)` and plain string access. Peer
//!   relations and the implicit `juju-info` endpoint are relations like any other;
//! - secrets as objects ([`Secret`]: [`Model::secret`], [`Model::secret_by_label`],
//!   [`Model::add_secret`]);
//! - status, and the workload version ([`Model::set_workload_version`]);
//! - workload containers, for Kubernetes sidecar charms ([`Container`]: [`Model::container`],
//!   [`Model::containers`], and [`crate::Ctx::container`] for a Pebble event's): each one's
//!   Pebble client, checked against the metadata.
//!
//! Reads that Juju keeps constant within a hook (config, relation ids, relation data, action
//! parameters) are made once per dispatch and cached; our own writes update the cache, so a
//! handler reads back what an earlier handler wrote. Leadership is cached for the 30 s Juju
//! guarantees it, then asked again (as ops). Every hook tool, raw, is on [`Model::hook`].

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::context::JujuContext;
use crate::error::{Error, Result};
use crate::hookcmd::{Hook, HookTools};
use crate::meta::Metadata;
use crate::types::RelationId;
use crate::types::Status;

mod container;
mod relation;
mod secret;

pub use container::{Container, PebbleConnector, SocketConnector};
pub use relation::{Relation, RelationData};
pub use secret::{Secret, SecretInfo};

/// How long Juju guarantees leadership after `is-leader` said so (its lease renewal period).
const LEADERSHIP_LEASE: Duration = Duration::from_secs(30);

/// A relation databag: string keys to string values.
pub type Databag = BTreeMap<String, String>;

/// Whose databag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Bag {
    App(String),
    Unit(String),
}

#[derive(Default)]
struct Cache {
    /// The last `is-leader` answer, and when it was asked.
    leader: Option<(bool, Instant)>,
    action_params: Option<Rc<BTreeMap<String, serde_json::Value>>>,
    config: Option<Rc<BTreeMap<String, serde_json::Value>>>,
    relation_ids: HashMap<String, Rc<Vec<RelationId>>>,
    units: HashMap<u32, Rc<Vec<String>>>,
    remote_app: HashMap<u32, Option<String>>,
    data: HashMap<(u32, Bag), Rc<Databag>>,
    containers: HashMap<String, Container>,
}

/// The charm's view of Juju for one dispatch.
pub struct Model {
    ctx: JujuContext,
    meta: Metadata,
    tools: Rc<dyn HookTools>,
    pebble: Rc<dyn PebbleConnector>,
    cache: RefCell<Cache>,
}

impl Model {
    /// A model over `tools` for the dispatch described by `ctx`; containers' Pebbles are
    /// reached on their sockets ([`SocketConnector`]) until [`Model::with_pebble`] says
    /// otherwise.
    pub fn new(ctx: JujuContext, meta: Metadata, tools: Rc<dyn HookTools>) -> Self {
        Model {
            ctx,
            meta,
            tools,
            pebble: Rc::new(SocketConnector),
            cache: RefCell::new(Cache::default()),
        }
    }

    /// This model, reaching containers' Pebbles through `connector` (traced by the runtime;
    /// the fake Pebbles in the test harness).
    pub fn with_pebble(mut self, connector: Rc<dyn PebbleConnector>) -> Self {
        self.pebble = connector;
        self
    }

    /// The raw typed hook-tool bindings (every tool, uncached), canonicalising secret ids with
    /// this model's uuid.
    pub fn hook(&self) -> Hook<'_> {
        Hook::new(&*self.tools).with_model_uuid(&self.ctx.model_uuid)
    }

    /// The Juju context of this dispatch.
    pub fn context(&self) -> &JujuContext {
        &self.ctx
    }

    /// The charm's metadata.
    pub fn meta(&self) -> &Metadata {
        &self.meta
    }

    /// This unit's name, e.g. `rust-starter/0`.
    pub fn unit_name(&self) -> &str {
        &self.ctx.unit_name
    }

    /// This application's name.
    pub fn app_name(&self) -> &str {
        self.ctx.app_name()
    }

    /// Whether this unit is the leader. Juju guarantees `is-leader`'s answer for 30 s only, so
    /// it is reused for 30 s from the moment it was asked, then asked again (as ops does).
    pub fn is_leader(&self) -> Result<bool> {
        // Taken before the call: the guarantee starts no later than the question.
        let now = Instant::now();
        if let Some((l, asked)) = self.cache.borrow().leader {
            if now.saturating_duration_since(asked) <= LEADERSHIP_LEASE {
                return Ok(l);
            }
        }
        let l = self.hook().is_leader()?;
        self.cache.borrow_mut().leader = Some((l, now));
        Ok(l)
    }

    /// The whole config as Juju gives it (read once per dispatch): every option with a value
    /// or a default.
    pub fn config_map(&self) -> Result<Rc<BTreeMap<String, serde_json::Value>>> {
        if let Some(c) = &self.cache.borrow().config {
            return Ok(c.clone());
        }
        let c = Rc::new(self.hook().config_get()?);
        self.cache.borrow_mut().config = Some(c.clone());
        Ok(c)
    }

    /// The config decoded into the charm's type `T` (a `#[derive(Deserialize)]` struct, field
    /// names as the options', `#[serde(rename_all = "kebab-case")]` for dashed names; an option
    /// with no value and no default is absent: make its field an `Option`). Options Juju did
    /// not send fall back to the metadata's defaults. A mismatch is an [`Error::Config`] naming
    /// the option:
    ///
    /// ```text
    /// config option port: invalid type: string "eighty", expected u16
    /// ```
    pub fn config<T: DeserializeOwned>(&self) -> Result<T> {
        let mut all: serde_json::Map<String, serde_json::Value> = self
            .meta
            .config
            .iter()
            .filter_map(|(k, o)| o.default.clone().map(|d| (k.clone(), d)))
            .collect();
        for (k, v) in self.config_map()?.iter() {
            all.insert(k.clone(), v.clone());
        }
        crate::error::decode(serde_json::Value::Object(all)).map_err(|(option, e)| Error::Config {
            option,
            message: e.to_string(),
        })
    }

    /// A string config option, falling back to the metadata default.
    pub fn config_str(&self, key: &str) -> Result<Option<String>> {
        let c = self.config_map()?;
        let v = c
            .get(key)
            .cloned()
            .or_else(|| self.meta.config.get(key).and_then(|o| o.default.clone()));
        Ok(v.map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
    }

    /// The relations on `endpoint`, as objects.
    pub fn relations(&self, endpoint: &str) -> Result<Vec<Relation<'_>>> {
        Ok(self
            .relation_ids(endpoint)?
            .iter()
            .map(|id| Relation::new(self, id.clone(), None))
            .collect())
    }

    /// The one relation on `endpoint`, if there is one (an endpoint with `limit: 1`, or a peer
    /// relation). More than one is an [`Error::Usage`]: use [`Model::relations`].
    pub fn relation(&self, endpoint: &str) -> Result<Option<Relation<'_>>> {
        let mut all = self.relations(endpoint)?;
        if all.len() > 1 {
            return Err(Error::Usage(format!(
                "endpoint {endpoint} has {} relations; use relations() to see them all",
                all.len()
            )));
        }
        Ok(all.pop())
    }

    /// The relation `id`, as an object.
    pub fn relation_by_id(&self, id: &RelationId) -> Relation<'_> {
        Relation::new(self, id.clone(), None)
    }

    /// The relation `id`, whose remote application is already known (from the event).
    pub(crate) fn relation_with_app(&self, id: &RelationId, app: &str) -> Relation<'_> {
        let app = (!app.is_empty()).then(|| app.to_string());
        Relation::new(self, id.clone(), app)
    }

    /// The relations on `endpoint` (read once per dispatch).
    pub fn relation_ids(&self, endpoint: &str) -> Result<Rc<Vec<RelationId>>> {
        if let Some(r) = self.cache.borrow().relation_ids.get(endpoint) {
            return Ok(r.clone());
        }
        let ids = Rc::new(self.hook().relation_ids(endpoint)?);
        self.cache
            .borrow_mut()
            .relation_ids
            .insert(endpoint.to_string(), ids.clone());
        Ok(ids)
    }

    /// The remote units of a relation.
    pub fn relation_units(&self, rel: &RelationId) -> Result<Rc<Vec<String>>> {
        if let Some(u) = self.cache.borrow().units.get(&rel.id) {
            return Ok(u.clone());
        }
        let u = Rc::new(self.hook().relation_list(rel)?);
        self.cache.borrow_mut().units.insert(rel.id, u.clone());
        Ok(u)
    }

    /// The remote application of a relation, if Juju knows it.
    pub fn relation_remote_app(&self, rel: &RelationId) -> Result<Option<String>> {
        if let Some(a) = self.cache.borrow().remote_app.get(&rel.id) {
            return Ok(a.clone());
        }
        let a = self.hook().relation_list_app(rel)?;
        self.cache.borrow_mut().remote_app.insert(rel.id, a.clone());
        Ok(a)
    }

    fn data(&self, rel: &RelationId, bag: Bag) -> Result<Rc<Databag>> {
        let key = (rel.id, bag);
        if let Some(d) = self.cache.borrow().data.get(&key) {
            return Ok(d.clone());
        }
        let (who, app) = match &key.1 {
            Bag::App(a) => (a.as_str(), true),
            Bag::Unit(u) => (u.as_str(), false),
        };
        let d = Rc::new(self.hook().relation_get(rel, who, app)?);
        self.cache.borrow_mut().data.insert(key, d.clone());
        Ok(d)
    }

    /// The application databag of `app` (ours needs leadership; Juju refuses otherwise).
    pub fn app_data(&self, rel: &RelationId, app: &str) -> Result<Rc<Databag>> {
        self.data(rel, Bag::App(app.to_string()))
    }

    /// The unit databag of `unit`.
    pub fn unit_data(&self, rel: &RelationId, unit: &str) -> Result<Rc<Databag>> {
        self.data(rel, Bag::Unit(unit.to_string()))
    }

    /// Merges `changes` into our app databag (leader only); an empty value deletes the key.
    pub fn set_app_data(&self, rel: &RelationId, changes: &Databag) -> Result<()> {
        self.hook().relation_set(rel, true, changes)?;
        self.merge_cache(rel, Bag::App(self.app_name().to_string()), changes);
        Ok(())
    }

    /// Merges `changes` into our unit databag; an empty value deletes the key.
    pub fn set_unit_data(&self, rel: &RelationId, changes: &Databag) -> Result<()> {
        self.hook().relation_set(rel, false, changes)?;
        self.merge_cache(rel, Bag::Unit(self.unit_name().to_string()), changes);
        Ok(())
    }

    fn merge_cache(&self, rel: &RelationId, bag: Bag, changes: &Databag) {
        let mut cache = self.cache.borrow_mut();
        if let Some(d) = cache.data.get_mut(&(rel.id, bag)) {
            let d = Rc::make_mut(d);
            for (k, v) in changes {
                if v.is_empty() {
                    d.remove(k);
                } else {
                    d.insert(k.clone(), v.clone());
                }
            }
        }
    }

    /// Sets the version of the workload this unit runs, shown by `juju status`.
    pub fn set_workload_version(&self, version: &str) -> Result<()> {
        self.hook().application_version_set(version)
    }

    /// The running action's parameters (read once per dispatch); see
    /// [`crate::Ctx::params`] for the typed view.
    pub(crate) fn action_params(&self) -> Result<Rc<BTreeMap<String, serde_json::Value>>> {
        if let Some(p) = &self.cache.borrow().action_params {
            return Ok(p.clone());
        }
        let p = Rc::new(self.hook().action_get()?);
        self.cache.borrow_mut().action_params = Some(p.clone());
        Ok(p)
    }

    /// The workload container `name` (declared under `containers`): its Pebble client. An
    /// undeclared name is an [`Error::Usage`] naming it, with a suggestion. Connecting is lazy:
    /// a container whose Pebble is not up yet is still returned, and its
    /// [`can_connect`](crate::pebble::Client::can_connect) is false.
    pub fn container(&self, name: &str) -> Result<Container> {
        if let Some(c) = self.cache.borrow().containers.get(name) {
            return Ok(c.clone());
        }
        let Some(meta) = self.meta.containers.get(name) else {
            let declared: Vec<&String> = self.meta.containers.keys().collect();
            return Err(Error::Usage(format!(
                "container {name:?} is not declared in the charm's metadata{}",
                crate::suggest::did_you_mean(name, &declared)
            )));
        };
        let transport: Arc<dyn crate::pebble::Transport> = self.pebble.connect(name)?;
        let container = Container::new(
            meta.clone(),
            crate::pebble::Client::with_transport(transport),
        );
        self.cache
            .borrow_mut()
            .containers
            .insert(name.to_string(), container.clone());
        Ok(container)
    }

    /// Every declared workload container, in name order.
    pub fn containers(&self) -> Result<Vec<Container>> {
        self.meta
            .containers
            .keys()
            .map(|name| self.container(name))
            .collect()
    }

    /// Sets this unit's status.
    pub fn set_unit_status(&self, status: &Status) -> Result<()> {
        self.hook().status_set(status, false)
    }

    /// Sets the application's status (leader only).
    pub fn set_app_status(&self, status: &Status) -> Result<()> {
        self.hook().status_set(status, true)
    }
}

#[cfg(test)]
mod leadership_tests {
    use super::*;
    use crate::hookcmd::ToolCall;
    use std::cell::Cell;

    /// `is-leader` answering `leader`, counting its calls.
    #[derive(Default)]
    struct Leader {
        leader: Cell<bool>,
        calls: Cell<usize>,
    }

    impl HookTools for Leader {
        fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
            assert_eq!(call.tool, "is-leader");
            self.calls.set(self.calls.get() + 1);
            Ok(format!("{}\n", self.leader.get()).into_bytes())
        }
    }

    #[test]
    fn leadership_is_asked_again_once_jujus_30_second_guarantee_is_over() {
        let tools = Rc::new(Leader::default());
        tools.leader.set(true);
        let model = Model::new(
            JujuContext::default(),
            Metadata::default(),
            tools.clone() as Rc<dyn HookTools>,
        );
        assert!(model.is_leader().unwrap());
        tools.leader.set(false);
        // Within the lease: the answer stands, no second call.
        assert!(model.is_leader().unwrap());
        assert_eq!(tools.calls.get(), 1);
        // 31 s later: asked again, and the lost leadership is seen.
        let old = Instant::now().checked_sub(Duration::from_secs(31)).unwrap();
        model.cache.borrow_mut().leader = Some((true, old));
        assert!(!model.is_leader().unwrap());
        assert_eq!(tools.calls.get(), 2);
        assert!(!model.is_leader().unwrap());
        assert_eq!(tools.calls.get(), 2);
    }
}
