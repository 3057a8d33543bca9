//! OTLP/JSON encoding of finished spans (OTLP 1.5.0 JSON protobuf encoding, as accepted by the
//! OpenTelemetry Collector's OTLP/HTTP receiver and therefore by Tempo).
//!
//! The mapping from [`SpanData`] to the protobuf messages is `opentelemetry-proto`'s own
//! (`group_spans_by_resource_and_scope`), and the JSON comes from that crate's serde derives,
//! which already follow the OTLP/JSON rules: lowerCamelCase keys, trace/span ids as lowercase hex,
//! 64-bit integers as decimal strings, enums as integers. The unit tests check every one of those
//! rules on real SDK spans.
//!
//! Fields at their default value (`0`, `""`, `false`, empty lists) are omitted, as the protobuf
//! JSON mapping allows: the generated serde writes them all, which makes every chunk larger and is
//! refused outright by collectors that predate a field (Tempo 2.0 rejects a whole request for an
//! `entityRefs: []` or a scope's `droppedAttributesCount: 0`). They are left out while
//! serialising, by a serializer adapter (`omit`), not by a walk over a `serde_json::Value`. The
//! members of `AnyValue`'s oneof are kept even when empty (an attribute whose value is `""` or `0`
//! is data), and so are those of the messages `opentelemetry-proto` cannot read back without
//! (an empty array attribute's `values`, an empty attribute key). For a collector that refuses a field we do set
//! (span `flags`, which Tempo 2.0 does not know), [`minimal`] re-encodes a stored chunk without the
//! fields that postdate OTLP 1.0; the exporter retries a chunk so once when a 400 names an
//! unknown field.
//!
//! One deviation is fixed here: a non-finite `doubleValue` attribute (NaN, ±Infinity) would be
//! written by serde_json as `null`, which the collector's JSON decoder rejects (the whole request
//! fails with 400). The protobuf JSON mapping writes these as the strings `"NaN"`, `"Infinity"`
//! and `"-Infinity"`, which the collector accepts; [`encode`] writes those instead, and
//! [`decode`] reads them back.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

/// Encodes finished spans + the resource as one OTLP/JSON `ExportTraceServiceRequest` document.
///
/// All spans go under one `resourceSpans` entry (the given resource), grouped by instrumentation
/// scope. An empty `spans` gives a valid document with one resource and no scopes.
pub fn encode(spans: Vec<SpanData>, resource: &Resource) -> Vec<u8> {
    let resource = ResourceAttributesWithSchema::from(resource);
    let mut request = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, &resource),
    };
    let replaced = fix_non_finite_doubles(&mut request);
    let json = super::omit::to_vec(&request)
        .expect("serialising generated OTLP messages to JSON cannot fail");
    if replaced.is_empty() {
        json
    } else {
        restore_non_finite(json, &replaced)
    }
}

/// The members of `AnyValue`'s oneof: set, they are data even at their default.
const ONEOF_KEYS: &[&str] = &[
    "stringValue",
    "boolValue",
    "intValue",
    "doubleValue",
    "arrayValue",
    "kvlistValue",
    "bytesValue",
];

/// The oracle [`super::omit`] is tested against: removes, depth first, every object member at
/// its default value (`null`, `false`, `0`, `""` and `[]`) from a parsed document, except the
/// members of `AnyValue`'s oneof and those of the messages written whole (`values` of an array
/// or kv-list value, `key` of a key-value). Array elements are never removed, nor are empty
/// messages (`"status": {}` stays: presence is kept, and it costs two bytes).
#[cfg(test)]
fn omit_defaults(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            map.retain(|key, v| {
                omit_defaults(v);
                if ONEOF_KEYS.contains(&key.as_str()) || key == "values" || key == "key" {
                    return true;
                }
                !match v {
                    Value::Null => true,
                    Value::Bool(b) => !*b,
                    Value::Number(n) => n.as_f64() == Some(0.0),
                    Value::String(s) => s.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    Value::Object(_) => false,
                }
            });
        }
        Value::Array(items) => items.iter_mut().for_each(omit_defaults),
        _ => {}
    }
}

/// Fields that postdate OTLP 1.0 and that collectors still in the field refuse (Tempo 2.0.x:
/// `unknown field "flags" in v1.Span`): the span's and link's `flags`, the resource's
/// `entityRefs`, the scope's `attributes` and `droppedAttributesCount`.
const NEWER_FIELDS: &[(&str, &[&str])] = &[
    ("resource", &["entityRefs"]),
    ("scope", &["attributes", "droppedAttributesCount"]),
    ("spans", &["flags"]),
    ("links", &["flags"]),
];

