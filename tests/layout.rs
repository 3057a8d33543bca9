//! The design card's layout: the charm's metadata in `metadata.yaml`, the build, config and
//! actions in `charmcraft.yaml`, no field in both; charmcraft accepts it (where installed) and
//! the framework reads it as it reads the packed files. Checked for the reference charm, the K8s
//! starter and a new charm of each kind from `charmkit new`, which also declare the reference
//! charms' relations, containers, resources, config and actions.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::{reference_of, repo_root, stderr, stdout, NewCharm};
use charmkit::meta::{Metadata, Role};
use charmkit_cli::project::{Project, METADATA_KEYS};
use serde_norway::{Mapping, Value};

fn yaml(dir: &Path, file: &str) -> Mapping {
    let text = fs::read_to_string(dir.join(file)).unwrap();
    match serde_norway::from_str(&text).unwrap() {
        Value::Mapping(m) => m,
        other => panic!("{file}: {other:?}"),
    }
}

fn keys(m: &Mapping) -> Vec<&str> {
    m.keys().filter_map(Value::as_str).collect()
}

/// The projects laid out this way: (charm name, directory, whether it has a top-level `base`),
/// with the new charms kept alive while in use.
fn projects(new: &[NewCharm; 2]) -> Vec<(&str, PathBuf, bool)> {
    let mut all = vec![
        ("rust-starter", repo_root(), false),
        ("k8s-starter", reference_of(true), true),
    ];
    all.extend(new.iter().map(|n| (n.name, n.dir.clone(), n.k8s)));
    all
}

#[test]
fn metadata_and_charmcraft_yaml_share_no_field() {
    let new = NewCharm::both();
    for (name, dir, has_base) in projects(&new) {
        let metadata = yaml(&dir, "metadata.yaml");
        let charmcraft = yaml(&dir, "charmcraft.yaml");
        for k in keys(&metadata) {
            assert!(
                METADATA_KEYS.contains(&k),
                "{name}: metadata.yaml: {k} is not a metadata key"
            );
            assert!(!charmcraft.contains_key(k), "{name}: {k} is in both files");
        }
        let mut build: Vec<&str> = keys(&charmcraft);
        build.sort_unstable();
        let mut want = vec!["actions", "config", "parts", "platforms", "type"];
        if has_base {
            want.insert(1, "base");
        }
        assert_eq!(build, want, "{name}");
    }
}

#[test]
fn the_rust_part_builds_with_the_pinned_toolchain_and_dispatch_is_the_binary() {
    let new = NewCharm::both();
    for (name, dir, _) in projects(&new) {
        let charmcraft = yaml(&dir, "charmcraft.yaml");
        let part = &charmcraft["parts"]["charm"];
        assert_eq!(part["plugin"], "rust", "{name}");
        // The K8s starter is a member of the workspace: its part builds from the workspace root.
        let source = if dir == reference_of(true) {
            assert_eq!(part["rust-path"][0], "examples/k8s-starter", "{name}");
            "../.."
        } else {
            "."
        };
        assert_eq!(part["source"], source, "{name}");
        // A rust-channel would make the plugin run `rustup update` + `rustup default` on it.
        assert!(
            part.get("rust-channel").is_none(),
            "{name}: the toolchain comes from rust-toolchain.toml"
        );
        let pin = fs::read_to_string(dir.join(source).join("rust-toolchain.toml")).unwrap();
        assert!(
            pin.lines().any(|l| l.starts_with("channel = \"1.")),
            "{name}: a version, not a channel: {pin}"
        );
        let build: Vec<&str> = part["override-build"].as_str().unwrap().lines().collect();
        let mv = format!("mv \"$CRAFT_PART_INSTALL/bin/{name}\" \"$CRAFT_PART_INSTALL/dispatch\"");
        assert_eq!(
            build,
            ["craftctl default", &mv, "rmdir \"$CRAFT_PART_INSTALL/bin\""],
            "{name}"
        );
        assert_eq!(
            charmcraft["parts"].as_mapping().unwrap().len(),
            1,
            "{name}: one part"
        );
        let dispatch = fs::read_to_string(dir.join("dispatch")).unwrap();
        assert!(
            dispatch.contains(&format!("\nname={name}\n")),
            "{name}: {dispatch}"
        );
    }
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
    let new = NewCharm::both();
    for (name, dir, _) in projects(&new) {
        let project = Project::load(&dir).unwrap();
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
        assert_eq!(
            Metadata::from_dir(packed.path()).unwrap(),
            Metadata::from_dir(&dir).unwrap(),
            "{name}"
        );
    }
}

