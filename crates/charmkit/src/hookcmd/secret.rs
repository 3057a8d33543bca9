//! Secrets: `secret-add`, `secret-get`, `secret-set`, `secret-remove`, `secret-info-get`,
//! `secret-grant`, `secret-revoke`, `secret-ids`.
//!
//! Secret content never goes on the command line (where `/proc/*/cmdline` shows it, and where
//! jujuc's server logs it at TRACE): each value is written to a file of its own, `0600` in a
//! private `0700` directory, passed as `KEY#file=PATH` (juju `core/secrets.CreateSecretData`),
//! and removed as soon as the tool returns — as ops does. Keys and values are checked as Juju
//! checks them before anything is written. `secret-get` output is marked [`Redact::output`].

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use serde_json::Value;

use super::common::{bad_output, relation_not_found, secret_not_found};
use super::{Hook, Redact, ToolCall};
use crate::error::{Error, Result};
use crate::types::{canonical_secret_id, RelationId};

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

/// One grant of a secret, as `secret-info-get` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SecretAccess {
    /// Who may read it: `application-<name>` or `unit-<name>-<n>`.
    pub target: String,
    /// The grant's scope, e.g. `relation-<key>`.
    pub scope: String,
    /// `view` (or `manage` for the owner).
    pub role: String,
}

/// A secret's metadata, as `secret-info-get` gives it to the secret's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// The secret's id, canonical (see [`canonical_secret_id`]).
    pub id: String,
    /// Its label, if it has one.
    pub label: Option<String>,
    /// Who owns it.
    pub owner: SecretOwner,
    /// The latest revision.
    pub revision: u64,
    /// Its description, if any.
    pub description: Option<String>,
    /// When the latest revision expires (RFC 3339), if it does.
    pub expiry: Option<String>,
    /// The rotation policy (`hourly`, `daily`…), if any.
    pub rotation: Option<String>,
    /// When it next rotates (RFC 3339), if it does.
    pub rotates: Option<String>,
    /// Who it is granted to.
    pub access: Vec<SecretAccess>,
}

/// The value of `secret-info-get`'s one entry.
#[derive(serde::Deserialize)]
struct RawSecretInfo {
    revision: u64,
    #[serde(default)]
    label: String,
    owner: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    expiry: Option<String>,
    #[serde(default)]
    rotation: Option<String>,
    #[serde(default)]
    rotates: Option<String>,
    #[serde(default)]
    access: Vec<SecretAccess>,
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

/// Juju's rule for secret keys (`core/secrets`): `^[a-z](-?[a-z0-9]){2,}$`.
pub(crate) fn valid_secret_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !key.ends_with('-')
        && !key.contains("--")
}

/// The most Juju stores for one value, and for all of a secret's content, base64-encoded
/// (`core/secrets`: 1 MB, what every secret backend accepts).
const MAX_ENCODED_SIZE: usize = 1_000_000;

fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Checks `content` as Juju would, before any call: keys match Juju's rule, values are not
/// empty (Juju refuses `key=`), and the sizes are within Juju's limits. Never quotes a value.
fn check_content(tool: &str, content: &BTreeMap<String, String>) -> Result<()> {
    let mut total = 0;
    for (k, v) in content {
        if !valid_secret_key(k) {
            return Err(Error::Usage(format!(
                "{tool}: invalid secret key {k:?}: Juju wants at least 3 characters, lowercase \
                 letters, digits and single hyphens, starting with a letter \
                 (^[a-z](-?[a-z0-9]){{2,}}$)"
            )));
        }
        if v.is_empty() {
            return Err(Error::Usage(format!(
                "{tool}: the value of secret key {k:?} is empty; Juju refuses empty secret values"
            )));
        }
        let size = base64_len(v.len());
        if size > MAX_ENCODED_SIZE {
            return Err(Error::Usage(format!(
                "{tool}: the value of secret key {k:?} is {size} bytes base64-encoded; Juju \
                 stores at most {MAX_ENCODED_SIZE}"
            )));
        }
        total += size;
    }
    if total > MAX_ENCODED_SIZE {
        return Err(Error::Usage(format!(
            "{tool}: the secret content is {total} bytes base64-encoded; Juju stores at most \
             {MAX_ENCODED_SIZE}"
        )));
    }
    Ok(())
}

