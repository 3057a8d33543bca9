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

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_norway::{Mapping, Value as Yaml};

use crate::error::{Error, Result};

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

/// The text of one file and the path to name it by in errors.
#[derive(Clone, Copy)]
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

/// One parsed file: its top-level mapping, and the path for errors.
struct Doc<'a> {
    path: &'a Path,
    root: Mapping,
}

impl Doc<'_> {
    fn get(&self, key: &str) -> Option<&Yaml> {
        self.root.get(key).map(untag)
    }
}

/// Parses `src` into its top-level mapping. An empty file (or one holding only `null` or
/// comments) is an empty mapping.
fn load(src: Source<'_>) -> Result<Doc<'_>> {
    let yaml_err = |e: serde_norway::Error| {
        let loc = e.location();
        Error::Metadata {
            path: src.path.to_path_buf(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: format!(
                "invalid YAML: {}",
                strip_location(&e.to_string(), loc.as_ref())
            ),
        }
    };
    let mut value: Yaml = serde_norway::from_str(src.text).map_err(yaml_err)?;
    value.apply_merge().map_err(yaml_err)?;
    let root = match untag_owned(value) {
        Yaml::Null => Mapping::new(),
        Yaml::Mapping(m) => m,
        other => {
            return Err(Error::Metadata {
                path: src.path.to_path_buf(),
                line: None,
                column: None,
                message: format!(
                    "expected a mapping at the top level, found {}",
                    kind(&other)
                ),
            })
        }
    };
    Ok(Doc {
        path: src.path,
        root,
    })
}

/// serde_norway writes the problem's location (" at line L column C") into its messages; we
/// carry it separately, so it is taken out of the text (a context location, if any, stays).
fn strip_location(msg: &str, loc: Option<&serde_norway::Location>) -> String {
    match loc {
        Some(l) => msg.replacen(
            &format!(" at line {} column {}", l.line(), l.column()),
            "",
            1,
        ),
        None => msg.to_owned(),
    }
}

fn untag(v: &Yaml) -> &Yaml {
    match v {
        Yaml::Tagged(t) => untag(&t.value),
        other => other,
    }
}

fn untag_owned(v: Yaml) -> Yaml {
    match v {
        Yaml::Tagged(t) => untag_owned(t.value),
        other => other,
    }
}

/// What a YAML value is, for messages.
fn kind(v: &Yaml) -> &'static str {
    match untag(v) {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(n) if n.is_f64() => "a float",
        Yaml::Number(_) => "an integer",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

/// A dotted key path, e.g. `requires.charm-tracing.limit`.
#[derive(Clone)]
struct KeyPath(String);

impl KeyPath {
    fn root(first: &str) -> Self {
        KeyPath(first.to_owned())
    }
    fn child(&self, key: impl fmt::Display) -> Self {
        if self.0.is_empty() {
            KeyPath(key.to_string())
        } else {
            KeyPath(format!("{}.{key}", self.0))
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds structural errors for one file.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    path: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, key: &KeyPath, message: impl fmt::Display) -> Error {
        Error::Metadata {
            path: self.path.to_path_buf(),
            line: None,
            column: None,
            message: if key.0.is_empty() {
                message.to_string()
            } else {
                format!("{key}: {message}")
            },
        }
    }

    /// The mapping at `key`: `None` if absent or null, an error if not a mapping.
    fn mapping<'v>(&self, v: Option<&'v Yaml>, key: &KeyPath) -> Result<Option<&'v Mapping>> {
        match v.map(untag) {
            None | Some(Yaml::Null) => Ok(None),
            Some(Yaml::Mapping(m)) => Ok(Some(m)),
            Some(other) => Err(self.err(key, format!("expected a mapping, found {}", kind(other)))),
        }
    }

    /// The entries of a mapping whose keys are names (strings).
    fn entries<'v>(&self, m: &'v Mapping, key: &KeyPath) -> Result<Vec<(String, &'v Yaml)>> {
        m.iter()
            .map(|(k, v)| match untag(k) {
                Yaml::String(s) => Ok((s.clone(), untag(v))),
                other => Err(self.err(
                    key,
                    format!("expected names (strings) as keys, found {}", kind(other)),
                )),
            })
            .collect()
    }

    fn string(&self, m: &Mapping, field: &str, key: &KeyPath) -> Result<Option<String>> {
        match m.get(field).map(untag) {
            None | Some(Yaml::Null) => Ok(None),
            Some(Yaml::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(
                &key.child(field),
                format!("expected a string, found {}", kind(other)),
            )),
        }
    }

    fn boolean(&self, m: &Mapping, field: &str, key: &KeyPath) -> Result<Option<bool>> {
        match m.get(field).map(untag) {
            None | Some(Yaml::Null) => Ok(None),
            Some(v) => match as_bool(v) {
                Some(b) => Ok(Some(b)),
                None => Err(self.err(
                    &key.child(field),
                    format!("expected a boolean, found {}", kind(v)),
                )),
            },
        }
    }

    fn u32(&self, m: &Mapping, field: &str, key: &KeyPath) -> Result<Option<u32>> {
        match m.get(field).map(untag) {
            None | Some(Yaml::Null) => Ok(None),
            Some(Yaml::Number(n)) if !n.is_f64() => match n.as_u64().map(u32::try_from) {
                Some(Ok(v)) => Ok(Some(v)),
                _ => Err(self.err(
                    &key.child(field),
                    format!("expected a non-negative integer of at most {}", u32::MAX),
                )),
            },
            Some(other) => Err(self.err(
                &key.child(field),
                format!("expected an integer, found {}", kind(other)),
            )),
        }
    }
}

/// A YAML boolean, or one of the YAML 1.1 spellings Juju's parser reads as a boolean.
fn as_bool(v: &Yaml) -> Option<bool> {
    match untag(v) {
        Yaml::Bool(b) => Some(*b),
        Yaml::String(s) => match s.as_str() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
                Some(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False"
            | "FALSE" => Some(false),
            _ => None,
        },
        _ => None,
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

/// `resources`: `type` is `file` (the default) or `oci-image`; a `file` needs a `filename`.
fn parse_resources(ctx: Ctx<'_>, v: Option<&Yaml>) -> Result<BTreeMap<String, ResourceMeta>> {
    let key = KeyPath::root("resources");
    let mut out = BTreeMap::new();
    let Some(m) = ctx.mapping(v, &key)? else {
        return Ok(out);
    };
    for (name, body) in ctx.entries(m, &key)? {
        let key = key.child(&name);
        let empty = Mapping::new();
        let b = ctx.mapping(Some(body), &key)?.unwrap_or(&empty);
        let kind = match ctx.string(b, "type", &key)?.as_deref() {
            None | Some("file") => ResourceType::File,
            Some("oci-image") => ResourceType::OciImage,
            Some(other) => {
                return Err(ctx.err(
                    &key.child("type"),
                    format!("expected `file` or `oci-image`, found {other:?}"),
                ))
            }
        };
        let filename = ctx.string(b, "filename", &key)?;
        if kind == ResourceType::File && filename.is_none() {
            return Err(ctx.err(&key, "a `file` resource needs a `filename`"));
        }
        let resource = ResourceMeta {
            name: name.clone(),
            kind,
            filename,
            description: ctx.string(b, "description", &key)?.unwrap_or_default(),
            upstream_source: ctx.string(b, "upstream-source", &key)?,
        };
        out.insert(name, resource);
    }
    Ok(out)
}

/// `containers`: each names an `oci-image` resource it runs (or `bases`, not interpreted) and
/// may mount declared storage, as Juju checks at deploy time.
fn parse_containers(
    ctx: Ctx<'_>,
    v: Option<&Yaml>,
    meta: &Metadata,
) -> Result<BTreeMap<String, ContainerMeta>> {
    let key = KeyPath::root("containers");
    let mut out = BTreeMap::new();
    let Some(m) = ctx.mapping(v, &key)? else {
        return Ok(out);
    };
    for (name, body) in ctx.entries(m, &key)? {
        let key = key.child(&name);
        let empty = Mapping::new();
        let b = ctx.mapping(Some(body), &key)?.unwrap_or(&empty);
        let resource = ctx.string(b, "resource", &key)?;
        if let Some(r) = &resource {
            match meta.resources.get(r) {
                Some(res) if res.kind == ResourceType::OciImage => {}
                Some(_) => {
                    return Err(ctx.err(
                        &key.child("resource"),
                        format!("resource {r:?} is not an `oci-image`"),
                    ))
                }
                None => {
                    return Err(ctx.err(
                        &key.child("resource"),
                        format!("resource {r:?} is not declared under `resources`"),
                    ))
                }
            }
        }
        let mut mounts = Vec::new();
        let mkey = key.child("mounts");
        match b.get("mounts").map(untag) {
            None | Some(Yaml::Null) => {}
            Some(Yaml::Sequence(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let ikey = mkey.child(i);
                    let Some(im) = ctx.mapping(Some(item), &ikey)? else {
                        return Err(ctx.err(&ikey, "expected a mapping with a `storage`"));
                    };
                    let storage = ctx
                        .string(im, "storage", &ikey)?
                        .ok_or_else(|| ctx.err(&ikey, "missing `storage`"))?;
                    if !meta.storages.contains(&storage) {
                        return Err(ctx.err(
                            &ikey.child("storage"),
                            format!("storage {storage:?} is not declared under `storage`"),
                        ));
                    }
                    let location = ctx.string(im, "location", &ikey)?;
                    mounts.push(Mount { storage, location });
                }
            }
            Some(other) => {
                return Err(ctx.err(&mkey, format!("expected a list, found {}", kind(other))))
            }
        }
        let container = ContainerMeta {
            name: name.clone(),
            resource,
            mounts,
        };
        out.insert(name, container);
    }
    Ok(out)
}

/// `assumes`: a list of feature expressions and `any-of` / `all-of` blocks, nested at will.
fn parse_assumptions(ctx: Ctx<'_>, v: &Yaml, key: &KeyPath) -> Result<Vec<Assumption>> {
    let Yaml::Sequence(items) = untag(v) else {
        return Err(ctx.err(key, format!("expected a list, found {}", kind(v))));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ikey = key.child(i);
        match untag(item) {
            Yaml::String(s) => out.push(Assumption::Feature(s.clone())),
            Yaml::Mapping(m) if m.len() == 1 => {
                let (k, inner) = m.iter().next().expect("one entry");
                let block = k.as_str().unwrap_or_default();
                let nested = parse_assumptions(ctx, inner, &ikey.child(block))?;
                out.push(match block {
                    "any-of" => Assumption::AnyOf(nested),
                    "all-of" => Assumption::AllOf(nested),
                    other => {
                        return Err(ctx.err(
                            &ikey,
                            format!("expected `any-of` or `all-of`, found {other:?}"),
                        ))
                    }
                });
            }
            other => {
                return Err(ctx.err(
                    &ikey,
                    format!(
                        "expected a feature or an `any-of`/`all-of` block, found {}",
                        kind(other)
                    ),
                ))
            }
        }
    }
    Ok(out)
}

/// The keys of the mapping at `key` (bodies are not interpreted).
fn names(ctx: Ctx<'_>, v: Option<&Yaml>, key: &KeyPath) -> Result<Vec<String>> {
    match ctx.mapping(v, key)? {
        None => Ok(Vec::new()),
        Some(m) => Ok(ctx.entries(m, key)?.into_iter().map(|(k, _)| k).collect()),
    }
}

fn parse_relations(
    ctx: Ctx<'_>,
    v: Option<&Yaml>,
    section: &str,
    role: Role,
    out: &mut BTreeMap<String, RelationMeta>,
) -> Result<()> {
    let key = KeyPath::root(section);
    let Some(m) = ctx.mapping(v, &key)? else {
        return Ok(());
    };
    for (name, body) in ctx.entries(m, &key)? {
        let key = key.child(&name);
        let mut rel = RelationMeta {
            name: name.clone(),
            role,
            interface: String::new(),
            limit: None,
            optional: false,
            container_scope: false,
        };
        match body {
            // Juju's short form: `endpoint: interface`.
            Yaml::String(iface) => rel.interface = iface.clone(),
            Yaml::Mapping(b) => {
                rel.interface = ctx
                    .string(b, "interface", &key)?
                    .ok_or_else(|| ctx.err(&key, "missing `interface`"))?;
                rel.limit = ctx.u32(b, "limit", &key)?;
                rel.optional = ctx.boolean(b, "optional", &key)?.unwrap_or(false);
                rel.container_scope = match ctx.string(b, "scope", &key)?.as_deref() {
                    None | Some("global") => false,
                    Some("container") => true,
                    Some(other) => {
                        return Err(ctx.err(
                            &key.child("scope"),
                            format!("expected `global` or `container`, found {other:?}"),
                        ))
                    }
                };
            }
            Yaml::Null => return Err(ctx.err(&key, "missing `interface`")),
            other => {
                return Err(ctx.err(
                    &key,
                    format!(
                        "expected a mapping with an `interface`, found {}",
                        kind(other)
                    ),
                ))
            }
        }
        if rel.interface.trim().is_empty() {
            return Err(ctx.err(&key.child("interface"), "must not be empty"));
        }
        if let Some(prev) = out.get(&name) {
            let prev_section = match prev.role {
                Role::Requires => "requires",
                Role::Provides => "provides",
                Role::Peers => "peers",
            };
            return Err(ctx.err(
                &key,
                format!("endpoint name already declared under `{prev_section}`"),
            ));
        }
        out.insert(name, rel);
    }
    Ok(())
}

fn parse_options(
    ctx: Ctx<'_>,
    v: Option<&Yaml>,
    key: &KeyPath,
) -> Result<BTreeMap<String, ConfigOption>> {
    let mut out = BTreeMap::new();
    let Some(m) = ctx.mapping(v, key)? else {
        return Ok(out);
    };
    for (name, body) in ctx.entries(m, key)? {
        let key = key.child(&name);
        let empty = Mapping::new();
        let b = match body {
            Yaml::Null => &empty,
            Yaml::Mapping(b) => b,
            other => {
                return Err(ctx.err(&key, format!("expected a mapping, found {}", kind(other))))
            }
        };
        let kind = match ctx.string(b, "type", &key)?.as_deref() {
            None | Some("string") => ConfigType::String,
            Some("int") => ConfigType::Int,
            Some("float") => ConfigType::Float,
            Some("boolean") => ConfigType::Boolean,
            Some("secret") => ConfigType::Secret,
            Some(other) => {
                return Err(ctx.err(
                    &key.child("type"),
                    format!(
                        "unknown type {other:?} (expected string, int, float, boolean or secret)"
                    ),
                ))
            }
        };
        let default = default_value(
            ctx,
            b.get("default").map(untag),
            kind,
            &key.child("default"),
        )?;
        let description = ctx.string(b, "description", &key)?.unwrap_or_default();
        out.insert(
            name,
            ConfigOption {
                kind,
                default,
                description,
            },
        );
    }
    Ok(out)
}

/// A default, checked against the option's type as Juju does at deploy time.
fn default_value(
    ctx: Ctx<'_>,
    v: Option<&Yaml>,
    ty: ConfigType,
    key: &KeyPath,
) -> Result<Option<Json>> {
    let Some(v) = v else { return Ok(None) };
    if let Yaml::Null = v {
        return Ok(None);
    }
    let found = |what: &str| ctx.err(key, format!("expected {what}, found {}", kind(v)));
    let value = match (ty, v) {
        (ConfigType::String | ConfigType::Secret, Yaml::String(s)) => Json::String(s.clone()),
        (ConfigType::String | ConfigType::Secret, _) => return Err(found("a string")),
        (ConfigType::Int, Yaml::Number(n)) if !n.is_f64() => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Json::from(i),
            (None, Some(u)) => Json::from(u),
            (None, None) => return Err(found("an integer")),
        },
        (ConfigType::Int, _) => return Err(found("an integer")),
        (ConfigType::Float, Yaml::Number(n)) => {
            match n.as_f64().and_then(serde_json::Number::from_f64) {
                Some(f) => Json::Number(f),
                None => return Err(ctx.err(key, "expected a finite number")),
            }
        }
        (ConfigType::Float, _) => return Err(found("a number")),
        (ConfigType::Boolean, v) => match as_bool(v) {
            Some(b) => Json::Bool(b),
            None => return Err(found("a boolean")),
        },
    };
    Ok(Some(value))
}

fn parse_actions(ctx: Ctx<'_>, m: &Mapping, key: &KeyPath) -> Result<BTreeMap<String, ActionMeta>> {
    let mut out = BTreeMap::new();
    for (name, body) in ctx.entries(m, key)? {
        let key = key.child(&name);
        let mut action = ActionMeta {
            description: String::new(),
            params: BTreeMap::new(),
            required: Vec::new(),
        };
        match body {
            Yaml::Null => {}
            Yaml::Mapping(b) => {
                action.description = ctx.string(b, "description", &key)?.unwrap_or_default();
                let pkey = key.child("params");
                if let Some(params) = ctx.mapping(b.get("params"), &pkey)? {
                    for (p, schema) in ctx.entries(params, &pkey)? {
                        let k = pkey.child(&p);
                        let schema = match schema {
                            // A parameter without a schema accepts anything.
                            Yaml::Null => Json::Object(serde_json::Map::new()),
                            s => to_json(ctx, s, &k)?,
                        };
                        action.params.insert(p, schema);
                    }
                }
                let rkey = key.child("required");
                match b.get("required").map(untag) {
                    None | Some(Yaml::Null) => {}
                    Some(Yaml::Sequence(items)) => {
                        for (i, item) in items.iter().enumerate() {
                            match untag(item) {
                                Yaml::String(s) => action.required.push(s.clone()),
                                other => {
                                    return Err(ctx.err(
                                        &rkey.child(i),
                                        format!("expected a string, found {}", kind(other)),
                                    ))
                                }
                            }
                        }
                    }
                    Some(other) => {
                        return Err(ctx.err(
                            &rkey,
                            format!("expected a list of parameter names, found {}", kind(other)),
                        ))
                    }
                }
            }
            other => {
                return Err(ctx.err(&key, format!("expected a mapping, found {}", kind(other))))
            }
        }
        out.insert(name, action);
    }
    Ok(out)
}

/// YAML to JSON, for JSON-schema fragments. Scalar mapping keys become strings.
fn to_json(ctx: Ctx<'_>, v: &Yaml, key: &KeyPath) -> Result<Json> {
    Ok(match untag(v) {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                match n.as_f64().and_then(serde_json::Number::from_f64) {
                    Some(f) => Json::Number(f),
                    None => return Err(ctx.err(key, "a non-finite number cannot be used in JSON")),
                }
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(ctx, item, &key.child(i)))
                .collect::<Result<_>>()?,
        ),
        Yaml::Mapping(m) => {
            let mut obj = serde_json::Map::new();
            for (k, v) in m {
                let k = match untag(k) {
                    Yaml::String(s) => s.clone(),
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Number(n) => n.to_string(),
                    other => {
                        return Err(
                            ctx.err(key, format!("expected scalar keys, found {}", kind(other)))
                        )
                    }
                };
                let child = key.child(&k);
                obj.insert(k, to_json(ctx, v, &child)?);
            }
            Json::Object(obj)
        }
        Yaml::Tagged(t) => to_json(ctx, &t.value, key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The error's (path, line, column, message), or a panic if it is not `Error::Metadata`.
    fn meta_err(r: Result<Metadata>) -> (PathBuf, Option<usize>, Option<usize>, String) {
        match r {
            Err(Error::Metadata {
                path,
                line,
                column,
                message,
            }) => (path, line, column, message),
            Err(other) => panic!("expected Error::Metadata, got {other:?}"),
            Ok(m) => panic!("expected an error, got {m:?}"),
        }
    }

    fn md(text: &str) -> Result<Metadata> {
        Metadata::from_yaml(None, Some(text), None, None)
    }

    const UNIFIED: &str = r#"
name: rust-starter
type: charm
title: Rust starter
summary: A charm written in Rust.
description: |
  Long text.
base: ubuntu@24.04
platforms:
  amd64:
parts:
  charm:
    plugin: nil
assumes:
  - k8s-api
containers:
  workload:
    resource: workload-image
  sidecar:
    resource: sidecar-image
resources:
  workload-image:
    type: oci-image
    upstream-source: ghcr.io/example/workload:1.0
  sidecar-image:
    type: oci-image
storage:
  data:
    type: filesystem
    location: /var/lib/data
  logs:
    type: filesystem
requires:
  charm-tracing:
    interface: tracing
    limit: 1
    optional: true
  receive-ca-cert:
    interface: certificate_transfer
    limit: 1
    optional: true
  logging: loki_push_api
provides:
  metrics-endpoint:
    interface: prometheus_scrape
peers:
  replicas:
    interface: rust_starter_replica
config:
  options:
    log-level:
      type: string
      default: info
      description: The workload's log level.
    port:
      type: int
      default: 8080
      description: Listen port.
    ratio:
      type: float
      default: 1
    debug:
      type: boolean
      default: false
    credentials:
      type: secret
      description: A secret URI.
    untyped:
      default: hello
actions:
  backup:
    description: Take a backup.
    params:
      target:
        type: string
        description: Where to.
      compress:
        type: boolean
        default: true
    required: [target]
    additionalProperties: false
  noop:
"#;

    #[test]
    fn unified_charmcraft_yaml_with_everything() {
        let m = Metadata::from_yaml(Some(UNIFIED), None, None, None).unwrap();
        assert_eq!(m.name, "rust-starter");
        assert!(!m.subordinate);
        assert_eq!(
            m.containers.keys().collect::<Vec<_>>(),
            ["sidecar", "workload"]
        );
        assert_eq!(
            m.containers["workload"].resource.as_deref(),
            Some("workload-image")
        );
        assert_eq!(m.resources["workload-image"].kind, ResourceType::OciImage);
        assert_eq!(m.assumes, [Assumption::Feature("k8s-api".into())]);
        assert_eq!(m.storages, ["data", "logs"]);

        assert_eq!(
            m.relation("charm-tracing"),
            Some(&RelationMeta {
                name: "charm-tracing".into(),
                role: Role::Requires,
                interface: "tracing".into(),
                limit: Some(1),
                optional: true,
                container_scope: false,
            })
        );
        let ca = m.relation("receive-ca-cert").unwrap();
        assert_eq!(ca.interface, "certificate_transfer");
        assert_eq!(ca.role, Role::Requires);
        assert_eq!(ca.limit, Some(1));
        assert!(ca.optional);
        let logging = m.relation("logging").unwrap();
        assert_eq!(
            (logging.interface.as_str(), logging.limit, logging.optional),
            ("loki_push_api", None, false)
        );
        let prov = m.relation("metrics-endpoint").unwrap();
        assert_eq!(prov.role, Role::Provides);
        assert_eq!(prov.interface, "prometheus_scrape");
        let peer = m.relation("replicas").unwrap();
        assert_eq!(peer.role, Role::Peers);
        assert_eq!(m.relations.len(), 5);
        assert_eq!(m.relations_with_role(Role::Requires).count(), 3);

        assert_eq!(m.config.len(), 6);
        assert_eq!(
            m.config["log-level"],
            ConfigOption {
                kind: ConfigType::String,
                default: Some(json!("info")),
                description: "The workload's log level.".into(),
            }
        );
        assert_eq!(m.config["port"].kind, ConfigType::Int);
        assert_eq!(m.config["port"].default, Some(json!(8080)));
        assert_eq!(m.config["ratio"].kind, ConfigType::Float);
        assert_eq!(m.config["ratio"].default, Some(json!(1.0)));
        assert_eq!(m.config["debug"].default, Some(json!(false)));
        assert_eq!(m.config["credentials"].kind, ConfigType::Secret);
        assert_eq!(m.config["credentials"].default, None);
        assert_eq!(m.config["credentials"].description, "A secret URI.");
        assert_eq!(m.config["untyped"].kind, ConfigType::String);

        let backup = &m.actions["backup"];
        assert_eq!(backup.description, "Take a backup.");
        assert_eq!(
            backup.params["target"],
            json!({"type": "string", "description": "Where to."})
        );
        assert_eq!(
            backup.params["compress"],
            json!({"type": "boolean", "default": true})
        );
        assert_eq!(backup.required, ["target"]);
        assert_eq!(
            m.actions["noop"],
            ActionMeta {
                description: String::new(),
                params: BTreeMap::new(),
                required: vec![],
            }
        );
    }

    const CLASSIC_META: &str = "\
name: classic
subordinate: true
requires:
  juju-info:
    interface: juju-info
    scope: container
  charm-tracing:
    interface: tracing
    limit: 1
provides:
  cos-agent:
    interface: cos_agent
    scope: global
";

    const CLASSIC_CONFIG: &str = "\
options:
  interval:
    type: int
    default: 60
    description: Seconds.
  name:
    type: string
    description: No default.
";

    const CLASSIC_ACTIONS: &str = "\
restart:
  description: Restart it.
set-level:
  description: Set the level.
  params:
    level:
      type: string
      enum: [debug, info]
  required:
    - level
";

    #[test]
    fn classic_metadata_config_actions() {
        let m = Metadata::from_yaml(
            None,
            Some(CLASSIC_META),
            Some(CLASSIC_CONFIG),
            Some(CLASSIC_ACTIONS),
        )
        .unwrap();
        assert_eq!(m.name, "classic");
        assert!(m.subordinate);
        let ji = m.relation("juju-info").unwrap();
        assert!(ji.container_scope);
        assert_eq!(ji.interface, "juju-info");
        assert!(!m.relation("cos-agent").unwrap().container_scope);
        assert_eq!(m.relation("charm-tracing").unwrap().limit, Some(1));
        assert_eq!(m.config["interval"].default, Some(json!(60)));
        assert_eq!(m.config["name"].default, None);
        assert_eq!(m.config["name"].description, "No default.");
        assert_eq!(m.actions["restart"].description, "Restart it.");
        assert_eq!(
            m.actions["set-level"].params["level"],
            json!({"type": "string", "enum": ["debug", "info"]})
        );
        assert_eq!(m.actions["set-level"].required, ["level"]);
        assert!(m.storages.is_empty() && m.containers.is_empty());
    }

    #[test]
    fn both_present_metadata_yaml_wins_for_metadata_keys() {
        let cc = "\
name: from-charmcraft
requires:
  only-in-charmcraft:
    interface: x
config:
  options:
    cc-option:
      type: string
actions:
  cc-action:
    description: from charmcraft
";
        // metadata.yaml wins wholesale for the metadata keys; charmcraft.yaml still supplies
        // config and actions because config.yaml and actions.yaml are absent.
        let m = Metadata::from_yaml(Some(cc), Some(CLASSIC_META), None, None).unwrap();
        assert_eq!(m.name, "classic");
        assert!(m.relation("only-in-charmcraft").is_none());
        assert!(m.relation("charm-tracing").is_some());
        assert!(m.config.contains_key("cc-option"));
        assert!(m.actions.contains_key("cc-action"));

        // With config.yaml and actions.yaml present, those win.
        let m = Metadata::from_yaml(
            Some(cc),
            Some(CLASSIC_META),
            Some(CLASSIC_CONFIG),
            Some(CLASSIC_ACTIONS),
        )
        .unwrap();
        assert!(!m.config.contains_key("cc-option"));
        assert!(m.config.contains_key("interval"));
        assert!(!m.actions.contains_key("cc-action"));
        assert!(m.actions.contains_key("restart"));
    }

    #[test]
    fn unneeded_charmcraft_yaml_is_not_parsed() {
        // A classic-layout charmcraft.yaml holds build settings only; when all classic files
        // exist it is not even parsed, so even broken YAML there does not matter.
        let m = Metadata::from_yaml(
            Some("type: charm\nbases: [oops"),
            Some(CLASSIC_META),
            Some(CLASSIC_CONFIG),
            Some(CLASSIC_ACTIONS),
        )
        .unwrap();
        assert_eq!(m.name, "classic");
        // But it is parsed (and reported) when it is needed for config.
        let (path, line, _, _) = meta_err(Metadata::from_yaml(
            Some("type: charm\nbases: [oops"),
            Some(CLASSIC_META),
            None,
            Some(CLASSIC_ACTIONS),
        ));
        assert_eq!(path, Path::new("charmcraft.yaml"));
        assert!(line.is_some());
    }

    #[test]
    fn classic_charmcraft_yaml_without_name_next_to_metadata_yaml() {
        let m = Metadata::from_yaml(
            Some("type: charm\nbases:\n  - name: ubuntu\n    channel: '22.04'\n"),
            Some(CLASSIC_META),
            None,
            None,
        )
        .unwrap();
        assert_eq!(m.name, "classic");
        assert!(m.config.is_empty() && m.actions.is_empty());
    }

    #[test]
    fn dash_names_and_short_form() {
        let m = md("\
name: my-charm
requires:
  charm-tracing: {interface: tracing, limit: 1, optional: yes}
  receive-ca-cert:
    interface: certificate_transfer
  send-remote-write: prometheus_remote_write
")
        .unwrap();
        assert_eq!(m.name, "my-charm");
        assert_eq!(m.relation("charm-tracing").unwrap().interface, "tracing");
        assert!(m.relation("charm-tracing").unwrap().optional);
        assert_eq!(
            m.relation("receive-ca-cert").unwrap().interface,
            "certificate_transfer"
        );
        assert_eq!(
            m.relation("send-remote-write").unwrap().interface,
            "prometheus_remote_write"
        );
        assert!(m.relation("charm_tracing").is_none());
    }

    #[test]
    fn peers_storage_containers() {
        let m = md("\
name: k8s
peers:
  cluster:
    interface: cluster
  restart: rolling_op
storage:
  db: {type: filesystem}
  cache:
containers:
  app: {resource: app-image, mounts: [{storage: db, location: /db}]}
resources:
  app-image: {type: oci-image}
")
        .unwrap();
        assert_eq!(m.relation("cluster").unwrap().role, Role::Peers);
        assert_eq!(m.relation("restart").unwrap().interface, "rolling_op");
        assert_eq!(m.storages, ["db", "cache"]);
        assert_eq!(
            m.containers["app"],
            ContainerMeta {
                name: "app".into(),
                resource: Some("app-image".into()),
                mounts: vec![Mount {
                    storage: "db".into(),
                    location: Some("/db".into()),
                }],
            }
        );
    }

    #[test]
    fn resources_and_assumes() {
        let m = md("\
name: k8s
resources:
  image: {type: oci-image, description: The workload.}
  blob: {filename: blob.tar}
assumes:
  - k8s-api
  - any-of:
      - juju >= 3.4
      - all-of: [juju >= 3.1, juju < 3.2]
")
        .unwrap();
        assert_eq!(m.resources["image"].description, "The workload.");
        assert_eq!(m.resources["blob"].kind, ResourceType::File);
        assert_eq!(m.resources["blob"].filename.as_deref(), Some("blob.tar"));
        assert_eq!(
            m.assumes,
            [
                Assumption::Feature("k8s-api".into()),
                Assumption::AnyOf(vec![
                    Assumption::Feature("juju >= 3.4".into()),
                    Assumption::AllOf(vec![
                        Assumption::Feature("juju >= 3.1".into()),
                        Assumption::Feature("juju < 3.2".into()),
                    ]),
                ]),
            ]
        );
    }

    #[test]
    fn containers_resources_and_assumes_are_checked() {
        for (yaml, message) in [
            (
                "name: x\ncontainers:\n  app: {resource: nope}\n",
                "containers.app.resource: resource \"nope\" is not declared under `resources`",
            ),
            (
                "name: x\nresources:\n  f: {filename: f.txt}\ncontainers:\n  app: {resource: f}\n",
                "containers.app.resource: resource \"f\" is not an `oci-image`",
            ),
            (
                "name: x\ncontainers:\n  app: {mounts: [{storage: db}]}\n",
                "containers.app.mounts.0.storage: storage \"db\" is not declared under `storage`",
            ),
            (
                "name: x\nresources:\n  f: {type: file}\n",
                "resources.f: a `file` resource needs a `filename`",
            ),
            (
                "name: x\nresources:\n  f: {type: snap}\n",
                "resources.f.type: expected `file` or `oci-image`, found \"snap\"",
            ),
            (
                "name: x\nassumes:\n  - none-of: [k8s-api]\n",
                "assumes.0: expected `any-of` or `all-of`, found \"none-of\"",
            ),
            (
                "name: x\nassumes: k8s-api\n",
                "assumes: expected a list, found a string",
            ),
        ] {
            let (_, _, _, msg) = meta_err(md(yaml));
            assert_eq!(msg, message, "{yaml}");
        }
    }

    #[test]
    fn malformed_yaml_reports_location() {
        let (path, line, column, message) = meta_err(md("name: x\nrequires:\n  a: [b\n"));
        assert_eq!(path, Path::new("metadata.yaml"));
        assert!(line.is_some() && column.is_some(), "{line:?} {column:?}");
        assert!(message.starts_with("invalid YAML: "), "{message}");
        let (l, c) = (line.unwrap(), column.unwrap());
        assert!(
            !message.contains(&format!(" at line {l} column {c}")),
            "{message}"
        );

        // A tab where indentation is expected, on line 3.
        let (_, line, column, _) = meta_err(md("name: x\nrequires:\n\tfoo: bar\n"));
        assert_eq!(line, Some(3));
        assert!(column.is_some());

        // Duplicate keys are a YAML error, located at the enclosing mapping.
        let (_, line, _, message) = meta_err(md("name: x\nname: y\n"));
        assert_eq!(line, Some(1));
        assert_eq!(message, "invalid YAML: duplicate entry with key \"name\"");

        // The Display puts it together: file:line:column: message.
        let e = md("name: x\nrequires:\n\tfoo: bar\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("metadata.yaml:3:"), "{e}");
    }

    #[test]
    fn malformed_config_and_actions_name_their_file() {
        let (path, line, ..) = meta_err(Metadata::from_yaml(
            None,
            Some("name: x"),
            Some("options:\n  a: {type: int\n"),
            None,
        ));
        assert_eq!(path, Path::new("config.yaml"));
        assert!(line.is_some());
        let (path, ..) = meta_err(Metadata::from_yaml(
            None,
            Some("name: x"),
            None,
            Some("a:\n  description: \"unterminated\n"),
        ));
        assert_eq!(path, Path::new("actions.yaml"));
    }

    #[test]
    fn wrong_types_name_the_key_path() {
        let cases: &[(&str, &str)] = &[
            (
                "name: x\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: one\n",
                "requires.charm-tracing.limit: expected an integer, found a string",
            ),
            (
                "name: x\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: 1.5\n",
                "requires.charm-tracing.limit: expected an integer, found a float",
            ),
            (
                "name: x\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: -1\n",
                "requires.charm-tracing.limit: expected a non-negative integer of at most 4294967295",
            ),
            (
                "name: x\nrequires:\n  t:\n    interface: tracing\n    optional: maybe\n",
                "requires.t.optional: expected a boolean, found a string",
            ),
            (
                "name: x\nprovides:\n  t:\n    interface: tracing\n    scope: planet\n",
                "provides.t.scope: expected `global` or `container`, found \"planet\"",
            ),
            (
                "name: x\nrequires:\n  t:\n    interface: [tracing]\n",
                "requires.t.interface: expected a string, found a list",
            ),
            (
                "name: x\nrequires: [charm-tracing]\n",
                "requires: expected a mapping, found a list",
            ),
            (
                "name: x\nrequires:\n  t: 42\n",
                "requires.t: expected a mapping with an `interface`, found an integer",
            ),
            ("name: 42\n", "name: expected a string, found an integer"),
            ("requires: {}\n", "name: missing: a charm must have a name"),
            ("name: ''\n", "name: must not be empty"),
            (
                "name: x\nsubordinate: sometimes\n",
                "subordinate: expected a boolean, found a string",
            ),
            (
                "name: x\nstorage: data\n",
                "storage: expected a mapping, found a string",
            ),
            (
                "name: x\ncontainers:\n  - app\n",
                "containers: expected a mapping, found a list",
            ),
            (
                "name: x\nrequires:\n  a: {interface: i}\nprovides:\n  a: {interface: i}\n",
                "provides.a: endpoint name already declared under `requires`",
            ),
            (
                "name: x\nrequires:\n  1: {interface: i}\n",
                "requires: expected names (strings) as keys, found an integer",
            ),
            ("- name: x\n", "expected a mapping at the top level, found a list"),
        ];
        for (yaml, want) in cases {
            let (path, line, column, message) = meta_err(md(yaml));
            assert_eq!(path, Path::new("metadata.yaml"));
            assert_eq!((line, column), (None, None));
            assert_eq!(&message, want, "for {yaml:?}");
        }
    }

    #[test]
    fn config_and_action_wrong_types() {
        let cfg = |text: &str| Metadata::from_yaml(None, Some("name: x"), Some(text), None);
        let cases: &[(&str, &str)] = &[
            (
                "options:\n  a:\n    type: strnig\n",
                "options.a.type: unknown type \"strnig\" (expected string, int, float, boolean or secret)",
            ),
            (
                "options:\n  a:\n    type: int\n    default: ten\n",
                "options.a.default: expected an integer, found a string",
            ),
            (
                "options:\n  a:\n    type: int\n    default: 1.5\n",
                "options.a.default: expected an integer, found a float",
            ),
            (
                "options:\n  a:\n    type: string\n    default: 8080\n",
                "options.a.default: expected a string, found an integer",
            ),
            (
                "options:\n  a:\n    type: boolean\n    default: maybe\n",
                "options.a.default: expected a boolean, found a string",
            ),
            (
                "options:\n  a:\n    type: float\n    default: [1]\n",
                "options.a.default: expected a number, found a list",
            ),
            (
                "options:\n  a:\n    type: float\n    default: .nan\n",
                "options.a.default: expected a finite number",
            ),
            ("options: [a]\n", "options: expected a mapping, found a list"),
            ("options:\n  a: string\n", "options.a: expected a mapping, found a string"),
            (
                "options:\n  a:\n    description: [x]\n",
                "options.a.description: expected a string, found a list",
            ),
        ];
        for (yaml, want) in cases {
            let (path, _, _, message) = meta_err(cfg(yaml));
            assert_eq!(path, Path::new("config.yaml"));
            assert_eq!(&message, want, "for {yaml:?}");
        }

        let act = |text: &str| Metadata::from_yaml(None, Some("name: x"), None, Some(text));
        let cases: &[(&str, &str)] = &[
            ("a: do it\n", "a: expected a mapping, found a string"),
            (
                "a:\n  params: [x]\n",
                "a.params: expected a mapping, found a list",
            ),
            (
                "a:\n  required: x\n",
                "a.required: expected a list of parameter names, found a string",
            ),
            (
                "a:\n  required: [1]\n",
                "a.required.0: expected a string, found an integer",
            ),
            (
                "a:\n  description: {x: 1}\n",
                "a.description: expected a string, found a mapping",
            ),
        ];
        for (yaml, want) in cases {
            let (path, _, _, message) = meta_err(act(yaml));
            assert_eq!(path, Path::new("actions.yaml"));
            assert_eq!(&message, want, "for {yaml:?}");
        }

        // In charmcraft.yaml the key paths start at the top of that file.
        let (path, _, _, message) = meta_err(Metadata::from_yaml(
            Some("name: x\nconfig:\n  options:\n    a: {type: nope}\n"),
            None,
            None,
            None,
        ));
        assert_eq!(path, Path::new("charmcraft.yaml"));
        assert!(
            message.starts_with("config.options.a.type: unknown type"),
            "{message}"
        );
        let (_, _, _, message) = meta_err(Metadata::from_yaml(
            Some("name: x\nconfig: [a]\n"),
            None,
            None,
            None,
        ));
        assert_eq!(message, "config: expected a mapping, found a list");
        let (_, _, _, message) = meta_err(Metadata::from_yaml(
            Some("name: x\nactions:\n  a:\n    params:\n      p: 3\n    required: p\n"),
            None,
            None,
            None,
        ));
        assert_eq!(
            message,
            "actions.a.required: expected a list of parameter names, found a string"
        );
    }

    #[test]
    fn missing_interface_names_the_endpoint() {
        for yaml in [
            "name: x\nrequires:\n  charm-tracing:\n    limit: 1\n",
            "name: x\nrequires:\n  charm-tracing:\n",
            "name: x\nrequires:\n  charm-tracing: {}\n",
        ] {
            let (_, _, _, message) = meta_err(md(yaml));
            assert_eq!(
                message, "requires.charm-tracing: missing `interface`",
                "{yaml:?}"
            );
        }
        let (_, _, _, message) = meta_err(md("name: x\npeers:\n  p:\n    interface: ''\n"));
        assert_eq!(message, "peers.p.interface: must not be empty");
    }

    #[test]
    fn empty_files() {
        // An empty metadata.yaml has no name.
        let (path, _, _, message) = meta_err(md(""));
        assert_eq!(path, Path::new("metadata.yaml"));
        assert_eq!(message, "name: missing: a charm must have a name");
        // Same for a comment-only charmcraft.yaml.
        let (path, _, _, _) = meta_err(Metadata::from_yaml(Some("# nothing\n"), None, None, None));
        assert_eq!(path, Path::new("charmcraft.yaml"));
        // Empty config.yaml / actions.yaml: no options, no actions.
        let m = Metadata::from_yaml(None, Some("name: x"), Some(""), Some("\n")).unwrap();
        assert!(m.config.is_empty() && m.actions.is_empty());
        // `config:` without options, `options:` null, `actions:` null.
        let m =
            Metadata::from_yaml(Some("name: x\nconfig: {}\nactions:\n"), None, None, None).unwrap();
        assert!(m.config.is_empty() && m.actions.is_empty());
        let m = Metadata::from_yaml(None, Some("name: x"), Some("options:\n"), None).unwrap();
        assert!(m.config.is_empty());
        // Empty sections.
        let m = md("name: x\nrequires:\nprovides: {}\nstorage:\n").unwrap();
        assert!(m.relations.is_empty() && m.storages.is_empty());
    }

    #[test]
    fn nothing_given() {
        let (path, _, _, message) = meta_err(Metadata::from_yaml(None, None, Some(""), None));
        assert_eq!(path, Path::new("metadata.yaml"));
        assert!(message.contains("neither"), "{message}");
    }

    #[test]
    fn tolerance() {
        // Unknown keys everywhere, YAML 1.1 booleans, merge keys, tags, an option with no body,
        // a parameter with no schema.
        let m = Metadata::from_yaml(
            Some(
                "\
name: tolerant
x-custom: 1
links: {website: [https://example.com]}
subordinate: no
.rel: &rel
  interface: shared
  optional: on
requires:
  a:
    <<: *rel
    limit: 2
    something-new: true
  b: !custom
    interface: tagged
config:
  options:
    flag:
      type: boolean
      default: yes
    bare:
    big:
      type: int
      default: 18446744073709551615
actions:
  go:
    params:
      anything:
      n:
        type: integer
        minimum: 0
        1: numeric key
    execution-group: g
    parallel: true
",
            ),
            None,
            None,
            None,
        )
        .unwrap();
        assert!(!m.subordinate);
        let a = m.relation("a").unwrap();
        assert_eq!(
            (a.interface.as_str(), a.limit, a.optional),
            ("shared", Some(2), true)
        );
        assert_eq!(m.relation("b").unwrap().interface, "tagged");
        assert_eq!(m.config["flag"].default, Some(json!(true)));
        assert_eq!(m.config["bare"].kind, ConfigType::String);
        assert_eq!(m.config["bare"].default, None);
        assert_eq!(m.config["big"].default, Some(json!(u64::MAX)));
        assert_eq!(m.actions["go"].params["anything"], json!({}));
        assert_eq!(
            m.actions["go"].params["n"],
            json!({"type": "integer", "minimum": 0, "1": "numeric key"})
        );
    }

    #[test]
    fn from_dir_reads_the_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("metadata.yaml"), CLASSIC_META).unwrap();
        std::fs::write(dir.path().join("config.yaml"), CLASSIC_CONFIG).unwrap();
        std::fs::write(dir.path().join("actions.yaml"), CLASSIC_ACTIONS).unwrap();
        let m = Metadata::from_dir(dir.path()).unwrap();
        assert_eq!(
            m,
            Metadata::from_yaml(
                None,
                Some(CLASSIC_META),
                Some(CLASSIC_CONFIG),
                Some(CLASSIC_ACTIONS)
            )
            .unwrap()
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("charmcraft.yaml"), UNIFIED).unwrap();
        let m = Metadata::from_dir(dir.path()).unwrap();
        assert_eq!(m.name, "rust-starter");
        assert_eq!(m.actions.len(), 2);
    }

    #[test]
    fn from_dir_errors_name_full_paths() {
        let dir = tempfile::tempdir().unwrap();
        // No metadata at all: the error names the directory.
        let (path, _, _, message) = meta_err(Metadata::from_dir(dir.path()));
        assert_eq!(path, dir.path());
        assert!(message.contains("metadata.yaml") && message.contains("charmcraft.yaml"));
        // A config.yaml alone is not enough.
        std::fs::write(dir.path().join("config.yaml"), CLASSIC_CONFIG).unwrap();
        let (path, ..) = meta_err(Metadata::from_dir(dir.path()));
        assert_eq!(path, dir.path());
        // A nonexistent directory.
        let (path, ..) = meta_err(Metadata::from_dir(&dir.path().join("nope")));
        assert_eq!(path, dir.path().join("nope"));

        // Malformed YAML: the full path and the location.
        std::fs::write(dir.path().join("metadata.yaml"), "name: x\nrequires: [\n").unwrap();
        let (path, line, ..) = meta_err(Metadata::from_dir(dir.path()));
        assert_eq!(path, dir.path().join("metadata.yaml"));
        assert!(line.is_some());

        // Structural errors in config.yaml name the full path of config.yaml.
        std::fs::write(dir.path().join("metadata.yaml"), "name: x\n").unwrap();
        std::fs::write(
            dir.path().join("config.yaml"),
            "options:\n  a: {type: nope}\n",
        )
        .unwrap();
        let (path, ..) = meta_err(Metadata::from_dir(dir.path()));
        assert_eq!(path, dir.path().join("config.yaml"));
        std::fs::remove_file(dir.path().join("config.yaml")).unwrap();

        // Unreadable: a directory where a file should be; invalid UTF-8.
        std::fs::create_dir(dir.path().join("actions.yaml")).unwrap();
        let (path, _, _, message) = meta_err(Metadata::from_dir(dir.path()));
        assert_eq!(path, dir.path().join("actions.yaml"));
        assert!(message.starts_with("cannot read"), "{message}");
        std::fs::remove_dir(dir.path().join("actions.yaml")).unwrap();
        std::fs::write(
            dir.path().join("actions.yaml"),
            b"a:\n  description: \xff\xfe\n",
        )
        .unwrap();
        let (path, _, _, message) = meta_err(Metadata::from_dir(dir.path()));
        assert_eq!(path, dir.path().join("actions.yaml"));
        assert_eq!(message, "cannot read: not valid UTF-8");
    }

    #[test]
    fn strip_location_strips_the_problem_location_only() {
        let (_, _, _, message) = meta_err(md("name: x\nrequires:\n  a: [b\n"));
        assert_eq!(
            message,
            "invalid YAML: did not find expected ',' or ']', while parsing a flow sequence at line 3 column 6"
        );
    }
}
