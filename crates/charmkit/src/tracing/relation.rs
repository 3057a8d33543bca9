//! The data contracts of the two relations tracing uses, as pure functions over databags (no hook
//! tools here): `tracing` v2 (we are the requirer, endpoint `charm-tracing`) and
//! `certificate_transfer` v1 with the v0 fallback (we are the requirer, endpoint
//! `receive-ca-cert`).
//!
//! Databags are maps of string → string whose values are themselves JSON text. Everything here
//! is total: any databag content gives either a value or a [`NotReady`] reason, never a panic.
//! A [`NotReady`] displays as one short line (at most about 200 characters) that is safe to log:
//! quoted values are truncated to 60 characters, user:password parts of URLs are masked, and
//! nothing from a certificate field is ever quoted (a misconfigured provider could put a private
//! key there).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

use crate::types::json_kind;

/// The key we write in our application databag on the `tracing` relation.
pub const RECEIVERS_KEY: &str = "receivers";
/// The value we write under `receivers` in our app databag (tracing v2 requirer): exactly
/// `["otlp_http"]`.
pub const TRACING_RECEIVERS_VALUE: &str = r#"["otlp_http"]"#;
/// The key we write in our application databag on the `certificate_transfer` relation.
pub const CA_VERSION_KEY: &str = "version";
/// The value we write under `version` (certificate_transfer v1 requirer): exactly `1`.
pub const CA_VERSION_VALUE: &str = "1";
/// The key under which a certificate_transfer v1 provider publishes its CAs.
pub const CERTIFICATES_KEY: &str = "certificates";

/// The PEM header every certificate must contain (the sanity check of [`ca_bundle`]).
pub use crate::trace::export::PEM_CERTIFICATE_HEADER;

/// Longest export base URL we accept.
const MAX_URL_LEN: usize = 2048;
/// How many characters of a quoted value a message shows.
const EXCERPT_CHARS: usize = 60;

/// Why there is no destination / no CA yet: one clear, loggable reason ([`fmt::Display`]), never
/// secret data, never the whole databag.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotReady {
    /// The provider has not published `receivers` (missing or empty).
    NoReceivers,
    /// `receivers` is not valid JSON.
    ReceiversNotJson {
        /// The JSON parser's message (positions only, no content).
        error: String,
        /// The beginning of the value, quoted and truncated.
        excerpt: String,
    },
    /// `receivers` is JSON but not a list of `{"protocol": {"name", "type"}, "url"}`.
    ReceiversBadShape {
        /// What is wrong, e.g. `receivers[1].url: missing`.
        problem: String,
    },
    /// No receiver has protocol name `otlp_http`.
    NoOtlpHttp {
        /// The protocol names offered (at most a few, truncated).
        offered: Vec<String>,
    },
    /// The first `otlp_http` receiver's URL cannot be used.
    BadUrl {
        /// The URL, quoted, truncated, user:password masked.
        excerpt: String,
        /// Why, e.g. `does not start with http:// or https://`.
        problem: &'static str,
    },
    /// No CA published yet: no `certificates` in the provider's application databag, and no
    /// `ca`/`chain` in its unit databags (or no remote units).
    NoCa,
    /// `certificates` is not valid JSON.
    CertificatesNotJson {
        /// The JSON parser's message (positions only, no content).
        error: String,
        /// The length of the value in bytes (the value itself is never shown).
        len: usize,
    },
    /// `certificates` is JSON but not a list of strings.
    CertificatesBadShape {
        /// What is wrong, e.g. `certificates[0]: expected a string, found a number`.
        problem: String,
    },
    /// `certificates` is an empty list.
    EmptyCertificates,
    /// A certificate does not contain `-----BEGIN CERTIFICATE-----`.
    NotPem {
        /// Where it came from, e.g. `certificates[1]` or `unit databag #0 ca`.
        origin: String,
    },
    /// v0 fallback: remote unit databags hold CA keys, but none is usable.
    V0Malformed {
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReady::NoReceivers => {
                f.write_str("tracing: the provider has not published `receivers` yet")
            }
            NotReady::ReceiversNotJson { error, excerpt } => write!(
                f,
                "tracing: `receivers` is not valid JSON ({}): {}",
                clip(error, 60),
                clip(excerpt, EXCERPT_CHARS + 3)
            ),
            NotReady::ReceiversBadShape { problem } => {
                write!(f, "tracing: unexpected `receivers`: {}", clip(problem, 120))
            }
            NotReady::NoOtlpHttp { offered } => {
                f.write_str("tracing: the provider offers no otlp_http receiver")?;
                if offered.is_empty() {
                    return f.write_str(" (it offers none)");
                }
                f.write_str(" (offered: ")?;
                for (i, name) in offered.iter().take(4).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&clip(name, 24))?;
                }
                if offered.len() > 4 {
                    write!(f, " and {} more", offered.len() - 4)?;
                }
                f.write_str(")")
            }
            NotReady::BadUrl { excerpt, problem } => write!(
                f,
                "tracing: the otlp_http receiver URL {} {}",
                clip(excerpt, EXCERPT_CHARS + 3),
                clip(problem, 60)
            ),
            NotReady::NoCa => f.write_str(
                "certificate_transfer: no CA published yet (no `certificates` in the provider's \
                 application databag, no `ca` or `chain` in its unit databags)",
            ),
            NotReady::CertificatesNotJson { error, len } => write!(
                f,
                "certificate_transfer: `certificates` is not valid JSON ({}; {len} bytes)",
                clip(error, 60)
            ),
            NotReady::CertificatesBadShape { problem } => write!(
                f,
                "certificate_transfer: unexpected `certificates`: {}",
                clip(problem, 120)
            ),
            NotReady::EmptyCertificates => {
                f.write_str("certificate_transfer: `certificates` is an empty list")
            }
            NotReady::NotPem { origin } => write!(
                f,
                "certificate_transfer: {} does not look like a PEM certificate (no `{}`)",
                clip(origin, 40),
                PEM_CERTIFICATE_HEADER
            ),
            NotReady::V0Malformed { problem } => write!(
                f,
                "certificate_transfer (v0 unit data): {}",
                clip(problem, 120)
            ),
        }
    }
}

