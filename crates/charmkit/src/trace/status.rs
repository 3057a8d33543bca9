//! What `trace status` and the `trace-status` action report about a unit's trace buffer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::buffer::{Buffer, ExportOutcome};
use super::destination::redact;

/// A snapshot of the buffer: where it is, what it holds, where it goes. Never the CA text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceStatus {
    /// The buffer directory.
    pub location: PathBuf,
    /// Chunks stored.
    pub chunks: u64,
    /// Bytes counted against the cap (each chunk rounded up to 4 KiB).
    pub bytes: u64,
    /// The cap.
    pub limit_bytes: u64,
    /// Chunks per priority.
    pub by_priority: BTreeMap<u8, u64>,
    /// The destination URL, if any, credentials masked.
    pub destination: Option<String>,
    /// Whether the destination has a CA bundle (the bundle itself is never shown).
    pub has_ca: bool,
    /// The last export's outcome, if any.
    pub last_export: Option<ExportOutcome>,
}

/// Reads the status of the buffer under `charm_dir`. Creates nothing: a unit that has never
/// buffered anything has an empty status.
pub fn status(charm_dir: &Path) -> std::io::Result<TraceStatus> {
    let Some(buffer) = Buffer::open_existing(charm_dir)? else {
        return Ok(TraceStatus {
            location: charm_dir.join(super::buffer::DIR_NAME),
            chunks: 0,
            bytes: 0,
            limit_bytes: super::buffer::limit_from_env_value(
                std::env::var(super::buffer::LIMIT_ENV).ok().as_deref(),
            ),
            by_priority: BTreeMap::new(),
            destination: None,
            has_ca: false,
            last_export: None,
        });
    };
    let stats = buffer.stats()?;
    let dest = buffer.destination()?;
    Ok(TraceStatus {
        location: stats.dir,
        chunks: stats.chunks,
        bytes: stats.bytes,
        limit_bytes: stats.limit_bytes,
        by_priority: stats.by_priority,
        has_ca: dest.as_ref().is_some_and(|d| d.ca.is_some()),
        destination: dest.map(|d| redact(&d.url)),
        last_export: buffer.last_export()?.map(|mut o| {
            // Records written before URLs were masked (or by hand) are masked here too.
            o.url = redact(&o.url);
            o.error = o.error.map(|e| redact(&e));
            o
        }),
    })
}

/// A time in seconds since the Unix epoch as RFC 3339 UTC (`2026-11-26T14:03:12Z`).
fn rfc3339(at_unix: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(at_unix);
    humantime::format_rfc3339_seconds(t).to_string()
}

impl TraceStatus {
    /// One JSON object: `location`, `chunks`, `bytes`, `limit_bytes`, `by_priority` (priority as
    /// a string → count), `destination` (URL or null), `has_ca`, `last_export` (object or null).
    pub fn to_json(&self) -> serde_json::Value {
        let by_priority: serde_json::Map<String, serde_json::Value> = self
            .by_priority
            .iter()
            .map(|(p, n)| (p.to_string(), json!(n)))
            .collect();
        json!({
            "location": self.location.display().to_string(),
            "chunks": self.chunks,
            "bytes": self.bytes,
            "limit_bytes": self.limit_bytes,
            "by_priority": by_priority,
            "destination": self.destination,
            "has_ca": self.has_ca,
            "last_export": self.last_export.as_ref().map(|e| {
                let mut v = json!(e);
                v["at"] = json!(rfc3339(e.at_unix));
                v
            }),
        })
    }

    /// The same fields as flat `action-set` results (`by-priority.50`, `last-export.error`…).
    pub fn to_action_results(&self) -> BTreeMap<String, String> {
        let mut r = BTreeMap::new();
        r.insert("location".into(), self.location.display().to_string());
        r.insert("chunks".into(), self.chunks.to_string());
        r.insert("bytes".into(), self.bytes.to_string());
        r.insert("limit-bytes".into(), self.limit_bytes.to_string());
        for (p, n) in &self.by_priority {
            r.insert(format!("by-priority.p{p}"), n.to_string());
        }
        r.insert(
            "destination".into(),
            self.destination.clone().unwrap_or_else(|| "none".into()),
        );
        r.insert("has-ca".into(), self.has_ca.to_string());
        if let Some(e) = &self.last_export {
            r.insert("last-export.at".into(), rfc3339(e.at_unix));
            r.insert("last-export.sent".into(), e.sent.to_string());
            r.insert("last-export.dropped".into(), e.dropped.to_string());
            r.insert("last-export.remaining".into(), e.remaining.to_string());
            if let Some(err) = &e.error {
                r.insert("last-export.error".into(), err.clone());
            }
        }
        r
    }

    /// Human-readable lines.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        s += &format!("buffer:       {}\n", self.location.display());
        s += &format!(
            "chunks:       {} ({:.2} MiB of {:.2} MiB)\n",
            self.chunks,
            mib(self.bytes),
            mib(self.limit_bytes)
        );
        let prio: Vec<String> = self
            .by_priority
            .iter()
            .map(|(p, n)| format!("{p}: {n}"))
            .collect();
        s += &format!(
            "by priority:  {}\n",
            if prio.is_empty() {
                "-".to_string()
            } else {
                prio.join(", ")
            }
        );
        s += &format!(
            "destination:  {}{}\n",
            self.destination
                .as_deref()
                .unwrap_or("none (data keeps buffering)"),
            if self.has_ca { " (with CA bundle)" } else { "" }
        );
        match &self.last_export {
            None => s += "last export:  never\n",
            Some(e) => {
                s += &format!(
                    "last export:  {} to {}: sent {}, dropped {}, remaining {}{}\n",
                    rfc3339(e.at_unix),
                    e.url,
                    e.sent,
                    e.dropped,
                    e.remaining,
                    e.error
                        .as_ref()
                        .map(|x| format!(", error: {x}"))
                        .unwrap_or_default()
                )
            }
        }
        s
    }
}
