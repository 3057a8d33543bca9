//! Stored state and deferred events, kept in `$JUJU_CHARM_DIR/.charmkit-state.json`.
//!
//! One small JSON document: the charm's (and libraries') stored values, namespaced by owner, and
//! the queue of deferred events. It is read once at the start of a dispatch and, if anything
//! changed, written back at the end: to a temp file in the same directory, fsynced, mode 0600,
//! then renamed over the old one, so a crash at any instant leaves either the old or the new
//! state, never a torn one.
//!
//! ## Format
//!
//! `{"version": 2, "stored": {OWNER: {KEY: VALUE}}, "deferred": [DEFERRED…]}`, where each
//! deferred entry names the event and the *observation* that deferred it: `owner`, `handler` and
//! `on` (the event selector it was registered with, e.g. `start` or `relation_changed:db`). The
//! three together identify one registration (registering the same triple twice is an error), so
//! a re-emitted event reaches exactly the observer that deferred it, for exactly that event — as
//! ops keys a deferred notice by event path, observer path and method name.
//!
//! A document without `version` was written by charmkit before the format was versioned
//! (version 1): its stored values are kept; its deferred entries name only `Owner.handler`, so
//! each is re-emitted to the one observation of that handler whose selector matches the event,
//! and identical entries (which that version's deferral bug multiplied) are kept once. One log
//! line says so. A version newer than this charmkit knows (a charm downgrade) is treated as
//! unreadable: moved aside and logged, never a crash loop.
//!
//! A corrupt file (unparsable, wrong shape), or something else in its place (a directory, a
//! FIFO, a symlink: neither readable as state nor replaceable by the save's rename), is logged at
//! ERROR with its path, moved aside to `.charmkit-state.json.corrupt` (or `.corrupt-<nanos>` if
//! that name is taken) for inspection, and the charm carries on with empty state —
//! losing stored state is bad, but a unit that can never run a hook again is worse. A deferred
//! entry that cannot be read (an event this charmkit no longer knows) is dropped with one log
//! line; the rest of the document is kept.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::event::Event;

/// The state file's name under `$JUJU_CHARM_DIR`.
pub const STATE_FILE: &str = ".charmkit-state.json";

/// The version of the state file's format this charmkit writes.
pub const FORMAT_VERSION: u64 = 2;

/// A deferred event: the event and the observation that deferred it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    /// The event, as it was first emitted.
    pub event: Event,
    /// The observer's owner (the charm's type name, or a library's name such as `Tracing`).
    pub owner: String,
    /// The handler's name (`reconcile`).
    pub handler: String,
    /// The selector the handler was registered with (`start`, `relation_changed:db`); `None`
    /// for an entry read from a version-1 document, which did not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

impl Deferred {
    /// `Owner.handler`, as spans and logs name the observer.
    pub fn observer(&self) -> String {
        format!("{}.{}", self.owner, self.handler)
    }
}

/// The whole stored document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoredState {
    /// Stored values: owner → key → value.
    pub stored: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Deferred events, oldest first.
    pub deferred: Vec<Deferred>,
}

/// What is written: the state plus the format version.
#[derive(Serialize)]
struct Versioned<'a> {
    version: u64,
    #[serde(flatten)]
    state: &'a StoredState,
}

/// A version-1 deferred entry: `{"event": …, "handler": "Owner.handler"}`.
#[derive(Deserialize)]
struct DeferredV1 {
    event: Event,
    handler: String,
}

impl StoredState {
    /// Reads the state under `charm_dir`. A missing file is empty state; a corrupt one is moved
    /// aside, logged, and empty state returned.
    pub fn load(charm_dir: &Path) -> Self {
        Self::load_versioned(charm_dir).0
    }