/// What a new charm shares with the reference charm of its kind: the tracing relations
/// (`charm-tracing`, `receive-ca-cert`), and the containers, resources, config and actions its
/// copied code uses.
#[test]
fn a_new_charm_declares_what_the_reference_charm_of_its_kind_declares() {
    for new in NewCharm::both() {
        let ours = Metadata::from_dir(&new.dir).unwrap();
        let theirs = Metadata::from_dir(&reference_of(new.k8s)).unwrap();
        assert_eq!(ours.name, new.name);
        assert_eq!(ours.relations, theirs.relations, "{}", new.name);
        assert!(ours.relations.contains_key("charm-tracing"));
        assert!(ours.relations.contains_key("receive-ca-cert"));
        assert_eq!(ours.containers, theirs.containers, "{}", new.name);
        assert_eq!(ours.resources, theirs.resources, "{}", new.name);
        assert_eq!(ours.config, theirs.config, "{}", new.name);
        assert_eq!(ours.actions, theirs.actions, "{}", new.name);
        assert_eq!(!ours.containers.is_empty(), new.k8s, "{}", new.name);
    }
}

/// A copy of the charmcraft files of the project in `from` in a directory of their own.
fn project_copy(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["charmcraft.yaml", "metadata.yaml"] {
        fs::copy(from.join(f), dir.path().join(f)).unwrap();
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
    let dir = project_copy(&repo_root());
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

    // And the K8s starter, whose part builds from the workspace root.
    let dir = project_copy(&reference_of(true));
    let out = expand_extensions(&charmcraft, dir.path());
    assert!(
        out.status.success(),
        "charmcraft refuses the K8s starter: {}",
        stderr(&out)
    );
    let project: Mapping = serde_norway::from_str(&stdout(&out)).unwrap();
    assert_eq!(project["name"], "k8s-starter", "name from metadata.yaml");
    assert_eq!(project["base"], "ubuntu@24.04");
    assert_eq!(keys(project["platforms"].as_mapping().unwrap()), ["amd64"]);
    assert_eq!(
        project["parts"]["charm"]["rust-path"][0],
        "examples/k8s-starter"
    );
}

#[test]
fn charmcraft_validates_a_new_charm_of_each_kind() {
    let Some(charmcraft) =
        crate::util::charmcraft_or_skip("charmcraft_validates_a_new_charm_of_each_kind")
    else {
        return;
    };
    for new in NewCharm::both() {
        let out = expand_extensions(&charmcraft, &new.dir);
        assert!(
            out.status.success(),
            "charmcraft refuses {}: {}",
            new.name,
            stderr(&out)
        );
        let project: Mapping = serde_norway::from_str(&stdout(&out)).unwrap();
        assert_eq!(project["name"], new.name, "name from metadata.yaml");
        let platforms: Vec<&str> = keys(project["platforms"].as_mapping().unwrap());
        if new.k8s {
            assert_eq!(platforms, ["amd64"]);
            assert_eq!(project["base"], "ubuntu@24.04");
        } else {
            assert_eq!(platforms, ["ubuntu@22.04:amd64", "ubuntu@24.04:amd64"]);
        }
    }
}

#[test]
fn charmcraft_refuses_a_field_in_both_files() {
    let Some(charmcraft) =
        crate::util::charmcraft_or_skip("charmcraft_refuses_a_field_in_both_files")
    else {
        return;
    };
    let dir = project_copy(&repo_root());
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
