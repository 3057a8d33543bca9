//! Relations as objects: [`Relation`] (units, remote application, databags) and
//! [`RelationData`] (one databag: plain strings, or typed with `load`/`save`).

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Bag, Databag, Model};
use crate::error::{Error, Result};
use crate::types::RelationId;

/// One relation of this unit, with what Juju says about it. Reads are cached per dispatch.
#[derive(Clone)]
pub struct Relation<'a> {
    model: &'a Model,
    id: RelationId,
    app: Option<String>,
}

impl std::fmt::Debug for Relation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Relation({})", self.id)
    }
}

impl<'a> Relation<'a> {
    pub(crate) fn new(model: &'a Model, id: RelationId, app: Option<String>) -> Self {
        Relation { model, id, app }
    }

    /// The relation's id (endpoint and number).
    pub fn id(&self) -> &RelationId {
        &self.id
    }

    /// The local endpoint's name.
    pub fn endpoint(&self) -> &str {
        &self.id.endpoint
    }

    /// The remote application (for a peer relation, this application), if Juju knows it yet.
    pub fn app(&self) -> Result<Option<String>> {
        match &self.app {
            Some(a) => Ok(Some(a.clone())),
            None => self.model.relation_remote_app(&self.id),
        }
    }

    /// The remote units in the relation (for a peer relation, the other units of this
    /// application).
    pub fn units(&self) -> Result<Rc<Vec<String>>> {
        self.model.relation_units(&self.id)
    }

    /// This application's databag (reading or writing it needs leadership).
    pub fn local_app_data(&self) -> RelationData<'a> {
        self.bag(Bag::App(self.model.app_name().to_string()))
    }

    /// This unit's databag.
    pub fn local_unit_data(&self) -> RelationData<'a> {
        self.bag(Bag::Unit(self.model.unit_name().to_string()))
    }

    /// The remote application's databag; an [`Error::Usage`] if the relation has no remote
    /// application yet.
    pub fn remote_app_data(&self) -> Result<RelationData<'a>> {
        let app = self.app()?.ok_or_else(|| {
            Error::Usage(format!(
                "relation {} has no remote application yet",
                self.id
            ))
        })?;
        Ok(self.bag(Bag::App(app)))
    }

    /// The databag of `unit` (a remote unit, or this one).
    pub fn unit_data(&self, unit: &str) -> RelationData<'a> {
        self.bag(Bag::Unit(unit.to_string()))
    }

    fn bag(&self, bag: Bag) -> RelationData<'a> {
        RelationData {
            model: self.model,
            id: self.id.clone(),
            bag,
        }
    }
}

/// One databag of a relation: string keys to string values. Ours (this unit's, and this
/// application's as leader) can be written; writes are merged into Juju's copy when the hook
/// succeeds, and read back at once within the dispatch.
///
/// # The JSON-in-string convention
///
/// Relation databags hold strings. Interfaces written with ops put a JSON-encoded value in each
/// key (`receivers` = `["otlp_http"]`, `port` = `5432`, `host` = `"db.local"`); ops'
/// `Relation.save` and `Relation.load` encode and decode each field that way. So do
/// [`save`](RelationData::save) and [`load`](RelationData::load): `save(&T)` writes each field of `T` as a
/// key whose value is the field's JSON text — byte for byte what Python's `json.dumps` writes,
/// so a Python reader comparing strings sees the same — and `load::<T>()` decodes each value as
/// JSON into the field of that name. Where we differ from ops, on purpose: a value that is not
/// JSON (Juju's own `private-address`, or an interface that writes bare strings) is taken as
/// the string itself rather than failing the whole load, and a mismatch is an
/// [`Error::RelationData`] naming the key. Keys absent from the bag are absent from the
/// decoded map: give such fields `#[serde(default)]` or make them `Option`s.
#[derive(Clone)]
pub struct RelationData<'a> {
    model: &'a Model,
    id: RelationId,
    bag: Bag,
}

impl std::fmt::Debug for RelationData<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RelationData({}, {})", self.id, self.owner())
    }
}

