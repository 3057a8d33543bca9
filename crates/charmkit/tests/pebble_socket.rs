//! The Pebble client against the fake Pebble served on a real unix socket: every call crosses
//! HTTP/1.1 (ureq), multipart bodies and websockets (tungstenite) as it would with Pebble.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use charmkit::pebble::{
    ChangeStatus, CheckInfo, CheckLevel, CheckStatus, Client, Error, ExecOptions, FileOptions,
    FileType, Layer, NoticeType, NoticesFilter, ServiceStatus,
};
use charmkit::testing::pebble::{Container, ExecResult, FakePebble, PebbleServer, StartFailure};

const LAYER: &str = "\
summary: web
services:
  web:
    override: replace
    command: /bin/web --port 8080
    startup: enabled
  worker:
    override: replace
    command: /bin/worker
checks:
  up:
    override: replace
    level: ready
    http:
      url: http://localhost:8080/health
";

fn serve(container: Container) -> (tempfile::TempDir, FakePebble, PebbleServer, Client) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("web").join("pebble.socket");
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    let fake = FakePebble::new(container);
    let server = fake.serve(&socket).unwrap();
    let client = Client::with_socket(&socket);
    (dir, fake, server, client)
}

#[test]
fn missing_socket_is_a_connection_error_and_cannot_connect() {
    let client = Client::with_socket(Path::new("/nonexistent/charmkit/pebble.socket"));
    assert!(!client.can_connect());
    let err = client.system_info().unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    assert!(err
        .to_string()
        .contains("/nonexistent/charmkit/pebble.socket"));
}

#[test]
fn layers_plan_services_and_a_failing_start() {
    let (_dir, fake, _server, client) = serve(Container::new("web"));
    assert!(client.can_connect());
    assert_eq!(client.system_info().unwrap().version, "v1.32.1");

    let layer = Layer::from_yaml(LAYER).unwrap();
    client.add_layer("base", &layer, false).unwrap();
    let err = client.add_layer("base", &layer, false).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                status_code: 400,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(r#"layer "base" already exists"#),
        "{err}"
    );
    // Combine merges into the existing layer.
    let extra =
        Layer::from_yaml("services:\n  web:\n    override: merge\n    environment: {MODE: prod}\n")
            .unwrap();
    client.add_layer("base", &extra, true).unwrap();
    let plan = client.plan().unwrap();
    assert_eq!(plan.services["web"].command, "/bin/web --port 8080");
    assert_eq!(plan.services["web"].environment["MODE"], "prod");

    let change = client.replan_services().unwrap();
    assert_eq!(change.status, ChangeStatus::Done);
    assert_eq!(change.summary, r#"Replan service "web""#);
    let web = client.service("web").unwrap().unwrap();
    assert!(web.is_running());
    assert_eq!(
        client.service("worker").unwrap().unwrap().current,
        ServiceStatus::Inactive
    );
    // A second replan has nothing to do.
    assert_eq!(
        client.replan_services().unwrap().summary,
        "Replan - no services"
    );
    client.restart_services(&["web"]).unwrap();
    client.stop_services(&["web"]).unwrap();
    assert_eq!(
        fake.container().service_status("web"),
        ServiceStatus::Inactive
    );

    // Unknown service: Pebble's 400 and wording.
    let err = client.stop_services(&["nope"]).unwrap_err();
    assert_eq!(err.kind(), None, "no kind for a plain bad request: {err:?}");
    assert!(
        err.to_string()
            .contains(r#"cannot stop services: service "nope" does not exist"#),
        "{err}"
    );

    // A service that exits quickly: the change fails with Pebble's error and the task log.
    fake.update(|c| {
        c.start_failures.insert(
            "worker".into(),
            StartFailure {
                exit_code: 1,
                output: "worker: config missing".into(),
            },
        );
    });
    let err = client.start_services(&["worker"]).unwrap_err();
    let Error::Change(change) = &err else {
        panic!("expected a change error, got {err:?}")
    };
    assert_eq!(change.status, ChangeStatus::Error);
    assert_eq!(
        change.err.as_deref(),
        Some(
            "cannot perform the following tasks:\n- Start service \"worker\" (service start \
             attempt: exited quickly with code 1, will restart)"
        )
    );
    let text = err.to_string();
    assert!(text.contains("worker: config missing"), "{text}");
    assert!(text.contains("ERROR service start attempt"), "{text}");
    assert_eq!(
        client.service("worker").unwrap().unwrap().current,
        ServiceStatus::Backoff
    );
    let autostart_none = Container::new("x");
    let (_d2, _f2, _s2, empty) = serve(autostart_none);
    let err = empty.autostart_services().unwrap_err();
    assert_eq!(err.kind(), Some("no-default-services"));
}

#[test]
fn changes_wait_timeout_abort_and_health() {
    let container = Container::new("web")
        .with_layer("base", Layer::from_yaml(LAYER).unwrap())
        .with_exec(&["sleep"], ExecResult::default());
    let (_dir, fake, _server, client) = serve(container);
    // An exec whose websockets never connect stays in progress: waiting on it times out (504).
    let (id, _) = {
        let body = serde_json::json!({"command": ["sleep", "10"], "split-stderr": true});
        let req = charmkit::pebble::Request::post_json("/v1/exec", &body);
        let resp = client.transport().roundtrip(&req).unwrap();
        assert_eq!(resp.status, 202);
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        (
            charmkit::pebble::ChangeId(v["change"].as_str().unwrap().to_owned()),
            v,
        )
    };
    let err = client
        .wait_change(&id, Duration::from_millis(100))
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        err.to_string()
            .contains("timed out waiting for change after 100ms"),
        "{err}"
    );
    let in_progress = client
        .changes(charmkit::pebble::ChangeSelect::InProgress, None)
        .unwrap();
    assert_eq!(in_progress.len(), 1);
    let aborted = client.abort_change(&id).unwrap();
    assert_eq!(aborted.status, ChangeStatus::Abort);
    let err = client.abort_change(&id).unwrap_err();
    assert!(err.to_string().contains("with nothing pending"), "{err}");
    let err = client
        .change(&charmkit::pebble::ChangeId("999".into()))
        .unwrap_err();
    assert!(err.is_not_found());

    // Health: 502 with a sync envelope when a check is down.
    assert!(client.health(None, &[]).unwrap());
    let mut down = CheckInfo::up("up");
    down.level = Some(CheckLevel::Ready);
    down.status = CheckStatus::Down;
    down.failures = 3;
    fake.update(|c| c.check_infos.push(down));
    assert!(!client.health(Some(CheckLevel::Ready), &[]).unwrap());
    assert!(client.health(Some(CheckLevel::Alive), &[]).unwrap());
    let checks = client.checks(None, &[]).unwrap();
    assert_eq!(checks[0].status, CheckStatus::Down);
    assert_eq!(client.stop_checks(&["up"]).unwrap(), ["up"]);
    assert_eq!(client.stop_checks(&["up"]).unwrap(), Vec::<String>::new());
    assert_eq!(client.start_checks(&["up"]).unwrap(), ["up"]);
    let err = client.start_checks(&["nope"]).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot start checks: cannot find checks in plan: nope"),
        "{err}"
    );
}

