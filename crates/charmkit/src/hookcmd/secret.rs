//! Secrets: `secret-add`, `secret-get`, `secret-set`, `secret-remove`, `secret-info-get`,
//! `secret-grant`, `secret-revoke`, `secret-ids`.
//!
//! Secret content is passed as `KEY=VALUE` arguments, as Juju documents; every value is marked
//! [`Redact::values`] so spans, logs and errors show `KEY=<redacted>`. `secret-get` output is
//! marked [`Redact::output`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::common::{bad_output, check_key};
use super::relation::RelationId;
use super::{Hook, Redact, ToolCall};
use crate::error::{Error, Result};

/// Who owns a new secret (`--owner`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SecretOwner {
    /// The application (Juju's default): only the leader can manage it.
    #[default]
    Application,
    /// This unit.
    Unit,
}

impl SecretOwner {
    /// `application` or `unit`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretOwner::Application => "application",
            SecretOwner::Unit => "unit",
        }
    }
}

/// Metadata flags of `secret-add` and `secret-set`; `None` fields are not passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretOptions {
    /// `--label`: a name to find the secret by in hooks.
    pub label: Option<String>,
    /// `--description`.
    pub description: Option<String>,
    /// `--expire`: a duration (`24h`) or a time (`2025-01-01T06:06:06`).
    pub expire: Option<String>,
    /// `--rotate`: `never`, `hourly`, `daily`, `weekly`, `monthly`, `quarterly`, `yearly`.
    pub rotate: Option<String>,
    /// `--owner`.
    pub owner: Option<SecretOwner>,
}

impl SecretOptions {
    /// No options.
    pub fn new() -> Self {
        SecretOptions::default()
    }

    /// Sets `--label`.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets `--description`.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets `--expire`.
    pub fn with_expire(mut self, expire: impl Into<String>) -> Self {
        self.expire = Some(expire.into());
        self
    }

    /// Sets `--rotate`.
    pub fn with_rotate(mut self, rotate: impl Into<String>) -> Self {
        self.rotate = Some(rotate.into());
        self
    }

    /// Sets `--owner`.
    pub fn with_owner(mut self, owner: SecretOwner) -> Self {
        self.owner = Some(owner);
        self
    }

    fn push_flags(&self, args: &mut Vec<String>) {
        let flags = [
            ("--label", self.label.as_deref()),
            ("--description", self.description.as_deref()),
            ("--expire", self.expire.as_deref()),
            ("--rotate", self.rotate.as_deref()),
            ("--owner", self.owner.map(SecretOwner::as_str)),
        ];
        for (flag, value) in flags {
            if let Some(v) = value {
                args.extend([flag.to_string(), v.to_string()]);
            }
        }
    }
}

/// Which revision `secret-get` returns to an observer of someone else's secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SecretRefresh {
    /// The revision this unit tracks.
    #[default]
    Tracked,
    /// The latest revision, and track it from now on (`--refresh`).
    Refresh,
    /// The latest revision, without tracking it (`--peek`).
    Peek,
}

/// Appends `KEY=VALUE` arguments for `content`, redacting the values; fails on a bad key.
fn push_content(
    tool: &str,
    args: &mut Vec<String>,
    redact: &mut Redact,
    content: &BTreeMap<String, String>,
) -> Result<()> {
    for (k, v) in content {
        check_key(tool, k)?;
        redact.values.push(args.len());
        args.push(format!("{k}={v}"));
    }
    Ok(())
}

fn id_or_label(tool: &str, id: Option<&str>, label: Option<&str>) -> Result<Vec<String>> {
    if id.is_none() && label.is_none() {
        return Err(Error::Usage(format!(
            "{tool}: needs a secret id or a label"
        )));
    }
    let mut args = Vec::new();
    args.extend(id.map(str::to_string));
    if let Some(l) = label {
        args.extend(["--label".to_string(), l.to_string()]);
    }
    Ok(args)
}

