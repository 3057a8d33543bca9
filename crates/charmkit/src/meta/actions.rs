//! Actions (`actions.yaml`, or `charmcraft.yaml`'s `actions`): description, parameters (JSON
//! schema fragments) and which are required.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use serde_norway::{Mapping, Value as Yaml};

use super::yaml::{kind, to_json, untag, Ctx, KeyPath};
use super::ActionMeta;
use crate::error::Result;

pub(super) fn parse_actions(
    ctx: Ctx<'_>,
    m: &Mapping,
    key: &KeyPath,
) -> Result<BTreeMap<String, ActionMeta>> {
    ctx.sections(m, key, |_, key, b| {
        let mut action = ActionMeta {
            description: ctx.string(b, "description", key)?.unwrap_or_default(),
            params: BTreeMap::new(),
            required: Vec::new(),
        };
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
        Ok(action)
    })
}
