//! The fake relation tools: `relation-ids`, `relation-list`, `relation-get`, `relation-set`,
//! `relation-model-get`, as juju's `relation-*.go` commands and the uniter's hook context
//! answer them.

use serde_json::{json, Value};

use super::jujuc::{
    check_empty, go_quote, is_valid_application, is_valid_unit, key_values, parse, parse_plain,
    read_settings, write, Fail, Format, Out, Parsed, Takes, OUTPUT,
};
use super::{FakeJuju, State};
use crate::hookcmd::ToolCall;

/// The `-r`/`--relation` flag of the relation tools.
const RELATION: (&str, Takes) = ("r|relation", Takes::Value);

impl FakeJuju {
    /// `relationIdValue.Set`: the number after the last `:` (the endpoint part is not
    /// checked), and the relation must be known to the unit.
    pub(super) fn check_relation_flag(&self, value: &str) -> Result<(), String> {
        let num = value.rsplit(':').next().unwrap_or(value);
        let id: i64 = num.parse().map_err(|_| "invalid relation id".to_string())?;
        if self
            .state
            .borrow()
            .relations
            .iter()
            .any(|r| i64::from(r.id) == id)
        {
            Ok(())
        } else {
            Err("relation not found".into())
        }
    }

    /// Parses a command line whose `-r`/`--relation` names a relation of the unit.
    pub(super) fn parse_with_relation(
        &self,
        args: &[String],
        spec: &super::jujuc::Spec,
    ) -> Result<Parsed, Fail> {
        parse(args, spec, &|name, v| {
            if name == "r" {
                self.check_relation_flag(v)
            } else {
                Ok(())
            }
        })
    }

