//! The fake's notices (`api_notices.go`, `overlord/state/notices.go`).

use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::pebble::godur;
use crate::pebble::wire::now;
use crate::pebble::{Notice, NoticeType, Response};

use super::reply::{bad_request, decode, error, sync, Query};
use super::Shared;

fn notice_matches(n: &Notice, types: &[String], keys: &[String], after: Option<&str>) -> bool {
    (types.is_empty() || types.iter().any(|t| t == n.r#type.as_str()))
        && (keys.is_empty() || keys.contains(&n.key))
        && after.is_none_or(|a| {
            match (
                humantime::parse_rfc3339_weak(&n.last_repeated),
                humantime::parse_rfc3339_weak(a),
            ) {
                (Ok(l), Ok(a)) => l > a,
                _ => n.last_repeated.as_str() > a,
            }
        })
}

pub(crate) fn get_notices(shared: &Shared, q: &Query) -> Response {
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

pub(crate) fn get_notice(shared: &Shared, id: &str) -> Response {
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

pub(crate) fn post_notices(shared: &Shared, body: &[u8]) -> Response {
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
                last_data: data,
                repeat_after: repeat_after.map(godur::format),
                ..Notice::custom(&id, &p.key)
            });
            id
        }
    };
    drop(d);
    shared.changed.notify_all();
    sync(json!({ "id": id }))
}
