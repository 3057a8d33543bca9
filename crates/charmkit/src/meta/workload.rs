//! What the workload needs from Juju: `containers` (their resource and mounts), `resources`
//! (files and OCI images) and `assumes`.

use std::collections::BTreeMap;

use serde_norway::Value as Yaml;

use super::yaml::{kind, untag, Ctx, KeyPath};
use super::{Assumption, ContainerMeta, Metadata, Mount, ResourceMeta, ResourceType};
use crate::error::Result;

/// `resources`: `type` is `file` (the default) or `oci-image`; a `file` needs a `filename`.
pub(super) fn parse_resources(
    ctx: Ctx<'_>,
    v: Option<&Yaml>,
) -> Result<BTreeMap<String, ResourceMeta>> {
    let key = KeyPath::root("resources");
    let Some(m) = ctx.mapping(v, &key)? else {
        return Ok(BTreeMap::new());
    };
    ctx.sections(m, &key, |name, key, b| {
        let kind = match ctx.string(b, "type", key)?.as_deref() {
            None | Some("file") => ResourceType::File,
            Some("oci-image") => ResourceType::OciImage,
            Some(other) => {
                return Err(ctx.err(
                    &key.child("type"),
                    format!("expected `file` or `oci-image`, found {other:?}"),
                ))
            }
        };
        let filename = ctx.string(b, "filename", key)?;
        if kind == ResourceType::File && filename.is_none() {
            return Err(ctx.err(key, "a `file` resource needs a `filename`"));
        }
        Ok(ResourceMeta {
            name: name.to_owned(),
            kind,
            filename,
            description: ctx.string(b, "description", key)?.unwrap_or_default(),
            upstream_source: ctx.string(b, "upstream-source", key)?,
        })
    })
}

/// `containers`: each names an `oci-image` resource it runs (or `bases`, not interpreted) and
/// may mount declared storage, as Juju checks at deploy time.
pub(super) fn parse_containers(
    ctx: Ctx<'_>,
    v: Option<&Yaml>,
    meta: &Metadata,
) -> Result<BTreeMap<String, ContainerMeta>> {
    let key = KeyPath::root("containers");
    let Some(m) = ctx.mapping(v, &key)? else {
        return Ok(BTreeMap::new());
    };
    ctx.sections(m, &key, |name, key, b| {
        let resource = ctx.string(b, "resource", key)?;
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
        Ok(ContainerMeta {
            name: name.to_owned(),
            resource,
            mounts,
        })
    })
}

/// `assumes`: a list of feature expressions and `any-of` / `all-of` blocks, nested at will.
pub(super) fn parse_assumptions(ctx: Ctx<'_>, v: &Yaml, key: &KeyPath) -> Result<Vec<Assumption>> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::{md, meta_err};
    use super::super::*;

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
}
