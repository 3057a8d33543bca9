//! The fake's filesystem endpoints (`internals/daemon/api_files.go`): an in-memory tree with
//! Pebble's per-item errors (Go's `os` wording: `stat /x: no such file or directory`), its
//! multipart pull reply and its multipart push request.

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::pebble::multipart::{self, Part};
use crate::pebble::wire;
use crate::pebble::{Request, Response};

use super::container::{Container, FsEntry, FsKind};
use super::reply::{bad_request, decode, error_kind, sync, Query};
use super::Shared;

/// A file error: Pebble's kind and Go's message.
#[derive(Debug)]
struct FsError {
    kind: &'static str,
    message: String,
}

fn not_found(op: &str, path: &str) -> FsError {
    FsError {
        kind: "not-found",
        message: format!("{op} {path}: no such file or directory"),
    }
}

fn generic(message: String) -> FsError {
    FsError {
        kind: "generic-file-error",
        message,
    }
}

fn item(path: &str, err: Option<FsError>) -> Json {
    match err {
        None => json!({ "path": path }),
        Some(e) => json!({"path": path, "error": {"message": e.message, "kind": e.kind}}),
    }
}

fn non_absolute(path: &str) -> FsError {
    generic(format!("paths must be absolute, got {path:?}"))
}

/// `/a//b/./c/` → `/a/b/c` (Go's `path.Clean` for absolute paths, without `..` games).
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].into(),
    }
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Checks that every ancestor of `path` is a directory (`stat` semantics).
fn walk(c: &Container, op: &str, path: &str) -> Result<(), FsError> {
    let mut cur = String::new();
    let comps: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for comp in comps.iter().take(comps.len().saturating_sub(1)) {
        cur.push('/');
        cur.push_str(comp);
        match c.files.get(&cur).map(|e| &e.kind) {
            Some(FsKind::Directory) => {}
            Some(FsKind::File(_)) => return Err(generic(format!("{op} {path}: not a directory"))),
            None => return Err(not_found(op, path)),
        }
    }
    Ok(())
}

fn stat<'a>(c: &'a Container, path: &str) -> Result<&'a FsEntry, FsError> {
    walk(c, "stat", path)?;
    c.files.get(path).ok_or_else(|| not_found("stat", path))
}

/// The owner a request asks for (exec's, and each pushed file's or made directory's):
/// `user-id`, `user`, `group-id`, `group`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct Owner {
    #[serde(default, rename = "user-id")]
    pub(crate) user_id: Option<u32>,
    #[serde(default)]
    pub(crate) user: String,
    #[serde(default, rename = "group-id")]
    pub(crate) group_id: Option<u32>,
    #[serde(default)]
    pub(crate) group: String,
}

impl Owner {
    /// Pebble's `normalizeUidGid`: names resolved, a user's primary group used when no group
    /// is given, and a group alone refused.
    pub(crate) fn resolve(&self, c: &Container) -> Result<Option<(u32, u32)>, String> {
        let (user, group) = (self.user.as_str(), self.group.as_str());
        let mut uid = self.user_id;
        let mut gid = self.group_id;
        if !user.is_empty() {
            let u = c
                .users
                .iter()
                .find(|u| u.name == user)
                .ok_or_else(|| format!("user: unknown user {user}"))?;
            if let Some(id) = uid.filter(|id| *id != u.uid) {
                return Err(format!(
                    "user {user:?} UID ({}) does not match user-id ({id})",
                    u.uid
                ));
            }
            uid = Some(u.uid);
        }
        if !group.is_empty() {
            let g = *c
                .groups
                .get(group)
                .ok_or_else(|| format!("group: unknown group {group}"))?;
            if let Some(id) = gid.filter(|id| *id != g) {
                return Err(format!(
                    "group {group:?} GID ({g}) does not match group-id ({id})"
                ));
            }
            gid = Some(g);
        }
        match (uid, gid) {
            (Some(u), None) => {
                let found = c
                    .users
                    .iter()
                    .find(|x| x.uid == u)
                    .ok_or_else(|| format!("user: unknown userid {u}"))?;
                Ok(Some((u, found.gid)))
            }
            (None, Some(_)) => Err("must specify user, not just group".into()),
            (Some(u), Some(g)) => Ok(Some((u, g))),
            (None, None) => Ok(None),
        }
    }
}

