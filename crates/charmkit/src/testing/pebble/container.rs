//! The fake Pebble's state, as plain data: what a test sets up and asserts on.

use std::collections::BTreeMap;

use crate::pebble::{Change, CheckInfo, Layer, Notice, Plan, ServiceStatus};

use super::plan;

/// What is at one path of the container's filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsKind {
    /// A regular file and its bytes.
    File(Vec<u8>),
    /// A directory.
    Directory,
}

/// One filesystem entry, with Pebble's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    /// File (with its bytes) or directory.
    pub kind: FsKind,
    /// Permission bits (`0o644`).
    pub permissions: u32,
    /// Owner id.
    pub user_id: u32,
    /// Owner name.
    pub user: String,
    /// Group id.
    pub group_id: u32,
    /// Group name.
    pub group: String,
    /// Last modification (RFC 3339).
    pub last_modified: String,
}

impl FsEntry {
    /// A root-owned directory with mode 0o755.
    pub fn dir() -> FsEntry {
        FsEntry::new(FsKind::Directory, 0o755)
    }

    /// A root-owned file with mode 0o644.
    pub fn file(data: impl Into<Vec<u8>>) -> FsEntry {
        FsEntry::new(FsKind::File(data.into()), 0o644)
    }

    fn new(kind: FsKind, permissions: u32) -> FsEntry {
        FsEntry {
            kind,
            permissions,
            user_id: 0,
            user: "root".into(),
            group_id: 0,
            group: "root".into(),
            last_modified: crate::pebble::wire::now(),
        }
    }

    /// The file's bytes (`None` for a directory).
    pub fn data(&self) -> Option<&[u8]> {
        match &self.kind {
            FsKind::File(d) => Some(d),
            FsKind::Directory => None,
        }
    }
}

/// What a command run with exec does in the fake: its output and exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// Written to stdout.
    pub stdout: Vec<u8>,
    /// Written to stderr.
    pub stderr: Vec<u8>,
    /// The exit code.
    pub exit_code: i32,
}

/// Answers exec calls whose command starts with `prefix` (the longest matching prefix wins).
/// A command no handler matches is refused as Pebble refuses a command it cannot find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecHandler {
    /// The command prefix, e.g. `["ls", "-l"]` (empty: every command).
    pub prefix: Vec<String>,
    /// What the command does.
    pub result: ExecResult,
}

/// One exec the fake ran: what the charm asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRecord {
    /// The command.
    pub command: Vec<String>,
    /// The environment Pebble computed (its defaults, then the request's).
    pub environment: BTreeMap<String, String>,
    /// The working directory.
    pub working_dir: String,
    /// The user id it ran as.
    pub user_id: Option<u32>,
    /// The group id it ran as.
    pub group_id: Option<u32>,
    /// The timeout asked for (a Go duration), if any.
    pub timeout: Option<String>,
    /// What the charm wrote to stdin.
    pub stdin: Vec<u8>,
}

/// How a service fails to start in the fake: it "exits quickly".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartFailure {
    /// Its exit code.
    pub exit_code: i32,
    /// Its last output, shown in the task log.
    pub output: String,
}

/// A user of the container (for file ownership and exec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its name.
    pub name: String,
    /// Its id.
    pub uid: u32,
    /// Its primary group id.
    pub gid: u32,
    /// Its home directory.
    pub home: String,
}

/// One workload container as the fake Pebble sees it. Plain data: build one, hand it to
/// [`FakePebble`](super::FakePebble), run, then read it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// The container's name (as in `containers:` of the metadata).
    pub name: String,
    /// Whether Pebble answers (false: every call fails to connect).
    pub can_connect: bool,
    /// The layers, in order, by label.
    pub layers: Vec<(String, Layer)>,
    /// Each service's state (absent: inactive).
    pub service_statuses: BTreeMap<String, ServiceStatus>,
    /// The filesystem, by absolute path (`/` and its parents implied only when listed).
    pub files: BTreeMap<String, FsEntry>,
    /// What exec runs.
    pub exec_handlers: Vec<ExecHandler>,
    /// Every exec that ran, in order.
    pub exec_history: Vec<ExecRecord>,
    /// Pebble's changes, oldest first (start, stop, restart, replan, exec…, with their tasks'
    /// logs), kept across dispatches as Pebble keeps them.
    pub changes: Vec<Change>,
    /// The notices.
    pub notices: Vec<Notice>,
    /// The checks' states, for checks of the plan (others default to up).
    pub check_infos: Vec<CheckInfo>,
    /// Services that fail to start.
    pub start_failures: BTreeMap<String, StartFailure>,
    /// Signals sent: (signal, service).
    pub signals: Vec<(String, String)>,
    /// Users (root is there from the start).
    pub users: Vec<User>,
    /// Groups by name (root is there from the start).
    pub groups: BTreeMap<String, u32>,
}

