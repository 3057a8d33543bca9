//! The fake's changes and tasks (`api_changes.go`, `overlord/state`): building them with
//! Pebble's summaries and logs, waiting and aborting.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use crate::pebble::godur;
use crate::pebble::wire::now;
use crate::pebble::{Change, ChangeId, ChangeStatus, Response, Task, TaskProgress};

use super::reply::{bad_request, decode, error, sync, Query};
use super::{Daemon, Shared};

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
    d.container.changes.push(change);
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

pub(crate) fn get_changes(shared: &Shared, q: &Query) -> Response {
    let select = match q.get("select").as_str() {
        "" | "in-progress" => Some(false),
        "ready" => Some(true),
        "all" => None,
        _ => return bad_request("select should be one of: all,in-progress,ready"),
    };
    let service = q.get("for");
    let d = shared.lock();
    let out: Vec<&Change> = d
        .container
        .changes
        .iter()
        .filter(|c| select.is_none_or(|ready| c.ready == ready))
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

pub(crate) fn get_change(shared: &Shared, id: &str) -> Response {
    let d = shared.lock();
    match d.container.changes.iter().find(|c| c.id.0 == id) {
        Some(c) => sync(json!(c)),
        None => error(404, format!("cannot find change with id {id:?}")),
    }
}

pub(crate) fn wait_change(shared: &Shared, id: &str, q: &Query) -> Response {
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
    if !d.container.changes.iter().any(|c| c.id.0 == id) {
        return error(404, format!("cannot find change with id {id:?}"));
    }
    loop {
        let change = d
            .container
            .changes
            .iter()
            .find(|c| c.id.0 == id)
            .expect("checked");
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

pub(crate) fn post_change(shared: &Shared, id: &str, body: &[u8]) -> Response {
    let mut d = shared.lock();
    let Some(change) = d.container.changes.iter_mut().find(|c| c.id.0 == id) else {
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
