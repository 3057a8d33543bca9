//! Exec: run a command in the workload container, stdin in, stdout and stderr out, over
//! Pebble's websockets (tungstenite), then the exit code from the finished change.
//!
//! The flow, as Pebble's Go client and ops do it: `POST /v1/exec` (async: a change, and the
//! task id in the result) → websockets `control`, `stdio` and (unless stderr is combined)
//! `stderr` on `/v1/tasks/<task>/websocket/…` → stdin goes out as binary frames ended by the
//! text frame `{"command":"end"}`, stdout comes back the same way on `stdio`, stderr on
//! `stderr` → `GET /v1/changes/<id>/wait`: the exit code is `tasks[0].data["exit-code"]`.

use std::collections::BTreeMap;
use std::io;
use std::thread;
use std::time::Duration;

use serde_json::{json, Map, Value as Json};
use tungstenite::Message;

use super::changes::{ChangeId, ChangeStatus};
use super::client::{insert_owner, Client};
use super::error::Error;
use super::godur;
use super::transport::WebSocket;
use super::Result;

/// How a command runs: environment, working directory, user, timeout, stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// Environment variables added to Pebble's (these win).
    pub environment: BTreeMap<String, String>,
    /// The working directory (default: the user's home).
    pub working_dir: Option<String>,
    /// Kill the command after this long (its change then fails with
    /// `timed out after …`).
    pub timeout: Option<Duration>,
    /// Run as this user id.
    pub user_id: Option<u32>,
    /// Run as this user.
    pub user: Option<String>,
    /// Run with this group id.
    pub group_id: Option<u32>,
    /// Run with this group.
    pub group: Option<String>,
    /// Take environment, user and working directory from this service in the plan.
    pub service_context: Option<String>,
    /// Written to the command's stdin, which is then closed.
    pub stdin: Option<Vec<u8>>,
    /// Send stderr into stdout (one stream, as a terminal shows it) instead of apart.
    pub combine_stderr: bool,
}

impl ExecOptions {
    /// Adds an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.environment.insert(key.into(), value.into());
        self
    }

    /// Sets the working directory.
    pub fn working_dir(mut self, dir: &str) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Runs as `user`.
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Runs with `group`.
    pub fn group(mut self, group: &str) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Feeds `data` to stdin.
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self
    }

    fn body(&self, command: &[&str]) -> Json {
        let mut m = Map::new();
        m.insert("command".into(), json!(command));
        if let Some(s) = &self.service_context {
            m.insert("service-context".into(), json!(s));
        }
        if !self.environment.is_empty() {
            m.insert("environment".into(), json!(self.environment));
        }
        if let Some(d) = &self.working_dir {
            m.insert("working-dir".into(), json!(d));
        }
        if let Some(t) = self.timeout {
            m.insert("timeout".into(), json!(godur::format(t)));
        }
        insert_owner(
            &mut m,
            self.user_id,
            self.user.as_deref(),
            self.group_id,
            self.group.as_deref(),
        );
        m.insert("split-stderr".into(), json!(!self.combine_stderr));
        Json::Object(m)
    }
}

/// What a command that exited 0 printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Its stdout (with stderr in it when combined).
    pub stdout: Vec<u8>,
    /// Its stderr (empty when combined).
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// Stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// The text frame that ends a stream (stdin's EOF, and the end of stdout and stderr).
pub(crate) const END: &str = r#"{"command":"end"}"#;