/// Secret content written for `KEY#file=PATH` arguments: a private directory (`0700`) with one
/// `0600` file per key. Dropping it removes the directory and everything in it.
struct ContentFiles {
    _dir: crate::fs::PrivateDir,
}

impl ContentFiles {
    /// Writes `content` (already checked) and appends a `KEY#file=PATH` argument per key,
    /// marking each as secret. `None` when there is no content.
    fn write(
        content: &BTreeMap<String, String>,
        args: &mut Vec<String>,
        redact: &mut Redact,
    ) -> Result<Option<ContentFiles>> {
        if content.is_empty() {
            return Ok(None);
        }
        let io = |what: &str, e| Error::io(format!("writing secret content: {what}"), e);
        let dir = crate::fs::PrivateDir::new("charmkit-secret-")
            .map_err(|e| io("creating a private directory", e))?;
        // jujuc's server opens the path itself, from its own working directory.
        let root = std::path::absolute(dir.path()).map_err(|e| io("resolving its path", e))?;
        for (k, v) in content {
            let path = root.join(k);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| io("creating a file", e))?;
            f.write_all(v.as_bytes())
                .map_err(|e| io("writing a file", e))?;
            let path = path.to_str().ok_or_else(|| {
                Error::Usage(format!(
                    "secret content: the temporary directory {} is not UTF-8; set TMPDIR",
                    root.display()
                ))
            })?;
            redact.values.push(args.len());
            args.push(format!("{k}#file={path}"));
        }
        Ok(Some(ContentFiles { _dir: dir }))
    }
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
    /// [`canonical_secret_id`] with this hook's model uuid.
    pub fn canonical_secret_id(&self, id: &str) -> String {
        canonical_secret_id(id, self.model_uuid)
    }

    /// Creates a secret with `content` and returns its id, canonical (see
    /// [`canonical_secret_id`]).
    ///
    /// Runs `secret-add [--label L] [--description D] [--expire E] [--rotate R] [--owner O]
    /// KEY#file=PATH…`, each value in a private file removed afterwards; Juju prints the new id.
    /// Empty content, a key outside Juju's rule or an empty value give [`Error::Usage`] without
    /// a call.
    pub fn secret_add(
        &self,
        content: &BTreeMap<String, String>,
        opts: &SecretOptions,
    ) -> Result<String> {
        if content.is_empty() {
            return Err(Error::Usage("secret-add: a secret needs content".into()));
        }
        check_content("secret-add", content)?;
        let mut args = Vec::new();
        opts.push_flags(&mut args);
        let mut redact = Redact::default();
        let _files = ContentFiles::write(content, &mut args, &mut redact)?;
        let call = ToolCall::new("secret-add", args).with_redact(redact);
        let id = self.exec_text(&call)?;
        if id.is_empty() || id.contains(char::is_whitespace) {
            return Err(bad_output(&call, "expected a secret id"));
        }
        Ok(self.canonical_secret_id(&id))
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
        let id = id.map(|i| self.canonical_secret_id(i));
        args.extend(id_or_label("secret-get", id.as_deref(), label)?);
        match refresh {
            SecretRefresh::Tracked => {}
            SecretRefresh::Refresh => args.push("--refresh".into()),
            SecretRefresh::Peek => args.push("--peek".into()),
        }
        let call = ToolCall::new("secret-get", args).with_redact(Redact {
            output: true,
            ..Redact::default()
        });
        let which = id.as_deref().or(label).unwrap_or_default();
        Ok(self
            .exec_json_opt(&call, "an object of strings")
            .map_err(|e| secret_not_found(e, which))?
            .unwrap_or_default())
    }

    /// Updates a secret this unit (or its application, as leader) owns: a new revision with
    /// `content` if it is not empty, and/or new metadata.
    ///
    /// Runs `secret-set ID [--label L] [--description D] [--expire E] [--rotate R] [--owner O]
    /// KEY#file=PATH…`, each value in a private file removed afterwards.
    pub fn secret_set(
        &self,
        id: &str,
        content: &BTreeMap<String, String>,
        opts: &SecretOptions,
    ) -> Result<()> {
        check_content("secret-set", content)?;
        let id = self.canonical_secret_id(id);
        let mut args = vec![id.clone()];
        opts.push_flags(&mut args);
        let mut redact = Redact::default();
        let _files = ContentFiles::write(content, &mut args, &mut redact)?;
        self.exec(&ToolCall::new("secret-set", args).with_redact(redact))
            .map_err(|e| secret_not_found(e, &id))
    }

    /// Removes a secret, or only one of its revisions.
    ///
    /// Runs `secret-remove ID [--revision N]`.
    pub fn secret_remove(&self, id: &str, revision: Option<u64>) -> Result<()> {
        let id = self.canonical_secret_id(id);
        let mut args = vec![id.clone()];
        if let Some(r) = revision {
            args.extend(["--revision".to_string(), r.to_string()]);
        }
        self.exec(&ToolCall::new("secret-remove", args))
            .map_err(|e| secret_not_found(e, &id))
    }

    /// Metadata of an owned secret, found by `id` or, without one, by `label`.
    ///
    /// Runs `secret-info-get --format=json ID` or `secret-info-get --format=json --label L`:
    /// Juju refuses both at once ("specify either a secret URI or label but not both"), so with
    /// both the id is used, as ops does. Juju prints `{"<bare id>":{"revision":1,"label":..,
    /// "owner":..,..}}`; the id comes back canonical.
    pub fn secret_info_get(&self, id: Option<&str>, label: Option<&str>) -> Result<SecretInfo> {
        let mut args = vec!["--format=json".to_string()];
        let id = id.map(|i| self.canonical_secret_id(i));
        args.extend(id_or_label(
            "secret-info-get",
            id.as_deref(),
            label.filter(|_| id.is_none()),
        )?);
        let call = ToolCall::new("secret-info-get", args);
        let which = id.as_deref().or(label).unwrap_or_default();
        let all: BTreeMap<String, Value> = self
            .exec_json(&call, "an object")
            .map_err(|e| secret_not_found(e, which))?;
        let mut entries = all.into_iter();
        let (Some((raw_id, value)), None) = (entries.next(), entries.next()) else {
            return Err(bad_output(&call, "expected exactly one secret"));
        };
        let raw: RawSecretInfo = super::common::from_value(&call, value, "secret metadata")?;
        let owner = match raw.owner.as_str() {
            "application" => SecretOwner::Application,
            "unit" => SecretOwner::Unit,
            other => return Err(bad_output(&call, format_args!("unknown owner {other:?}"))),
        };
        let some = |s: Option<String>| s.filter(|s| !s.is_empty());
        Ok(SecretInfo {
            id: self.canonical_secret_id(&raw_id),
            label: some(Some(raw.label)),
            owner,
            revision: raw.revision,
            description: some(raw.description),
            expiry: some(raw.expiry),
            rotation: some(raw.rotation),
            rotates: some(raw.rotates),
            access: raw.access,
        })
    }

    /// Grants read access to a secret to the remote application of `relation`, or only to
    /// remote `unit`.
    ///
    /// Runs `secret-grant ID --relation N [--unit UNIT]` (N the bare relation number, as ops).
    pub fn secret_grant(&self, id: &str, relation: &RelationId, unit: Option<&str>) -> Result<()> {
        let id = self.canonical_secret_id(id);
        self.exec(&ToolCall::new(
            "secret-grant",
            grant_args(&id, relation, unit),
        ))
        .map_err(|e| secret_not_found(relation_not_found(e, relation), &id))
    }

    /// Revokes what [`Hook::secret_grant`] granted.
    ///
    /// Runs `secret-revoke ID --relation N [--unit UNIT]`.
    pub fn secret_revoke(&self, id: &str, relation: &RelationId, unit: Option<&str>) -> Result<()> {
        let id = self.canonical_secret_id(id);
        self.exec(&ToolCall::new(
            "secret-revoke",
            grant_args(&id, relation, unit),
        ))
        .map_err(|e| secret_not_found(relation_not_found(e, relation), &id))
    }

    /// Revokes every grant of a secret to application `app` (and its units), whatever the
    /// relation.
    ///
    /// Runs `secret-revoke ID --app APP`. In a relation hook Juju takes the hook's relation as
    /// `--relation` and refuses this (`do not specify both relation and app`).
    pub fn secret_revoke_app(&self, id: &str, app: &str) -> Result<()> {
        let id = self.canonical_secret_id(id);
        self.exec(&ToolCall::new("secret-revoke", [id.as_str(), "--app", app]))
            .map_err(|e| secret_not_found(e, &id))
    }

    /// The ids of the secrets this unit can manage (its application's, as leader, and its
    /// own), canonical (see [`canonical_secret_id`]): Juju prints them bare.
    ///
    /// Runs `secret-ids --format=json`.
    pub fn secret_ids(&self) -> Result<Vec<String>> {
        let call = ToolCall::new("secret-ids", ["--format=json"]);
        let ids: Vec<String> = self
            .exec_json_opt(&call, "a list of secret ids")?
            .unwrap_or_default();
        Ok(ids.iter().map(|i| self.canonical_secret_id(i)).collect())
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

    /// A hook tool that, like jujuc's server, reads every `KEY#file=PATH` argument while it
    /// runs, and checks the file and its directory are private.
    struct ReadsFiles {
        out: &'static str,
        seen: std::cell::RefCell<Vec<ToolCall>>,
        read: std::cell::RefCell<BTreeMap<String, String>>,
    }

    impl ReadsFiles {
        fn new(out: &'static str) -> Self {
            ReadsFiles {
                out,
                seen: Default::default(),
                read: Default::default(),
            }
        }

        /// The paths of the `#file=` arguments of the one call.
        fn paths(&self) -> Vec<std::path::PathBuf> {
            let seen = self.seen.borrow();
            seen[0]
                .args
                .iter()
                .filter_map(|a| a.split_once("#file=").map(|(_, p)| p.into()))
                .collect()
        }
    }

    impl super::super::HookTools for ReadsFiles {
        fn run(&self, call: &ToolCall) -> Result<Vec<u8>> {
            use std::os::unix::fs::PermissionsExt as _;
            self.seen.borrow_mut().push(call.clone());
            for a in &call.args {
                if let Some((k, path)) = a.split_once("#file=") {
                    let path = std::path::Path::new(path);
                    assert!(path.is_absolute(), "{a}");
                    let mode = |p: &std::path::Path| {
                        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
                    };
                    assert_eq!(mode(path), 0o600, "{a}");
                    assert_eq!(mode(path.parent().unwrap()), 0o700, "{a}");
                    let v = std::fs::read_to_string(path).unwrap();
                    self.read.borrow_mut().insert(k.to_string(), v);
                }
            }
            Ok(self.out.as_bytes().to_vec())
        }
    }

    #[test]
    fn secret_add_passes_values_in_private_files_never_in_argv() {
        let t = ReadsFiles::new("secret:cj9sk5ufltq4c6e0a8ng\n");
        let opts = SecretOptions::new()
            .with_label("db")
            .with_description("db creds")
            .with_owner(SecretOwner::Unit);
        let id = Hook::new(&t).secret_add(&content(), &opts).unwrap();
        assert_eq!(id, "secret:cj9sk5ufltq4c6e0a8ng");
        let call = t.seen.borrow()[0].clone();
        assert_eq!(
            call.args[..6],
            argv(&[
                "--label",
                "db",
                "--description",
                "db creds",
                "--owner",
                "unit"
            ])
        );
        assert!(
            call.args[6].starts_with("password#file=/"),
            "{:?}",
            call.args
        );
        assert!(call.args[7].starts_with("user#file=/"), "{:?}", call.args);
        // No value anywhere on the command line, nor in what spans and errors show.
        let line = call.args.join(" ");
        assert!(
            !line.contains("s3cret") && !line.contains("admin"),
            "{line}"
        );
        assert_eq!(call.redact.values, vec![6, 7]);
        assert_eq!(
            call.safe_args()[6..],
            argv(&["password#file=<redacted>", "user#file=<redacted>"])
        );
        // The tool read the content from the files, which are gone afterwards.
        assert_eq!(*t.read.borrow(), content());
        for p in t.paths() {
            assert!(!p.exists(), "{} was left behind", p.display());
            assert!(!p.parent().unwrap().exists());
        }
        assert_exit_error("secret-add", |h| {
            h.secret_add(&content(), &SecretOptions::new())
        });
        assert_bad_output("secret-add", "", |h| {
            h.secret_add(&content(), &SecretOptions::new())
        });
    }

    #[test]
    fn secret_content_is_checked_as_juju_checks_it_before_any_call() {
        let m = Mock::default();
        let h = Hook::new(&m);
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        let usage = |r: Result<String>| match r {
            Err(Error::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        };
        assert!(usage(h.secret_add(&BTreeMap::new(), &SecretOptions::new())).contains("content"));
        // Juju refuses `key=`: an empty value.
        let msg = usage(h.secret_add(&one("token", ""), &SecretOptions::new()));
        assert!(msg.contains("empty"), "{msg}");
        for bad in ["pw", "-x", "Token", "a--b", "ab-", "1ab", "a_b", "key#file"] {
            let msg = usage(h.secret_add(&one(bad, "v"), &SecretOptions::new()));
            assert!(msg.contains("invalid secret key"), "{bad}: {msg}");
        }
        let big = "x".repeat(750_001);
        let msg = usage(h.secret_add(&one("blob", &big), &SecretOptions::new()));
        assert!(msg.contains("1000000") && !msg.contains("xxx"), "{msg}");
        let halves = BTreeMap::from([
            ("aaa".to_string(), "x".repeat(400_000)),
            ("bbb".to_string(), "x".repeat(400_000)),
        ]);
        assert!(usage(h.secret_add(&halves, &SecretOptions::new())).contains("content is"));
        assert!(matches!(
            h.secret_set("secret:1", &one("ok-key", ""), &SecretOptions::new()),
            Err(Error::Usage(_))
        ));
        assert!(m.calls().is_empty());
        for good in ["abc", "a-b-c", "tls-key2", "a1b"] {
            assert!(valid_secret_key(good), "{good}");
        }
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
        let t = ReadsFiles::new("");
        Hook::new(&t)
            .secret_set(
                "secret:1",
                &content(),
                &SecretOptions::new().with_label("l"),
            )
            .unwrap();
        let call = t.seen.borrow()[0].clone();
        assert_eq!(call.args[..3], argv(&["secret:1", "--label", "l"]));
        assert!(call.args[3].starts_with("password#file=/"));
        assert!(!call.args.join(" ").contains("s3cret"));
        assert_eq!(call.redact.values, vec![3, 4]);
        assert_eq!(*t.read.borrow(), content());
        assert!(t.paths().iter().all(|p| !p.exists()));
        // Metadata only: no content, no files.
        let (_, a) = run_with("", |h| {
            h.secret_set(
                "secret:1",
                &BTreeMap::new(),
                &SecretOptions::new().with_rotate("daily"),
            )
        });
        assert_eq!(a, argv(&["secret-set", "secret:1", "--rotate", "daily"]));
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
        let out = r#"{"cj9":{"revision":2,"label":"db","owner":"unit","rotation":"daily",
            "access":[{"target":"application-x","scope":"relation-3","role":"view"}]}}"#;
        let (r, a) = run_with(out, |h| h.secret_info_get(None, Some("db")));
        assert_eq!(
            a,
            argv(&["secret-info-get", "--format=json", "--label", "db"])
        );
        let info = r.unwrap();
        assert_eq!(info.id, "secret:cj9");
        assert_eq!(info.revision, 2);
        assert_eq!(info.label.as_deref(), Some("db"));
        assert_eq!(info.owner, SecretOwner::Unit);
        assert_eq!(info.rotation.as_deref(), Some("daily"));
        assert_eq!(info.description, None);
        assert_eq!(info.access[0].target, "application-x");
        // Juju refuses an id and a label together: the id wins.
        let (_, a) = run_with(out, |h| h.secret_info_get(Some("secret:1"), Some("db")));
        assert_eq!(a, argv(&["secret-info-get", "--format=json", "secret:1"]));
        assert_bad_output("secret-info-get", "{}", |h| {
            h.secret_info_get(Some("x"), None)
        });
        assert_bad_output(
            "secret-info-get",
            r#"{"a":{"revision":1,"owner":"model"}}"#,
            |h| h.secret_info_get(Some("x"), None),
        );
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
        let (_, a) = run_with("", |h| h.secret_revoke_app("secret:1", "mediawiki"));
        assert_eq!(
            a,
            argv(&["secret-revoke", "secret:1", "--app", "mediawiki"])
        );
        assert_exit_error("secret-revoke", |h| h.secret_revoke_app("x", "y"));
        // Juju prints bare ids; they come back canonical.
        let (r, a) = run_with(r#"["cj9sk5ufltq4c6e0a8ng"]"#, |h| h.secret_ids());
        assert_eq!(a, argv(&["secret-ids", "--format=json"]));
        assert_eq!(r.unwrap(), vec!["secret:cj9sk5ufltq4c6e0a8ng"]);
        assert_exit_error("secret-info-get", |h| h.secret_info_get(Some("x"), None));
        assert_exit_error("secret-grant", |h| h.secret_grant("x", &rel, None));
        assert_exit_error("secret-revoke", |h| h.secret_revoke("x", &rel, None));
        assert_exit_error("secret-ids", |h| h.secret_ids());
        assert_bad_output("secret-ids", "{}", |h| h.secret_ids());
        assert_bad_output("secret-info-get", "{", |h| {
            h.secret_info_get(Some("x"), None)
        });
    }

    #[test]
    fn ids_are_canonical_as_ops_makes_them_and_equal_across_forms() {
        const M: &str = "deadbeef-1bad-500d-9000-4b1d0d06f00d";
        const ID: &str = "cj9sk5ufltq4c6e0a8ng";
        let forms = [
            ID.to_string(),
            format!(" {ID}\n"),
            format!("secret:{ID}"),
            format!("secret://{M}/{ID}"),
        ];
        for f in &forms {
            assert_eq!(
                canonical_secret_id(f, Some(M)),
                format!("secret://{M}/{ID}"),
                "{f:?}"
            );
        }
        // Without the model uuid, as ops: a bare id gets `secret:`, the rest is kept.
        assert_eq!(canonical_secret_id(ID, None), format!("secret:{ID}"));
        assert_eq!(canonical_secret_id(ID, Some("")), format!("secret:{ID}"));
        assert_eq!(canonical_secret_id(&forms[2], None), forms[2]);
        // Another model's secret stays another model's.
        let other = format!("secret://00000000-0000-4000-8000-000000000001/{ID}");
        assert_eq!(canonical_secret_id(&other, Some(M)), other);
        // The bindings pass canonical ids to the tools.
        let m = Mock::out("{}");
        let h = Hook::new(&m).with_model_uuid(M);
        h.secret_get(Some(ID), None, SecretRefresh::Tracked)
            .unwrap();
        assert_eq!(m.call().args[1], format!("secret://{M}/{ID}"));
        let m = Mock::out(&format!("secret://{M}/{ID}\n"));
        let id = Hook::new(&m)
            .secret_add(&content(), &SecretOptions::new())
            .unwrap();
        assert_eq!(id, format!("secret://{M}/{ID}"));
    }
}
