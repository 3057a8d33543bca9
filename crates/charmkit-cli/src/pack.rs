//! `charmkit pack`: the charm's `.charm` files, as `charmcraft pack` writes them, built here
//! (`cargo xtask pack` in this repository).
//!
//! It builds the charm's release binary (`cargo build --release --locked`, as charmcraft's rust
//! plugin builds with `cargo install --locked`) and writes, for each platform of
//! `charmcraft.yaml` whose architecture is the binary's, a zip named as charmcraft names it
//! holding exactly:
//!
//! * `dispatch` — **the binary itself**, mode 0755. Juju runs `dispatch` for every event; a
//!   binary there costs no shell (goops packs its charms the same way). Not a symlink to the
//!   binary: Juju's archive extraction would honour one (juju/utils `zip.Extract` recreates
//!   in-tree relative links), but charmcraft never writes one (its zip follows links), and
//!   Python's `zipfile` — what charmcraft's own `analyse` unpacks with — writes the link's target
//!   path into a plain file. The checkout keeps its `dispatch` script for development;
//! * `metadata.yaml`, `config.yaml`, `actions.yaml` — see [`crate::project`];
//! * `manifest.yaml` — charmcraft's fields in charmcraft's order (see [`manifest_yaml`]).
//!
//! It refuses a binary that needs a newer glibc than a platform's base has (see
//! [`crate::glibc`]).
//!
//! Entries are deflated, with Unix modes and no directory entries, as Python's `zipfile` writes
//! them for charmcraft.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_norway::{Mapping, Value};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::glibc;
use crate::project::{Platform, Project, ProjectError};
use crate::pyyaml::{self, KeyOrder};

/// The charmcraft release whose packing this reproduces (and which the tests compare with).
pub const CHARMCRAFT_VERSION: &str = "4.5.0";

/// What `manifest.yaml` says packed the charm: charmcraft's version with a local label (PEP 440
/// and semver both read it) that says it was not charmcraft.
pub const PACKED_BY: &str = "4.5.0+charmkit";

/// What to pack.
#[derive(Debug, Clone)]
pub struct Options {
    /// The charm project: `charmcraft.yaml`, `metadata.yaml`, the charm's `Cargo.toml`.
    pub project_dir: PathBuf,
    /// Where the `.charm` files go.
    pub output_dir: PathBuf,
    /// Platform names to pack (`charmcraft pack --platform`); empty: every platform of the
    /// binary's architecture.
    pub platforms: Vec<String>,
    /// Pack this binary instead of building one.
    pub binary: Option<PathBuf>,
    /// Keep cargo's output unless the build fails.
    pub quiet: bool,
}

/// Why packing failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PackError {
    /// The project's files.
    Project(ProjectError),
    /// `cargo build` failed, or built no single binary for the charm.
    Build(String),
    /// No platform to pack, or a platform that does not fit the binary.
    Platform(String),
    /// Reading or writing a file.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Writing the zip.
    Zip {
        /// The charm file.
        path: PathBuf,
        /// The error.
        source: zip::result::ZipError,
    },
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PackError::Project(e) => write!(f, "{e}"),
            PackError::Build(m) => write!(f, "build: {m}"),
            PackError::Platform(m) => write!(f, "{m}"),
            PackError::Io { path, .. } => write!(f, "{}", path.display()),
            PackError::Zip { path, .. } => write!(f, "writing {}", path.display()),
        }
    }
}

