//! Secrets as objects: [`Secret`] over the `secret-*` hook tools, as ops' `ops.Secret`.
//!
//! A secret is found by id (`secret:…`, from an event or a relation) or by the label this unit
//! gave it. Content is a map of strings; it never reaches logs, spans or errors.

use std::collections::BTreeMap;

use super::Model;
use crate::error::{Error, Result};
use crate::hookcmd::{RelationId, SecretOptions, SecretOwner, SecretRefresh};

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

/// What Juju says about a secret this application (or unit) owns: `secret-info-get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// The secret's id, `secret:…`.
    pub id: String,
    /// Its label.
    pub label: Option<String>,
    /// Its latest revision.
    pub revision: u64,
    /// Who owns it.
    pub owner: SecretOwner,
    /// Its description.
    pub description: Option<String>,
    /// When it expires, as Juju printed it.
    pub expiry: Option<String>,
    /// Its rotation policy (`never`, `daily`, …).
    pub rotation: Option<String>,
}

impl Model {
    /// The secret with id `id` (`secret:…`, from an event, a relation or config).
    pub fn secret(&self, id: &str) -> Secret<'_> {
        Secret {
            model: self,
            id: Some(id.to_string()),
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
    /// Its id, if known (a secret found by label learns it from [`Secret::info`]).
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

    /// Metadata of a secret this application (or unit) owns.
    pub fn info(&self) -> Result<SecretInfo> {
        let raw = self
            .model
            .hook()
            .secret_info_get(self.id.as_deref(), self.label.as_deref())?;
        let bad = |detail: String| Error::tool_output("secret-info-get", detail);
        let Some((id, info)) = raw.as_object().and_then(|o| o.iter().next()) else {
            return Err(bad(format!("expected {{ID: {{…}}}}, got {raw}")));
        };
        let text = |k: &str| info.get(k).and_then(|v| v.as_str()).map(String::from);
        let owner = match text("owner").as_deref() {
            Some("unit") => SecretOwner::Unit,
            Some("application") | None => SecretOwner::Application,
            Some(other) => return Err(bad(format!("unknown owner {other:?}"))),
        };
        Ok(SecretInfo {
            id: if id.starts_with("secret:") {
                id.clone()
            } else {
                format!("secret:{id}")
            },
            label: text("label"),
            revision: info
                .get("revision")
                .and_then(|v| v.as_u64())
                .ok_or_else(|| bad(format!("no revision in {info}")))?,
            owner,
            description: text("description"),
            expiry: text("expiry"),
            rotation: text("rotation"),
        })
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
