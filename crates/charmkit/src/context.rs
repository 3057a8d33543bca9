//! The typed Juju context: every `JUJU_*` variable a hook is given, parsed once.
//!
//! [`JujuContext::from_env`] reads the real environment; [`JujuContext::from_lookup`] takes any
//! lookup function, which is how the test harness and the tests build one. A missing required
//! variable, or a malformed one, is an [`Error::Env`] naming the variable.

use std::path::PathBuf;

use crate::error::{Error, Result};
pub use crate::types::app_of;
use crate::types::{RelationId, StorageKind};

/// A storage reference from `JUJU_STORAGE_ID`: `data/0` → name + 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageRef {
    /// The storage name, e.g. `data`.
    pub name: String,
    /// The index.
    pub index: u32,
}

/// Everything Juju tells a dispatch through the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JujuContext {
    /// `JUJU_DISPATCH_PATH`, e.g. `hooks/install` or `actions/backup`.
    pub dispatch_path: String,
    /// `JUJU_HOOK_NAME`, when set.
    pub hook_name: Option<String>,
    /// `JUJU_MODEL_NAME`.
    pub model_name: String,
    /// `JUJU_MODEL_UUID`.
    pub model_uuid: String,
    /// `JUJU_UNIT_NAME`, e.g. `rust-starter/0`.
    pub unit_name: String,
    /// `JUJU_VERSION`, e.g. `3.6.1`.
    pub version: Option<String>,
    /// `JUJU_CHARM_DIR`.
    pub charm_dir: PathBuf,
    /// `JUJU_DEBUG` is set (to anything non-empty).
    pub debug: bool,
    /// `JUJU_DEBUG_AT`: comma-separated breakpoint names.
    pub debug_at: Vec<String>,
    /// `JUJU_AVAILABILITY_ZONE`.
    pub availability_zone: Option<String>,
    /// `JUJU_MACHINE_ID`.
    pub machine_id: Option<String>,
    /// `JUJU_PRINCIPAL_UNIT` (subordinates).
    pub principal_unit: Option<String>,
    /// `JUJU_ACTION_NAME`.
    pub action_name: Option<String>,
    /// `JUJU_ACTION_UUID`.
    pub action_uuid: Option<String>,
    /// `JUJU_RELATION`: the endpoint of a relation hook.
    pub relation: Option<String>,
    /// `JUJU_RELATION_ID`, parsed.
    pub relation_id: Option<RelationId>,
    /// `JUJU_REMOTE_APP`.
    pub remote_app: Option<String>,
    /// `JUJU_REMOTE_UNIT`.
    pub remote_unit: Option<String>,
    /// `JUJU_DEPARTING_UNIT`.
    pub departing_unit: Option<String>,
    /// `JUJU_SECRET_ID`.
    pub secret_id: Option<String>,
    /// `JUJU_SECRET_LABEL`.
    pub secret_label: Option<String>,
    /// `JUJU_SECRET_REVISION`, parsed.
    pub secret_revision: Option<u64>,
    /// `JUJU_STORAGE_ID`, parsed.
    pub storage_id: Option<StorageRef>,
    /// `JUJU_STORAGE_LOCATION`: where the hook's storage is (mount point or device path).
    pub storage_location: Option<PathBuf>,
    /// `JUJU_STORAGE_KIND`, parsed: `block` or `filesystem`.
    pub storage_kind: Option<StorageKind>,
    /// `JUJU_WORKLOAD_NAME`: the container of a Pebble event.
    pub workload_name: Option<String>,
    /// `JUJU_NOTICE_ID`.
    pub notice_id: Option<String>,
    /// `JUJU_NOTICE_TYPE`.
    pub notice_type: Option<String>,
    /// `JUJU_NOTICE_KEY`.
    pub notice_key: Option<String>,
    /// `JUJU_PEBBLE_CHECK_NAME`.
    pub pebble_check_name: Option<String>,
}

