//! A unit on disk for tests of a charm's real binary: a charm directory laid out as Juju lays it
//! out, and stub hook tools on `PATH` that record every call and answer as jujuc does for a unit
//! with nothing set (or from canned answers).

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::Package;

/// The generic stub: records `tool<US>arg<US>arg…` (and stdin for relation-set/state-set) in
/// `$STUB_STATE/calls`, then answers from `$STUB_STATE/resp/<tool_args>` or `resp/<tool>`,
/// or fails with `$STUB_STATE/exit.<tool>` + `stderr.<tool>`. Otherwise it answers as jujuc does
/// for a unit with nothing set: JSON with `--format=json`, else jujuc's smart format; a missing
/// key is `null` (`""` for `state-get`, an error with `--strict`); `secret-add`/`secret-set`
/// read their `KEY#file=PATH` files and refuse `KEY=` as Juju does; `resource-get` finds no
/// resource.
const STUB: &str = r#"#!/bin/sh
tool=${0##*/}
S="$STUB_STATE"
{ printf '%s' "$tool"; for a in "$@"; do printf '\037%s' "$a"; done
  case "$tool" in relation-set|state-set) printf '\037stdin='; tr '\n' ' ' ;; esac
  printf '\n'; } >> "$S/calls"
if [ -f "$S/exit.$tool" ]; then cat "$S/stderr.$tool" >&2 2>/dev/null; exit "$(cat "$S/exit.$tool")"; fi
key=$(printf '%s' "$tool $*" | tr ' /:' '___')
if [ -f "$S/resp/$key" ]; then cat "$S/resp/$key"; exit 0; fi
if [ -f "$S/resp/$tool" ]; then cat "$S/resp/$tool"; exit 0; fi
case "$tool" in action-*) [ -n "$JUJU_ACTION_NAME" ] || { echo "ERROR not running an action" >&2; exit 1; } ;; esac
json=; strict=; app=; appl=; name=; skip=; rest=
for a in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  if [ -n "$rest" ]; then [ -z "$name" ] && name=$a; continue; fi
  case "$a" in
    --format=json) json=1 ;;
    --format|-r|--relation|-s|--label|--unit|--description|--expire|--rotate|--owner|--revision|--endpoints|-l|--log-level|--file) skip=1 ;;
    --app) app=1; [ "$tool" = secret-revoke ] && skip=1 ;;
    --application) appl=1 ;;
    --strict) strict=1 ;;
    --) rest=1 ;;
    -?*) ;;
    *) [ -z "$name" ] && name=$a ;;
  esac
