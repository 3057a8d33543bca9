//! The fake storage and resource tools: `storage-list`, `storage-get`, `storage-add`,
//! `resource-get`, as juju's `storage-list.go`, `storage-get.go`, `storage-add.go` and
//! `resource-get.go` answer them.

use serde_json::json;

use super::jujuc::{
    check_empty, go_quote, parse, parse_plain, write, Fail, Format, Out, Takes, OUTPUT,
};
use super::FakeJuju;
use crate::hookcmd::ToolCall;

/// `names.IsValidStorage`: `<name>/<number>`, the name as a charm storage name.
fn is_valid_storage_id(id: &str) -> bool {
    match id.rsplit_once('/') {
        Some((name, n)) => {
            name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !name.ends_with('-')
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

impl FakeJuju {
    pub(super) fn storage_list(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &OUTPUT)?;
        let fmt = p.format(Format::Smart)?;
        let name = p.args.first();
        if !p.args.is_empty() {
            check_empty(&p.args[1..])?;
        }
        let st = self.state.borrow();
        let ids: Vec<&str> = st
            .storages
            .iter()
            .map(|s| s.id.as_str())
            .filter(|id| {
                name.is_none_or(|n| id.rsplit_once('/').map(|(s, _)| s) == Some(n.as_str()))
            })
            .collect();
        Ok(write(fmt, &json!(ids)))
    }

    pub(super) fn storage_get(&self, call: &ToolCall) -> Out {
        let p = parse(
            &call.args,
            &[OUTPUT[0], OUTPUT[1], ("s", Takes::Value)],
            &|name, v| {
                if name != "s" {
                    return Ok(());
                }
                if !is_valid_storage_id(v) {
                    return Err(format!("invalid storage ID {}", go_quote(v)));
                }
                if self.state.borrow().storages.iter().any(|s| s.id == v) {
                    Ok(())
                } else {
                    Err(format!("storage {} not found", go_quote(v)))
                }
            },
        )?;
        let fmt = p.format(Format::Smart)?;
        // storage-get.go: -s defaults to the storage of a storage hook.
        let hook = self
            .context
            .borrow()
            .as_ref()
            .and_then(|c| c.storage.clone());
        let Some(id) = p.get("s").map(str::to_string).or(hook) else {
            return Err(Fail::usage("no storage instance specified"));
        };
        let key = p.args.first();
        if !p.args.is_empty() {
            check_empty(&p.args[1..])?;
        }
        let st = self.state.borrow();
        let storage = st
            .storages
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Fail::usage("no storage instance specified"))?;
        let attrs = json!({"kind": storage.kind, "location": storage.location});
        match key {
            None => Ok(write(fmt, &attrs)),
            Some(k) => match attrs.get(k) {
                Some(v) => Ok(write(fmt, v)),
                None => Err(Fail::run(format_args!(
                    "invalid storage attribute {}",
                    go_quote(k)
                ))),
            },
        }
    }

    pub(super) fn storage_add(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[])?;
        if p.args.is_empty() {
            return Err(Fail::usage("storage add requires a storage directive"));
        }
        // storage.ParseDirectivesMap: NAME[=COUNT]; storage-add takes a count only.
        let mut asked = Vec::new();
        for d in &p.args {
            let (name, count) = match d.split_once('=') {
                None => (d.as_str(), 1),
                Some((name, c)) => {
                    let count = c.parse::<u64>().map_err(|_| {
                        Fail::usage(format_args!(
                            "only count can be specified for {}",
                            go_quote(name)
                        ))
                    })?;
                    if count == 0 {
                        return Err(Fail::usage(format_args!(
                            "cannot parse storage directive {}: count must be greater than zero",
                            go_quote(d)
                        )));
                    }
                    (name, count)
                }
            };
            if !is_valid_storage_id(&format!("{name}/0")) {
                return Err(Fail::usage(format_args!(
                    "cannot parse storage directive {}: invalid storage name {}",
                    go_quote(d),
                    go_quote(name)
                )));
            }
            asked.push((name.to_string(), count));
        }
        let mut st = self.state.borrow_mut();
        for (name, count) in asked {
            *st.storage_added.entry(name).or_default() += count;
        }
        Ok(Vec::new())
    }

    pub(super) fn resource_get(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[])?;
        let Some((name, rest)) = p.args.split_first() else {
            return Err(Fail::usage("missing required resource name"));
        };
        check_empty(rest)?;
        let st = self.state.borrow();
        match st.resources.get(name) {
            // Printed with no newline.
            Some(path) => Ok(path.display().to_string().into_bytes()),
            None => Err(Fail::run(format_args!(
                "could not download resource: resource#{}/{name} not found",
                st.app_name()
            ))),
        }
    }
}
