//! Charm metadata: `charmcraft.yaml` (charmcraft 3+, unified) and/or `metadata.yaml`, plus
//! `config.yaml` and `actions.yaml` when the options and actions are not in `charmcraft.yaml`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;

/// The role of a relation endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Declared under `requires`.
    Requires,
    /// Declared under `provides`.
    Provides,
    /// Declared under `peers`.
    Peers,
}

/// One declared relation endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationMeta {
    /// The endpoint name, e.g. `charm-tracing`.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The interface, e.g. `tracing`.
    pub interface: String,
    /// The `limit`, if declared.
    pub limit: Option<u32>,
    /// The `optional` flag (false if not declared).
    pub optional: bool,
    /// `scope: container` (subordinates) — false for `global`.
    pub container_scope: bool,
}

/// The type of a config option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// `string`
    String,
    /// `int`
    Int,
    /// `float`
    Float,
    /// `boolean`
    Boolean,
    /// `secret` (a secret URI)
    Secret,
}

/// One config option.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOption {
    /// Its type.
    pub kind: ConfigType,
    /// Its default, if any.
    pub default: Option<serde_json::Value>,
    /// Its description.
    pub description: String,
}

/// One action.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionMeta {
    /// Its description.
    pub description: String,
    /// Its parameters, as the JSON-schema `properties` map.
    pub params: BTreeMap<String, serde_json::Value>,
    /// The required parameter names.
    pub required: Vec<String>,
}

/// Everything the framework needs to know about the charm's declarations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// The charm's name.
    pub name: String,
    /// Every relation endpoint (requires, provides and peers), by name.
    pub relations: BTreeMap<String, RelationMeta>,
    /// Storage names.
    pub storages: Vec<String>,
    /// Workload container names (Kubernetes charms).
    pub containers: Vec<String>,
    /// Whether the charm is a subordinate.
    pub subordinate: bool,
    /// Config options, by name.
    pub config: BTreeMap<String, ConfigOption>,
    /// Actions, by name.
    pub actions: BTreeMap<String, ActionMeta>,
}

impl Metadata {
    /// Reads the metadata of the charm rooted at `charm_dir`.
    pub fn from_dir(charm_dir: &Path) -> Result<Self> {
        let _ = charm_dir;
        todo!("meta: from_dir")
    }

    /// Parses metadata from the text of the files (each may be absent). `charmcraft` is the
    /// unified charmcraft.yaml; `metadata`, `config` and `actions` the classic files.
    pub fn from_yaml(
        charmcraft: Option<&str>,
        metadata: Option<&str>,
        config: Option<&str>,
        actions: Option<&str>,
    ) -> Result<Self> {
        let _ = (charmcraft, metadata, config, actions);
        todo!("meta: from_yaml")
    }

    /// The relation endpoint named `name`, if declared.
    pub fn relation(&self, name: &str) -> Option<&RelationMeta> {
        self.relations.get(name)
    }
}