fn name_of_uid(c: &Container, uid: u32) -> String {
    c.users
        .iter()
        .find(|u| u.uid == uid)
        .map(|u| u.name.clone())
        .unwrap_or_default()
}

fn name_of_gid(c: &Container, gid: u32) -> String {
    c.groups
        .iter()
        .find(|(_, g)| **g == gid)
        .map(|(n, _)| n.clone())
        .unwrap_or_default()
}

fn entry(c: &Container, kind: FsKind, perm: u32, owner: Option<(u32, u32)>) -> FsEntry {
    let (uid, gid) = owner.unwrap_or((0, 0));
    FsEntry {
        kind,
        permissions: perm,
        user_id: uid,
        user: name_of_uid(c, uid),
        group_id: gid,
        group: name_of_gid(c, gid),
        last_modified: crate::pebble::wire::now(),
    }
}

fn parse_permissions(p: &str, default: u32) -> Result<u32, FsError> {
    if p.is_empty() {
        return Ok(default);
    }
    match u32::from_str_radix(p, 8) {
        Ok(v) if p.len() == 3 => Ok(v),
        _ => Err(generic(format!(
            "permissions must be a 3-digit octal string, got {p:?}"
        ))),
    }
}

/// `mkdir -p` (existing directories kept; a file in the way is an error).
fn mkdir_all(
    c: &mut Container,
    path: &str,
    perm: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), FsError> {
    let mut cur = String::new();
    for comp in path.split('/').filter(|s| !s.is_empty()) {
        cur.push('/');
        cur.push_str(comp);
        match c.files.get(&cur).map(|e| &e.kind) {
            Some(FsKind::Directory) => {}
            Some(FsKind::File(_)) => return Err(generic(format!("mkdir {cur}: not a directory"))),
            None => {
                let e = entry(c, FsKind::Directory, perm, owner);
                c.files.insert(cur.clone(), e);
            }
        }
    }
    Ok(())
}