impl Container {
    /// A reachable container with `/`, `/etc`, `/tmp`, `/root` and `/var`, user and group root.
    pub fn new(name: &str) -> Container {
        let files = ["/", "/etc", "/root", "/tmp", "/var"]
            .into_iter()
            .map(|p| (p.to_string(), FsEntry::dir()))
            .collect();
        Container {
            name: name.into(),
            can_connect: true,
            layers: Vec::new(),
            service_statuses: BTreeMap::new(),
            files,
            exec_handlers: Vec::new(),
            exec_history: Vec::new(),
            changes: Vec::new(),
            notices: Vec::new(),
            check_infos: Vec::new(),
            start_failures: BTreeMap::new(),
            signals: Vec::new(),
            users: vec![User {
                name: "root".into(),
                uid: 0,
                gid: 0,
                home: "/root".into(),
            }],
            groups: [("root".to_string(), 0)].into(),
        }
    }

    /// With a layer added (as `add_layer` without combine would).
    pub fn with_layer(mut self, label: &str, layer: Layer) -> Container {
        self.layers.push((label.into(), layer));
        self
    }

    /// With a file (its parent directories created).
    pub fn with_file(mut self, path: &str, data: impl Into<Vec<u8>>) -> Container {
        let mut parent = String::new();
        for comp in path
            .split('/')
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
            .split_last()
            .map(|(_, p)| p.to_vec())
            .unwrap_or_default()
        {
            parent.push('/');
            parent.push_str(comp);
            self.files
                .entry(parent.clone())
                .or_insert_with(FsEntry::dir);
        }
        self.files.insert(path.into(), FsEntry::file(data));
        self
    }

    /// With an exec handler for commands starting with `prefix`.
    pub fn with_exec(mut self, prefix: &[&str], result: ExecResult) -> Container {
        self.exec_handlers.push(ExecHandler {
            prefix: prefix.iter().map(|s| s.to_string()).collect(),
            result,
        });
        self
    }

    /// With a notice (e.g. [`Notice::custom`]).
    pub fn with_notice(mut self, notice: Notice) -> Container {
        self.notices.push(notice);
        self
    }

    /// With a check's state (the check must be in the plan, with the same level, startup and
    /// threshold, or the harness refuses the test).
    pub fn with_check_info(mut self, info: CheckInfo) -> Container {
        self.check_infos.push(info);
        self
    }

    /// The notice with this id.
    pub fn notice(&self, id: &str) -> Option<&Notice> {
        self.notices.iter().find(|n| n.id == id)
    }

    /// The state of the check `name`, if the container has one.
    pub fn check_info(&self, name: &str) -> Option<&CheckInfo> {
        self.check_infos.iter().find(|c| c.name == name)
    }

    /// With a user (and its primary group, named after it).
    pub fn with_user(mut self, name: &str, uid: u32, gid: u32) -> Container {
        self.users.push(User {
            name: name.into(),
            uid,
            gid,
            home: format!("/home/{name}"),
        });
        self.groups.entry(name.into()).or_insert(gid);
        self
    }

    /// The bytes of the file at `path`, if there is one.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).and_then(FsEntry::data)
    }

    /// The plan: the layers combined as Pebble combines them.
    pub fn plan(&self) -> Result<Plan, String> {
        plan::combine(&self.layers)
    }

    /// A service's status (inactive when never started).
    pub fn service_status(&self, name: &str) -> ServiceStatus {
        self.service_statuses
            .get(name)
            .cloned()
            .unwrap_or(ServiceStatus::Inactive)
    }
}
