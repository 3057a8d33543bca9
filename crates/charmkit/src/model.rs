//! The model: this unit and application, config, relations and status — the charm-facing API
//! over the hook tools.
//!
//! Reads that Juju keeps constant within a hook (config, relation ids, relation data) are made
//! once per dispatch and cached; our own writes update the cache, so a handler reads back what
//! an earlier handler wrote. Leadership is cached for the 30 s Juju guarantees it, then asked
//! again (as ops). Everything else goes straight to the tool through [`Model::hook`].

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::context::JujuContext;
use crate::error::Result;
use crate::hookcmd::RelationId;
use crate::hookcmd::Status;
use crate::hookcmd::{Hook, HookTools};
use crate::meta::Metadata;

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
    config: Option<Rc<BTreeMap<String, serde_json::Value>>>,
    relation_ids: HashMap<String, Rc<Vec<RelationId>>>,
    units: HashMap<u32, Rc<Vec<String>>>,
    remote_app: HashMap<u32, Option<String>>,
    data: HashMap<(u32, Bag), Rc<Databag>>,
}

/// The charm's view of Juju for one dispatch.
pub struct Model {
    ctx: JujuContext,
    meta: Metadata,
    tools: Rc<dyn HookTools>,
    cache: RefCell<Cache>,
}

impl Model {
    /// A model over `tools` for the dispatch described by `ctx`.
    pub fn new(ctx: JujuContext, meta: Metadata, tools: Rc<dyn HookTools>) -> Self {
        Model {
            ctx,
            meta,
            tools,
            cache: RefCell::new(Cache::default()),
        }
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

    /// The whole config (read once per dispatch).
    pub fn config(&self) -> Result<Rc<BTreeMap<String, serde_json::Value>>> {
        if let Some(c) = &self.cache.borrow().config {
            return Ok(c.clone());
        }
        let c = Rc::new(self.hook().config_get()?);
        self.cache.borrow_mut().config = Some(c.clone());
        Ok(c)
    }

    /// A string config option, falling back to the metadata default.
    pub fn config_str(&self, key: &str) -> Result<Option<String>> {
        let c = self.config()?;
        let v = c
            .get(key)
            .cloned()
            .or_else(|| self.meta.config.get(key).and_then(|o| o.default.clone()));
        Ok(v.map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
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
