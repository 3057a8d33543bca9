//! [`ProcessTools`] against real executables: a shell script written to a temporary directory
//! and run by absolute path as the tool's name.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{HookTools, ProcessTools, ToolCall};
use crate::error::{Error, Result};

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "#!/bin/sh\n{body}").unwrap();
    f.sync_all().unwrap();
    drop(f);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs `call`, retrying while the kernel says the script is busy: another test thread may fork
/// while our script's write descriptor is open and keep it open until its exec (ETXTBSY).
fn run(call: &ToolCall) -> Result<Vec<u8>> {
    for _ in 0..50 {
        match ProcessTools.run(call) {
            Err(Error::ToolSpawn { source, .. }) if source.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
    ProcessTools.run(call)
}

#[test]
fn stdout_is_returned_and_args_passed() {
    let dir = tempfile::tempdir().unwrap();
    let tool = script(dir.path(), "is-leader", r#"printf '%s|' "$@"; echo true"#);
    let out = run(&ToolCall::new(&tool, ["--format=json", "a b"])).unwrap();
    assert_eq!(out, b"--format=json|a b|true\n");
}

#[test]
fn stdin_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let tool = script(dir.path(), "relation-set", "cat");
    let call = ToolCall::new(&tool, ["--file", "-"]).with_stdin(br#"{"k":"v"}"#.to_vec());
    assert_eq!(run(&call).unwrap(), br#"{"k":"v"}"#);
    // Without stdin the tool reads /dev/null, not the test's stdin.
    assert_eq!(
        run(&ToolCall::new(&tool, Vec::<String>::new())).unwrap(),
        b""
    );
}

#[test]
fn non_zero_exit_carries_status_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let tool = script(
        dir.path(),
        "relation-get",
        "echo 'ERROR permission denied' >&2; exit 3",
    );
    let call = ToolCall::new(&tool, ["s3cret"]).with_redact(super::Redact {
        args: vec![0],
        ..Default::default()
    });
    match run(&call) {
        Err(Error::HookTool {
            tool: t,
            args,
            status,
            stderr,
        }) => {
            assert_eq!(t, tool);
            assert_eq!(args, vec![super::REDACTED.to_string()]);
            assert_eq!(status, Some(3));
            assert_eq!(stderr, "ERROR permission denied");
        }
        other => panic!("expected HookTool error, got {other:?}"),
    }
}

#[test]
fn missing_tool_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let tool = dir.path().join("no-such-tool");
    let call = ToolCall::new(tool.to_str().unwrap(), Vec::<String>::new());
    assert!(matches!(run(&call), Err(Error::ToolSpawn { .. })));
}