done
say() { if [ -n "$json" ]; then echo "$1"; elif [ -n "$2" ]; then echo "$2"; fi; }
case "$tool" in
  is-leader) say true True ;;
  relation-ids|opened-ports|secret-ids|storage-list) say '[]' ;;
  relation-list) if [ -n "$app" ]; then say '""'; else say '[]'; fi ;;
  relation-get|config-get|action-get)
    if [ -z "$name" ] || [ "$name" = - ]; then say '{}' '{}'; else say null; fi ;;
  state-get)
    if [ -z "$name" ] || [ "$name" = - ]; then say null '{}'
    elif [ -n "$strict" ]; then echo "ERROR \"$name\" not found" >&2; exit 1
    else say '""'; fi ;;
  status-get)
    one='{"message":"","status":"unknown","status-data":{}}'
    if [ -n "$appl" ]; then say "{\"application-status\":{\"message\":\"\",\"status\":\"unknown\",\"status-data\":{},\"units\":{\"$JUJU_UNIT_NAME\":$one}}}" unknown
    else say "$one" unknown; fi ;;
  goal-state) say '{"relations":{},"units":{}}' '{}' ;;
  relation-model-get) say "{\"uuid\":\"$JUJU_MODEL_UUID\"}" "uuid: $JUJU_MODEL_UUID" ;;
  resource-get)
    echo "ERROR could not download resource: resource#${JUJU_UNIT_NAME%/*}/$name not found" >&2
    exit 1 ;;
  secret-add|secret-set)
    for a in "$@"; do
      case "$a" in
        -*) ;;
        *'#file='*) f=${a#*#file=}; k=${a%%#file=*}
          if [ ! -r "$f" ]; then
            echo "ERROR reading content for secret key \"$k\": open $f: no such file or directory" >&2
            exit 2
          fi ;;
        *=*) v=$a; while [ "${v%=}" != "$v" ]; do v=${v%=}; done
          case "$v" in ?*=*) ;; *) echo "ERROR key value \"$a\" not valid" >&2; exit 2 ;; esac ;;
      esac
    done
    if [ "$tool" = secret-add ]; then
      n=$(( $(cat "$S/secret-seq" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$S/secret-seq"
      printf 'secret://%s/cstub%014d0\n' "$JUJU_MODEL_UUID" "$n"
    fi ;;
esac
"#;

const TOOLS: &[&str] = &[
    "is-leader",
    "relation-ids",
    "relation-list",
    "relation-get",
    "relation-set",
    "config-get",
    "status-set",
    "status-get",
    "application-version-set",
    "juju-log",
    "action-get",
    "action-set",
    "action-log",
    "action-fail",
    "open-port",
    "close-port",
    "opened-ports",
    "network-get",
    "goal-state",
    "storage-get",
    "storage-list",
    "storage-add",
    "resource-get",
    "relation-model-get",
    "secret-get",
    "secret-add",
    "secret-set",
    "secret-remove",
    "secret-info-get",
    "secret-grant",
    "secret-revoke",
    "secret-ids",
    "credential-get",
    "juju-reboot",
    "state-get",
    "state-set",
    "state-delete",
];

/// One recorded hook-tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The tool, e.g. `relation-set`.
    pub tool: String,
    /// Its arguments (and `stdin=…` last, for the tools that read stdin).
    pub args: Vec<String>,
}

impl Call {
    /// `tool arg arg…`.
    pub fn line(&self) -> String {
        format!("{} {}", self.tool, self.args.join(" "))
    }
}

/// A unit on disk: a charm directory, plus stub hook tools and their state.
pub struct Unit {
    /// The temporary directory holding it all (removed when the unit is dropped).
    pub root: tempfile::TempDir,
    /// The charm directory (`JUJU_CHARM_DIR`).
    pub charm_dir: PathBuf,
    /// The directory of the stub hook tools (first on `PATH`).
    pub stubs: PathBuf,
    /// The stubs' state: recorded calls, canned answers, failures.
    pub state: PathBuf,
    /// The unit's name: the charm's unit 0.
    pub name: String,
}

impl Unit {
    /// A unit of `charm` whose charm directory is its checkout's layout: `dispatch` (the
    /// script), `metadata.yaml`, `charmcraft.yaml` and `bin/<name>` (the test build).
    pub fn new(charm: &Package) -> Unit {
        Unit::with_charm_dir(charm, None)
    }

    /// Like [`Unit::new`], with the charm directory at `charm_dir` (e.g. on a small filesystem)
    /// instead of a fresh temporary one; stubs and their state stay in a temporary directory.
    pub fn with_charm_dir(charm: &Package, charm_dir: Option<PathBuf>) -> Unit {
        let unit = Unit::empty(charm, charm_dir);
        fs::create_dir_all(unit.charm_dir.join("bin")).unwrap();
        let dir = charm.dir();
        for f in ["dispatch", "metadata.yaml", "charmcraft.yaml"] {
            if dir.join(f).exists() {
                fs::copy(dir.join(f), unit.charm_dir.join(f)).unwrap();
            }
        }
        symlink(charm.binary, unit.charm_dir.join("bin").join(charm.name)).unwrap();
        unit
    }

    /// A unit whose charm directory is a packed charm unpacked into an empty directory, file
    /// modes kept, as Juju unpacks it.
    pub fn unpacked(package: &Package, charm: &Path) -> Unit {
        let unit = Unit::empty(package, None);
        let file = fs::File::open(charm).unwrap();
        zip::ZipArchive::new(file)
            .unwrap()
            .extract(&unit.charm_dir)
            .unwrap();
        unit
    }

    /// An empty charm directory (at `charm_dir`, or in a fresh temporary directory), stub hook
    /// tools and their state.
    fn empty(charm: &Package, charm_dir: Option<PathBuf>) -> Unit {
        let root = tempfile::tempdir().unwrap();
        let charm_dir = charm_dir.unwrap_or_else(|| root.path().join("charm"));
        let stubs = root.path().join("stubs");
        let state = root.path().join("state");
        for d in [&charm_dir, &stubs, &state.join("resp")] {
            fs::create_dir_all(d).unwrap();
        }
        let stub = stubs.join("stub");
        fs::write(&stub, STUB).unwrap();
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
        for t in TOOLS {
            symlink(&stub, stubs.join(t)).unwrap();
        }
        fs::write(state.join("calls"), "").unwrap();
        Unit {
            root,
            charm_dir,
            stubs,
            state,
            name: charm.unit_name(),
        }
    }

    /// Sets the stub answer for an exact command line (`tool arg arg…`) or a whole tool.
    pub fn respond(&self, command_line: &str, body: &str) {
        let key: String = command_line
            .chars()
            .map(|c| if matches!(c, ' ' | '/' | ':') { '_' } else { c })
            .collect();
        fs::write(self.state.join("resp").join(key), body).unwrap();
    }

    /// Makes every call of `tool` fail with `status` and `stderr`.
    pub fn fail(&self, tool: &str, status: i32, stderr: &str) {
        fs::write(self.state.join(format!("exit.{tool}")), status.to_string()).unwrap();
        fs::write(self.state.join(format!("stderr.{tool}")), stderr).unwrap();
    }

    /// A `./dispatch` command with the stubs first on PATH and a clean Juju environment.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(self.charm_dir.join("dispatch"));
        cmd.args(args)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.stubs.display()))
            .env("STUB_STATE", &self.state)
            .env("HOME", self.root.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs one hook (or action) through `./dispatch`, as Juju does.
    pub fn dispatch(&self, path: &str, extra: &[(&str, &str)]) -> Output {
        crate::output_retrying(&mut self.dispatch_command(path, extra))
    }

    /// The command [`Unit::dispatch`] runs, to spawn (and kill) it yourself.
    pub fn dispatch_command(&self, path: &str, extra: &[(&str, &str)]) -> Command {
        let charm_dir = self.charm_dir.display().to_string();
        let mut env = vec![
            ("JUJU_DISPATCH_PATH", path),
            ("JUJU_UNIT_NAME", self.name.as_str()),
            ("JUJU_MODEL_NAME", "test"),
            ("JUJU_MODEL_UUID", "a1b2c3d4-0000-4000-8000-000000000000"),
            ("JUJU_VERSION", "3.6.0"),
            ("JUJU_CHARM_DIR", charm_dir.as_str()),
        ];
        env.extend_from_slice(extra);
        self.command(&[], &env)
    }

    /// Runs an action through `./dispatch`, as Juju does.
    pub fn run_action(&self, name: &str) -> Output {
        let path = format!("actions/{name}");
        self.dispatch(
            &path,
            &[("JUJU_ACTION_NAME", name), ("JUJU_ACTION_UUID", "1")],
        )
    }

    /// Calls recorded since the last `take_calls`.
    pub fn take_calls(&self) -> Vec<Call> {
        let path = self.state.join("calls");
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, "").unwrap();
        text.lines()
            .map(|l| {
                let mut parts = l.split('\u{1f}').map(String::from);
                Call {
                    tool: parts.next().unwrap_or_default(),
                    args: parts.collect(),
                }
            })
            .collect()
    }

    /// A path inside the charm directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.charm_dir.join(rel)
    }
}

/// The hook-tool calls but the logging, one line each (`tool arg arg…`).
pub fn tools(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.tool != "juju-log")
        .map(Call::line)
        .collect()
}
