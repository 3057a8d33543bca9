//! `charmkit new`: a new charm project, laid out as the reference charms are, named throughout.
//!
//! The project is the design card's layout — `Cargo.toml`, `charmcraft.yaml`, `metadata.yaml`,
//! `src/`, `dispatch`, `tests/`, `README.md` — with `rust-toolchain.toml` and `.gitignore`.
//! What it holds comes from two places, so that nothing the reference charms show is written
//! twice:
//!
//! * **the reference charm of its kind**, renamed: a machine charm is rust-starter (the
//!   repository's root), a Kubernetes charm is `examples/k8s-starter`. Their `src/charm.rs`,
//!   `src/main.rs` and `tests/charm.rs` are copied with the reference's names (charm, crate and
//!   type) replaced by the new charm's, and so are the root's `dispatch` script and
//!   `rust-toolchain.toml`. From their `Cargo.toml`, `metadata.yaml` and `charmcraft.yaml` come
//!   the dependencies (charmkit's line rewritten for where charmkit comes from, its features
//!   kept), the release profile, the relations (`charm-tracing` and `receive-ca-cert`; for
//!   Kubernetes also `assumes`, the container and its image resource), config and actions;
//! * **the templates** under `templates/` for what is the new charm's own: the package, the
//!   name, summary and description, the build (platforms and the rust part), `src/lib.rs`, the
//!   README and `.gitignore` (see [`template`] for their syntax).
//!
//! So a new charm's first `cargo test` runs the reference charm's own tests, renamed; the tests
//! of this repository build and test a scaffold of each kind to keep that true.
//!
//! charmkit is a dependency by version (crates.io, the default), by path, or from git
//! ([`CharmkitSource`]).

pub mod name;
pub mod template;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub use name::{CharmName, NameError};

/// What kind of charm to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A machine charm, like rust-starter.
    Machine,
    /// A Kubernetes sidecar charm, like k8s-starter: a workload container run by Pebble.
    Kubernetes,
}

impl Kind {
    /// The kind's name in templates' conditionals: `machine` or `k8s`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Machine => "machine",
            Kind::Kubernetes => "k8s",
        }
    }

    fn reference(self) -> &'static Reference {
        match self {
            Kind::Machine => &RUST_STARTER,
            Kind::Kubernetes => &K8S_STARTER,
        }
    }
}

/// Where the new charm's `charmkit` dependency comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CharmkitSource {
    /// crates.io, at [`charmkit_version`].
    #[default]
    Version,
    /// A directory: charmkit's crate, or a checkout of its repository (`crates/charmkit` in it).
    Path(PathBuf),
    /// A git repository holding charmkit.
    Git(String),
}

/// The charmkit version a new charm depends on: this command's own `major.minor` (charmkit and
/// its command are released together).
pub fn charmkit_version() -> String {
    format!(
        "{}.{}",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    )
}

/// What to write.
#[derive(Debug, Clone)]
pub struct Options {
    /// The charm's name.
    pub name: CharmName,
    /// Machine or Kubernetes.
    pub kind: Kind,
    /// Where charmkit comes from.
    pub charmkit: CharmkitSource,
    /// The project directory; it must not exist, or be empty.
    pub dir: PathBuf,
}

/// Why a project could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScaffoldError {
    /// The name cannot be a charm's (see [`CharmName::parse`]).
    Name(NameError),
    /// The name is one of the crates the charm depends on.
    NameTaken(String),
    /// The project directory exists and is not empty, or is not a directory.
    NotEmpty(PathBuf),
    /// `--path` does not lead to charmkit's crate.
    NoCharmkit(PathBuf),
    /// Reading or writing a file.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A template or a reference charm's file is not what the scaffold expects (a bug in this
    /// command: the tests render every template).
    Template(String),
}

impl fmt::Display for ScaffoldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScaffoldError::Name(e) => write!(f, "{e}"),
            ScaffoldError::NameTaken(n) => write!(
                f,
                "{n:?} cannot be the charm's name: the charm depends on a crate of that name"
            ),
            ScaffoldError::NotEmpty(d) => write!(
                f,
                "{} exists and is not an empty directory: choose another name or --dir \
                 (nothing was written)",
                d.display()
            ),
            ScaffoldError::NoCharmkit(d) => write!(
                f,
                "--path {}: no charmkit crate there or in its crates/charmkit",
                d.display()
            ),
            ScaffoldError::Io { path, .. } => write!(f, "{}", path.display()),
            ScaffoldError::Template(m) => write!(f, "template: {m}"),
        }
    }
}