#[test]
fn files_push_pull_list_make_dir_remove() {
    let container = Container::new("web").with_user("app", 1000, 1000);
    let (_dir, fake, _server, client) = serve(container);
    let data: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
    let opts = FileOptions::default()
        .make_dirs()
        .permissions(0o600)
        .user("app")
        .group("app");
    client.push("/etc/app/config.bin", &data, &opts).unwrap();
    assert_eq!(client.pull("/etc/app/config.bin").unwrap(), data);
    let entry = fake.container().files["/etc/app/config.bin"].clone();
    assert_eq!(
        (entry.permissions, entry.user_id, entry.group_id),
        (0o600, 1000, 1000)
    );

    // Pull of a missing file: the per-item not-found error.
    let err = client.pull("/etc/app/missing").unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(
        err.to_string()
            .contains("stat /etc/app/missing: no such file or directory"),
        "{err}"
    );
    // Push per-item errors (still HTTP 200): no parent without make_dirs, unknown user.
    let err = client
        .push("/nope/x.conf", "x", &FileOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), Some("not-found"));
    assert!(
        err.to_string()
            .contains("open /nope/x.conf.*~: no such file or directory"),
        "{err}"
    );
    let err = client
        .push("/tmp/y", "y", &FileOptions::default().user("ghost"))
        .unwrap_err();
    assert_eq!(err.kind(), Some("generic-file-error"));
    assert!(
        err.to_string().contains("user: unknown user ghost"),
        "{err}"
    );
    let err = client
        .push("relative", "y", &FileOptions::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"paths must be absolute, got "relative""#),
        "{err}"
    );

    // List, exists, is_dir.
    let listed = client.list_files("/etc/app", None, false).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "config.bin");
    assert_eq!(listed[0].r#type, FileType::File);
    assert_eq!(listed[0].size, Some(200_000));
    assert_eq!(listed[0].mode(), 0o600);
    assert_eq!(listed[0].user, "app");
    assert!(client
        .list_files("/etc/app", Some("*.txt"), false)
        .unwrap()
        .is_empty());
    let err = client.list_files("/etc/none", None, false).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                status_code: 404,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(client.exists("/etc/app/config.bin").unwrap());
    assert!(!client.exists("/etc/app/nothing").unwrap());
    assert!(client.is_dir("/etc/app").unwrap());

    // make-dir and remove.
    client
        .make_dir("/var/lib/app/data", &FileOptions::default().make_dirs())
        .unwrap();
    let err = client
        .make_dir("/var/lib/app/data", &FileOptions::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("mkdir /var/lib/app/data: file exists"),
        "{err}"
    );
    let err = client.remove_path("/etc/app", false).unwrap_err();
    assert!(
        err.to_string()
            .contains("remove /etc/app: directory not empty"),
        "{err}"
    );
    client.remove_path("/etc/app", true).unwrap();
    assert!(!client.exists("/etc/app/config.bin").unwrap());
    let err = client.remove_path("/etc/app", false).unwrap_err();
    assert!(err.is_not_found());
}

