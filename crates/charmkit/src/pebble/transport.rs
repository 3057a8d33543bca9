//! How requests reach Pebble: the [`Transport`] trait and its unix-socket implementation.
//!
//! A transport carries one whole request and brings back one whole response (bodies in memory),
//! and opens websockets (for exec). [`SocketTransport`] is the real one: HTTP/1.1 by ureq over
//! the unix socket (ureq's transport API with a unix-socket connector, connections kept alive),
//! websockets by tungstenite over a fresh connection to the same socket. The fake Pebble of the
//! test harness and the tracing decorator are transports too.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport as UreqTransport,
};

use super::error::Error;
use super::wire;
use super::Result;

/// An HTTP method Pebble's API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

impl Method {
    /// `GET` or `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request to Pebble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path with its query string, e.g. `/v1/services?names=a,b`.
    pub path: String,
    /// The `Content-Type` of the body, if there is one.
    pub content_type: Option<String>,
    /// The `Accept` header, if any (pull asks for `multipart/form-data`).
    pub accept: Option<String>,
    /// The body (empty for GET).
    pub body: Vec<u8>,
}

impl Request {
    /// A GET of `path` (with its query).
    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
            content_type: None,
            accept: None,
            body: Vec::new(),
        }
    }

    /// A POST of a JSON body.
    pub fn post_json(path: impl Into<String>, body: &serde_json::Value) -> Request {
        Request {
            method: Method::Post,
            path: path.into(),
            content_type: Some("application/json".into()),
            accept: None,
            body: serde_json::to_vec(body).expect("a JSON value serializes"),
        }
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// `METHOD /path` (no query), for messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path_only())
    }
}

/// One response from Pebble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The `Content-Type` (`application/json`, or `multipart/form-data; boundary=…` for pull).
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

/// A byte stream a websocket runs over (a unix socket, or the fake's in-memory pair).
pub trait WsStream: Read + Write + Send + fmt::Debug {
    /// Bounds each blocking read (`None`: block). Streams without timeouts may ignore it.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl WsStream for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
}

/// A websocket to Pebble (exec's control, stdio and stderr channels).
pub type WebSocket = tungstenite::WebSocket<Box<dyn WsStream>>;