impl RelationData<'_> {
    /// Whose databag: an application or unit name.
    pub fn owner(&self) -> &str {
        match &self.bag {
            Bag::App(a) => a,
            Bag::Unit(u) => u,
        }
    }

    /// Every key and value.
    pub fn to_map(&self) -> Result<Rc<Databag>> {
        self.model.data(&self.id, self.bag.clone())
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.to_map()?.get(key).cloned())
    }

    /// Sets `key` to `value` (an empty value removes the key, as Juju does).
    pub fn set(&self, key: &str, value: &str) -> Result<()> {
        self.update(&BTreeMap::from([(key.to_string(), value.to_string())]))
    }

    /// Removes `key`.
    pub fn remove(&self, key: &str) -> Result<()> {
        self.set(key, "")
    }

    /// Merges `changes` into the databag; an empty value removes its key.
    pub fn update(&self, changes: &Databag) -> Result<()> {
        match &self.bag {
            Bag::App(a) if a == self.model.app_name() => self.model.set_app_data(&self.id, changes),
            Bag::Unit(u) if u == self.model.unit_name() => {
                self.model.set_unit_data(&self.id, changes)
            }
            _ => Err(Error::Usage(format!(
                "relation {}: the databag of {} belongs to the other side; only this unit's \
                 and (as leader) this application's can be written",
                self.id,
                self.owner()
            ))),
        }
    }

    /// The databag decoded as `T`, each value read as JSON (see [`RelationData`]).
    pub fn load<T: DeserializeOwned>(&self) -> Result<T> {
        let map = self.to_map()?;
        let object = map
            .iter()
            .map(|(k, v)| {
                let value = serde_json::from_str(v)
                    .unwrap_or_else(|_| serde_json::Value::String(v.clone()));
                (k.clone(), value)
            })
            .collect();
        crate::error::decode(serde_json::Value::Object(object)).map_err(|(path, e)| {
            Error::RelationData {
                relation: self.id.to_string(),
                bag: self.owner().to_string(),
                key: (!path.is_empty()).then_some(path),
                message: e.to_string(),
            }
        })
    }

    /// Writes each field of `value` as a key whose value is the field's JSON text, as ops'
    /// `Relation.save` does (keys not in `value` are left as they are). `value` must serialize
    /// to a map (a struct, a map, a `json!({…})`).
    pub fn save<T: Serialize>(&self, value: &T) -> Result<()> {
        let err = |key: Option<String>, message: String| Error::RelationData {
            relation: self.id.to_string(),
            bag: self.owner().to_string(),
            key,
            message,
        };
        let encoded = serde_json::to_value(value).map_err(|e| err(None, e.to_string()))?;
        let serde_json::Value::Object(fields) = encoded else {
            return Err(err(
                None,
                format!("save() takes a value that is a map of fields, not {encoded}"),
            ));
        };
        let mut changes = Databag::new();
        for (k, v) in fields {
            changes.insert(k, py_json(&v));
        }
        self.update(&changes)
    }
}

/// `value` as Python's `json.dumps` writes it by default: `", "` and `": "` separators, every
/// non-ASCII character escaped as `\uXXXX`.
pub(crate) fn py_json(value: &serde_json::Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter);
    // Serializing a Value into a Vec cannot fail.
    let _ = value.serialize(&mut ser);
    String::from_utf8(out).unwrap_or_default()
}

/// Python's item separator, `", "`, before every item but the first.
fn separator<W: ?Sized + std::io::Write>(writer: &mut W, first: bool) -> std::io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

/// A `serde_json` formatter with Python's default separators and `ensure_ascii`.
struct PyFormatter;

impl serde_json::ser::Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        separator(writer, first)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn py_json_writes_what_python_json_dumps_writes() {
        // json.dumps(["otlp_http"]), json.dumps({"a": 1, "b": [1, 2]}), json.dumps("héllo"),
        // json.dumps(None), json.dumps(1.5), json.dumps("a\"b\n"), json.dumps("😀")
        assert_eq!(py_json(&json!(["otlp_http"])), r#"["otlp_http"]"#);
        assert_eq!(
            py_json(&json!({"a": 1, "b": [1, 2]})),
            r#"{"a": 1, "b": [1, 2]}"#
        );
        assert_eq!(py_json(&json!("héllo")), r#""h\u00e9llo""#);
        assert_eq!(py_json(&json!(null)), "null");
        assert_eq!(py_json(&json!(1.5)), "1.5");
        assert_eq!(py_json(&json!("a\"b\n")), r#""a\"b\n""#);
        assert_eq!(py_json(&json!("😀")), r#""\ud83d\ude00""#);
    }
}
