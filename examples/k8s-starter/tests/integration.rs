//! Integration tests: the real charm binary, run through `./dispatch` as Juju runs it, with
//! stub hook tools on PATH and the workload container's Pebble on a unix socket owned by the
//! test (charmkit's fake Pebble, speaking Pebble's HTTP API), found through
//! `CHARMKIT_CONTAINERS_DIR` as the charm finds `/charm/containers` under Juju.

use std::path::PathBuf;

use crate::util::{stderr, stdout, Call, Unit, CHARM};
use charmkit::pebble::ServiceStatus;
use charmkit::testing::pebble::{Container, FakePebble, PebbleServer};
use k8s_starter::charm::{layer, nginx_config, CONFIG_FILE, CONTAINER, SERVICE};

/// A unit whose `workload` container's Pebble listens on a socket under its own directory.
struct Pod {
    unit: Unit,
    containers: PathBuf,
}

impl Pod {
    fn new() -> Pod {
        let unit = Unit::new(&CHARM);
        let containers = unit.root.path().join("containers");
        std::fs::create_dir_all(containers.join(CONTAINER)).unwrap();
        Pod { unit, containers }
    }

    /// Starts the workload's Pebble (stopped when the server is dropped).
    fn pebble(&self) -> (FakePebble, PebbleServer) {
        let fake = FakePebble::new(Container::new(CONTAINER));
        let socket = self.containers.join(CONTAINER).join("pebble.socket");
        let server = fake.serve(&socket).unwrap();
        (fake, server)
    }

    fn config(&self, port: u16) {
        self.unit.respond(
            "config-get --format=json --all",
            &format!(r#"{{"port": {port}, "log-level": "info"}}"#),
        );
    }

    /// Runs `path` through `./dispatch` and returns the hook tools it called (no juju-log).
    fn dispatch(&self, path: &str) -> Vec<String> {
        let dir = self.containers.display().to_string();
        let out = self.unit.dispatch(
            path,
            &[
                ("CHARMKIT_CONTAINERS_DIR", dir.as_str()),
                ("JUJU_WORKLOAD_NAME", CONTAINER),
            ],
        );
        assert!(out.status.success(), "{path}: {}", stderr(&out));
        self.unit
            .take_calls()
            .iter()
            .filter(|c| c.tool != "juju-log")
            .map(Call::line)
            .collect()
    }
}

fn kinds(fake: &FakePebble) -> Vec<String> {
    fake.changes().into_iter().map(|c| c.kind).collect()
}

#[test]
fn pebble_ready_then_a_config_change_over_the_socket() {
    let pod = Pod::new();
    let (fake, _server) = pod.pebble();
    pod.config(8080);

    let tools = pod.dispatch("hooks/workload-pebble-ready");
    let after = fake.container();
    assert_eq!(after.layers, [(SERVICE.to_string(), layer(8080))]);
    assert_eq!(
        after.file(CONFIG_FILE),
        Some(nginx_config(8080, "info").as_bytes())
    );
    assert_eq!(kinds(&fake), ["replan"]);
    assert_eq!(after.service_status(SERVICE), ServiceStatus::Active);
    assert!(
        tools.contains(&"open-port 8080/tcp".to_string()),
        "{tools:?}"
    );
    assert_eq!(
        tools.last().unwrap(),
        "status-set active -- serving on :8080"
    );

    // A new port: the file is pushed again, nginx restarted for it, the port moved.
    pod.config(9090);
    pod.unit
        .respond("opened-ports --format=json", r#"["8080/tcp"]"#);
    let tools = pod.dispatch("hooks/config-changed");
    assert_eq!(
        fake.container().file(CONFIG_FILE),
        Some(nginx_config(9090, "info").as_bytes())
    );
    assert_eq!(kinds(&fake), ["replan", "restart", "replan"]);
    assert!(
        tools.contains(&"close-port 8080/tcp".to_string()),
        "{tools:?}"
    );
    assert!(
        tools.contains(&"open-port 9090/tcp".to_string()),
        "{tools:?}"
    );
    assert_eq!(
        tools.last().unwrap(),
        "status-set active -- serving on :9090"
    );

    // Every Pebble call is a span in the unit's trace buffer.
    let dump = pod
        .unit
        .command(&["trace", "dump"], &[])
        .env("JUJU_CHARM_DIR", &pod.unit.charm_dir)
        .output()
        .unwrap();
    let text = stdout(&dump);
    for span in ["pebble POST /v1/layers", "pebble POST /v1/files"] {
        assert!(text.contains(span), "{span} not in the buffer");
    }
    assert!(
        !text.contains("worker_processes"),
        "file contents never reach a span"
    );
}

#[test]
fn no_pebble_yet_the_hook_succeeds_and_the_unit_waits() {
    let pod = Pod::new();
    pod.config(8080);
    let tools = pod.dispatch("hooks/config-changed");
    assert_eq!(
        tools.last().unwrap(),
        "status-set waiting -- waiting for the workload container"
    );
}
