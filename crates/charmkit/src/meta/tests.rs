//! Loading metadata, through the public constructors: which file wins, tolerance, and errors
//! that name the file, the line and the key path.

use super::*;
use serde_json::json;

/// The error's (path, line, column, message), or a panic if it is not `Error::Metadata`.
pub(super) fn meta_err(r: Result<Metadata>) -> (PathBuf, Option<usize>, Option<usize>, String) {
    match r {
        Err(Error::Metadata {
            path,
            line,
            column,
            message,
        }) => (path, line, column, message),
        Err(other) => panic!("expected Error::Metadata, got {other:?}"),
        Ok(m) => panic!("expected an error, got {m:?}"),
    }
}

pub(super) fn md(text: &str) -> Result<Metadata> {
    Metadata::from_yaml(None, Some(text), None, None)
}

const UNIFIED: &str = r#"
name: rust-starter
type: charm
title: Rust starter
summary: A charm written in Rust.
description: |
  Long text.
base: ubuntu@24.04
platforms:
  amd64:
parts:
  charm:
    plugin: nil
assumes:
  - k8s-api
containers:
  workload:
    resource: workload-image
  sidecar:
    resource: sidecar-image
resources:
  workload-image:
    type: oci-image
    upstream-source: ghcr.io/example/workload:1.0
  sidecar-image:
    type: oci-image
storage:
  data:
    type: filesystem
    location: /var/lib/data
  logs:
    type: filesystem
requires:
  charm-tracing:
    interface: tracing
    limit: 1
    optional: true
  receive-ca-cert:
    interface: certificate_transfer
    limit: 1
    optional: true
  logging: loki_push_api
provides:
  metrics-endpoint:
    interface: prometheus_scrape
peers:
  replicas:
    interface: rust_starter_replica
config:
  options:
    log-level:
      type: string
      default: info
      description: The workload's log level.
    port:
      type: int
      default: 8080
      description: Listen port.
    ratio:
      type: float
      default: 1
    debug:
      type: boolean
      default: false
    credentials:
      type: secret
      description: A secret URI.
    untyped:
      default: hello
actions:
  backup:
    description: Take a backup.
    params:
      target:
        type: string
        description: Where to.
      compress:
        type: boolean
        default: true
    required: [target]
    additionalProperties: false
  noop:
"#;

#[test]
fn unified_charmcraft_yaml_with_everything() {
    let m = Metadata::from_yaml(Some(UNIFIED), None, None, None).unwrap();
    assert_eq!(m.name, "rust-starter");
    assert!(!m.subordinate);
    assert_eq!(
        m.containers.keys().collect::<Vec<_>>(),
        ["sidecar", "workload"]
    );
    assert_eq!(
        m.containers["workload"].resource.as_deref(),
        Some("workload-image")
    );
    assert_eq!(m.resources["workload-image"].kind, ResourceType::OciImage);
    assert_eq!(m.assumes, [Assumption::Feature("k8s-api".into())]);
    assert_eq!(m.storages, ["data", "logs"]);

    assert_eq!(
        m.relation("charm-tracing"),
        Some(&RelationMeta {
            name: "charm-tracing".into(),
            role: Role::Requires,
            interface: "tracing".into(),
            limit: Some(1),
            optional: true,
            container_scope: false,
        })
    );
    let ca = m.relation("receive-ca-cert").unwrap();
    assert_eq!(ca.interface, "certificate_transfer");
    assert_eq!(ca.role, Role::Requires);
    assert_eq!(ca.limit, Some(1));
    assert!(ca.optional);
    let logging = m.relation("logging").unwrap();
    assert_eq!(
        (logging.interface.as_str(), logging.limit, logging.optional),
        ("loki_push_api", None, false)
    );
    let prov = m.relation("metrics-endpoint").unwrap();
    assert_eq!(prov.role, Role::Provides);
    assert_eq!(prov.interface, "prometheus_scrape");
    let peer = m.relation("replicas").unwrap();
    assert_eq!(peer.role, Role::Peers);
    assert_eq!(m.relations.len(), 5);
    assert_eq!(m.relations_with_role(Role::Requires).count(), 3);

    assert_eq!(m.config.len(), 6);
    assert_eq!(
        m.config["log-level"],
        ConfigOption {
            kind: ConfigType::String,
            default: Some(json!("info")),
            description: "The workload's log level.".into(),
        }
    );
    assert_eq!(m.config["port"].kind, ConfigType::Int);
    assert_eq!(m.config["port"].default, Some(json!(8080)));
    assert_eq!(m.config["ratio"].kind, ConfigType::Float);
    assert_eq!(m.config["ratio"].default, Some(json!(1.0)));
    assert_eq!(m.config["debug"].default, Some(json!(false)));
    assert_eq!(m.config["credentials"].kind, ConfigType::Secret);
    assert_eq!(m.config["credentials"].default, None);
    assert_eq!(m.config["credentials"].description, "A secret URI.");
    assert_eq!(m.config["untyped"].kind, ConfigType::String);

    let backup = &m.actions["backup"];
    assert_eq!(backup.description, "Take a backup.");
    assert_eq!(
        backup.params["target"],
        json!({"type": "string", "description": "Where to."})
    );
    assert_eq!(
        backup.params["compress"],
        json!({"type": "boolean", "default": true})
    );
    assert_eq!(backup.required, ["target"]);
    assert_eq!(
        m.actions["noop"],
        ActionMeta {
            description: String::new(),
            params: BTreeMap::new(),
            required: vec![],
        }
    );
}

