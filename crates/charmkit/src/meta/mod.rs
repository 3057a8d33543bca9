//! Charm metadata: `charmcraft.yaml` (charmcraft 3+, unified) and/or `metadata.yaml`, plus
//! `config.yaml` and `actions.yaml` when the options and actions are not in `charmcraft.yaml`.
//!
//! # Which file wins
//!
//! A packed charm carries `metadata.yaml` (and `config.yaml`, `actions.yaml`) that charmcraft
//! generated from `charmcraft.yaml`; that is what Juju and ops read at run time. So:
//!
//! * metadata keys (`name`, `requires`, `provides`, `peers`, `storage`, `containers`,
//!   `subordinate`) come from `metadata.yaml` when it exists — wholesale, not merged key by key —
//!   and from `charmcraft.yaml` only when there is no `metadata.yaml`;
//! * config options come from `config.yaml` (`options:`) when it exists, else from
//!   `charmcraft.yaml`'s `config: {options: …}`;
//! * actions come from `actions.yaml` when it exists, else from `charmcraft.yaml`'s `actions:`.
//!
//! `charmcraft.yaml` is only parsed when one of those three needs it, so a build-only
//! `charmcraft.yaml` (classic layout) next to a complete set of classic files is never read.
//!
//! # Tolerance
//!
//! As Juju: unknown keys are ignored; a relation may be written in the short form
//! `db: mysql` (meaning `interface: mysql`); an option without `type` is a `string`; an action
//! without a body has no description and no parameters; a missing `config.options`, empty
//! `config.yaml` or empty `actions.yaml` means none; YAML 1.1 booleans (`yes`, `no`, `on`,
//! `off`, `y`, `n`) are accepted where a boolean is expected, as Juju's YAML parser does; YAML
//! merge keys (`<<`) are applied.
//!
//! Strict, with an [`Error::Metadata`] naming the file and the key path (for example
//! `requires.charm-tracing.limit: expected an integer`): a relation without `interface`, an
//! endpoint name declared twice, an unknown `scope`, an option with an unknown `type` or a
//! default of the wrong type (as Juju rejects it at deploy time), a non-mapping where a mapping
//! must be, a missing `name`. Malformed YAML is reported with the line and column from the parser;
//! structural errors have no line (the parsed tree carries no positions).

mod actions;
mod config;
mod relations;
mod workload;
mod yaml;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde_norway::Value as Yaml;

use crate::error::{Error, Result};
use actions::parse_actions;
use config::parse_options;
use relations::parse_relations;
use workload::{parse_assumptions, parse_containers, parse_resources};
use yaml::{kind, load, names, untag, Ctx, Doc, KeyPath, Source};

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

/// One workload container of a Kubernetes sidecar charm (`containers.<name>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerMeta {
    /// The container's name (the key).
    pub name: String,
    /// The `oci-image` resource it runs, when declared by `resource`.
    pub resource: Option<String>,
    /// The storage mounted into it.
    pub mounts: Vec<Mount>,
}

/// A storage mount of a container (`containers.<name>.mounts[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mount {
    /// The storage name (declared under `storage`).
    pub storage: String,
    /// Where it is mounted in the container, when given.
    pub location: Option<String>,
}

/// The type of a resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResourceType {
    /// `file` (Juju's default).
    #[default]
    File,
    /// `oci-image`: a container image.
    OciImage,
}

/// One resource (`resources.<name>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceMeta {
    /// The resource's name (the key).
    pub name: String,
    /// Its type.
    pub kind: ResourceType,
    /// For a `file` resource, the file name it is stored under.
    pub filename: Option<String>,
    /// Its description.
    pub description: String,
    /// For an `oci-image`, the image charmcraft uploads (`upstream-source`).
    pub upstream_source: Option<String>,
}

/// One entry of `assumes`: a feature (`k8s-api`, `juju >= 3.4`) or a nested `any-of`/`all-of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assumption {
    /// A feature expression, as written.
    Feature(String),
    /// `any-of: [...]`.
    AnyOf(Vec<Assumption>),
    /// `all-of: [...]`.
    AllOf(Vec<Assumption>),
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
    /// Workload containers (Kubernetes sidecar charms), by name.
    pub containers: BTreeMap<String, ContainerMeta>,
    /// Resources (`oci-image`s for containers, files), by name.
    pub resources: BTreeMap<String, ResourceMeta>,
    /// What the charm `assumes` of the Juju controller and cloud (`k8s-api`, `juju >= 3.4`…).
    pub assumes: Vec<Assumption>,
    /// Whether the charm is a subordinate.
    pub subordinate: bool,
    /// Config options, by name.
    pub config: BTreeMap<String, ConfigOption>,
    /// Actions, by name.
    pub actions: BTreeMap<String, ActionMeta>,
}

