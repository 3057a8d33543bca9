//! OTLP/HTTP collectors for the export tests: tiny HTTP/1.1 and HTTPS servers on 127.0.0.1 that
//! record every request and answer as told (a status, a script of steps, Tempo 2.0's strict
//! decoding), and hostile ones (silent, trickling, resetting, answering garbage).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST`, `GET`…
    pub method: String,
    /// The request target, e.g. `/v1/traces`.
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (as long as `Content-Length` said).
    pub body: Vec<u8>,
    /// The status the server answered with (0: it never answered).
    pub answered: u16,
}

impl Received {
    /// The value of header `name` (lowercase), if the request had it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a TLS server saw of one handshake.
#[derive(Debug, Clone)]
pub enum Handshake {
    /// It succeeded.
    Done {
        /// The ALPN protocol agreed, if any.
        alpn: Option<Vec<u8>>,
        /// The TLS version agreed.
        version: rustls::ProtocolVersion,
    },
    /// It failed, with rustls's error.
    Failed(String),
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    handshakes: Arc<Mutex<Vec<Handshake>>>,
    connections: Arc<AtomicUsize>,
    status: Arc<AtomicU16>,
    script: Arc<Mutex<VecDeque<Step>>>,
    /// JSON keys this server does not know: a body holding one gets a 400 naming it.
    unknown: Arc<Mutex<Vec<&'static str>>>,
    /// How long to wait before each answer that is not a step of the script.
    delay: Arc<Mutex<Duration>>,
}

/// What a scripted server does with one request (after recording it).
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Answer with this status.
    Status(u16),
    /// Wait, then answer with this status.
    After(Duration, u16),
    /// Never answer (hold the connection for a minute).
    Hang,
}

/// A server on 127.0.0.1 running in background threads for the rest of the test process.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Shared,
}

impl Server {
    /// Plain HTTP, answering every request with `status`.
    pub fn http(status: u16) -> Server {
        Self::start(status, None)
    }

    /// HTTPS with the given rustls server configuration.
    pub fn https(status: u16, config: Arc<ServerConfig>) -> Server {
        Self::start(status, Some(config))
    }

    /// Plain HTTP, answering requests by the steps of `script`, in order, then with `then`.
    pub fn scripted(script: Vec<Step>, then: u16) -> Server {
        let server = Self::start(then, None);
        server.shared.script.lock().unwrap().extend(script);
        server
    }

    /// Plain HTTP, decoding strictly as Tempo 2.0.x does: a body holding any of `unknown` as a
    /// JSON key gets `400 {"code":3,"message":"unknown field \"<key>\" in v1.Span"}`; the rest
    /// `200`.
    pub fn strict(unknown: &[&'static str]) -> Server {
        let server = Self::start(200, None);
        server.shared.unknown.lock().unwrap().extend(unknown);
        server
    }

    /// Accepts TCP connections and never reads or answers.
    pub fn silent() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Shared::default();
        let connections = shared.connections.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                connections.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Server { addr, shared }
    }

    /// Accepts TCP connections and answers whatever arrives with `reply`, then holds the socket.
    pub fn raw(reply: Vec<u8>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Shared::default();
        let connections = shared.connections.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                connections.fetch_add(1, Ordering::SeqCst);
                let reply = reply.clone();
                std::thread::spawn(move || {
                    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                    let mut buf = [0u8; 4096];
                    if stream.read(&mut buf).unwrap_or(0) > 0 {
                        stream.write_all(&reply).ok();
                    }
                    // Drain until the client gives up.
                    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
        });
        Server { addr, shared }
    }