    pub(super) fn relation_ids(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &OUTPUT)?;
        let fmt = p.format(Format::Smart)?;
        let Some((endpoint, rest)) = p.args.split_first() else {
            return Err(Fail::usage("no endpoint name specified"));
        };
        check_empty(rest)?;
        let hidden = self.hidden.borrow();
        let mut ids: Vec<String> = self
            .state
            .borrow()
            .relations
            .iter()
            .filter(|r| &r.endpoint == endpoint && !hidden.contains(&r.id))
            .map(|r| r.relation_id().to_string())
            .collect();
        ids.sort();
        Ok(write(fmt, &json!(ids)))
    }

    /// The command line of relation-list and relation-get (`--format`, `-r`, `--app`), its
    /// output format and the relation's index.
    fn parse_list_get(&self, call: &ToolCall) -> Result<(Parsed, Format, usize), Fail> {
        let p = self.parse_with_relation(
            &call.args,
            &[OUTPUT[0], OUTPUT[1], RELATION, ("app", Takes::Bool)],
        )?;
        let fmt = p.format(Format::Smart)?;
        let idx = self.hook_relation_index(&self.state.borrow(), &p)?;
        Ok((p, fmt, idx))
    }

    pub(super) fn relation_list(&self, call: &ToolCall) -> Out {
        let (p, fmt, idx) = self.parse_list_get(call)?;
        let st = self.state.borrow();
        check_empty(&p.args)?;
        let rel = &st.relations[idx];
        if p.has("app") {
            Ok(write(fmt, &json!(rel.remote_app)))
        } else {
            Ok(write(
                fmt,
                &json!(rel.remote_units_data.keys().collect::<Vec<_>>()),
            ))
        }
    }

    pub(super) fn relation_get(&self, call: &ToolCall) -> Out {
        let (p, fmt, idx) = self.parse_list_get(call)?;
        let st = self.state.borrow();
        let mut args = p.args.iter();
        let key = match args.next().map(String::as_str) {
            None | Some("-") => None,
            Some(k) => Some(k.to_string()),
        };
        let mut app = p.has("app");
        let target = match args.next() {
            Some(t) if app => {
                if is_valid_application(t) {
                    t.clone()
                } else if is_valid_unit(t) {
                    crate::types::app_of(t).unwrap_or(t).to_string()
                } else {
                    t.clone()
                }
            }
            Some(t) => {
                if !is_valid_unit(t) {
                    return Err(Fail::usage(if is_valid_application(t) {
                        format!("expected unit name, got application name {}", go_quote(t))
                    } else {
                        format!("invalid unit name {}", go_quote(t))
                    }));
                }
                t.clone()
            }
            // relation-get.go: with --app the hook's remote application; without, its remote
            // unit, else its remote application (whose databag is then read).
            None => {
                let ctx = self.context.borrow();
                let (unit, remote_app) = ctx.as_ref().map_or((None, None), |c| {
                    (c.remote_unit.clone(), c.remote_app.clone())
                });
                match (app, unit, remote_app) {
                    (false, Some(unit), _) => unit,
                    (_, _, Some(remote_app)) => {
                        app = true;
                        remote_app
                    }
                    _ => return Err(Fail::usage("no unit or application specified")),
                }
            }
        };
        check_empty(&args.cloned().collect::<Vec<_>>())?;
        let rel = &st.relations[idx];
        let rid = rel.relation_id();
        let bag = if app {
            if target == st.app_name() {
                if !st.leader {
                    // Read from the controller, which refuses a non-leader its own app's bag.
                    return Err(Fail::run("permission denied"));
                }
                &rel.local_app_data
            } else if target == rel.remote_app {
                &rel.remote_app_data
            } else {
                return Err(Fail::run(format_args!(
                    "cannot read application settings for {} in relation {}: settings not found",
                    go_quote(&target),
                    go_quote(&rid.to_string())
                )));
            }
        } else if target == st.unit_name {
            &rel.local_unit_data
        } else if let Some(bag) = rel.remote_units_data.get(&target) {
            bag
        } else {
            return Err(Fail::run(format_args!(
                "cannot read settings for unit {t} in relation {r}: unit {t}: settings not found",
                t = go_quote(&target),
                r = go_quote(&rid.to_string())
            )));
        };
        Ok(match key {
            None => write(fmt, &json!(bag)),
            Some(k) => write(fmt, &bag.get(&k).map_or(Value::Null, |v| json!(v))),
        })
    }

    pub(super) fn relation_model_get(&self, call: &ToolCall) -> Out {
        let p = self.parse_with_relation(&call.args, &[OUTPUT[0], OUTPUT[1], RELATION])?;
        let fmt = p.format(Format::Smart)?;
        let st = self.state.borrow();
        let idx = self.hook_relation_index(&st, &p)?;
        check_empty(&p.args)?;
        let uuid = st.relations[idx]
            .remote_model_uuid
            .clone()
            .unwrap_or_else(|| st.model_uuid.clone());
        Ok(write(fmt, &json!({ "uuid": uuid })))
    }

    pub(super) fn relation_set(&self, call: &ToolCall) -> Out {
        let p = self.parse_with_relation(
            &call.args,
            &[
                RELATION,
                ("file", Takes::Value),
                ("app", Takes::Bool),
                ("format", Takes::Value),
            ],
        )?;
        {
            let st = self.state.borrow();
            self.hook_relation_index(&st, &p)?;
        }
        let overrides = key_values(&p.args)?;
        let mut data = self.settings_file(call, &p)?;
        data.extend(overrides);
        let mut st = self.state.borrow_mut();
        let idx = self.hook_relation_index(&st, &p)?;
        let app = p.has("app");
        if app && !st.leader {
            // relation-set.go: a non-leader cannot write the application's settings.
            return Err(Fail::run("cannot write relation settings"));
        }
        let rel = &mut st.relations[idx];
        let bag = if app {
            &mut rel.local_app_data
        } else {
            &mut rel.local_unit_data
        };
        for (k, v) in data {
            if v.is_empty() {
                bag.remove(&k);
            } else {
                bag.insert(k, v);
            }
        }
        Ok(Vec::new())
    }

    /// The `--file` of relation-set/state-set (`cmd.FileVar` with stdin as `-`): a YAML map.
    pub(super) fn settings_file(
        &self,
        call: &ToolCall,
        p: &Parsed,
    ) -> Result<std::collections::BTreeMap<String, String>, Fail> {
        match p.get("file") {
            None => Ok(Default::default()),
            Some("-") => read_settings(call.stdin.as_deref().unwrap_or_default()),
            Some(path) => {
                let data = std::fs::read(path)
                    .map_err(|e| Fail::run(format_args!("open {path}: {}", go_error(&e))))?;
                read_settings(&data)
            }
        }
    }
}

/// A Go-style OS error text (`no such file or directory`).
pub(super) fn go_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

impl FakeJuju {
    /// The index of the relation given with `-r`, or else of the hook's relation
    /// (`relationIdValue`'s default), as relation-get, -list, -set, -model-get and
    /// secret-grant take it.
    pub(super) fn hook_relation_index(&self, st: &State, p: &Parsed) -> Result<usize, Fail> {
        if p.get("r").is_none() {
            let hook = self.context.borrow().as_ref().and_then(|c| c.relation);
            if let Some(i) = hook.and_then(|id| st.relations.iter().position(|r| r.id == id)) {
                return Ok(i);
            }
        }
        relation_index(st, p)
    }
}

/// The index of the relation given with `-r` (already checked to exist by the flag).
pub(super) fn relation_index(st: &State, p: &Parsed) -> Result<usize, Fail> {
    let Some(raw) = p.get("r") else {
        return Err(Fail::usage("no relation id specified"));
    };
    let num = raw.rsplit(':').next().unwrap_or(raw);
    let id: i64 = num
        .parse()
        .map_err(|_| Fail::usage("invalid relation id"))?;
    st.relations
        .iter()
        .position(|r| i64::from(r.id) == id)
        .ok_or_else(|| {
            Fail::usage(format_args!(
                "invalid value {} for flag {}: relation not found",
                go_quote(raw),
                p.spelled("r")
            ))
        })
}