    /// Like [`StoredState::load`], with the format version the document was in (the current
    /// one for empty state).
    pub(crate) fn load_versioned(charm_dir: &Path) -> (Self, u64) {
        let path = charm_dir.join(STATE_FILE);
        if let Ok(meta) = fs::symlink_metadata(&path) {
            if !meta.file_type().is_file() {
                // A directory, a FIFO, a symlink…: it can be neither read as state nor replaced
                // by the save's rename, so every hook would fail for good. Out of the way.
                let aside = move_aside(&path);
                log::error!(
                    "stored state {} is not a regular file ({:?}); {}carrying on with empty state",
                    path.display(),
                    meta.file_type(),
                    aside
                        .map(|a| format!("moved it to {}; ", a.display()))
                        .unwrap_or_default()
                );
                return (StoredState::default(), FORMAT_VERSION);
            }
        }
        let state = match fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StoredState::default(),
            Err(e) => {
                log::error!(
                    "cannot read stored state {}: {e}; carrying on with empty state",
                    path.display()
                );
                StoredState::default()
            }
            Ok(bytes) => match Self::parse(&bytes) {
                Ok(s) => return s,
                Err(e) => {
                    let aside = move_aside(&path);
                    log::error!(
                        "stored state {} is corrupt ({e}); {}carrying on with empty state",
                        path.display(),
                        aside
                            .map(|a| format!("moved it to {}; ", a.display()))
                            .unwrap_or_default()
                    );
                    StoredState::default()
                }
            },
        };
        (state, FORMAT_VERSION)
    }

    /// Parses a state document of any version this charmkit reads (see the module docs); with
    /// the version it was in.
    fn parse(bytes: &[u8]) -> std::result::Result<(Self, u64), String> {
        use serde_json::Value;
        let mut doc: serde_json::Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let version = match doc.get("version") {
            None => 1,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| format!("`version` is not a number: {v}"))?,
        };
        if version > FORMAT_VERSION {
            return Err(format!(
                "format version {version} is newer than this charmkit reads ({FORMAT_VERSION})"
            ));
        }
        // Taken out of the document, not cloned: every dispatch reads the state.
        let stored = match doc.remove("stored") {
            None => BTreeMap::new(),
            Some(v) => serde_json::from_value(v).map_err(|e| format!("`stored`: {e}"))?,
        };
        let entries = match doc.remove("deferred") {
            None => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(other) => return Err(format!("`deferred` is not a list: {other}")),
        };
        let mut deferred: Vec<Deferred> = Vec::with_capacity(entries.len());
        let (mut unreadable, mut duplicates) = (0usize, 0usize);
        for entry in entries {
            let read = if version == 1 {
                serde_json::from_value::<DeferredV1>(entry).map(|d| {
                    let (owner, handler) = d.handler.split_once('.').unwrap_or(("", &d.handler));
                    Deferred {
                        event: d.event,
                        owner: owner.to_string(),
                        handler: handler.to_string(),
                        on: None,
                    }
                })
            } else {
                serde_json::from_value::<Deferred>(entry)
            };
            match read {
                Ok(d) if !d.event.is_consistent() => unreadable += 1,
                Ok(d) if version == 1 && deferred.contains(&d) => duplicates += 1,
                Ok(d) => deferred.push(d),
                Err(_) => unreadable += 1,
            }
        }
        if version == 1 && (!deferred.is_empty() || unreadable > 0) {
            log::warn!(
                "stored state is in format 1 (charmkit before deferred events named their \
                 observation): read {} deferred event(s), dropped {duplicates} duplicate(s) and \
                 {unreadable} unreadable one(s)",
                deferred.len()
            );
        } else if unreadable > 0 {
            log::warn!("stored state: dropped {unreadable} unreadable deferred event(s)");
        }
        Ok((StoredState { stored, deferred }, version))
    }

    /// Writes the state under `charm_dir`, atomically (temp file, fsync, rename), mode 0600.
    pub fn save(&self, charm_dir: &Path) -> Result<()> {
        let path = charm_dir.join(STATE_FILE);
        let err = |message: String| Error::State {
            path: path.clone(),
            message,
        };
        let doc = Versioned {
            version: FORMAT_VERSION,
            state: self,
        };
        let data = serde_json::to_vec(&doc).map_err(|e| err(format!("cannot encode: {e}")))?;
        crate::fs::write_atomic(&path, &data).map_err(|e| err(e.to_string()))
    }

    /// The stored value `key` of `owner`, decoded as `T`: `None` if absent; an
    /// [`Error::StoredValue`] naming the owner, the key (and the field) if it does not decode.
    pub fn get<T: serde::de::DeserializeOwned>(&self, owner: &str, key: &str) -> Result<Option<T>> {
        let Some(v) = self.stored.get(owner).and_then(|o| o.get(key)) else {
            return Ok(None);
        };
        crate::error::decode(v.clone())
            .map(Some)
            .map_err(|(path, e)| Error::StoredValue {
                owner: owner.to_string(),
                key: key.to_string(),
                message: if path.is_empty() {
                    e.to_string()
                } else {
                    format!("field {path}: {e}")
                },
            })
    }

    /// Stores `value` under `owner`/`key`.
    pub fn set<T: Serialize>(&mut self, owner: &str, key: &str, value: &T) -> Result<()> {
        let v = serde_json::to_value(value).map_err(|e| Error::StoredValue {
            owner: owner.to_string(),
            key: key.to_string(),
            message: format!("cannot be encoded: {e}"),
        })?;
        self.stored
            .entry(owner.to_string())
            .or_default()
            .insert(key.to_string(), v);
        Ok(())
    }

    /// Removes `owner`'s value `key`; whether there was one.
    pub fn remove(&mut self, owner: &str, key: &str) -> bool {
        let Some(values) = self.stored.get_mut(owner) else {
            return false;
        };
        let removed = values.remove(key).is_some();
        if values.is_empty() {
            self.stored.remove(owner);
        }
        removed
    }

    /// A version-1 document kept the charm's values and deferred events under the charm's type
    /// name; from version 2 they are under a stable owner (`charm`), so renaming the struct
    /// loses nothing. Moves them, if this document was read in `version` 1.
    pub(crate) fn adopt_legacy_owner(&mut self, version: u64, type_name: &str, owner: &str) {
        if version != 1 || type_name == owner {
            return;
        }
        if let Some(values) = self.stored.remove(type_name) {
            let mine = self.stored.entry(owner.to_string()).or_default();
            for (k, v) in values {
                mine.entry(k).or_insert(v);
            }
        }
        for d in &mut self.deferred {
            if d.owner == type_name {
                d.owner = owner.to_string();
            }
        }
    }
}