const CLASSIC_META: &str = "\
name: classic
subordinate: true
requires:
  juju-info:
    interface: juju-info
    scope: container
  charm-tracing:
    interface: tracing
    limit: 1
provides:
  cos-agent:
    interface: cos_agent
    scope: global
";

const CLASSIC_CONFIG: &str = "\
options:
  interval:
    type: int
    default: 60
    description: Seconds.
  name:
    type: string
    description: No default.
";

const CLASSIC_ACTIONS: &str = "\
restart:
  description: Restart it.
set-level:
  description: Set the level.
  params:
    level:
      type: string
      enum: [debug, info]
  required:
    - level
";

#[test]
fn classic_metadata_config_actions() {
    let m = Metadata::from_yaml(
        None,
        Some(CLASSIC_META),
        Some(CLASSIC_CONFIG),
        Some(CLASSIC_ACTIONS),
    )
    .unwrap();
    assert_eq!(m.name, "classic");
    assert!(m.subordinate);
    let ji = m.relation("juju-info").unwrap();
    assert!(ji.container_scope);
    assert_eq!(ji.interface, "juju-info");
    assert!(!m.relation("cos-agent").unwrap().container_scope);
    assert_eq!(m.relation("charm-tracing").unwrap().limit, Some(1));
    assert_eq!(m.config["interval"].default, Some(json!(60)));
    assert_eq!(m.config["name"].default, None);
    assert_eq!(m.config["name"].description, "No default.");
    assert_eq!(m.actions["restart"].description, "Restart it.");
    assert_eq!(
        m.actions["set-level"].params["level"],
        json!({"type": "string", "enum": ["debug", "info"]})
    );
    assert_eq!(m.actions["set-level"].required, ["level"]);
    assert!(m.storages.is_empty() && m.containers.is_empty());
}

#[test]
fn both_present_metadata_yaml_wins_for_metadata_keys() {
    let cc = "\
name: from-charmcraft
requires:
  only-in-charmcraft:
    interface: x
config:
  options:
    cc-option:
      type: string
actions:
  cc-action:
    description: from charmcraft
";
    // metadata.yaml wins wholesale for the metadata keys; charmcraft.yaml still supplies
    // config and actions because config.yaml and actions.yaml are absent.
    let m = Metadata::from_yaml(Some(cc), Some(CLASSIC_META), None, None).unwrap();
    assert_eq!(m.name, "classic");
    assert!(m.relation("only-in-charmcraft").is_none());
    assert!(m.relation("charm-tracing").is_some());
    assert!(m.config.contains_key("cc-option"));
    assert!(m.actions.contains_key("cc-action"));

    // With config.yaml and actions.yaml present, those win.
    let m = Metadata::from_yaml(
        Some(cc),
        Some(CLASSIC_META),
        Some(CLASSIC_CONFIG),
        Some(CLASSIC_ACTIONS),
    )
    .unwrap();
    assert!(!m.config.contains_key("cc-option"));
    assert!(m.config.contains_key("interval"));
    assert!(!m.actions.contains_key("cc-action"));
    assert!(m.actions.contains_key("restart"));
}