impl std::error::Error for ScaffoldError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScaffoldError::Name(e) => Some(e),
            ScaffoldError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<NameError> for ScaffoldError {
    fn from(e: NameError) -> Self {
        ScaffoldError::Name(e)
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ScaffoldError + '_ {
    move |source| ScaffoldError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One file of the new project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Its path in the project.
    pub path: &'static str,
    /// Its text.
    pub text: String,
    /// Whether it is executable (`dispatch`).
    pub executable: bool,
}

/// A reference charm: its names and the files a new charm of its kind takes from it.
struct Reference {
    /// Its charm, crate and type names.
    names: [&'static str; 3],
    cargo_toml: &'static str,
    metadata_yaml: &'static str,
    charmcraft_yaml: &'static str,
    /// Copied with the names replaced: (path in the new project, text).
    files: &'static [(&'static str, &'static str)],
}

const RUST_STARTER: Reference = Reference {
    names: ["rust-starter", "rust_starter", "RustStarter"],
    cargo_toml: include_str!("../../../Cargo.toml"),
    metadata_yaml: include_str!("../../../metadata.yaml"),
    charmcraft_yaml: include_str!("../../../charmcraft.yaml"),
    files: &[
        ("src/charm.rs", include_str!("../../../src/charm.rs")),
        ("src/main.rs", include_str!("../../../src/main.rs")),
        ("tests/charm.rs", include_str!("../../../tests/charm.rs")),
    ],
};

const K8S_STARTER: Reference = Reference {
    names: ["k8s-starter", "k8s_starter", "K8sStarter"],
    cargo_toml: include_str!("../../../examples/k8s-starter/Cargo.toml"),
    metadata_yaml: include_str!("../../../examples/k8s-starter/metadata.yaml"),
    charmcraft_yaml: include_str!("../../../examples/k8s-starter/charmcraft.yaml"),
    files: &[
        (
            "src/charm.rs",
            include_str!("../../../examples/k8s-starter/src/charm.rs"),
        ),
        (
            "src/main.rs",
            include_str!("../../../examples/k8s-starter/src/main.rs"),
        ),
        (
            "tests/charm.rs",
            include_str!("../../../examples/k8s-starter/tests/charm.rs"),
        ),
    ],
};

/// The root's files every new charm takes (renamed from rust-starter's names): the development
/// `dispatch` script of a standalone project, and the pinned toolchain.
const ROOT_FILES: &[(&str, &str)] = &[
    ("dispatch", include_str!("../../../dispatch")),
    (
        "rust-toolchain.toml",
        include_str!("../../../rust-toolchain.toml"),
    ),
];

/// The templates: (path in the new project, text).
const TEMPLATES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/Cargo.toml")),
    ("README.md", include_str!("../templates/README.md")),
    (".gitignore", include_str!("../templates/gitignore")),
    ("metadata.yaml", include_str!("../templates/metadata.yaml")),
    (
        "charmcraft.yaml",
        include_str!("../templates/charmcraft.yaml"),
    ),
    ("src/lib.rs", include_str!("../templates/src/lib.rs")),
];

/// The keys of `metadata.yaml` a template writes; the rest comes from the reference charm.
const METADATA_HEADER: &[&str] = &["name", "display-name", "summary", "description"];

/// The project's files, rendered; nothing is written.
pub fn files(opts: &Options) -> Result<Vec<File>, ScaffoldError> {
    let reference = opts.kind.reference();
    let cargo = CargoTables::new(opts, reference)?;
    let name = charm_name(&opts.name, reference, &cargo)?;
    let vars = vars(opts, &name, reference, cargo)?;
    let new_names = [name.as_str(), name.crate_name(), name.type_name()];
    let mut out = Vec::new();
    for (path, template) in TEMPLATES {
        let text = template::render(template, opts.kind.as_str(), &vars)
            .map_err(|e| ScaffoldError::Template(format!("{path}: {e}")))?;
        out.push(File {
            path,
            text,
            executable: false,
        });
    }
    let renamed = ROOT_FILES
        .iter()
        .map(|f| (f, &RUST_STARTER.names))
        .chain(reference.files.iter().map(|f| (f, &reference.names)));
    for ((path, text), names) in renamed {
        out.push(File {
            path,
            text: template::rename(text, names, &new_names),
            executable: *path == "dispatch",
        });
    }
    Ok(out)
}

/// Writes the project into `opts.dir`, which must not exist or be empty; the files written.
pub fn write(opts: &Options) -> Result<Vec<PathBuf>, ScaffoldError> {
    let files = files(opts)?;
    match fs::read_dir(&opts.dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(ScaffoldError::NotEmpty(opts.dir.clone()));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            return Err(ScaffoldError::NotEmpty(opts.dir.clone()))
        }
        Err(e) => return Err(io_err(&opts.dir)(e)),
    }
    let mut written = Vec::new();
    for f in files {
        let path = opts.dir.join(f.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        fs::write(&path, &f.text).map_err(io_err(&path))?;
        if f.executable {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).map_err(io_err(&path))?;
        }
        written.push(path);
    }
    Ok(written)
}

