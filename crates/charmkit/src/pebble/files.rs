//! Files in the workload container: push, pull, list, make-dir, remove, exists.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

use super::client::{insert_owner, with_query, Client};
use super::error::Error;
use super::multipart::{self, Part};
use super::transport::{Method, Request};
use super::wire;
use super::Result;

/// The type of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileType {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A unix socket.
    Socket,
    /// A named pipe.
    NamedPipe,
    /// A device.
    Device,
    /// Anything else.
    #[serde(untagged)]
    Other(String),
}

/// What `list` says of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileInfo {
    /// Its full path.
    pub path: String,
    /// Its base name.
    pub name: String,
    /// Its type.
    pub r#type: FileType,
    /// Its size (regular files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Its permission bits, as three octal digits (`644`).
    pub permissions: String,
    /// When it was last modified (RFC 3339).
    pub last_modified: String,
    /// Its owner's id.
    pub user_id: Option<u32>,
    /// Its owner's name.
    #[serde(default)]
    pub user: String,
    /// Its group's id.
    pub group_id: Option<u32>,
    /// Its group's name.
    #[serde(default)]
    pub group: String,
}

impl FileInfo {
    /// The permission bits as a number (`0o644`).
    pub fn mode(&self) -> u32 {
        u32::from_str_radix(&self.permissions, 8).unwrap_or_default()
    }
}

/// Ownership, permissions and parent creation for [`Client::push`] and [`Client::make_dir`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileOptions {
    /// Create missing parent directories (push's `make-dirs`, make-dir's `make-parents`).
    pub make_dirs: bool,
    /// Permission bits (default 0o644 for files, 0o755 for directories).
    pub permissions: Option<u32>,
    /// The owner's id.
    pub user_id: Option<u32>,
    /// The owner's name.
    pub user: Option<String>,
    /// The group's id.
    pub group_id: Option<u32>,
    /// The group's name.
    pub group: Option<String>,
}

impl FileOptions {
    /// Create missing parents.
    pub fn make_dirs(mut self) -> Self {
        self.make_dirs = true;
        self
    }

    /// Set the permission bits (e.g. `0o600`).
    pub fn permissions(mut self, mode: u32) -> Self {
        self.permissions = Some(mode);
        self
    }

    /// Set the owner by name.
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Set the group by name.
    pub fn group(mut self, group: &str) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Set the owner by id.
    pub fn user_id(mut self, uid: u32) -> Self {
        self.user_id = Some(uid);
        self
    }

    /// Set the group by id.
    pub fn group_id(mut self, gid: u32) -> Self {
        self.group_id = Some(gid);
        self
    }

    /// The JSON item for `path`, with `parents_key` naming the parent-creation flag.
    fn item(&self, path: &str, parents_key: &str) -> Json {
        let mut m = Map::new();
        m.insert("path".into(), json!(path));
        m.insert(parents_key.into(), json!(self.make_dirs));
        if let Some(p) = self.permissions {
            m.insert("permissions".into(), json!(format!("{p:03o}")));
        }
        insert_owner(
            &mut m,
            self.user_id,
            self.user.as_deref(),
            self.group_id,
            self.group.as_deref(),
        );
        Json::Object(m)
    }
}

/// One item of a file action's result: `{"path", "error"?}`.
#[derive(Debug, Deserialize)]
struct FileResult {
    path: String,
    #[serde(default)]
    error: Option<FileError>,
}

#[derive(Debug, Deserialize)]
struct FileError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    kind: Option<String>,
}

/// The first per-item error of a file action, as [`Error::File`].
fn check_items(action: &'static str, items: Vec<FileResult>) -> Result<()> {
    match items.into_iter().find_map(|i| i.error.map(|e| (i.path, e))) {
        Some((path, e)) => Err(Error::File {
            action,
            path,
            kind: e.kind.filter(|k| !k.is_empty()),
            message: e.message,
        }),
        None => Ok(()),
    }
}