impl Metadata {
    /// Reads the metadata of the charm rooted at `charm_dir`.
    ///
    /// Reads whichever of `charmcraft.yaml`, `metadata.yaml`, `config.yaml` and `actions.yaml`
    /// exist (see the module documentation for which one wins). A file that does not exist is
    /// fine; one that exists but cannot be read is an [`Error::Metadata`] naming it. Neither
    /// `metadata.yaml` nor `charmcraft.yaml` is an [`Error::Metadata`] naming `charm_dir`.
    pub fn from_dir(charm_dir: &Path) -> Result<Self> {
        let charmcraft = read_optional(&charm_dir.join(CHARMCRAFT_YAML))?;
        let metadata = read_optional(&charm_dir.join(METADATA_YAML))?;
        if charmcraft.is_none() && metadata.is_none() {
            return Err(Error::Metadata {
                path: charm_dir.to_path_buf(),
                line: None,
                column: None,
                message: format!(
                    "no {METADATA_YAML} or {CHARMCRAFT_YAML} in this directory: is it a charm?"
                ),
            });
        }
        let config = read_optional(&charm_dir.join(CONFIG_YAML))?;
        let actions = read_optional(&charm_dir.join(ACTIONS_YAML))?;
        parse(
            as_source(&charmcraft),
            as_source(&metadata),
            as_source(&config),
            as_source(&actions),
        )
    }

    /// Parses metadata from the text of the files (each may be absent). `charmcraft` is the
    /// unified charmcraft.yaml; `metadata`, `config` and `actions` the classic files.
    ///
    /// Errors name the files by their bare names (`metadata.yaml`…); [`Metadata::from_dir`]
    /// names them by their full paths.
    pub fn from_yaml<'a>(
        charmcraft: Option<&'a str>,
        metadata: Option<&'a str>,
        config: Option<&'a str>,
        actions: Option<&'a str>,
    ) -> Result<Self> {
        if charmcraft.is_none() && metadata.is_none() {
            return Err(Error::Metadata {
                path: PathBuf::from(METADATA_YAML),
                line: None,
                column: None,
                message: format!("neither {METADATA_YAML} nor {CHARMCRAFT_YAML} was given"),
            });
        }
        let named = |name: &'static str, text: Option<&'a str>| {
            text.map(|text| Source {
                path: Path::new(name),
                text,
            })
        };
        parse(
            named(CHARMCRAFT_YAML, charmcraft),
            named(METADATA_YAML, metadata),
            named(CONFIG_YAML, config),
            named(ACTIONS_YAML, actions),
        )
    }

    /// The relation endpoint named `name`, if declared.
    pub fn relation(&self, name: &str) -> Option<&RelationMeta> {
        self.relations.get(name)
    }

    /// The relation endpoints with role `role`, in name order.
    pub fn relations_with_role(&self, role: Role) -> impl Iterator<Item = &RelationMeta> + '_ {
        self.relations.values().filter(move |r| r.role == role)
    }
}

const CHARMCRAFT_YAML: &str = "charmcraft.yaml";

const METADATA_YAML: &str = "metadata.yaml";

const CONFIG_YAML: &str = "config.yaml";

const ACTIONS_YAML: &str = "actions.yaml";

fn as_source(file: &Option<(PathBuf, String)>) -> Option<Source<'_>> {
    file.as_ref().map(|(path, text)| Source {
        path: path.as_path(),
        text: text.as_str(),
    })
}

/// Reads `path`; `Ok(None)` if it does not exist.
fn read_optional(path: &Path) -> Result<Option<(PathBuf, String)>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some((path.to_path_buf(), text))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Metadata {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: if e.kind() == io::ErrorKind::InvalidData {
                "cannot read: not valid UTF-8".to_owned()
            } else {
                format!("cannot read: {e}")
            },
        }),
    }
}

