//! The fake unit tools: `config-get`, `juju-log`, `state-get`, `state-set`, `state-delete`,
//! `credential-get`, `goal-state`, `juju-reboot`, as juju's commands of the same names answer
//! them.

use serde_json::{json, Value};

use super::jujuc::{
    check_empty, go_quote, key_values, parse_plain, write, Fail, Format, Out, Takes, OUTPUT,
};
use super::FakeJuju;
use crate::hookcmd::{LogLevel, ToolCall, MAX_STATE_KEY, MAX_STATE_VALUE};

impl FakeJuju {
    pub(super) fn config_get(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[OUTPUT[0], OUTPUT[1], ("a|all", Takes::Bool)])?;
        let fmt = p.format(Format::Smart)?;
        let key = p.args.first();
        if let Some(k) = key {
            if !k.is_empty() && p.has("a") {
                return Err(Fail::usage(format_args!(
                    "cannot use argument --all together with key {}",
                    go_quote(k)
                )));
            }
            check_empty(&p.args[1..])?;
        }
        let st = self.state.borrow();
        Ok(match key.filter(|k| !k.is_empty()) {
            Some(key) => write(fmt, st.config.get(key).unwrap_or(&Value::Null)),
            None if p.has("a") => write(fmt, &json!(st.config)),
            None => write(
                fmt,
                &json!(st
                    .config
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .collect::<std::collections::BTreeMap<_, _>>()),
            ),
        })
    }

    pub(super) fn juju_log(&self, call: &ToolCall) -> Out {
        let p = parse_plain(
            &call.args,
            &[
                ("debug", Takes::Bool),
                ("l|log-level", Takes::Value),
                ("format", Takes::Value),
            ],
        )?;
        if p.args.is_empty() {
            return Err(Fail::usage("no message specified"));
        }
        // loggo.ParseLevel; Juju logs an unknown level at INFO (with a warning), it does not fail.
        let level = if p.has("debug") {
            LogLevel::Debug
        } else {
            match p.get("l").map(str::to_ascii_uppercase).as_deref() {
                // The fake records four levels: TRACE shows as DEBUG, CRITICAL as ERROR.
                Some("TRACE" | "DEBUG") => LogLevel::Debug,
                Some("WARNING" | "WARN") => LogLevel::Warning,
                Some("ERROR" | "CRITICAL") => LogLevel::Error,
                _ => LogLevel::Info,
            }
        };
        self.logs.borrow_mut().push((level, p.args.join(" ")));
        Ok(Vec::new())
    }

    pub(super) fn state_get(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[OUTPUT[0], OUTPUT[1], ("strict", Takes::Bool)])?;
        let fmt = p.format(Format::Smart)?;
        let key = match p.args.first().map(String::as_str) {
            None | Some("-") => None,
            Some(k) => Some(k.to_string()),
        };
        if !p.args.is_empty() {
            check_empty(&p.args[1..])?;
        }
        let st = self.state.borrow();
        match key {
            // GetCharmState gives a nil map when there is no state: JSON `null`.
            None if st.juju_state.is_empty() && fmt == Format::Json => Ok(b"null\n".to_vec()),
            None => Ok(write(fmt, &json!(st.juju_state))),
            Some(k) => match st.juju_state.get(&k) {
                Some(v) => Ok(write(fmt, &json!(v))),
                // errors.NotFoundf("%q", key); without --strict the empty value is printed.
                None if p.has("strict") => {
                    Err(Fail::run(format_args!("{} not found", go_quote(&k))))
                }
                None => Ok(write(fmt, &json!(""))),
            },
        }
    }

    pub(super) fn state_set(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[("file", Takes::Value)])?;
        let overrides = key_values(&p.args)?;
        let mut data = self.settings_file(call, &p)?;
        data.extend(overrides);
        let mut st = self.state.borrow_mut();
        for (k, v) in data {
            // SetCharmStateValue: quota.CheckTupleSize, then store — an empty value included.
            if k.len() > MAX_STATE_KEY {
                return Err(Fail::run(format_args!(
                    "max allowed key length ({MAX_STATE_KEY}) exceeded"
                )));
            }
            if v.len() > MAX_STATE_VALUE {
                return Err(Fail::run(format_args!(
                    "max allowed value length ({MAX_STATE_VALUE}) exceeded"
                )));
            }
            st.juju_state.insert(k, v);
        }
        Ok(Vec::new())
    }

    pub(super) fn state_delete(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[])?;
        if let Some((key, rest)) = p.args.split_first() {
            check_empty(rest)?;
            self.state.borrow_mut().juju_state.remove(key);
        }
        Ok(Vec::new())
    }

    pub(super) fn credential_get(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &OUTPUT)?;
        let fmt = p.format(Format::Smart)?;
        check_empty(&p.args)?;
        match &self.state.borrow().credentials {
            Some(c) => Ok(write(fmt, c)),
            None => Err(Fail::run(
                "cannot access cloud credentials: permission denied",
            )),
        }
    }

    pub(super) fn goal_state(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &OUTPUT)?;
        let fmt = p.format_yaml_json()?;
        check_empty(&p.args)?;
        Ok(write(fmt, &self.state.borrow().goal_state))
    }

    pub(super) fn juju_reboot(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[("now", Takes::Bool)])?;
        check_empty(&p.args)?;
        if self.context.borrow().as_ref().is_some_and(|c| c.action) {
            return Err(Fail::run(
                "juju-reboot is not supported when running an action.",
            ));
        }
        self.state.borrow_mut().reboot_requested = true;
        Ok(Vec::new())
    }
}
