//! The scaffold's own tests: what it renders; `tests/scaffold.rs` at the root builds it.

use super::*;

fn opts(name: &str, kind: Kind, charmkit: CharmkitSource) -> Options {
    Options {
        name: CharmName::parse(name).unwrap(),
        kind,
        charmkit,
        dir: PathBuf::from("unused"),
    }
}

fn file<'a>(files: &'a [File], path: &str) -> &'a str {
    &files.iter().find(|f| f.path == path).unwrap().text
}

/// The workspace root of this checkout.
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_file_of_each_kind_is_rendered_and_renamed() {
    for (kind, reference) in [
        (Kind::Machine, &RUST_STARTER),
        (Kind::Kubernetes, &K8S_STARTER),
    ] {
        let files = files(&opts("my-charm", kind, CharmkitSource::Version)).unwrap();
        let mut paths: Vec<&str> = files.iter().map(|f| f.path).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                ".gitignore",
                "Cargo.toml",
                "README.md",
                "charmcraft.yaml",
                "dispatch",
                "metadata.yaml",
                "rust-toolchain.toml",
                "src/charm.rs",
                "src/lib.rs",
                "src/main.rs",
                "tests/charm.rs",
            ]
        );
        for f in &files {
            assert!(
                !f.text.contains("{{if") && !f.text.contains("{{end}}"),
                "{}",
                f.path
            );
            for old in reference.names.iter().chain(&RUST_STARTER.names[..1]) {
                // k8s-starter's code may name rust-starter, the other reference charm.
                if kind == Kind::Kubernetes && old == &"rust-starter" && f.path.ends_with(".rs") {
                    continue;
                }
                assert!(!f.text.contains(old), "{:?} {}: {old}", kind, f.path);
            }
            assert_eq!(f.executable, f.path == "dispatch");
        }
        assert!(file(&files, "src/main.rs").contains("my_charm::MyCharm"));
        assert!(file(&files, "dispatch").contains("\nname=my-charm\n"));
        assert!(file(&files, "metadata.yaml").starts_with("# What Juju reads"));
        assert!(file(&files, "metadata.yaml").contains("\nname: my-charm\n"));
    }
}

#[test]
fn charmkit_by_version_by_path_or_from_git_with_the_reference_features() {
    let line = |source: CharmkitSource| {
        let files = files(&opts("my-charm", Kind::Machine, source)).unwrap();
        let toml = file(&files, "Cargo.toml").to_string();
        toml.lines()
            .find(|l| l.starts_with("charmkit = "))
            .unwrap()
            .to_string()
    };
    let reference = template::toml_table(RUST_STARTER.cargo_toml, "[dependencies]")
        .unwrap()
        .into_iter()
        .find(|l| crate_of(l) == Some("charmkit"))
        .unwrap();
    // `features = [...]`, as the reference charm has it, if it has any.
    let features = reference
        .find("features")
        .map(|at| &reference[at..=at + reference[at..].find(']').unwrap()]);
    let by_version = line(CharmkitSource::Version);
    assert!(
        by_version.contains(&format!("\"{}\"", charmkit_version())),
        "{by_version}"
    );
    let crate_dir = fs::canonicalize(checkout().join("crates/charmkit")).unwrap();
    let want = format!("{{ path = \"{}\"", crate_dir.display());
    let mut lines = vec![by_version];
    for given in [checkout(), checkout().join("crates/charmkit")] {
        let by_path = line(CharmkitSource::Path(given));
        assert!(by_path.contains(&want), "{by_path}");
        lines.push(by_path);
    }
    let url = "https://example.com/charmkit.git";
    let from_git = line(CharmkitSource::Git(url.into()));
    assert!(
        from_git.starts_with(&format!("charmkit = {{ git = \"{url}\"")),
        "{from_git}"
    );
    lines.push(from_git);
    for l in lines {
        assert_eq!(
            features.is_some_and(|f| l.contains(f)),
            features.is_some(),
            "{l}"
        );
    }
    let nowhere = files(&opts(
        "a",
        Kind::Machine,
        CharmkitSource::Path("/nonexistent".into()),
    ));
    assert!(matches!(nowhere, Err(ScaffoldError::NoCharmkit(_))));
}

#[test]
fn the_charmkit_version_is_this_checkouts() {
    let toml = fs::read_to_string(checkout().join("crates/charmkit/Cargo.toml")).unwrap();
    let version = template::toml_table(&toml, "[package]")
        .unwrap()
        .into_iter()
        .find_map(|l| l.strip_prefix("version = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    assert!(
        version.starts_with(&format!("{}.", charmkit_version())),
        "charmkit {version}, charmkit-cli {}: release them together",
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn a_name_that_is_a_dependency_is_refused_and_one_that_is_a_type_gets_a_suffix() {
    for taken in ["charmkit", "log", "serde"] {
        let e = files(&opts(taken, Kind::Machine, CharmkitSource::Version)).unwrap_err();
        assert!(matches!(e, ScaffoldError::NameTaken(_)), "{taken}: {e}");
    }
    // k8s-starter's tests use serde_norway; rust-starter's do not.
    assert!(files(&opts(
        "serde-norway",
        Kind::Kubernetes,
        CharmkitSource::Version
    ))
    .is_err());
    assert!(files(&opts(
        "serde-norway",
        Kind::Machine,
        CharmkitSource::Version
    ))
    .is_ok());
    let files = files(&opts("config", Kind::Machine, CharmkitSource::Version)).unwrap();
    assert!(file(&files, "src/charm.rs").contains("pub struct ConfigCharm;"));
    assert!(file(&files, "src/charm.rs").contains("pub struct Config {"));
}

#[test]
fn write_refuses_a_directory_that_is_not_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let mut o = opts("my-charm", Kind::Machine, CharmkitSource::Version);
    o.dir = tmp.path().to_path_buf(); // exists, empty: fine
    let written = write(&o).unwrap();
    assert_eq!(written.len(), 11);
    let mode = fs::metadata(tmp.path().join("dispatch"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    fs::write(tmp.path().join("src/charm.rs"), "mine").unwrap();
    let e = write(&o).unwrap_err();
    assert!(matches!(e, ScaffoldError::NotEmpty(_)), "{e}");
    assert!(e.to_string().contains("nothing was written"), "{e}");
    assert_eq!(
        fs::read_to_string(tmp.path().join("src/charm.rs")).unwrap(),
        "mine"
    );
    o.dir = tmp.path().join("Cargo.toml"); // a file
    assert!(matches!(write(&o), Err(ScaffoldError::NotEmpty(_))));
}
