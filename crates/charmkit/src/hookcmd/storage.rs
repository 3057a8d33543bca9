//! Storage: `storage-list`, `storage-get`, `storage-add`.

use serde_json::Value;
use std::collections::BTreeMap;

use super::{Hook, ToolCall};
use crate::error::{Error, Result};

impl Hook<'_> {
    /// The ids (`data/0`) of the storage instances attached to this unit, all or those of
    /// storage `name`.
    ///
    /// Runs `storage-list --format=json [NAME]`.
    pub fn storage_list(&self, name: Option<&str>) -> Result<Vec<String>> {
        let mut args = vec!["--format=json"];
        args.extend(name);
        let call = ToolCall::new("storage-list", args);
        Ok(self
            .exec_json_opt(&call, "a list of storage ids")?
            .unwrap_or_default())
    }

    /// The attributes (`kind`, `location`) of storage instance `id`, or of the hook's storage
    /// instance when `None`.
    ///
    /// Runs `storage-get --format=json [-s ID]`.
    pub fn storage_get(&self, id: Option<&str>) -> Result<BTreeMap<String, Value>> {
        let mut args = vec!["--format=json"];
        if let Some(id) = id {
            args.extend(["-s", id]);
        }
        let call = ToolCall::new("storage-get", args);
        Ok(self.exec_json_opt(&call, "an object")?.unwrap_or_default())
    }

    /// Asks Juju for `count` more instances of storage `name` (declared in the charm's
    /// metadata). Juju records the request and acts on it when the hook succeeds; an unknown
    /// name fails the hook then. A zero count gives [`Error::Usage`] without a call.
    ///
    /// Runs `storage-add NAME=COUNT`.
    pub fn storage_add(&self, name: &str, count: u32) -> Result<()> {
        if count == 0 || name.is_empty() || name.contains('=') || name.starts_with('-') {
            return Err(Error::Usage(format!(
                "storage-add: cannot add {count} instances of storage {name:?}"
            )));
        }
        self.exec(&ToolCall::new("storage-add", [format!("{name}={count}")]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use serde_json::json;

    #[test]
    fn storage_list() {
        let (r, a) = run_with(r#"["data/0"]"#, |h| h.storage_list(Some("data")));
        assert_eq!(a, argv(&["storage-list", "--format=json", "data"]));
        assert_eq!(r.unwrap(), vec!["data/0"]);
        let (_, a) = run_with("[]", |h| h.storage_list(None));
        assert_eq!(a, argv(&["storage-list", "--format=json"]));
        assert_exit_error("storage-list", |h| h.storage_list(None));
        assert_bad_output("storage-list", "{}", |h| h.storage_list(None));
    }

    #[test]
    fn storage_get() {
        let (r, a) = run_with(r#"{"kind":"filesystem","location":"/srv"}"#, |h| {
            h.storage_get(Some("data/0"))
        });
        assert_eq!(a, argv(&["storage-get", "--format=json", "-s", "data/0"]));
        assert_eq!(r.unwrap()["location"], json!("/srv"));
        let (_, a) = run_with("{}", |h| h.storage_get(None));
        assert_eq!(a, argv(&["storage-get", "--format=json"]));
        assert_exit_error("storage-get", |h| h.storage_get(None));
        assert_bad_output("storage-get", "\"x\"", |h| h.storage_get(None));
    }

    #[test]
    fn storage_add() {
        let (r, a) = run_with("", |h| h.storage_add("data", 2));
        r.unwrap();
        assert_eq!(a, argv(&["storage-add", "data=2"]));
        let m = Mock::default();
        for (name, n) in [("data", 0), ("", 1), ("a=b", 1)] {
            assert!(matches!(
                Hook::new(&m).storage_add(name, n),
                Err(crate::Error::Usage(_))
            ));
        }
        assert!(m.calls().is_empty());
        assert_exit_error("storage-add", |h| h.storage_add("data", 1));
    }
}
