//! The trace data of one dispatch: collected in memory, written to the buffer, handed to the
//! exporter.

use std::path::{Path, PathBuf};

use opentelemetry_sdk::Resource;

use super::buffer::{self, Buffer, ChunkId, PRIORITY_DEFAULT, PRIORITY_OBSERVED};
use super::setup::SpanCollector;
use super::{drain, otlp};

/// The trace data of one dispatch on its way to the buffer.
///
/// Spans are collected in memory and written as one OTLP/JSON chunk per [`checkpoint`] and when
/// the dispatch finishes ([`finish_and_export`], or [`finish_and_flush`] on stop and remove): at
/// priority 50 if the dispatch is already known to be observed, else 10. A
/// dispatch that becomes observed after a checkpoint has its earlier chunks promoted to 50 when
/// it finishes (a rename), so *all* its data ranks as observed. Nothing here fails the hook: a
/// problem (full disk, unwritable directory) is logged once at WARNING and tracing degrades.
///
/// [`checkpoint`]: DispatchTrace::checkpoint
/// [`finish_and_export`]: DispatchTrace::finish_and_export
/// [`finish_and_flush`]: DispatchTrace::finish_and_flush
pub struct DispatchTrace {
    collector: SpanCollector,
    resource: Resource,
    charm_dir: PathBuf,
    buffer: Option<Buffer>,
    written_low: Vec<ChunkId>,
    stored_any: bool,
    warned: bool,
}

impl DispatchTrace {
    /// Starts collecting this thread's spans for a dispatch under `charm_dir`.
    pub fn start(charm_dir: &Path, resource: Resource) -> Self {
        DispatchTrace {
            collector: SpanCollector::start(),
            resource,
            charm_dir: charm_dir.to_path_buf(),
            buffer: None,
            written_low: Vec::new(),
            stored_any: false,
            warned: false,
        }
    }

    fn warn(&mut self, what: &str, e: std::io::Error) {
        if buffer::NoRoom::of(&e).is_some_and(|n| !n.first) {
            // Said once already, when the disk first got this full.
            log::debug!("tracing: {what}: {e}");
            return;
        }
        if !self.warned {
            self.warned = true;
            log::warn!(
                "tracing: {what} under {}: {e}; this dispatch's trace data may be incomplete",
                self.charm_dir.join(buffer::DIR_NAME).display()
            );
        }
    }

    fn buffer(&mut self) -> Option<&Buffer> {
        if self.buffer.is_none() {
            match Buffer::open(&self.charm_dir) {
                Ok(b) => self.buffer = Some(b),
                Err(e) => self.warn("cannot open the trace buffer", e),
            }
        }
        self.buffer.as_ref()
    }

    /// Writes the spans finished so far as one chunk.
    pub fn checkpoint(&mut self, observed: bool) {
        let spans = self.collector.take();
        self.write(spans, observed);
    }

    fn write(&mut self, spans: Vec<opentelemetry_sdk::trace::SpanData>, observed: bool) {
        if spans.is_empty() {
            return;
        }
        let priority = if observed {
            PRIORITY_OBSERVED
        } else {
            PRIORITY_DEFAULT
        };
        let data = otlp::encode(spans, &self.resource);
        let Some(buffer) = self.buffer() else { return };
        match buffer.append(&data, priority) {
            Ok(id) => {
                self.stored_any = true;
                if !observed {
                    self.written_low.push(id);
                }
            }
            Err(e) => self.warn("cannot buffer trace data", e),
        }
    }

    /// Writes `spans` (collected elsewhere, e.g. by the test harness) as the dispatch's data.
    #[cfg(any(test, feature = "testing"))]
    pub fn finish_with(mut self, spans: Vec<opentelemetry_sdk::trace::SpanData>, observed: bool) {
        self.write(spans, observed);
        self.finish(observed);
    }

    /// Writes the rest, promotes what was written at 10 if the dispatch was observed, then
    /// reports the last export's problem (once) and hands the buffer to the background exporter.
    pub fn finish_and_export(mut self, observed: bool) {
        self.checkpoint(observed);
        self.promote_if(observed);
        let (charm_dir, stored_any) = (self.charm_dir.clone(), self.stored_any);
        if let Some(buffer) = self.buffer() {
            drain::report_last_export(buffer);
            if stored_any {
                drain::spawn_background(buffer, &charm_dir);
            }
        }
    }

    /// For `stop` and `remove`, when the unit (on Kubernetes, its pod, and the buffer with it) is
    /// going away: writes the rest, then sends the buffer synchronously for at most
    /// [`drain::stop_flush_deadline`] (5 s, `CHARM_TRACING_STOP_FLUSH_SECONDS`), and logs what was
    /// sent and what was left behind. Never fails the hook.
    pub fn finish_and_flush(mut self, observed: bool) {
        self.checkpoint(observed);
        self.promote_if(observed);
        if let Some(buffer) = self.buffer() {
            drain::report_last_export(buffer);
            drain::final_flush(buffer);
        }
    }

    /// Writes the rest, and promotes what was written at 10 if the dispatch was observed.
    #[cfg(any(test, feature = "testing"))]
    pub fn finish(mut self, observed: bool) {
        self.checkpoint(observed);
        self.promote_if(observed);
    }

    fn promote_if(&mut self, observed: bool) {
        if observed && !self.written_low.is_empty() {
            let ids = std::mem::take(&mut self.written_low);
            if let Some(buffer) = self.buffer() {
                if let Err(e) = buffer.promote(&ids, PRIORITY_OBSERVED) {
                    self.warn("cannot raise the priority of earlier trace data", e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, Tracer as _};

    fn span(name: &'static str) {
        crate::span::tracer().start(name).end();
    }

    fn by_priority(dir: &Path) -> Vec<(u8, u64)> {
        let stats = Buffer::open(dir).unwrap().stats().unwrap();
        stats
            .by_priority
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    #[test]
    fn data_written_before_the_dispatch_is_observed_is_promoted() {
        let dir = tempfile::tempdir().unwrap();
        let t = || DispatchTrace::start(dir.path(), Resource::builder_empty().build());

        let mut trace = t();
        span("deferred work");
        trace.checkpoint(false);
        assert_eq!(by_priority(dir.path()), [(10, 1)]);
        span("the event");
        trace.finish(true);
        assert_eq!(by_priority(dir.path()), [(50, 2)]);

        // An unobserved dispatch stays at 10, checkpoint or not.
        let mut trace = t();
        span("a");
        trace.checkpoint(false);
        span("b");
        trace.finish(false);
        assert_eq!(by_priority(dir.path()), [(10, 2), (50, 2)]);

        // Every chunk is OTLP/JSON holding the spans of its part of the dispatch.
        let chunks = Buffer::open(dir.path())
            .unwrap()
            .chunks_oldest_first()
            .unwrap();
        let names: Vec<String> = chunks
            .iter()
            .flat_map(|c| {
                let req = otlp::decode(&c.data).unwrap();
                req.resource_spans
                    .into_iter()
                    .flat_map(|r| r.scope_spans)
                    .flat_map(|s| s.spans)
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(names.len(), 4);
        for n in ["deferred work", "the event", "a", "b"] {
            assert!(names.iter().any(|x| x == n), "{names:?}");
        }
    }

    #[test]
    fn an_unwritable_buffer_never_fails_the_dispatch() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(buffer::DIR_NAME), "a file, not a directory").unwrap();
        let trace = DispatchTrace::start(dir.path(), Resource::builder_empty().build());
        span("x");
        trace.finish(true); // logs once, does not panic
    }
}
