//! The fake secret tools: `secret-add`, `secret-set`, `secret-get`, `secret-info-get`,
//! `secret-remove`, `secret-grant`, `secret-revoke`, `secret-ids`, as juju's `secret-*.go`
//! commands, `core/secrets` (`ParseURI`, `CreateSecretData`) and the uniter's hook context
//! answer them.
//!
//! Where Juju accepts a change during the hook and fails the hook when committing it (a unit
//! updating a secret it does not own), the fake refuses the call at once.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{json, Value};

use super::jujuc::{
    check_empty, go_quote, parse, parse_plain, parse_secret_uri, read_settings, write, Fail,
    Format, Out, Parsed, Takes, NOT_LEADER, OUTPUT,
};
use super::relation::go_error;
use super::{FakeJuju, Secret, SecretGrant, State};
use crate::hookcmd::{valid_secret_key, SecretOwner, ToolCall};
use crate::pebble::godur;

/// The flags of secret-add and secret-set (`secretUpsertCommand.SetFlags`).
const UPSERT: [(&str, Takes); 6] = [
    ("expire", Takes::Value),
    ("rotate", Takes::Value),
    ("description", Takes::Value),
    ("label", Takes::Value),
    ("file", Takes::Value),
    ("owner", Takes::Value),
];

/// An RFC 3339 time, or one without a zone (`2006-01-02T15:04:05`), as `secret-add` takes.
fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && s[..19]
            .bytes()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16) || c.is_ascii_digit())
}

/// `secretUpsertCommand.Init`: the flags' values and the content (`CreateSecretData` of the
/// arguments, then `--file`), values decoded.
fn upsert_init(p: &Parsed, args: &[String]) -> Result<BTreeMap<String, String>, Fail> {
    if let Some(e) = p.get("expire") {
        if !looks_like_time(e) {
            // time.ParseDuration, then `d <= 0` is refused.
            let magnitude = godur::parse(e.strip_prefix('-').unwrap_or(e)).map_err(|_| {
                Fail::usage(format_args!(
                    "expire time or duration {} not valid",
                    go_quote(e)
                ))
            })?;
            if e.starts_with('-') || magnitude.is_zero() {
                return Err(Fail::usage(format_args!(
                    "negative expire duration {} not valid",
                    go_quote(e)
                )));
            }
        }
    }
    if let Some(r) = p.get("rotate").filter(|r| !r.is_empty()) {
        if !matches!(
            r,
            "never" | "hourly" | "daily" | "weekly" | "monthly" | "quarterly" | "yearly"
        ) {
            return Err(Fail::usage(format_args!(
                "rotate policy {} not valid",
                go_quote(r)
            )));
        }
    }
    if let Some(o) = p.get("owner") {
        if o != "application" && o != "unit" {
            return Err(Fail::usage(format_args!(
                "secret owner {} not valid",
                go_quote(o)
            )));
        }
    }
    let mut raw = BTreeMap::new();
    for val in args {
        // Base64 padding is stripped before looking for the `=`.
        let stripped = val.trim_end_matches('=');
        let idx = stripped
            .find('=')
            .filter(|i| *i >= 1)
            .ok_or_else(|| Fail::usage(format_args!("key value {} not valid", go_quote(val))))?;
        let (key, value) = (&val[..idx], &val[idx + 1..]);
        match key.strip_suffix("#file") {
            Some(key) => {
                let content = std::fs::read(value).map_err(|e| {
                    Fail::usage(format_args!(
                        "reading content for secret key {}: open {value}: {}",
                        go_quote(key),
                        go_error(&e)
                    ))
                })?;
                raw.insert(
                    key.to_string(),
                    String::from_utf8_lossy(&content).into_owned(),
                );
            }
            None => {
                raw.insert(key.to_string(), value.to_string());
            }
        }
    }
    if let Some(file) = p.get("file") {
        let data = std::fs::read(file)
            .map_err(|e| Fail::usage(format_args!("open {file}: {}", go_error(&e))))?;
        raw.extend(
            read_settings(&data).map_err(|f| Fail::usage(f.stderr.trim_start_matches("ERROR ")))?,
        );
    }
    // encodeBase64: `#base64` values are already encoded; every key must match the rule.
    let mut content = BTreeMap::new();
    for (key, value) in raw {
        let (key, value) = match key.strip_suffix("#base64") {
            Some(k) => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(value.as_bytes())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or(value);
                (k.to_string(), decoded)
            }
            None => (key, value),
        };
        if !valid_secret_key(&key) {
            return Err(Fail::usage(format_args!(
                "key {} not valid",
                go_quote(&key)
            )));
        }
        content.insert(key, value);
    }
    Ok(content)
}

