//! The Pebble span decorator: wraps any Pebble [`Transport`] and makes one span per call, as
//! [`TracedTools`](super::tools::TracedTools) does for hook tools.
//!
//! The span is named `pebble <METHOD> <path>` (no query), of kind CLIENT, with attributes
//! `http.request.method`, `url.path`, `pebble.container` and, once answered,
//! `http.response.status_code`. Nothing of a body is recorded — not file contents, not exec's
//! environment, not notice data. An error reply or a failure to connect ends the span with an
//! `exception` event (Pebble's message) and ERROR status. `POST /v1/exec` gets `TRACEPARENT`
//! for this span added to the command's environment (unless the charm set one), so the command
//! joins the trace.
//!
//! [`TracedConnector`] does the same for every container the model connects to
//! ([`crate::model::Model::container`]): the runtime and the test harness use it.

use std::path::PathBuf;
use std::sync::Arc;

use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};
use opentelemetry::KeyValue;

use crate::model::PebbleConnector;
use crate::pebble::{self, Client, Method, Request, Response, Transport, WebSocket};

use super::propagate::{traceparent_of, TRACEPARENT};

/// A Pebble transport that traces every call it passes on to `T`.
#[derive(Debug)]
pub struct TracedTransport<T> {
    inner: T,
    container: String,
}

impl<T> TracedTransport<T> {
    /// Wraps `inner`, the transport to `container`'s Pebble.
    pub fn new(inner: T, container: &str) -> Self {
        TracedTransport {
            inner,
            container: container.into(),
        }
    }
}

/// A [`PebbleConnector`] whose transports are [`TracedTransport`]s over `C`'s.
#[derive(Debug, Clone)]
pub struct TracedConnector<C> {
    inner: C,
}

impl<C> TracedConnector<C> {
    /// Traces every container `inner` connects to.
    pub fn new(inner: C) -> Self {
        TracedConnector { inner }
    }
}

impl<C: PebbleConnector> PebbleConnector for TracedConnector<C> {
    fn connect(&self, container: &str) -> crate::Result<Arc<dyn Transport>> {
        let inner = self.inner.connect(container)?;
        Ok(Arc::new(TracedTransport::new(inner, container)))
    }
}

/// A traced client for `container`'s Pebble socket (see [`Client::for_container`]).
pub fn client(container: &str) -> Client {
    let socket = Client::socket_path(container);
    let transport = TracedTransport::new(pebble::SocketTransport::new(socket), container);
    Client::with_transport(Arc::new(transport))
}

fn error_message(response: &Response) -> Option<String> {
    if response.status < 400 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
    v.pointer("/result/message")
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .or_else(|| Some(format!("HTTP {}", response.status)))
}

impl<T: Transport> TracedTransport<T> {
    fn span(&self, method: Method, path: &str) -> opentelemetry::global::BoxedSpan {
        let tracer = crate::span::tracer();
        tracer
            .span_builder(format!("pebble {method} {path}"))
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("http.request.method", method.as_str()),
                KeyValue::new("url.path", path.to_owned()),
                KeyValue::new("pebble.container", self.container.clone()),
            ])
            .start(&tracer)
    }
}

fn fail(span: &mut impl opentelemetry::trace::Span, message: String) {
    span.add_event(
        "exception",
        crate::span::exception("PebbleError", message.clone()),
    );
    span.set_status(Status::error(message));
}

/// Adds `TRACEPARENT` to an exec request's environment, unless the charm set it.
fn with_traceparent(request: &Request, traceparent: &str) -> Option<Request> {
    let mut body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
    let obj = body.as_object_mut()?;
    let env = obj
        .entry("environment")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()?;
    if env.contains_key(TRACEPARENT) {
        return None;
    }
    env.insert(TRACEPARENT.into(), traceparent.into());
    let mut out = request.clone();
    out.body = serde_json::to_vec(&body).ok()?;
    Some(out)
}

impl<T: Transport> Transport for TracedTransport<T> {
    fn roundtrip(&self, request: &Request) -> pebble::Result<Response> {
        let mut span = self.span(request.method, request.path_only());
        let exec = request.method == Method::Post && request.path_only() == "/v1/exec";
        let rewritten = if exec {
            traceparent_of(span.span_context()).and_then(|tp| with_traceparent(request, &tp))
        } else {
            None
        };
        let out = self.inner.roundtrip(rewritten.as_ref().unwrap_or(request));
        match &out {
            Ok(response) => {
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(response.status),
                ));
                if let Some(m) = error_message(response) {
                    fail(&mut span, m);
                }
            }
            Err(e) => fail(&mut span, e.to_string()),
        }
        span.end();
        out
    }

    fn websocket(&self, path: &str) -> pebble::Result<WebSocket> {
        let mut span = self.span(Method::Get, path.split('?').next().unwrap_or_default());
        let out = self.inner.websocket(path);
        if let Err(e) = &out {
            fail(&mut span, e.to_string());
        }
        span.end();
        out
    }

    fn endpoint(&self) -> PathBuf {
        self.inner.endpoint()
    }
}