impl std::error::Error for PackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PackError::Io { source, .. } => Some(source),
            PackError::Zip { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<ProjectError> for PackError {
    fn from(e: ProjectError) -> Self {
        PackError::Project(e)
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PackError + '_ {
    move |source| PackError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One `.charm` written.
#[derive(Debug, Clone)]
pub struct Packed {
    /// The charm file.
    pub path: PathBuf,
    /// Its platform.
    pub platform: Platform,
}

/// Builds (unless given a binary) and packs; `progress` hears what happens.
pub fn pack(opts: &Options, progress: &mut dyn FnMut(&str)) -> Result<Vec<Packed>, PackError> {
    let project = Project::load(&opts.project_dir)?;
    let binary = match &opts.binary {
        Some(b) => b.clone(),
        None => {
            progress("building the charm: cargo build --release --locked");
            build_release(&project.dir, opts.quiet)?
        }
    };
    let bytes = fs::read(&binary).map_err(io_err(&binary))?;
    let arch = elf_arch(&bytes).ok_or_else(|| {
        PackError::Platform(format!(
            "{} is not an ELF executable of a known architecture",
            binary.display()
        ))
    })?;
    let platforms = select(&project, &opts.platforms, arch, progress)?;
    match glibc::needs(&bytes) {
        Ok(needs) => runs_on(needs.last().copied(), &platforms, progress)?,
        Err(e) => progress(&format!(
            "cannot read the binary's glibc needs ({e}); not checked"
        )),
    }
    fs::create_dir_all(&opts.output_dir).map_err(io_err(&opts.output_dir))?;
    let now = Timestamp::now();
    let mut out = Vec::new();
    for platform in platforms {
        let path = opts
            .output_dir
            .join(platform.charm_file_name(&project.name));
        write_charm(&path, &project, &platform, &bytes, &now)?;
        progress(&format!("packed {}", path.display()));
        out.push(Packed { path, platform });
    }
    Ok(out)
}

/// The platforms to pack: those named, else every one of the binary's architecture.
fn select(
    project: &Project,
    names: &[String],
    arch: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Platform>, PackError> {
    if !names.is_empty() {
        let mut out = Vec::new();
        for name in names {
            let p = project
                .platforms
                .iter()
                .find(|p| &p.label == name)
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        project.platforms.iter().map(|p| p.label.as_str()).collect();
                    PackError::Platform(format!(
                        "no platform {name:?} in charmcraft.yaml (it has {})",
                        known.join(", ")
                    ))
                })?;
            if p.arch != arch {
                return Err(PackError::Platform(format!(
                    "platform {name} is for {}, the binary is {arch}",
                    p.arch
                )));
            }
            out.push(p.clone());
        }
        return Ok(out);
    }
    let (mine, others): (Vec<&Platform>, Vec<&Platform>) =
        project.platforms.iter().partition(|p| p.arch == arch);
    for p in &others {
        progress(&format!(
            "skipping platform {}: it is for {}, the binary is {arch}",
            p.label, p.arch
        ));
    }
    if mine.is_empty() {
        return Err(PackError::Platform(format!(
            "no platform in charmcraft.yaml is for {arch}, the binary's architecture"
        )));
    }
    Ok(mine.into_iter().cloned().collect())
}

/// Refuses a binary that needs a newer glibc than a platform's base has: it would not start
/// there.
fn runs_on(
    newest: Option<glibc::Version>,
    platforms: &[Platform],
    progress: &mut dyn FnMut(&str),
) -> Result<(), PackError> {
    let Some(newest) = newest else {
        return Ok(()); // static, or no versioned glibc symbol
    };
    for p in platforms {
        match glibc::of_base(&p.os, &p.channel) {
            Some(has) if newest > has => {
                return Err(PackError::Platform(format!(
                    "the binary needs {}, {} {} has {}: it would not start there. Build it on \
                     {} {} (or with a glibc no newer), or pack only the newer bases with \
                     --platform",
                    glibc::show(newest),
                    p.os,
                    p.channel,
                    glibc::show(has),
                    p.os,
                    p.channel
                )))
            }
            Some(_) => {}
            None => progress(&format!(
                "platform {}: glibc of {} {} unknown; not checked (the binary needs {})",
                p.label,
                p.os,
                p.channel,
                glibc::show(newest)
            )),
        }
    }
    Ok(())
}

/// Builds the release binary of the package at `project_dir` and returns its path.
pub fn build_release(project_dir: &Path, quiet: bool) -> Result<PathBuf, PackError> {
    let manifest = project_dir.join("Cargo.toml");
    let mut cmd = cargo_command();
    cmd.args([
        "build",
        "--release",
        "--locked",
        "--message-format=json-render-diagnostics",
        "--manifest-path",
    ])
    .arg(&manifest)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(if quiet {
        Stdio::piped()
    } else {
        Stdio::inherit()
    });
    let out = cmd.output().map_err(|e| {
        let cargo = cmd.get_program().to_string_lossy();
        PackError::Build(format!("cannot run {cargo}: {e}"))
    })?;
    if !out.status.success() {
        return Err(PackError::Build(format!(
            "cargo build failed ({}){}",
            out.status,
            if quiet {
                format!(":\n{}", String::from_utf8_lossy(&out.stderr))
            } else {
                String::new()
            }
        )));
    }
    let wanted = fs::canonicalize(&manifest).map_err(io_err(&manifest))?;
    let mut bins = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_bin = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "bin"));
        let ours = msg["manifest_path"]
            .as_str()
            .and_then(|p| fs::canonicalize(p).ok())
            .is_some_and(|p| p == wanted);
        if msg["reason"] == "compiler-artifact" && is_bin && ours {
            if let Some(exe) = msg["executable"].as_str() {
                bins.push(PathBuf::from(exe));
            }
        }
    }
    match bins.len() {
        1 => Ok(bins.remove(0)),
        n => Err(PackError::Build(format!(
            "{} has {n} binaries; the charm's package needs exactly one (it becomes dispatch)",
            manifest.display()
        ))),
    }
}