#[test]
fn unneeded_charmcraft_yaml_is_not_parsed() {
    // A classic-layout charmcraft.yaml holds build settings only; when all classic files
    // exist it is not even parsed, so even broken YAML there does not matter.
    let m = Metadata::from_yaml(
        Some("type: charm\nbases: [oops"),
        Some(CLASSIC_META),
        Some(CLASSIC_CONFIG),
        Some(CLASSIC_ACTIONS),
    )
    .unwrap();
    assert_eq!(m.name, "classic");
    // But it is parsed (and reported) when it is needed for config.
    let (path, line, _, _) = meta_err(Metadata::from_yaml(
        Some("type: charm\nbases: [oops"),
        Some(CLASSIC_META),
        None,
        Some(CLASSIC_ACTIONS),
    ));
    assert_eq!(path, Path::new("charmcraft.yaml"));
    assert!(line.is_some());
}

#[test]
fn classic_charmcraft_yaml_without_name_next_to_metadata_yaml() {
    let m = Metadata::from_yaml(
        Some("type: charm\nbases:\n  - name: ubuntu\n    channel: '22.04'\n"),
        Some(CLASSIC_META),
        None,
        None,
    )
    .unwrap();
    assert_eq!(m.name, "classic");
    assert!(m.config.is_empty() && m.actions.is_empty());
}

#[test]
fn peers_storage_containers() {
    let m = md("\
name: k8s
peers:
  cluster:
    interface: cluster
  restart: rolling_op
storage:
  db: {type: filesystem}
  cache:
containers:
  app: {resource: app-image, mounts: [{storage: db, location: /db}]}
resources:
  app-image: {type: oci-image}
")
    .unwrap();
    assert_eq!(m.relation("cluster").unwrap().role, Role::Peers);
    assert_eq!(m.relation("restart").unwrap().interface, "rolling_op");
    assert_eq!(m.storages, ["db", "cache"]);
    assert_eq!(
        m.containers["app"],
        ContainerMeta {
            name: "app".into(),
            resource: Some("app-image".into()),
            mounts: vec![Mount {
                storage: "db".into(),
                location: Some("/db".into()),
            }],
        }
    );
}

#[test]
fn malformed_yaml_reports_location() {
    let (path, line, column, message) = meta_err(md("name: x\nrequires:\n  a: [b\n"));
    assert_eq!(path, Path::new("metadata.yaml"));
    assert!(line.is_some() && column.is_some(), "{line:?} {column:?}");
    assert!(message.starts_with("invalid YAML: "), "{message}");
    let (l, c) = (line.unwrap(), column.unwrap());
    assert!(
        !message.contains(&format!(" at line {l} column {c}")),
        "{message}"
    );

    // A tab where indentation is expected, on line 3.
    let (_, line, column, _) = meta_err(md("name: x\nrequires:\n\tfoo: bar\n"));
    assert_eq!(line, Some(3));
    assert!(column.is_some());

    // Duplicate keys are a YAML error, located at the enclosing mapping.
    let (_, line, _, message) = meta_err(md("name: x\nname: y\n"));
    assert_eq!(line, Some(1));
    assert_eq!(message, "invalid YAML: duplicate entry with key \"name\"");

    // The Display puts it together: file:line:column: message.
    let e = md("name: x\nrequires:\n\tfoo: bar\n")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("metadata.yaml:3:"), "{e}");
}

#[test]
fn malformed_config_and_actions_name_their_file() {
    let (path, line, ..) = meta_err(Metadata::from_yaml(
        None,
        Some("name: x"),
        Some("options:\n  a: {type: int\n"),
        None,
    ));
    assert_eq!(path, Path::new("config.yaml"));
    assert!(line.is_some());
    let (path, ..) = meta_err(Metadata::from_yaml(
        None,
        Some("name: x"),
        None,
        Some("a:\n  description: \"unterminated\n"),
    ));
    assert_eq!(path, Path::new("actions.yaml"));
}