/// The `<ID>` argument and `--label` of secret-get and secret-info-get (`Init`): the bare id
/// (`secret URI "x" not valid` otherwise), the label, at least one of them.
fn id_or_label<'p>(
    p: &'p Parsed,
    arg: Option<&String>,
) -> Result<(Option<String>, Option<&'p str>), Fail> {
    let id = match arg {
        Some(a) => Some(
            parse_secret_uri(a)
                .map_err(|_| Fail::usage(format_args!("secret URI {} not valid", go_quote(a))))?,
        ),
        None => None,
    };
    let label = p.get("label").filter(|l| !l.is_empty());
    if id.is_none() && label.is_none() {
        return Err(Fail::usage("require either a secret URI or label"));
    }
    Ok((id, label))
}

/// The index of the secret with bare id `id`.
fn by_id(st: &State, id: &str) -> Option<usize> {
    st.secrets
        .iter()
        .position(|s| super::bare_secret_id(&s.id) == id)
}

fn not_found(what: &str) -> Fail {
    Fail::run(format_args!("secret {} not found", go_quote(what)))
}

/// The leader check the uniter makes for application-owned secrets. A secret this unit does
/// not own: Juju accepts the change during the hook and the controller refuses it when the hook
/// commits; the fake refuses at once, with the controller's words.
fn check_manage(st: &State, s: &Secret) -> Result<(), Fail> {
    match s.owner {
        Some(SecretOwner::Application) if !st.leader => Err(Fail::run(NOT_LEADER)),
        Some(_) => Ok(()),
        None => Err(Fail::run("permission denied")),
    }
}

