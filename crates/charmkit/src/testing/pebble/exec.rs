//! The fake's exec (`internals/daemon/api_exec.go`, `internals/overlord/cmdstate`): the command
//! is answered by an [`ExecHandler`](super::ExecHandler); its streams run over real websockets
//! (tungstenite) exactly as Pebble's do, so the client's exec code is exercised end to end.

use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread;

use serde::Deserialize;
use serde_json::{json, Value as Json};
use tungstenite::protocol::Role;
use tungstenite::Message;

use crate::pebble::exec::{is_end, END};
use crate::pebble::{self, godur, ChangeStatus, WebSocket, WsStream};

use super::container::{ExecRecord, ExecResult};
use super::files::Owner;
use super::reply::{self, bad_request, decode};
use super::Shared;

/// An exec waiting for its websockets, then running.
#[derive(Debug)]
pub(crate) struct Execution {
    change: String,
    split_stderr: bool,
    record: ExecRecord,
    result: ExecResult,
    control: Option<Connected>,
    stdio: Option<Connected>,
    stderr: Option<Connected>,
    started: bool,
}

/// A websocket, once connected (the flag: the slot was taken).
#[derive(Debug)]
enum Connected {
    Open(Box<WebSocket>),
    Taken,
}

#[derive(Deserialize)]
struct ExecPayload {
    #[serde(default)]
    command: Vec<String>,
    #[serde(default, rename = "service-context")]
    service_context: String,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default, rename = "working-dir")]
    working_dir: String,
    #[serde(default)]
    timeout: String,
    #[serde(flatten)]
    owner: Owner,
    #[serde(default, rename = "split-stderr")]
    split_stderr: bool,
}