impl JujuContext {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Builds a context from any variable lookup (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let required = |k: &str| {
            get(k).ok_or_else(|| Error::Env {
                var: k.to_string(),
                reason: "not set; is this running under Juju?".into(),
            })
        };
        let dispatch_path = required("JUJU_DISPATCH_PATH")?;
        let unit_name = required("JUJU_UNIT_NAME")?;
        match unit_name.rsplit_once('/') {
            Some((app, n)) if !app.is_empty() && n.parse::<u32>().is_ok() => {}
            _ => {
                return Err(Error::Env {
                    var: "JUJU_UNIT_NAME".into(),
                    reason: format!("expected `<application>/<number>`, got {unit_name:?}"),
                })
            }
        }
        let relation_id = match get("JUJU_RELATION_ID") {
            None => None,
            // Juju writes `endpoint:id`; a bare id takes the endpoint from JUJU_RELATION.
            Some(v) => Some(
                v.parse::<RelationId>()
                    .ok()
                    .or_else(|| Some(RelationId::new(get("JUJU_RELATION")?, v.parse().ok()?)))
                    .ok_or_else(|| Error::Env {
                        var: "JUJU_RELATION_ID".into(),
                        reason: format!("expected `<endpoint>:<id>`, got {v:?}"),
                    })?,
            ),
        };
        let storage_id = match get("JUJU_STORAGE_ID") {
            None => None,
            Some(v) => Some(
                v.rsplit_once('/')
                    .and_then(|(name, i)| {
                        Some(StorageRef {
                            name: name.to_string(),
                            index: i.parse().ok()?,
                        })
                    })
                    .filter(|s| !s.name.is_empty())
                    .ok_or_else(|| Error::Env {
                        var: "JUJU_STORAGE_ID".into(),
                        reason: format!("expected `<name>/<index>`, got {v:?}"),
                    })?,
            ),
        };
        let storage_kind = match get("JUJU_STORAGE_KIND") {
            None => None,
            Some(v) => Some(v.parse().map_err(|_| Error::Env {
                var: "JUJU_STORAGE_KIND".into(),
                reason: format!("expected `block` or `filesystem`, got {v:?}"),
            })?),
        };
        let secret_revision = match get("JUJU_SECRET_REVISION") {
            None => None,
            Some(v) => Some(v.parse().map_err(|_| Error::Env {
                var: "JUJU_SECRET_REVISION".into(),
                reason: format!("expected a revision number, got {v:?}"),
            })?),
        };
        let charm_dir = match get("JUJU_CHARM_DIR") {
            Some(d) => PathBuf::from(d),
            None => std::env::current_dir().map_err(|e| Error::Env {
                var: "JUJU_CHARM_DIR".into(),
                reason: format!("not set, and the current directory is unreadable: {e}"),
            })?,
        };
        Ok(JujuContext {
            dispatch_path,
            hook_name: get("JUJU_HOOK_NAME"),
            model_name: get("JUJU_MODEL_NAME").unwrap_or_default(),
            model_uuid: get("JUJU_MODEL_UUID").unwrap_or_default(),
            unit_name,
            version: get("JUJU_VERSION"),
            charm_dir,
            debug: get("JUJU_DEBUG").is_some(),
            debug_at: get("JUJU_DEBUG_AT")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            availability_zone: get("JUJU_AVAILABILITY_ZONE"),
            machine_id: get("JUJU_MACHINE_ID"),
            principal_unit: get("JUJU_PRINCIPAL_UNIT"),
            action_name: get("JUJU_ACTION_NAME"),
            action_uuid: get("JUJU_ACTION_UUID"),
            relation: get("JUJU_RELATION"),
            relation_id,
            remote_app: get("JUJU_REMOTE_APP"),
            remote_unit: get("JUJU_REMOTE_UNIT"),
            departing_unit: get("JUJU_DEPARTING_UNIT"),
            secret_id: get("JUJU_SECRET_ID"),
            secret_label: get("JUJU_SECRET_LABEL"),
            secret_revision,
            storage_id,
            storage_location: get("JUJU_STORAGE_LOCATION").map(PathBuf::from),
            storage_kind,
            workload_name: get("JUJU_WORKLOAD_NAME"),
            notice_id: get("JUJU_NOTICE_ID"),
            notice_type: get("JUJU_NOTICE_TYPE"),
            notice_key: get("JUJU_NOTICE_KEY"),
            pebble_check_name: get("JUJU_PEBBLE_CHECK_NAME"),
        })
    }