impl FakeJuju {
    pub(super) fn secret_add(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &UPSERT)?;
        if p.args.is_empty() && p.get("file").is_none() {
            return Err(Fail::usage("missing secret value or filename"));
        }
        let content = upsert_init(&p, &p.args)?;
        let owner = match p.get("owner") {
            Some("unit") => SecretOwner::Unit,
            _ => SecretOwner::Application,
        };
        let mut st = self.state.borrow_mut();
        if owner == SecretOwner::Application && !st.leader {
            return Err(Fail::run(NOT_LEADER));
        }
        if content.is_empty() {
            return Err(Fail::run("empty secret value not valid"));
        }
        if let Some(label) = p.get("label") {
            if st
                .secrets
                .iter()
                .any(|s| s.owner.is_some() && s.label.as_deref() == Some(label))
            {
                return Err(Fail::run(format_args!(
                    "secret with label {} already exists",
                    go_quote(label)
                )));
            }
        }
        let id = loop {
            let n = self.secret_seq.get() + 1;
            self.secret_seq.set(n);
            // An xid-shaped id: 20 characters of 0-9a-v, the last one `0`.
            let id = format!("cfake{n:014}0");
            if by_id(&st, &id).is_none() {
                break id;
            }
        };
        // CreateSecretURIs: Juju 3.6 gives new secrets the model as their source.
        let uri = if st.model_uuid.is_empty() {
            format!("secret:{id}")
        } else {
            format!("secret://{}/{id}", st.model_uuid)
        };
        st.secrets.push(Secret {
            id: uri.clone(),
            label: p.get("label").map(str::to_string),
            description: p.get("description").map(str::to_string),
            owner: Some(owner),
            revision: 1,
            content,
            expire: p.get("expire").map(str::to_string),
            rotate: p.get("rotate").map(str::to_string),
            ..Secret::default()
        });
        Ok(format!("{uri}\n").into_bytes())
    }

    pub(super) fn secret_set(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &UPSERT)?;
        let Some((uri, rest)) = p.args.split_first() else {
            return Err(Fail::usage("missing secret URI"));
        };
        let id = parse_secret_uri(uri).map_err(Fail::usage)?;
        let content = upsert_init(&p, rest)?;
        let mut st = self.state.borrow_mut();
        let idx = by_id(&st, &id).ok_or_else(|| not_found(&id))?;
        check_manage(&st, &st.secrets[idx])?;
        let s = &mut st.secrets[idx];
        // A new revision only when the content changes (Juju compares checksums).
        if !content.is_empty() && content != s.content {
            s.revision += 1;
            s.content = content;
        }
        let set = |field: &mut Option<String>, flag: &str| {
            if let Some(v) = p.get(flag) {
                *field = Some(v.to_string());
            }
        };
        set(&mut s.label, "label");
        set(&mut s.description, "description");
        set(&mut s.expire, "expire");
        set(&mut s.rotate, "rotate");
        Ok(Vec::new())
    }

    pub(super) fn secret_get(&self, call: &ToolCall) -> Out {
        let p = parse_plain(
            &call.args,
            &[
                OUTPUT[0],
                OUTPUT[1],
                ("label", Takes::Value),
                ("peek", Takes::Bool),
                ("refresh", Takes::Bool),
            ],
        )?;
        let fmt = p.format_yaml_json()?;
        let mut args = p.args.iter();
        let (id, label) = id_or_label(&p, args.next())?;
        if p.has("peek") && p.has("refresh") {
            return Err(Fail::usage(
                "specify one of --peek or --refresh but not both",
            ));
        }
        let key = args.next().cloned();
        check_empty(&args.cloned().collect::<Vec<_>>())?;
        let mut st = self.state.borrow_mut();
        let idx = match (&id, label) {
            (Some(id), _) => by_id(&st, id).ok_or_else(|| not_found(id))?,
            (None, Some(l)) => st
                .secrets
                .iter()
                .position(|s| s.label.as_deref() == Some(l))
                .ok_or_else(|| not_found(l))?,
            (None, None) => unreachable!("checked above"),
        };
        let s = &mut st.secrets[idx];
        if let (Some(_), Some(l)) = (&id, label) {
            s.label = Some(l.to_string());
        }
        let content = if s.owner.is_some() || p.has("peek") {
            s.content.clone()
        } else if p.has("refresh") {
            s.tracked_content = None;
            s.content.clone()
        } else {
            s.tracked_content
                .clone()
                .unwrap_or_else(|| s.content.clone())
        };
        match key {
            None => Ok(write(fmt, &json!(content))),
            Some(k) => match k.strip_suffix("#base64") {
                Some(k) => match content.get(k) {
                    Some(v) => Ok(write(
                        fmt,
                        &json!(base64::engine::general_purpose::STANDARD.encode(v)),
                    )),
                    None => Err(Fail::run(format_args!(
                        "secret key {} not found",
                        go_quote(k)
                    ))),
                },
                None => match content.get(&k) {
                    Some(v) => Ok(write(fmt, &json!(v))),
                    None => Err(Fail::run(format_args!(
                        "secret key {} not found",
                        go_quote(&k)
                    ))),
                },
            },
        }
    }

    pub(super) fn secret_remove(&self, call: &ToolCall) -> Out {
        let p = parse(&call.args, &[("revision", Takes::Value)], &|_, v| {
            v.parse::<i64>()
                .map(drop)
                .map_err(|_| format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(v)))
        })?;
        let Some((uri, rest)) = p.args.split_first() else {
            return Err(Fail::usage("missing secret URI"));
        };
        let id = parse_secret_uri(uri).map_err(Fail::usage)?;
        check_empty(rest)?;
        let mut st = self.state.borrow_mut();
        let idx = by_id(&st, &id).ok_or_else(|| not_found(&id))?;
        check_manage(&st, &st.secrets[idx])?;
        match p
            .get("revision")
            .and_then(|r| r.parse::<u64>().ok())
            .filter(|r| *r > 0)
        {
            None => {
                st.secrets.remove(idx);
            }
            Some(rev) => {
                let s = &mut st.secrets[idx];
                if rev <= s.revision && !s.removed_revisions.contains(&rev) {
                    s.removed_revisions.push(rev);
                }
            }
        }
        Ok(Vec::new())
    }

    pub(super) fn secret_info_get(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[OUTPUT[0], OUTPUT[1], ("label", Takes::Value)])?;
        let fmt = p.format_yaml_json()?;
        let (id, label) = id_or_label(&p, p.args.first())?;
        if id.is_some() && label.is_some() {
            return Err(Fail::usage(
                "specify either a secret URI or label but not both",
            ));
        }
        if !p.args.is_empty() {
            check_empty(&p.args[1..])?;
        }
        let st = self.state.borrow();
        let owned = |s: &&Secret| s.owner.is_some();
        let found = match &id {
            Some(id) => st
                .secrets
                .iter()
                .filter(owned)
                .find(|s| super::bare_secret_id(&s.id) == id),
            None => st
                .secrets
                .iter()
                .filter(owned)
                .find(|s| s.label.as_deref() == label),
        };
        let Some(s) = found else {
            return Err(not_found(id.as_deref().or(label).unwrap_or_default()));
        };
        let owner = s.owner.map_or("application", SecretOwner::as_str);
        let mut info = json!({
            "revision": s.revision,
            "label": s.label.clone().unwrap_or_default(),
            "owner": owner,
        });
        for (k, v) in [
            ("description", &s.description),
            ("expiry", &s.expire),
            ("rotation", &s.rotate),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                info[k] = json!(v);
            }
        }
        if !s.grants.is_empty() {
            let access: Vec<Value> = s
                .grants
                .iter()
                .filter_map(|g| {
                    let rel = st.relation(g.relation_id)?;
                    let target = match &g.unit {
                        Some(u) => format!("unit-{}", u.replace('/', "-")),
                        None => format!("application-{}", rel.remote_app),
                    };
                    Some(json!({
                        "target": target,
                        "scope": format!("relation-{}", rel.id),
                        "role": "view",
                    }))
                })
                .collect();
            info["access"] = json!(access);
        }
        Ok(write(fmt, &json!({ super::bare_secret_id(&s.id): info })))
    }

    pub(super) fn secret_grant(&self, call: &ToolCall) -> Out {
        let p = self.parse_with_relation(
            &call.args,
            &[("unit", Takes::Value), ("r|relation", Takes::Value)],
        )?;
        let Some((uri, rest)) = p.args.split_first() else {
            return Err(Fail::usage("missing secret URI"));
        };
        let id = parse_secret_uri(uri).map_err(Fail::usage)?;
        let mut st = self.state.borrow_mut();
        let rel = self.hook_relation_index(&st, &p)?;
        let (relation_id, remote_app) =
            (st.relations[rel].id, st.relations[rel].remote_app.clone());
        let unit = p.get("unit").filter(|u| !u.is_empty()).map(str::to_string);
        if let Some(u) = &unit {
            if !super::jujuc::is_valid_unit(u) {
                return Err(Fail::usage(format_args!("unit {} not valid", go_quote(u))));
            }
            if crate::types::app_of(u) != Some(remote_app.as_str()) {
                return Err(Fail::usage(format_args!(
                    "cannot specify unit {} in relation to application {}",
                    go_quote(u),
                    go_quote(&remote_app)
                )));
            }
        }
        check_empty(rest)?;
        let idx = by_id(&st, &id)
            .filter(|i| st.secrets[*i].owner.is_some())
            .ok_or_else(|| not_found(&id))?;
        check_manage(&st, &st.secrets[idx])?;
        // GrantSecret: a grant to the application covers its units; unit grants must be
        // revoked before the application can be granted.
        let grants = &mut st.secrets[idx].grants;
        let same_scope = |g: &&SecretGrant| g.relation_id == relation_id;
        if grants.iter().filter(same_scope).any(|g| g.unit.is_none()) {
            return Ok(Vec::new());
        }
        match unit {
            None if grants.iter().filter(same_scope).any(|g| g.unit.is_some()) => Err(Fail::run(
                "any unit level grants need to be revoked before granting access to the \
                 corresponding application",
            )),
            unit => {
                let grant = SecretGrant { relation_id, unit };
                if !grants.contains(&grant) {
                    grants.push(grant);
                }
                Ok(Vec::new())
            }
        }
    }

    pub(super) fn secret_revoke(&self, call: &ToolCall) -> Out {
        let p = self.parse_with_relation(
            &call.args,
            &[
                ("app|application", Takes::Value),
                ("unit", Takes::Value),
                ("r|relation", Takes::Value),
            ],
        )?;
        let Some((uri, rest)) = p.args.split_first() else {
            return Err(Fail::usage("missing secret URI"));
        };
        let id = parse_secret_uri(uri).map_err(Fail::usage)?;
        let mut app = p.get("app").filter(|a| !a.is_empty()).map(str::to_string);
        let unit = p.get("unit").filter(|u| !u.is_empty()).map(str::to_string);
        if let Some(a) = &app {
            if !super::jujuc::is_valid_application(a) {
                return Err(Fail::usage(format_args!(
                    "application {} not valid",
                    go_quote(a)
                )));
            }
        }
        if let Some(u) = &unit {
            if !super::jujuc::is_valid_unit(u) {
                return Err(Fail::usage(format_args!("unit {} not valid", go_quote(u))));
            }
        }
        if app.is_some() && unit.is_some() {
            return Err(Fail::usage("specify only one of application or unit"));
        }
        let mut st = self.state.borrow_mut();
        // The relation is the one given, or else the hook's (relationIdValue's default): in a
        // relation hook `--app` is refused with it.
        let hook_relation = self.context.borrow().as_ref().and_then(|c| c.relation);
        if p.get("r").is_some() || hook_relation.is_some() {
            let rel = self.hook_relation_index(&st, &p)?;
            if app.is_some() {
                return Err(Fail::usage("do not specify both relation and app"));
            }
            app = Some(st.relations[rel].remote_app.clone());
        }
        if app.is_none() && unit.is_none() {
            return Err(Fail::usage("missing relation or application or unit"));
        }
        check_empty(rest)?;
        let Some(idx) = by_id(&st, &id) else {
            return Ok(Vec::new());
        };
        check_manage(&st, &st.secrets[idx])?;
        // The subject revoked is the application or the unit, in every relation.
        let remote_apps: Vec<Option<String>> = st.secrets[idx]
            .grants
            .iter()
            .map(|g| st.relation(g.relation_id).map(|r| r.remote_app.clone()))
            .collect();
        let mut remote_apps = remote_apps.into_iter();
        st.secrets[idx].grants.retain(|g| {
            let remote_app = remote_apps.next().flatten();
            match (&unit, &app) {
                (Some(u), _) => g.unit.as_deref() != Some(u.as_str()),
                (None, Some(a)) => g.unit.is_some() || remote_app.as_deref() != Some(a.as_str()),
                (None, None) => true,
            }
        });
        Ok(Vec::new())
    }

    pub(super) fn secret_ids(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &OUTPUT)?;
        let fmt = p.format(Format::Smart)?;
        check_empty(&p.args)?;
        let mut ids: Vec<String> = self
            .state
            .borrow()
            .secrets
            .iter()
            .filter(|s| s.owner.is_some())
            // SecretMetadata is keyed by the bare id.
            .map(|s| super::bare_secret_id(&s.id).to_string())
            .collect();
        ids.sort();
        Ok(write(fmt, &json!(ids)))
    }
}
