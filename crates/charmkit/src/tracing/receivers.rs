//! The `tracing` v2 relation, as the requirer reads it (endpoint `charm-tracing`): the
//! provider's `receivers` → the OTLP/HTTP endpoint to export to. A pure function over the
//! databag (no hook tools): any content gives an endpoint or a [`NotReady`] reason, never a panic.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::not_ready::{quote, NotReady};
use crate::types::json_kind;

/// The key we write in our application databag on the `tracing` relation.
pub const RECEIVERS_KEY: &str = "receivers";
/// The value we write under `receivers` in our app databag (tracing v2 requirer): exactly
/// `["otlp_http"]`.
pub const TRACING_RECEIVERS_VALUE: &str = r#"["otlp_http"]"#;
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
    if url.len() > crate::trace::destination::MAX_URL_LEN {
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

#[cfg(test)]
mod tests {
    use super::super::not_ready::tests::{assert_display_bounded, bag};
    use super::*;
    use proptest::prelude::*;

    const DOC_RECEIVERS: &str = r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo.cos.svc.cluster.local:4317"}, {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo.cos.svc.cluster.local:4318"}]"#;

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
        assert_eq!(RECEIVERS_KEY, "receivers");
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
    }
}