#[test]
fn wrong_types_name_the_key_path() {
    let cases: &[(&str, &str)] = &[
        (
            "name: x\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: one\n",
            "requires.charm-tracing.limit: expected an integer, found a string",
        ),
        (
            "name: x\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: 1.5\n",
            "requires.charm-tracing.limit: expected an integer, found a float",
        ),
        (
            "name: x\nrequires:\n  charm-tracing:\n    interface: tracing\n    limit: -1\n",
            "requires.charm-tracing.limit: expected a non-negative integer of at most 4294967295",
        ),
        (
            "name: x\nrequires:\n  t:\n    interface: tracing\n    optional: maybe\n",
            "requires.t.optional: expected a boolean, found a string",
        ),
        (
            "name: x\nprovides:\n  t:\n    interface: tracing\n    scope: planet\n",
            "provides.t.scope: expected `global` or `container`, found \"planet\"",
        ),
        (
            "name: x\nrequires:\n  t:\n    interface: [tracing]\n",
            "requires.t.interface: expected a string, found a list",
        ),
        (
            "name: x\nrequires: [charm-tracing]\n",
            "requires: expected a mapping, found a list",
        ),
        (
            "name: x\nrequires:\n  t: 42\n",
            "requires.t: expected a mapping with an `interface`, found an integer",
        ),
        ("name: 42\n", "name: expected a string, found an integer"),
        ("requires: {}\n", "name: missing: a charm must have a name"),
        ("name: ''\n", "name: must not be empty"),
        (
            "name: x\nsubordinate: sometimes\n",
            "subordinate: expected a boolean, found a string",
        ),
        (
            "name: x\nstorage: data\n",
            "storage: expected a mapping, found a string",
        ),
        (
            "name: x\ncontainers:\n  - app\n",
            "containers: expected a mapping, found a list",
        ),
        (
            "name: x\nrequires:\n  a: {interface: i}\nprovides:\n  a: {interface: i}\n",
            "provides.a: endpoint name already declared under `requires`",
        ),
        (
            "name: x\nrequires:\n  1: {interface: i}\n",
            "requires: expected names (strings) as keys, found an integer",
        ),
        (
            "- name: x\n",
            "expected a mapping at the top level, found a list",
        ),
    ];
    for (yaml, want) in cases {
        let (path, line, column, message) = meta_err(md(yaml));
        assert_eq!(path, Path::new("metadata.yaml"));
        assert_eq!((line, column), (None, None));
        assert_eq!(&message, want, "for {yaml:?}");
    }
}

