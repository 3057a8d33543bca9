//! How the fake answers: Pebble's envelopes (`sync`, `async`, `error`), request bodies decoded
//! with Pebble's 400, and the query string read as Go reads it.

use serde::Deserialize;
use serde_json::Value as Json;

use crate::pebble::wire;
use crate::pebble::Response;

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

pub(crate) fn async_(change: &str, result: Json) -> Response {
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

/// Decodes a JSON body, or Pebble's 400 with `prefix` (`cannot decode request body: …`).
pub(crate) fn decode<'a, T: Deserialize<'a>>(body: &'a [u8], prefix: &str) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("{prefix}: {e}")))
}
