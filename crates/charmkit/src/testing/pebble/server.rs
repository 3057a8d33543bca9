//! Serving the fake over a real unix socket (tiny_http), websockets included.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::pebble::{Method, Request, WsStream};

use super::{api, exec, Shared};

/// A fake Pebble listening on a unix socket. Dropping it stops it and removes the socket.
pub struct PebbleServer {
    server: Arc<tiny_http::Server>,
    socket: PathBuf,
    accept: Option<thread::JoinHandle<()>>,
}

impl fmt::Debug for PebbleServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PebbleServer")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

impl PebbleServer {
    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for PebbleServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// The upgraded stream of a websocket request (tiny_http's), as a [`WsStream`].
struct Upgraded(Box<dyn tiny_http::ReadWrite + Send>);

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Upgraded")
    }
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl WsStream for Upgraded {
    fn set_read_timeout(&self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) fn serve(shared: Arc<Shared>, socket: &Path) -> io::Result<PebbleServer> {
    if socket.exists() {
        std::fs::remove_file(socket)?;
    }
    let server = tiny_http::Server::http_unix(socket).map_err(io::Error::other)?;
    let server = Arc::new(server);
    let accept = {
        let server = server.clone();
        thread::spawn(move || {
            for request in server.incoming_requests() {
                let shared = shared.clone();
                // Each request on its own thread: a change wait must not hold up the others.
                thread::spawn(move || answer(&shared, request));
            }
        })
    };
    Ok(PebbleServer {
        server,
        socket: socket.to_path_buf(),
        accept: Some(accept),
    })
}

fn header(request: &tiny_http::Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_owned())
}

fn answer(shared: &Arc<Shared>, mut request: tiny_http::Request) {
    let method = match request.method() {
        tiny_http::Method::Get => Some(Method::Get),
        tiny_http::Method::Post => Some(Method::Post),
        _ => None,
    };
    let path = request.url().to_owned();
    let upgrade = header(&request, "Upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if upgrade && method == Some(Method::Get) {
        return websocket(shared, request, &path);
    }
    let response = match method {
        None => super::reply::error(
            405,
            format!("method {:?} not allowed", request.method().as_str()),
        ),
        Some(method) => {
            let mut body = Vec::new();
            if let Err(e) = request.as_reader().read_to_end(&mut body) {
                log::debug!("fake Pebble: cannot read a request body: {e}");
                return;
            }
            let req = Request {
                method,
                path,
                content_type: header(&request, "Content-Type"),
                accept: header(&request, "Accept"),
                body,
            };
            api::handle(shared, &req)
        }
    };
    respond(request, response);
}

fn respond(request: tiny_http::Request, response: crate::pebble::Response) {
    let ct = tiny_http::Header::from_bytes("Content-Type", response.content_type.as_bytes())
        .expect("a valid header");
    let reply = tiny_http::Response::from_data(response.body)
        .with_status_code(response.status)
        .with_header(ct);
    let _ = request.respond(reply);
}

fn websocket(shared: &Arc<Shared>, request: tiny_http::Request, path: &str) {
    let (task, id) = match exec::check_websocket(shared, path) {
        Ok(v) => v,
        Err(resp) => return respond(request, resp),
    };
    let Some(key) = header(&request, "Sec-WebSocket-Key") else {
        return respond(
            request,
            super::reply::bad_request("websocket: missing Sec-WebSocket-Key"),
        );
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let reply = tiny_http::Response::empty(101).with_header(
        tiny_http::Header::from_bytes("Sec-WebSocket-Accept", accept.as_bytes())
            .expect("a valid header"),
    );
    let stream = request.upgrade("websocket", reply);
    let ws = exec::server_socket(Box::new(Upgraded(stream)));
    exec::attach(shared, &task, &id, ws);
}