/// The name as the project uses it: its type gets a `Charm` suffix if the reference's code
/// already uses that name (a charm called `config` would clash with its `Config`); a name that
/// is one of the charm's dependencies is refused.
fn charm_name(
    name: &CharmName,
    reference: &Reference,
    cargo: &CargoTables,
) -> Result<CharmName, ScaffoldError> {
    if cargo.crates().any(|d| d == name.crate_name()) {
        return Err(ScaffoldError::NameTaken(name.as_str().to_string()));
    }
    let clashes = |n: &CharmName| {
        n.type_name() != reference.names[2]
            && reference
                .files
                .iter()
                .any(|(_, code)| template::has_identifier(code, n.type_name()))
    };
    let name = if clashes(name) {
        name.clone().with_type_suffix()
    } else {
        name.clone()
    };
    if clashes(&name) {
        return Err(ScaffoldError::Template(format!(
            "no type name for {name}: {} is taken",
            name.type_name()
        )));
    }
    Ok(name)
}

/// The new charm's `[dependencies]` and `[dev-dependencies]`: the reference charm's lines for
/// the crates its copied code names, charmkit's line rewritten for where charmkit comes from
/// (its features kept). The reference's other crates serve files a new charm does not get.
struct CargoTables {
    dependencies: Vec<String>,
    dev_dependencies: Vec<String>,
    /// Where charmkit comes from, as README says it.
    charmkit_source: String,
}

impl CargoTables {
    fn new(opts: &Options, reference: &Reference) -> Result<CargoTables, ScaffoldError> {
        let table =
            |header: &str| template::toml_table(reference.cargo_toml, header).unwrap_or_default();
        let (dependencies, dev_dependencies) =
            (table("[dependencies]"), table("[dev-dependencies]"));
        let charmkit = dependencies
            .iter()
            .find(|l| crate_of(l) == Some("charmkit"))
            .ok_or_else(|| {
                ScaffoldError::Template(format!(
                    "{} does not depend on charmkit",
                    reference.names[0]
                ))
            })?;
        let (charmkit_line, charmkit_source) = charmkit_dependency(&opts.charmkit, charmkit)?;
        // A dependency's lines: the comment lines right above it, then its own.
        let used = |lines: Vec<&str>| -> Vec<String> {
            let mut out = Vec::new();
            let mut comments = Vec::new();
            for l in lines {
                let kept = match crate_of(l) {
                    None => {
                        if l.trim_start().starts_with('#') {
                            comments.push(l.to_string());
                        } else {
                            comments.clear();
                        }
                        continue;
                    }
                    Some("charmkit") => Some(charmkit_line.clone()),
                    Some(c) => {
                        let ident = c.replace('-', "_");
                        let named = reference
                            .files
                            .iter()
                            .any(|(_, code)| template::has_identifier(code, &ident));
                        named.then(|| l.to_string())
                    }
                };
                if let Some(line) = kept {
                    out.append(&mut comments);
                    out.push(line);
                }
                comments.clear();
            }
            out
        };
        Ok(CargoTables {
            dependencies: used(dependencies),
            dev_dependencies: used(dev_dependencies),
            charmkit_source,
        })
    }

    /// The crates the charm depends on, as Rust names them.
    fn crates(&self) -> impl Iterator<Item = String> + '_ {
        self.dependencies
            .iter()
            .chain(&self.dev_dependencies)
            .filter_map(|l| crate_of(l))
            .map(|c| c.replace('-', "_"))
    }
}

/// The crate a dependency line is for (`log = "0.4"` → `log`); `None` for a comment.
fn crate_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('#')).then_some(key)
}