impl Hook<'_> {
    /// Creates a secret with `content` and returns its id (`secret:…`).
    ///
    /// Runs `secret-add [--label L] [--description D] [--expire E] [--rotate R] [--owner O]
    /// KEY=VALUE…` with the values redacted; Juju prints the new id.
    pub fn secret_add(
        &self,
        content: &BTreeMap<String, String>,
        opts: &SecretOptions,
    ) -> Result<String> {
        if content.is_empty() {
            return Err(Error::Usage("secret-add: a secret needs content".into()));
        }
        let mut args = Vec::new();
        opts.push_flags(&mut args);
        let mut redact = Redact::default();
        push_content("secret-add", &mut args, &mut redact, content)?;
        let call = ToolCall::new("secret-add", args).with_redact(redact);
        let id = self.exec_text(&call)?;
        if id.is_empty() || id.contains(char::is_whitespace) {
            return Err(bad_output(&call, "expected a secret id"));
        }
        Ok(id)
    }

    /// The content of a secret, found by `id` or `label` (both: Juju attaches the label to the
    /// id, for an observer).
    ///
    /// Runs `secret-get --format=json [ID] [--label L] [--refresh|--peek]`; the output is
    /// marked secret.
    pub fn secret_get(
        &self,
        id: Option<&str>,
        label: Option<&str>,
        refresh: SecretRefresh,
    ) -> Result<BTreeMap<String, String>> {
        let mut args = vec!["--format=json".to_string()];
        args.extend(id_or_label("secret-get", id, label)?);
        match refresh {
            SecretRefresh::Tracked => {}
            SecretRefresh::Refresh => args.push("--refresh".into()),
            SecretRefresh::Peek => args.push("--peek".into()),
        }
        let call = ToolCall::new("secret-get", args).with_redact(Redact {
            output: true,
            ..Redact::default()
        });
        Ok(self
            .exec_json_opt(&call, "an object of strings")?
            .unwrap_or_default())
    }

    /// Updates a secret this unit (or its application, as leader) owns: a new revision with
    /// `content` if it is not empty, and/or new metadata.
    ///
    /// Runs `secret-set ID [--label L] [--description D] [--expire E] [--rotate R] [--owner O]
    /// KEY=VALUE…` with the values redacted.
    pub fn secret_set(
        &self,
        id: &str,
        content: &BTreeMap<String, String>,
        opts: &SecretOptions,
    ) -> Result<()> {
        let mut args = vec![id.to_string()];
        opts.push_flags(&mut args);
        let mut redact = Redact::default();
        push_content("secret-set", &mut args, &mut redact, content)?;
        self.exec(&ToolCall::new("secret-set", args).with_redact(redact))
    }

    /// Removes a secret, or only one of its revisions.
    ///
    /// Runs `secret-remove ID [--revision N]`.
    pub fn secret_remove(&self, id: &str, revision: Option<u64>) -> Result<()> {
        let mut args = vec![id.to_string()];
        if let Some(r) = revision {
            args.extend(["--revision".to_string(), r.to_string()]);
        }
        self.exec(&ToolCall::new("secret-remove", args))
    }

    /// Metadata of an owned secret, found by `id` or `label`: Juju prints
    /// `{"<id>":{"revision":1,"label":..,"owner":..,"rotation":..}}`.
    ///
    /// Runs `secret-info-get --format=json [ID] [--label L]`.
    pub fn secret_info_get(&self, id: Option<&str>, label: Option<&str>) -> Result<Value> {
        let mut args = vec!["--format=json".to_string()];
        args.extend(id_or_label("secret-info-get", id, label)?);
        self.exec_json(&ToolCall::new("secret-info-get", args), "a JSON value")
    }

    /// Grants read access to a secret to the remote application of `relation`, or only to
    /// remote `unit`.
    ///
    /// Runs `secret-grant ID --relation N [--unit UNIT]` (N the bare relation number, as ops).
    pub fn secret_grant(&self, id: &str, relation: &RelationId, unit: Option<&str>) -> Result<()> {
        self.exec(&ToolCall::new(
            "secret-grant",
            grant_args(id, relation, unit),
        ))
    }

    /// Revokes what [`Hook::secret_grant`] granted.
    ///
    /// Runs `secret-revoke ID --relation N [--unit UNIT]`.
    pub fn secret_revoke(&self, id: &str, relation: &RelationId, unit: Option<&str>) -> Result<()> {
        self.exec(&ToolCall::new(
            "secret-revoke",
            grant_args(id, relation, unit),
        ))
    }

    /// The ids of the secrets this application owns.
    ///
    /// Runs `secret-ids --format=json`.
    pub fn secret_ids(&self) -> Result<Vec<String>> {
        let call = ToolCall::new("secret-ids", ["--format=json"]);
        Ok(self
            .exec_json_opt(&call, "a list of secret ids")?
            .unwrap_or_default())
    }
}