/// `GET /v1/files`: read (multipart) or list.
pub(crate) fn get(shared: &Shared, req: &Request, q: &Query) -> Response {
    match q.get("action").as_str() {
        "read" => {
            let paths = q.all("path");
            if paths.is_empty() {
                return bad_request("must specify one or more paths");
            }
            if req.accept.as_deref() != Some("multipart/form-data") {
                return bad_request("must accept multipart/form-data");
            }
            read(shared, &paths)
        }
        "list" => {
            let path = q.get("path");
            if path.is_empty() {
                return bad_request("must specify path");
            }
            let itself = q.get("itself");
            if !matches!(itself.as_str(), "" | "true" | "false") {
                return bad_request(r#"itself parameter must be "true" or "false""#);
            }
            if !path.starts_with('/') {
                return bad_request(format!("path must be absolute, got {path:?}"));
            }
            list(shared, &clean(&path), &q.get("pattern"), itself == "true")
        }
        other => bad_request(format!("invalid action {other:?}")),
    }
}

fn read(shared: &Shared, paths: &[String]) -> Response {
    let d = shared.lock();
    let mut parts = Vec::new();
    let mut results = Vec::new();
    for path in paths {
        let outcome = if !path.starts_with('/') {
            Err(non_absolute(path))
        } else {
            stat(&d.container, &clean(path)).and_then(|e| match &e.kind {
                FsKind::File(data) => Ok(data.clone()),
                FsKind::Directory => {
                    Err(generic(format!("can only read a regular file: {path:?}")))
                }
            })
        };
        match outcome {
            Ok(data) => {
                parts.push(Part::file("files", path, data));
                results.push(item(path, None));
            }
            Err(e) => results.push(item(path, Some(e))),
        }
    }
    let mut envelope = serde_json::to_vec(&wire::sync(200, json!(results))).expect("JSON");
    envelope.push(b'\n'); // Go's json.Encoder ends with a newline
    parts.push(Part {
        name: "response".into(),
        filename: None,
        content_type: Some("application/json".into()),
        body: envelope,
    });
    let (boundary, body) = multipart::write(&parts);
    Response {
        status: 200,
        content_type: multipart::content_type(&boundary),
        body,
    }
}

/// Go's `path.Match` for one name: `*`, `?`, `[…]` classes (with `^`/`!` and ranges), `\`.
fn glob(pattern: &[char], name: &[char]) -> Result<bool, ()> {
    match pattern.first() {
        None => Ok(name.is_empty()),
        Some('*') => {
            for i in 0..=name.len() {
                if glob(&pattern[1..], &name[i..])? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Some('?') => Ok(!name.is_empty() && glob(&pattern[1..], &name[1..])?),
        Some('[') => {
            let end = pattern.iter().position(|c| *c == ']').ok_or(())?;
            let Some(&c) = name.first() else {
                return Ok(false);
            };
            let mut class = &pattern[1..end];
            let negate = matches!(class.first(), Some('^') | Some('!'));
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            Ok(hit != negate && glob(&pattern[end + 1..], &name[1..])?)
        }
        Some('\\') if pattern.len() > 1 => {
            Ok(name.first() == Some(&pattern[1]) && glob(&pattern[2..], &name[1..])?)
        }
        Some(p) => Ok(name.first() == Some(p) && glob(&pattern[1..], &name[1..])?),
    }
}

fn list(shared: &Shared, path: &str, pattern: &str, itself: bool) -> Response {
    let d = shared.lock();
    let c = &d.container;
    let e = match stat(c, path) {
        Ok(e) => e,
        Err(e) => {
            let status = if e.kind == "not-found" { 404 } else { 400 };
            return error_kind(status, e.kind, e.message);
        }
    };
    let entries: Vec<(String, &FsEntry)> = if e.kind != FsKind::Directory || itself {
        vec![(path.to_owned(), e)]
    } else {
        let prefix = if path == "/" {
            "/".to_owned()
        } else {
            format!("{path}/")
        };
        c.files
            .iter()
            .filter(|(p, _)| p.starts_with(&prefix) && p.len() > prefix.len())
            .filter(|(p, _)| !p[prefix.len()..].contains('/'))
            .map(|(p, e)| (p.clone(), e))
            .collect()
    };
    let pattern: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    for (p, e) in entries {
        let name: Vec<char> = base(&p).chars().collect();
        if !pattern.is_empty() {
            match glob(&pattern, &name) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(()) => return error_kind(400, "generic-file-error", "syntax error in pattern"),
            }
        }
        let modified = humantime::parse_rfc3339_weak(&e.last_modified)
            .map(|t| humantime::format_rfc3339_seconds(t).to_string())
            .unwrap_or_else(|_| e.last_modified.clone());
        let (kind, size) = match &e.kind {
            FsKind::File(data) => ("file", Some(data.len())),
            FsKind::Directory => ("directory", None),
        };
        let mut info = json!({
            "path": p, "name": base(&p), "type": kind,
            "permissions": format!("{:03o}", e.permissions), "last-modified": modified,
            "user-id": e.user_id, "user": e.user, "group-id": e.group_id, "group": e.group,
        });
        if let Some(s) = size {
            info["size"] = json!(s);
        }
        out.push(info);
    }
    sync(json!(out))
}

#[derive(Debug, Deserialize, Default)]
struct WriteItem {
    #[serde(default)]
    path: String,
    #[serde(default, rename = "make-dirs")]
    make_dirs: bool,
    #[serde(default)]
    permissions: String,
    #[serde(flatten)]
    owner: Owner,
}

#[derive(Debug, Deserialize, Default)]
struct DirItem {
    #[serde(default)]
    path: String,
    #[serde(default, rename = "make-parents")]
    make_parents: bool,
    #[serde(default)]
    permissions: String,
    #[serde(flatten)]
    owner: Owner,
}

#[derive(Debug, Deserialize)]
struct RemoveItem {
    #[serde(default)]
    path: String,
    #[serde(default)]
    recursive: bool,
}

#[derive(Deserialize)]
struct JsonPayload {
    #[serde(default)]
    action: String,
    #[serde(default)]
    dirs: Vec<DirItem>,
    #[serde(default)]
    paths: Vec<RemoveItem>,
}

#[derive(Deserialize)]
struct WritePayload {
    #[serde(default)]
    action: String,
    #[serde(default)]
    files: Vec<WriteItem>,
}

/// `POST /v1/files`: multipart write, or JSON make-dirs / remove.
pub(crate) fn post(shared: &Shared, req: &Request) -> Response {
    let ct = req.content_type.clone().unwrap_or_default();
    let media = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "multipart/form-data" => {
            let boundary = multipart::boundary_of(&ct).unwrap_or_default();
            if boundary.len() < 32 {
                return bad_request(format!("invalid boundary {boundary:?}"));
            }
            write(shared, &req.body, &boundary)
        }
        "application/json" => {
            let p: JsonPayload = match decode(&req.body, "cannot decode request body") {
                Ok(p) => p,
                Err(r) => return r,
            };
            match p.action.as_str() {
                "make-dirs" => each(shared, &p.dirs, |d| &d.path, make_dir),
                "remove" => each(shared, &p.paths, |r| &r.path, remove_path),
                "write" => bad_request(r#"must use multipart with "write" action"#),
                other => bad_request(format!("invalid action {other:?}")),
            }
        }
        "" => bad_request(format!("invalid Content-Type {ct:?}")),
        other => bad_request(format!("invalid media type {other:?}")),
    }
}

/// A JSON file action (make-dirs, remove): `act` on each item, and one result per item, with
/// its error if it failed.
fn each<T>(
    shared: &Shared,
    items: &[T],
    path: fn(&T) -> &String,
    act: fn(&mut Container, &T) -> Result<(), FsError>,
) -> Response {
    let mut d = shared.lock();
    let results: Vec<Json> = items
        .iter()
        .map(|i| item(path(i), act(&mut d.container, i).err()))
        .collect();
    sync(json!(results))
}

fn write(shared: &Shared, body: &[u8], boundary: &str) -> Response {
    let parts = match multipart::parse(body, boundary) {
        Ok(p) => p,
        Err(e) => return bad_request(format!("cannot read request metadata: {e}")),
    };
    let Some(first) = parts.first() else {
        return bad_request("cannot read request metadata: EOF");
    };
    if first.name != "request" {
        return bad_request(format!(
            r#"metadata field name must be "request", got {:?}"#,
            first.name
        ));
    }
    let payload: WritePayload = match serde_json::from_slice(&first.body) {
        Ok(p) => p,
        Err(e) => return bad_request(format!("cannot decode request metadata: {e}")),
    };
    if payload.action != "write" {
        return bad_request(format!(
            r#"multipart action must be "write", got {:?}"#,
            payload.action
        ));
    }
    if payload.files.is_empty() {
        return bad_request("must specify one or more files");
    }
    let mut d = shared.lock();
    let mut errors: std::collections::BTreeMap<String, Option<FsError>> = Default::default();
    for part in &parts[1..] {
        if part.name != "files" {
            return bad_request(format!(
                r#"field name must be "files", got {:?}"#,
                part.name
            ));
        }
        let path = part.filename.clone().unwrap_or_default();
        let Some(info) = payload.files.iter().find(|f| f.path == path) else {
            return bad_request(format!("no metadata for path {path:?}"));
        };
        let r = write_file(&mut d.container, info, &part.body);
        errors.insert(path, r.err());
    }
    let results: Vec<Json> = payload
        .files
        .iter()
        .map(|f| {
            let err = match errors.remove(&f.path) {
                Some(e) => e,
                None => Some(generic(format!("no file content for path {:?}", f.path))),
            };
            item(&f.path, err)
        })
        .collect();
    sync(json!(results))
}

fn write_file(c: &mut Container, item: &WriteItem, data: &[u8]) -> Result<(), FsError> {
    if !item.path.starts_with('/') {
        return Err(non_absolute(&item.path));
    }
    let owner = item
        .owner
        .resolve(c)
        .map_err(|e| generic(format!("cannot look up user and group: {e}")))?;
    let path = clean(&item.path);
    if item.make_dirs {
        mkdir_all(c, &parent(&path), 0o755, owner)
            .map_err(|e| generic(format!("cannot create directory: {}", e.message)))?;
    }
    let perm = parse_permissions(&item.permissions, 0o644)?;
    let temp = format!("{}/{}.*~", parent(&path).trim_end_matches('/'), base(&path));
    walk(c, "open", &path).map_err(|e| FsError {
        kind: e.kind,
        message: e
            .message
            .replace(&format!("open {path}"), &format!("open {temp}")),
    })?;
    match c.files.get(&parent(&path)).map(|e| &e.kind) {
        Some(FsKind::Directory) => {}
        Some(FsKind::File(_)) => return Err(generic(format!("open {temp}: not a directory"))),
        None => return Err(not_found("open", &temp)),
    }
    if let Some(FsKind::Directory) = c.files.get(&path).map(|e| &e.kind) {
        return Err(generic(format!("rename {temp} {path}: file exists")));
    }
    let e = entry(c, FsKind::File(data.to_vec()), perm, owner);
    c.files.insert(path, e);
    Ok(())
}

fn make_dir(c: &mut Container, dir: &DirItem) -> Result<(), FsError> {
    if !dir.path.starts_with('/') {
        return Err(non_absolute(&dir.path));
    }
    let perm = parse_permissions(&dir.permissions, 0o755)?;
    let owner = dir
        .owner
        .resolve(c)
        .map_err(|e| generic(format!("cannot look up user and group: {e}")))?;
    let path = clean(&dir.path);
    match c.files.get(&path).map(|e| &e.kind) {
        Some(FsKind::Directory) if dir.make_parents => return Ok(()),
        Some(FsKind::Directory) => return Err(generic(format!("mkdir {path}: file exists"))),
        Some(FsKind::File(_)) => return Err(generic(format!("mkdir {path}: not a directory"))),
        None => {}
    }
    if dir.make_parents {
        return mkdir_all(c, &path, perm, owner);
    }
    walk(c, "mkdir", &path)?;
    if !c.files.contains_key(&parent(&path)) {
        return Err(not_found("mkdir", &path));
    }
    let e = entry(c, FsKind::Directory, perm, owner);
    c.files.insert(path, e);
    Ok(())
}

fn remove_path(c: &mut Container, item: &RemoveItem) -> Result<(), FsError> {
    if !item.path.starts_with('/') {
        return Err(non_absolute(&item.path));
    }
    let path = clean(&item.path);
    let prefix = format!("{}/", path.trim_end_matches('/'));
    let has_children = c.files.keys().any(|k| k.starts_with(&prefix));
    if item.recursive {
        // os.RemoveAll: a missing path is fine.
        c.files.retain(|k, _| k != &path && !k.starts_with(&prefix));
        return Ok(());
    }
    walk(c, "remove", &path)?;
    if !c.files.contains_key(&path) {
        return Err(not_found("remove", &path));
    }
    if has_children {
        return Err(generic(format!("remove {path}: directory not empty")));
    }
    c.files.remove(&path);
    Ok(())
}
