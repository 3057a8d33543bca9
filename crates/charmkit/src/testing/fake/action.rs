//! The fake action tools: `action-get`, `action-set`, `action-log`, `action-fail`, as juju's
//! `action-*.go` commands answer them.

use serde_json::{json, Value};

use super::jujuc::{check_empty, go_quote, parse_plain, write, Fail, Format, Out, OUTPUT};
use super::FakeJuju;
use crate::hookcmd::{valid_result_key_part, ToolCall, RESERVED_RESULT_KEYS};

impl FakeJuju {
    /// The action tools outside an action: `not running an action`, from the hook context
    /// (checked when the command runs, after its command line parsed).
    fn in_action(&self) -> Result<(), Fail> {
        match &*self.context.borrow() {
            Some(ctx) if !ctx.action => Err(Fail::run("not running an action")),
            _ => Ok(()),
        }
    }

    pub(super) fn action_get(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &OUTPUT)?;
        let fmt = p.format(Format::Smart)?;
        if let Some((_, rest)) = p.args.split_first() {
            check_empty(rest)?;
        }
        self.in_action()?;
        let st = self.state.borrow();
        match p.args.first() {
            None => Ok(write(fmt, &json!(st.action_params))),
            Some(key) => {
                // recurseMapOnKeys: a missing key at any depth prints nothing (null).
                let mut parts = key.split('.');
                let first = parts.next().and_then(|k| st.action_params.get(k));
                let v = parts.fold(first, |v, k| v.and_then(|v| v.as_object()?.get(k)));
                Ok(write(fmt, v.unwrap_or(&Value::Null)))
            }
        }
    }

    pub(super) fn action_set(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[])?;
        let mut results = Vec::new();
        for arg in &p.args {
            let Some((key, value)) = arg.split_once('=') else {
                return Err(Fail::usage(format_args!(
                    "argument {} must be of the form key...=value",
                    go_quote(arg)
                )));
            };
            for part in key.split('.') {
                if !valid_result_key_part(part) {
                    return Err(Fail::usage(format_args!(
                        "key {} must start and end with lowercase alphanumeric, and contain only \
                         lowercase alphanumeric, hyphens and periods",
                        go_quote(part)
                    )));
                }
                if RESERVED_RESULT_KEYS.contains(&part) {
                    return Err(Fail::usage(format_args!(
                        "cannot set reserved action key \"{part}\""
                    )));
                }
            }
            results.push((key.to_string(), value.to_string()));
        }
        self.in_action()?;
        self.state.borrow_mut().action_results.extend(results);
        Ok(Vec::new())
    }

    pub(super) fn action_log(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[])?;
        if p.args.is_empty() {
            return Err(Fail::usage("no message specified"));
        }
        self.in_action()?;
        self.state.borrow_mut().action_logs.push(p.args.join(" "));
        Ok(Vec::new())
    }

    pub(super) fn action_fail(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[])?;
        let message = match p.args.split_first() {
            None => "action failed without reason given, check action for errors".to_string(),
            Some((m, rest)) => {
                check_empty(rest)?;
                m.clone()
            }
        };
        self.in_action()?;
        self.state.borrow_mut().action_failed = Some(message);
        Ok(Vec::new())
    }
}
