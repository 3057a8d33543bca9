//! Stored state and deferred events, kept in `$JUJU_CHARM_DIR/.charmkit-state.json`.
//!
//! One small JSON document: the charm's (and libraries') stored values, namespaced by owner, and
//! the queue of deferred events. It is read once at the start of a dispatch and, if anything
//! changed, written back at the end: to a temp file in the same directory, fsynced, mode 0600,
//! then renamed over the old one, so a crash at any instant leaves either the old or the new
//! state, never a torn one.
//!
//! A corrupt file (unparsable, wrong shape) is logged at ERROR with its path, moved aside to
//! `.charmkit-state.json.corrupt` for inspection, and the charm carries on with empty state —
//! losing stored state is bad, but a unit that can never run a hook again is worse.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::event::Event;

/// The state file's name under `$JUJU_CHARM_DIR`.
pub const STATE_FILE: &str = ".charmkit-state.json";

/// A deferred event: the event and the observer that deferred it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    /// The event, as it was first emitted.
    pub event: Event,
    /// The observer's handler id (`Owner.handler`) that deferred it.
    pub handler: String,
}

/// The whole stored document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredState {
    /// Stored values: owner → key → value.
    #[serde(default)]
    pub stored: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Deferred events, oldest first.
    #[serde(default)]
    pub deferred: Vec<Deferred>,
}

impl StoredState {
    /// Reads the state under `charm_dir`. A missing file is empty state; a corrupt one is moved
    /// aside, logged, and empty state returned.
    pub fn load(charm_dir: &Path) -> Self {
        let path = charm_dir.join(STATE_FILE);
        match fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StoredState::default(),
            Err(e) => {
                log::error!(
                    "cannot read stored state {}: {e}; carrying on with empty state",
                    path.display()
                );
                StoredState::default()
            }
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    let aside = path.with_extension("json.corrupt");
                    let moved = fs::rename(&path, &aside).is_ok();
                    log::error!(
                        "stored state {} is corrupt ({e}); {}carrying on with empty state",
                        path.display(),
                        if moved {
                            format!("moved it to {}; ", aside.display())
                        } else {
                            String::new()
                        }
                    );
                    StoredState::default()
                }
            },
        }
    }

    /// Writes the state under `charm_dir`, atomically (temp file, fsync, rename), mode 0600.
    pub fn save(&self, charm_dir: &Path) -> Result<()> {
        let path = charm_dir.join(STATE_FILE);
        let err = |message: String| Error::State {
            path: path.clone(),
            message,
        };
        let data = serde_json::to_vec(self).map_err(|e| err(format!("cannot encode: {e}")))?;
        write_atomic(&path, &data).map_err(|e| err(e.to_string()))
    }

    /// The stored value `key` of `owner`, decoded as `T`; `None` if absent or of another shape.
    pub fn get<T: serde::de::DeserializeOwned>(&self, owner: &str, key: &str) -> Option<T> {
        let v = self.stored.get(owner)?.get(key)?;
        serde_json::from_value(v.clone()).ok()
    }

    /// Stores `value` under `owner`/`key`.
    pub fn set<T: Serialize>(&mut self, owner: &str, key: &str, value: &T) -> Result<()> {
        let v = serde_json::to_value(value)
            .map_err(|e| Error::Handler(format!("cannot store {owner}.{key}: {e}")))?;
        self.stored
            .entry(owner.to_string())
            .or_default()
            .insert(key.to_string(), v);
        Ok(())
    }
}

/// Writes `data` to `path` atomically: a temp file beside it, fsync, mode 0600, rename.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    write_via(&tmp, path, data, true)
}

/// Writes `data` to `tmp` (created fresh, mode 0600), optionally fsyncs it, and renames it to
/// `dest`; on failure the temp file is removed. A crash leaves either the old `dest` or the new.
pub(crate) fn write_via(tmp: &Path, dest: &Path, data: &[u8], sync: bool) -> std::io::Result<()> {
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(tmp)?;
        f.write_all(data)?;
        if sync {
            f.sync_data()?;
        }
        drop(f);
        fs::rename(tmp, dest)
    })();
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = StoredState::default();
        s.set("RustStarter", "installs", &3u32).unwrap();
        s.deferred.push(Deferred {
            event: Event::of(EventKind::Start),
            handler: "RustStarter.on_start".into(),
        });
        s.save(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = StoredState::load(dir.path());
        assert_eq!(back, s);
        assert_eq!(back.get::<u32>("RustStarter", "installs"), Some(3));
        assert_eq!(back.get::<String>("RustStarter", "installs"), None);
        assert_eq!(back.get::<u32>("Other", "installs"), None);
        // No temp file left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_is_empty_and_corrupt_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(StoredState::load(dir.path()), StoredState::default());
        for junk in [
            &b"{not json"[..],
            b"[1,2]",
            b"\xff\xfe",
            b"{\"deferred\": 7}",
        ] {
            fs::write(dir.path().join(STATE_FILE), junk).unwrap();
            assert_eq!(StoredState::load(dir.path()), StoredState::default());
            assert!(dir.path().join(".charmkit-state.json.corrupt").exists());
            assert!(!dir.path().join(STATE_FILE).exists());
        }
    }

    #[test]
    fn save_into_missing_dir_is_an_error_naming_the_file() {
        let err = StoredState::default()
            .save(Path::new("/nonexistent/charm"))
            .unwrap_err();
        assert!(err.to_string().contains(".charmkit-state.json"), "{err}");
    }
}