impl Client {
    /// Writes `data` to `path` (absolute) in the container, atomically, with `options`.
    pub fn push(&self, path: &str, data: impl AsRef<[u8]>, options: &FileOptions) -> Result<()> {
        let meta = json!({"action": "write", "files": [options.item(path, "make-dirs")]});
        let parts = [
            Part::json("request", &meta),
            Part::file("files", path, data.as_ref().to_vec()),
        ];
        let (boundary, body) = multipart::write(&parts);
        let request = Request {
            method: Method::Post,
            path: "/v1/files".into(),
            content_type: Some(multipart::content_type(&boundary)),
            accept: None,
            body,
        };
        let items: Vec<FileResult> = self.call(&request)?.decode(&request.describe())?;
        check_items("push", items)
    }

    /// Reads the file at `path` (absolute). A missing file is an [`Error::File`] of kind
    /// `not-found` ([`Error::is_not_found`]).
    pub fn pull(&self, path: &str) -> Result<Vec<u8>> {
        let mut request = Request::get(with_query(
            "/v1/files",
            &[("action", "read".into()), ("path", path.into())],
        ));
        request.accept = Some("multipart/form-data".into());
        let described = request.describe();
        let response = self.transport().roundtrip(&request)?;
        let Some(boundary) = multipart::boundary_of(&response.content_type) else {
            // Errors before the reply starts (a bad request) come as a plain envelope.
            wire::parse(&described, response.status, &response.body)?;
            return Err(Error::protocol(&described, "the reply is not multipart"));
        };
        let parts = multipart::parse(&response.body, &boundary)
            .map_err(|e| Error::protocol(&described, e))?;
        let envelope_part = parts
            .iter()
            .find(|p| p.name == "response")
            .ok_or_else(|| Error::protocol(&described, "no `response` part"))?;
        let envelope = wire::parse(&described, response.status, &envelope_part.body)?;
        let items: Vec<FileResult> = envelope.decode(&described)?;
        check_items("pull", items)?;
        parts
            .into_iter()
            .find(|p| p.name == "files" && p.filename.as_deref() == Some(path))
            .map(|p| p.body)
            .ok_or_else(|| Error::protocol(&described, format!("no file part for {path}")))
    }

    /// Lists the directory at `path` (or the file itself, or the directory itself with
    /// `itself`), keeping names matching the glob `pattern` when given. A missing path is an
    /// [`Error::Api`] of kind `not-found`.
    pub fn list_files(
        &self,
        path: &str,
        pattern: Option<&str>,
        itself: bool,
    ) -> Result<Vec<FileInfo>> {
        self.get(&with_query(
            "/v1/files",
            &[
                ("action", "list".into()),
                ("path", path.into()),
                ("pattern", pattern.unwrap_or_default().into()),
                ("itself", if itself { "true".into() } else { String::new() }),
            ],
        ))
    }

    /// Whether `path` exists in the container.
    pub fn exists(&self, path: &str) -> Result<bool> {
        match self.list_files(path, None, true) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether `path` exists and is a directory.
    pub fn is_dir(&self, path: &str) -> Result<bool> {
        match self.list_files(path, None, true) {
            Ok(items) => Ok(items.first().map(|i| &i.r#type) == Some(&FileType::Directory)),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates the directory `path`, with parents when `options.make_dirs`.
    pub fn make_dir(&self, path: &str, options: &FileOptions) -> Result<()> {
        let body = json!({"action": "make-dirs", "dirs": [options.item(path, "make-parents")]});
        let items: Vec<FileResult> = self.post("/v1/files", &body)?;
        check_items("make-dir", items)
    }

    /// Removes `path` (a file or an empty directory; anything with `recursive`).
    pub fn remove_path(&self, path: &str, recursive: bool) -> Result<()> {
        let body = json!({"action": "remove", "paths": [{"path": path, "recursive": recursive}]});
        let items: Vec<FileResult> = self.post("/v1/files", &body)?;
        check_items("remove", items)
    }
}