impl std::error::Error for NotReady {}

/// Where to export traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The OTLP/HTTP traces URL: `<base without trailing slashes>/v1/traces`.
    pub url: String,
    /// Things worth logging that did not prevent a destination (e.g. several `otlp_http`
    /// receivers: the first wins).
    pub warnings: Vec<String>,
}

/// From the provider's application databag of the `tracing` v2 relation: the OTLP/HTTP export
/// URL (`<base without trailing slashes>/v1/traces`), and warnings.
///
/// `receivers` must be a JSON list whose every element is an object with `protocol.name`,
/// `protocol.type` and `url` strings (as the reference library's model requires; extra fields
/// and extra receivers are fine). The first receiver named `otlp_http` wins (a warning if there
/// are several). Its URL must start with `http://` or `https://` (exactly, lower case), have a
/// host, no query or fragment, no whitespace, control or non-ASCII characters (IDN hosts must be
/// punycode) and be at most 2048 bytes long. A JSON string holding JSON (double encoding) is a
/// wrong shape, not decoded again. An empty `receivers` value is treated as missing (Juju deletes
/// keys set to the empty string).
pub fn otlp_http_endpoint(
    provider_app_data: &BTreeMap<String, String>,
) -> Result<Endpoint, NotReady> {
    let raw = match provider_app_data.get(RECEIVERS_KEY) {
        None => return Err(NotReady::NoReceivers),
        Some(s) if s.is_empty() => return Err(NotReady::NoReceivers),
        Some(s) => s,
    };
    let value: Json = serde_json::from_str(raw).map_err(|e| NotReady::ReceiversNotJson {
        error: e.to_string(),
        excerpt: quote(raw),
    })?;
    let Json::Array(items) = value else {
        return Err(NotReady::ReceiversBadShape {
            problem: format!("expected a JSON list, found {}", json_kind(&value)),
        });
    };
    choose_otlp_http(&receivers_of(&items)?)
}

/// One receiver a provider offers.
struct Receiver<'a> {
    name: &'a str,
    kind: &'a str,
    url: &'a str,
}

/// Checks the shape of every receiver.
fn receivers_of<'a>(items: &'a [Json]) -> Result<Vec<Receiver<'a>>, NotReady> {
    let mut receivers = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let bad = |what: &str| NotReady::ReceiversBadShape {
            problem: format!("receivers[{i}]{what}"),
        };
        let Json::Object(obj) = item else {
            return Err(bad(&format!(
                ": expected an object, found {}",
                json_kind(item)
            )));
        };
        let protocol = match obj.get("protocol") {
            Some(Json::Object(p)) => p,
            Some(other) => {
                return Err(bad(&format!(
                    ".protocol: expected an object, found {}",
                    json_kind(other)
                )))
            }
            None => return Err(bad(".protocol: missing")),
        };
        let field = |v: Option<&'a Json>, name: &str| -> Result<&'a str, NotReady> {
            match v {
                Some(Json::String(s)) => Ok(s.as_str()),
                Some(other) => Err(bad(&format!(
                    ".{name}: expected a string, found {}",
                    json_kind(other)
                ))),
                None => Err(bad(&format!(".{name}: missing"))),
            }
        };
        receivers.push(Receiver {
            name: field(protocol.get("name"), "protocol.name")?,
            kind: field(protocol.get("type"), "protocol.type")?,
            url: field(obj.get("url"), "url")?,
        });
    }
    Ok(receivers)
}

