//! The charm, state in and state out: each test gives the harness a state (config, the
//! `workload` container as its Pebble has it) and an event, and checks the state after — the
//! plan, the services, the pushed file, Pebble's changes, the status. No Juju, no Pebble, no
//! process. Copy it when you fork.

use charmkit::hookcmd::{Port, Status};
use charmkit::meta::Metadata;
use charmkit::pebble::{CheckInfo, CheckStatus, ServiceStatus};
use charmkit::testing::{run, Container, Output, Relation, State, Trigger};
use k8s_starter::charm::{layer, nginx_config, CHECK, CONFIG_FILE, CONTAINER, SERVICE};
use k8s_starter::K8sStarter;

fn meta() -> Metadata {
    Metadata::from_dir(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap()
}

fn workload() -> Container {
    Container::new(CONTAINER)
}

/// The pebble-ready of a fresh unit: the state every later test starts from.
fn ready() -> Output {
    let out = run::<K8sStarter>(
        &meta(),
        Trigger::pebble_ready(&workload()),
        State::default().with_container(workload()),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    out
}

fn kinds(container: &Container) -> Vec<&str> {
    container.changes.iter().map(|c| c.kind.as_str()).collect()
}

#[test]
fn pebble_ready_pushes_the_config_adds_the_layer_and_starts_nginx() {
    let out = ready();
    let after = out.state.container(CONTAINER).unwrap();
    assert_eq!(
        after.file(CONFIG_FILE),
        Some(nginx_config(8080, "info").as_bytes())
    );
    assert_eq!(after.layers, [(SERVICE.to_string(), layer(8080))]);
    let plan = after.plan().unwrap();
    assert_eq!(
        plan.checks[CHECK].http.as_ref().unwrap().url,
        "http://localhost:8080/healthz"
    );
    assert_eq!(after.service_status(SERVICE), ServiceStatus::Active);
    assert_eq!(kinds(after), ["replan"]);
    // Opened for every endpoint (the key "").
    assert_eq!(out.state.opened_ports[""], [Port::tcp(8080)].into());
    assert_eq!(out.state.unit_status, Status::active("serving on :8080"));
    // Every Pebble call is a span under the handler, as hook tools are.
    assert!(out.spans.iter().any(|s| s.name == "pebble POST /v1/layers"));
}

#[test]
fn a_config_change_pushes_the_file_and_restarts_nginx() {
    let state = ready().state.with_config("port", 9090);
    let out = run::<K8sStarter>(&meta(), Trigger::config_changed(), state);
    assert!(out.error.is_none(), "{:?}", out.error);
    let after = out.state.container(CONTAINER).unwrap();
    assert_eq!(
        after.file(CONFIG_FILE),
        Some(nginx_config(9090, "info").as_bytes())
    );
    assert_eq!(
        after.plan().unwrap().checks[CHECK]
            .http
            .as_ref()
            .unwrap()
            .url,
        "http://localhost:9090/healthz"
    );
    // Restarted for its new config, then the replan has nothing left to do.
    assert_eq!(kinds(after), ["replan", "restart", "replan"]);
    assert_eq!(after.changes[1].summary, "Restart service \"nginx\"");
    assert_eq!(after.service_status(SERVICE), ServiceStatus::Active);
    assert_eq!(out.state.opened_ports[""], [Port::tcp(9090)].into());
    assert_eq!(out.state.unit_status, Status::active("serving on :9090"));
}

#[test]
fn the_same_config_again_neither_pushes_nor_restarts() {
    let out = run::<K8sStarter>(&meta(), Trigger::config_changed(), ready().state);
    assert!(out.error.is_none(), "{:?}", out.error);
    let pushes = out
        .pebble_calls
        .iter()
        .filter(|c| c.method == "POST" && c.path == "/v1/files")
        .count();
    assert_eq!(pushes, 0);
    assert_eq!(
        kinds(out.state.container(CONTAINER).unwrap()),
        ["replan", "replan"]
    );
}

#[test]
fn it_waits_for_the_workload_container() {
    let mut down = workload();
    down.can_connect = false;
    let out = run::<K8sStarter>(
        &meta(),
        Trigger::config_changed(),
        State::default().with_container(down),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(out.pebble_calls.iter().all(|c| c.path == "/v1/system-info"));
    assert_eq!(
        out.state.unit_status,
        Status::waiting("waiting for the workload container")
    );
}

#[test]
fn a_bad_config_blocks_the_unit_and_changes_nothing() {
    for (key, value, why) in [
        (
            "log-level",
            serde_json::json!("loud"),
            "log-level \"loud\" is not one of debug, info, notice, warn, error, crit, alert, emerg",
        ),
        (
            "port",
            serde_json::json!(70000),
            "port 70000 is not a port (1-65535)",
        ),
    ] {
        let state = State::default()
            .with_container(workload())
            .with_config(key, value);
        let out = run::<K8sStarter>(&meta(), Trigger::config_changed(), state);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.state.unit_status, Status::blocked(why));
        assert!(out.state.container(CONTAINER).unwrap().layers.is_empty());
    }
}

#[test]
fn collect_status_reports_a_failing_check() {
    let mut down = CheckInfo::up(CHECK);
    down.level = Some(charmkit::pebble::CheckLevel::Alive);
    down.status = CheckStatus::Down;
    down.failures = 3;
    let state = ready().state;
    let container = state
        .container(CONTAINER)
        .unwrap()
        .clone()
        .with_check_info(down.clone());
    let state = State {
        containers: vec![container.clone()],
        ..state
    };
    let out = run::<K8sStarter>(
        &meta(),
        Trigger::pebble_check_failed(&container, &down),
        state,
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.state.unit_status,
        Status::maintenance(
            "nginx is not answering on :8080 (check \"up\" is down); Pebble is restarting it"
        )
    );
}

#[test]
fn the_restart_action_restarts_nginx() {
    let out = run::<K8sStarter>(&meta(), Trigger::action("restart"), ready().state);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.state.action_results["restarted"], "nginx");
    assert_eq!(
        kinds(out.state.container(CONTAINER).unwrap()),
        ["replan", "restart"]
    );

    let mut down = workload();
    down.can_connect = false;
    let out = run::<K8sStarter>(
        &meta(),
        Trigger::action("restart"),
        State::default().with_container(down),
    );
    assert_eq!(
        out.state.action_failed.as_deref(),
        Some("the workload container is not up")
    );
}

#[test]
fn it_asks_tempo_for_otlp_http_as_rust_starter_does() {
    let tempo = Relation::new("charm-tracing", 5, "tempo");
    let state = ready().state.with_leader(true).with_relation(tempo.clone());
    let out = run::<K8sStarter>(&meta(), Trigger::relation_created(&tempo), state);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.state.relations[0].local_app_data["receivers"],
        r#"["otlp_http"]"#
    );
}

/// The top-level keys of one of the charm's YAML files.
fn keys(file: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let doc: serde_norway::Mapping = serde_norway::from_str(&text).unwrap();
    doc.keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_build_and_what_juju_reads_are_split_as_charmcraft_wants() {
    // charmcraft refuses a field in both files.
    assert_eq!(
        keys("charmcraft.yaml"),
        ["type", "base", "platforms", "parts", "config", "actions"]
    );
    assert_eq!(
        keys("metadata.yaml"),
        [
            "name",
            "display-name",
            "summary",
            "description",
            "assumes",
            "containers",
            "resources",
            "requires"
        ]
    );
    let meta = meta();
    let workload = &meta.containers[CONTAINER];
    let image = workload.resource.as_deref().unwrap();
    assert_eq!(
        meta.resources[image].kind,
        charmkit::meta::ResourceType::OciImage
    );
    assert!(meta.config.contains_key("port") && meta.actions.contains_key("restart"));
}
