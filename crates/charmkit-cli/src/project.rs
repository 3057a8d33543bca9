//! A charm project as `charmcraft pack` reads it: `metadata.yaml` (what Juju reads about the
//! charm) beside a `charmcraft.yaml` (the build, config and actions), and what charmcraft
//! writes from them into a packed charm.
//!
//! What charmcraft 4.5 does, and so we do (its `services/package.py` and `preprocess.py`):
//!
//! * `metadata.yaml` is copied into the charm byte for byte;
//! * `config.yaml` and `actions.yaml` are copied when they are files of the project, else
//!   written from `charmcraft.yaml`'s `config` and `actions` with `yaml.safe_dump` (see
//!   [`crate::pyyaml`]); neither is written when empty; a project may not have both the file
//!   and the key;
//! * a charm file per platform, named `<name>_<platform>.charm` with `:` in the platform's
//!   name turned into `-`.
//!
//! Where charmcraft is lenient we refuse: it refuses only `name`, `summary` and `description` in
//! both files and silently ignores the other metadata keys of `charmcraft.yaml` when
//! `metadata.yaml` exists; we refuse every metadata key in `charmcraft.yaml` then. We read YAML
//! 1.2 where charmcraft (PyYAML) reads YAML 1.1: a plain `yes`, `on`, `017` or `1_000` in
//! `config`/`actions` is a string to us and a boolean or integer to charmcraft — write `true`
//! or a plain decimal number.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_norway::{Mapping, Value};

use crate::pyyaml::{self, KeyOrder};

/// The keys that belong in `metadata.yaml` (charmcraft's `METADATA_YAML_KEYS` and
/// `CHARM_METADATA_KEYS`).
pub const METADATA_KEYS: &[&str] = &[
    "assumes",
    "containers",
    "description",
    "devices",
    "display-name",
    "docs",
    "documentation",
    "extra-bindings",
    "issues",
    "links",
    "maintainers",
    "name",
    "peers",
    "provides",
    "requires",
    "resources",
    "series",
    "storage",
    "subordinate",
    "summary",
    "terms",
    "title",
    "website",
];

/// A problem with the project's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectError {
    /// The file at fault.
    pub file: PathBuf,
    /// What is wrong, and what to do.
    pub message: String,
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for ProjectError {}

/// One platform of `charmcraft.yaml`: one `.charm` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// The platform's name in `charmcraft.yaml` (`ubuntu@22.04:amd64`, or `amd64` beside a
    /// top-level `base`).
    pub label: String,
    /// The base's operating system (`ubuntu`).
    pub os: String,
    /// The base's channel (`22.04`).
    pub channel: String,
    /// The Debian architecture name (`amd64`).
    pub arch: String,
}

impl Platform {
    /// The charm file's name, as charmcraft names it.
    pub fn charm_file_name(&self, charm: &str) -> String {
        format!("{charm}_{}.charm", self.label.replace(':', "-"))
    }
}

/// What `charmcraft pack` reads from a project, and the files it writes from it.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project directory.
    pub dir: PathBuf,
    /// The charm's name (`metadata.yaml`'s `name`).
    pub name: String,
    /// The platforms, in `charmcraft.yaml`'s order.
    pub platforms: Vec<Platform>,
    /// `metadata.yaml`, byte for byte.
    pub metadata_yaml: Vec<u8>,
    /// `config.yaml` as packed, if any.
    pub config_yaml: Option<Vec<u8>>,
    /// `actions.yaml` as packed, if any.
    pub actions_yaml: Option<Vec<u8>>,
}

