//! Secrets as objects: [`Secret`] over the `secret-*` hook tools, as ops' `ops.Secret`.
//!
//! A secret is found by id (`secret:…`, from an event or a relation) or by the label this unit
//! gave it. Ids are canonical ([`canonical_secret_id`](crate::hookcmd::canonical_secret_id)):
//! one from `secret-add`, `secret-ids`, `JUJU_SECRET_ID` or a relation compares equal. Content
//! is a map of strings; it never reaches logs, spans or errors, and it goes to Juju through
//! private files, never on a command line.

use std::collections::BTreeMap;

use super::Model;
use crate::error::{Error, Result};
pub use crate::hookcmd::SecretInfo;
use crate::hookcmd::{RelationId, SecretOptions, SecretRefresh};

/// A secret this unit owns or observes.
#[derive(Clone)]
pub struct Secret<'a> {
    model: &'a Model,
    id: Option<String>,
    label: Option<String>,
}

impl std::fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("id", &self.id)
            .field("label", &self.label)
            .finish()
    }
}

impl Model {
    /// The secret with id `id` (`secret:…`, a bare id, from an event, a relation or config),
    /// made canonical.
    pub fn secret(&self, id: &str) -> Secret<'_> {
        Secret {
            model: self,
            id: Some(self.hook().canonical_secret_id(id)),
            label: None,
        }
    }

    /// The secret this unit labelled `label` (when it created it, or first read it).
    pub fn secret_by_label(&self, label: &str) -> Secret<'_> {
        Secret {
            model: self,
            id: None,
            label: Some(label.to_string()),
        }
    }

    /// Creates a secret with `content` (owned by the application unless `opts` says the unit;
    /// an application secret needs leadership) and returns it.
    pub fn add_secret(
        &self,
        content: &BTreeMap<String, String>,
        opts: &SecretOptions,
    ) -> Result<Secret<'_>> {
        let id = self.hook().secret_add(content, opts)?;
        Ok(Secret {
            model: self,
            id: Some(id),
            label: opts.label.clone(),
        })
    }
}