/// `POST /v1/exec`.
pub(crate) fn post(shared: &Shared, body: &[u8]) -> pebble::Response {
    let mut p: ExecPayload = match decode(body, "cannot decode request body") {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.command.is_empty() {
        return bad_request("must specify command");
    }
    if !p.timeout.is_empty() {
        if let Err(e) = godur::parse(&p.timeout) {
            return bad_request(format!("invalid timeout: {e}"));
        }
    }
    let mut d = shared.lock();
    let c = &d.container;
    let handler = c
        .exec_handlers
        .iter()
        .filter(|h| p.command.starts_with(&h.prefix))
        .max_by_key(|h| h.prefix.len());
    let Some(handler) = handler else {
        return bad_request(format!("cannot find executable {:?}", p.command[0]));
    };
    let result = handler.result.clone();
    // The service context gives defaults the request overrides (`MergeServiceContext`).
    if !p.service_context.is_empty() {
        let plan = match c.plan() {
            Ok(plan) => plan,
            Err(e) => return reply::error(500, e),
        };
        let Some(s) = plan.services.get(&p.service_context) else {
            return bad_request(format!("context service {:?} not found", p.service_context));
        };
        let mut env = s.environment.clone();
        env.extend(std::mem::take(&mut p.environment));
        p.environment = env;
        let o = &mut p.owner;
        if o.user_id.is_none() && o.user.is_empty() {
            o.user_id = s.user_id;
            o.user = s.user.clone();
        }
        if o.group_id.is_none() && o.group.is_empty() {
            o.group_id = s.group_id;
            o.group = s.group.clone();
        }
        if p.working_dir.is_empty() {
            p.working_dir = s.working_dir.clone();
        }
    }
    let owner = match p.owner.resolve(c) {
        Ok(o) => o,
        Err(e) => return bad_request(e),
    };
    let user = match owner {
        Some((uid, _)) => c.users.iter().find(|u| u.uid == uid).cloned(),
        None => c.users.iter().find(|u| u.uid == 0).cloned(),
    };
    // Pebble's environment: PATH and LANG defaults, HOME and USER of the user, then the request.
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert(
        "PATH".into(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    );
    env.insert("LANG".into(), "C.UTF-8".into());
    if let Some(u) = &user {
        env.insert("HOME".into(), u.home.clone());
        env.insert("USER".into(), u.name.clone());
    }
    env.extend(p.environment.clone());
    let working_dir = if p.working_dir.is_empty() {
        env.get("HOME").cloned().unwrap_or_else(|| "/".into())
    } else {
        p.working_dir.clone()
    };
    let summary = format!("Execute command {:?}", p.command[0]);
    let mut task = super::changes::task(&mut d, "exec", summary.clone());
    task.status = ChangeStatus::Doing;
    let task_id = task.id.clone();
    let change = super::changes::add_change(&mut d, "exec", summary, vec![task]);
    let record = ExecRecord {
        command: p.command.clone(),
        environment: env.clone(),
        working_dir: working_dir.clone(),
        user_id: owner.map(|o| o.0),
        group_id: owner.map(|o| o.1),
        timeout: (!p.timeout.is_empty()).then(|| p.timeout.clone()),
        stdin: Vec::new(),
    };
    d.executions.insert(
        task_id.clone(),
        Execution {
            change: change.clone(),
            split_stderr: p.split_stderr,
            record,
            result,
            control: None,
            stdio: None,
            stderr: None,
            started: false,
        },
    );
    reply::json_response(
        202,
        pebble::wire::async_(
            &change,
            json!({"environment": env, "task-id": task_id, "working-dir": working_dir}),
        ),
    )
}

/// Checks a websocket request (`/v1/tasks/<task>/websocket/<id>`) as Pebble does, before the
/// upgrade: `Err` is the error reply.
pub(crate) fn check_websocket(
    shared: &Shared,
    path: &str,
) -> Result<(String, String), pebble::Response> {
    let segs: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_start_matches('/')
        .split('/')
        .collect();
    let ["v1", "tasks", task, "websocket", id] = segs.as_slice() else {
        return Err(reply::error(404, "invalid API endpoint requested"));
    };
    let d = shared.lock();
    let Some(kind) = d
        .container
        .changes
        .iter()
        .flat_map(|c| &c.tasks)
        .find(|t| t.id == *task)
        .map(|t| t.kind.clone())
    else {
        return Err(reply::error(404, format!("cannot find task {task:?}")));
    };
    let Some(e) = d.executions.get(*task) else {
        return Err(bad_request(format!(
            "{kind:?} tasks do not have websockets"
        )));
    };
    let slot = match *id {
        "control" => &e.control,
        "stdio" => &e.stdio,
        "stderr" if e.split_stderr => &e.stderr,
        _ => {
            return Err(reply::error(
                404,
                format!("cannot find {id} websocket for task {task:?}"),
            ))
        }
    };
    if slot.is_some() {
        return Err(reply::error(
            500,
            format!("{id} websocket already connected"),
        ));
    }
    Ok((task.to_string(), id.to_string()))
}

/// Takes a connected server-side websocket; starts the command once its streams are all there.
pub(crate) fn attach(shared: &Arc<Shared>, task: &str, id: &str, ws: WebSocket) {
    let mut d = shared.lock();
    let Some(e) = d.executions.get_mut(task) else {
        return;
    };
    let slot = match id {
        "control" => &mut e.control,
        "stdio" => &mut e.stdio,
        _ => &mut e.stderr,
    };
    *slot = Some(Connected::Open(Box::new(ws)));
    let ready = e.stdio.is_some() && (!e.split_stderr || e.stderr.is_some());
    if ready && !e.started {
        e.started = true;
        let task = task.to_owned();
        let shared = shared.clone();
        thread::spawn(move || run(&shared, &task));
    }
}

fn take(slot: &mut Option<Connected>) -> Option<Box<WebSocket>> {
    match slot.replace(Connected::Taken) {
        Some(Connected::Open(ws)) => Some(ws),
        _ => None,
    }
}

fn send_stream(ws: &mut WebSocket, data: &[u8]) {
    for chunk in data.chunks(32 * 1024) {
        if ws.send(Message::Binary(chunk.to_vec().into())).is_err() {
            return;
        }
    }
    let _ = ws.send(Message::Text(END.into()));
}

/// Runs one exec: stdin in, the handler's output out, then the change finishes.
fn run(shared: &Arc<Shared>, task: &str) {
    let (stdio, stderr, control, result) = {
        let mut d = shared.lock();
        let Some(e) = d.executions.get_mut(task) else {
            return;
        };
        (
            take(&mut e.stdio),
            take(&mut e.stderr),
            take(&mut e.control),
            e.result.clone(),
        )
    };
    let mut stdin = Vec::new();
    if let Some(mut ws) = stdio {
        loop {
            match ws.read() {
                Ok(Message::Binary(b)) => stdin.extend_from_slice(&b),
                Ok(Message::Text(t)) if is_end(t.as_str()) => break,
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        match stderr {
            Some(mut e) => {
                send_stream(&mut ws, &result.stdout);
                send_stream(&mut e, &result.stderr);
                let _ = e.close(None);
                let _ = e.flush();
                drain(*e);
            }
            None => {
                let mut both = result.stdout.clone();
                both.extend_from_slice(&result.stderr);
                send_stream(&mut ws, &both);
            }
        }
        let _ = ws.close(None);
        let _ = ws.flush();
        drain(*ws);
    }
    if let Some(mut c) = control {
        let _ = c.close(None);
        let _ = c.flush();
        drain(*c);
    }
    let mut d = shared.lock();
    let Some(e) = d.executions.remove(task) else {
        return;
    };
    let mut record = e.record;
    record.stdin = stdin;
    d.container.exec_history.push(record);
    if let Some(change) = d.container.changes.iter_mut().find(|c| c.id.0 == e.change) {
        for t in change.tasks.iter_mut() {
            t.data
                .insert("exit-code".into(), Json::from(result.exit_code));
            super::changes::finish_task(t, true);
        }
        super::changes::settle(change);
    }
    drop(d);
    shared.changed.notify_all();
}

/// Reads until the peer's close, so the close handshake completes.
fn drain(mut ws: WebSocket) {
    let _ = ws
        .get_ref()
        .set_read_timeout(Some(std::time::Duration::from_secs(5)));
    while ws.read().is_ok() {}
}

/// The in-memory websocket: a socket pair, the server end upgraded on its own thread.
pub(crate) fn connect_in_memory(shared: &Arc<Shared>, path: &str) -> pebble::Result<WebSocket> {
    let request = format!("GET {}", path.split('?').next().unwrap_or_default());
    let (task, id) = check_websocket(shared, path)
        .map_err(|resp| pebble::wire::error_of(&request, resp.status, &resp.body))?;
    let (client, server) = UnixStream::pair().map_err(|e| pebble::Error::Connection {
        socket: path.into(),
        source: e,
    })?;
    let shared = shared.clone();
    thread::spawn(move || {
        let stream: Box<dyn WsStream> = Box::new(server);
        if let Ok(ws) = tungstenite::accept(stream) {
            attach(&shared, &task, &id, ws);
        }
    });
    let stream: Box<dyn WsStream> = Box::new(client);
    let url = format!("ws://localhost{path}");
    tungstenite::client::client(url.as_str(), stream)
        .map(|(ws, _)| ws)
        .map_err(|e| pebble::Error::protocol(&request, e))
}

/// A server-side websocket over an already-upgraded stream.
pub(crate) fn server_socket(stream: Box<dyn WsStream>) -> WebSocket {
    WebSocket::from_raw_socket(stream, Role::Server, None)
}
