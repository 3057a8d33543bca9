//! The fake's routes: one function per endpoint, answering as `internals/daemon/api*.go`.

use serde::Deserialize;
use serde_json::json;

use crate::pebble::{Layer, Method, Request, Response};

use super::reply::{bad_request, decode, error, sync, Query};
use super::{files, plan, RequestRecord, Shared};

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
        (["v1", "health"], Method::Get) => super::checks::health(shared, &q),
        (["v1", "changes"], Method::Get) => super::changes::get_changes(shared, &q),
        (["v1", "changes", id], Method::Get) => super::changes::get_change(shared, id),
        (["v1", "changes", id], Method::Post) => super::changes::post_change(shared, id, &req.body),
        (["v1", "changes", id, "wait"], Method::Get) => super::changes::wait_change(shared, id, &q),
        (["v1", "services"], Method::Get) => super::services::get_services(shared, &q),
        (["v1", "services"], Method::Post) => super::services::post_services(shared, &req.body),
        (["v1", "plan"], Method::Get) => get_plan(shared, &q),
        (["v1", "layers"], Method::Post) => post_layers(shared, &req.body),
        (["v1", "files"], Method::Get) => files::get(shared, req, &q),
        (["v1", "files"], Method::Post) => files::post(shared, req),
        (["v1", "exec"], Method::Post) => super::exec::post(shared, &req.body),
        (["v1", "signals"], Method::Post) => super::services::post_signals(shared, &req.body),
        (["v1", "checks"], Method::Get) => super::checks::get_checks(shared, &q),
        (["v1", "checks"], Method::Post) => super::checks::post_checks(shared, &req.body),
        (["v1", "notices"], Method::Get) => super::notices::get_notices(shared, &q),
        (["v1", "notices"], Method::Post) => super::notices::post_notices(shared, &req.body),
        (["v1", "notices", id], Method::Get) => super::notices::get_notice(shared, id),
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

fn system_info(shared: &Shared) -> Response {
    let d = shared.lock();
    sync(json!({"boot-id": d.boot_id, "version": "v1.32.1"}))
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