    /// Reads a request, then answers `HTTP/1.1 200 OK` one byte every 300 ms, for ever.
    pub fn trickle() -> Server {
        Self::per_connection(|mut stream| {
            let mut buf = [0u8; 4096];
            if stream.read(&mut buf).unwrap_or(0) == 0 {
                return;
            }
            let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
            for b in answer.iter().chain(std::iter::repeat(&b'x')) {
                if stream.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    }

    /// Reads a few bytes of the request, then closes the connection with data unread: the
    /// kernel answers with a reset.
    pub fn reset() -> Server {
        Self::per_connection(|mut stream| {
            let mut buf = [0u8; 16];
            let _ = stream.read(&mut buf);
        })
    }

    fn per_connection(serve: fn(TcpStream)) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Shared::default();
        let connections = shared.connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                connections.fetch_add(1, Ordering::SeqCst);
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                std::thread::spawn(move || serve(stream));
            }
        });
        Server { addr, shared }
    }

    fn start(status: u16, tls: Option<Arc<ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Shared::default();
        shared.status.store(status, Ordering::SeqCst);
        let sh = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                sh.connections.fetch_add(1, Ordering::SeqCst);
                let sh = sh.clone();
                let tls = tls.clone();
                std::thread::spawn(move || {
                    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                    match tls {
                        None => serve(stream, &sh),
                        Some(config) => serve_tls(stream, config, &sh),
                    }
                });
            }
        });
        Server { addr, shared }
    }

    /// Waits `delay` before each answer (outside a script): a slow collector.
    pub fn with_delay(self, delay: Duration) -> Server {
        *self.shared.delay.lock().unwrap() = delay;
        self
    }

    /// The bodies of every request read so far, in order.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.received().into_iter().map(|r| r.body).collect()
    }

    /// Its traces URL: `<scheme>://<addr>/v1/traces`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}/v1/traces", self.addr)
    }

    /// Answers later requests (outside a script) with `status`.
    pub fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Every request read so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Every TLS handshake so far, in order.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.shared.handshakes.lock().unwrap().clone()
    }

    /// How many TCP connections it accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

fn serve_tls(tcp: TcpStream, config: Arc<ServerConfig>, sh: &Shared) {
    let conn = ServerConnection::new(config).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            sh.handshakes
                .lock()
                .unwrap()
                .push(Handshake::Failed(e.to_string()));
            return;
        }
    }
    sh.handshakes.lock().unwrap().push(Handshake::Done {
        alpn: tls.conn.alpn_protocol().map(<[u8]>::to_vec),
        version: tls.conn.protocol_version().unwrap(),
    });
    serve(tls, sh);
}

/// Minimal HTTP/1.1 keep-alive loop: headers, Content-Length body, fixed answer.
fn serve<S: Read + Write>(stream: S, sh: &Shared) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let text_body = String::from_utf8_lossy(&body);
        let refused = sh
            .unknown
            .lock()
            .unwrap()
            .iter()
            .copied()
            .find(|k| text_body.contains(&format!("\"{k}\":")));
        let step = match refused {
            Some(_) => None,
            None => sh.script.lock().unwrap().pop_front(),
        };
        let answered = match (refused, step) {
            (Some(_), _) => 400,
            (None, None) => sh.status.load(Ordering::SeqCst),
            (None, Some(Step::Status(s) | Step::After(_, s))) => s,
            (None, Some(Step::Hang)) => 0,
        };
        sh.received.lock().unwrap().push(Received {
            method,
            path,
            headers,
            body,
            answered,
        });
        if let Some(field) = refused {
            let text =
                format!("{{\"code\":3,\"message\":\"unknown field \\\"{field}\\\" in v1.Span\"}}");
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            );
            let stream = reader.get_mut();
            if stream.write_all(answer.as_bytes()).is_err() || stream.flush().is_err() {
                return;
            }
            continue;
        }
        match step {
            Some(Step::After(pause, _)) => std::thread::sleep(pause),
            Some(Step::Hang) => {
                std::thread::sleep(Duration::from_secs(60));
                return;
            }
            Some(Step::Status(_)) => {}
            None => std::thread::sleep(*sh.delay.lock().unwrap()),
        }
        let status = answered;
        let text = format!("status {status}\n");
        let answer = format!(
            "HTTP/1.1 {status} Whatever\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        let stream = reader.get_mut();
        if stream.write_all(answer.as_bytes()).is_err() || stream.flush().is_err() {
            return;
        }
    }
}

/// A port on 127.0.0.1 where nothing listens.
pub fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