fn grant_args(id: &str, relation: &RelationId, unit: Option<&str>) -> Vec<String> {
    let mut args = vec![id.to_string(), "--relation".into(), relation.id.to_string()];
    if let Some(u) = unit {
        args.extend(["--unit".to_string(), u.to_string()]);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use super::*;

    fn content() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("password".to_string(), "s3cret".to_string()),
            ("user".to_string(), "admin".to_string()),
        ])
    }

    #[test]
    fn secret_add() {
        let m = Mock::out("secret:cj9sk5ufltq4c6e0a8ng\n");
        let opts = SecretOptions::new()
            .with_label("db")
            .with_description("db creds")
            .with_owner(SecretOwner::Unit);
        let id = Hook::new(&m).secret_add(&content(), &opts).unwrap();
        assert_eq!(id, "secret:cj9sk5ufltq4c6e0a8ng");
        let call = m.call();
        assert_eq!(
            call.args,
            argv(&[
                "--label",
                "db",
                "--description",
                "db creds",
                "--owner",
                "unit",
                "password=s3cret",
                "user=admin"
            ])
        );
        assert_eq!(call.redact.values, vec![6, 7]);
        assert!(!call.safe_args().join(" ").contains("s3cret"));
        let (r, a) = run_with("secret:x", |h| {
            h.secret_add(
                &content(),
                &SecretOptions::new().with_rotate("daily").with_expire("24h"),
            )
        });
        r.unwrap();
        assert_eq!(
            a,
            argv(&[
                "secret-add",
                "--expire",
                "24h",
                "--rotate",
                "daily",
                "password=s3cret",
                "user=admin"
            ])
        );
        assert_exit_error("secret-add", |h| {
            h.secret_add(&content(), &SecretOptions::new())
        });
        assert_bad_output("secret-add", "", |h| {
            h.secret_add(&content(), &SecretOptions::new())
        });
        let m = Mock::default();
        let h = Hook::new(&m);
        assert!(matches!(
            h.secret_add(&BTreeMap::new(), &SecretOptions::new()),
            Err(Error::Usage(_))
        ));
        let bad = BTreeMap::from([("-x".to_string(), "v".to_string())]);
        assert!(matches!(
            h.secret_add(&bad, &SecretOptions::new()),
            Err(Error::Usage(_))
        ));
        assert!(m.calls().is_empty());
    }

    #[test]
    fn secret_get() {
        let m = Mock::out(r#"{"password":"s3cret"}"#);
        let r = Hook::new(&m)
            .secret_get(Some("secret:1"), Some("db"), SecretRefresh::Refresh)
            .unwrap();
        assert_eq!(r["password"], "s3cret");
        let call = m.call();
        assert_eq!(
            call.args,
            argv(&["--format=json", "secret:1", "--label", "db", "--refresh"])
        );
        assert!(call.redact.output);
        let (_, a) = run_with("{}", |h| {
            h.secret_get(None, Some("db"), SecretRefresh::Peek)
        });
        assert_eq!(
            a,
            argv(&["secret-get", "--format=json", "--label", "db", "--peek"])
        );
        let (_, a) = run_with("{}", |h| {
            h.secret_get(Some("secret:1"), None, SecretRefresh::Tracked)
        });
        assert_eq!(a, argv(&["secret-get", "--format=json", "secret:1"]));
        let m = Mock::default();
        assert!(matches!(
            Hook::new(&m).secret_get(None, None, SecretRefresh::Tracked),
            Err(Error::Usage(_))
        ));
        assert_exit_error("secret-get", |h| {
            h.secret_get(Some("x"), None, SecretRefresh::Tracked)
        });
        let d = assert_bad_output("secret-get", r#"{"password":5}"#, |h| {
            h.secret_get(Some("x"), None, SecretRefresh::Tracked)
        });
        assert!(d.contains("expected an object of strings"), "{d}");
        assert_bad_output("secret-get", r#"{"pass"#, |h| {
            h.secret_get(Some("x"), None, SecretRefresh::Tracked)
        });
    }

    #[test]
    fn secret_set_remove() {
        let m = Mock::default();
        Hook::new(&m)
            .secret_set(
                "secret:1",
                &content(),
                &SecretOptions::new().with_label("l"),
            )
            .unwrap();
        let call = m.call();
        assert_eq!(
            call.args,
            argv(&["secret:1", "--label", "l", "password=s3cret", "user=admin"])
        );
        assert_eq!(call.redact.values, vec![3, 4]);
        let (_, a) = run_with("", |h| h.secret_remove("secret:1", Some(2)));
        assert_eq!(a, argv(&["secret-remove", "secret:1", "--revision", "2"]));
        let (_, a) = run_with("", |h| h.secret_remove("secret:1", None));
        assert_eq!(a, argv(&["secret-remove", "secret:1"]));
        assert_exit_error("secret-set", |h| {
            h.secret_set("x", &content(), &SecretOptions::new())
        });
        assert_exit_error("secret-remove", |h| h.secret_remove("x", None));
    }

    #[test]
    fn secret_info_grant_revoke_ids() {
        let (r, a) = run_with(r#"{"cj9":{"revision":2}}"#, |h| {
            h.secret_info_get(None, Some("db"))
        });
        assert_eq!(
            a,
            argv(&["secret-info-get", "--format=json", "--label", "db"])
        );
        assert_eq!(r.unwrap()["cj9"]["revision"], 2);
        let rel = RelationId::new("db", 3);
        let (_, a) = run_with("", |h| h.secret_grant("secret:1", &rel, Some("app/0")));
        assert_eq!(
            a,
            argv(&[
                "secret-grant",
                "secret:1",
                "--relation",
                "3",
                "--unit",
                "app/0"
            ])
        );
        let (_, a) = run_with("", |h| h.secret_revoke("secret:1", &rel, None));
        assert_eq!(a, argv(&["secret-revoke", "secret:1", "--relation", "3"]));
        let (r, a) = run_with(r#"["secret:1"]"#, |h| h.secret_ids());
        assert_eq!(a, argv(&["secret-ids", "--format=json"]));
        assert_eq!(r.unwrap(), vec!["secret:1"]);
        assert_exit_error("secret-info-get", |h| h.secret_info_get(Some("x"), None));
        assert_exit_error("secret-grant", |h| h.secret_grant("x", &rel, None));
        assert_exit_error("secret-revoke", |h| h.secret_revoke("x", &rel, None));
        assert_exit_error("secret-ids", |h| h.secret_ids());
        assert_bad_output("secret-ids", "{}", |h| h.secret_ids());
        assert_bad_output("secret-info-get", "{", |h| {
            h.secret_info_get(Some("x"), None)
        });
    }
}
