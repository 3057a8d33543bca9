//! Config options (`config.yaml`'s `options`, or `charmcraft.yaml`'s `config.options`): their
//! types and defaults, checked as Juju checks them at deploy time.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use serde_norway::Value as Yaml;

use super::yaml::{as_bool, kind, untag, Ctx, KeyPath};
use super::{ConfigOption, ConfigType};
use crate::error::Result;

pub(super) fn parse_options(
    ctx: Ctx<'_>,
    v: Option<&Yaml>,
    key: &KeyPath,
) -> Result<BTreeMap<String, ConfigOption>> {
    let Some(m) = ctx.mapping(v, key)? else {
        return Ok(BTreeMap::new());
    };
    ctx.sections(m, key, |_, key, b| {
        let kind = match ctx.string(b, "type", key)?.as_deref() {
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
        let description = ctx.string(b, "description", key)?.unwrap_or_default();
        Ok(ConfigOption {
            kind,
            default,
            description,
        })
    })
}

/// A default, checked against the option's type as Juju does at deploy time.
pub(super) fn default_value(
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
