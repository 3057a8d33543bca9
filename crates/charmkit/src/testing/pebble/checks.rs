//! The fake's checks and health (`api_checks.go`, `api_health.go`).

use serde::Deserialize;
use serde_json::json;

use crate::pebble::wire;
use crate::pebble::{Check, CheckInfo, CheckLevel, CheckStatus, Response, Startup};

use super::reply::{bad_request, decode, error, json_response, sync, Query};
use super::{Daemon, Shared};

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
                .unwrap_or_else(|| planned_info(name, c))
        })
        .collect())
}

/// What Pebble says of the plan's check `name` before it has run: up (inactive if disabled),
/// with the plan's level, startup and threshold.
pub(crate) fn planned_info(name: &str, c: &Check) -> CheckInfo {
    let mut info = CheckInfo::up(name);
    info.level = c.level;
    info.startup = c.startup.unwrap_or(Startup::Enabled);
    info.threshold = c.threshold.unwrap_or(3);
    if info.startup == Startup::Disabled {
        info.status = CheckStatus::Inactive;
    }
    info
}

fn parse_level(q: &Query) -> Result<Option<CheckLevel>, Response> {
    match q.get("level").as_str() {
        "" => Ok(None),
        "alive" => Ok(Some(CheckLevel::Alive)),
        "ready" => Ok(Some(CheckLevel::Ready)),
        _ => Err(bad_request(r#"level must be "alive" or "ready""#)),
    }
}

pub(crate) fn health(shared: &Shared, q: &Query) -> Response {
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

pub(crate) fn get_checks(shared: &Shared, q: &Query) -> Response {
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

pub(crate) fn post_checks(shared: &Shared, body: &[u8]) -> Response {
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