/// `json` (a stored chunk) re-encoded in the minimal form: without the fields that postdate OTLP
/// 1.0 (span and link `flags`, resource `entityRefs`, scope `attributes` and
/// `droppedAttributesCount`), and without
/// `unknown_field` (the one a collector named) wherever it is an optional member. `None` if it is
/// not a JSON object or there was nothing to remove.
pub fn minimal(json: &[u8], unknown_field: Option<&str>) -> Option<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(json).ok()?;
    let mut removed = 0;
    strip_newer(&mut value, None, unknown_field, &mut removed);
    (removed > 0).then(|| serde_json::to_vec(&value).expect("a JSON value serialises"))
}

/// Members a minimal encoding never drops, whatever a collector names: without them the data
/// would be gone or wrong.
const ESSENTIAL: &[&str] = &[
    "resourceSpans",
    "resource",
    "scopeSpans",
    "scope",
    "spans",
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "kind",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "timeUnixNano",
    "attributes",
    "events",
    "links",
    "status",
    "key",
    "value",
    "values",
];

fn strip_newer(
    value: &mut serde_json::Value,
    parent_key: Option<&str>,
    unknown: Option<&str>,
    removed: &mut usize,
) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let newer = NEWER_FIELDS
                .iter()
                .find(|(k, _)| Some(*k) == parent_key)
                .map_or(&[][..], |(_, fields)| *fields);
            let before = map.len();
            map.retain(|k, _| {
                let k = k.as_str();
                let named =
                    Some(k) == unknown && !ESSENTIAL.contains(&k) && !ONEOF_KEYS.contains(&k);
                !newer.contains(&k) && !named
            });
            *removed += before - map.len();
            for (k, v) in map.iter_mut() {
                strip_newer(v, Some(k), unknown, removed);
            }
        }
        // Elements of a list belong to the list's key (`spans: [{…}]`).
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| strip_newer(v, parent_key, unknown, removed)),
        _ => {}
    }
}

/// The field a collector's rejection names as unknown, e.g. `flags` from Tempo's
/// `unknown field "flags" in v1.Span` (or the collector's `unknown field \"flags\"`). `None` if
/// the text does not say a field is unknown.
pub fn unknown_field(rejection: &str) -> Option<String> {
    let lower = rejection.to_ascii_lowercase();
    let at = lower.find("unknown field")?;
    let rest = &rejection[at + "unknown field".len()..];
    let name: String = rest
        .trim_start_matches(|c: char| c.is_whitespace() || c == '"' || c == '\\' || c == '\'')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Some(name)
}

#[cfg(any(test, feature = "_internals"))]
/// Why [`decode`] failed.
#[derive(Debug)]
pub struct DecodeError(serde_json::Error);

#[cfg(any(test, feature = "_internals"))]
impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not an OTLP/JSON trace export request: {}", self.0)
    }
}

#[cfg(any(test, feature = "_internals"))]
impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[cfg(any(test, feature = "_internals"))]
/// Parses an OTLP/JSON document back (for `trace dump`, tests, and the simulator).
///
/// Accepts what [`encode`] writes (including non-finite doubles spelled `"NaN"`, `"Infinity"`,
/// `"-Infinity"`) and what other OTLP/JSON writers commonly produce (integers as strings or
/// numbers). Unknown fields are ignored, as OTLP/JSON requires.
pub fn decode(json: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    let first = match serde_json::from_slice(json) {
        Ok(request) => return Ok(request),
        Err(e) => e,
    };
    // The generated serde cannot read non-finite doubles written as strings: mark them, parse,
    // then put the doubles back.
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return Err(DecodeError(first));
    };
    let mut doubles = Vec::new();
    mark_string_doubles(&mut value, &mut doubles);
    // Chunks written before the messages in `omit::WHOLE` were written whole lack an empty
    // array's or kv-list's `values`: put them back.
    let filled = fill_values(&mut value);
    if doubles.is_empty() && filled == 0 {
        return Err(DecodeError(first));
    }
    let mut request: ExportTraceServiceRequest =
        serde_json::from_value(value).map_err(DecodeError)?;
    visit_values(&mut request, &mut |v| {
        if let Some(any_value::Value::StringValue(s)) = &v.value {
            if let Some(i) = s
                .strip_prefix(MARKER_PREFIX)
                .and_then(|i| i.parse::<usize>().ok())
            {
                if let Some(d) = doubles.get(i) {
                    v.value = Some(any_value::Value::DoubleValue(*d));
                }
            }
        }
    });
    Ok(request)
}

