//! What the exporter keeps beside the buffer: its destination, the outcome of the last export,
//! and which outcome the dispatches have already reported.

use std::io;

use serde::{Deserialize, Serialize};

use super::files::*;
use super::*;

/// Where the exporter sends data: an OTLP/HTTP URL and an optional PEM CA bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// The OTLP/HTTP traces endpoint.
    pub url: String,
    /// PEM bundle of CA certificates to trust for `url`, if any.
    pub ca: Option<String>,
}

/// What the last export attempt did (for `trace status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportOutcome {
    /// When it ended, seconds since the Unix epoch.
    pub at_unix: u64,
    /// The URL it sent to.
    pub url: String,
    /// Chunks accepted by the collector.
    pub sent: u64,
    /// Chunks dropped (rejected for good).
    pub dropped: u64,
    /// Chunks left in the buffer afterwards.
    pub remaining: u64,
    /// The error that stopped it, if any.
    pub error: Option<String>,
    /// Entries of the buffer passed over as not chunks of ours (left in place).
    #[serde(default)]
    pub skipped: u64,
}

impl Buffer {
    /// Stores (or with `None`, forgets) the exporter's destination, owner-only.
    pub fn set_destination(&self, d: Option<&Destination>) -> io::Result<()> {
        match d {
            Some(d) => self.write_json_file(DESTINATION_FILE, d),
            None => remove_if_exists(&self.dir.join(DESTINATION_FILE)),
        }
    }

    /// The stored destination; `None` if there is none (or it is unreadable, with a warning).
    pub fn destination(&self) -> io::Result<Option<Destination>> {
        self.read_json_file(DESTINATION_FILE)
    }

    /// Records the outcome of an export attempt (replacing the previous one).
    pub fn record_export(&self, o: &ExportOutcome) -> io::Result<()> {
        self.write_json_file(LAST_EXPORT_FILE, o)
    }

    /// The last recorded export outcome, if any (`None` too if unreadable, with a warning).
    pub fn last_export(&self) -> io::Result<Option<ExportOutcome>> {
        self.read_json_file(LAST_EXPORT_FILE)
    }

    /// Which export outcome the dispatches have already reported (an opaque stamp), if any.
    pub fn reported_export(&self) -> Option<String> {
        let bytes = read_regular(&self.dir.join(REPORTED_FILE), 1024).ok()?;
        String::from_utf8(bytes).ok()
    }

    /// Notes that the outcome with this stamp has been reported (best effort).
    pub fn set_reported_export(&self, stamp: &str) {
        let tmp = self
            .dir
            .join(TMP_DIR)
            .join(format!("{}.tmp", unique_token()));
        let _ = crate::fs::write_via(&tmp, &self.dir.join(REPORTED_FILE), stamp.as_bytes(), false);
    }

    pub(super) fn write_json_file<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        let tmp = self
            .dir
            .join(TMP_DIR)
            .join(format!("{}.tmp", unique_token()));
        crate::fs::write_via(&tmp, &self.dir.join(name), &bytes, true)?;
        self.dir_fd.sync_all()
    }

    pub(super) fn read_json_file<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
    ) -> io::Result<Option<T>> {
        let path = self.dir.join(name);
        let bytes = match read_regular(&path, MAX_JSON_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
                ) || e.raw_os_error() == Some(Errno::ELOOP as i32) =>
            {
                log::warn!("trace buffer: ignoring {}: {e}", path.display());
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        match serde_json::from_slice(&bytes) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                log::warn!("trace buffer: ignoring unreadable {}: {e}", path.display());
                Ok(None)
            }
        }
    }
}