/// `cargo` (`$CARGO`, the one running us under `cargo run` or `cargo test`, else from `PATH`),
/// without the variables cargo sets for the package it runs (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`…). A build script that watches one (ring's watches `CARGO_MANIFEST_DIR`) would
/// see it change and rerun, and everything above it would rebuild, each time a build from here
/// alternates with one from a shell.
pub fn cargo_command() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let per_package = [
            "CARGO_PKG_",
            "CARGO_BIN_",
            "CARGO_CRATE_",
            "CARGO_MANIFEST_",
        ]
        .iter()
        .any(|p| key.starts_with(p))
            || matches!(&*key, "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR");
        if per_package {
            cmd.env_remove(&*key);
        }
    }
    cmd
}

/// The Debian architecture of an ELF executable, from its header's `e_machine`.
pub fn elf_arch(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return None;
    }
    let machine = match bytes[5] {
        1 => u16::from_le_bytes([bytes[18], bytes[19]]),
        2 => u16::from_be_bytes([bytes[18], bytes[19]]),
        _ => return None,
    };
    let little = bytes[5] == 1;
    match machine {
        0x3e => Some("amd64"),
        0xb7 => Some("arm64"),
        0x28 => Some("armhf"),
        0x15 if little => Some("ppc64el"),
        0xf3 => Some("riscv64"),
        0x16 => Some("s390x"),
        _ => None,
    }
}