/// Prefix of the marker strings that stand in for non-finite doubles while the generated serde
/// code runs. The control character makes a clash with real attribute text practically
/// impossible.
const MARKER_PREFIX: &str = "\u{1}charmkit-nonfinite-";

/// Calls `f` on every attribute value in the request (resource, scope, span, event and link
/// attributes), including the elements of arrays and kv-lists, parents before children.
fn visit_values(request: &mut ExportTraceServiceRequest, f: &mut impl FnMut(&mut AnyValue)) {
    fn any(v: &mut AnyValue, f: &mut impl FnMut(&mut AnyValue)) {
        f(v);
        match v.value.as_mut() {
            Some(any_value::Value::ArrayValue(a)) => a.values.iter_mut().for_each(|v| any(v, f)),
            Some(any_value::Value::KvlistValue(l)) => kvs(&mut l.values, f),
            _ => {}
        }
    }
    fn kvs(kvs: &mut [KeyValue], f: &mut impl FnMut(&mut AnyValue)) {
        for v in kvs.iter_mut().filter_map(|kv| kv.value.as_mut()) {
            any(v, f);
        }
    }
    for rs in &mut request.resource_spans {
        if let Some(r) = rs.resource.as_mut() {
            kvs(&mut r.attributes, f);
        }
        for ss in &mut rs.scope_spans {
            if let Some(scope) = ss.scope.as_mut() {
                kvs(&mut scope.attributes, f);
            }
            for span in &mut ss.spans {
                kvs(&mut span.attributes, f);
                for ev in &mut span.events {
                    kvs(&mut ev.attributes, f);
                }
                for link in &mut span.links {
                    kvs(&mut link.attributes, f);
                }
            }
        }
    }
}

/// Replaces every non-finite `doubleValue` by a marker string and returns, per marker, the JSON
/// text it must become: `"NaN"`, `"Infinity"` or `"-Infinity"` (the protobuf JSON mapping).
///
/// serde_json cannot write non-finite floats (it writes `null`), and the generated serde for
/// `AnyValue` uses plain `serialize_f64`; the collector's decoder rejects `"doubleValue": null`,
/// failing the whole request. Non-finite attributes are rare, so this walk usually finds nothing.
fn fix_non_finite_doubles(request: &mut ExportTraceServiceRequest) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    visit_values(request, &mut |v| {
        if let Some(any_value::Value::DoubleValue(d)) = v.value {
            if !d.is_finite() {
                let text = if d.is_nan() {
                    "\"NaN\""
                } else if d > 0.0 {
                    "\"Infinity\""
                } else {
                    "\"-Infinity\""
                };
                let marker = format!("{MARKER_PREFIX}{}", out.len());
                // serde writes this as `"stringValue":"<marker>"`, which `restore_non_finite`
                // turns into `"doubleValue":"NaN"` (or an infinity) in the output text.
                v.value = Some(any_value::Value::StringValue(marker.clone()));
                out.push((marker, text));
            }
        }
    });
    out
}

/// Swaps each `"stringValue":"<marker>"` written by serde for `"doubleValue":<text>`.
fn restore_non_finite(json: Vec<u8>, replaced: &[(String, &'static str)]) -> Vec<u8> {
    let mut text = String::from_utf8(json).expect("serde_json writes UTF-8");
    for (marker, value) in replaced {
        let escaped = serde_json::to_string(marker).expect("a string serialises");
        let from = format!("\"stringValue\":{escaped}");
        let to = format!("\"doubleValue\":{value}");
        text = text.replacen(&from, &to, 1);
    }
    text.into_bytes()
}

#[cfg(any(test, feature = "_internals"))]
/// Adds `"values": []` to every `arrayValue` and `kvlistValue` without it; returns how many.
fn fill_values(value: &mut serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut n = 0;
            for (k, v) in map.iter_mut() {
                if let ("arrayValue" | "kvlistValue", Value::Object(list)) = (k.as_str(), &mut *v) {
                    if !list.contains_key("values") {
                        list.insert("values".into(), Value::Array(Vec::new()));
                        n += 1;
                    }
                }
                n += fill_values(v);
            }
            n
        }
        Value::Array(items) => items.iter_mut().map(fill_values).sum(),
        _ => 0,
    }
}

