//! The fake's routes: one function per endpoint, answering as `internals/daemon/api*.go`.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::pebble::godur;
use crate::pebble::wire;
use crate::pebble::{
    Change, ChangeId, ChangeStatus, CheckInfo, CheckLevel, CheckStatus, Layer, Method, Notice,
    NoticeType, Request, Response, ServiceStatus, Startup, Task, TaskProgress,
};

use super::{files, now, plan, Daemon, RequestRecord, Shared};

/// A reply: status and JSON body (or raw bytes, for pull).
pub(crate) fn json_response(status: u16, body: Json) -> Response {
    Response {
        status,
        content_type: "application/json".into(),
        body: serde_json::to_vec(&body).expect("JSON serializes"),
    }
}

pub(crate) fn sync(result: Json) -> Response {
    json_response(200, wire::sync(200, result))
}

pub(crate) fn error(status: u16, message: impl Into<String>) -> Response {
    json_response(status, wire::error(status, None, &message.into()))
}

pub(crate) fn error_kind(status: u16, kind: &str, message: impl Into<String>) -> Response {
    json_response(status, wire::error(status, Some(kind), &message.into()))
}

pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    error(400, message)
}

fn async_(change: &str, result: Json) -> Response {
    json_response(202, wire::async_(change, result))
}

