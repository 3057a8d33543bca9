//! Resources: `resource-get`.

use std::path::PathBuf;

use super::common::bad_output;
use super::{Hook, ToolCall};
use crate::error::{Error, Result};

impl Hook<'_> {
    /// The local path of resource `name`, downloaded from the controller (or Charmhub) first if
    /// the unit's copy is missing or stale. [`Error::ResourceNotFound`] if the charm declares no
    /// such resource or none was uploaded.
    ///
    /// Runs `resource-get NAME`, which prints the path with no newline (it has no
    /// `--format`); Juju refuses a missing resource with `ERROR could not download resource:
    /// …not found` (exit 1).
    pub fn resource_get(&self, name: &str) -> Result<PathBuf> {
        if name.is_empty() || name.starts_with('-') {
            return Err(Error::Usage(format!(
                "resource-get: {name:?} is not a resource name"
            )));
        }
        let call = ToolCall::new("resource-get", [name]);
        let path = self.exec_text(&call).map_err(|e| match &e {
            Error::HookTool { stderr, .. }
                if stderr.contains("could not download resource")
                    && stderr.ends_with("not found") =>
            {
                Error::ResourceNotFound {
                    resource: name.to_string(),
                    source: Box::new(e),
                }
            }
            _ => e,
        })?;
        if path.is_empty() || path.contains('\n') {
            return Err(bad_output(&call, "expected a file path"));
        }
        Ok(PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use super::*;

    #[test]
    fn resource_get() {
        let path = "/var/lib/juju/agents/unit-a-0/resources/software/software.zip";
        let (r, a) = run_with(path, |h| h.resource_get("software"));
        assert_eq!(a, argv(&["resource-get", "software"]));
        assert_eq!(r.unwrap(), PathBuf::from(path));
        let m = Mock::failing(
            1,
            "ERROR could not download resource: resource#a/software not found",
        );
        match Hook::new(&m).resource_get("software") {
            Err(Error::ResourceNotFound { resource, source }) => {
                assert_eq!(resource, "software");
                assert!(matches!(*source, Error::HookTool { .. }));
            }
            other => panic!("{other:?}"),
        }
        assert_exit_error("resource-get", |h| h.resource_get("x"));
        assert_bad_output("resource-get", "", |h| h.resource_get("x"));
        let m = Mock::default();
        assert!(matches!(
            Hook::new(&m).resource_get("--help"),
            Err(Error::Usage(_))
        ));
        assert!(m.calls().is_empty());
    }
}
