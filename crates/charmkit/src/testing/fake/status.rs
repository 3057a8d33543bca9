//! The fake status tools: `status-set`, `status-get`, `application-version-set`, as juju's
//! `status-set.go`, `status-get.go` and `application-version-set.go` answer them.

use serde_json::{json, Value};

use super::jujuc::{
    check_empty, go_quote, parse_plain, write, Fail, Format, Out, Takes, NOT_LEADER, OUTPUT,
};
use super::FakeJuju;
use crate::hookcmd::{Status, StatusName, ToolCall};

impl FakeJuju {
    pub(super) fn status_set(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[("application", Takes::Bool)])?;
        let Some(name) = p.args.first() else {
            return Err(Fail::usage("invalid args, require <status> [message]"));
        };
        let name = name
            .parse::<StatusName>()
            .ok()
            .filter(|n| n.settable())
            .ok_or_else(|| {
                Fail::usage(format_args!(
                    "invalid status {}, expected one of [maintenance blocked waiting active]",
                    go_quote(name)
                ))
            })?;
        if p.args.len() > 1 {
            check_empty(&p.args[2..])?;
        }
        let status = Status::new(name, p.args.get(1).cloned().unwrap_or_default());
        let mut st = self.state.borrow_mut();
        if p.has("application") {
            if !st.leader {
                return Err(Fail::run(NOT_LEADER));
            }
            st.app_status = status;
        } else {
            st.unit_status = status;
        }
        Ok(Vec::new())
    }

    pub(super) fn status_get(&self, call: &ToolCall) -> Out {
        let p = parse_plain(
            &call.args,
            &[
                OUTPUT[0],
                OUTPUT[1],
                ("include-data", Takes::Bool),
                ("application", Takes::Bool),
            ],
        )?;
        let fmt = p.format(Format::Smart)?;
        check_empty(&p.args)?;
        let st = self.state.borrow();
        let data = p.has("include-data");
        let details = |s: &Status| {
            let mut d = json!({"status": s.name.as_str()});
            if data {
                d["message"] = json!(s.message);
                d["status-data"] = json!({});
            }
            d
        };
        let only_name = !data && fmt == Format::Smart;
        if p.has("application") {
            if !st.leader {
                return Err(Fail::run(format_args!(
                    "finding application status: {NOT_LEADER}"
                )));
            }
            if only_name {
                return Ok(write(fmt, &json!(st.app_status.name.as_str())));
            }
            let mut app = details(&st.app_status);
            app["units"] = json!({ st.unit_name.clone(): details(&st.unit_status) });
            Ok(write(fmt, &json!({ "application-status": app })))
        } else if only_name {
            Ok(write(fmt, &json!(st.unit_status.name.as_str())))
        } else {
            Ok(write(fmt, &details(&st.unit_status)))
        }
    }

    pub(super) fn application_version_set(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &[])?;
        let Some((version, rest)) = p.args.split_first() else {
            return Err(Fail::usage("no version specified"));
        };
        check_empty(rest)?;
        self.state.borrow_mut().workload_version = Some(version.clone());
        Ok(Vec::new())
    }

    pub(super) fn is_leader(&self, call: &ToolCall) -> Out {
        let p = parse_plain(&call.args, &OUTPUT)?;
        let fmt = p.format(Format::Smart)?;
        check_empty(&p.args)?;
        Ok(write(fmt, &Value::Bool(self.state.borrow().leader)))
    }
}