/// Reads a stream's binary frames until its `end` text frame (or the socket closes).
fn read_stream(ws: &mut WebSocket, out: &mut Vec<u8>) -> Result<(), tungstenite::Error> {
    loop {
        match ws.read() {
            Ok(Message::Binary(b)) => out.extend_from_slice(&b),
            Ok(Message::Text(t)) if is_end(t.as_str()) => return Ok(()),
            Ok(Message::Close(_)) => return Ok(()),
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Ok(())
            }
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Ok(())
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a text frame is the end of a stream: `{"command":"end"}`, read as JSON as Pebble
/// reads it.
pub(crate) fn is_end(text: &str) -> bool {
    serde_json::from_str::<Json>(text)
        .ok()
        .and_then(|v| v.get("command").and_then(Json::as_str).map(|c| c == "end"))
        .unwrap_or(false)
}

fn would_block(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(io) if matches!(io.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
}

/// Sends stdin on `ws` while reading stdout from it, so neither side stalls on a full buffer:
/// reads are bounded by a short timeout while there is stdin left to send.
fn pump_stdio(
    ws: &mut WebSocket,
    stdin: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), tungstenite::Error> {
    const CHUNK: usize = 32 * 1024;
    let mut chunks = stdin.chunks(CHUNK);
    let mut sent_end = false;
    let _ = ws
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(20)));
    while !sent_end {
        let msg = match chunks.next() {
            Some(c) => Message::Binary(c.to_vec().into()),
            None => {
                sent_end = true;
                Message::Text(END.into())
            }
        };
        ws.send(msg)?;
        // Drain what stdout has for us without waiting long.
        loop {
            match ws.read() {
                Ok(Message::Binary(b)) => out.extend_from_slice(&b),
                Ok(Message::Text(t)) if is_end(t.as_str()) => {
                    let _ = ws.get_ref().set_read_timeout(None);
                    // Stdout ended before stdin was all sent: send the rest anyway.
                    for c in chunks.by_ref() {
                        ws.send(Message::Binary(c.to_vec().into()))?;
                    }
                    if !sent_end {
                        ws.send(Message::Text(END.into()))?;
                    }
                    return Ok(());
                }
                Ok(_) => {}
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            }
        }
    }
    let _ = ws.get_ref().set_read_timeout(None);
    read_stream(ws, out)
}

fn close(ws: &mut WebSocket) {
    let _ = ws.close(None);
    let _ = ws.flush();
}

impl Client {
    /// Runs `command` in the container and waits for it. Exit code 0 gives its output; a
    /// non-zero exit is [`Error::Exec`] with its stdout and stderr; a command Pebble cannot
    /// find is [`Error::Api`] (`cannot find executable "x"`); a timeout is [`Error::Change`].
    pub fn exec(&self, command: &[&str], options: &ExecOptions) -> Result<ExecOutput> {
        let request = "POST /v1/exec";
        let (change, result) = self.post_async("/v1/exec", &options.body(command))?;
        let change = ChangeId(change);
        let task = result
            .get("task-id")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::protocol(request, "no task-id in the exec reply"))?
            .to_owned();
        let ws = |name: &str| {
            self.transport()
                .websocket(&format!("/v1/tasks/{task}/websocket/{name}"))
        };
        let mut control = ws("control")?;
        let mut stdio = ws("stdio")?;
        let stderr_ws = if options.combine_stderr {
            None
        } else {
            Some(ws("stderr")?)
        };

        let stderr_thread = stderr_ws.map(|mut w| {
            thread::spawn(move || {
                let mut buf = Vec::new();
                let r = read_stream(&mut w, &mut buf);
                close(&mut w);
                r.map(|()| buf)
            })
        });
        let mut stdout = Vec::new();
        let stdin = options.stdin.as_deref().unwrap_or_default();
        let pumped = pump_stdio(&mut stdio, stdin, &mut stdout);
        close(&mut stdio);
        let stderr = match stderr_thread {
            Some(t) => match t.join() {
                Ok(read) => read.map_err(|e| self.stream_error("stderr", e)),
                Err(_) => Err(Error::protocol(
                    "exec stderr websocket",
                    "the stderr reader panicked",
                )),
            },
            None => Ok(Vec::new()),
        };
        close(&mut control);
        let wait = self.change_timeout() + options.timeout.unwrap_or_default();
        let finished = self.wait_change(&change, wait)?;
        if finished.status == ChangeStatus::Error {
            return Err(Error::Change(Box::new(finished)));
        }
        pumped.map_err(|e| self.stream_error("stdio", e))?;
        let stderr = stderr?;
        let exit_code = finished
            .tasks
            .first()
            .and_then(|t| t.data.get("exit-code"))
            .and_then(Json::as_i64)
            .ok_or_else(|| Error::protocol(request, "no exit-code in the finished change"))?;
        let exit_code = i32::try_from(exit_code).unwrap_or(-1);
        if exit_code != 0 {
            return Err(Error::Exec {
                command: command.iter().map(|s| s.to_string()).collect(),
                exit_code,
                stdout,
                stderr,
            });
        }
        Ok(ExecOutput { stdout, stderr })
    }

    /// A failure on exec's `stream` websocket: the connection broke ([`Error::Connection`],
    /// with the operating system's error), or Pebble spoke something else than websockets.
    fn stream_error(&self, stream: &str, e: tungstenite::Error) -> Error {
        match e {
            tungstenite::Error::Io(source) => Error::Connection {
                socket: self.transport().endpoint(),
                source,
            },
            // The peer went without a closing frame: the connection broke.
            tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            ) => Error::Connection {
                socket: self.transport().endpoint(),
                source: io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    format!("exec {stream} websocket closed without a closing handshake"),
                ),
            },
            other => Error::protocol(&format!("exec {stream} websocket"), other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_stream_is_a_connection_error_and_a_bad_one_a_protocol_error() {
        let client = Client::with_socket("/run/web/pebble.socket");
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        let e = client.stream_error("stdio", tungstenite::Error::Io(reset));
        assert!(e.is_connection(), "{e:?}");
        assert!(e.to_string().contains("/run/web/pebble.socket"), "{e}");
        let reset = tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        );
        let e = client.stream_error("stderr", reset);
        assert!(e.is_connection(), "{e:?}");
        assert!(e.to_string().contains("stderr"), "{e}");
        let e = client.stream_error("stderr", tungstenite::Error::AttackAttempt);
        assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
        assert!(e.to_string().contains("exec stderr websocket"), "{e}");
    }
}