#[cfg(any(test, feature = "_internals"))]
/// The reverse of [`restore_non_finite`] on a parsed document: every `"doubleValue"` holding one
/// of the strings `NaN`, `Infinity`, `-Infinity` becomes a `"stringValue"` marker, and the double
/// is pushed to `doubles` at the marker's index.
fn mark_string_doubles(value: &mut serde_json::Value, doubles: &mut Vec<f64>) {
    match value {
        serde_json::Value::Object(map) => {
            let special = match map.get("doubleValue") {
                Some(serde_json::Value::String(s)) => match s.as_str() {
                    "NaN" => Some(f64::NAN),
                    "Infinity" => Some(f64::INFINITY),
                    "-Infinity" => Some(f64::NEG_INFINITY),
                    _ => None,
                },
                _ => None,
            };
            if let Some(d) = special {
                map.remove("doubleValue");
                let marker = format!("{MARKER_PREFIX}{}", doubles.len());
                map.insert("stringValue".into(), serde_json::Value::String(marker));
                doubles.push(d);
            }
            map.values_mut()
                .for_each(|v| mark_string_doubles(v, doubles));
        }
        serde_json::Value::Array(items) => {
            items
                .iter_mut()
                .for_each(|v| mark_string_doubles(v, doubles));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{
        Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
        TraceState, Tracer, TracerProvider,
    };
    use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter};
    use serde_json::Value as Json;

    /// Collects exported spans in memory (the SDK's own in-memory exporter needs its `testing`
    /// feature).
    #[derive(Debug, Clone, Default)]
    struct Collect(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Collect {
        fn export(
            &self,
            batch: Vec<SpanData>,
        ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
            self.0.lock().unwrap().extend(batch);
            std::future::ready(Ok(()))
        }
    }

    fn resource() -> Resource {
        Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "demo"),
                KeyValue::new("juju_unit", "demo/0"),
            ])
            .build()
    }

    fn provider() -> (SdkTracerProvider, Collect) {
        let collect = Collect::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(collect.clone())
            .with_resource(resource())
            .build();
        (provider, collect)
    }

    const REMOTE_TRACE: u128 = 0x0af7651916cd43dd8448eb211c80319c;
    const REMOTE_SPAN: u64 = 0x00f067aa0ba902b7;

    /// Spans covering every kind, status, value type, events, links, parent/child and a remote
    /// parent. Returns them in end order.
    fn sample_spans() -> Vec<SpanData> {
        let (provider, collect) = provider();
        let tracer = provider.tracer("charmkit-test");

        let root = tracer
            .span_builder("root")
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new("s", "text"),
                KeyValue::new("b", true),
                KeyValue::new("i", -42i64),
                KeyValue::new("big", i64::MAX),
                KeyValue::new("f", 1.5f64),
                KeyValue::new("nan", f64::NAN),
                KeyValue::new("inf", f64::INFINITY),
                KeyValue::new("ninf", f64::NEG_INFINITY),
                KeyValue::new(
                    "as",
                    Value::Array(Array::String(vec![StringValue::from("x"), "y".into()])),
                ),
                KeyValue::new("ab", Value::Array(Array::Bool(vec![true, false]))),
                KeyValue::new("ai", Value::Array(Array::I64(vec![1, 2, 3]))),
                KeyValue::new("af", Value::Array(Array::F64(vec![0.25, f64::NAN]))),
                // Attribute values at their default: data, never omitted.
                KeyValue::new("empty", ""),
                KeyValue::new("zero", 0i64),
                KeyValue::new("no", false),
                KeyValue::new("fzero", 0.0f64),
                KeyValue::new("none", Value::Array(Array::I64(vec![]))),
                KeyValue::new("", "keyless"),
            ])
            .start(&tracer);
        let cx = Context::current_with_span(root);
        {
            let root = cx.span();
            root.add_event(
                "emitted",
                vec![
                    KeyValue::new("deferred", false),
                    KeyValue::new("kind", "start"),
                ],
            );
            root.set_status(Status::Ok);
        }
        for (name, kind) in [
            ("server", SpanKind::Server),
            ("client", SpanKind::Client),
            ("producer", SpanKind::Producer),
            ("consumer", SpanKind::Consumer),
        ] {
            let linked = SpanContext::new(
                TraceId::from(REMOTE_TRACE),
                SpanId::from(REMOTE_SPAN),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            );
            let mut child = tracer
                .span_builder(name)
                .with_kind(kind)
                .with_links(vec![Link::new(
                    linked,
                    vec![KeyValue::new("why", "batch")],
                    0,
                )])
                .start_with_context(&tracer, &cx);
            if name == "client" {
                opentelemetry::trace::Span::set_status(
                    &mut child,
                    Status::error("boom: it failed"),
                );
            }
            opentelemetry::trace::Span::end(&mut child);
        }
        cx.span().end();

        // A span whose parent is remote (e.g. from a propagated context).
        let remote = SpanContext::new(
            TraceId::from(REMOTE_TRACE),
            SpanId::from(REMOTE_SPAN),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let remote_cx = Context::new().with_remote_span_context(remote);
        let mut s = tracer.start_with_context("remote-child", &remote_cx);
        opentelemetry::trace::Span::end(&mut s);

        provider.shutdown().unwrap();
        let spans = collect.0.lock().unwrap().clone();
        assert_eq!(spans.len(), 6);
        spans
    }

    fn encoded() -> (Vec<SpanData>, Json) {
        let spans = sample_spans();
        let json = encode(spans.clone(), &resource());
        let doc: Json = serde_json::from_slice(&json).expect("encode writes valid JSON");
        (spans, doc)
    }

    fn spans_of(doc: &Json) -> &Vec<Json> {
        doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
            .as_array()
            .unwrap()
    }

    fn span<'a>(doc: &'a Json, name: &str) -> &'a Json {
        spans_of(doc).iter().find(|s| s["name"] == name).unwrap()
    }

    fn attr<'a>(attrs: &'a Json, key: &str) -> &'a Json {
        &attrs
            .as_array()
            .unwrap()
            .iter()
            .find(|kv| kv["key"] == key)
            .unwrap()["value"]
    }

    fn is_lower_hex(s: &Json, len: usize) -> bool {
        let s = s.as_str().unwrap();
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    fn is_decimal_string(v: &Json) -> bool {
        v.as_str()
            .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    }

    /// Every key in the document is lowerCamelCase (except attribute keys, which are data).
    fn check_keys(v: &Json, path: &str) {
        match v {
            Json::Object(map) => {
                for (k, v) in map {
                    assert!(
                        k.chars().next().unwrap().is_ascii_lowercase()
                            && k.chars().all(|c| c.is_ascii_alphanumeric()),
                        "key {k:?} at {path} is not lowerCamelCase"
                    );
                    check_keys(v, &format!("{path}.{k}"));
                }
            }
            Json::Array(items) => items.iter().for_each(|v| check_keys(v, path)),
            _ => {}
        }
    }

    #[test]
    fn document_shape_and_keys() {
        let (_, doc) = encoded();
        check_keys(&doc, "");
        let rs = doc["resourceSpans"].as_array().unwrap();
        assert_eq!(rs.len(), 1);
        let res_attrs = &rs[0]["resource"]["attributes"];
        assert_eq!(attr(res_attrs, "service.name")["stringValue"], "demo");
        assert_eq!(attr(res_attrs, "juju_unit")["stringValue"], "demo/0");
        let scope = &rs[0]["scopeSpans"][0]["scope"];
        assert_eq!(scope["name"], "charmkit-test");
        assert_eq!(spans_of(&doc).len(), 6);
    }

    #[test]
    fn ids_are_lowercase_hex_and_parent_links() {
        let (spans, doc) = encoded();
        let root = span(&doc, "root");
        let trace_id = root["traceId"].clone();
        assert!(is_lower_hex(&trace_id, 32));
        assert!(is_lower_hex(&root["spanId"], 16));
        // No parent: the field is omitted (its default, ""), as the JSON mapping allows.
        assert_eq!(root["parentSpanId"], Json::Null);
        assert!(root.get("parentSpanId").is_none());
        let sdk_root = spans.iter().find(|s| s.name == "root").unwrap();
        assert_eq!(
            trace_id.as_str().unwrap(),
            format!("{:032x}", sdk_root.span_context.trace_id())
        );
        for name in ["server", "client", "producer", "consumer"] {
            let child = span(&doc, name);
            assert_eq!(child["traceId"], trace_id);
            assert!(is_lower_hex(&child["parentSpanId"], 16));
            assert_eq!(child["parentSpanId"], root["spanId"]);
            assert_ne!(child["spanId"], root["spanId"]);
        }
        let remote = span(&doc, "remote-child");
        assert_eq!(remote["traceId"], format!("{REMOTE_TRACE:032x}"));
        assert_eq!(remote["parentSpanId"], format!("{REMOTE_SPAN:016x}"));
    }

    #[test]
    fn kinds_are_otlp_integers() {
        let (_, doc) = encoded();
        // SPAN_KIND_INTERNAL=1, SERVER=2, CLIENT=3, PRODUCER=4, CONSUMER=5 (ops writes CLIENT as 2).
        for (name, kind) in [
            ("root", 1),
            ("server", 2),
            ("client", 3),
            ("producer", 4),
            ("consumer", 5),
            ("remote-child", 1),
        ] {
            assert_eq!(span(&doc, name)["kind"], Json::from(kind), "{name}");
        }
    }

    /// Every object key anywhere in `v`.
    fn keys(v: &Json, out: &mut Vec<String>) {
        match v {
            Json::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            Json::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    #[test]
    fn fields_at_their_default_are_omitted() {
        let (_, doc) = encoded();
        let mut all = Vec::new();
        keys(&doc, &mut all);
        // What Tempo 2.0 refuses whole requests for, and what only costs bytes.
        for absent in [
            "entityRefs",
            "droppedAttributesCount",
            "droppedEventsCount",
            "droppedLinksCount",
            "traceState",
            "schemaUrl",
            "keyStrindex",
        ] {
            assert!(!all.iter().any(|k| k == absent), "{absent} written");
        }
        assert!(doc["resourceSpans"][0]["scopeSpans"][0]["scope"]
            .get("attributes")
            .is_none());
        let server = span(&doc, "server");
        assert!(server.get("attributes").is_none() && server.get("events").is_none());
        // Attribute values are data: kept at their default.
        let root = span(&doc, "root");
        assert_eq!(
            attr(&root["attributes"], "empty"),
            &serde_json::json!({"stringValue": ""})
        );
        assert_eq!(
            attr(&root["attributes"], "zero"),
            &serde_json::json!({"intValue": "0"})
        );
        assert_eq!(
            attr(&root["attributes"], "no"),
            &serde_json::json!({"boolValue": false})
        );
        assert_eq!(
            attr(&root["attributes"], "fzero"),
            &serde_json::json!({"doubleValue": 0.0})
        );
        // Written whole, so that our own reader (opentelemetry-proto's, which has no defaults
        // for these) reads the chunk back: an empty array's `values`, an empty key.
        assert_eq!(
            attr(&root["attributes"], "none"),
            &serde_json::json!({"arrayValue": {"values": []}})
        );
        assert_eq!(
            attr(&root["attributes"], ""),
            &serde_json::json!({"stringValue": "keyless"})
        );
        // An event's attribute at its default too, and a message left empty is kept.
        assert_eq!(
            attr(&root["events"][0]["attributes"], "deferred"),
            &serde_json::json!({"boolValue": false})
        );
        assert_eq!(span(&doc, "server")["status"], serde_json::json!({}));
    }

    #[test]
    fn omitting_defaults_while_serialising_matches_the_value_walk() {
        // The one-pass adapter against the oracle: the generated serde to a `Value`, then every
        // default member removed, on spans with every value type and default-valued data.
        let spans = sample_spans();
        let mut request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                spans.clone(),
                &ResourceAttributesWithSchema::from(&resource()),
            ),
        };
        // serde_json writes a non-finite double as `null`, which the oracle would then drop:
        // compare on finite values, as encode() does after its fix-up.
        let replaced = fix_non_finite_doubles(&mut request);
        assert!(!replaced.is_empty());
        let mut oracle = serde_json::to_value(&request).unwrap();
        omit_defaults(&mut oracle);
        let ours: Json = serde_json::from_slice(&super::super::omit::to_vec(&request).unwrap())
            .expect("valid JSON");
        assert_eq!(ours, oracle);
        // And the adapter did leave things out (the raw serde writes them).
        let raw = serde_json::to_string(&request).unwrap();
        assert!(raw.contains("\"droppedAttributesCount\":0"));
        assert!(!serde_json::to_string(&ours)
            .unwrap()
            .contains("droppedAttributesCount"));
    }

    #[test]
    fn the_minimal_encoding_drops_fields_older_collectors_refuse() {
        let (spans, doc) = encoded();
        let json = serde_json::to_vec(&doc).unwrap();
        let min = minimal(&json, None).expect("flags were there to drop");
        let min_doc: Json = serde_json::from_slice(&min).unwrap();
        let mut all = Vec::new();
        keys(&min_doc, &mut all);
        assert!(!all.iter().any(|k| k == "flags"), "{all:?}");
        // The data is all there.
        let back = decode(&min).unwrap();
        let n: usize = back.resource_spans[0]
            .scope_spans
            .iter()
            .map(|s| s.spans.len())
            .sum();
        assert_eq!(n, spans.len());
        assert_eq!(
            span(&min_doc, "root")["traceId"],
            span(&doc, "root")["traceId"]
        );
        // Nothing more to drop: None.
        assert_eq!(minimal(&min, None), None);
        // A field a collector names goes too, unless the data needs it.
        let named = minimal(&min, Some("message")).unwrap();
        assert!(!String::from_utf8(named).unwrap().contains("\"message\""));
        assert_eq!(minimal(&min, Some("kind")), None);
        assert_eq!(minimal(&min, Some("traceId")), None);
        assert_eq!(minimal(b"not json", None), None);
    }

    #[test]
    fn the_unknown_field_is_read_from_a_rejection() {
        for (body, field) in [
            (
                r#"{"code":3,"message":"unknown field \"flags\" in v1.Span"}"#,
                Some("flags"),
            ),
            (
                "unknown field \"entityRefs\" in v1.Resource",
                Some("entityRefs"),
            ),
            (
                "proto: Unknown field 'droppedAttributesCount'",
                Some("droppedAttributesCount"),
            ),
            ("HTTP 400: bad request", None),
        ] {
            assert_eq!(unknown_field(body).as_deref(), field, "{body}");
        }
    }

    #[test]
    fn status_codes_and_message() {
        let (_, doc) = encoded();
        // STATUS_CODE_UNSET=0, OK=1, ERROR=2.
        assert_eq!(span(&doc, "root")["status"]["code"], 1);
        // UNSET is the default: an empty status.
        assert_eq!(span(&doc, "server")["status"], serde_json::json!({}));
        let client = &span(&doc, "client")["status"];
        assert_eq!(client["code"], 2);
        assert_eq!(client["message"], "boom: it failed");
    }

    #[test]
    fn times_are_decimal_strings() {
        let (spans, doc) = encoded();
        for s in spans_of(&doc) {
            assert!(is_decimal_string(&s["startTimeUnixNano"]), "{s}");
            assert!(is_decimal_string(&s["endTimeUnixNano"]), "{s}");
            let start: u64 = s["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
            let end: u64 = s["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
            assert!(start > 1_600_000_000_000_000_000 && start <= end);
        }
        let sdk_root = spans.iter().find(|s| s.name == "root").unwrap();
        let nanos = sdk_root
            .start_time
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            .to_string();
        assert_eq!(span(&doc, "root")["startTimeUnixNano"], nanos);
        let ev = &span(&doc, "root")["events"][0];
        assert!(is_decimal_string(&ev["timeUnixNano"]));
    }

    #[test]
    fn flags_mark_local_and_remote_parents() {
        let (_, doc) = encoded();
        // Low 8 bits are the W3C trace flags (0x01 sampled), then HAS_IS_REMOTE (0x100) and
        // IS_REMOTE (0x200).
        for name in ["root", "server", "client"] {
            let flags = span(&doc, name)["flags"].as_u64().unwrap();
            assert_eq!(flags & 0x300, 0x100, "{name}");
            assert_eq!(flags, 0x101, "{name}: sampled, local parent");
        }
        let flags = span(&doc, "remote-child")["flags"].as_u64().unwrap();
        assert_eq!(flags, 0x301);
        let link = &span(&doc, "server")["links"][0];
        assert_eq!(link["flags"].as_u64().unwrap() & 0x300, 0x300);
    }

    #[test]
    fn attribute_values_of_every_type() {
        let (_, doc) = encoded();
        let a = &span(&doc, "root")["attributes"];
        assert_eq!(attr(a, "s"), &serde_json::json!({"stringValue": "text"}));
        assert_eq!(attr(a, "b"), &serde_json::json!({"boolValue": true}));
        assert_eq!(attr(a, "i"), &serde_json::json!({"intValue": "-42"}));
        assert_eq!(
            attr(a, "big"),
            &serde_json::json!({"intValue": i64::MAX.to_string()})
        );
        assert_eq!(attr(a, "f"), &serde_json::json!({"doubleValue": 1.5}));
        assert_eq!(attr(a, "nan"), &serde_json::json!({"doubleValue": "NaN"}));
        assert_eq!(
            attr(a, "inf"),
            &serde_json::json!({"doubleValue": "Infinity"})
        );
        assert_eq!(
            attr(a, "ninf"),
            &serde_json::json!({"doubleValue": "-Infinity"})
        );
        assert_eq!(
            attr(a, "as"),
            &serde_json::json!({"arrayValue": {"values": [{"stringValue": "x"}, {"stringValue": "y"}]}})
        );
        assert_eq!(
            attr(a, "ab"),
            &serde_json::json!({"arrayValue": {"values": [{"boolValue": true}, {"boolValue": false}]}})
        );
        assert_eq!(
            attr(a, "ai"),
            &serde_json::json!({"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "2"}, {"intValue": "3"}]}})
        );
        assert_eq!(
            attr(a, "af"),
            &serde_json::json!({"arrayValue": {"values": [{"doubleValue": 0.25}, {"doubleValue": "NaN"}]}})
        );
    }

    #[test]
    fn events_and_links() {
        let (_, doc) = encoded();
        let ev = &span(&doc, "root")["events"];
        assert_eq!(ev.as_array().unwrap().len(), 1);
        assert_eq!(ev[0]["name"], "emitted");
        assert_eq!(
            attr(&ev[0]["attributes"], "deferred"),
            &serde_json::json!({"boolValue": false})
        );
        assert_eq!(
            attr(&ev[0]["attributes"], "kind"),
            &serde_json::json!({"stringValue": "start"})
        );
        let link = &span(&doc, "consumer")["links"][0];
        assert_eq!(link["traceId"], format!("{REMOTE_TRACE:032x}"));
        assert_eq!(link["spanId"], format!("{REMOTE_SPAN:016x}"));
        assert_eq!(
            attr(&link["attributes"], "why"),
            &serde_json::json!({"stringValue": "batch"})
        );
    }

    /// Without the fix-up, serde_json writes a non-finite double as `null`, which the collector's
    /// OTLP/JSON decoder refuses ("unsupported value type"), failing the whole request.
    #[test]
    fn raw_crate_output_writes_nan_as_null() {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                sample_spans(),
                &ResourceAttributesWithSchema::from(&resource()),
            ),
        };
        let doc = serde_json::to_value(&request).unwrap();
        let root = span(&doc, "root");
        assert_eq!(
            attr(&root["attributes"], "nan"),
            &serde_json::json!({"doubleValue": null})
        );
    }

    #[test]
    fn decode_round_trips() {
        let spans = sample_spans();
        // One Resource instance: its attributes live in a HashMap, so their order is only
        // stable within one instance.
        let resource = resource();
        let json = encode(spans.clone(), &resource);
        let request = decode(&json).unwrap();
        let mut expected = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                spans,
                &ResourceAttributesWithSchema::from(&resource),
            ),
        };
        // NaN != NaN: compare those attributes separately, then blank them.
        let mut nan_count = 0;
        let mut decoded = request.clone();
        for r in [&mut expected, &mut decoded] {
            visit_values(r, &mut |v| {
                if let Some(any_value::Value::DoubleValue(d)) = v.value {
                    if d.is_nan() {
                        v.value = Some(any_value::Value::StringValue("was NaN".into()));
                        nan_count += 1;
                    }
                }
            });
        }
        assert_eq!(nan_count, 4);
        assert_eq!(decoded, expected);
        let root = &request.resource_spans[0].scope_spans[0]
            .spans
            .iter()
            .find(|s| s.name == "root")
            .unwrap();
        let inf = root.attributes.iter().find(|kv| kv.key == "inf").unwrap();
        assert_eq!(
            inf.value.as_ref().unwrap().value,
            Some(any_value::Value::DoubleValue(f64::INFINITY))
        );
    }

    #[test]
    fn decode_reads_chunks_that_left_out_an_empty_list_s_values() {
        // What the Value-walk encoder of earlier releases wrote for an empty array attribute.
        let old = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7","name":"s","attributes":[{"key":"a","value":{"arrayValue":{}}},{"key":"l","value":{"kvlistValue":{}}}]}]}]}]}"#;
        let request = decode(old).expect("an old chunk is read");
        let attrs = &request.resource_spans[0].scope_spans[0].spans[0].attributes;
        assert!(matches!(
            &attrs[0].value.as_ref().unwrap().value,
            Some(any_value::Value::ArrayValue(a)) if a.values.is_empty()
        ));
        assert!(matches!(
            &attrs[1].value.as_ref().unwrap().value,
            Some(any_value::Value::KvlistValue(l)) if l.values.is_empty()
        ));
    }

    #[test]
    fn decode_accepts_numbers_and_rejects_garbage() {
        let json = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
            "traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7",
            "name":"x","kind":3,"startTimeUnixNano":1700000000000000000,
            "endTimeUnixNano":"1700000000000000001","unknownField":1,
            "attributes":[{"key":"n","value":{"intValue":7}}]}]}]}]}"#;
        let r = decode(json).unwrap();
        let s = &r.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(s.kind, 3);
        assert_eq!(s.start_time_unix_nano, 1_700_000_000_000_000_000);
        assert_eq!(s.end_time_unix_nano, 1_700_000_000_000_000_001);
        assert!(s.parent_span_id.is_empty());
        assert!(decode(b"not json").is_err());
        assert!(
            decode(br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#)
                .is_err()
        );
        let err = decode(b"[1]").unwrap_err().to_string();
        assert!(err.contains("OTLP/JSON"), "{err}");
    }

    #[test]
    fn empty_batch_is_a_valid_document() {
        let json = encode(Vec::new(), &resource());
        let r = decode(&json).unwrap();
        assert_eq!(r.resource_spans.len(), 1);
        assert!(r.resource_spans[0].scope_spans.is_empty());
    }
}
