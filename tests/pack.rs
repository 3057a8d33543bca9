//! The packed charm: what `cargo xtask pack` writes, unpacked into an empty directory and run as
//! Juju runs it; its files against charmcraft's; its binary against the bases it declares.
//!
//! The charms are packed once per run (a real release build, as `cargo xtask pack` does) into
//! cargo's temporary directory for integration tests.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::OnceLock;

use crate::util::{repo_root, stderr, stdout, tools, Unit, CHARM};
use charmkit_cli::glibc;
use charmkit_cli::pack::{self, Options, Packed};

/// The charms of this checkout, packed once.
fn packed() -> &'static [Packed] {
    static PACKED: OnceLock<Vec<Packed>> = OnceLock::new();
    PACKED.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pack");
        let _ = fs::remove_dir_all(&out);
        let opts = Options {
            project_dir: repo_root(),
            output_dir: out,
            platforms: vec![],
            binary: None,
            quiet: true,
        };
        pack::pack(&opts, &mut |line| eprintln!("{line}")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn charm(label: &str) -> &'static Packed {
    packed()
        .iter()
        .find(|p| p.platform.label == label)
        .unwrap_or_else(|| panic!("no charm for {label}"))
}

/// Each file of a charm: name, Unix mode, bytes.
fn entries(charm: &Path) -> Vec<(String, u32, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(fs::File::open(charm).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_string(), f.unix_mode().unwrap_or(0), data)
        })
        .collect()
}

fn file<'a>(entries: &'a [(String, u32, Vec<u8>)], name: &str) -> &'a [u8] {
    &entries.iter().find(|e| e.0 == name).unwrap().2
}

const CONFIG_YAML: &str = "\
options:
  greeting:
    default: hello
    description: The word the unit greets with in its status message. Empty blocks
      the unit.
    type: string
";

