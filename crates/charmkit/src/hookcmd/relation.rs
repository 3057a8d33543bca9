//! Relations: `relation-ids`, `relation-list`, `relation-get`, `relation-set`.
//!
//! Relation data are maps of string to string. Values can be secret (credentials passed between
//! charms), so `relation-set` sends them on stdin, marked [`Redact::stdin`], never as arguments.

use super::common::{bad_output, relation_not_found};
use super::{Hook, Redact, ToolCall};
use crate::error::{Error, Result};
use crate::types::RelationId;
use std::collections::BTreeMap;

impl Hook<'_> {
    /// The ids of the relations on `endpoint`.
    ///
    /// Runs `relation-ids ENDPOINT --format=json` (prints `["charm-tracing:5"]` or `[]`). During
    /// relation-broken, Juju no longer lists the broken relation.
    pub fn relation_ids(&self, endpoint: &str) -> Result<Vec<RelationId>> {
        let call = ToolCall::new("relation-ids", [endpoint, "--format=json"]);
        let ids: Vec<String> = self
            .exec_json_opt(&call, "a list of relation ids")?
            .unwrap_or_default();
        ids.iter()
            .map(|s| {
                s.parse()
                    .map_err(|e: crate::types::ParseError| bad_output(&call, format_args!("{e}")))
            })
            .collect()
    }

    /// The remote units in relation `id`; [`Error::RelationNotFound`] if Juju does not know it.
    ///
    /// Runs `relation-list --format=json -r ID` (prints `["tempo/0","tempo/1"]`).
    pub fn relation_list(&self, id: &RelationId) -> Result<Vec<String>> {
        let call = ToolCall::new("relation-list", ["--format=json", "-r", &id.to_string()]);
        Ok(self
            .exec_json_opt(&call, "a list of unit names")
            .map_err(|e| relation_not_found(e, id))?
            .unwrap_or_default())
    }

    /// The remote application of relation `id`, if Juju knows it yet; `None` too if Juju does
    /// not know the relation (as ops).
    ///
    /// Runs `relation-list --format=json --app -r ID` (prints `"tempo"`; `null`, `""` or nothing
    /// give `None`).
    pub fn relation_list_app(&self, id: &RelationId) -> Result<Option<String>> {
        let call = ToolCall::new(
            "relation-list",
            ["--format=json", "--app", "-r", &id.to_string()],
        );
        let app: Option<String> = match self.exec_json_opt(&call, "an application name") {
            Ok(app) => app,
            Err(e) => match relation_not_found(e, id) {
                Error::RelationNotFound { .. } => None,
                e => return Err(e),
            },
        };
        Ok(app.filter(|a| !a.is_empty()))
    }

    /// The whole databag of `unit_or_app` in relation `id`: a unit's, or with `app` an
    /// application's.
    ///
    /// Runs `relation-get --format=json -r ID [--app] - UNIT_OR_APP`.
    pub fn relation_get(
        &self,
        id: &RelationId,
        unit_or_app: &str,
        app: bool,
    ) -> Result<BTreeMap<String, String>> {
        let call = ToolCall::new("relation-get", relation_get_args(id, "-", unit_or_app, app));
        Ok(self
            .exec_json_opt(&call, "an object of strings")
            .map_err(|e| relation_not_found(e, id))?
            .unwrap_or_default())
    }

    /// One key of `unit_or_app`'s databag in relation `id`; `None` if the key is missing.
    ///
    /// Runs `relation-get --format=json -r ID [--app] KEY UNIT_OR_APP`.
    pub fn relation_get_key(
        &self,
        id: &RelationId,
        key: &str,
        unit_or_app: &str,
        app: bool,
    ) -> Result<Option<String>> {
        if key == "-" {
            return Err(Error::Usage(
                "relation-get: `-` is not a key; use relation_get for the whole databag".into(),
            ));
        }
        let call = ToolCall::new("relation-get", relation_get_args(id, key, unit_or_app, app));
        self.exec_json_opt(&call, "a string or null")
            .map_err(|e| relation_not_found(e, id))
    }

    /// Merges `data` into this unit's databag in relation `id` (with `app`, into the
    /// application's databag: leader only). An empty value deletes its key.
    ///
    /// Runs `relation-set -r ID [--app] --file -` with `data` as a JSON object on stdin
    /// (stdin redacted). Juju commits the change only if the hook exits 0.
    pub fn relation_set(
        &self,
        id: &RelationId,
        app: bool,
        data: &BTreeMap<String, String>,
    ) -> Result<()> {
        let mut args = vec!["-r".to_string(), id.to_string()];
        if app {
            args.push("--app".into());
        }
        args.extend(["--file".to_string(), "-".to_string()]);
        let stdin = serde_json::to_vec(data)
            .map_err(|e| Error::Usage(format!("relation-set: cannot encode data: {e}")))?;
        let call = ToolCall::new("relation-set", args)
            .with_stdin(stdin)
            .with_redact(Redact {
                stdin: true,
                ..Redact::default()
            });
        self.exec(&call).map_err(|e| relation_not_found(e, id))
    }
}

