//! The design card's layout: the charm's metadata in `metadata.yaml`, the build, config and
//! actions in `charmcraft.yaml`, no field in both; charmcraft accepts it (where installed) and
//! the framework reads it as it reads the packed files.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::util::{repo_root, stderr, stdout};
use charmkit::meta::{Metadata, Role};
use charmkit_cli::project::{Project, METADATA_KEYS};
use serde_norway::{Mapping, Value};

fn yaml(file: &str) -> Mapping {
    let text = fs::read_to_string(repo_root().join(file)).unwrap();
    match serde_norway::from_str(&text).unwrap() {
        Value::Mapping(m) => m,
        other => panic!("{file}: {other:?}"),
    }
}

fn keys(m: &Mapping) -> Vec<&str> {
    m.keys().filter_map(Value::as_str).collect()
}

#[test]
fn metadata_and_charmcraft_yaml_share_no_field() {
    let metadata = yaml("metadata.yaml");
    let charmcraft = yaml("charmcraft.yaml");
    for k in keys(&metadata) {
        assert!(
            METADATA_KEYS.contains(&k),
            "metadata.yaml: {k} is not a metadata key"
        );
        assert!(!charmcraft.contains_key(k), "{k} is in both files");
    }
    let mut build: Vec<&str> = keys(&charmcraft);
    build.sort_unstable();
    assert_eq!(build, ["actions", "config", "parts", "platforms", "type"]);
}

#[test]
fn the_rust_part_builds_with_the_pinned_toolchain_and_dispatch_is_the_binary() {
    let charmcraft = yaml("charmcraft.yaml");
    let part = &charmcraft["parts"]["charm"];
    assert_eq!(part["plugin"], "rust");
    // A rust-channel would make the plugin run `rustup update` + `rustup default` on it.
    assert!(
        part.get("rust-channel").is_none(),
        "the toolchain comes from rust-toolchain.toml"
    );
    let pin = fs::read_to_string(repo_root().join("rust-toolchain.toml")).unwrap();
    assert!(
        pin.lines().any(|l| l.starts_with("channel = \"1.")),
        "a version, not a channel: {pin}"
    );
    let build: Vec<&str> = part["override-build"].as_str().unwrap().lines().collect();
    assert_eq!(
        build,
        [
            "craftctl default",
            "mv \"$CRAFT_PART_INSTALL/bin/rust-starter\" \"$CRAFT_PART_INSTALL/dispatch\"",
            "rmdir \"$CRAFT_PART_INSTALL/bin\"",
        ]
    );
    assert_eq!(
        charmcraft["parts"].as_mapping().unwrap().len(),
        1,
        "one part"
    );
}

#[test]
fn the_framework_reads_the_layout_as_it_reads_the_packed_files() {
    let checkout = Metadata::from_dir(&repo_root()).unwrap();
    assert_eq!(checkout.name, "rust-starter");
    let tracing = &checkout.relations["charm-tracing"];
    assert_eq!(
        (tracing.role, tracing.interface.as_str()),
        (Role::Requires, "tracing")
    );
    assert_eq!((tracing.limit, tracing.optional), (Some(1), true));
    let ca = &checkout.relations["receive-ca-cert"];
    assert_eq!(
        (ca.role, ca.interface.as_str()),
        (Role::Requires, "certificate_transfer")
    );
    assert_eq!(
        checkout.config["greeting"].default,
        Some(serde_json::json!("hello"))
    );
    assert!(checkout.actions.contains_key("trace-status"));

    // What a packed charm holds: metadata.yaml, and config.yaml/actions.yaml as charmcraft writes
    // them from charmcraft.yaml.
    let project = Project::load(&repo_root()).unwrap();
    let packed = tempfile::tempdir().unwrap();
    fs::write(packed.path().join("metadata.yaml"), &project.metadata_yaml).unwrap();
    fs::write(
        packed.path().join("config.yaml"),
        project.config_yaml.unwrap(),
    )
    .unwrap();
    fs::write(
        packed.path().join("actions.yaml"),
        project.actions_yaml.unwrap(),
    )
    .unwrap();
    assert_eq!(Metadata::from_dir(packed.path()).unwrap(), checkout);
}

/// A copy of the project's charmcraft files in a directory of their own.
fn project_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["charmcraft.yaml", "metadata.yaml"] {
        fs::copy(repo_root().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

/// `charmcraft expand-extensions` in `dir`: it loads and validates the whole project, then prints
/// it.
fn expand_extensions(charmcraft: &Path, dir: &Path) -> Output {
    let home = tempfile::tempdir().unwrap();
    crate::util::charmcraft_command(charmcraft, home.path())
        .arg("expand-extensions")
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn charmcraft_validates_the_project() {
    let Some(charmcraft) = crate::util::charmcraft_or_skip("charmcraft_validates_the_project")
    else {
        return;
    };
    let dir = project_copy();
    let out = expand_extensions(&charmcraft, dir.path());
    assert!(
        out.status.success(),
        "charmcraft refuses the project: {}",
        stderr(&out)
    );
    let project: Mapping = serde_norway::from_str(&stdout(&out)).unwrap();
    assert_eq!(project["name"], "rust-starter", "name from metadata.yaml");
    assert!(project["summary"].as_str().unwrap().contains("Rust"));
    let platforms: Vec<&str> = keys(project["platforms"].as_mapping().unwrap());
    assert_eq!(platforms, ["ubuntu@22.04:amd64", "ubuntu@24.04:amd64"]);
    assert_eq!(project["config"]["options"]["greeting"]["default"], "hello");
    assert!(project["actions"]["trace-status"]["description"].is_string());
}

#[test]
fn charmcraft_refuses_a_field_in_both_files() {
    let Some(charmcraft) =
        crate::util::charmcraft_or_skip("charmcraft_refuses_a_field_in_both_files")
    else {
        return;
    };
    let dir = project_copy();
    let path = dir.path().join("charmcraft.yaml");
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str("summary: in both\n");
    fs::write(&path, text).unwrap();
    let out = expand_extensions(&charmcraft, dir.path());
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot be duplicated in metadata.yaml"),
        "{}",
        stderr(&out)
    );
    // And so does pack, naming the file and the fix.
    let e = Project::load(dir.path()).unwrap_err();
    assert!(
        e.message.contains("summary belongs in metadata.yaml"),
        "{e}"
    );
}