/// Renames `path` to `<path>.corrupt` (or, if that name is taken, `<path>.corrupt-<nanos>`);
/// returns where it went.
fn move_aside(path: &Path) -> Option<std::path::PathBuf> {
    let first = path.with_extension("json.corrupt");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let second = path.with_extension(format!("json.corrupt-{nanos}"));
    [first, second]
        .into_iter()
        .find(|aside| fs::symlink_metadata(aside).is_err() && fs::rename(path, aside).is_ok())
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
            owner: "RustStarter".into(),
            handler: "reconcile".into(),
            on: Some("start".into()),
        });
        s.save(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = StoredState::load(dir.path());
        assert_eq!(back, s);
        assert_eq!(back.get::<u32>("RustStarter", "installs").unwrap(), Some(3));
        let err = back.get::<String>("RustStarter", "installs").unwrap_err();
        assert_eq!(
            err.to_string(),
            "stored value \"installs\" of RustStarter: invalid type: integer `3`, expected a string"
        );
        assert_eq!(back.get::<u32>("Other", "installs").unwrap(), None);
        let mut back = back;
        assert!(back.remove("RustStarter", "installs"));
        assert!(!back.remove("RustStarter", "installs"));
        assert!(back.stored.is_empty());
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
    fn written_with_a_version() {
        let dir = tempfile::tempdir().unwrap();
        StoredState::default().save(dir.path()).unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join(STATE_FILE)).unwrap()).unwrap();
        assert_eq!(doc["version"], FORMAT_VERSION);
    }

    #[test]
    fn version_1_is_read_with_its_duplicates_dropped() {
        let dir = tempfile::tempdir().unwrap();
        // What charmkit wrote before the format was versioned, after its deferral bug had
        // multiplied one deferred start into four.
        let entry =
            r#"{"event": {"kind": "Start", "name": "start"}, "handler": "RustStarter.reconcile"}"#;
        let other = r#"{"event": {"kind": "ConfigChanged", "name": "config_changed"}, "handler": "RustStarter.reconcile"}"#;
        let doc = format!(
            r#"{{"stored": {{"RustStarter": {{"n": 3}}}}, "deferred": [{entry}, {entry}, {other}, {entry}, {entry}]}}"#
        );
        fs::write(dir.path().join(STATE_FILE), doc).unwrap();
        let s = StoredState::load(dir.path());
        assert_eq!(s.get::<u32>("RustStarter", "n").unwrap(), Some(3));
        let got: Vec<(&str, &str, &str, Option<&str>)> = s
            .deferred
            .iter()
            .map(|d| {
                (
                    d.event.name.as_str(),
                    d.owner.as_str(),
                    d.handler.as_str(),
                    d.on.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("start", "RustStarter", "reconcile", None),
                ("config_changed", "RustStarter", "reconcile", None)
            ]
        );
    }

    #[test]
    fn a_newer_version_is_moved_aside_and_an_unreadable_entry_dropped() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(STATE_FILE),
            r#"{"version": 99, "stored": {"A": {"k": 1}}}"#,
        )
        .unwrap();
        assert_eq!(StoredState::load(dir.path()), StoredState::default());
        assert!(dir.path().join(".charmkit-state.json.corrupt").exists());

        let good = r#"{"event": {"kind": "Start", "name": "start"}, "owner": "C", "handler": "h", "on": "start"}"#;
        let bad = r#"{"event": {"kind": "Frobnicate", "name": "x"}, "owner": "C", "handler": "h"}"#;
        // A relation event without its relation: not an event this charmkit can re-emit.
        let inconsistent = r#"{"event": {"kind": "RelationChanged", "name": "db_relation_changed"}, "owner": "C", "handler": "h"}"#;
        fs::write(
            dir.path().join(STATE_FILE),
            format!(
                r#"{{"version": 2, "stored": {{"A": {{"k": 1}}}}, "deferred": [{bad}, {inconsistent}, {good}]}}"#
            ),
        )
        .unwrap();
        let s = StoredState::load(dir.path());
        assert_eq!(s.get::<u32>("A", "k").unwrap(), Some(1));
        assert_eq!(s.deferred.len(), 1);
        assert_eq!(s.deferred[0].observer(), "C.h");
    }

    #[test]
    fn save_into_missing_dir_is_an_error_naming_the_file() {
        let err = StoredState::default()
            .save(Path::new("/nonexistent/charm"))
            .unwrap_err();
        assert!(err.to_string().contains(".charmkit-state.json"), "{err}");
    }

    #[test]
    fn a_directory_or_special_file_in_its_place_is_moved_aside_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        // A directory (with something in it), then a FIFO: neither can be read or replaced by a
        // rename, so without this every hook would fail for good.
        fs::create_dir(&path).unwrap();
        fs::write(path.join("x"), "y").unwrap();
        let mut s = StoredState::load(dir.path());
        assert_eq!(s, StoredState::default());
        s.set("C", "k", &1u8).unwrap();
        s.save(dir.path()).unwrap();
        assert_eq!(StoredState::load(dir.path()), s);
        assert!(dir.path().join(".charmkit-state.json.corrupt/x").exists());

        fs::remove_file(&path).unwrap();
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // The first aside name is taken (by the directory): another one is used.
        let s = StoredState::load(dir.path());
        assert_eq!(s, StoredState::default());
        s.save(dir.path()).unwrap();
        assert!(fs::metadata(&path).unwrap().is_file());
        let asides = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".corrupt")
            })
            .count();
        assert_eq!(asides, 2);
    }
}