#[test]
fn config_and_action_wrong_types() {
    let cfg = |text: &str| Metadata::from_yaml(None, Some("name: x"), Some(text), None);
    let cases: &[(&str, &str)] = &[
            (
                "options:\n  a:\n    type: strnig\n",
                "options.a.type: unknown type \"strnig\" (expected string, int, float, boolean or secret)",
            ),
            (
                "options:\n  a:\n    type: int\n    default: ten\n",
                "options.a.default: expected an integer, found a string",
            ),
            (
                "options:\n  a:\n    type: int\n    default: 1.5\n",
                "options.a.default: expected an integer, found a float",
            ),
            (
                "options:\n  a:\n    type: string\n    default: 8080\n",
                "options.a.default: expected a string, found an integer",
            ),
            (
                "options:\n  a:\n    type: boolean\n    default: maybe\n",
                "options.a.default: expected a boolean, found a string",
            ),
            (
                "options:\n  a:\n    type: float\n    default: [1]\n",
                "options.a.default: expected a number, found a list",
            ),
            (
                "options:\n  a:\n    type: float\n    default: .nan\n",
                "options.a.default: expected a finite number",
            ),
            ("options: [a]\n", "options: expected a mapping, found a list"),
            ("options:\n  a: string\n", "options.a: expected a mapping, found a string"),
            (
                "options:\n  a:\n    description: [x]\n",
                "options.a.description: expected a string, found a list",
            ),
        ];
    for (yaml, want) in cases {
        let (path, _, _, message) = meta_err(cfg(yaml));
        assert_eq!(path, Path::new("config.yaml"));
        assert_eq!(&message, want, "for {yaml:?}");
    }

    let act = |text: &str| Metadata::from_yaml(None, Some("name: x"), None, Some(text));
    let cases: &[(&str, &str)] = &[
        ("a: do it\n", "a: expected a mapping, found a string"),
        (
            "a:\n  params: [x]\n",
            "a.params: expected a mapping, found a list",
        ),
        (
            "a:\n  required: x\n",
            "a.required: expected a list of parameter names, found a string",
        ),
        (
            "a:\n  required: [1]\n",
            "a.required.0: expected a string, found an integer",
        ),
        (
            "a:\n  description: {x: 1}\n",
            "a.description: expected a string, found a mapping",
        ),
    ];
    for (yaml, want) in cases {
        let (path, _, _, message) = meta_err(act(yaml));
        assert_eq!(path, Path::new("actions.yaml"));
        assert_eq!(&message, want, "for {yaml:?}");
    }

    // In charmcraft.yaml the key paths start at the top of that file.
    let (path, _, _, message) = meta_err(Metadata::from_yaml(
        Some("name: x\nconfig:\n  options:\n    a: {type: nope}\n"),
        None,
        None,
        None,
    ));
    assert_eq!(path, Path::new("charmcraft.yaml"));
    assert!(
        message.starts_with("config.options.a.type: unknown type"),
        "{message}"
    );
    let (_, _, _, message) = meta_err(Metadata::from_yaml(
        Some("name: x\nconfig: [a]\n"),
        None,
        None,
        None,
    ));
    assert_eq!(message, "config: expected a mapping, found a list");
    let (_, _, _, message) = meta_err(Metadata::from_yaml(
        Some("name: x\nactions:\n  a:\n    params:\n      p: 3\n    required: p\n"),
        None,
        None,
        None,
    ));
    assert_eq!(
        message,
        "actions.a.required: expected a list of parameter names, found a string"
    );
}

#[test]
fn empty_files() {
    // An empty metadata.yaml has no name.
    let (path, _, _, message) = meta_err(md(""));
    assert_eq!(path, Path::new("metadata.yaml"));
    assert_eq!(message, "name: missing: a charm must have a name");
    // Same for a comment-only charmcraft.yaml.
    let (path, _, _, _) = meta_err(Metadata::from_yaml(Some("# nothing\n"), None, None, None));
    assert_eq!(path, Path::new("charmcraft.yaml"));
    // Empty config.yaml / actions.yaml: no options, no actions.
    let m = Metadata::from_yaml(None, Some("name: x"), Some(""), Some("\n")).unwrap();
    assert!(m.config.is_empty() && m.actions.is_empty());
    // `config:` without options, `options:` null, `actions:` null.
    let m = Metadata::from_yaml(Some("name: x\nconfig: {}\nactions:\n"), None, None, None).unwrap();
    assert!(m.config.is_empty() && m.actions.is_empty());
    let m = Metadata::from_yaml(None, Some("name: x"), Some("options:\n"), None).unwrap();
    assert!(m.config.is_empty());
    // Empty sections.
    let m = md("name: x\nrequires:\nprovides: {}\nstorage:\n").unwrap();
    assert!(m.relations.is_empty() && m.storages.is_empty());
}

#[test]
fn nothing_given() {
    let (path, _, _, message) = meta_err(Metadata::from_yaml(None, None, Some(""), None));
    assert_eq!(path, Path::new("metadata.yaml"));
    assert!(message.contains("neither"), "{message}");
}

