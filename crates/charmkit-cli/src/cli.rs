//! The command line: `charmkit new`, `charmkit pack`, `charmkit help`.

use std::error::Error;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lexopt::prelude::*;

use crate::pack::{self, Options};
use crate::scaffold::{self, CharmName, CharmkitSource, Kind};

/// What `charmkit help` prints.
pub const USAGE: &str = "\
usage: charmkit new NAME [--k8s] [--path DIR | --git URL] [--dir DIR]
       charmkit pack [--platform NAME]... [--output DIR] [--binary FILE] [--project DIR]

new: write a new charm project named NAME: Cargo.toml, charmcraft.yaml, metadata.yaml, src/,
dispatch, tests/, README.md, rust-toolchain.toml and .gitignore. A machine charm like
rust-starter, or with --k8s a Kubernetes sidecar charm like k8s-starter; its tests pass on the
first `cargo test`. NAME is the charm's name as Juju knows it: lowercase letters, digits and
hyphens, starting with a letter, at most 40 characters.

  --k8s        a Kubernetes sidecar charm (a workload container run by Pebble)
  --path DIR   depend on charmkit at DIR (its crate, or a checkout of its repository)
  --git URL    depend on charmkit from this git repository
               (default: charmkit from crates.io, version {VERSION})
  --dir DIR    where to write the project (default: ./NAME); it must not exist or be empty

pack: build the charm (cargo build --release --locked) and write its .charm files as
charmcraft pack would: one per platform of charmcraft.yaml for this machine's architecture,
named <charm>_<platform>.charm, holding dispatch (the binary), metadata.yaml, config.yaml,
actions.yaml and manifest.yaml.

  --platform NAME  pack only this platform of charmcraft.yaml (repeatable)
  --output DIR     where to write the .charm files (default: the project directory)
  --binary FILE    pack this binary instead of building one
  --project DIR    the charm project (default: the nearest directory up from here that
                   holds charmcraft.yaml)";

/// Runs the command line of this process; prints what went wrong, with its causes.
pub fn main() -> ExitCode {
    match run(std::env::args_os().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = format!("charmkit: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                msg.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command line (without the program's name). Progress goes to standard error, what
/// was written (the new project's directory, the `.charm` files) to standard output.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString>>) -> Result<(), Box<dyn Error>> {
    let mut parser = lexopt::Parser::from_args(args);
    match parser.next()? {
        Some(Value(cmd)) if cmd == "new" => new(parser),
        Some(Value(cmd)) if cmd == "pack" => pack(parser),
        Some(Value(cmd)) if cmd == "help" => help(),
        Some(Short('h') | Long("help")) | None => help(),
        Some(Short('V') | Long("version")) => {
            println!("charmkit {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(other) => Err(format!("{}\n{}", other.unexpected(), usage()).into()),
    }
}

fn usage() -> String {
    USAGE.replace("{VERSION}", &scaffold::charmkit_version())
}

fn help() -> Result<(), Box<dyn Error>> {
    println!("{}", usage());
    Ok(())
}

fn new(mut parser: lexopt::Parser) -> Result<(), Box<dyn Error>> {
    let (mut name, mut dir) = (None, None);
    let mut kind = Kind::Machine;
    let mut charmkit = None;
    let mut set_source = |source: CharmkitSource| match charmkit.replace(source) {
        None => Ok(()),
        Some(_) => Err("give one of --path and --git"),
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Long("k8s") => kind = Kind::Kubernetes,
            Long("path") => set_source(CharmkitSource::Path(parser.value()?.into()))?,
            Long("git") => set_source(CharmkitSource::Git(parser.value()?.string()?))?,
            Long("dir") => dir = Some(PathBuf::from(parser.value()?)),
            Short('h') | Long("help") => return help(),
            Value(v) if name.is_none() => name = Some(v.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let name = name.ok_or("new: give the charm's name (charmkit new NAME)")?;
    let name = CharmName::parse(&name)?;
    let opts = scaffold::Options {
        dir: dir.unwrap_or_else(|| PathBuf::from(name.as_str())),
        name,
        kind,
        charmkit: charmkit.unwrap_or_default(),
    };
    let written = scaffold::write(&opts)?;
    eprintln!(
        "wrote the {} charm {} ({} files): next, in {}:\n  \
         cargo build --release && ./dispatch simulate\n  \
         cargo test\n  \
         charmkit pack",
        match opts.kind {
            Kind::Machine => "machine",
            Kind::Kubernetes => "Kubernetes",
        },
        opts.name.as_str(),
        written.len(),
        opts.dir.display()
    );
    if opts.charmkit == CharmkitSource::Version {
        eprintln!(
            "It depends on charmkit {} from crates.io; until charmkit is published there, write \
             it with --path (a charmkit checkout) or --git.",
            scaffold::charmkit_version()
        );
    }
    println!("{}", opts.dir.display());
    Ok(())
}

fn pack(mut parser: lexopt::Parser) -> Result<(), Box<dyn Error>> {
    let mut platforms = Vec::new();
    let (mut output, mut binary, mut project) = (None, None, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("platform") => platforms.push(parser.value()?.string()?),
            Long("output") | Short('o') => output = Some(PathBuf::from(parser.value()?)),
            Long("binary") => binary = Some(PathBuf::from(parser.value()?)),
            Long("project") => project = Some(PathBuf::from(parser.value()?)),
            Short('h') | Long("help") => return help(),
            other => return Err(other.unexpected().into()),
        }
    }
    let project_dir = match project {
        Some(p) => p,
        None => find_project(&std::env::current_dir()?)
            .ok_or("no charmcraft.yaml here or above; give --project DIR")?,
    };
    let opts = Options {
        output_dir: output.unwrap_or_else(|| project_dir.clone()),
        project_dir,
        platforms,
        binary,
        quiet: false,
    };
    let packed = pack::pack(&opts, &mut |line| eprintln!("{line}"))?;
    for p in packed {
        println!("{}", p.path.display());
    }
    Ok(())
}

fn find_project(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("charmcraft.yaml").is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(args: &[&str]) -> String {
        run(args.iter().copied()).unwrap_err().to_string()
    }

    #[test]
    fn new_refuses_what_it_cannot_write_saying_why() {
        assert!(refused(&["new"]).contains("give the charm's name"));
        assert!(refused(&["new", "My-Charm"]).contains("try \"my-charm\""));
        assert!(refused(&["new", "a", "b"]).contains("unexpected argument"));
        let both = refused(&["new", "a", "--path", ".", "--git", "u"]);
        assert!(both.contains("give one of --path and --git"), "{both}");
        assert!(refused(&["new", "a", "--kubernetes"]).contains("--kubernetes"));
        assert!(refused(&["frobnicate"]).contains("usage: charmkit new"));
    }

    #[test]
    fn new_writes_the_project_where_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("elsewhere");
        let dir_arg = dir.to_str().unwrap();
        run([
            "new",
            "my-charm",
            "--k8s",
            "--git",
            "https://example.com/c",
            "--dir",
            dir_arg,
        ])
        .unwrap();
        let toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(toml.contains("git = \"https://example.com/c\""), "{toml}");
        let meta = std::fs::read_to_string(dir.join("metadata.yaml")).unwrap();
        assert!(meta.contains("\ncontainers:\n"), "{meta}");
        let again = refused(&["new", "my-charm", "--dir", dir_arg]);
        assert!(again.contains("is not an empty directory"), "{again}");
    }
}