impl Hook<'_> {
    /// The uuid of the model hosting the remote application of relation `id` (another model's
    /// for a cross-model relation); [`Error::RelationNotFound`] if Juju does not know it.
    ///
    /// Runs `relation-model-get --format=json -r ID` (prints `{"uuid":"…"}`).
    pub fn relation_model_get(&self, id: &RelationId) -> Result<String> {
        #[derive(serde::Deserialize)]
        struct Model {
            uuid: String,
        }
        let call = ToolCall::new(
            "relation-model-get",
            ["--format=json", "-r", &id.to_string()],
        );
        let m: Model = self
            .exec_json(&call, "an object with `uuid`")
            .map_err(|e| relation_not_found(e, id))?;
        Ok(m.uuid)
    }
}

fn relation_get_args(id: &RelationId, key: &str, unit_or_app: &str, app: bool) -> Vec<String> {
    let mut args = vec!["--format=json".to_string(), "-r".into(), id.to_string()];
    if app {
        args.push("--app".into());
    }
    args.extend([key.to_string(), unit_or_app.to_string()]);
    args
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use super::*;

    fn rid() -> RelationId {
        RelationId::new("charm-tracing", 5)
    }

    #[test]
    fn relation_ids() {
        let (r, a) = run_with(r#"["charm-tracing:5","charm-tracing:7"]"#, |h| {
            h.relation_ids("charm-tracing")
        });
        assert_eq!(a, argv(&["relation-ids", "charm-tracing", "--format=json"]));
        assert_eq!(r.unwrap(), vec![rid(), RelationId::new("charm-tracing", 7)]);
        let (r, _) = run_with("[]", |h| h.relation_ids("x"));
        assert!(r.unwrap().is_empty());
        assert_exit_error("relation-ids", |h| h.relation_ids("x"));
        assert_bad_output("relation-ids", "[", |h| h.relation_ids("x"));
        assert_bad_output("relation-ids", "{}", |h| h.relation_ids("x"));
        let d = assert_bad_output("relation-ids", r#"["nocolon"]"#, |h| h.relation_ids("x"));
        assert!(d.contains("invalid relation id"), "{d}");
    }

    #[test]
    fn relation_list() {
        let (r, a) = run_with(r#"["tempo/0","tempo/1"]"#, |h| h.relation_list(&rid()));
        assert_eq!(
            a,
            argv(&["relation-list", "--format=json", "-r", "charm-tracing:5"])
        );
        assert_eq!(r.unwrap(), vec!["tempo/0", "tempo/1"]);
        assert_exit_error("relation-list", |h| h.relation_list(&rid()));
        assert_bad_output("relation-list", "[1]", |h| h.relation_list(&rid()));
    }

    #[test]
    fn relation_list_app() {
        let (r, a) = run_with("\"tempo\"\n", |h| h.relation_list_app(&rid()));
        assert_eq!(
            a,
            argv(&[
                "relation-list",
                "--format=json",
                "--app",
                "-r",
                "charm-tracing:5"
            ])
        );
        assert_eq!(r.unwrap().as_deref(), Some("tempo"));
        for none in ["null", "\"\"", "", "\n"] {
            let (r, _) = run_with(none, |h| h.relation_list_app(&rid()));
            assert_eq!(r.unwrap(), None, "{none:?}");
        }
        assert_exit_error("relation-list", |h| h.relation_list_app(&rid()));
        assert_bad_output("relation-list", "[\"tempo\"]", |h| {
            h.relation_list_app(&rid())
        });
    }

    #[test]
    fn relation_get() {
        let (r, a) = run_with(r#"{"receivers":"[]"}"#, |h| {
            h.relation_get(&rid(), "tempo", true)
        });
        assert_eq!(
            a,
            argv(&[
                "relation-get",
                "--format=json",
                "-r",
                "charm-tracing:5",
                "--app",
                "-",
                "tempo"
            ])
        );
        assert_eq!(r.unwrap()["receivers"], "[]");
        let (r, a) = run_with("{}", |h| h.relation_get(&rid(), "tempo/0", false));
        assert_eq!(
            a,
            argv(&[
                "relation-get",
                "--format=json",
                "-r",
                "charm-tracing:5",
                "-",
                "tempo/0"
            ])
        );
        assert!(r.unwrap().is_empty());
        assert_exit_error("relation-get", |h| h.relation_get(&rid(), "tempo", true));
        assert_bad_output("relation-get", "{", |h| {
            h.relation_get(&rid(), "tempo", true)
        });
        let d = assert_bad_output("relation-get", r#"{"k": 5}"#, |h| {
            h.relation_get(&rid(), "tempo", true)
        });
        assert!(d.contains("expected an object of strings"), "{d}");
    }

    #[test]
    fn relation_get_key() {
        let (r, a) = run_with("\"v\"", |h| {
            h.relation_get_key(&rid(), "k", "tempo/0", false)
        });
        assert_eq!(
            a,
            argv(&[
                "relation-get",
                "--format=json",
                "-r",
                "charm-tracing:5",
                "k",
                "tempo/0"
            ])
        );
        assert_eq!(r.unwrap().as_deref(), Some("v"));
        let (r, a) = run_with("null", |h| h.relation_get_key(&rid(), "k", "tempo", true));
        assert_eq!(a[4], "--app");
        assert_eq!(r.unwrap(), None);
        assert_exit_error("relation-get", |h| {
            h.relation_get_key(&rid(), "k", "u/0", false)
        });
        assert_bad_output("relation-get", "{}", |h| {
            h.relation_get_key(&rid(), "k", "u/0", false)
        });
        let m = Mock::default();
        assert!(matches!(
            Hook::new(&m).relation_get_key(&rid(), "-", "u/0", false),
            Err(Error::Usage(_))
        ));
        assert!(m.calls().is_empty());
    }

    #[test]
    fn relation_set_sends_redacted_stdin() {
        let data = BTreeMap::from([
            ("receivers".to_string(), r#"["otlp_http"]"#.to_string()),
            ("gone".to_string(), String::new()),
        ]);
        let m = Mock::default();
        Hook::new(&m).relation_set(&rid(), true, &data).unwrap();
        let call = m.call();
        assert_eq!(call.tool, "relation-set");
        assert_eq!(
            call.args,
            argv(&["-r", "charm-tracing:5", "--app", "--file", "-"])
        );
        assert!(call.redact.stdin);
        let sent: BTreeMap<String, String> =
            serde_json::from_slice(call.stdin.as_deref().unwrap()).unwrap();
        assert_eq!(sent, data);
        let m = Mock::default();
        Hook::new(&m).relation_set(&rid(), false, &data).unwrap();
        assert_eq!(
            m.call().args,
            argv(&["-r", "charm-tracing:5", "--file", "-"])
        );
        assert_exit_error("relation-set", |h| h.relation_set(&rid(), true, &data));
    }

    #[test]
    fn juju_relation_not_found_is_typed() {
        const GONE: &str = "ERROR invalid value \"db:9\" for flag -r: relation not found";
        let id = RelationId::new("db", 9);
        let m = Mock::failing(2, GONE);
        assert_eq!(Hook::new(&m).relation_list_app(&id).unwrap(), None);
        let m = Mock::failing(2, GONE);
        match Hook::new(&m).relation_list(&id) {
            Err(Error::RelationNotFound { relation, source }) => {
                assert_eq!(relation, "db:9");
                assert!(matches!(*source, Error::HookTool { .. }));
            }
            other => panic!("{other:?}"),
        }
        // Anything else is left as it was.
        let m = Mock::failing(1, "ERROR permission denied");
        assert!(matches!(
            Hook::new(&m).relation_list_app(&id),
            Err(Error::HookTool { .. })
        ));
    }

    #[test]
    fn relation_model_get() {
        let out = r#"{"uuid":"deadbeef-1bad-500d-9000-4b1d0d06f00d"}"#;
        let (r, a) = run_with(out, |h| h.relation_model_get(&rid()));
        assert_eq!(
            a,
            argv(&[
                "relation-model-get",
                "--format=json",
                "-r",
                "charm-tracing:5"
            ])
        );
        assert_eq!(r.unwrap(), "deadbeef-1bad-500d-9000-4b1d0d06f00d");
        assert_exit_error("relation-model-get", |h| h.relation_model_get(&rid()));
        assert_bad_output("relation-model-get", "{}", |h| h.relation_model_get(&rid()));
    }
}
