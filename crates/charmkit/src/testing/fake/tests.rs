//! Tests of the fake Juju through the typed bindings.

use super::*;

const APP_SECRET: &str = "secret:cj9sk5ufltq4c6e0a8ng";
const REMOTE_BARE: &str = "d0ckcn6fltq4c6e0a900";
const REMOTE_SECRET: &str = "secret:d0ckcn6fltq4c6e0a900";
use crate::hookcmd::{OpenedPort, PortEndpoints, SecretOptions, SecretRefresh};

fn rid() -> RelationId {
    RelationId::new("charm-tracing", 5)
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    string_map(pairs.iter().copied())
}

fn state(leader: bool) -> State {
    State::new("rust-starter/0")
        .with_leader(leader)
        .with_relation(
            Relation::new("charm-tracing", 5, "tempo")
                .with_remote_app_data([("receivers", "[]")])
                .with_remote_unit("tempo/0", [("ingress", "10.0.0.1")])
                .with_remote_unit("tempo/1", Vec::<(String, String)>::new()),
        )
}

/// The exit status and stderr of a HookTool error (the source of a typed not-found error).
fn exit<T: std::fmt::Debug>(r: Result<T>) -> (i32, String) {
    match r {
        Err(Error::HookTool { status, stderr, .. }) => (status.unwrap_or(-1), stderr),
        Err(
            Error::RelationNotFound { source, .. }
            | Error::SecretNotFound { source, .. }
            | Error::ResourceNotFound { source, .. },
        ) => exit::<()>(Err(*source)),
        other => panic!("expected a HookTool error, got {other:?}"),
    }
}

#[test]
fn leadership() {
    assert!(FakeJuju::new(state(true)).hook().is_leader().unwrap());
    assert!(!FakeJuju::new(state(false)).hook().is_leader().unwrap());
    assert_eq!(State::new("charm/0").app_name(), "charm");
    assert_eq!(
        State::default().app_name(),
        "",
        "the harness names it after the charm"
    );
    assert_eq!(state(true).app_name(), "rust-starter");
}