const ACTIONS_YAML: &str = "\
trace-status:
  description: Report the state of this unit's trace buffer (the fields of `dispatch
    trace status`).
";

#[test]
fn one_charm_per_declared_base_named_as_charmcraft_names_them() {
    let names: Vec<String> = packed()
        .iter()
        .map(|p| p.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let arch = charmkit_cli::project::host_arch().unwrap();
    assert_eq!(
        names,
        [
            format!("rust-starter_ubuntu@22.04-{arch}.charm"),
            format!("rust-starter_ubuntu@24.04-{arch}.charm"),
        ]
    );
}

#[test]
fn a_charm_holds_exactly_what_charmcraft_packs() {
    let release = pack::build_release(&repo_root(), true).unwrap();
    let binary = fs::read(release).unwrap();
    for p in packed() {
        let e = entries(&p.path);
        let names: BTreeSet<&str> = e.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            BTreeSet::from([
                "actions.yaml",
                "config.yaml",
                "dispatch",
                "manifest.yaml",
                "metadata.yaml"
            ]),
            "{}",
            p.path.display()
        );
        for (name, mode, _) in &e {
            let want = if name == "dispatch" {
                0o100755
            } else {
                0o100644
            };
            assert_eq!(*mode, want, "{name}: mode {mode:o}");
        }
        // dispatch is the release binary itself: no shell between Juju and the charm.
        assert!(
            file(&e, "dispatch") == binary.as_slice(),
            "dispatch is not the release build"
        );
        assert_eq!(
            file(&e, "metadata.yaml"),
            fs::read(repo_root().join("metadata.yaml")).unwrap()
        );
        assert_eq!(file(&e, "config.yaml"), CONFIG_YAML.as_bytes());
        assert_eq!(file(&e, "actions.yaml"), ACTIONS_YAML.as_bytes());
        let manifest: serde_json::Value =
            serde_norway::from_slice(file(&e, "manifest.yaml")).unwrap();
        assert_eq!(
            manifest["bases"],
            serde_json::json!([{
                "name": "ubuntu",
                "channel": p.platform.channel,
                "architectures": [p.platform.arch],
            }])
        );
        assert_eq!(manifest["charmcraft-version"], pack::PACKED_BY);
    }
}

#[test]
fn unpacked_into_an_empty_directory_it_runs_as_juju_runs_it() {
    let arch = charmkit_cli::project::host_arch().unwrap();
    let unit = Unit::unpacked(&CHARM, &charm(&format!("ubuntu@24.04:{arch}")).path);
    assert!(!unit.path("bin").exists(), "nothing but the five files");
    assert_eq!(
        fs::metadata(unit.path("dispatch"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );

    let out = unit.dispatch("hooks/install", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = tools(&unit.take_calls());
    assert!(
        t.contains(&"application-version-set -- 0.1.0".to_string()),
        "{t:?}"
    );
    assert_eq!(
        t.last().unwrap(),
        "status-set active -- hello from rust-starter/0",
        "{t:?}"
    );

    // The metadata it reads is the packed metadata.yaml, config.yaml and actions.yaml.
    let out = unit.dispatch("hooks/start", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = tools(&unit.take_calls());
    assert!(
        t.contains(&"relation-ids charm-tracing --format=json".to_string()),
        "{t:?}"
    );
    let out = unit.run_action("trace-status");
    assert!(out.status.success(), "{}", stderr(&out));
    let t = tools(&unit.take_calls());
    assert!(
        t.iter()
            .any(|c| c.starts_with("action-set") && c.contains("chunks=")),
        "{t:?}"
    );

    // By hand on the unit (`juju ssh … charm/dispatch trace status`): no JUJU_CHARM_DIR, another
    // working directory; dispatch finds the buffer beside itself.
    let status = unit
        .command(&["trace", "status", "--json"], &[])
        .current_dir(unit.root.path())
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let location = status["location"].as_str().unwrap();
    assert!(
        location.starts_with(unit.charm_dir.to_str().unwrap()),
        "{location}"
    );
    assert!(
        status["chunks"].as_u64().unwrap() >= 3,
        "install, start, the action: {status}"
    );

    // And the simulator runs on the packed metadata too.
    let sim = unit
        .command(&["simulate", "install"], &[])
        .current_dir(unit.root.path())
        .output()
        .unwrap();
    assert!(sim.status.success(), "{}", stderr(&sim));
    assert!(
        stdout(&sim).contains("hello from rust-starter/0"),
        "{}",
        stdout(&sim)
    );
}

#[test]
fn the_binary_runs_on_every_base_it_is_packed_for() {
    for p in packed() {
        let e = entries(&p.path);
        let dispatch = file(&e, "dispatch");
        let needs = glibc::needs(dispatch).unwrap();
        let newest = *needs
            .last()
            .expect("a glibc build needs some GLIBC_ version");
        let has = glibc::of_base(&p.platform.os, &p.platform.channel)
            .unwrap_or_else(|| panic!("no glibc known for ubuntu {}", p.platform.channel));
        assert!(
            newest <= has,
            "{}: dispatch needs {}, ubuntu {} has {}",
            p.path.display(),
            glibc::show(newest),
            p.platform.channel,
            glibc::show(has)
        );
        eprintln!(
            "{}: dispatch {} bytes, charm {} bytes, needs {} at most",
            p.platform.label,
            dispatch.len(),
            fs::metadata(&p.path).unwrap().len(),
            glibc::show(newest)
        );
    }
}

#[test]
fn charmcraft_analyse_finds_nothing_wrong() {
    let Some(charmcraft) =
        crate::util::charmcraft_or_skip("charmcraft_analyse_finds_nothing_wrong")
    else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    for p in packed() {
        let out = crate::util::charmcraft_command(&charmcraft, home.path())
            .args(["analyse", "--format", "json"])
            .arg(&p.path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let results = results.as_array().unwrap();
        assert!(results.len() >= 10, "{results:?}");
        for r in results {
            let (name, result) = (r["name"].as_str().unwrap(), r["result"].as_str().unwrap());
            match r["check_type"].as_str().unwrap() {
                // The attributes manifest.yaml records: unknown for a binary dispatch.
                "attribute" => {
                    assert!(matches!(name, "language" | "framework"), "{r}");
                    assert_eq!(result, "unknown", "{r}");
                }
                _ => assert!(matches!(result, "ok" | "nonapplicable"), "{r}"),
            }
        }
    }
}

/// What charmcraft's own code writes for this project: its models and PyYAML with its string
/// representer (`services/package.py`'s `write_metadata`, step by step).
const CHARMCRAFT_WRITES: &str = r#"
import json, pathlib, sys, yaml
from charmcraft import preprocess
from charmcraft.models.project import CharmcraftProject
from charmcraft.models.manifest import Attribute, Manifest
from charmcraft.models.charmcraft import Base
from charmcraft.utils import dump_yaml

project_dir = pathlib.Path(sys.argv[1])
data = yaml.safe_load((project_dir / "charmcraft.yaml").read_text())
preprocess.add_default_parts(data)
preprocess.add_config(project_dir, data)
preprocess.add_actions(project_dir, data)
preprocess.add_metadata(project_dir, data)
project = CharmcraftProject.unmarshal(data).marshal()
ours = json.loads(sys.argv[2])
manifest = Manifest(
    charmcraft_version=ours["charmcraft-version"],
    charmcraft_started_at=ours["charmcraft-started-at"],
    bases=[Base(**b) for b in ours["bases"]],
    analysis={"attributes": [Attribute(name=n, result="unknown") for n in ("language", "framework")]},
)
manifest = dump_yaml(manifest.model_dump(mode="json", by_alias=True, exclude_unset=False, exclude_none=True))
json.dump({
    "manifest.yaml": manifest,
    "config.yaml": yaml.safe_dump(project["config"]),
    "actions.yaml": yaml.safe_dump(project["actions"]),
}, sys.stdout)
"#;

#[test]
fn config_actions_and_manifest_are_what_charmcraft_writes() {
    let Some(python) =
        crate::util::charmcraft_or_skip("config_actions_and_manifest_are_what_charmcraft_writes")
            .and_then(|c| crate::util::charmcraft_python(&c))
    else {
        return;
    };
    for p in packed() {
        let e = entries(&p.path);
        let manifest: serde_json::Value =
            serde_norway::from_slice(file(&e, "manifest.yaml")).unwrap();
        let out = std::process::Command::new(&python)
            .args(["-c", CHARMCRAFT_WRITES])
            .arg(repo_root())
            .arg(manifest.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for name in ["manifest.yaml", "config.yaml", "actions.yaml"] {
            assert_eq!(
                String::from_utf8_lossy(file(&e, name)),
                theirs[name].as_str().unwrap(),
                "{name} differs from charmcraft's"
            );
        }
    }
}