#[test]
fn tolerance() {
    // Unknown keys everywhere, YAML 1.1 booleans, merge keys, tags, an option with no body,
    // a parameter with no schema.
    let m = Metadata::from_yaml(
        Some(
            "\
name: tolerant
x-custom: 1
links: {website: [https://example.com]}
subordinate: no
.rel: &rel
  interface: shared
  optional: on
requires:
  a:
    <<: *rel
    limit: 2
    something-new: true
  b: !custom
    interface: tagged
config:
  options:
    flag:
      type: boolean
      default: yes
    bare:
    big:
      type: int
      default: 18446744073709551615
actions:
  go:
    params:
      anything:
      n:
        type: integer
        minimum: 0
        1: numeric key
    execution-group: g
    parallel: true
",
        ),
        None,
        None,
        None,
    )
    .unwrap();
    assert!(!m.subordinate);
    let a = m.relation("a").unwrap();
    assert_eq!(
        (a.interface.as_str(), a.limit, a.optional),
        ("shared", Some(2), true)
    );
    assert_eq!(m.relation("b").unwrap().interface, "tagged");
    assert_eq!(m.config["flag"].default, Some(json!(true)));
    assert_eq!(m.config["bare"].kind, ConfigType::String);
    assert_eq!(m.config["bare"].default, None);
    assert_eq!(m.config["big"].default, Some(json!(u64::MAX)));
    assert_eq!(m.actions["go"].params["anything"], json!({}));
    assert_eq!(
        m.actions["go"].params["n"],
        json!({"type": "integer", "minimum": 0, "1": "numeric key"})
    );
}

#[test]
fn from_dir_reads_the_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("metadata.yaml"), CLASSIC_META).unwrap();
    std::fs::write(dir.path().join("config.yaml"), CLASSIC_CONFIG).unwrap();
    std::fs::write(dir.path().join("actions.yaml"), CLASSIC_ACTIONS).unwrap();
    let m = Metadata::from_dir(dir.path()).unwrap();
    assert_eq!(
        m,
        Metadata::from_yaml(
            None,
            Some(CLASSIC_META),
            Some(CLASSIC_CONFIG),
            Some(CLASSIC_ACTIONS)
        )
        .unwrap()
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("charmcraft.yaml"), UNIFIED).unwrap();
    let m = Metadata::from_dir(dir.path()).unwrap();
    assert_eq!(m.name, "rust-starter");
    assert_eq!(m.actions.len(), 2);
}

#[test]
fn from_dir_errors_name_full_paths() {
    let dir = tempfile::tempdir().unwrap();
    // No metadata at all: the error names the directory.
    let (path, _, _, message) = meta_err(Metadata::from_dir(dir.path()));
    assert_eq!(path, dir.path());
    assert!(message.contains("metadata.yaml") && message.contains("charmcraft.yaml"));
    // A config.yaml alone is not enough.
    std::fs::write(dir.path().join("config.yaml"), CLASSIC_CONFIG).unwrap();
    let (path, ..) = meta_err(Metadata::from_dir(dir.path()));
    assert_eq!(path, dir.path());
    // A nonexistent directory.
    let (path, ..) = meta_err(Metadata::from_dir(&dir.path().join("nope")));
    assert_eq!(path, dir.path().join("nope"));

    // Malformed YAML: the full path and the location.
    std::fs::write(dir.path().join("metadata.yaml"), "name: x\nrequires: [\n").unwrap();
    let (path, line, ..) = meta_err(Metadata::from_dir(dir.path()));
    assert_eq!(path, dir.path().join("metadata.yaml"));
    assert!(line.is_some());

    // Structural errors in config.yaml name the full path of config.yaml.
    std::fs::write(dir.path().join("metadata.yaml"), "name: x\n").unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        "options:\n  a: {type: nope}\n",
    )
    .unwrap();
    let (path, ..) = meta_err(Metadata::from_dir(dir.path()));
    assert_eq!(path, dir.path().join("config.yaml"));
    std::fs::remove_file(dir.path().join("config.yaml")).unwrap();

    // Unreadable: a directory where a file should be; invalid UTF-8.
    std::fs::create_dir(dir.path().join("actions.yaml")).unwrap();
    let (path, _, _, message) = meta_err(Metadata::from_dir(dir.path()));
    assert_eq!(path, dir.path().join("actions.yaml"));
    assert!(message.starts_with("cannot read"), "{message}");
    std::fs::remove_dir(dir.path().join("actions.yaml")).unwrap();
    std::fs::write(
        dir.path().join("actions.yaml"),
        b"a:\n  description: \xff\xfe\n",
    )
    .unwrap();
    let (path, _, _, message) = meta_err(Metadata::from_dir(dir.path()));
    assert_eq!(path, dir.path().join("actions.yaml"));
    assert_eq!(message, "cannot read: not valid UTF-8");
}