/// The templates' placeholders.
fn vars(
    opts: &Options,
    name: &CharmName,
    reference: &Reference,
    cargo: CargoTables,
) -> Result<BTreeMap<&'static str, String>, ScaffoldError> {
    let missing =
        |what: &str| ScaffoldError::Template(format!("{} has no {what}", reference.names[0]));
    let profile = template::toml_table(RUST_STARTER.cargo_toml, "[profile.release]")
        .ok_or_else(|| missing("[profile.release]"))?;
    let metadata = template::yaml_tail(reference.metadata_yaml, |k| !METADATA_HEADER.contains(&k))
        .ok_or_else(|| missing("relations in metadata.yaml"))?;
    let config_and_actions = template::yaml_tail(reference.charmcraft_yaml, |k| {
        k == "config" || k == "actions"
    })
    .ok_or_else(|| missing("config or actions in charmcraft.yaml"))?;
    let summary = match opts.kind {
        Kind::Machine => {
            "A Juju machine charm written in Rust with charmkit, traced out of the box."
        }
        Kind::Kubernetes => {
            "A Kubernetes sidecar charm written in Rust with charmkit, traced out of the box."
        }
    };
    let dev_dependencies = if cargo.dev_dependencies.is_empty() {
        String::new()
    } else {
        format!(
            "\n[dev-dependencies]\n{}\n",
            cargo.dev_dependencies.join("\n")
        )
    };
    let mut vars: BTreeMap<&'static str, String> = [
        ("name", name.as_str().to_string()),
        ("type", name.type_name().to_string()),
        ("display-name", name.display_name()),
        ("summary", summary.to_string()),
        ("rust-version", env!("CARGO_PKG_RUST_VERSION").to_string()),
        ("dependencies", cargo.dependencies.join("\n")),
        ("dev-dependencies", dev_dependencies),
        (
            "release-profile",
            format!("[profile.release]\n{}", profile.join("\n")),
        ),
        ("metadata", metadata.trim_end().to_string()),
        (
            "config-and-actions",
            config_and_actions.trim_end().to_string(),
        ),
        ("charmkit-source", cargo.charmkit_source),
    ]
    .into();
    if let Some(image) = reference
        .metadata_yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("upstream-source:"))
    {
        vars.insert("workload-image", image.trim().to_string());
    }
    Ok(vars)
}

/// The new charm's `charmkit = …` line, with the features of the reference charm's line, and
/// how README names its source.
fn charmkit_dependency(
    source: &CharmkitSource,
    reference_line: &str,
) -> Result<(String, String), ScaffoldError> {
    let features = reference_line
        .find("features")
        .and_then(|at| {
            let end = reference_line[at..].find(']')?;
            Some(format!(", {}", &reference_line[at..=at + end]))
        })
        .unwrap_or_default();
    let quote = |s: &str| serde_json::to_string(s).expect("a string serializes");
    Ok(match source {
        CharmkitSource::Version => {
            let v = charmkit_version();
            let line = if features.is_empty() {
                format!("charmkit = \"{v}\"")
            } else {
                format!("charmkit = {{ version = \"{v}\"{features} }}")
            };
            (line, format!("crates.io (version {v})"))
        }
        CharmkitSource::Path(given) => {
            let dir = charmkit_crate(given)?;
            let shown = dir.to_string_lossy();
            (
                format!("charmkit = {{ path = {}{features} }}", quote(&shown)),
                format!("{shown} (a path)"),
            )
        }
        CharmkitSource::Git(url) => (
            format!("charmkit = {{ git = {}{features} }}", quote(url)),
            format!("{url} (git)"),
        ),
    })
}

/// charmkit's crate directory from `--path`: the crate itself, or a checkout holding it at
/// `crates/charmkit`; absolute, so the project can move.
fn charmkit_crate(given: &Path) -> Result<PathBuf, ScaffoldError> {
    for dir in [given.to_path_buf(), given.join("crates").join("charmkit")] {
        let Ok(text) = fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let is_charmkit = template::toml_table(&text, "[package]").is_some_and(|lines| {
            lines
                .iter()
                .any(|l| l.replace(' ', "") == "name=\"charmkit\"")
        });
        if is_charmkit {
            return fs::canonicalize(&dir).map_err(io_err(&dir));
        }
    }
    Err(ScaffoldError::NoCharmkit(given.to_path_buf()))
}

#[cfg(test)]
mod tests;
