//! `multipart/form-data`, as Pebble's push (request) and pull (reply) use it.
//!
//! Hand-written on purpose, and small: the bodies cross the [`Transport`](super::Transport) as
//! bytes, so a writer tied to an HTTP client's request (ureq's `unversioned::multipart::Form`,
//! outside its semver promise) does not fit, and no maintained crate parses multipart
//! synchronously (`multipart` is unmaintained; `multer` and `mpart-async` are async streams).
//! Both sides are here because the fake Pebble reads what the client writes and writes what
//! the client reads. The format follows Go's `mime/multipart`, which Pebble uses: CRLF line
//! ends, `--boundary` delimiters, `Content-Disposition: form-data; name="…"; filename="…"`
//! with `\` and `"` escaped by a backslash.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field name (`request`, `files`, `response`).
    pub name: String,
    /// The `filename`, for file parts.
    pub filename: Option<String>,
    /// The part's `Content-Type`.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub body: Vec<u8>,
}

impl Part {
    /// A JSON part named `name`.
    pub fn json(name: &str, value: &serde_json::Value) -> Part {
        Part {
            name: name.into(),
            filename: None,
            content_type: Some("application/json".into()),
            body: serde_json::to_vec(value).expect("a JSON value serializes"),
        }
    }

    /// A file part named `name` (as Go's `CreateFormFile`: `application/octet-stream`).
    pub fn file(name: &str, filename: &str, body: Vec<u8>) -> Part {
        Part {
            name: name.into(),
            filename: Some(filename.into()),
            content_type: Some("application/octet-stream".into()),
            body,
        }
    }
}

/// A fresh boundary (at least the 32 characters Pebble requires).
pub fn boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("charmkit{:032x}{:016x}{:08x}", nanos, n, std::process::id())
}

/// The `Content-Type` of a form with `boundary`.
pub fn content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// The boundary of a `multipart/form-data` content type, if it is one.
pub fn boundary_of(content_type: &str) -> Option<String> {
    let (media, params) = parse_header_value(content_type);
    if !media.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Writes `parts` with `boundary`, choosing another boundary if a body happens to contain it.
/// Returns the boundary used and the body.
pub fn write(parts: &[Part]) -> (String, Vec<u8>) {
    loop {
        let b = boundary();
        let delim = format!("--{b}");
        if parts
            .iter()
            .any(|p| find(&p.body, delim.as_bytes(), 0).is_some())
        {
            continue;
        }
        return (b.clone(), write_with(&b, parts));
    }
}

/// Writes `parts` with the given `boundary`.
pub fn write_with(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("form-data; name=\"{}\"", quote(&p.name));
        if let Some(f) = &p.filename {
            disposition.push_str(&format!("; filename=\"{}\"", quote(f)));
        }
        out.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        if let Some(ct) = &p.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&p.body);
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() || from > hay.len() - needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= hay.len() {
        match hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&b| b == first)
        {
            None => return None,
            Some(off) => {
                i += off;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

/// Parses a form body with `boundary`. Errors name what is malformed.
pub fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
    let delim = format!("--{boundary}");
    let inner = format!("\r\n--{boundary}");
    let mut pos = match find(body, delim.as_bytes(), 0) {
        Some(0) => delim.len(),
        Some(p) => match find(body, inner.as_bytes(), 0) {
            Some(q) => q + inner.len(),
            None => p + delim.len(),
        },
        None => return Err("no multipart boundary found".into()),
    };
    let mut parts = Vec::new();
    loop {
        // After a delimiter: `--` ends the form, CRLF starts a part.
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        let line_end = find(body, b"\r\n", pos).ok_or("multipart: truncated delimiter line")?;
        if !body[pos..line_end]
            .iter()
            .all(|b| *b == b' ' || *b == b'\t')
        {
            return Err("multipart: garbage after a boundary".into());
        }
        let headers_start = line_end + 2;
        let (headers_end, body_start) = if body[headers_start..].starts_with(b"\r\n") {
            (headers_start, headers_start + 2)
        } else {
            let e = find(body, b"\r\n\r\n", headers_start)
                .ok_or("multipart: part headers not terminated")?;
            (e, e + 4)
        };
        let head = std::str::from_utf8(&body[headers_start..headers_end])
            .map_err(|_| "multipart: part headers are not UTF-8")?;
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            body: Vec::new(),
        };
        for line in head.split("\r\n").filter(|l| !l.is_empty()) {
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("multipart: malformed header line {line:?}"))?;
            let v = v.trim();
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                let (_, params) = parse_header_value(v);
                for (pk, pv) in params {
                    match pk.to_ascii_lowercase().as_str() {
                        "name" => part.name = pv,
                        "filename" => part.filename = Some(pv),
                        _ => {}
                    }
                }
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(v.to_owned());
            }
        }
        let end = find(body, inner.as_bytes(), body_start)
            .ok_or("multipart: part not terminated by a boundary")?;
        part.body = body[body_start..end].to_vec();
        parts.push(part);
        pos = end + inner.len();
    }
}

/// Splits `type/subtype; k=v; k2="quoted \" value"` into the value and its parameters.
fn parse_header_value(v: &str) -> (String, Vec<(String, String)>) {
    let mut chars = v.chars().peekable();
    let mut media = String::new();
    while let Some(&c) = chars.peek() {
        if c == ';' {
            break;
        }
        media.push(c);
        chars.next();
    }
    let mut params = Vec::new();
    while chars.peek() == Some(&';') {
        chars.next();
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
                while let Some(&c) = chars.peek() {
                    if c == ';' {
                        break;
                    }
                    chars.next();
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ';' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        params.push((key.trim().to_owned(), value.trim_end().to_owned()));
    }
    (media.trim().to_owned(), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_binary_and_odd_names() {
        let parts = vec![
            Part::json("request", &serde_json::json!({"action": "write"})),
            Part::file("files", "/tmp/a \"q\" \\b", b"\r\n--x\r\n\0\xff".to_vec()),
            Part::file("files", "/empty", Vec::new()),
        ];
        let (b, body) = write(&parts);
        assert!(b.len() >= 32);
        assert_eq!(parse(&body, &b).unwrap(), parts);
        assert_eq!(boundary_of(&content_type(&b)).as_deref(), Some(b.as_str()));
        assert_eq!(boundary_of("application/json"), None);
    }

    #[test]
    fn parses_what_go_writes() {
        // As Go's mime/multipart writes Pebble's pull reply (a preamble-free body, LF-free).
        let body = b"--XYZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/f\"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n--XYZ\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n{\"type\":\"sync\"}\n\r\n--XYZ--\r\n";
        let parts = parse(body, "XYZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].filename.as_deref(), Some("/f"));
        assert_eq!(parts[0].body, b"hello");
        assert_eq!(parts[1].name, "response");
        assert_eq!(parts[1].body, b"{\"type\":\"sync\"}\n");
        assert_eq!(
            boundary_of("multipart/form-data; boundary=\"XYZ\"").as_deref(),
            Some("XYZ")
        );
    }

    #[test]
    fn refuses_malformed_bodies() {
        assert!(parse(b"nothing", "XYZ").is_err());
        assert!(parse(
            b"--XYZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            "XYZ"
        )
        .is_err());
        assert!(parse(b"--XYZ\r\nbroken header\r\n\r\nx\r\n--XYZ--", "XYZ").is_err());
    }
}
