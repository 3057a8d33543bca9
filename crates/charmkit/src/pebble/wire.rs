//! Pebble's JSON envelopes (`internals/daemon/response.go`), read and written.

use serde::de::DeserializeOwned;
#[cfg(any(test, feature = "testing"))]
use serde_json::json;
use serde_json::Value as Json;

use super::error::Error;
use super::Result;

/// A decoded envelope: `sync` or `async` (errors become [`Error::Api`]).
#[derive(Debug)]
pub(crate) struct Envelope {
    /// The `change` id of an async reply.
    pub change: Option<String>,
    /// The `result`.
    pub result: Json,
}

impl Envelope {
    /// The result, decoded as `T`.
    pub fn decode<T: DeserializeOwned>(self, request: &str) -> Result<T> {
        serde_json::from_value(self.result).map_err(|e| Error::protocol(request, e))
    }
}

/// Reads Pebble's envelope from a reply's HTTP `status` and `body`. An `error` envelope is an
/// [`Error::Api`]; a `sync` envelope with an error status (health's 502) is a result like any
/// other.
pub(crate) fn parse(request: &str, status: u16, body: &[u8]) -> Result<Envelope> {
    let v: Json = serde_json::from_slice(body).map_err(|e| {
        Error::protocol(
            request,
            format!(
                "HTTP {status} with a body that is not JSON ({e}): {}",
                preview(body)
            ),
        )
    })?;
    match v.get("type").and_then(Json::as_str) {
        Some("sync") | Some("async") => Ok(Envelope {
            change: v.get("change").and_then(Json::as_str).map(str::to_owned),
            result: v.get("result").cloned().unwrap_or(Json::Null),
        }),
        Some("error") => Err(api_error(request, status, &v)),
        _ => Err(Error::protocol(
            request,
            format!("HTTP {status} without an envelope type"),
        )),
    }
}

/// The error in a reply with an error `status` (an error envelope, or whatever `body` it came
/// with).
pub(crate) fn error_of(request: &str, status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<Json>(body) {
        Ok(v) if v.get("type").and_then(Json::as_str) == Some("error") => {
            api_error(request, status, &v)
        }
        _ => Error::Api {
            request: request.to_owned(),
            status_code: status,
            kind: None,
            message: preview(body),
        },
    }
}

fn api_error(request: &str, status: u16, v: &Json) -> Error {
    let result = v.get("result");
    let field = |k: &str| {
        result
            .and_then(|r| r.get(k))
            .and_then(Json::as_str)
            .map(str::to_owned)
    };
    Error::Api {
        request: request.to_owned(),
        status_code: v
            .get("status-code")
            .and_then(Json::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(status),
        kind: field("kind").filter(|k| !k.is_empty()),
        message: field("message").unwrap_or_default(),
    }
}

fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.trim().chars().take(200).collect()
}

// The writers below are the fake Pebble's (the harness, `testing`); the client only reads.

#[cfg(any(test, feature = "testing"))]
/// Go's `http.StatusText` for the codes Pebble answers with.
pub(crate) fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(any(test, feature = "testing"))]
/// A `sync` envelope (as Pebble writes it: `type`, `status-code`, `status`, `result`).
pub(crate) fn sync(status: u16, result: Json) -> Json {
    let mut v = json!({"type": "sync", "status-code": status, "status": status_text(status)});
    if !result.is_null() {
        v["result"] = result;
    }
    v
}

#[cfg(any(test, feature = "testing"))]
/// An `async` envelope for `change`.
pub(crate) fn async_(change: &str, result: Json) -> Json {
    let mut v =
        json!({"type": "async", "status-code": 202, "status": "Accepted", "change": change});
    if !result.is_null() {
        v["result"] = result;
    }
    v
}

#[cfg(any(test, feature = "testing"))]
/// An `error` envelope (`kind` omitted when empty, `message` always present).
pub(crate) fn error(status: u16, kind: Option<&str>, message: &str) -> Json {
    let mut result = json!({ "message": message });
    if let Some(k) = kind.filter(|k| !k.is_empty()) {
        result["kind"] = json!(k);
    }
    json!({"type": "error", "status-code": status, "status": status_text(status), "result": result})
}

/// Now, in RFC 3339 with nanoseconds, UTC, as Pebble writes times.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_json(request: &str, status: u16, body: Json) -> Result<Envelope> {
        parse(request, status, &serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn envelopes_round_trip() {
        let e = parse_json("GET /v1/x", 200, sync(200, json!([1]))).unwrap();
        assert_eq!(e.result, json!([1]));
        let e = parse_json("POST /v1/x", 202, async_("7", Json::Null)).unwrap();
        assert_eq!(e.change.as_deref(), Some("7"));
        // Health's 502 is still a sync envelope with a result.
        let e = parse_json("GET /v1/health", 502, sync(502, json!({"healthy": false})));
        assert_eq!(e.unwrap().result, json!({"healthy": false}));
        let err = parse_json(
            "GET /v1/y",
            404,
            error(404, Some("not-found"), "cannot find"),
        )
        .unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(
            err.to_string(),
            "Pebble GET /v1/y: cannot find (HTTP 404, kind not-found)"
        );
        // Pebble omits an empty kind.
        assert_eq!(error(400, None, "m")["result"], json!({"message": "m"}));
        let err = parse("GET /v1/z", 502, b"<html>bad gateway</html>").unwrap_err();
        assert!(matches!(err, Error::Protocol { .. }), "{err}");
    }
}