    /// The application name: the unit name before the `/`.
    pub fn app_name(&self) -> &str {
        app_of(&self.unit_name).unwrap_or(&self.unit_name)
    }

    /// The unit number: the unit name after the `/`.
    pub fn unit_number(&self) -> u32 {
        self.unit_name
            .rsplit_once('/')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(0)
    }

    /// The variables this context stands for, as `(name, value)` pairs (unset ones omitted):
    /// what the simulator and the integration tests hand to a dispatch.
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = vec![
            ("JUJU_DISPATCH_PATH", self.dispatch_path.clone()),
            ("JUJU_UNIT_NAME", self.unit_name.clone()),
            ("JUJU_MODEL_NAME", self.model_name.clone()),
            ("JUJU_MODEL_UUID", self.model_uuid.clone()),
            ("JUJU_CHARM_DIR", self.charm_dir.display().to_string()),
        ];
        let opt = [
            ("JUJU_HOOK_NAME", &self.hook_name),
            ("JUJU_VERSION", &self.version),
            ("JUJU_ACTION_NAME", &self.action_name),
            ("JUJU_ACTION_UUID", &self.action_uuid),
            ("JUJU_RELATION", &self.relation),
            ("JUJU_REMOTE_APP", &self.remote_app),
            ("JUJU_REMOTE_UNIT", &self.remote_unit),
            ("JUJU_DEPARTING_UNIT", &self.departing_unit),
            ("JUJU_SECRET_ID", &self.secret_id),
            ("JUJU_SECRET_LABEL", &self.secret_label),
            ("JUJU_WORKLOAD_NAME", &self.workload_name),
            ("JUJU_NOTICE_ID", &self.notice_id),
            ("JUJU_NOTICE_TYPE", &self.notice_type),
            ("JUJU_NOTICE_KEY", &self.notice_key),
            ("JUJU_PEBBLE_CHECK_NAME", &self.pebble_check_name),
            ("JUJU_AVAILABILITY_ZONE", &self.availability_zone),
            ("JUJU_MACHINE_ID", &self.machine_id),
            ("JUJU_PRINCIPAL_UNIT", &self.principal_unit),
        ];
        v.extend(
            opt.into_iter()
                .filter_map(|(k, val)| val.as_ref().map(|x| (k, x.clone()))),
        );
        if let Some(r) = &self.relation_id {
            v.push(("JUJU_RELATION_ID", r.to_string()));
        }
        if let Some(s) = &self.storage_id {
            v.push(("JUJU_STORAGE_ID", format!("{}/{}", s.name, s.index)));
        }
        if let Some(l) = &self.storage_location {
            v.push(("JUJU_STORAGE_LOCATION", l.display().to_string()));
        }
        if let Some(k) = self.storage_kind {
            v.push(("JUJU_STORAGE_KIND", k.to_string()));
        }
        if let Some(r) = self.secret_revision {
            v.push(("JUJU_SECRET_REVISION", r.to_string()));
        }
        if self.debug {
            v.push(("JUJU_DEBUG", "1".into()));
        }
        if !self.debug_at.is_empty() {
            v.push(("JUJU_DEBUG_AT", self.debug_at.join(",")));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    fn ctx(vars: &[(&str, &str)]) -> Result<JujuContext> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        JujuContext::from_lookup(|k| m.get(k).cloned())
    }

    const BASE: [(&str, &str); 5] = [
        ("JUJU_DISPATCH_PATH", "hooks/charm-tracing-relation-changed"),
        ("JUJU_UNIT_NAME", "rust-starter/3"),
        ("JUJU_MODEL_NAME", "dev"),
        ("JUJU_MODEL_UUID", "7f1b"),
        (
            "JUJU_CHARM_DIR",
            "/var/lib/juju/agents/unit-rust-starter-3/charm",
        ),
    ];

