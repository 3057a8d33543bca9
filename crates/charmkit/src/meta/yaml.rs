//! The YAML walker: parsed files, key paths (`requires.db.limit`), and the typed reads that fail
//! with an [`Error::Metadata`] naming the file and the key path.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::Value as Json;
use serde_norway::{Mapping, Value as Yaml};

use crate::error::{Error, Result};

/// The text of one file and the path to name it by in errors.
#[derive(Clone, Copy)]
pub(super) struct Source<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

/// One parsed file: its top-level mapping, and the path for errors.
pub(super) struct Doc<'a> {
    pub(super) path: &'a Path,
    pub(super) root: Mapping,
}

impl Doc<'_> {
    pub(super) fn get(&self, key: &str) -> Option<&Yaml> {
        self.root.get(key).map(untag)
    }
}

/// Parses `src` into its top-level mapping. An empty file (or one holding only `null` or
/// comments) is an empty mapping.
pub(super) fn load(src: Source<'_>) -> Result<Doc<'_>> {
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
pub(super) fn strip_location(msg: &str, loc: Option<&serde_norway::Location>) -> String {
    match loc {
        Some(l) => msg.replacen(
            &format!(" at line {} column {}", l.line(), l.column()),
            "",
            1,
        ),
        None => msg.to_owned(),
    }
}

pub(super) fn untag(v: &Yaml) -> &Yaml {
    match v {
        Yaml::Tagged(t) => untag(&t.value),
        other => other,
    }
}

pub(super) fn untag_owned(v: Yaml) -> Yaml {
    match v {
        Yaml::Tagged(t) => untag_owned(t.value),
        other => other,
    }
}

/// What a YAML value is, for messages.
pub(super) fn kind(v: &Yaml) -> &'static str {
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
pub(super) struct KeyPath(pub(super) String);

impl KeyPath {
    pub(super) fn root(first: &str) -> Self {
        KeyPath(first.to_owned())
    }
    pub(super) fn child(&self, key: impl fmt::Display) -> Self {
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
pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
}

impl Ctx<'_> {
    pub(super) fn err(&self, key: &KeyPath, message: impl fmt::Display) -> Error {
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
    pub(super) fn mapping<'v>(
        &self,
        v: Option<&'v Yaml>,
        key: &KeyPath,
    ) -> Result<Option<&'v Mapping>> {
        match v.map(untag) {
            None | Some(Yaml::Null) => Ok(None),
            Some(Yaml::Mapping(m)) => Ok(Some(m)),
            Some(other) => Err(self.err(key, format!("expected a mapping, found {}", kind(other)))),
        }
    }

    /// The entries of a mapping whose keys are names (strings).
    pub(super) fn entries<'v>(
        &self,
        m: &'v Mapping,
        key: &KeyPath,
    ) -> Result<Vec<(String, &'v Yaml)>> {
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

    /// The entries of a mapping of named sections (resources, containers, config options,
    /// actions), each a mapping (a null one is empty), each read by `read` with its name and
    /// key path.
    pub(super) fn sections<T>(
        &self,
        m: &Mapping,
        key: &KeyPath,
        mut read: impl FnMut(&str, &KeyPath, &Mapping) -> Result<T>,
    ) -> Result<BTreeMap<String, T>> {
        let empty = Mapping::new();
        let mut out = BTreeMap::new();
        for (name, body) in self.entries(m, key)? {
            let key = key.child(&name);
            let body = self.mapping(Some(body), &key)?.unwrap_or(&empty);
            let value = read(&name, &key, body)?;
            out.insert(name, value);
        }
        Ok(out)
    }

    pub(super) fn string(&self, m: &Mapping, field: &str, key: &KeyPath) -> Result<Option<String>> {
        match m.get(field).map(untag) {
            None | Some(Yaml::Null) => Ok(None),
            Some(Yaml::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(
                &key.child(field),
                format!("expected a string, found {}", kind(other)),
            )),
        }
    }

    pub(super) fn boolean(&self, m: &Mapping, field: &str, key: &KeyPath) -> Result<Option<bool>> {
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

    pub(super) fn u32(&self, m: &Mapping, field: &str, key: &KeyPath) -> Result<Option<u32>> {
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
pub(super) fn as_bool(v: &Yaml) -> Option<bool> {
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

/// The keys of the mapping at `key` (bodies are not interpreted).
pub(super) fn names(ctx: Ctx<'_>, v: Option<&Yaml>, key: &KeyPath) -> Result<Vec<String>> {
    match ctx.mapping(v, key)? {
        None => Ok(Vec::new()),
        Some(m) => Ok(ctx.entries(m, key)?.into_iter().map(|(k, _)| k).collect()),
    }
}

/// YAML to JSON, for JSON-schema fragments. Scalar mapping keys become strings.
pub(super) fn to_json(ctx: Ctx<'_>, v: &Yaml, key: &KeyPath) -> Result<Json> {
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
    use super::super::tests::{md, meta_err};

    #[test]
    fn strip_location_strips_the_problem_location_only() {
        let (_, _, _, message) = meta_err(md("name: x\nrequires:\n  a: [b\n"));
        assert_eq!(
            message,
            "invalid YAML: did not find expected ',' or ']', while parsing a flow sequence at line 3 column 6"
        );
    }
}