#[test]
fn relation_round_trip_as_leader() {
    let juju = FakeJuju::new(state(true));
    let h = juju.hook();
    assert_eq!(h.relation_ids("charm-tracing").unwrap(), vec![rid()]);
    assert!(h.relation_ids("receive-ca-cert").unwrap().is_empty());
    assert_eq!(h.relation_list(&rid()).unwrap(), vec!["tempo/0", "tempo/1"]);
    assert_eq!(
        h.relation_list_app(&rid()).unwrap().as_deref(),
        Some("tempo")
    );
    assert_eq!(
        h.relation_get(&rid(), "tempo", true).unwrap(),
        map(&[("receivers", "[]")])
    );
    assert_eq!(
        h.relation_get_key(&rid(), "ingress", "tempo/0", false)
            .unwrap()
            .as_deref(),
        Some("10.0.0.1")
    );
    assert_eq!(
        h.relation_get_key(&rid(), "nope", "tempo/0", false)
            .unwrap(),
        None
    );

    h.relation_set(
        &rid(),
        true,
        &map(&[("receivers", r#"["otlp_http"]"#), ("x", "1")]),
    )
    .unwrap();
    h.relation_set(&rid(), true, &map(&[("x", ""), ("y", "2")]))
        .unwrap();
    assert_eq!(
        h.relation_get(&rid(), "rust-starter", true).unwrap(),
        map(&[("receivers", r#"["otlp_http"]"#), ("y", "2")])
    );
    h.relation_set(&rid(), false, &map(&[("addr", "10.1.1.1")]))
        .unwrap();
    assert_eq!(
        h.relation_get_key(&rid(), "addr", "rust-starter/0", false)
            .unwrap()
            .as_deref(),
        Some("10.1.1.1")
    );
    let out = juju.into_state();
    let rel = out.relation(5).unwrap();
    assert_eq!(rel.local_app_data["y"], "2");
    assert_eq!(rel.local_unit_data["addr"], "10.1.1.1");
}

#[test]
fn non_leader_cannot_touch_own_app_databag() {
    let juju = FakeJuju::new(state(false));
    let h = juju.hook();
    let denied = (1, "ERROR permission denied".to_string());
    // relation-set.go's own refusal.
    assert_eq!(
        exit(h.relation_set(&rid(), true, &map(&[("k", "v")]))),
        (1, "ERROR cannot write relation settings".to_string())
    );
    assert_eq!(exit(h.relation_get(&rid(), "rust-starter", true)), denied);
    assert_eq!(
        exit(h.relation_get_key(&rid(), "k", "rust-starter", true)),
        denied
    );
    // The remote app's databag and our unit's are fine.
    h.relation_get(&rid(), "tempo", true).unwrap();
    h.relation_set(&rid(), false, &map(&[("k", "v")])).unwrap();
    assert!(juju.state().relations[0].local_app_data.is_empty());
}

#[test]
fn unknown_relation_and_unit() {
    let juju = FakeJuju::new(state(true));
    let h = juju.hook();
    let (code, err) = exit(h.relation_get(&RelationId::new("charm-tracing", 9), "tempo", true));
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "ERROR invalid value \"charm-tracing:9\" for flag -r: relation not found"
    );
    // jujuc reads only the number after the last `:`.
    assert_eq!(
        h.relation_list(&RelationId::new("db", 5)).unwrap(),
        vec!["tempo/0", "tempo/1"]
    );
    let call = ToolCall::new("relation-list", ["--relation", "x"]);
    assert_eq!(
        exit(juju.run(&call)),
        (
            2,
            "ERROR invalid value \"x\" for flag --relation: invalid relation id".into()
        )
    );
    let (code, err) = exit(h.relation_get(&rid(), "tempo/7", false));
    assert_eq!(code, 1);
    assert!(err.contains("settings not found"), "{err}");
    let (code, _) = exit(h.relation_get(&rid(), "other-app", true));
    assert_eq!(code, 1);
    // A bare id works for -r too.
    let call = ToolCall::new("relation-list", ["--format=json", "-r", "5"]);
    assert_eq!(juju.run(&call).unwrap(), b"[\"tempo/0\",\"tempo/1\"]\n");
}

#[test]
fn hidden_relation_is_not_listed_but_readable() {
    let juju = FakeJuju::new(state(true));
    juju.hide_relation(5);
    let h = juju.hook();
    assert!(h.relation_ids("charm-tracing").unwrap().is_empty());
    assert_eq!(
        h.relation_get(&rid(), "tempo", true).unwrap()["receivers"],
        "[]"
    );
    juju.unhide_relation(5);
    assert_eq!(h.relation_ids("charm-tracing").unwrap(), vec![rid()]);
}

#[test]
fn status_set_get() {
    let juju = FakeJuju::new(state(true));
    let h = juju.hook();
    assert_eq!(h.status_get(false).unwrap(), Status::unknown());
    h.status_set(&Status::active("ready"), false).unwrap();
    h.status_set(&Status::blocked("no tempo"), true).unwrap();
    assert_eq!(h.status_get(false).unwrap(), Status::active("ready"));
    assert_eq!(h.status_get(true).unwrap(), Status::blocked("no tempo"));
    h.status_set(&Status::maintenance(""), false).unwrap();
    let out = juju.into_state();
    assert_eq!(out.unit_status, Status::maintenance(""));
    assert_eq!(out.app_status, Status::blocked("no tempo"));

    let juju = FakeJuju::new(state(false));
    let h = juju.hook();
    // The uniter's ErrIsNotLeader; status-get annotates it.
    assert_eq!(
        exit(h.status_set(&Status::active(""), true)),
        (1, "ERROR this unit is not the leader".to_string())
    );
    assert_eq!(
        exit(h.status_get(true)),
        (
            1,
            "ERROR finding application status: this unit is not the leader".to_string()
        )
    );
    h.status_set(&Status::waiting("w"), false).unwrap();
    // Juju refuses statuses a charm cannot set.
    let (code, _) = exit(juju.run(&ToolCall::new("status-set", ["error", "--", "x"])));
    assert_eq!(code, 2);
}

#[test]
fn config_and_workload_version() {
    let juju = FakeJuju::new(
        State::new("a/0")
            .with_config("port", 8080)
            .with_config("unset", Value::Null),
    );
    let h = juju.hook();
    let all = h.config_get().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(h.config_get_key("port").unwrap(), Some(json!(8080)));
    assert_eq!(h.config_get_key("unset").unwrap(), None);
    assert_eq!(h.config_get_key("missing").unwrap(), None);
    h.application_version_set("1.2.3").unwrap();
    assert_eq!(juju.state().workload_version.as_deref(), Some("1.2.3"));
}

#[test]
fn actions() {
    let juju = FakeJuju::new(
        State::new("a/0")
            .with_action_param("count", 3)
            .with_action_param("opts", json!({"deep": true})),
    );
    let h = juju.hook();
    assert_eq!(h.action_get().unwrap()["count"], json!(3));
    let call = ToolCall::new("action-get", ["--format=json", "opts.deep"]);
    assert_eq!(juju.run(&call).unwrap(), b"true\n");
    h.action_set(&map(&[("result.path", "/tmp/x"), ("password", "s3cret")]))
        .unwrap();
    h.action_log("half way").unwrap();
    h.action_fail("disk full").unwrap();
    // The binding refuses what Juju would; Juju's own refusals:
    assert!(matches!(
        h.action_set(&map(&[("Bad_Key", "v")])),
        Err(Error::Usage(_))
    ));
    let call = ToolCall::new("action-set", ["Bad_Key=v"]);
    assert_eq!(
        exit(juju.run(&call)),
        (
            2,
            "ERROR key \"Bad_Key\" must start and end with lowercase alphanumeric, and contain \
             only lowercase alphanumeric, hyphens and periods"
                .into()
        )
    );
    let call = ToolCall::new("action-set", ["out.stdout=v"]);
    assert_eq!(
        exit(juju.run(&call)),
        (2, "ERROR cannot set reserved action key \"stdout\"".into())
    );
    let out = juju.into_state();
    assert_eq!(out.action_results["result.path"], "/tmp/x");
    assert_eq!(out.action_results["password"], "s3cret");
    assert_eq!(out.action_logs, vec!["half way"]);
    assert_eq!(out.action_failed.as_deref(), Some("disk full"));
}

#[test]
fn secrets_owned_by_the_app() {
    let juju = FakeJuju::new(state(true));
    let h = juju.hook();
    let id = h
        .secret_add(
            &map(&[("password", "s3cret")]),
            &SecretOptions::new()
                .with_label("db")
                .with_description("creds"),
        )
        .unwrap();
    assert!(
        id.starts_with("secret://00000000-0000-4000-8000-000000000000/"),
        "{id}"
    );
    assert_eq!(h.secret_ids().unwrap(), vec![id.clone()]);
    assert_eq!(
        h.secret_get(None, Some("db"), SecretRefresh::Tracked)
            .unwrap(),
        map(&[("password", "s3cret")])
    );
    h.secret_set(&id, &map(&[("password", "n3w")]), &SecretOptions::new())
        .unwrap();
    assert_eq!(
        h.secret_get(Some(&id), None, SecretRefresh::Tracked)
            .unwrap()["password"],
        "n3w"
    );
    let info = h.secret_info_get(Some(&id), None).unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.revision, 2);
    assert_eq!(info.label.as_deref(), Some("db"));
    assert_eq!(info.description.as_deref(), Some("creds"));
    assert_eq!(info.owner, SecretOwner::Application);
    // Juju refuses an id and a label together; the binding passes the id only.
    let call = ToolCall::new("secret-info-get", ["--format=json", &id, "--label", "db"]);
    assert_eq!(
        exit(juju.run(&call)),
        (
            2,
            "ERROR specify either a secret URI or label but not both".into()
        )
    );
    let info = h.secret_info_get(Some(&id), Some("db")).unwrap();
    assert_eq!(info.label.as_deref(), Some("db"));
    let info = h.secret_info_get(None, Some("db")).unwrap();
    assert_eq!((info.id, info.revision), (id.clone(), 2));
    // A second secret with the same label is refused.
    let (code, _) = exit(h.secret_add(
        &map(&[("password", "x")]),
        &SecretOptions::new().with_label("db"),
    ));
    assert_eq!(code, 1);
    // Juju's key rule: at least 3 characters; and no empty value.
    let call = ToolCall::new("secret-add", ["pw=x"]);
    assert_eq!(
        exit(juju.run(&call)),
        (2, "ERROR key \"pw\" not valid".into())
    );
    let call = ToolCall::new("secret-add", ["token="]);
    assert_eq!(
        exit(juju.run(&call)),
        (2, "ERROR key value \"token=\" not valid".into())
    );
    let call = ToolCall::new("secret-add", ["token#file=/nonexistent/x"]);
    assert_eq!(
        exit(juju.run(&call)),
        (
            2,
            "ERROR reading content for secret key \"token\": open /nonexistent/x: no such file \
             or directory"
                .into()
        )
    );

    // Juju's grant rules: unit grants must go before the application is granted, and an
    // application grant makes unit grants no-ops.
    h.secret_grant(&id, &rid(), Some("tempo/0")).unwrap();
    let (code, err) = exit(h.secret_grant(&id, &rid(), None));
    assert_eq!(code, 1);
    assert!(
        err.contains("unit level grants need to be revoked"),
        "{err}"
    );
    assert_eq!(
        juju.state().secret("db").unwrap().grants,
        vec![SecretGrant {
            relation_id: 5,
            unit: Some("tempo/0".into())
        }]
    );
    let call = ToolCall::new("secret-revoke", [id.as_str(), "--unit", "tempo/0"]);
    juju.run(&call).unwrap();
    h.secret_grant(&id, &rid(), None).unwrap();
    h.secret_grant(&id, &rid(), Some("tempo/1")).unwrap();
    assert_eq!(
        juju.state().secret("db").unwrap().grants,
        vec![SecretGrant {
            relation_id: 5,
            unit: None
        }]
    );
    let (code, err) = exit(h.secret_grant(&id, &rid(), Some("other/0")));
    assert_eq!(code, 2);
    assert!(
        err.contains("in relation to application \"tempo\""),
        "{err}"
    );
    h.secret_revoke(&id, &rid(), None).unwrap();
    assert!(juju.state().secret("db").unwrap().grants.is_empty());
    let (code, _) = exit(h.secret_grant(&id, &RelationId::new("x", 42), None));
    assert_eq!(code, 2);

    h.secret_remove(&id, Some(1)).unwrap();
    // Juju records the removal and checks nothing during the hook.
    h.secret_remove(&id, Some(1)).unwrap();
    h.secret_remove(&id, Some(9)).unwrap();
    assert_eq!(juju.state().secret(&id).unwrap().removed_revisions, vec![1]);
    h.secret_remove(&id, None).unwrap();
    assert!(h.secret_ids().unwrap().is_empty());
    let (code, err) = exit(h.secret_get(Some(&id), None, SecretRefresh::Tracked));
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");

    // The content never was on a command line: the fake read it from files, as jujuc does,
    // and the files are gone.
    for c in juju
        .calls_of("secret-add")
        .iter()
        .chain(&juju.calls_of("secret-set"))
    {
        let line = c.args.join(" ");
        assert!(!line.contains("s3cret") && !line.contains("n3w"), "{c:?}");
        for a in &c.args {
            if let Some((_, path)) = a.split_once("#file=") {
                assert!(!std::path::Path::new(path).exists(), "{path}");
            }
        }
    }
}

#[test]
fn secret_permissions_for_non_leader() {
    let juju = FakeJuju::new(
        state(false).with_secret(Secret::new(APP_SECRET, [("token", "t")]).with_label("app")),
    );
    let h = juju.hook();
    let denied = (1, "ERROR this unit is not the leader".to_string());
    assert_eq!(
        exit(h.secret_add(&map(&[("token", "x")]), &SecretOptions::new())),
        denied
    );
    assert_eq!(
        exit(h.secret_set(APP_SECRET, &map(&[("token", "y")]), &SecretOptions::new())),
        denied
    );
    assert_eq!(exit(h.secret_remove(APP_SECRET, None)), denied);
    assert_eq!(exit(h.secret_grant(APP_SECRET, &rid(), None)), denied);
    assert_eq!(exit(h.secret_revoke(APP_SECRET, &rid(), None)), denied);
    // A unit-owned secret is fine.
    let id = h
        .secret_add(
            &map(&[("token", "x")]),
            &SecretOptions::new().with_owner(crate::hookcmd::SecretOwner::Unit),
        )
        .unwrap();
    h.secret_set(&id, &map(&[("token", "z")]), &SecretOptions::new())
        .unwrap();
    assert_eq!(juju.state().secret(&id).unwrap().revision, 2);
}

#[test]
fn observed_secret_tracks_peeks_and_refreshes() {
    let juju = FakeJuju::new(State::new("a/0").with_secret(
        Secret::observed(REMOTE_SECRET, [("ca", "new")]).with_tracked_content([("ca", "old")]),
    ));
    let h = juju.hook();
    let get = |r| h.secret_get(Some(REMOTE_SECRET), None, r).unwrap()["ca"].clone();
    assert_eq!(get(SecretRefresh::Tracked), "old");
    assert_eq!(get(SecretRefresh::Peek), "new");
    assert_eq!(get(SecretRefresh::Tracked), "old");
    assert_eq!(get(SecretRefresh::Refresh), "new");
    assert_eq!(get(SecretRefresh::Tracked), "new");
    // Labelling by id + label, then finding by label.
    h.secret_get(Some(REMOTE_BARE), Some("ca-secret"), SecretRefresh::Tracked)
        .unwrap();
    assert_eq!(
        h.secret_get(None, Some("ca-secret"), SecretRefresh::Tracked)
            .unwrap()["ca"],
        "new"
    );
    assert!(h.secret_ids().unwrap().is_empty());
    let (code, _) = exit(h.secret_info_get(Some(REMOTE_SECRET), None));
    assert_eq!(code, 1);
    let (code, _) =
        exit(h.secret_set(REMOTE_SECRET, &map(&[("cert", "x")]), &SecretOptions::new()));
    assert_eq!(code, 1);
}

#[test]
fn ports() {
    let juju = FakeJuju::new(State::new("a/0"));
    let h = juju.hook();
    h.open_port(&Port::tcp(8080)).unwrap();
    h.open_port(&Port::tcp(8080)).unwrap();
    h.open_port(&Port::udp_range(1000, 1010)).unwrap();
    h.open_port(&Port::icmp()).unwrap();
    h.close_port(&Port::udp_range(1000, 1010)).unwrap();
    // Juju sorts by protocol name, then port.
    assert_eq!(
        h.opened_ports().unwrap(),
        vec![Port::icmp(), Port::tcp(8080)]
    );
    assert_eq!(
        exit(juju.run(&ToolCall::new("open-port", ["80/sctp"]))),
        (
            2,
            "ERROR invalid protocol \"sctp\", expected \"tcp\", \"udp\", or \"icmp\"".into()
        )
    );
}

#[test]
fn juju_state() {
    let juju = FakeJuju::new(State::new("a/0"));
    let h = juju.hook();
    // Juju prints `null` for no state, and `""` for a missing key unless --strict.
    let call = ToolCall::new("state-get", ["--format=json"]);
    assert_eq!(juju.run(&call).unwrap(), b"null\n");
    assert!(h.state_get().unwrap().is_empty());
    let call = ToolCall::new("state-get", ["--format=json", "nope"]);
    assert_eq!(juju.run(&call).unwrap(), b"\"\"\n");
    let call = ToolCall::new("state-get", ["--format=json", "--strict", "nope"]);
    assert_eq!(
        exit(juju.run(&call)),
        (1, "ERROR \"nope\" not found".into())
    );
    assert_eq!(h.state_get_key("nope").unwrap(), None);
    h.state_set(&map(&[("a", "1"), ("b", "2")])).unwrap();
    // An empty value is stored, not deleted.
    h.state_set(&map(&[("b", "")])).unwrap();
    assert_eq!(h.state_get().unwrap(), map(&[("a", "1"), ("b", "")]));
    assert_eq!(h.state_get_key("a").unwrap().as_deref(), Some("1"));
    assert_eq!(h.state_get_key("b").unwrap().as_deref(), Some(""));
    h.state_delete("a").unwrap();
    h.state_delete("a").unwrap();
    let call = ToolCall::new("state-set", ["k=".to_string() + &"v".repeat(65537)]);
    assert_eq!(
        exit(juju.run(&call)),
        (1, "ERROR max allowed value length (65536) exceeded".into())
    );
    assert_eq!(juju.into_state().juju_state, map(&[("b", "")]));
}

#[test]
fn network_goal_storage_credentials_reboot() {
    let juju = FakeJuju::new(
        State::new("a/0")
            .with_network("juju-info", json!({"ingress-addresses": ["10.0.0.2"]}))
            .with_storage(Storage::new("data/0", "filesystem", "/srv/data"))
            .with_storage(Storage::new("logs/0", "filesystem", "/srv/logs")),
    );
    let h = juju.hook();
    assert_eq!(
        h.network_get("juju-info", None).unwrap()["ingress-addresses"][0],
        "10.0.0.2"
    );
    assert_eq!(exit(h.network_get("nope", None)).0, 1);
    assert_eq!(
        h.goal_state().unwrap(),
        json!({"units": {}, "relations": {}})
    );
    assert_eq!(h.storage_list(None).unwrap(), vec!["data/0", "logs/0"]);
    assert_eq!(h.storage_list(Some("logs")).unwrap(), vec!["logs/0"]);
    assert_eq!(
        h.storage_get(Some("data/0")).unwrap()["location"],
        json!("/srv/data")
    );
    assert_eq!(exit(h.storage_get(None)).0, 2);
    assert_eq!(exit(h.credential_get()).0, 1);
    juju.with_state(|s| s.credentials = Some(json!({"type": "lxd"})));
    assert_eq!(h.credential_get().unwrap()["type"], "lxd");
    h.juju_reboot(false).unwrap();
    assert!(juju.state().reboot_requested);
}

#[test]
fn logs_and_calls_are_recorded() {
    let juju = FakeJuju::new(state(true));
    let h = juju.hook();
    h.juju_log(LogLevel::Warning, "-careful").unwrap();
    h.juju_log(LogLevel::Debug, "two words").unwrap();
    h.relation_set(&rid(), true, &map(&[("k", "v")])).unwrap();
    assert_eq!(
        juju.logs(),
        vec![
            (LogLevel::Warning, "-careful".to_string()),
            (LogLevel::Debug, "two words".to_string())
        ]
    );
    let calls = juju.calls();
    assert_eq!(
        calls.iter().map(|c| c.tool.as_str()).collect::<Vec<_>>(),
        ["juju-log", "juju-log", "relation-set"]
    );
    assert_eq!(calls[2].stdin.as_deref(), Some(&br#"{"k":"v"}"#[..]));
    assert!(calls[2].redact.stdin);
}

#[test]
fn failure_injection() {
    let juju = FakeJuju::new(state(true));
    let h = juju.hook();
    juju.fail("is-leader", 1, "ERROR connection refused");
    assert_eq!(
        exit(h.is_leader()),
        (1, "ERROR connection refused".to_string())
    );
    juju.respond("relation-ids", b"not json".to_vec());
    match h.relation_ids("charm-tracing") {
        Err(Error::ToolOutput { tool, .. }) => assert_eq!(tool, "relation-ids"),
        other => panic!("{other:?}"),
    }
    juju.respond("status-get", br#"{"status":"sleeping"}"#.to_vec());
    assert!(matches!(h.status_get(false), Err(Error::ToolOutput { .. })));
    juju.clear_injections();
    assert!(h.is_leader().unwrap());
    // Injected failures are recorded like any call.
    assert_eq!(juju.calls_of("is-leader").len(), 2);
}

#[test]
fn fake_checks_command_lines() {
    let juju = FakeJuju::new(state(true));
    let (code, err) = exit(juju.run(&ToolCall::new("no-such-tool", ["x"])));
    assert_eq!(code, 127);
    assert_eq!(err, "no-such-tool: command not found");
    let (code, err) = exit(juju.run(&ToolCall::new("is-leader", ["--format=json", "--bogus"])));
    assert_eq!(code, 2);
    assert!(err.contains("flag provided but not defined"), "{err}");
    // Without --format, jujuc answers in its `smart` format, which is not JSON.
    let call = ToolCall::new("is-leader", Vec::<String>::new());
    assert_eq!(juju.run(&call).unwrap(), b"True\n");
    // gnuflag reads `-format=json` as the one-letter flags -f -o -r…
    let (code, err) = exit(juju.run(&ToolCall::new("is-leader", ["-format=json"])));
    assert_eq!(
        (code, err.as_str()),
        (2, "ERROR flag provided but not defined: -f")
    );
    let (code, _) = exit(juju.run(&ToolCall::new("goal-state", ["--format=json", "extra"])));
    assert_eq!(code, 2);
    // gnuflag forms: `--flag value`, `--flag=value`, `--` ends flags.
    let call = ToolCall::new(
        "relation-get",
        [
            "--format",
            "json",
            "--relation=5",
            "--app",
            "--",
            "-",
            "tempo",
        ],
    );
    assert_eq!(juju.run(&call).unwrap(), b"{\"receivers\":\"[]\"}\n");
    // relation-set takes YAML too, and KEY=VALUE arguments.
    let call = ToolCall::new("relation-set", ["-r", "5", "--file", "-", "b=2"])
        .with_stdin(b"a: '1'\n".to_vec());
    juju.run(&call).unwrap();
    assert_eq!(
        juju.state().relations[0].local_unit_data,
        map(&[("a", "1"), ("b", "2")])
    );
}

#[test]
fn secret_ids_compare_equal_whichever_tool_printed_them() {
    // Juju 3.6: secret-add prints `secret://<model>/<id>`, secret-ids and secret-info-get
    // print the bare id; an older Juju's secret-add printed `secret:<id>`.
    for model_uuid in [MODEL_UUID, ""] {
        let mut st = state(true);
        st.model_uuid = model_uuid.to_string();
        let juju = FakeJuju::new(st);
        let h = juju.hook();
        let id = h
            .secret_add(
                &map(&[("token", "t0k")]),
                &SecretOptions::new().with_label("t"),
            )
            .unwrap();
        let raw = String::from_utf8(
            juju.run(&ToolCall::new("secret-ids", ["--format=json"]))
                .unwrap(),
        )
        .unwrap();
        assert!(!raw.contains("secret:"), "Juju prints bare ids: {raw}");
        assert_eq!(h.secret_ids().unwrap(), vec![id.clone()], "{model_uuid:?}");
        assert_eq!(h.secret_info_get(None, Some("t")).unwrap().id, id);
        // Any form of the id finds the secret, and comes back the same.
        let bare = id.rsplit(['/', ':']).next().unwrap();
        assert_eq!(h.canonical_secret_id(bare), id);
        assert_eq!(h.secret_info_get(Some(bare), None).unwrap().id, id);
        assert_eq!(
            h.secret_get(Some(bare), None, SecretRefresh::Tracked)
                .unwrap()["token"],
            "t0k"
        );
    }
}

#[test]
fn not_found_errors_are_typed() {
    let juju = FakeJuju::new(state(true));
    let h = juju.hook();
    let gone = RelationId::new("charm-tracing", 9);
    let is_relation_not_found = |r: Result<()>| match r {
        Err(Error::RelationNotFound { relation, source }) => {
            assert_eq!(relation, "charm-tracing:9");
            // The tool's own failure is kept as the source.
            assert!(
                matches!(
                    *source,
                    Error::HookTool {
                        status: Some(2),
                        ..
                    }
                ),
                "{source}"
            );
            assert!(
                source.to_string().contains(": relation not found"),
                "{source}"
            );
        }
        other => panic!("expected RelationNotFound, got {other:?}"),
    };
    is_relation_not_found(h.relation_list(&gone).map(drop));
    is_relation_not_found(h.relation_get(&gone, "tempo", true).map(drop));
    is_relation_not_found(h.relation_get_key(&gone, "k", "tempo/0", false).map(drop));
    is_relation_not_found(h.relation_set(&gone, false, &map(&[("k", "v")])));
    // As ops: the remote application of an unknown relation is None.
    assert_eq!(h.relation_list_app(&gone).unwrap(), None);

    let missing = "secret:d0ckcn6fltq4c6e0a8n0";
    let is_secret_not_found = |r: Result<()>, want: &str| match r {
        Err(e @ Error::SecretNotFound { .. }) => {
            let Error::SecretNotFound { secret, .. } = &e else {
                unreachable!()
            };
            assert_eq!(secret, want);
            assert!(std::error::Error::source(&e).is_some());
        }
        other => panic!("expected SecretNotFound, got {other:?}"),
    };
    let canonical = h.canonical_secret_id(missing);
    is_secret_not_found(
        h.secret_get(Some(missing), None, SecretRefresh::Tracked)
            .map(drop),
        &canonical,
    );
    is_secret_not_found(
        h.secret_get(None, Some("nope"), SecretRefresh::Peek)
            .map(drop),
        "nope",
    );
    is_secret_not_found(h.secret_info_get(None, Some("nope")).map(drop), "nope");
    is_secret_not_found(h.secret_grant(missing, &rid(), None), &canonical);
    // An unknown relation is the relation's error, not the secret's.
    let id = h
        .secret_add(&map(&[("token", "t0k")]), &SecretOptions::new())
        .unwrap();
    is_relation_not_found(h.secret_grant(&id, &gone, None));
    // Other failures stay what they were.
    assert!(matches!(
        h.relation_set(&rid(), true, &map(&[("k", "")])),
        Ok(())
    ));
    juju.with_state(|s| s.leader = false);
    assert!(matches!(
        h.relation_set(&rid(), true, &map(&[("k", "v")])),
        Err(Error::HookTool { .. })
    ));
}

#[test]
fn ports_by_endpoint() {
    let juju = FakeJuju::new(State::new("a/0").with_opened_port(Port::tcp(80)));
    let h = juju.hook();
    h.open_port_on(&Port::tcp(9000), &["dmz", "public"])
        .unwrap();
    h.open_port_on(&Port::tcp(80), &["dmz"]).unwrap();
    assert_eq!(
        h.opened_ports().unwrap(),
        vec![Port::tcp(80), Port::tcp(9000)]
    );
    let all = |p: Port| OpenedPort {
        port: p,
        endpoints: PortEndpoints::All,
    };
    let only = |p: Port, e: &[&str]| OpenedPort {
        port: p,
        endpoints: PortEndpoints::Only(e.iter().map(|s| s.to_string()).collect()),
    };
    assert_eq!(
        h.opened_ports_with_endpoints().unwrap(),
        vec![
            all(Port::tcp(80)),
            only(Port::tcp(9000), &["dmz", "public"])
        ]
    );
    // Closing for one endpoint leaves the others; closing for all leaves per-endpoint ports.
    h.close_port_on(&Port::tcp(9000), &["dmz"]).unwrap();
    h.close_port(&Port::tcp(80)).unwrap();
    assert_eq!(
        h.opened_ports_with_endpoints().unwrap(),
        vec![
            only(Port::tcp(80), &["dmz"]),
            only(Port::tcp(9000), &["public"])
        ]
    );
    // An overlapping range is refused, in Juju's words.
    assert_eq!(
        exit(h.open_port(&Port::tcp_range(8000, 9010))),
        (
            1,
            "ERROR cannot open 8000-9010/tcp (unit \"a/0\"): port range conflicts with 9000/tcp \
             (unit \"a/0\")"
                .into()
        )
    );
    let out = juju.into_state();
    assert_eq!(
        out.all_opened_ports(),
        [Port::tcp(80), Port::tcp(9000)].into()
    );
    assert_eq!(out.opened_ports["public"], [Port::tcp(9000)].into());
}

#[test]
fn resources_storage_add_relation_model_and_network_of_a_relation() {
    let mut st = state(true)
        .with_resource("software", "/var/lib/juju/resources/software/sw.zip")
        .with_network("charm-tracing", json!({"ingress-addresses": ["10.0.0.9"]}));
    st.relations[0].remote_model_uuid = Some("deadbeef-1bad-500d-9000-4b1d0d06f00d".into());
    let juju = FakeJuju::new(st.with_relation(Relation::new("peers", 7, "rust-starter")));
    let h = juju.hook();
    assert_eq!(
        h.resource_get("software").unwrap(),
        std::path::PathBuf::from("/var/lib/juju/resources/software/sw.zip")
    );
    match h.resource_get("firmware") {
        Err(e @ Error::ResourceNotFound { .. }) => assert!(
            e.to_string().contains(
                "ERROR could not download resource: resource#rust-starter/firmware not found"
            ),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    h.storage_add("data", 2).unwrap();
    h.storage_add("data", 1).unwrap();
    let call = ToolCall::new("storage-add", ["logs", "cache=3"]);
    juju.run(&call).unwrap();
    assert_eq!(
        exit(juju.run(&ToolCall::new("storage-add", ["data=1G"]))),
        (2, "ERROR only count can be specified for \"data\"".into())
    );
    assert_eq!(
        juju.state().storage_added,
        [("cache".into(), 3), ("data".into(), 3), ("logs".into(), 1)].into()
    );
    assert_eq!(
        h.relation_model_get(&rid()).unwrap(),
        "deadbeef-1bad-500d-9000-4b1d0d06f00d"
    );
    assert_eq!(
        h.relation_model_get(&RelationId::new("peers", 7)).unwrap(),
        MODEL_UUID
    );
    let gone = RelationId::new("peers", 70);
    assert!(matches!(
        h.relation_model_get(&gone),
        Err(Error::RelationNotFound { .. })
    ));
    assert_eq!(
        h.network_get("charm-tracing", Some(&rid())).unwrap()["ingress-addresses"][0],
        "10.0.0.9"
    );
    assert!(matches!(
        h.network_get("charm-tracing", Some(&gone)),
        Err(Error::RelationNotFound { .. })
    ));
    let call = ToolCall::new(
        "network-get",
        ["--ingress-address", "-r", "5", "charm-tracing"],
    );
    assert_eq!(juju.run(&call).unwrap(), b"10.0.0.9\n");
}

#[test]
fn secret_revoke_app_and_action_get_key() {
    let juju = FakeJuju::new(
        state(true)
            .with_action_param("opts", json!({"deep": {"x": 1}}))
            .with_action_param("count", 3),
    );
    let h = juju.hook();
    let id = h
        .secret_add(&map(&[("token", "t0k")]), &SecretOptions::new())
        .unwrap();
    h.secret_grant(&id, &rid(), None).unwrap();
    h.secret_revoke_app(&id, "other").unwrap();
    assert_eq!(juju.state().secrets[0].grants.len(), 1);
    h.secret_revoke_app(&id, "tempo").unwrap();
    assert!(juju.state().secrets[0].grants.is_empty());
    let call = ToolCall::new("secret-revoke", [id.as_str(), "--app", "tempo", "-r", "5"]);
    assert_eq!(
        exit(juju.run(&call)),
        (2, "ERROR do not specify both relation and app".into())
    );
    assert_eq!(h.action_get_key("opts.deep.x").unwrap(), Some(json!(1)));
    assert_eq!(
        h.action_get_key("opts.deep").unwrap(),
        Some(json!({"x": 1}))
    );
    assert_eq!(h.action_get_key("opts.nope").unwrap(), None);
    assert_eq!(h.action_get_key("count.x").unwrap(), None);
    assert_eq!(h.action_get_key("count").unwrap(), Some(json!(3)));
}

#[test]
fn new_tools_get_spans_like_the_others_and_secrets_stay_out_of_them() {
    use crate::trace::setup::SpanCollector;
    use crate::trace::tools::TracedTools;
    let fake = FakeJuju::new(state(true).with_resource("software", "/srv/sw.zip"));
    let collector = SpanCollector::start();
    let traced = TracedTools::new(&fake);
    let h = Hook::new(&traced).with_model_uuid(MODEL_UUID);
    let id = h
        .secret_add(&map(&[("password", "hunter2")]), &SecretOptions::new())
        .unwrap();
    h.secret_set(&id, &map(&[("password", "hunter3")]), &SecretOptions::new())
        .unwrap();
    h.secret_revoke_app(&id, "tempo").unwrap();
    h.resource_get("software").unwrap();
    h.storage_add("data", 1).unwrap();
    h.relation_model_get(&rid()).unwrap();
    h.open_port_on(&Port::tcp(80), &["dmz"]).unwrap();
    h.opened_ports_with_endpoints().unwrap();
    h.action_get_key("x.y").unwrap();
    let spans = collector.take();
    drop(collector);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    for tool in [
        "secret-add",
        "secret-set",
        "secret-revoke",
        "resource-get",
        "storage-add",
        "relation-model-get",
        "open-port",
        "opened-ports",
        "action-get",
    ] {
        assert!(names.contains(&tool), "no span for {tool}: {names:?}");
    }
    let all = format!("{spans:?}");
    assert!(!all.contains("hunter"), "secret values never recorded");
    assert!(all.contains("password#file=<redacted>"), "{all}");
}

#[test]
fn secret_add_flags_are_checked_as_jujuc_checks_them() {
    let juju = FakeJuju::new(state(true));
    let run = |args: &[&str]| juju.run(&ToolCall::new("secret-add", args.iter().copied()));
    run(&["--expire", "24h", "token=x"]).unwrap();
    run(&[
        "--expire",
        "2025-01-01T06:06:06",
        "--rotate",
        "daily",
        "token=x",
    ])
    .unwrap();
    let refused =
        |args: &[&str], msg: &str| assert_eq!(exit(run(args)), (2, format!("ERROR {msg}")));
    refused(
        &["--expire", "-1h", "token=x"],
        "negative expire duration \"-1h\" not valid",
    );
    refused(
        &["--expire", "soon", "token=x"],
        "expire time or duration \"soon\" not valid",
    );
    refused(
        &["--rotate", "often", "token=x"],
        "rotate policy \"often\" not valid",
    );
    refused(
        &["--owner", "model", "token=x"],
        "secret owner \"model\" not valid",
    );
    refused(&[], "missing secret value or filename");
}

/// The hook context of a dispatch with these variables set (the rest of a unit's context).
fn hook_context(f: impl FnOnce(&mut crate::context::JujuContext)) -> crate::context::JujuContext {
    let mut ctx = crate::context::JujuContext {
        unit_name: "rust-starter/0".into(),
        ..Default::default()
    };
    f(&mut ctx);
    ctx
}

fn text(r: Result<Vec<u8>>) -> String {
    String::from_utf8(r.unwrap()).unwrap()
}

#[test]
fn the_action_tools_refuse_outside_an_action_once_the_command_line_parses() {
    let juju = FakeJuju::new(state(true).with_action_param("n", json!(1)));
    // A fake on its own has no hook context: the tools answer.
    assert_eq!(text(juju.run(&ToolCall::new("action-get", ["n"]))), "1\n");
    juju.enter(&hook_context(|c| c.hook_name = Some("start".into())));
    for (tool, args) in [
        ("action-get", vec![]),
        ("action-get", vec!["n"]),
        ("action-set", vec!["a=1"]),
        ("action-log", vec!["hello"]),
        ("action-fail", vec![]),
    ] {
        assert_eq!(
            exit(juju.run(&ToolCall::new(tool, args.clone()))),
            (1, "ERROR not running an action".into()),
            "{tool} {args:?}"
        );
    }
    // Command-line errors come first (Init before Run), as in jujuc.
    assert_eq!(
        exit(juju.run(&ToolCall::new("action-log", None::<&str>))).0,
        2
    );
    assert_eq!(exit(juju.run(&ToolCall::new("action-set", ["nokey"]))).0, 2);
    assert_eq!(
        exit(juju.run(&ToolCall::new("action-get", ["a", "b"]))).0,
        2
    );
    let st = juju.state();
    assert!(st.action_results.is_empty() && st.action_logs.is_empty());
    assert!(st.action_failed.is_none());
    // In an action they work.
    juju.enter(&hook_context(|c| c.action_name = Some("do-it".into())));
    assert_eq!(text(juju.run(&ToolCall::new("action-get", ["n"]))), "1\n");
    juju.run(&ToolCall::new("action-set", ["a=1"])).unwrap();
    assert_eq!(juju.state().action_results["a"], "1");
    // juju-reboot.go: not from an action.
    assert_eq!(
        exit(juju.hook().juju_reboot(false)),
        (
            1,
            "ERROR juju-reboot is not supported when running an action.".into()
        )
    );
    assert!(!juju.state().reboot_requested);
}

#[test]
fn relation_tools_default_to_the_hook_s_relation_and_remote_unit() {
    let juju = FakeJuju::new(state(true));
    let bare = |tool: &str, args: &[&str]| juju.run(&ToolCall::new(tool, args.iter().copied()));
    // No hook context (or a hook without a relation): -r and the unit must be given.
    assert_eq!(
        exit(bare("relation-list", &[])),
        (2, "ERROR no relation id specified".into())
    );
    juju.enter(&hook_context(|c| c.hook_name = Some("start".into())));
    assert_eq!(
        exit(bare("relation-get", &["-r", "5", "ingress"])),
        (2, "ERROR no unit or application specified".into())
    );
    assert_eq!(exit(bare("relation-set", &["a=b"])).0, 2);
    // A relation hook: its relation, its remote unit, its remote application with --app.
    juju.enter(&hook_context(|c| {
        c.relation_id = Some(rid());
        c.remote_unit = Some("tempo/0".into());
        c.remote_app = Some("tempo".into());
    }));
    assert_eq!(
        text(bare("relation-list", &["--format=json"])),
        "[\"tempo/0\",\"tempo/1\"]\n"
    );
    assert_eq!(text(bare("relation-get", &["ingress"])), "10.0.0.1\n");
    assert_eq!(text(bare("relation-get", &["--app", "receivers"])), "[]\n");
    // A unit named explicitly still wins over the default.
    assert_eq!(text(bare("relation-get", &["ingress", "tempo/1"])), "");
    bare("relation-set", &["k=v"]).unwrap();
    assert_eq!(juju.state().relations[0].local_unit_data["k"], "v");
    // A relation-changed for the application's databag names no remote unit: its remote
    // application's databag is read.
    juju.enter(&hook_context(|c| {
        c.relation_id = Some(rid());
        c.remote_app = Some("tempo".into());
    }));
    assert_eq!(text(bare("relation-get", &["receivers"])), "[]\n");
    assert_eq!(text(bare("relation-get", &["ingress"])), "");
}

#[test]
fn storage_get_defaults_to_the_hook_s_storage() {
    let juju = FakeJuju::new(
        State::new("a/0")
            .with_storage(Storage::new("data/0", "filesystem", "/srv/data"))
            .with_storage(Storage::new("logs/0", "filesystem", "/srv/logs")),
    );
    let h = juju.hook();
    assert_eq!(exit(h.storage_get(None)).0, 2);
    juju.enter(&hook_context(|c| {
        c.storage_id = Some(crate::context::StorageRef {
            name: "logs".into(),
            index: 0,
        })
    }));
    assert_eq!(h.storage_get(None).unwrap()["location"], json!("/srv/logs"));
    assert_eq!(
        h.storage_get(Some("data/0")).unwrap()["location"],
        json!("/srv/data")
    );
}

#[test]
fn secret_grant_and_revoke_take_the_hook_s_relation() {
    let juju = FakeJuju::new(state(true));
    let h = juju.hook();
    let id = h
        .secret_add(&map(&[("token", "t0k")]), &SecretOptions::new())
        .unwrap();
    let bare = |args: &[&str]| juju.run(&ToolCall::new("secret-grant", args.iter().copied()));
    assert_eq!(
        exit(bare(&[&id])),
        (2, "ERROR no relation id specified".into())
    );
    juju.enter(&hook_context(|c| {
        c.relation_id = Some(rid());
        c.remote_app = Some("tempo".into());
    }));
    // secret-grant: -r defaults to the hook's relation.
    bare(&[&id]).unwrap();
    assert_eq!(juju.state().secrets[0].grants.len(), 1);
    // secret-revoke: the hook's relation counts as given, so --app beside it is refused...
    let revoke = |args: &[&str]| juju.run(&ToolCall::new("secret-revoke", args.iter().copied()));
    assert_eq!(
        exit(h.secret_revoke_app(&id, "tempo")),
        (2, "ERROR do not specify both relation and app".into())
    );
    // ...and nothing else is needed.
    revoke(&[&id]).unwrap();
    assert!(juju.state().secrets[0].grants.is_empty());
}