/// Carries requests to a Pebble (real or fake).
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` and reads the whole response. An HTTP error status is a response, not an
    /// error; only failing to talk to Pebble at all is ([`Error::Connection`]).
    fn roundtrip(&self, request: &Request) -> Result<Response>;

    /// Opens a websocket on `path` (e.g. `/v1/tasks/6/websocket/stdio`).
    fn websocket(&self, path: &str) -> Result<WebSocket>;

    /// What this transport connects to, for messages (the socket path).
    fn endpoint(&self) -> PathBuf;
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn roundtrip(&self, request: &Request) -> Result<Response> {
        (**self).roundtrip(request)
    }
    fn websocket(&self, path: &str) -> Result<WebSocket> {
        (**self).websocket(path)
    }
    fn endpoint(&self) -> PathBuf {
        (**self).endpoint()
    }
}

/// The real transport: Pebble's unix socket.
#[derive(Debug, Clone)]
pub struct SocketTransport {
    socket: PathBuf,
    agent: ureq::Agent,
}

/// Bounds connecting to the socket (a local connect either succeeds at once or fails).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Pulled files are read whole; this bounds one reply.
const MAX_BODY: u64 = 1 << 30;

impl SocketTransport {
    /// A transport to the Pebble listening on `socket`. Nothing is connected until a request.
    pub fn new(socket: impl Into<PathBuf>) -> SocketTransport {
        let socket = socket.into();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .max_redirects(0)
            .proxy(None)
            .user_agent(concat!("charmkit/", env!("CARGO_PKG_VERSION")))
            .build();
        let connector = UnixConnector {
            socket: socket.clone(),
        };
        let agent = ureq::Agent::with_parts(config, connector, NoResolver);
        SocketTransport { socket, agent }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn connection_error(&self, source: io::Error) -> Error {
        Error::Connection {
            socket: self.socket.clone(),
            source,
        }
    }

    fn send(&self, request: &Request) -> std::result::Result<Response, ureq::Error> {
        let url = format!("http://localhost{}", request.path);
        let mut response = match request.method {
            Method::Get => {
                let mut b = self.agent.get(&url);
                if let Some(a) = &request.accept {
                    b = b.header("Accept", a);
                }
                b.call()?
            }
            Method::Post => {
                let mut b = self.agent.post(&url);
                if let Some(ct) = &request.content_type {
                    b = b.header("Content-Type", ct);
                }
                if let Some(a) = &request.accept {
                    b = b.header("Accept", a);
                }
                b.send(&request.body[..])?
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()?;
        Ok(Response {
            status,
            content_type,
            body,
        })
    }
}

impl Transport for SocketTransport {
    fn roundtrip(&self, request: &Request) -> Result<Response> {
        self.send(request).map_err(|e| match e {
            ureq::Error::Io(io) => self.connection_error(io),
            ureq::Error::Timeout(t) => self.connection_error(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("timed out ({t})"),
            )),
            other => Error::protocol(&request.describe(), other),
        })
    }

    fn websocket(&self, path: &str) -> Result<WebSocket> {
        let stream = UnixStream::connect(&self.socket).map_err(|e| self.connection_error(e))?;
        let stream: Box<dyn WsStream> = Box::new(stream);
        let url = format!("ws://localhost{path}");
        match tungstenite::client::client(url.as_str(), stream) {
            Ok((ws, _)) => Ok(ws),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                // Pebble refused the upgrade with an error envelope.
                let body = resp.body().as_deref().unwrap_or_default();
                let request = format!("GET {path}");
                Err(wire::error_of(&request, resp.status().as_u16(), body))
            }
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Io(e))) => {
                Err(self.connection_error(e))
            }
            Err(e) => Err(Error::protocol(&format!("GET {path}"), e)),
        }
    }

    fn endpoint(&self) -> PathBuf {
        self.socket.clone()
    }
}

/// Every request goes to the socket, whatever the URL's host: nothing to resolve.
#[derive(Debug)]
struct NoResolver;

impl Resolver for NoResolver {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let mut addrs = self.empty();
        addrs.push(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 80)));
        Ok(addrs)
    }
}

/// ureq's connector for a unix socket: the start of the chain, ignoring the resolved address.
#[derive(Debug)]
struct UnixConnector {
    socket: PathBuf,
}

impl Connector<()> for UnixConnector {
    type Out = UnixTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> std::result::Result<Option<Self::Out>, ureq::Error> {
        let stream = UnixStream::connect(&self.socket)?;
        let config = &details.config;
        Ok(Some(UnixTransport {
            stream,
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
        }))
    }
}

/// A ureq transport over a connected unix socket.
#[derive(Debug)]
struct UnixTransport {
    stream: UnixStream,
    buffers: LazyBuffers,
}

fn std_timeout(timeout: NextTimeout) -> Option<Duration> {
    timeout.not_zero().map(|d| *d)
}

impl UreqTransport for UnixTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        self.stream.set_write_timeout(std_timeout(timeout))?;
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.stream.set_read_timeout(std_timeout(timeout))?;
        let input = self.buffers.input_append_buf();
        let amount = match self.stream.read(input) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(ureq::Error::Timeout(timeout.reason))
            }
            Err(e) => return Err(e.into()),
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        // A kept-alive connection Pebble closed reads as EOF: peek without blocking.
        use nix::sys::socket::{recv, MsgFlags};
        use std::os::fd::AsRawFd;
        let mut buf = [0u8; 1];
        let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
        match recv(self.stream.as_raw_fd(), &mut buf, flags) {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => e == nix::errno::Errno::EAGAIN,
        }
    }
}
