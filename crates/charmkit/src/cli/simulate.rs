//! `simulate`: a deploy's events (or the ones named) against the in-memory Juju of the test
//! harness, showing what the charm did.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::fail;
use crate::framework::Charm;
use crate::meta::Metadata;
use crate::testing::{Simulation, Trigger};

/// The lines of `simulate` in the usage text.
pub(super) const USAGE: &str = "\
  simulate [OPTION...] [EVENT...]
                             run events against an in-memory Juju and show what the charm did:
                             hook-tool calls, Pebble calls, status, logs and the span tree of each
                             dispatch. EVENT is a hook (install, config-changed,
                             charm-tracing-relation-created, workload-pebble-ready) or an action
                             (actions/trace-status). Default: install leader-elected config-changed
                             start [CONTAINER-pebble-ready...] update-status. Every name is checked
                             first. Each declared container gets a fake Pebble that answers.
      --config KEY=VALUE     set a config option (typed as charmcraft.yaml declares it)
      --param KEY=VALUE      set a parameter of the action(s) run (typed by the action's schema)
      --non-leader           run as a unit that is not the leader
      --relation-data ENDPOINT KEY=VALUE
                             put KEY=VALUE in the remote application's databag of ENDPOINT's
                             relation (created if needed)
";

const DEFAULT_SEQUENCE: &[&str] = &[
    "install",
    "leader-elected",
    "config-changed",
    "start",
    "update-status",
];

/// A deploy: [`DEFAULT_SEQUENCE`], with each container's pebble-ready after start (when Juju
/// would send it, once the workload container is up).
fn default_sequence(meta: &Metadata) -> Vec<String> {
    let mut names = Vec::new();
    for hook in DEFAULT_SEQUENCE {
        names.push(hook.to_string());
        if *hook == "start" {
            names.extend(meta.containers.keys().map(|c| format!("{c}-pebble-ready")));
        }
    }
    names
}

/// The options and events of `simulate`, as typed.
#[derive(Debug, Default, PartialEq)]
pub(super) struct SimulateArgs {
    config: Vec<(String, String)>,
    params: Vec<(String, String)>,
    non_leader: bool,
    relation_data: Vec<(String, String, String)>,
    events: Vec<String>,
}

impl SimulateArgs {
    /// Parses the words after `simulate`; options may come anywhere among the events.
    pub(super) fn parse(words: &[&str]) -> Result<Self, String> {
        fn key_value(flag: &str, word: Option<&&str>) -> Result<(String, String), String> {
            let word = word.ok_or_else(|| format!("{flag} needs KEY=VALUE"))?;
            match word.split_once('=') {
                Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                _ => Err(format!("{flag} needs KEY=VALUE, not {word:?}")),
            }
        }
        let mut args = SimulateArgs::default();
        let mut it = words.iter();
        while let Some(&word) = it.next() {
            match word {
                "--config" => args.config.push(key_value(word, it.next())?),
                "--param" => args.params.push(key_value(word, it.next())?),
                "--non-leader" => args.non_leader = true,
                "--relation-data" => {
                    let endpoint = it
                        .next()
                        .ok_or("--relation-data needs ENDPOINT KEY=VALUE")?
                        .to_string();
                    let (k, v) = key_value(word, it.next())?;
                    args.relation_data.push((endpoint, k, v));
                }
                flag if flag.starts_with("--") => {
                    let known = ["--config", "--param", "--non-leader", "--relation-data"];
                    return Err(format!(
                        "unknown option {flag:?}{}",
                        crate::suggest::did_you_mean(flag, &known)
                    ));
                }
                event => args.events.push(event.to_string()),
            }
        }
        Ok(args)
    }
}

/// Everything `simulate` will run, checked before anything runs: the events (with a
/// did-you-mean for a typo), the options, and the action parameters against each action.
fn prepare(meta: &Metadata, args: &SimulateArgs) -> Result<(Simulation, Vec<Trigger>), String> {
    let names: Vec<String> = if args.events.is_empty() {
        default_sequence(meta)
    } else {
        args.events.clone()
    };
    let mut problems = Vec::new();
    let mut triggers = Vec::new();
    for name in &names {
        match Trigger::parse(name, meta) {
            Ok(t) => triggers.push(t),
            Err(e) => problems.push(e.to_string()),
        }
    }
    let actions: Vec<&str> = triggers
        .iter()
        .filter(|t| t.is_action())
        .map(|t| t.hook_name())
        .collect();
    if !args.params.is_empty() && actions.is_empty() && problems.is_empty() {
        problems.push("--param sets action parameters, but no action is among the events".into());
    }
    for t in triggers.iter_mut().filter(|t| t.is_action()) {
        let name = t.hook_name().to_string();
        let declared = &meta.actions[&name].params;
        for (k, v) in &args.params {
            match declared.get(k) {
                Some(schema) => *t = t.clone().with_param(k, typed_param(schema, v)),
                None => {
                    let names: Vec<&String> = declared.keys().collect();
                    problems.push(format!(
                        "action {name:?} has no parameter {k:?}{}",
                        crate::suggest::did_you_mean(k, &names)
                    ));
                }
            }
        }
    }
    let mut sim = Simulation::new(meta.clone()).map_err(|e| e.to_string())?;
    sim.set_leader(!args.non_leader);
    for (k, v) in &args.config {
        if let Err(e) = sim.set_config(k, v) {
            problems.push(e.to_string());
        }
    }
    for (endpoint, k, v) in &args.relation_data {
        if let Err(e) = sim.set_remote_app_data(endpoint, k, v) {
            problems.push(e.to_string());
        }
    }
    if problems.is_empty() {
        Ok((sim, triggers))
    } else {
        Err(problems.join("\n       "))
    }
}

/// An action parameter typed by its schema: text for a string (or untyped) parameter, JSON
/// otherwise (so `--param count=3` is a number), falling back to text.
fn typed_param(schema: &serde_json::Value, text: &str) -> serde_json::Value {
    let text_value = || serde_json::Value::String(text.to_string());
    match schema.get("type").and_then(|t| t.as_str()) {
        None | Some("string") => text_value(),
        Some(_) => serde_json::from_str(text).unwrap_or_else(|_| text_value()),
    }
}

pub(super) fn simulate<C: Charm>(dir: &Path, args: SimulateArgs) -> ExitCode {
    let meta = match Metadata::from_dir(dir) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let (mut sim, triggers) = match prepare(&meta, &args) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for trigger in triggers {
        let report = match sim.run::<C>(trigger) {
            Ok(r) => r,
            Err(e) => {
                let _ = out.flush();
                return fail(e);
            }
        };
        let _ = write!(out, "{}", report.render());
        failed |= report.error.is_some();
    }
    let _ = out.flush();
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Metadata {
        Metadata::from_yaml(
            Some(
                "name: demo\nrequires:\n  db:\n    interface: pg\nconfig:\n  options:\n    \
                 port:\n      type: int\n      default: 80\n    name:\n      type: string\n\
                 actions:\n  backup:\n    params:\n      count:\n        type: integer\n      \
                 label:\n        type: string\n",
            ),
            None,
            None,
            None,
        )
        .unwrap()
    }

    fn prepared(words: &[&str]) -> Result<Vec<Trigger>, String> {
        let args = SimulateArgs::parse(words)?;
        prepare(&meta(), &args).map(|(_, t)| t)
    }

    #[test]
    fn options_parse_anywhere() {
        let a = SimulateArgs::parse(&[
            "install",
            "--config",
            "port=8080",
            "--non-leader",
            "--relation-data",
            "db",
            "dsn=x=y",
            "backup",
            "--param",
            "count=3",
        ])
        .unwrap();
        assert_eq!(a.events, ["install", "backup"]);
        assert_eq!(a.config, [("port".into(), "8080".into())]);
        assert_eq!(a.params, [("count".into(), "3".into())]);
        assert!(a.non_leader);
        assert_eq!(a.relation_data, [("db".into(), "dsn".into(), "x=y".into())]);
        for bad in [
            &["--config"][..],
            &["--config", "novalue"],
            &["--relation-data", "db"],
        ] {
            assert!(SimulateArgs::parse(bad).is_err(), "{bad:?}");
        }
        let err = SimulateArgs::parse(&["--non-lader"]).unwrap_err();
        assert!(err.contains("did you mean \"--non-leader\"?"), "{err}");
    }

    #[test]
    fn every_name_is_checked_before_anything_runs_with_suggestions() {
        let err = prepared(&[
            "install",
            "strat",
            "db-relation-chnaged",
            "--config",
            "prot=1",
        ])
        .unwrap_err();
        assert!(
            err.contains("\"strat\" is not an event") && err.contains("did you mean \"start\"?"),
            "{err}"
        );
        assert!(
            err.contains("did you mean \"db-relation-changed\"?"),
            "{err}"
        );
        assert!(
            err.contains("config option \"prot\" is not declared; did you mean \"port\"?"),
            "{err}"
        );
        let err = prepared(&["--config", "port=eighty"]).unwrap_err();
        assert!(err.contains("is an int, and \"eighty\" is not"), "{err}");
        let err = prepared(&["backup", "--param", "cont=3"]).unwrap_err();
        assert!(err.contains("did you mean \"count\"?"), "{err}");
        let err = prepared(&["start", "--param", "count=3"]).unwrap_err();
        assert!(err.contains("no action is among the events"), "{err}");
        let err = prepared(&["--relation-data", "bd", "k=v"]).unwrap_err();
        assert!(err.contains("did you mean \"db\"?"), "{err}");
    }

    #[test]
    fn params_are_typed_by_their_schema() {
        let t = prepared(&["backup", "--param", "count=3", "--param", "label=7"]).unwrap();
        assert_eq!(t[0].params["count"], serde_json::json!(3));
        assert_eq!(t[0].params["label"], serde_json::json!("7"));
    }
}
