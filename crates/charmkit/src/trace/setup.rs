//! The tracer provider and the per-dispatch span collector.
//!
//! One global `SdkTracerProvider` is installed once per process. Its only processor hands each
//! finished span to the *current thread's* collector ([`SpanCollector`]), which the runtime (or
//! the test harness) starts before a dispatch and drains after it. So:
//!
//! - charm authors use the standard `opentelemetry::global::tracer(..)` API and their spans land
//!   in the dispatch's trace, as children of the observer span that is current;
//! - parallel tests, each running dispatches on their own thread, never see each other's spans;
//! - no background thread, no async runtime, nothing exported on the hook's path: spans are only
//!   collected in memory, then encoded once at the end of the dispatch.
//!
//! The resource is applied at encoding time (it depends on the dispatch's Juju context).

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::context::JujuContext;

thread_local! {
    static COLLECTOR: RefCell<Option<Vec<SpanData>>> = const { RefCell::new(None) };
}

#[derive(Debug)]
struct ToCurrentThread;

impl SpanProcessor for ToCurrentThread {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        COLLECTOR.with(|c| {
            if let Some(spans) = c.borrow_mut().as_mut() {
                spans.push(span);
            }
        });
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Installs the global tracer provider (once per process; later calls do nothing).
pub fn install() {
    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let provider = SdkTracerProvider::builder()
            .with_span_processor(ToCurrentThread)
            .build();
        opentelemetry::global::set_tracer_provider(provider.clone());
        provider
    });
}

/// Collects the spans that end on this thread until dropped.
pub struct SpanCollector {
    previous: Option<Vec<SpanData>>,
}

impl SpanCollector {
    /// Starts collecting this thread's finished spans (installing the provider if needed).
    pub fn start() -> Self {
        install();
        let previous = COLLECTOR.with(|c| c.borrow_mut().replace(Vec::new()));
        SpanCollector { previous }
    }

    /// Takes the spans finished so far.
    pub fn take(&self) -> Vec<SpanData> {
        COLLECTOR.with(|c| {
            c.borrow_mut()
                .as_mut()
                .map(std::mem::take)
                .unwrap_or_default()
        })
    }
}

impl Drop for SpanCollector {
    fn drop(&mut self) {
        let prev = self.previous.take();
        COLLECTOR.with(|c| *c.borrow_mut() = prev);
    }
}

/// The resource describing this unit, with the attributes ops sets, so existing Tempo and
/// Grafana queries keep working.
pub fn resource(ctx: &JujuContext, charm_name: &str, charm_type: &str) -> Resource {
    let attrs = [
        ("service.namespace", ctx.model_uuid.clone()),
        ("service.namespace.name", ctx.model_name.clone()),
        ("service.name", ctx.app_name().to_string()),
        ("service.instance.id", ctx.unit_number().to_string()),
        ("charm", charm_name.to_string()),
        ("charm_type", charm_type.to_string()),
        ("juju_model", ctx.model_name.clone()),
        ("juju_model_uuid", ctx.model_uuid.clone()),
        ("juju_application", ctx.app_name().to_string()),
        ("juju_unit", ctx.unit_name.clone()),
        ("telemetry.sdk.language", "rust".to_string()),
        ("telemetry.sdk.name", "opentelemetry".to_string()),
        ("telemetry.sdk.version", SDK_VERSION.to_string()),
        ("charmkit.version", env!("CARGO_PKG_VERSION").to_string()),
    ];
    Resource::builder_empty()
        .with_attributes(attrs.into_iter().map(|(k, v)| KeyValue::new(k, v)))
        .build()
}

/// The OpenTelemetry SDK version we are built with (for `telemetry.sdk.version`).
pub const SDK_VERSION: &str = "0.33";
