//! Test helpers for the export tests: tiny HTTP/1.1 and HTTPS servers on 127.0.0.1 and an
//! rcgen-made PKI.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned, SupportedProtocolVersion};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status the server answered with (0: it never answered).
    pub answered: u16,
}

impl Received {
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
    Done {
        alpn: Option<Vec<u8>>,
        version: rustls::ProtocolVersion,
    },
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

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}/v1/traces", self.addr)
    }

    pub fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn handshakes(&self) -> Vec<Handshake> {
        self.shared.handshakes.lock().unwrap().clone()
    }

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
            _ => {}
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

/// A CA (root or intermediate) that can sign.
pub struct Ca {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub cert: rcgen::Certificate,
}

impl Ca {
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    fn params(name: &str) -> CertificateParams {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params
    }

    pub fn root(name: &str) -> Ca {
        let params = Self::params(name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { params, key, cert }
    }

    pub fn intermediate(&self, name: &str) -> Ca {
        let params = Self::params(name);
        let key = KeyPair::generate().unwrap();
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .unwrap();
        Ca { params, key, cert }
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn leaf(&self, names: &[&str], expired: bool) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .unwrap();
        Leaf { cert, key }
    }
}

pub struct Leaf {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

/// A rustls server configuration (ring) presenting `chain`, with ALPN `http/1.1`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: &KeyPair,
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A port on 127.0.0.1 where nothing listens.
pub fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