    #[test]
    fn parses_every_variable() {
        let mut v = BASE.to_vec();
        v.extend([
            ("JUJU_RELATION", "charm-tracing"),
            ("JUJU_RELATION_ID", "charm-tracing:5"),
            ("JUJU_REMOTE_APP", "tempo"),
            ("JUJU_REMOTE_UNIT", "tempo/1"),
            ("JUJU_DEPARTING_UNIT", "tempo/2"),
            ("JUJU_STORAGE_ID", "data/0"),
            ("JUJU_STORAGE_LOCATION", "/srv/data"),
            ("JUJU_STORAGE_KIND", "filesystem"),
            ("JUJU_SECRET_ID", "secret:abc"),
            ("JUJU_SECRET_LABEL", "db-pass"),
            ("JUJU_SECRET_REVISION", "7"),
            ("JUJU_DEBUG", "1"),
            ("JUJU_DEBUG_AT", "all, hook"),
            ("JUJU_VERSION", "3.6.1"),
            ("JUJU_ACTION_NAME", "backup"),
            ("JUJU_ACTION_UUID", "42"),
            ("JUJU_WORKLOAD_NAME", "web"),
            ("JUJU_NOTICE_ID", "1"),
            ("JUJU_NOTICE_TYPE", "custom"),
            ("JUJU_NOTICE_KEY", "example.com/a"),
            ("JUJU_PEBBLE_CHECK_NAME", "ready"),
            ("JUJU_AVAILABILITY_ZONE", "zone-a"),
            ("JUJU_MACHINE_ID", "0"),
            ("JUJU_PRINCIPAL_UNIT", "ubuntu/0"),
            ("JUJU_HOOK_NAME", "charm-tracing-relation-changed"),
        ]);
        let c = ctx(&v).unwrap();
        assert_eq!(c.relation_id, Some(RelationId::new("charm-tracing", 5)));
        assert_eq!(
            c.storage_id,
            Some(StorageRef {
                name: "data".into(),
                index: 0
            })
        );
        assert_eq!(c.storage_location.as_deref(), Some(Path::new("/srv/data")));
        assert_eq!(c.storage_kind, Some(StorageKind::Filesystem));
        assert_eq!(c.secret_revision, Some(7));
        assert!(c.debug);
        assert_eq!(c.debug_at, vec!["all", "hook"]);
        assert_eq!(c.app_name(), "rust-starter");
        assert_eq!(c.unit_number(), 3);
        assert_eq!(c.pebble_check_name.as_deref(), Some("ready"));
        // to_env round-trips.
        let env = c.to_env();
        let m: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        assert_eq!(JujuContext::from_lookup(|k| m.get(k).cloned()).unwrap(), c);
    }

    fn env_err(vars: &[(&str, &str)]) -> String {
        match ctx(vars) {
            Err(Error::Env { var, .. }) => var,
            other => panic!("expected an Env error, got {other:?}"),
        }
    }

    #[test]
    fn missing_or_malformed_variables_name_the_variable() {
        assert_eq!(env_err(&BASE[1..]), "JUJU_DISPATCH_PATH");
        assert_eq!(env_err(&[BASE[0]]), "JUJU_UNIT_NAME");
        let with = |k, v| {
            let mut b = BASE.to_vec();
            b.push((k, v));
            env_err(&b)
        };
        assert_eq!(with("JUJU_RELATION_ID", "db:x"), "JUJU_RELATION_ID");
        assert_eq!(with("JUJU_RELATION_ID", "db:-1"), "JUJU_RELATION_ID");
        assert_eq!(with("JUJU_STORAGE_ID", "data"), "JUJU_STORAGE_ID");
        assert_eq!(with("JUJU_STORAGE_ID", "/3"), "JUJU_STORAGE_ID");
        assert_eq!(with("JUJU_STORAGE_KIND", "tape"), "JUJU_STORAGE_KIND");
        assert_eq!(
            with("JUJU_SECRET_REVISION", "seven"),
            "JUJU_SECRET_REVISION"
        );
        let mut b = BASE.to_vec();
        b[1] = ("JUJU_UNIT_NAME", "no-slash");
        assert_eq!(env_err(&b), "JUJU_UNIT_NAME");
    }

    #[test]
    fn bare_relation_id_and_empty_values() {
        let mut b = BASE.to_vec();
        b.push(("JUJU_RELATION_ID", "12"));
        b.push(("JUJU_RELATION", "db"));
        b.push(("JUJU_REMOTE_APP", ""));
        let c = ctx(&b).unwrap();
        assert_eq!(c.relation_id.unwrap().id, 12);
        assert_eq!(c.remote_app, None);
    }
}