/// The export endpoint from parsed receivers.
fn choose_otlp_http(receivers: &[Receiver<'_>]) -> Result<Endpoint, NotReady> {
    let mut otlp = receivers.iter().filter(|r| r.name == "otlp_http");
    let Some(chosen) = otlp.next() else {
        let mut offered: Vec<String> = Vec::new();
        for r in receivers {
            if !offered.iter().any(|o| o == r.name) {
                offered.push(r.name.to_owned());
            }
        }
        offered.truncate(8);
        return Err(NotReady::NoOtlpHttp { offered });
    };

    let mut warnings = Vec::new();
    let others = otlp.count();
    if others > 0 {
        warnings.push(format!(
            "tracing: the provider offers {} otlp_http receivers; using the first, {}",
            others + 1,
            quote(chosen.url)
        ));
    }
    if chosen.kind != "http" {
        warnings.push(format!(
            "tracing: the otlp_http receiver has protocol type {} (expected \"http\")",
            quote(chosen.kind)
        ));
    }

    let url = chosen.url;
    let bad_url = |problem| NotReady::BadUrl {
        excerpt: quote(url),
        problem,
    };
    let scheme_len = if url.starts_with("http://") {
        "http://".len()
    } else if url.starts_with("https://") {
        "https://".len()
    } else {
        return Err(bad_url("does not start with http:// or https://"));
    };
    if url.len() > MAX_URL_LEN {
        return Err(bad_url("is too long"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad_url("contains whitespace or control characters"));
    }
    if !url.is_ascii() {
        return Err(bad_url("contains non-ASCII characters"));
    }
    let base = url.trim_end_matches('/');
    if base.len() <= scheme_len || base[scheme_len..].starts_with('/') {
        return Err(bad_url("has no host"));
    }
    if base.contains(['?', '#']) {
        return Err(bad_url("has a query or fragment"));
    }
    let url = format!("{base}/v1/traces");
    // The structure too (host, port, IPv6 brackets), as the exporter will parse it.
    crate::trace::destination::check_url(&url).map_err(bad_url)?;
    Ok(Endpoint { url, warnings })
}

/// From certificate_transfer: the CA bundle to trust, PEM certificates joined with `\n`.
///
/// * v1: the provider's application databag `certificates`, a JSON list of PEM strings, in any
///   order; the bundle is the distinct certificates sorted and joined with `\n` (as ops does,
///   from a set), so the order the provider used does not matter. `version` is not looked at
///   (missing means 1). An empty `certificates` value is treated as missing (Juju deletes keys
///   set to the empty string). When `certificates` is present, unit databags are ignored.
/// * v0 fallback, only when the application databag has no `certificates` and remote units
///   exist: each unit databag's `chain` (a JSON list of PEM strings, joined with `\n` in its
///   order), else its `ca`, given as a JSON string or as raw PEM (decoded as JSON, falling back
///   to the raw text). `certificate` (the provider's own leaf) is not used. The bundle is the
///   distinct per-unit values sorted and joined with `\n`. A `chain` that is not a JSON list of
///   strings falls back to `ca`.
///
/// Sanity check: every certificate (every `chain` element) must contain
/// `-----BEGIN CERTIFICATE-----`, else [`NotReady::NotPem`]; this catches a provider that sends
/// something else (garbage, a private key) before it reaches the TLS configuration. Full PEM
/// parsing happens where the bundle is loaded.
pub fn ca_bundle(
    provider_app_data: &BTreeMap<String, String>,
    remote_units_data: &[BTreeMap<String, String>],
) -> Result<String, NotReady> {
    match provider_app_data.get(CERTIFICATES_KEY) {
        Some(raw) if !raw.is_empty() => ca_bundle_v1(raw),
        _ if !remote_units_data.is_empty() => ca_bundle_v0(remote_units_data),
        _ => Err(NotReady::NoCa),
    }
}

fn ca_bundle_v1(raw: &str) -> Result<String, NotReady> {
    let value: Json = serde_json::from_str(raw).map_err(|e| NotReady::CertificatesNotJson {
        error: e.to_string(),
        len: raw.len(),
    })?;
    let Json::Array(items) = value else {
        return Err(NotReady::CertificatesBadShape {
            problem: format!(
                "expected a JSON list of PEM strings, found {}",
                json_kind(&value)
            ),
        });
    };
    if items.is_empty() {
        return Err(NotReady::EmptyCertificates);
    }
    let mut certs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Json::String(pem) = item else {
            return Err(NotReady::CertificatesBadShape {
                problem: format!(
                    "certificates[{i}]: expected a string, found {}",
                    json_kind(item)
                ),
            });
        };
        if !pem.contains(PEM_CERTIFICATE_HEADER) {
            return Err(NotReady::NotPem {
                origin: format!("certificates[{i}]"),
            });
        }
        certs.push(pem.as_str());
    }
    certs.sort_unstable();
    certs.dedup();
    Ok(certs.join("\n"))
}

fn ca_bundle_v0(units: &[BTreeMap<String, String>]) -> Result<String, NotReady> {
    let mut entries: Vec<String> = Vec::new();
    let mut problem: Option<String> = None;
    for (u, unit) in units.iter().enumerate() {
        let nonempty = |k: &str| unit.get(k).map(String::as_str).filter(|v| !v.is_empty());
        if let Some(chain) = nonempty("chain") {
            match serde_json::from_str::<Vec<String>>(chain) {
                Ok(pems) if !pems.is_empty() => {
                    for (i, pem) in pems.iter().enumerate() {
                        if !pem.contains(PEM_CERTIFICATE_HEADER) {
                            return Err(NotReady::NotPem {
                                origin: format!("unit databag #{u} chain[{i}]"),
                            });
                        }
                    }
                    entries.push(pems.join("\n"));
                    continue;
                }
                Ok(_) => {
                    problem.get_or_insert_with(|| format!("unit databag #{u}: `chain` is empty"));
                }
                Err(_) => {
                    problem.get_or_insert_with(|| {
                        format!("unit databag #{u}: `chain` is not a JSON list of strings")
                    });
                }
            }
        }
        if let Some(ca) = nonempty("ca") {
            let pem = serde_json::from_str::<String>(ca).unwrap_or_else(|_| ca.to_owned());
            if !pem.contains(PEM_CERTIFICATE_HEADER) {
                return Err(NotReady::NotPem {
                    origin: format!("unit databag #{u} ca"),
                });
            }
            entries.push(pem);
        }
    }
    if entries.is_empty() {
        return Err(match problem {
            Some(problem) => NotReady::V0Malformed { problem },
            None => NotReady::NoCa,
        });
    }
    entries.sort_unstable();
    entries.dedup();
    Ok(entries.join("\n"))
}

/// At most `max` characters of `s`, with `…` when cut.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

/// `s` quoted and escaped (no newlines or control characters reach the log), user:password in
/// URLs masked, truncated to about [`EXCERPT_CHARS`] characters.
fn quote(s: &str) -> String {
    // Only look at a bounded prefix: values may be megabytes long.
    let prefix: String = s.chars().take(4 * EXCERPT_CHARS).collect();
    let masked = crate::trace::destination::redact(&prefix);
    let escaped = format!("{masked:?}");
    clip(&escaped, EXCERPT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC_RECEIVERS: &str = r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo.cos.svc.cluster.local:4317"}, {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo.cos.svc.cluster.local:4318"}]"#;

    fn bag(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn receivers(value: &str) -> Result<Endpoint, NotReady> {
        let r = otlp_http_endpoint(&bag(&[("receivers", value)]));
        if let Err(e) = &r {
            assert_display_bounded(e);
        }
        r
    }

    fn otlp(url: &str) -> String {
        format!(r#"[{{"protocol": {{"name": "otlp_http", "type": "http"}}, "url": {url}}}]"#)
    }

    fn ok_url(value: &str) -> String {
        match receivers(value) {
            Ok(e) => e.url,
            Err(e) => panic!("expected a URL for {value:?}, got {e:?} ({e})"),
        }
    }

    fn assert_display_bounded(e: &NotReady) {
        let shown = e.to_string();
        assert!(
            shown.chars().count() <= 200,
            "{} chars: {shown}",
            shown.chars().count()
        );
        assert!(!shown.contains('\n'), "{shown}");
    }

    fn bad_shape(value: &str) -> String {
        match receivers(value) {
            Err(NotReady::ReceiversBadShape { problem }) => problem,
            other => panic!("expected a bad shape for {value:?}, got {other:?}"),
        }
    }

    fn bad_url(value: &str) -> &'static str {
        match receivers(value) {
            Err(NotReady::BadUrl { problem, .. }) => problem,
            other => panic!("expected a bad URL for {value:?}, got {other:?}"),
        }
    }

    fn not_json(value: &str) {
        match receivers(value) {
            Err(NotReady::ReceiversNotJson { .. }) => {}
            other => panic!("expected not-JSON for {value:?}, got {other:?}"),
        }
    }

    #[test]
    fn constants_are_exact() {
        assert_eq!(TRACING_RECEIVERS_VALUE, "[\"otlp_http\"]");
        assert_eq!(
            serde_json::from_str::<Vec<String>>(TRACING_RECEIVERS_VALUE).unwrap(),
            ["otlp_http"]
        );
        assert_eq!(CA_VERSION_VALUE, "1");
        assert_eq!(RECEIVERS_KEY, "receivers");
        assert_eq!(CA_VERSION_KEY, "version");
    }

    #[test]
    fn doc_example() {
        let e = otlp_http_endpoint(&bag(&[("receivers", DOC_RECEIVERS)])).unwrap();
        assert_eq!(
            e,
            Endpoint {
                url: "http://tempo.cos.svc.cluster.local:4318/v1/traces".into(),
                warnings: vec![],
            }
        );
    }

    #[test]
    fn trailing_slashes_and_https() {
        assert_eq!(
            ok_url(&otlp(r#""http://tracing.example:4318/""#)),
            "http://tracing.example:4318/v1/traces"
        );
        assert_eq!(
            ok_url(&otlp(r#""http://tracing.example:4318///""#)),
            "http://tracing.example:4318/v1/traces"
        );
        assert_eq!(
            ok_url(&otlp(r#""https://tempo.example:4318""#)),
            "https://tempo.example:4318/v1/traces"
        );
        // A path (not what Tempo publishes) is kept.
        assert_eq!(
            ok_url(&otlp(r#""http://gw.example/otlp/""#)),
            "http://gw.example/otlp/v1/traces"
        );
    }

    #[test]
    fn only_grpc() {
        let r = receivers(
            r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo:4317"}]"#,
        );
        assert_eq!(
            r,
            Err(NotReady::NoOtlpHttp {
                offered: vec!["otlp_grpc".into()]
            })
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            "tracing: the provider offers no otlp_http receiver (offered: otlp_grpc)"
        );
    }

    #[test]
    fn several_otlp_http_first_wins_with_warning() {
        let v = r#"[
            {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://first:4318"},
            {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://second:4318"}
        ]"#;
        let e = receivers(v).unwrap();
        assert_eq!(e.url, "http://first:4318/v1/traces");
        assert_eq!(e.warnings.len(), 1);
        assert!(
            e.warnings[0].contains("2 otlp_http receivers"),
            "{:?}",
            e.warnings
        );
        assert!(
            e.warnings[0].contains("http://first:4318"),
            "{:?}",
            e.warnings
        );
    }

    #[test]
    fn unknown_protocols_and_fields_are_fine() {
        let v = r#"[
            {"protocol": {"name": "zipkin", "type": "http"}, "url": "http://tempo:9411"},
            {"protocol": {"name": "future_proto", "type": "quic", "extra": 1}, "url": "x", "tls": true},
            {"protocol": {"name": "otlp_http", "type": "http", "version": 2}, "url": "http://tempo:4318", "meta": {"a": []}}
        ]"#;
        assert_eq!(
            receivers(v).unwrap(),
            Endpoint {
                url: "http://tempo:4318/v1/traces".into(),
                warnings: vec![]
            }
        );
        // otlp_http declared with type grpc: used, with a warning.
        let e = receivers(
            r#"[{"protocol": {"name": "otlp_http", "type": "grpc"}, "url": "http://t:4318"}]"#,
        )
        .unwrap();
        assert_eq!(e.url, "http://t:4318/v1/traces");
        assert_eq!(e.warnings.len(), 1);
    }

    #[test]
    fn empty_databag_and_empty_values() {
        assert_eq!(
            otlp_http_endpoint(&BTreeMap::new()),
            Err(NotReady::NoReceivers)
        );
        assert_eq!(
            otlp_http_endpoint(&bag(&[("other", DOC_RECEIVERS)])),
            Err(NotReady::NoReceivers)
        );
        assert_eq!(receivers(""), Err(NotReady::NoReceivers));
        not_json(" ");
    }

    #[test]
    fn wrong_shapes() {
        assert_eq!(bad_shape("null"), "expected a JSON list, found null");
        assert_eq!(bad_shape("{}"), "expected a JSON list, found an object");
        assert_eq!(bad_shape("42"), "expected a JSON list, found a number");
        assert_eq!(
            bad_shape("\"string\""),
            "expected a JSON list, found a string"
        );
        assert_eq!(bad_shape("true"), "expected a JSON list, found a boolean");
        // JSON inside a JSON string is not decoded twice.
        let nested = serde_json::to_string(DOC_RECEIVERS).unwrap();
        assert_eq!(bad_shape(&nested), "expected a JSON list, found a string");
        // Our own requirer value is not a provider value.
        assert_eq!(
            bad_shape(TRACING_RECEIVERS_VALUE),
            "receivers[0]: expected an object, found a string"
        );
        assert_eq!(
            receivers("[]"),
            Err(NotReady::NoOtlpHttp { offered: vec![] })
        );
        assert_eq!(
            bad_shape(r#"[{"protocol": {"type": "http"}, "url": "http://t:4318"}]"#),
            "receivers[0].protocol.name: missing"
        );
        assert_eq!(
            bad_shape(r#"[{"protocol": {"name": 7, "type": "http"}, "url": "http://t"}]"#),
            "receivers[0].protocol.name: expected a string, found a number"
        );
        assert_eq!(
            bad_shape(r#"[{"protocol": {"name": "otlp_http"}, "url": "http://t"}]"#),
            "receivers[0].protocol.type: missing"
        );
        assert_eq!(
            bad_shape(r#"[{"protocol": "otlp_http", "url": "http://t"}]"#),
            "receivers[0].protocol: expected an object, found a string"
        );
        assert_eq!(
            bad_shape(r#"[{"url": "http://t"}]"#),
            "receivers[0].protocol: missing"
        );
        assert_eq!(
            bad_shape(r#"[{"protocol": {"name": "otlp_http", "type": "http"}}]"#),
            "receivers[0].url: missing"
        );
        assert_eq!(
            bad_shape(&otlp("4318")),
            "receivers[0].url: expected a string, found a number"
        );
        assert_eq!(
            bad_shape(&otlp("null")),
            "receivers[0].url: expected a string, found null"
        );
        // A malformed receiver anywhere in the list makes the whole value unusable, as in the
        // reference library.
        let v = format!(
            r#"[{{"protocol": {{"name": "zipkin", "type": "http"}}}}, {}]"#,
            &otlp(r#""http://t:4318""#)[1..otlp(r#""http://t:4318""#).len() - 1]
        );
        assert_eq!(bad_shape(&v), "receivers[0].url: missing");
        // Display.
        let e = receivers("{}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "tracing: unexpected `receivers`: expected a JSON list, found an object"
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            bad_url(&otlp(r#""ftp://tempo:4318""#)),
            "does not start with http:// or https://"
        );
        assert_eq!(
            bad_url(&otlp(r#""tempo.cos.svc.cluster.local:4318""#)),
            "does not start with http:// or https://"
        );
        assert_eq!(
            bad_url(&otlp(r#""HTTP://tempo:4318""#)),
            "does not start with http:// or https://"
        );
        assert_eq!(
            bad_url(&otlp(r#""""#)),
            "does not start with http:// or https://"
        );
        assert_eq!(bad_url(&otlp(r#""http://""#)), "has no host");
        assert_eq!(bad_url(&otlp(r#""https:///""#)), "has no host");
        assert_eq!(bad_url(&otlp(r#""http:///path""#)), "has no host");
        assert_eq!(
            bad_url(&otlp(r#""http://t:4318/?x=1""#)),
            "has a query or fragment"
        );
        assert_eq!(
            bad_url(&otlp(r#""http://t:4318#frag""#)),
            "has a query or fragment"
        );
        assert_eq!(
            bad_url(&otlp(r#""http://t:4318\n""#)),
            "contains whitespace or control characters"
        );
        assert_eq!(
            bad_url(&otlp(r#"" http://t:4318""#)),
            "does not start with http:// or https://"
        );
        let e = receivers(&otlp(r#""ftp://tempo:4318""#)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tracing: the otlp_http receiver URL \"ftp://tempo:4318\" does not start with http:// or https://"
        );
    }

    #[test]
    fn credentials_in_urls_are_masked() {
        let e = receivers(&otlp(r#""ftp://user:s3cret@tempo:4318""#)).unwrap_err();
        let shown = e.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("ftp://***@tempo:4318"), "{shown}");
        let e = receivers(r#"[{"url": "http://u:s3cret@x", "protocol": 1"#).unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let v = r#"[
            {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://a:pw1@first:4318"},
            {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://second:4318"}
        ]"#;
        let e = receivers(v).unwrap();
        assert!(!e.warnings[0].contains("pw1"), "{:?}", e.warnings);
    }

    #[test]
    fn huge_values() {
        let mib = "x".repeat(1 << 20);
        // 1 MiB of garbage.
        not_json(&mib);
        // 1 MiB URL inside valid JSON.
        assert_eq!(bad_url(&otlp(&format!("\"http://{mib}\""))), "is too long");
        // 1 MiB string as the whole value.
        assert_eq!(
            bad_shape(&format!("\"{mib}\"")),
            "expected a JSON list, found a string"
        );
        // A 1 MiB protocol name: no otlp_http, and the Display stays short.
        let v = format!(r#"[{{"protocol": {{"name": "{mib}", "type": "http"}}, "url": "u"}}]"#);
        assert!(matches!(receivers(&v), Err(NotReady::NoOtlpHttp { .. })));
        // Deep nesting: the JSON parser's recursion limit, not a stack overflow.
        not_json(&"[".repeat(100_000));
    }

    #[test]
    fn lone_surrogates_and_non_ascii() {
        not_json(&otlp(r#""http://t:4318/\ud800""#));
        not_json(r#"[{"protocol": {"name": "\udc00", "type": "http"}, "url": "x"}]"#);
        // Escaped, valid surrogate pair: fine JSON, but a non-ASCII URL.
        assert_eq!(
            bad_url(&otlp(r#""http://t\ud83d\ude00:4318""#)),
            "contains non-ASCII characters"
        );
        assert_eq!(
            bad_url(&otlp(r#""http://tëmpo.example:4318""#)),
            "contains non-ASCII characters"
        );
        // Non-ASCII elsewhere is fine.
        let v = r#"[
            {"protocol": {"name": "ötlp_http", "type": "http"}, "url": "http://é"},
            {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo:4318", "note": "日本語"}
        ]"#;
        assert_eq!(ok_url(v), "http://tempo:4318/v1/traces");
        // A non-ASCII name that is not otlp_http: listed (truncated) in the reason.
        let e = receivers(
            r#"[{"protocol": {"name": "οtlp_http", "type": "http"}, "url": "http://t"}]"#,
        )
        .unwrap_err();
        assert_eq!(
            e,
            NotReady::NoOtlpHttp {
                offered: vec!["οtlp_http".into()]
            }
        );
        // Control characters in excerpts are escaped.
        let e = receivers("\u{1b}[31mred\n").unwrap_err();
        assert!(!e.to_string().contains('\u{1b}'), "{e}");
    }

    #[test]
    fn not_json_display() {
        let e = receivers("[{'protocol': 1}]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "tracing: `receivers` is not valid JSON (key must be a string at line 1 column 3): \"[{'protocol': 1}]\""
        );
    }

    // ---- certificate_transfer ----

    const CA1: &str = "-----BEGIN CERTIFICATE-----\nMIIBaaa\n-----END CERTIFICATE-----";
    const CA2: &str = "-----BEGIN CERTIFICATE-----\nMIIBbbb\n-----END CERTIFICATE-----";

    fn json_list(items: &[&str]) -> String {
        serde_json::to_string(items).unwrap()
    }

    fn ca(app: &[(&str, &str)], units: &[&[(&str, &str)]]) -> Result<String, NotReady> {
        let units: Vec<_> = units.iter().map(|u| bag(u)).collect();
        let r = ca_bundle(&bag(app), &units);
        if let Err(e) = &r {
            assert_display_bounded(e);
        }
        r
    }

    #[test]
    fn v1_two_certs_in_either_order() {
        let want = format!("{CA1}\n{CA2}");
        let a = ca(
            &[("certificates", &json_list(&[CA1, CA2])), ("version", "1")],
            &[],
        );
        let b = ca(
            &[("certificates", &json_list(&[CA2, CA1])), ("version", "1")],
            &[],
        );
        assert_eq!(a.as_deref(), Ok(want.as_str()));
        assert_eq!(b.as_deref(), Ok(want.as_str()));
        // Duplicates collapse (ops builds the bundle from a set).
        let c = ca(&[("certificates", &json_list(&[CA2, CA1, CA2]))], &[]);
        assert_eq!(c.as_deref(), Ok(want.as_str()));
    }

    #[test]
    fn v1_version_missing_or_other() {
        assert_eq!(
            ca(&[("certificates", &json_list(&[CA1]))], &[]).as_deref(),
            Ok(CA1)
        );
        assert_eq!(
            ca(
                &[("certificates", &json_list(&[CA1])), ("version", "0")],
                &[]
            )
            .as_deref(),
            Ok(CA1)
        );
    }

    #[test]
    fn v1_not_ready() {
        let pem_raw = CA1;
        match ca(&[("certificates", pem_raw)], &[]) {
            Err(NotReady::CertificatesNotJson { len, .. }) => assert_eq!(len, pem_raw.len()),
            other => panic!("{other:?}"),
        }
        let e = ca(&[("certificates", pem_raw)], &[])
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("MIIB"),
            "certificate content must not be shown: {e}"
        );
        assert_eq!(
            ca(&[("certificates", "[1, 2]")], &[]),
            Err(NotReady::CertificatesBadShape {
                problem: "certificates[0]: expected a string, found a number".into()
            })
        );
        assert_eq!(
            ca(&[("certificates", "[]")], &[]),
            Err(NotReady::EmptyCertificates)
        );
        assert_eq!(
            ca(&[("certificates", "{}")], &[]),
            Err(NotReady::CertificatesBadShape {
                problem: "expected a JSON list of PEM strings, found an object".into()
            })
        );
        assert_eq!(
            ca(
                &[("certificates", &serde_json::to_string(CA1).unwrap())],
                &[]
            ),
            Err(NotReady::CertificatesBadShape {
                problem: "expected a JSON list of PEM strings, found a string".into()
            })
        );
        assert_eq!(
            ca(
                &[(
                    "certificates",
                    &json_list(&[CA1, "-----BEGIN PRIVATE KEY-----\nsecret"])
                )],
                &[]
            ),
            Err(NotReady::NotPem {
                origin: "certificates[1]".into()
            })
        );
        let e = ca(
            &[(
                "certificates",
                &json_list(&["-----BEGIN PRIVATE KEY-----\nsecret"]),
            )],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("secret"), "{e}");
        // An empty list is v1 "no CA": the v0 fallback is not used.
        assert_eq!(
            ca(&[("certificates", "[]")], &[&[("ca", CA1)]]),
            Err(NotReady::EmptyCertificates)
        );
        // Nothing at all.
        assert_eq!(ca(&[], &[]), Err(NotReady::NoCa));
        assert_eq!(ca(&[("version", "1")], &[]), Err(NotReady::NoCa));
        assert_eq!(ca(&[("certificates", "")], &[]), Err(NotReady::NoCa));
        assert_eq!(ca(&[], &[&[], &[("version", "0")]]), Err(NotReady::NoCa));
    }

    #[test]
    fn v0_fallback() {
        // Raw PEM.
        assert_eq!(
            ca(
                &[],
                &[&[("ca", CA1), ("certificate", CA2), ("version", "0")]]
            )
            .as_deref(),
            Ok(CA1)
        );
        // JSON-string PEM.
        let js = serde_json::to_string(CA1).unwrap();
        assert_eq!(ca(&[], &[&[("ca", &js)]]).as_deref(), Ok(CA1));
        // With chain: preferred, joined in its order.
        assert_eq!(
            ca(&[], &[&[("ca", CA1), ("chain", &json_list(&[CA2, CA1]))]]),
            Ok(format!("{CA2}\n{CA1}"))
        );
        // A chain that is not a JSON list falls back to ca.
        assert_eq!(
            ca(&[], &[&[("ca", CA1), ("chain", CA2)]]).as_deref(),
            Ok(CA1)
        );
        // ... and without a ca, it is reported.
        assert!(matches!(
            ca(&[], &[&[("chain", "not json")]]),
            Err(NotReady::V0Malformed { .. })
        ));
        // Several units, same CA: one copy; different CAs: sorted.
        assert_eq!(
            ca(&[], &[&[("ca", CA2)], &[("ca", CA2)], &[]]).as_deref(),
            Ok(CA2)
        );
        assert_eq!(
            ca(&[], &[&[("ca", CA2)], &[("ca", &js)]]),
            Ok(format!("{CA1}\n{CA2}"))
        );
        // `certificate` alone is not a CA.
        assert_eq!(ca(&[], &[&[("certificate", CA1)]]), Err(NotReady::NoCa));
        // Not PEM.
        assert_eq!(
            ca(&[], &[&[("ca", "hello")]]),
            Err(NotReady::NotPem {
                origin: "unit databag #0 ca".into()
            })
        );
        assert_eq!(
            ca(&[], &[&[("chain", &json_list(&[CA1, "junk"]))]]),
            Err(NotReady::NotPem {
                origin: "unit databag #0 chain[1]".into()
            })
        );
    }

    #[test]
    fn v0_ignored_when_v1_present() {
        assert_eq!(
            ca(
                &[("certificates", &json_list(&[CA2]))],
                &[&[("ca", CA1), ("chain", &json_list(&[CA1]))]]
            )
            .as_deref(),
            Ok(CA2)
        );
        // Even when v1 is broken.
        assert!(matches!(
            ca(&[("certificates", "oops")], &[&[("ca", CA1)]]),
            Err(NotReady::CertificatesNotJson { .. })
        ));
    }

    #[test]
    fn every_reason_displays_short() {
        let long = "y".repeat(10_000);
        let all = [
            NotReady::NoReceivers,
            NotReady::ReceiversNotJson {
                error: long.clone(),
                excerpt: long.clone(),
            },
            NotReady::ReceiversBadShape {
                problem: long.clone(),
            },
            NotReady::NoOtlpHttp {
                offered: vec![long.clone(); 50],
            },
            NotReady::BadUrl {
                excerpt: long.clone(),
                problem: "does not start with http:// or https://",
            },
            NotReady::NoCa,
            NotReady::CertificatesNotJson {
                error: long.clone(),
                len: usize::MAX,
            },
            NotReady::CertificatesBadShape {
                problem: long.clone(),
            },
            NotReady::EmptyCertificates,
            NotReady::NotPem {
                origin: long.clone(),
            },
            NotReady::V0Malformed { problem: long },
        ];
        for e in &all {
            assert_display_bounded(e);
        }
    }

    fn receiver_json() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                Just("otlp_http".to_owned()),
                Just("otlp_grpc".to_owned()),
                Just("zipkin".to_owned()),
                ".{0,12}"
            ],
            prop_oneof![Just("http"), Just("grpc")],
            prop_oneof![
                "https?://[a-z0-9.:-]{0,20}/{0,3}",
                "[a-z]{0,6}://.{0,20}",
                ".{0,30}"
            ],
        )
            .prop_map(|(name, ty, url)| {
                serde_json::json!({"protocol": {"name": name, "type": ty}, "url": url}).to_string()
            })
    }

    proptest! {
        #[test]
        fn arbitrary_receivers_never_panic(s in ".*") {
            let r = otlp_http_endpoint(&bag(&[("receivers", &s)]));
            if let Err(e) = &r {
                assert_display_bounded(e);
            }
        }

        #[test]
        fn arbitrary_receiver_lists(items in proptest::collection::vec(receiver_json(), 0..5)) {
            let v = format!("[{}]", items.join(","));
            match otlp_http_endpoint(&bag(&[("receivers", &v)])) {
                Ok(e) => {
                    prop_assert!(e.url.starts_with("http://") || e.url.starts_with("https://"));
                    prop_assert!(e.url.ends_with("/v1/traces"));
                    prop_assert!(!e.url.ends_with("//v1/traces"));
                }
                Err(e) => assert_display_bounded(&e),
            }
        }

        #[test]
        fn arbitrary_certificates_never_panic(s in ".*", unit in ".*") {
            for app in [bag(&[("certificates", &s)]), BTreeMap::new()] {
                let units = [bag(&[("ca", &unit), ("chain", &s)]), bag(&[("ca", &s)])];
                match ca_bundle(&app, &units) {
                    Ok(b) => prop_assert!(b.contains(PEM_CERTIFICATE_HEADER)),
                    Err(e) => assert_display_bounded(&e),
                }
            }
        }

        #[test]
        fn certificate_order_does_not_matter(mut certs in proptest::collection::vec("[A-Za-z0-9+/=\n]{0,20}", 1..6)) {
            let certs: Vec<String> = certs
                .drain(..)
                .map(|c| format!("{PEM_CERTIFICATE_HEADER}\n{c}"))
                .collect();
            let mut reversed = certs.clone();
            reversed.reverse();
            let a = ca_bundle(&bag(&[("certificates", &serde_json::to_string(&certs).unwrap())]), &[]);
            let b = ca_bundle(&bag(&[("certificates", &serde_json::to_string(&reversed).unwrap())]), &[]);
            prop_assert!(a.is_ok());
            prop_assert_eq!(a, b);
        }
    }
}
