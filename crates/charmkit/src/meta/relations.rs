//! `requires`, `provides` and `peers`: the relation endpoints, in the long or the short form.

use std::collections::BTreeMap;

use serde_norway::Value as Yaml;

use super::yaml::{kind, Ctx, KeyPath};
use super::{RelationMeta, Role};
use crate::error::Result;

pub(super) fn parse_relations(
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

#[cfg(test)]
mod tests {
    use super::super::tests::{md, meta_err};

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
}