#[test]
fn exec_with_stdin_output_exit_codes_and_errors() {
    let container = Container::new("web")
        .with_exec(
            &["cat"],
            ExecResult {
                stdout: b"echoed\n".to_vec(),
                stderr: b"a warning\n".to_vec(),
                exit_code: 0,
            },
        )
        .with_exec(
            &["false"],
            ExecResult {
                stdout: b"partial".to_vec(),
                stderr: b"it failed".to_vec(),
                exit_code: 3,
            },
        );
    let (_dir, fake, _server, client) = serve(container);
    let stdin: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let opts = ExecOptions::default()
        .env("MODE", "test")
        .working_dir("/tmp")
        .timeout(Duration::from_secs(5))
        .stdin(stdin.clone());
    let out = client.exec(&["cat", "-"], &opts).unwrap();
    assert_eq!(out.stdout, b"echoed\n");
    assert_eq!(out.stderr, b"a warning\n");
    let ran = fake.container().exec_history[0].clone();
    assert_eq!(ran.command, ["cat", "-"]);
    assert_eq!(ran.stdin, stdin, "stdin arrives whole over the websocket");
    assert_eq!(ran.environment["MODE"], "test");
    assert_eq!(ran.environment["HOME"], "/root");
    assert_eq!(ran.working_dir, "/tmp");
    assert_eq!(ran.timeout.as_deref(), Some("5s"));

    // Non-zero exit: Error::Exec with both streams.
    let err = client
        .exec(&["false"], &ExecOptions::default())
        .unwrap_err();
    let Error::Exec {
        exit_code,
        stdout,
        stderr,
        ..
    } = &err
    else {
        panic!("expected an exec error, got {err:?}")
    };
    assert_eq!(
        (*exit_code, &stdout[..], &stderr[..]),
        (3, &b"partial"[..], &b"it failed"[..])
    );
    assert!(
        err.to_string().contains("exited with code 3: it failed"),
        "{err}"
    );

    // Combined stderr goes into stdout.
    let combined = ExecOptions {
        combine_stderr: true,
        ..Default::default()
    };
    let out = client.exec(&["cat"], &combined).unwrap();
    assert_eq!(out.stdout, b"echoed\na warning\n");
    assert!(out.stderr.is_empty());

    // A command Pebble cannot find.
    let err = client.exec(&["nope"], &ExecOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains(r#"cannot find executable "nope""#),
        "{err}"
    );
}

#[test]
fn notices_signals_and_protocol_errors() {
    let container = Container::new("web").with_layer("base", Layer::from_yaml(LAYER).unwrap());
    let (_dir, fake, _server, client) = serve(container);
    let data = BTreeMap::from([("path".to_string(), "/etc/x".to_string())]);
    let id = client
        .notify("example.com/config-changed", &data, None)
        .unwrap();
    let again = client
        .notify("example.com/config-changed", &data, None)
        .unwrap();
    assert_eq!(id, again);
    let n = client.notice(&id).unwrap();
    assert_eq!(n.occurrences, 2);
    assert_eq!(n.r#type, NoticeType::Custom);
    assert_eq!(n.last_data["path"], "/etc/x");
    let filter = NoticesFilter {
        types: vec![NoticeType::Custom],
        keys: vec!["example.com/config-changed".into()],
        ..Default::default()
    };
    assert_eq!(client.notices(&filter).unwrap().len(), 1);
    let err = client
        .notify("not a key", &BTreeMap::new(), None)
        .unwrap_err();
    assert!(
        err.to_string().contains(r#"invalid key "not a key""#),
        "{err}"
    );
    assert!(client.notice("99").unwrap_err().is_not_found());

    // Signals go to running services only.
    let err = client.send_signal("SIGHUP", &["web"]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                status_code: 500,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .contains(r#"cannot send signal to "web": service is not running"#));
    client.replan_services().unwrap();
    client.send_signal("SIGHUP", &["web"]).unwrap();
    assert_eq!(fake.container().signals, [("SIGHUP".into(), "web".into())]);

    // Unknown endpoint: Pebble's 404 envelope.
    let resp = client
        .transport()
        .roundtrip(&charmkit::pebble::Request::get("/v1/nothing"))
        .unwrap();
    assert_eq!(resp.status, 404);
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(v["result"]["message"], "invalid API endpoint requested");
    assert_eq!(v["type"], "error");
    // Every call was answered by the socket server.
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/v1/notices")));
}

/// A Pebble that starts an exec and then goes away: it answers `POST /v1/exec`, accepts the
/// exec's websockets, and — once the client has them all — drops every connection and its
/// socket, as a Pebble whose container is being recreated does. Served by hand (not by the
/// fake), since the fake never breaks a stream.
fn pebble_that_dies_mid_exec(socket: &Path, stays: bool) -> std::thread::JoinHandle<Vec<String>> {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    let socket = socket.to_path_buf();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let conn = conn.unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let request_line = head.lines().next().unwrap_or_default().to_string();
            seen.push(request_line.clone());
            let header = |name: &str| {
                head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
            };
            let mut conn = conn;
            if request_line.starts_with("POST /v1/exec ") {
                let len: usize = header("Content-Length").unwrap().parse().unwrap();
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let reply = r#"{"type":"async","status-code":202,"status":"Accepted","change":"7","result":{"task-id":"T7"}}"#;
                write!(
                    conn,
                    "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
                    reply.len()
                )
                .unwrap();
            } else if request_line.contains("/websocket/") {
                let key = header("Sec-WebSocket-Key").unwrap();
                let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
                write!(
                    conn,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                )
                .unwrap();
                held.push(conn);
                if held.len() == 3 {
                    // control, stdio and stderr are open: the streams break.
                    for c in &held {
                        let _ = c.shutdown(std::net::Shutdown::Both);
                    }
                    if !stays {
                        drop(listener);
                        let _ = std::fs::remove_file(&socket);
                        return seen;
                    }
                }
            } else if request_line.starts_with("GET /v1/changes/7/wait") {
                let reply = r#"{"type":"sync","status-code":200,"status":"OK","result":{"id":"7","kind":"exec","summary":"exec","status":"Done","ready":true,"spawn-time":"2026-11-26T00:00:00Z","ready-time":"2026-11-26T00:00:01Z","tasks":[{"id":"T7","kind":"exec","summary":"exec","status":"Done","progress":{"label":"","done":1,"total":1},"spawn-time":"2026-11-26T00:00:00Z","ready-time":"2026-11-26T00:00:01Z","data":{"exit-code":0}}]}}"#;
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
                    reply.len()
                )
                .unwrap();
                return seen;
            } else {
                return seen;
            }
        }
        seen
    })
}

#[test]
fn pebble_going_away_mid_exec_is_a_connection_error() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("pebble.socket");
    let server = pebble_that_dies_mid_exec(&socket, false);
    let client = Client::with_socket(&socket);
    let opts = ExecOptions::default().stdin(b"some input".to_vec());
    let err = client.exec(&["cat"], &opts).unwrap_err();
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 4, "exec and its three websockets: {seen:?}");
    assert!(seen[0].starts_with("POST /v1/exec "), "{seen:?}");
    // What the charm sees: Pebble is gone (as `can_connect` would now say), naming its
    // socket — not a protocol error, not a panic, not a hang.
    assert!(err.is_connection(), "{err:?}");
    assert!(err.to_string().contains("pebble.socket"), "{err}");
    assert!(!client.can_connect());
}

#[test]
fn an_exec_stream_broken_while_pebble_stays_is_a_connection_error() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("pebble.socket");
    let server = pebble_that_dies_mid_exec(&socket, true);
    let client = Client::with_socket(&socket);
    let err = client.exec(&["cat"], &ExecOptions::default()).unwrap_err();
    let seen = server.join().unwrap();
    assert!(seen[4].starts_with("GET /v1/changes/7/wait"), "{seen:?}");
    // The command finished, but its streams broke: not a success, and a connection error.
    assert!(err.is_connection(), "{err:?}");
}