impl Project {
    /// Reads `charmcraft.yaml`, `metadata.yaml` and any `config.yaml`/`actions.yaml` in `dir`.
    pub fn load(dir: &Path) -> Result<Project, ProjectError> {
        let charmcraft_path = dir.join("charmcraft.yaml");
        let metadata_path = dir.join("metadata.yaml");
        let charmcraft = mapping(&charmcraft_path, &read(&charmcraft_path)?)?;
        let metadata_yaml = read(&metadata_path).map_err(|mut e| {
            e.message.push_str(
                " (pack writes the layout of this repository: the charm's metadata in \
                 metadata.yaml beside a charmcraft.yaml that holds the build)",
            );
            e
        })?;
        let metadata = mapping(&metadata_path, &metadata_yaml)?;
        let err = |file: &Path, message: String| ProjectError {
            file: file.to_path_buf(),
            message,
        };

        let misplaced: Vec<&str> = charmcraft
            .keys()
            .filter_map(Value::as_str)
            .filter(|k| METADATA_KEYS.contains(k))
            .collect();
        if !misplaced.is_empty() {
            return Err(err(
                &charmcraft_path,
                format!(
                    "{} belong{} in metadata.yaml: with a metadata.yaml beside it, charmcraft \
                     refuses name, summary and description here and ignores the rest",
                    misplaced.join(", "),
                    if misplaced.len() == 1 { "s" } else { "" }
                ),
            ));
        }
        if charmcraft.get("type").and_then(Value::as_str) != Some("charm") {
            return Err(err(&charmcraft_path, "`type: charm` is missing".into()));
        }
        let name = match metadata.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => return Err(err(&metadata_path, "`name` is missing".into())),
        };
        let platforms = platforms(&charmcraft_path, &charmcraft)?;
        let config_yaml = packed_file(dir, &charmcraft_path, &charmcraft, "config")?;
        let actions_yaml = packed_file(dir, &charmcraft_path, &charmcraft, "actions")?;
        Ok(Project {
            dir: dir.to_path_buf(),
            name,
            platforms,
            metadata_yaml,
            config_yaml,
            actions_yaml,
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ProjectError> {
    std::fs::read(path).map_err(|e| ProjectError {
        file: path.to_path_buf(),
        message: format!("cannot read it: {e}"),
    })
}

fn mapping(path: &Path, bytes: &[u8]) -> Result<Mapping, ProjectError> {
    let err = |message: String| ProjectError {
        file: path.to_path_buf(),
        message,
    };
    match serde_norway::from_slice::<Value>(bytes) {
        Ok(Value::Mapping(m)) => Ok(m),
        Ok(_) => Err(err("not a YAML mapping".into())),
        Err(e) => Err(err(format!("invalid YAML: {e}"))),
    }
}

/// `config.yaml` or `actions.yaml` as charmcraft packs it: the project's file verbatim, else
/// the `charmcraft.yaml` key written by `yaml.safe_dump`, else nothing.
fn packed_file(
    dir: &Path,
    charmcraft_path: &Path,
    charmcraft: &Mapping,
    key: &str,
) -> Result<Option<Vec<u8>>, ProjectError> {
    let file = dir.join(format!("{key}.yaml"));
    let value = charmcraft.get(key);
    if file.is_file() {
        if value.is_some() {
            return Err(ProjectError {
                file: charmcraft_path.to_path_buf(),
                message: format!(
                    "`{key}` is here and in {key}.yaml; charmcraft refuses both: keep one"
                ),
            });
        }
        return read(&file).map(Some);
    }
    let Some(value) = value else { return Ok(None) };
    let empty = match value {
        Value::Null => true,
        Value::Mapping(m) => m.is_empty(),
        _ => false,
    };
    if empty {
        return Ok(None);
    }
    if !value.is_mapping() {
        return Err(ProjectError {
            file: charmcraft_path.to_path_buf(),
            message: format!("`{key}` is not a mapping"),
        });
    }
    pyyaml::dump(value, KeyOrder::Sorted)
        .map(|s| Some(s.into_bytes()))
        .map_err(|e| ProjectError {
            file: charmcraft_path.to_path_buf(),
            message: format!("cannot write `{key}` as charmcraft would: {e}"),
        })
}

/// The Debian names of the architectures charmcraft knows.
const ARCHES: &[&str] = &["amd64", "arm64", "armhf", "ppc64el", "riscv64", "s390x"];

/// The platforms of a `platforms:` project (charmcraft 3+): `<base>:<arch>` names, or
/// architecture names beside a top-level `base`, or entries with a one-item `build-for`.
fn platforms(path: &Path, charmcraft: &Mapping) -> Result<Vec<Platform>, ProjectError> {
    let err = |message: String| ProjectError {
        file: path.to_path_buf(),
        message,
    };
    if charmcraft.contains_key("bases") {
        return Err(err(
            "`bases` (charmcraft 2's syntax) is not supported: use `base` and `platforms`".into(),
        ));
    }
    let base = charmcraft.get("base").and_then(Value::as_str);
    let Some(Value::Mapping(entries)) = charmcraft.get("platforms") else {
        return Err(err("`platforms` is missing".into()));
    };
    let mut out = Vec::new();
    for (label, entry) in entries {
        let Some(label) = label.as_str() else {
            return Err(err("a platform name that is not a string".into()));
        };
        let target = match entry {
            Value::Null => label.to_string(),
            Value::Mapping(m) => match m.get("build-for") {
                Some(Value::Sequence(s)) if s.len() == 1 && s[0].is_string() => {
                    s[0].as_str().unwrap_or_default().to_string()
                }
                Some(Value::String(s)) => s.clone(),
                _ => {
                    return Err(err(format!(
                        "platform {label}: `build-for` must name one target"
                    )))
                }
            },
            _ => return Err(err(format!("platform {label}: not a mapping"))),
        };
        let (os, channel, arch) = match target.rsplit_once(':') {
            Some((b, arch)) => match b.split_once('@') {
                Some((os, channel)) => (os.to_string(), channel.to_string(), arch.to_string()),
                None => {
                    return Err(err(format!(
                        "platform {label}: base {b:?} is not <os>@<channel>"
                    )))
                }
            },
            None => match base.and_then(|b| b.split_once('@')) {
                Some((os, channel)) => (os.to_string(), channel.to_string(), target.clone()),
                None => {
                    return Err(err(format!(
                        "platform {label}: no base (name it <os>@<channel>:<arch>, or set `base`)"
                    )))
                }
            },
        };
        if !ARCHES.contains(&arch.as_str()) {
            return Err(err(format!(
                "platform {label}: unknown architecture {arch:?} (one of {})",
                ARCHES.join(", ")
            )));
        }
        out.push(Platform {
            label: label.to_string(),
            os,
            channel,
            arch,
        });
    }
    if out.is_empty() {
        return Err(err("`platforms` is empty".into()));
    }
    Ok(out)
}

/// The Debian name of the architecture this program was built for (the one `cargo build`
/// builds for here).
pub fn host_arch() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("amd64"),
        "aarch64" => Some("arm64"),
        "arm" => Some("armhf"),
        "powerpc64" if cfg!(target_endian = "little") => Some("ppc64el"),
        "riscv64" => Some("riscv64"),
        "s390x" => Some("s390x"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(
        charmcraft: &str,
        metadata: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Project, ProjectError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("charmcraft.yaml"), charmcraft).unwrap();
        if let Some(m) = metadata {
            std::fs::write(dir.path().join("metadata.yaml"), m).unwrap();
        }
        for (f, text) in extra {
            std::fs::write(dir.path().join(f), text).unwrap();
        }
        Project::load(dir.path())
    }

    const META: &str = "name: demo\nsummary: s\ndescription: d\n";

    #[test]
    fn multi_base_platforms_name_their_files() {
        let p = project(
            "type: charm\nplatforms:\n  ubuntu@22.04:amd64:\n  ubuntu@24.04:arm64:\n",
            Some(META),
            &[],
        )
        .unwrap();
        assert_eq!(p.name, "demo");
        let names: Vec<String> = p
            .platforms
            .iter()
            .map(|p| p.charm_file_name("demo"))
            .collect();
        assert_eq!(
            names,
            [
                "demo_ubuntu@22.04-amd64.charm",
                "demo_ubuntu@24.04-arm64.charm"
            ]
        );
        assert_eq!(p.platforms[1].channel, "24.04");
        assert_eq!(p.platforms[1].arch, "arm64");
        assert!(p.config_yaml.is_none() && p.actions_yaml.is_none());
        assert_eq!(p.metadata_yaml, META.as_bytes());
    }

    #[test]
    fn single_base_and_build_for_platforms() {
        let p = project(
            "type: charm\nbase: ubuntu@24.04\nplatforms:\n  amd64:\n  mine:\n    build-on: [amd64]\n    build-for: [ubuntu@22.04:s390x]\n",
            Some(META),
            &[],
        )
        .unwrap();
        let names: Vec<String> = p
            .platforms
            .iter()
            .map(|p| p.charm_file_name("demo"))
            .collect();
        assert_eq!(names, ["demo_amd64.charm", "demo_mine.charm"]);
        assert_eq!(
            (
                p.platforms[0].channel.as_str(),
                p.platforms[0].arch.as_str()
            ),
            ("24.04", "amd64")
        );
        assert_eq!(
            (
                p.platforms[1].channel.as_str(),
                p.platforms[1].arch.as_str()
            ),
            ("22.04", "s390x")
        );
    }

    #[test]
    fn config_and_actions_are_written_as_safe_dump_writes_them() {
        let p = project(
            "type: charm\nplatforms: {ubuntu@24.04:amd64: }\nconfig:\n  options:\n    z: {type: int, default: 3}\n    a: {type: string, description: \"two\\nlines\\n\"}\nactions:\n  go: {description: Go., params: {}}\n",
            Some(META),
            &[],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(p.config_yaml.unwrap()).unwrap(),
            "options:\n  a:\n    description: |\n      two\n      lines\n    type: string\n  z:\n    default: 3\n    type: int\n"
        );
        assert_eq!(
            String::from_utf8(p.actions_yaml.unwrap()).unwrap(),
            "go:\n  description: Go.\n  params: {}\n"
        );
    }

    #[test]
    fn project_files_are_copied_and_may_not_double_the_keys() {
        let config = "# mine\noptions: {}\n";
        let p = project(
            "type: charm\nplatforms: {ubuntu@24.04:amd64: }\nactions: {}\n",
            Some(META),
            &[("config.yaml", config)],
        )
        .unwrap();
        assert_eq!(p.config_yaml.unwrap(), config.as_bytes());
        assert!(
            p.actions_yaml.is_none(),
            "an empty `actions` writes no file"
        );
        let e = project(
            "type: charm\nplatforms: {ubuntu@24.04:amd64: }\nconfig: {options: {}}\n",
            Some(META),
            &[("config.yaml", config)],
        )
        .unwrap_err();
        assert!(
            e.message.contains("config.yaml; charmcraft refuses both"),
            "{e}"
        );
    }

    #[test]
    fn refusals_name_the_file_and_the_fix() {
        let cc = "type: charm\nplatforms: {ubuntu@24.04:amd64: }\n";
        let e = project(cc, None, &[]).unwrap_err();
        assert!(
            e.file.ends_with("metadata.yaml") && e.message.contains("cannot read"),
            "{e}"
        );
        let e = project(
            &format!("{cc}name: demo\nrequires: {{}}\n"),
            Some(META),
            &[],
        )
        .unwrap_err();
        assert!(e.file.ends_with("charmcraft.yaml"), "{e}");
        assert!(
            e.message
                .starts_with("name, requires belong in metadata.yaml"),
            "{e}"
        );
        let e = project(cc, Some("summary: s\n"), &[]).unwrap_err();
        assert_eq!(e.message, "`name` is missing");
        let e = project("type: charm\nplatforms: {amd64: }\n", Some(META), &[]).unwrap_err();
        assert!(e.message.contains("no base"), "{e}");
        let e = project(
            "type: charm\nplatforms: {ubuntu@24.04:x86_64: }\n",
            Some(META),
            &[],
        )
        .unwrap_err();
        assert!(e.message.contains("unknown architecture \"x86_64\""), "{e}");
        let e = project("type: charm\nbases: []\nplatforms: {}\n", Some(META), &[]).unwrap_err();
        assert!(e.message.contains("`bases`"), "{e}");
        let e = project("platforms: {ubuntu@24.04:amd64: }\n", Some(META), &[]).unwrap_err();
        assert_eq!(e.message, "`type: charm` is missing");
        let e = project("type: charm\nplatforms: [\n", Some(META), &[]).unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{e}");
    }
}
