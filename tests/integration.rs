//! Integration tests: the real charm binary, run through `./dispatch` as Juju runs it, against
//! stub hook tools on PATH written by the test.

use crate::util::{stderr, stdout, tools, Call, Unit, CHARM};

fn logs(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.tool == "juju-log")
        .map(|c| c.args.join(" "))
        .collect()
}

const TRACING_APP_DATA: &str = r#"{"receivers": "[{\"protocol\": {\"name\": \"otlp_grpc\", \"type\": \"grpc\"}, \"url\": \"127.0.0.1:4317\"}, {\"protocol\": {\"name\": \"otlp_http\", \"type\": \"http\"}, \"url\": \"http://127.0.0.1:1/\"}]"}"#;

#[test]
fn dispatch_without_juju_prints_usage() {
    let unit = Unit::new(&CHARM);
    let out = unit.command(&[], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("usage: dispatch"), "{}", stdout(&out));
    assert!(stderr(&out).contains("JUJU_DISPATCH_PATH is not set"));
    let help = unit.command(&["help"], &[]).output().unwrap();
    assert!(help.status.success());
}

#[test]
fn lifecycle_install_start_config_relation_action() {
    let unit = Unit::new(&CHARM);
    unit.respond("config-get --format=json --all", r#"{"greeting": "hi"}"#);

    // install: workload version, status from collect-status, the two log lines tools parse.
    let out = unit.dispatch("hooks/install", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = unit.take_calls();
    let t = tools(&calls);
    assert!(
        t.contains(&"application-version-set -- 0.1.0".to_string()),
        "{t:?}"
    );
    assert_eq!(
        t.last().unwrap(),
        "status-set active -- hi from rust-starter/0",
        "{t:?}"
    );
    let l = logs(&calls);
    assert!(
        l.iter()
            .any(|m| m == "--log-level DEBUG -- Emitting Juju event install."),
        "{l:?}"
    );
    let trace_line = l
        .iter()
        .find(|m| m.contains("Starting root trace with id='"))
        .expect("root trace log line");
    let id = trace_line.split('\'').nth(1).unwrap();
    assert_eq!(id.len(), 32);
    assert!(id
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));

    // start: reconcile reads config once; tracing reconciles (no relation → no destination).
    let out = unit.dispatch("hooks/start", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = tools(&unit.take_calls());
    assert_eq!(
        t.iter().filter(|c| c.starts_with("config-get")).count(),
        1,
        "{t:?}"
    );
    assert!(
        t.contains(&"relation-ids charm-tracing --format=json".to_string()),
        "{t:?}"
    );

    // config-changed to an empty greeting blocks the unit.
    unit.respond("config-get --format=json --all", r#"{"greeting": ""}"#);
    let out = unit.dispatch("hooks/config-changed", &[]);
    assert!(out.status.success());
    let t = tools(&unit.take_calls());
    assert_eq!(
        t.last().unwrap(),
        "status-set blocked -- set the `greeting` config option"
    );

    // The tracing relation appears: as leader we publish our receivers on relation-created.
    let rel = [
        ("JUJU_RELATION", "charm-tracing"),
        ("JUJU_RELATION_ID", "charm-tracing:7"),
        ("JUJU_REMOTE_APP", "tempo"),
    ];
    let out = unit.dispatch("hooks/charm-tracing-relation-created", &rel);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = tools(&unit.take_calls());
    assert!(
        t.contains(
            &r#"relation-set -r charm-tracing:7 --app --file - stdin={"receivers":"[\"otlp_http\"]"}"#
                .to_string()
        ),
        "{t:?}"
    );

    // Tempo answers: the destination is the otlp_http receiver + /v1/traces.
    unit.respond(
        "relation-ids charm-tracing --format=json",
        r#"["charm-tracing:7"]"#,
    );
    unit.respond(
        "relation-get --format=json -r charm-tracing:7 --app - tempo",
        TRACING_APP_DATA,
    );
    unit.respond(
        "relation-get --format=json -r charm-tracing:7 --app - rust-starter",
        r#"{"receivers": "[\"otlp_http\"]"}"#,
    );
    let mut changed = rel.to_vec();
    changed.push(("JUJU_REMOTE_UNIT", "tempo/0"));
    let out = unit.dispatch("hooks/charm-tracing-relation-changed", &changed);
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = unit.take_calls();
    assert!(
        !tools(&calls).iter().any(|c| c.starts_with("relation-set")),
        "receivers already there: nothing to write: {:?}",
        tools(&calls)
    );
    assert!(
        logs(&calls)
            .iter()
            .any(|m| m.contains("sending trace data to http://127.0.0.1:1/v1/traces")),
        "{:?}",
        logs(&calls)
    );
    let status = unit
        .command(
            &["trace", "status", "--json"],
            &[("JUJU_CHARM_DIR", unit.charm_dir.to_str().unwrap())],
        )
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["destination"], "http://127.0.0.1:1/v1/traces");
    assert!(status["chunks"].as_u64().unwrap() >= 1, "{status}");

    // The action reports the buffer through action-set.
    let out = unit.run_action("trace-status");
    assert!(out.status.success(), "{}", stderr(&out));
    let t = tools(&unit.take_calls());
    let set = t
        .iter()
        .find(|c| c.starts_with("action-set"))
        .expect("action-set");
    assert!(
        set.contains("destination=http://127.0.0.1:1/v1/traces"),
        "{set}"
    );
    assert!(set.contains("chunks="), "{set}");
    assert!(set.contains("limit-bytes=41943040"), "{set}");
}

#[test]
fn a_failing_hook_tool_fails_the_hook_with_its_stderr() {
    let unit = Unit::new(&CHARM);
    unit.fail(
        "application-version-set",
        2,
        "ERROR cannot reach controller",
    );
    let out = unit.dispatch("hooks/install", &[]);
    assert_eq!(out.status.code(), Some(1));
    let l = logs(&unit.take_calls());
    let err = l
        .iter()
        .find(|m| m.starts_with("--log-level ERROR"))
        .expect("an ERROR log line");
    assert!(err.contains("application-version-set"), "{err}");
    assert!(err.contains("status 2"), "{err}");
    assert!(err.contains("ERROR cannot reach controller"), "{err}");
}

#[test]
fn invalid_json_from_a_tool_fails_cleanly() {
    let unit = Unit::new(&CHARM);
    unit.respond("config-get", "{not json");
    let out = unit.dispatch("hooks/start", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let l = logs(&unit.take_calls());
    assert!(
        l.iter()
            .any(|m| m.contains("config-get") && m.contains("invalid JSON")),
        "{l:?}"
    );
}

#[test]
fn unknown_events_are_logged_not_errors() {
    let unit = Unit::new(&CHARM);
    let out = unit.dispatch("hooks/some-future-hook", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let l = logs(&unit.take_calls());
    assert!(l.iter().any(|m| m.contains("Unknown event")), "{l:?}");
}

#[test]
fn malformed_environment_is_a_clear_error() {
    let unit = Unit::new(&CHARM);
    let out = unit.dispatch("hooks/start", &[("JUJU_RELATION_ID", "db:seven")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("JUJU_RELATION_ID"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn simulate_runs_the_default_deploy_sequence() {
    let unit = Unit::new(&CHARM);
    let out = unit.command(&["simulate"], &[]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let order: Vec<usize> = [
        "hooks/install",
        "hooks/leader-elected",
        "hooks/config-changed",
        "hooks/start",
        "hooks/update-status",
    ]
    .iter()
    .map(|h| {
        text.find(&format!("── {h} ──"))
            .unwrap_or_else(|| panic!("{h} in {text}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
    assert!(
        text.contains("status-set active -- hello from rust-starter/0"),
        "{text}"
    );
    assert!(text.contains("ops.main"), "span tree: {text}");
    assert!(text.contains("start: RustStarter"), "{text}");
    assert!(
        text.contains("hooks/update-status ── not observed"),
        "{text}"
    );
    // Simulated data never lands in the real buffer.
    assert!(
        !unit.path(".charm-tracing").exists() || {
            let s = unit
                .command(&["trace", "status", "--json"], &[])
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
            v["chunks"] == 0
        }
    );
    let bad = unit
        .command(&["simulate", "no-such-hook"], &[])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("no-such-hook"));
}

#[test]
fn simulate_takes_config_params_leadership_and_relation_data() {
    let unit = Unit::new(&CHARM);
    let out = unit
        .command(
            &[
                "simulate",
                "--config",
                "greeting=howdy",
                "--non-leader",
                "--relation-data",
                "charm-tracing",
                "receivers=[]",
                "start",
                "charm-tracing-relation-changed",
            ],
            &[],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("status-set active -- howdy from rust-starter/0"),
        "{text}"
    );
    // A follower never writes its application databag.
    assert!(!text.contains("relation-set"), "{text}");
    // The remote data came through: no otlp_http receiver, so no destination.
    assert!(text.contains("no otlp_http receiver"), "{text}");

    // Every name is checked before anything runs, with a suggestion.
    let bad = unit
        .command(
            &["simulate", "install", "strat", "--config", "greting=x"],
            &[],
        )
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = stderr(&bad);
    assert!(err.contains("did you mean \"start\"?"), "{err}");
    assert!(err.contains("did you mean \"greeting\"?"), "{err}");
    assert!(stdout(&bad).is_empty(), "nothing ran: {}", stdout(&bad));
}

#[test]
fn every_dispatch_is_buffered_with_priority_by_observation() {
    let unit = Unit::new(&CHARM);
    for hook in ["install", "update-status", "update-status"] {
        assert!(unit
            .dispatch(&format!("hooks/{hook}"), &[])
            .status
            .success());
    }
    let dir = unit.charm_dir.to_str().unwrap().to_string();
    let s = unit
        .command(&["trace", "status", "--json"], &[("JUJU_CHARM_DIR", &dir)])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(v["chunks"], 3, "{v}");
    assert_eq!(v["by_priority"]["50"], 1, "{v}");
    assert_eq!(v["by_priority"]["10"], 2, "{v}");
    assert_eq!(v["destination"], serde_json::Value::Null);
    let dump = unit
        .command(&["trace", "dump"], &[("JUJU_CHARM_DIR", &dir)])
        .output()
        .unwrap();
    let docs: Vec<serde_json::Value> = stdout(&dump)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 3);
    let root = &docs[0]["resourceSpans"][0];
    let attrs = root["resource"]["attributes"].as_array().unwrap();
    let attr = |k: &str| {
        attrs
            .iter()
            .find(|a| a["key"] == k)
            .map(|a| a["value"]["stringValue"].clone())
    };
    assert_eq!(attr("service.name").unwrap(), "rust-starter");
    assert_eq!(attr("juju_unit").unwrap(), "rust-starter/0");
    assert_eq!(attr("charm").unwrap(), "rust-starter");
    assert_eq!(attr("service.instance.id").unwrap(), "0");
}

/// The stub hook tools answer as jujuc does where they model a tool, so these tests cannot pass
/// on answers Juju would never give.
#[test]
fn stub_tools_answer_as_jujuc() {
    let unit = Unit::new(&CHARM);
    let run = |tool: &str, args: &[&str]| {
        std::process::Command::new(unit.stubs.join(tool))
            .args(args)
            .env("STUB_STATE", &unit.state)
            .env("JUJU_UNIT_NAME", "rust-starter/0")
            .env("JUJU_MODEL_UUID", "a1b2c3d4-0000-4000-8000-000000000000")
            .output()
            .unwrap()
    };
    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(ok(run("is-leader", &["--format=json"])), "true\n");
    assert_eq!(ok(run("is-leader", &[])), "True\n");
    assert_eq!(ok(run("state-get", &["--format=json", "k"])), "\"\"\n");
    assert_eq!(ok(run("state-get", &["--format=json"])), "null\n");
    let o = run("state-get", &["--format=json", "--strict", "k"]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (Some(1), "ERROR \"k\" not found\n".into())
    );
    assert_eq!(
        ok(run(
            "relation-get",
            &["--format=json", "-r", "db:1", "k", "db/0"]
        )),
        "null\n"
    );
    assert_eq!(
        ok(run(
            "relation-get",
            &["--format=json", "-r", "db:1", "-", "db/0"]
        )),
        "{}\n"
    );
    let o = run("resource-get", &["software"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ERROR could not download resource: resource#rust-starter/software not found\n"
    );
    let o = run("secret-add", &["token="]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (Some(2), "ERROR key value \"token=\" not valid\n".into())
    );
    let o = run("secret-add", &["token#file=/nonexistent/token"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let file = unit.state.join("token");
    std::fs::write(&file, "t0k").unwrap();
    let id = ok(run(
        "secret-add",
        &[&format!("token#file={}", file.display())],
    ));
    assert_eq!(
        id,
        "secret://a1b2c3d4-0000-4000-8000-000000000000/cstub000000000000010\n"
    );
}