impl Secret<'_> {
    /// Its id, canonical, if known (a secret found by label learns it from [`Secret::info`]).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Its label, if this handle was made with one.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The content of the revision this unit tracks (for an observer; an owner sees the
    /// latest). Reading by id and label together attaches the label, as Juju does.
    pub fn content(&self) -> Result<BTreeMap<String, String>> {
        self.get(SecretRefresh::Tracked)
    }

    /// The latest revision's content, without tracking it.
    pub fn peek(&self) -> Result<BTreeMap<String, String>> {
        self.get(SecretRefresh::Peek)
    }

    /// The latest revision's content, tracking it from now on (an observer, on
    /// secret-changed).
    pub fn refresh(&self) -> Result<BTreeMap<String, String>> {
        self.get(SecretRefresh::Refresh)
    }

    fn get(&self, refresh: SecretRefresh) -> Result<BTreeMap<String, String>> {
        self.model
            .hook()
            .secret_get(self.id.as_deref(), self.label.as_deref(), refresh)
    }

    /// Metadata of a secret this application (or unit) owns: one `secret-info-get`, by id if
    /// this handle has one, else by label (Juju refuses both).
    pub fn info(&self) -> Result<SecretInfo> {
        self.model
            .hook()
            .secret_info_get(self.id.as_deref(), self.label.as_deref())
    }

    /// The id, looking it up by label if this handle has none.
    fn require_id(&self) -> Result<String> {
        match &self.id {
            Some(id) => Ok(id.clone()),
            None => Ok(self.info()?.id),
        }
    }

    /// Makes `content` a new revision of this (owned) secret.
    pub fn set_content(&self, content: &BTreeMap<String, String>) -> Result<()> {
        if content.is_empty() {
            return Err(Error::Usage("a secret's content cannot be empty".into()));
        }
        self.model
            .hook()
            .secret_set(&self.require_id()?, content, &SecretOptions::default())
    }

    /// Changes this (owned) secret's label, description, expiry or rotation.
    pub fn set_info(&self, opts: &SecretOptions) -> Result<()> {
        self.model
            .hook()
            .secret_set(&self.require_id()?, &BTreeMap::new(), opts)
    }

    /// Grants read access to the remote application of `relation`, or only to its `unit`.
    pub fn grant(&self, relation: &RelationId, unit: Option<&str>) -> Result<()> {
        self.model
            .hook()
            .secret_grant(&self.require_id()?, relation, unit)
    }

    /// Revokes what [`Secret::grant`] granted.
    pub fn revoke(&self, relation: &RelationId, unit: Option<&str>) -> Result<()> {
        self.model
            .hook()
            .secret_revoke(&self.require_id()?, relation, unit)
    }

    /// Revokes every grant to application `app` and its units, whatever the relation.
    ///
    /// Not in a relation hook: there Juju takes the hook's relation as `--relation` and refuses
    /// `--app` beside it (`do not specify both relation and app`), so this is an
    /// [`Error::Usage`] before any call — revoke by relation there ([`Secret::revoke`]).
    pub fn revoke_app(&self, app: &str) -> Result<()> {
        let id = self.require_id()?;
        if let Some(rel) = &self.model.context().relation_id {
            return Err(Error::Usage(format!(
                "cannot revoke secret {id} from application {app:?} during a relation hook \
                 ({rel}): Juju takes the hook's relation as secret-revoke's --relation and \
                 refuses --app with it; revoke by relation (Secret::revoke) instead"
            )));
        }
        self.model.hook().secret_revoke_app(&id, app)
    }

    /// Removes one revision (on secret-remove, once no observer tracks it).
    pub fn remove_revision(&self, revision: u64) -> Result<()> {
        self.model
            .hook()
            .secret_remove(&self.require_id()?, Some(revision))
    }

    /// Removes the secret, every revision.
    pub fn remove_all_revisions(&self) -> Result<()> {
        self.model.hook().secret_remove(&self.require_id()?, None)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::context::JujuContext;
    use crate::hookcmd::{HookTools, ToolCall};
    use crate::meta::Metadata;

    /// Hook tools that record what is called and answer nothing.
    #[derive(Default)]
    struct Recorder(RefCell<Vec<String>>);

    impl HookTools for Recorder {
        fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
            self.0.borrow_mut().push(call.tool.clone());
            Ok(Vec::new())
        }
    }

    fn model_in(relation_id: Option<RelationId>, tools: &Rc<Recorder>) -> Model {
        let ctx = JujuContext {
            unit_name: "a/0".into(),
            relation: relation_id.as_ref().map(|r| r.endpoint.clone()),
            relation_id,
            ..JujuContext::default()
        };
        Model::new(ctx, Metadata::default(), tools.clone() as Rc<dyn HookTools>)
    }

    #[test]
    fn revoking_by_application_in_a_relation_hook_is_refused_before_juju_refuses_it() {
        const ID: &str = "secret:cj9sk5ufltq4c6e0a8ng";
        let tools = Rc::new(Recorder::default());
        let model = model_in(Some(RelationId::new("db", 3)), &tools);
        let err = model.secret(ID).revoke_app("pg");
        let Err(Error::Usage(msg)) = err else {
            panic!("expected a usage error, got {err:?}")
        };
        assert!(msg.contains("during a relation hook (db:3)"), "{msg}");
        assert!(msg.contains("Secret::revoke"), "{msg}");
        assert!(tools.0.borrow().is_empty(), "no tool is run");
        // Outside a relation hook it runs secret-revoke.
        model_in(None, &tools).secret(ID).revoke_app("pg").unwrap();
        assert_eq!(*tools.0.borrow(), ["secret-revoke"]);
    }
}
