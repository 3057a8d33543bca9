//! The fake's services and signals (`api_services.go`, `api_signals.go`, `servstate`).

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::pebble::{ChangeStatus, Response, ServiceStatus, Startup};

use super::changes::{add_change, finish_task, log, task};
use super::reply::{async_, bad_request, decode, error, error_kind, sync, Query};
use super::{plan, Shared};

pub(crate) fn get_services(shared: &Shared, q: &Query) -> Response {
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

fn title(action: &str) -> String {
    let mut c = action.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

pub(crate) fn post_services(shared: &Shared, body: &[u8]) -> Response {
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
            // The changed services are stopped with what requires them (Pebble's Replan goes
            // through StopOrder), those of them that run.
            let stops = plan::stop_order(&plan, &changed).map(|order| {
                order
                    .into_iter()
                    .filter(|n| d.container.service_status(n) == ServiceStatus::Active)
                    .collect()
            });
            (stops, plan::start_order(&plan, &to_start))
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

pub(crate) fn post_signals(shared: &Shared, body: &[u8]) -> Response {
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