/// The decoded query of a request path (`+` is a space and `%XX` a byte, as Go's).
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    pub(crate) fn of(path: &str) -> Query {
        let Some((_, q)) = path.split_once('?') else {
            return Query::default();
        };
        Query(
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (unescape(k), unescape(v)),
                    None => (unescape(p), String::new()),
                })
                .collect(),
        )
    }

    /// The first value of `k` ("" if absent).
    pub(crate) fn get(&self, k: &str) -> String {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Every value of `k`.
    pub(crate) fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every value of `k`, split at commas, empty items dropped (`MultiCommaSeparatedList`).
    pub(crate) fn list(&self, k: &str) -> Vec<String> {
        self.all(k)
            .iter()
            .flat_map(|v| v.split(',').map(|s| s.trim().to_owned()))
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub(crate) fn has(&self, k: &str) -> bool {
        self.0.iter().any(|(key, _)| key == k)
    }
}

/// Routes `req` to its endpoint.
pub(crate) fn handle(shared: &Shared, req: &Request) -> Response {
    shared.lock().requests.push(RequestRecord {
        method: req.method.as_str().into(),
        path: req.path.clone(),
    });
    let path = req.path_only();
    let q = Query::of(&req.path);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = req.method;
    let not_allowed = || error(405, format!("method {:?} not allowed", m.as_str()));
    match (segs.as_slice(), m) {
        (["v1", "system-info"], Method::Get) => system_info(shared),
        (["v1", "health"], Method::Get) => health(shared, &q),
        (["v1", "changes"], Method::Get) => get_changes(shared, &q),
        (["v1", "changes", id], Method::Get) => get_change(shared, id),
        (["v1", "changes", id], Method::Post) => post_change(shared, id, &req.body),
        (["v1", "changes", id, "wait"], Method::Get) => wait_change(shared, id, &q),
        (["v1", "services"], Method::Get) => get_services(shared, &q),
        (["v1", "services"], Method::Post) => post_services(shared, &req.body),
        (["v1", "plan"], Method::Get) => get_plan(shared, &q),
        (["v1", "layers"], Method::Post) => post_layers(shared, &req.body),
        (["v1", "files"], Method::Get) => files::get(shared, req, &q),
        (["v1", "files"], Method::Post) => files::post(shared, req),
        (["v1", "exec"], Method::Post) => super::exec::post(shared, &req.body),
        (["v1", "signals"], Method::Post) => post_signals(shared, &req.body),
        (["v1", "checks"], Method::Get) => get_checks(shared, &q),
        (["v1", "checks"], Method::Post) => post_checks(shared, &req.body),
        (["v1", "notices"], Method::Get) => get_notices(shared, &q),
        (["v1", "notices"], Method::Post) => post_notices(shared, &req.body),
        (["v1", "notices", id], Method::Get) => get_notice(shared, id),
        (["v1", "tasks", _, "websocket", _], Method::Get) => {
            bad_request("websocket endpoints need a websocket upgrade")
        }
        (["v1", "system-info" | "health" | "plan" | "logs"], _)
        | (["v1", "changes", _, "wait"], _)
        | (["v1", "layers" | "exec" | "signals"], _)
        | (["v1", "notices", _], _) => not_allowed(),
        _ => error(404, "invalid API endpoint requested"),
    }
}

/// Decodes a JSON body, or Pebble's 400 with `prefix` (`cannot decode request body: …`).
pub(crate) fn decode<'a, T: Deserialize<'a>>(body: &'a [u8], prefix: &str) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("{prefix}: {e}")))
}

fn system_info(shared: &Shared) -> Response {
    let d = shared.lock();
    sync(json!({"boot-id": d.boot_id, "version": "v1.32.1"}))
}

/// The check infos of the plan's checks: the container's, else Pebble's defaults.
fn check_infos(d: &Daemon) -> Result<Vec<CheckInfo>, String> {
    let plan = d.container.plan()?;
    Ok(plan
        .checks
        .iter()
        .map(|(name, c)| {
            d.container
                .check_infos
                .iter()
                .find(|i| &i.name == name)
                .cloned()
                .unwrap_or_else(|| {
                    let mut info = CheckInfo::up(name);
                    info.level = c.level;
                    info.startup = c.startup.unwrap_or(Startup::Enabled);
                    info.threshold = c.threshold.unwrap_or(3);
                    if info.startup == Startup::Disabled {
                        info.status = CheckStatus::Inactive;
                    }
                    info
                })
        })
        .collect())
}

fn parse_level(q: &Query) -> Result<Option<CheckLevel>, Response> {
    match q.get("level").as_str() {
        "" => Ok(None),
        "alive" => Ok(Some(CheckLevel::Alive)),
        "ready" => Ok(Some(CheckLevel::Ready)),
        _ => Err(bad_request(r#"level must be "alive" or "ready""#)),
    }
}

fn health(shared: &Shared, q: &Query) -> Response {
    let level = match parse_level(q) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let names = q.list("names");
    let d = shared.lock();
    let infos = match check_infos(&d) {
        Ok(i) => i,
        Err(_) => return error(500, "internal server error"),
    };
    let down = infos.iter().any(|c| {
        let level_match = level.is_none()
            || level == c.level
            || (level == Some(CheckLevel::Ready) && c.level == Some(CheckLevel::Alive));
        let name_match = names.is_empty() || names.contains(&c.name);
        level_match && name_match && c.status == CheckStatus::Down
    });
    let status = if down { 502 } else { 200 };
    json_response(status, wire::sync(status, json!({"healthy": !down})))
}

fn get_checks(shared: &Shared, q: &Query) -> Response {
    let level = match parse_level(q) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let names = q.list("names");
    let d = shared.lock();
    match check_infos(&d) {
        Ok(infos) => sync(json!(infos
            .into_iter()
            .filter(|c| level.is_none() || c.level == level)
            .filter(|c| names.is_empty() || names.contains(&c.name))
            .collect::<Vec<_>>())),
        Err(e) => error(500, e),
    }
}

#[derive(Deserialize)]
struct ChecksPayload {
    #[serde(default)]
    action: String,
    #[serde(default)]
    checks: Option<Vec<String>>,
}

fn post_checks(shared: &Shared, body: &[u8]) -> Response {
    let p: ChecksPayload = match decode(body, "cannot decode data from request body") {
        Ok(p) => p,
        Err(r) => return r,
    };
    let checks = p.checks.unwrap_or_default();
    if checks.is_empty() {
        return bad_request(format!("must specify checks for {} action", p.action));
    }
    if p.action != "start" && p.action != "stop" {
        return bad_request(format!("invalid action {:?}", p.action));
    }
    let mut d = shared.lock();
    let infos = match check_infos(&d) {
        Ok(i) => i,
        Err(e) => return error(500, e),
    };
    let mut missing: Vec<String> = checks
        .iter()
        .filter(|c| !infos.iter().any(|i| &i.name == *c))
        .cloned()
        .collect();
    if !missing.is_empty() {
        missing.sort();
        return bad_request(format!(
            "cannot {} checks: cannot find checks in plan: {}",
            p.action,
            missing.join(", ")
        ));
    }
    let mut changed = Vec::new();
    for mut info in infos.into_iter().filter(|i| checks.contains(&i.name)) {
        let running = info.status != CheckStatus::Inactive;
        let new = match (p.action.as_str(), running) {
            ("start", false) => CheckStatus::Up,
            ("stop", true) => CheckStatus::Inactive,
            _ => continue,
        };
        info.status = new;
        info.failures = 0;
        changed.push(info.name.clone());
        let infos = &mut d.container.check_infos;
        infos.retain(|i| i.name != info.name);
        infos.push(info);
    }
    changed.sort();
    sync(json!({ "changed": changed }))
}

fn get_plan(shared: &Shared, q: &Query) -> Response {
    let format = q.get("format");
    if format != "yaml" {
        return bad_request(format!("invalid format {format:?}"));
    }
    match shared.lock().container.plan() {
        Ok(plan) => sync(json!(plan.to_yaml())),
        Err(e) => error(500, format!("cannot serialize plan: {e}")),
    }
}

#[derive(Deserialize)]
struct LayersPayload {
    #[serde(default)]
    action: String,
    #[serde(default)]
    combine: bool,
    #[serde(default)]
    label: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    layer: String,
}

fn post_layers(shared: &Shared, body: &[u8]) -> Response {
    let p: LayersPayload = match decode(body, "cannot decode request body") {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.action != "add" {
        return bad_request(format!("invalid action {:?}", p.action));
    }
    if p.label.is_empty() {
        return bad_request("label must be set");
    }
    if p.format != "yaml" {
        return bad_request(format!("invalid format {:?}", p.format));
    }
    let layer = match Layer::from_yaml(&p.layer) {
        Ok(l) => l,
        Err(e) => return bad_request(format!("cannot parse layer YAML: {e}")),
    };
    if p.label.starts_with("pebble-") {
        return bad_request(r#"cannot use reserved label prefix "pebble-""#);
    }
    let mut d = shared.lock();
    let mut layers = d.container.layers.clone();
    match layers.iter().position(|(l, _)| *l == p.label) {
        Some(i) if p.combine => {
            let pair = [layers[i].clone(), (p.label.clone(), layer)];
            match plan::combine_layers(&pair) {
                Ok(combined) => layers[i].1 = combined,
                Err(e) => return bad_request(e),
            }
        }
        Some(_) => return bad_request(format!("layer {:?} already exists", p.label)),
        None => layers.push((p.label.clone(), layer)),
    }
    if let Err(e) = plan::combine(&layers) {
        return bad_request(e);
    }
    d.container.layers = layers;
    sync(json!(true))
}

fn get_services(shared: &Shared, q: &Query) -> Response {
    let names = q.list("names");
    let d = shared.lock();
    let plan = match d.container.plan() {
        Ok(p) => p,
        Err(e) => return error(500, e),
    };
    let infos: Vec<Json> = plan
        .services
        .iter()
        .filter(|(n, _)| names.is_empty() || names.contains(n))
        .map(|(n, s)| {
            let startup = s.startup.unwrap_or(Startup::Disabled);
            json!({"name": n, "startup": startup, "current": d.container.service_status(n)})
        })
        .collect();
    sync(json!(infos))
}

#[derive(Deserialize)]
struct ServicesPayload {
    #[serde(default)]
    action: String,
    #[serde(default)]
    services: Option<Vec<String>>,
}

/// A task being built for a change.
pub(crate) fn task(d: &mut Daemon, kind: &str, summary: String) -> Task {
    d.last_task += 1;
    Task {
        id: d.last_task.to_string(),
        kind: kind.into(),
        summary,
        status: ChangeStatus::Do,
        log: Vec::new(),
        progress: TaskProgress {
            label: String::new(),
            done: 0,
            total: 1,
        },
        spawn_time: now(),
        ready_time: None,
        data: Default::default(),
    }
}

/// Logs to a task as Pebble does: `<RFC 3339 time> <LEVEL> <message>`.
pub(crate) fn log(task: &mut Task, level: &str, message: &str) {
    let t = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    task.log.push(format!("{t} {level} {message}"));
}

/// Finishes a task: Done or Error.
pub(crate) fn finish_task(task: &mut Task, ok: bool) {
    task.status = if ok {
        ChangeStatus::Done
    } else {
        ChangeStatus::Error
    };
    task.progress.done = 1;
    task.ready_time = Some(now());
}

/// Adds a change; its status and `err` follow from its tasks.
pub(crate) fn add_change(d: &mut Daemon, kind: &str, summary: String, tasks: Vec<Task>) -> String {
    d.last_change += 1;
    let id = d.last_change.to_string();
    let mut change = Change {
        id: ChangeId(id.clone()),
        kind: kind.into(),
        summary,
        status: ChangeStatus::Doing,
        tasks,
        ready: false,
        err: None,
        spawn_time: now(),
        ready_time: None,
        data: Default::default(),
    };
    settle(&mut change);
    d.changes.push(change);
    id
}

/// Sets a change's status from its tasks, and Pebble's `err` for failed tasks.
pub(crate) fn settle(change: &mut Change) {
    // As Pebble's `Status.Ready`: Done, Error and Hold (held after a failure) are final.
    let all_ready = change.tasks.iter().all(|t| {
        matches!(
            t.status,
            ChangeStatus::Done | ChangeStatus::Error | ChangeStatus::Hold
        )
    });
    if !all_ready {
        return;
    }
    let failed: Vec<&Task> = change
        .tasks
        .iter()
        .filter(|t| t.status == ChangeStatus::Error)
        .collect();
    if failed.is_empty() {
        change.status = ChangeStatus::Done;
    } else {
        change.status = ChangeStatus::Error;
        let mut err = String::from("cannot perform the following tasks:");
        for t in failed {
            let msg = t
                .log
                .iter()
                .rev()
                .find_map(|l| l.split_once(" ERROR ").map(|(_, m)| m.to_owned()))
                .unwrap_or_default();
            err.push_str(&format!("\n- {} ({msg})", t.summary));
        }
        change.err = Some(err);
    }
    change.ready = true;
    change.ready_time = Some(now());
}

fn title(action: &str) -> String {
    let mut c = action.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn post_services(shared: &Shared, body: &[u8]) -> Response {
    let p: ServicesPayload = match decode(body, "cannot decode data from request body") {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut d = shared.lock();
    let plan = match d.container.plan() {
        Ok(p) => p,
        Err(e) => return error(500, e),
    };
    let mut names = p.services.unwrap_or_default();
    let action = p.action.as_str();
    match action {
        "replan" | "autostart" => {
            if !names.is_empty() {
                return bad_request(format!("{action} accepts no service names"));
            }
            if action == "autostart" {
                names = plan
                    .services
                    .iter()
                    .filter(|(_, s)| s.startup == Some(Startup::Enabled))
                    .map(|(n, _)| n.clone())
                    .collect();
                if names.is_empty() {
                    return error_kind(400, "no-default-services", "no default services");
                }
            }
        }
        _ if names.is_empty() => {
            return bad_request(format!("must specify services for {action} action"))
        }
        _ => {}
    }
    let (stops, starts) = match action {
        "start" | "autostart" => (Ok(vec![]), plan::start_order(&plan, &names)),
        "stop" => (plan::stop_order(&plan, &names), Ok(vec![])),
        "restart" => (
            plan::stop_order(&plan, &names),
            plan::start_order(&plan, &names),
        ),
        "replan" => {
            let changed: Vec<String> = d
                .started_with
                .iter()
                .filter(|(n, cfg)| plan.services.get(*n) != Some(*cfg))
                .map(|(n, _)| n.clone())
                .filter(|n| d.container.service_status(n) == ServiceStatus::Active)
                .collect();
            let mut to_start: Vec<String> = plan
                .services
                .iter()
                .filter(|(_, s)| s.startup == Some(Startup::Enabled))
                .map(|(n, _)| n.clone())
                .collect();
            to_start.extend(
                changed
                    .iter()
                    .filter(|n| plan.services.contains_key(*n))
                    .cloned(),
            );
            to_start.sort();
            to_start.dedup();
            (Ok(changed), plan::start_order(&plan, &to_start))
        }
        other => return bad_request(format!("invalid action {other:?}")),
    };
    let (stops, starts) = match (stops, starts) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return bad_request(format!("cannot {action} services: {e}")),
    };
    // Replan starts only what is not running (or was just stopped for a new configuration).
    let starts: Vec<String> = if action == "replan" {
        starts
            .into_iter()
            .filter(|n| stops.contains(n) || d.container.service_status(n) != ServiceStatus::Active)
            .collect()
    } else {
        starts
    };
    let mut tasks = Vec::new();
    for name in &stops {
        let mut t = task(&mut d, "stop", format!("Stop service {name:?}"));
        match d.container.service_status(name) {
            ServiceStatus::Active | ServiceStatus::Backoff => {}
            _ if !d.started_with.contains_key(name) => log(
                &mut t,
                "INFO",
                &format!("Service {name:?} has never been started."),
            ),
            _ => log(
                &mut t,
                "INFO",
                &format!("Service {name:?} already stopped."),
            ),
        }
        d.container
            .service_statuses
            .insert(name.clone(), ServiceStatus::Inactive);
        finish_task(&mut t, true);
        tasks.push(t);
    }
    let mut failed = false;
    for name in &starts {
        let mut t = task(&mut d, "start", format!("Start service {name:?}"));
        if failed {
            // Pebble holds what follows a failed start in its lane.
            t.status = ChangeStatus::Hold;
            tasks.push(t);
            continue;
        }
        let status = d.container.service_status(name);
        if status == ServiceStatus::Active && !stops.contains(name) {
            log(
                &mut t,
                "INFO",
                &format!("Service {name:?} already started."),
            );
            finish_task(&mut t, true);
        } else if let Some(f) = d.container.start_failures.get(name).cloned() {
            let on_failure = plan.services[name]
                .on_failure
                .map(|a| serde_json::to_value(a).ok())
                .and_then(|v| v.and_then(|v| v.as_str().map(str::to_owned)))
                .unwrap_or_else(|| "restart".into());
            if !f.output.is_empty() {
                log(
                    &mut t,
                    "INFO",
                    &format!("Most recent service output:\n{}", f.output),
                );
            }
            log(
                &mut t,
                "ERROR",
                &format!(
                    "service start attempt: exited quickly with code {}, will {on_failure}",
                    f.exit_code
                ),
            );
            let new = if on_failure == "restart" {
                ServiceStatus::Backoff
            } else {
                ServiceStatus::Error
            };
            d.container.service_statuses.insert(name.clone(), new);
            finish_task(&mut t, false);
            failed = true;
        } else {
            d.container
                .service_statuses
                .insert(name.clone(), ServiceStatus::Active);
            d.started_with
                .insert(name.clone(), plan.services[name].clone());
            finish_task(&mut t, true);
        }
        tasks.push(t);
    }
    let mut all: Vec<&String> = stops.iter().chain(&starts).collect();
    all.dedup();
    let summary = if tasks.is_empty() {
        format!("{} - no services", title(action))
    } else {
        let first = if action == "replan" {
            let mut s: Vec<&String> = all.clone();
            s.sort();
            s[0].clone()
        } else {
            names[0].clone()
        };
        let count = if action == "restart" {
            starts.len()
        } else {
            all.len()
        };
        if count == 1 {
            format!("{} service {first:?}", title(action))
        } else {
            format!("{} service {first:?} and {} more", title(action), count - 1)
        }
    };
    let id = add_change(&mut d, action, summary, tasks);
    drop(d);
    shared.changed.notify_all();
    async_(&id, Json::Null)
}

#[derive(Deserialize)]
struct SignalsPayload {
    #[serde(default)]
    signal: String,
    #[serde(default)]
    services: Option<Vec<String>>,
}

const SIGNALS: &[&str] = &[
    "SIGABRT",
    "SIGALRM",
    "SIGBUS",
    "SIGCHLD",
    "SIGCONT",
    "SIGFPE",
    "SIGHUP",
    "SIGILL",
    "SIGINT",
    "SIGIO",
    "SIGKILL",
    "SIGPIPE",
    "SIGPROF",
    "SIGPWR",
    "SIGQUIT",
    "SIGSEGV",
    "SIGSTKFLT",
    "SIGSTOP",
    "SIGSYS",
    "SIGTERM",
    "SIGTRAP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGUSR1",
    "SIGUSR2",
    "SIGVTALRM",
    "SIGWINCH",
    "SIGXCPU",
    "SIGXFSZ",
];

fn post_signals(shared: &Shared, body: &[u8]) -> Response {
    let p: SignalsPayload = match decode(body, "cannot decode request body") {
        Ok(p) => p,
        Err(r) => return r,
    };
    let services = p.services.unwrap_or_default();
    if services.is_empty() {
        return bad_request("must specify one or more services");
    }
    let mut d = shared.lock();
    let mut errors = Vec::new();
    for name in &services {
        if d.container.service_status(name) != ServiceStatus::Active {
            errors.push(format!(
                "cannot send signal to {name:?}: service is not running"
            ));
        } else if !SIGNALS.contains(&p.signal.as_str()) {
            errors.push(format!(
                "cannot send signal to {name:?}: invalid signal name {:?}",
                p.signal
            ));
        } else {
            d.container.signals.push((p.signal.clone(), name.clone()));
        }
    }
    if !errors.is_empty() {
        return error(500, errors.join("; "));
    }
    sync(json!(true))
}

fn get_changes(shared: &Shared, q: &Query) -> Response {
    let select = match q.get("select").as_str() {
        "" | "in-progress" => Some(false),
        "ready" => Some(true),
        "all" => None,
        _ => return bad_request("select should be one of: all,in-progress,ready"),
    };
    let service = q.get("for");
    let d = shared.lock();
    let out: Vec<&Change> = d
        .changes
        .iter()
        .filter(|c| select.map_or(true, |ready| c.ready == ready))
        .filter(|c| service.is_empty() || c.summary_mentions(&service))
        .collect();
    sync(json!(out))
}

trait Mentions {
    fn summary_mentions(&self, service: &str) -> bool;
}

impl Mentions for Change {
    /// Whether the change concerns `service` (Pebble keeps `service-names`; its tasks' summaries
    /// name them).
    fn summary_mentions(&self, service: &str) -> bool {
        let quoted = format!("{service:?}");
        self.tasks.iter().any(|t| t.summary.ends_with(&quoted))
    }
}

fn get_change(shared: &Shared, id: &str) -> Response {
    let d = shared.lock();
    match d.changes.iter().find(|c| c.id.0 == id) {
        Some(c) => sync(json!(c)),
        None => error(404, format!("cannot find change with id {id:?}")),
    }
}

fn wait_change(shared: &Shared, id: &str, q: &Query) -> Response {
    let timeout = match q.get("timeout").as_str() {
        "" => None,
        t => match godur::parse(t) {
            Ok(d) if d.is_zero() => None,
            Ok(d) => Some(d),
            Err(e) => return bad_request(format!("invalid timeout: {e}")),
        },
    };
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut d = shared.lock();
    if !d.changes.iter().any(|c| c.id.0 == id) {
        return error(404, format!("cannot find change with id {id:?}"));
    }
    loop {
        let change = d.changes.iter().find(|c| c.id.0 == id).expect("checked");
        if change.ready {
            return sync(json!(change));
        }
        let wait = match deadline {
            Some(dl) => {
                let now = Instant::now();
                if now >= dl {
                    let t = timeout.expect("deadline has a timeout");
                    return error(
                        504,
                        format!("timed out waiting for change after {}", godur::format(t)),
                    );
                }
                dl - now
            }
            None => Duration::from_secs(3600),
        };
        d = shared
            .changed
            .wait_timeout(d, wait)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

#[derive(Deserialize)]
struct ChangePayload {
    #[serde(default)]
    action: String,
}

fn post_change(shared: &Shared, id: &str, body: &[u8]) -> Response {
    let mut d = shared.lock();
    let Some(change) = d.changes.iter_mut().find(|c| c.id.0 == id) else {
        return error(404, format!("cannot find change with id {id:?}"));
    };
    let p: ChangePayload = match decode(body, "cannot decode data from request body") {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.action != "abort" {
        return bad_request(format!("invalid action {:?}", p.action));
    }
    if change.ready {
        return bad_request(format!("cannot abort change {id} with nothing pending"));
    }
    for t in change.tasks.iter_mut().filter(|t| t.ready_time.is_none()) {
        log(t, "ERROR", "task aborted");
        finish_task(t, false);
    }
    change.status = ChangeStatus::Abort;
    let out = json!(change);
    settle(change);
    drop(d);
    shared.changed.notify_all();
    sync(out)
}

fn notice_matches(n: &Notice, types: &[String], keys: &[String], after: Option<&str>) -> bool {
    (types.is_empty() || types.iter().any(|t| t == n.r#type.as_str()))
        && (keys.is_empty() || keys.contains(&n.key))
        && after.map_or(true, |a| {
            match (
                humantime::parse_rfc3339_weak(&n.last_repeated),
                humantime::parse_rfc3339_weak(a),
            ) {
                (Ok(l), Ok(a)) => l > a,
                _ => n.last_repeated.as_str() > a,
            }
        })
}

fn get_notices(shared: &Shared, q: &Query) -> Response {
    if q.has("users") {
        if q.has("user-id") {
            return bad_request(r#"cannot use both "users" and "user-id" parameters"#);
        }
        if q.get("users") != "all" {
            return bad_request(r#"invalid "users" filter: must be "all""#);
        }
    }
    let types = q.list("types");
    let known = [
        "custom",
        "change-update",
        "warning",
        "check-failed",
        "check-recovered",
    ];
    if types.iter().any(|t| !known.contains(&t.as_str()))
        && types.iter().all(|t| !known.contains(&t.as_str()))
    {
        return sync(json!([]));
    }
    let keys = q.list("keys");
    let after = q.get("after");
    let after = if after.is_empty() {
        None
    } else {
        if humantime::parse_rfc3339_weak(&after).is_err() {
            return bad_request(format!(
                r#"invalid "after" timestamp: parsing time {after:?}: cannot parse"#
            ));
        }
        Some(after)
    };
    let timeout = match q.get("timeout").as_str() {
        "" => None,
        t => match godur::parse(t) {
            Ok(d) => Some(d),
            Err(e) => return bad_request(format!("invalid timeout: {e}")),
        },
    };
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut d = shared.lock();
    loop {
        let found: Vec<&Notice> = d
            .container
            .notices
            .iter()
            .filter(|n| notice_matches(n, &types, &keys, after.as_deref()))
            .collect();
        let now = Instant::now();
        match deadline {
            Some(dl) if found.is_empty() && now < dl => {
                d = shared
                    .changed
                    .wait_timeout(d, dl - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            _ => return sync(json!(found)),
        }
    }
}

fn get_notice(shared: &Shared, id: &str) -> Response {
    let d = shared.lock();
    match d.container.notices.iter().find(|n| n.id == id) {
        Some(n) => sync(json!(n)),
        None => error(404, format!("cannot find notice with ID {id:?}")),
    }
}

#[derive(Deserialize)]
struct NoticePayload {
    #[serde(default)]
    action: String,
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    key: String,
    #[serde(default, rename = "repeat-after")]
    repeat_after: String,
    #[serde(default)]
    data: Option<Json>,
}

/// Pebble's custom key form: `example.com/path` (lowercase words, dots, at least one slash).
fn valid_custom_key(key: &str) -> bool {
    let word = |s: &str| {
        !s.is_empty()
            && s.split('-').all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
    };
    let Some((domain, path)) = key.split_once('/') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2 && labels.iter().all(|l| word(l)) && path.split('/').all(word)
}

fn post_notices(shared: &Shared, body: &[u8]) -> Response {
    let p: NoticePayload = match decode(body, "cannot decode request body") {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.action != "add" {
        return bad_request(format!("invalid action {:?}", p.action));
    }
    if p.r#type != "custom" {
        return bad_request(format!(
            r#"invalid type {:?} (can only add "custom" notices)"#,
            p.r#type
        ));
    }
    if !valid_custom_key(&p.key) {
        return bad_request(format!(
            r#"invalid key {:?} (must be in "example.com/path" format)"#,
            p.key
        ));
    }
    if p.key.len() > 256 {
        return bad_request("key must be 256 bytes or less");
    }
    let repeat_after = match p.repeat_after.as_str() {
        "" => None,
        r => match godur::parse(r) {
            Ok(d) => Some(d),
            Err(e) => return bad_request(format!("invalid repeat-after: {e}")),
        },
    };
    let data: std::collections::BTreeMap<String, String> = match &p.data {
        None => Default::default(),
        Some(raw) if raw.to_string().len() > 4096 => {
            return bad_request("total size of data must be 4096 bytes or less")
        }
        Some(raw) => match serde_json::from_value(raw.clone()) {
            Ok(m) => m,
            Err(e) => return bad_request(format!("cannot decode notice data: {e}")),
        },
    };
    let mut d = shared.lock();
    let t = now();
    let existing = d
        .container
        .notices
        .iter()
        .position(|n| n.r#type == NoticeType::Custom && n.key == p.key && n.user_id == Some(0));
    let id = match existing {
        Some(i) => {
            let n = &mut d.container.notices[i];
            n.occurrences += 1;
            let repeat = match (
                repeat_after,
                humantime::parse_rfc3339_weak(&n.last_repeated),
            ) {
                (Some(r), Ok(last)) => std::time::SystemTime::now() > last + r,
                _ => true,
            };
            if repeat {
                n.last_repeated = t.clone();
            }
            n.last_occurred = t;
            n.last_data = data;
            n.repeat_after = repeat_after.map(godur::format);
            n.id.clone()
        }
        None => {
            d.last_notice += 1;
            let id = d.last_notice.to_string();
            d.container.notices.push(Notice {
                id: id.clone(),
                user_id: Some(0),
                r#type: NoticeType::Custom,
                key: p.key,
                first_occurred: t.clone(),
                last_occurred: t.clone(),
                last_repeated: t,
                occurrences: 1,
                last_data: data,
                repeat_after: repeat_after.map(godur::format),
                expire_after: Some("168h0m0s".into()),
            });
            id
        }
    };
    drop(d);
    shared.changed.notify_all();
    sync(json!({ "id": id }))
}