fn parse(
    charmcraft: Option<Source<'_>>,
    metadata: Option<Source<'_>>,
    config: Option<Source<'_>>,
    actions: Option<Source<'_>>,
) -> Result<Metadata> {
    // charmcraft.yaml is parsed lazily, at most once, and only if something needs it.
    let needs_charmcraft = metadata.is_none() || config.is_none() || actions.is_none();
    let cc = match charmcraft {
        Some(src) if needs_charmcraft => Some(load(src)?),
        _ => None,
    };
    let md = metadata.map(load).transpose()?;

    let mut out = Metadata::default();

    // Metadata keys: metadata.yaml wins wholesale.
    let meta_doc = match (&md, &cc) {
        (Some(d), _) => d,
        (None, Some(d)) => d,
        (None, None) => {
            // Unreachable through the public constructors, which check this first.
            return Err(Error::Metadata {
                path: PathBuf::from(METADATA_YAML),
                line: None,
                column: None,
                message: format!("neither {METADATA_YAML} nor {CHARMCRAFT_YAML} was given"),
            });
        }
    };
    parse_metadata_keys(meta_doc, &mut out)?;

    // Config options.
    if let Some(src) = config {
        let doc = load(src)?;
        let ctx = Ctx { path: doc.path };
        out.config = parse_options(ctx, doc.get("options"), &KeyPath::root("options"))?;
    } else if let Some(doc) = &cc {
        let ctx = Ctx { path: doc.path };
        let key = KeyPath::root("config");
        if let Some(cfg) = ctx.mapping(doc.get("config"), &key)? {
            out.config = parse_options(ctx, cfg.get("options"), &key.child("options"))?;
        }
    }

    // Actions.
    if let Some(src) = actions {
        let doc = load(src)?;
        let ctx = Ctx { path: doc.path };
        out.actions = parse_actions(ctx, &doc.root, &KeyPath(String::new()))?;
    } else if let Some(doc) = &cc {
        let ctx = Ctx { path: doc.path };
        let key = KeyPath::root("actions");
        if let Some(m) = ctx.mapping(doc.get("actions"), &key)? {
            out.actions = parse_actions(ctx, m, &key)?;
        }
    }

    if let (Some(_), Some(cc)) = (&md, &cc) {
        // The usual layout has both files, with no metadata key in charmcraft.yaml; say so only
        // when one there is being ignored.
        let ignored: Vec<&str> = METADATA_KEYS
            .iter()
            .copied()
            .filter(|k| cc.root.contains_key(*k))
            .collect();
        if !ignored.is_empty() {
            log::debug!(
                "charm metadata: {METADATA_YAML} takes precedence over {CHARMCRAFT_YAML}'s {}",
                ignored.join(", ")
            );
        }
    }
    Ok(out)
}

/// The keys read from the file that holds the charm's metadata.
const METADATA_KEYS: &[&str] = &[
    "name",
    "requires",
    "provides",
    "peers",
    "storage",
    "resources",
    "containers",
    "assumes",
    "subordinate",
];

fn parse_metadata_keys(doc: &Doc<'_>, out: &mut Metadata) -> Result<()> {
    let ctx = Ctx { path: doc.path };
    let name_key = KeyPath::root("name");
    out.name = match doc.get("name") {
        None | Some(Yaml::Null) => {
            return Err(ctx.err(&name_key, "missing: a charm must have a name"))
        }
        Some(Yaml::String(s)) if s.trim().is_empty() => {
            return Err(ctx.err(&name_key, "must not be empty"))
        }
        Some(Yaml::String(s)) => s.clone(),
        Some(other) => {
            return Err(ctx.err(
                &name_key,
                format!("expected a string, found {}", kind(other)),
            ))
        }
    };
    for (section, role) in [
        ("requires", Role::Requires),
        ("provides", Role::Provides),
        ("peers", Role::Peers),
    ] {
        parse_relations(ctx, doc.get(section), section, role, &mut out.relations)?;
    }
    out.storages = names(ctx, doc.get("storage"), &KeyPath::root("storage"))?;
    out.resources = parse_resources(ctx, doc.get("resources"))?;
    out.containers = parse_containers(ctx, doc.get("containers"), out)?;
    out.assumes = match doc.get("assumes").map(untag) {
        None | Some(Yaml::Null) => Vec::new(),
        Some(v) => parse_assumptions(ctx, v, &KeyPath::root("assumes"))?,
    };
    out.subordinate = ctx
        .boolean(&doc.root, "subordinate", &KeyPath(String::new()))?
        .unwrap_or(false);
    Ok(())
}

#[cfg(test)]
mod tests;
