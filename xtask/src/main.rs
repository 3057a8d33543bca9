//! `cargo xtask`: the project's own commands (see the library's docs).
#![forbid(unsafe_code)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use xtask::pack::{self, Options};

const USAGE: &str = "\
usage: cargo xtask pack [--platform NAME]... [--output DIR] [--binary FILE] [--project DIR]

pack: build the charm (cargo build --release --locked) and write its .charm files as
charmcraft pack would: one per platform of charmcraft.yaml for this machine's architecture,
named <charm>_<platform>.charm, holding dispatch (the binary), metadata.yaml, config.yaml,
actions.yaml and manifest.yaml.

  --platform NAME  pack only this platform of charmcraft.yaml (repeatable)
  --output DIR     where to write the .charm files (default: the project directory)
  --binary FILE    pack this binary instead of building one
  --project DIR    the charm project (default: the nearest directory up from here that
                   holds charmcraft.yaml)";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = format!("xtask: {e}");
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

fn run() -> Result<(), Box<dyn Error>> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    match parser.next()? {
        Some(Value(cmd)) if cmd == "pack" => {}
        Some(Value(cmd)) if cmd == "help" => {
            println!("{USAGE}");
            return Ok(());
        }
        Some(Short('h') | Long("help")) | None => {
            println!("{USAGE}");
            return Ok(());
        }
        Some(other) => return Err(format!("{}\n{USAGE}", other.unexpected()).into()),
    }
    let mut platforms = Vec::new();
    let (mut output, mut binary, mut project) = (None, None, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("platform") => platforms.push(parser.value()?.string()?),
            Long("output") | Short('o') => output = Some(PathBuf::from(parser.value()?)),
            Long("binary") => binary = Some(PathBuf::from(parser.value()?)),
            Long("project") => project = Some(PathBuf::from(parser.value()?)),
            Short('h') | Long("help") => {
                println!("{USAGE}");
                return Ok(());
            }
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