/// Writes one `.charm`, to a temporary name first so a failed pack leaves no half a charm.
fn write_charm(
    path: &Path,
    project: &Project,
    platform: &Platform,
    binary: &[u8],
    now: &Timestamp,
) -> Result<(), PackError> {
    let tmp = path.with_extension("charm.partial");
    let zip_err = |source| PackError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let manifest = manifest_yaml(platform, &now.iso())
        .map_err(|e| PackError::Platform(format!("manifest.yaml: {e}")))?;
    let mut files: Vec<(&str, u32, &[u8])> = vec![
        ("dispatch", 0o755, binary),
        ("metadata.yaml", 0o644, &project.metadata_yaml),
    ];
    if let Some(c) = &project.config_yaml {
        files.push(("config.yaml", 0o644, c));
    }
    if let Some(a) = &project.actions_yaml {
        files.push(("actions.yaml", 0o644, a));
    }
    files.push(("manifest.yaml", 0o644, manifest.as_bytes()));

    let file = fs::File::create(&tmp).map_err(io_err(&tmp))?;
    let mut zip = ZipWriter::new(file);
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(now.zip_time());
    for (name, mode, data) in files {
        zip.start_file(name, base.unix_permissions(mode))
            .map_err(zip_err)?;
        zip.write_all(data).map_err(io_err(&tmp))?;
    }
    let file = zip.finish().map_err(zip_err)?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// `manifest.yaml` as charmcraft writes it (its `Manifest` model, dumped in field order):
/// `charmcraft-version`, `charmcraft-started-at`, the platform's base, and the two attribute
/// linters' results. Both say `unknown` for a binary `dispatch`: charmcraft's linters look for a
/// Python entrypoint on `dispatch`'s last text line, and a binary has none.
pub fn manifest_yaml(platform: &Platform, started_at: &str) -> Result<String, pyyaml::DumpError> {
    fn map(entries: &[(&str, Value)]) -> Value {
        let mut m = Mapping::new();
        for (k, v) in entries {
            m.insert(Value::String((*k).into()), v.clone());
        }
        Value::Mapping(m)
    }
    let s = |v: &str| Value::String(v.into());
    let attribute = |name: &str| map(&[("name", s(name)), ("result", s("unknown"))]);
    let manifest = map(&[
        ("charmcraft-version", s(PACKED_BY)),
        ("charmcraft-started-at", s(started_at)),
        (
            "bases",
            Value::Sequence(vec![map(&[
                ("name", s(&platform.os)),
                ("channel", s(&platform.channel)),
                ("architectures", Value::Sequence(vec![s(&platform.arch)])),
            ])]),
        ),
        (
            "analysis",
            map(&[(
                "attributes",
                Value::Sequence(vec![attribute("language"), attribute("framework")]),
            )]),
        ),
    ]);
    pyyaml::dump(&manifest, KeyOrder::AsGiven)
}

/// A moment in UTC: `SOURCE_DATE_EPOCH` when set (reproducible packs), else now.
struct Timestamp {
    secs: i64,
    micros: u32,
}

impl Timestamp {
    fn now() -> Timestamp {
        if let Some(secs) = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
        {
            return Timestamp { secs, micros: 0 };
        }
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            micros: d.subsec_micros(),
        }
    }

    fn civil(&self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
    }

    /// Python's `datetime.isoformat()` of a naive time, as charmcraft records its start
    /// (charmcraft uses local time; this is UTC).
    fn iso(&self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        if self.micros != 0 {
            out.push_str(&format!(".{:06}", self.micros));
        }
        out
    }

    /// The zip entries' time (zip times start in 1980).
    fn zip_time(&self) -> zip::DateTime {
        let (y, mo, d, h, mi, s) = self.civil();
        u16::try_from(y)
            .ok()
            .and_then(|y| {
                zip::DateTime::from_date_and_time(y, mo as u8, d as u8, h as u8, mi as u8, s as u8)
                    .ok()
            })
            .unwrap_or_default()
    }
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_783), (2026, 11, 26));
        let t = Timestamp {
            secs: 1_795_703_530,
            micros: 123_456,
        };
        assert_eq!(t.iso(), "2026-11-26T14:32:10.123456");
        let t = Timestamp {
            secs: 1_795_703_530,
            micros: 0,
        };
        assert_eq!(t.iso(), "2026-11-26T14:32:10");
    }

    #[test]
    fn manifest_is_charmcrafts() {
        let p = Platform {
            label: "ubuntu@22.04:amd64".into(),
            os: "ubuntu".into(),
            channel: "22.04".into(),
            arch: "amd64".into(),
        };
        assert_eq!(
            manifest_yaml(&p, "2026-11-26T14:32:10.123456").unwrap(),
            "charmcraft-version: 4.5.0+charmkit\n\
             charmcraft-started-at: '2026-11-26T14:32:10.123456'\n\
             bases:\n\
             - name: ubuntu\n  channel: '22.04'\n  architectures:\n  - amd64\n\
             analysis:\n  attributes:\n  - name: language\n    result: unknown\n\
             \x20 - name: framework\n    result: unknown\n"
        );
    }

    fn platform(channel: &str) -> Platform {
        Platform {
            label: format!("ubuntu@{channel}:amd64"),
            os: "ubuntu".into(),
            channel: channel.into(),
            arch: "amd64".into(),
        }
    }

    #[test]
    fn a_binary_too_new_for_a_base_is_refused() {
        let both = [platform("22.04"), platform("24.04")];
        let mut said: Vec<String> = Vec::new();
        {
            let mut progress = |l: &str| said.push(l.to_string());
            assert!(runs_on(Some((2, 35)), &both, &mut progress).is_ok());
            assert!(runs_on(None, &both, &mut progress).is_ok());
            let e = runs_on(Some((2, 38)), &both, &mut progress).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("the binary needs GLIBC_2.38, ubuntu 22.04 has GLIBC_2.35"),
                "{e}"
            );
            assert!(runs_on(Some((2, 38)), &both[1..], &mut progress).is_ok());
        }
        assert!(said.is_empty(), "{said:?}");
        let mut progress = |l: &str| said.push(l.to_string());
        assert!(runs_on(Some((2, 38)), &[platform("30.04")], &mut progress).is_ok());
        assert_eq!(
            said,
            ["platform ubuntu@30.04:amd64: glibc of ubuntu 30.04 unknown; not checked (the binary needs GLIBC_2.38)"]
        );
    }

    #[test]
    fn elf_architectures() {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[5] = 1;
        h[18] = 0x3e;
        assert_eq!(elf_arch(&h), Some("amd64"));
        h[18] = 0xb7;
        assert_eq!(elf_arch(&h), Some("arm64"));
        h[18] = 0x99;
        assert_eq!(elf_arch(&h), None);
        assert_eq!(elf_arch(b"#!/bin/sh\nexec true\n"), None);
        assert_eq!(
            elf_arch(
                std::env::current_exe()
                    .map(fs::read)
                    .unwrap()
                    .as_deref()
                    .unwrap()
            ),
            crate::project::host_arch()
        );
    }
}
