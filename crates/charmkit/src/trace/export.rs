//! The OTLP/HTTP client: POSTs OTLP/JSON chunks to one collector URL over HTTP or HTTPS.
//!
//! - `https` is always verified, hostname included; there is no insecure mode.
//! - TLS is rustls with the ring provider, TLS 1.2 and 1.3, ALPN `http/1.1`. The configuration is
//!   built here and plugged into ureq through its connector chain (TCP connector from ureq, TLS
//!   connector from this module), so ureq's own TLS defaults (no ALPN, process-wide provider)
//!   never apply.
//! - With a CA bundle, only the certificates in it are trusted, each one as a trust anchor, so a
//!   bundle holding just an intermediate CA works (partial chain), as in ops.
//! - One hard deadline per request (`timeout`: connect + TLS + send + receive), so a collector
//!   that accepts TCP and never answers costs `timeout`, not a hang.
//! - HTTP statuses never become errors inside ureq; [`Sender::post`] classifies them itself.
//! - No proxy (environment proxy variables are ignored) and no redirects.

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::destination::{redact, roots_from_bundle};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::time::{Duration as UreqDuration, Instant as UreqInstant};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, TcpConnector,
    Transport, TransportAdapter,
};

/// The system CA bundles tried, in order, when no CA is given and `SSL_CERT_FILE` is unset or
/// unusable (Debian/Ubuntu, Fedora/RHEL, openSUSE, OpenELEC, CentOS/RHEL 7, Alpine).
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// How much of a response body is read (to reuse the connection, and to quote in messages).
const MAX_RESPONSE_BODY: u64 = 64 * 1024;

/// What happened to one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the collector has the chunk.
    Delivered(u16),
    /// 4xx other than 408/429: the collector will never take this chunk as it is.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// What the collector said it refused: its response body (the `message` of a JSON
        /// error body), one line, at most 200 characters, URLs redacted; empty if it said nothing.
        reason: String,
    },
    /// 5xx, 408, 429, other statuses, timeout, connection or TLS error: keep the chunk. The text
    /// names the URL and the cause, in one line.
    Retry(String),
}

/// Why a [`Sender`] could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExportError {
    /// The URL is not `http://…` or `https://…`.
    UnsupportedScheme {
        /// The URL as given.
        url: String,
    },
    /// The URL could not be parsed, or has no host.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA bundle is not PEM, holds no certificate, or holds one that cannot be a trust
    /// anchor.
    InvalidCa {
        /// The destination URL the bundle was for.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS configuration could not be built.
    Tls {
        /// The destination URL.
        url: String,
        /// The rustls error.
        source: rustls::Error,
    },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::UnsupportedScheme { url } => write!(
                f,
                "tracing destination {}: only http:// and https:// URLs are supported",
                redact(url)
            ),
            ExportError::InvalidUrl { url, reason } => write!(
                f,
                "tracing destination {}: invalid URL: {}",
                redact(url),
                redact(reason)
            ),
            ExportError::InvalidCa { url, reason } => write!(
                f,
                "tracing destination {}: invalid CA bundle: {reason}",
                redact(url)
            ),
            ExportError::Tls { url, source } => write!(
                f,
                "tracing destination {}: TLS configuration: {source}",
                redact(url)
            ),
        }
    }
}

impl std::error::Error for ExportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExportError::Tls { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A reusable sender for one destination. It holds one ureq agent, so consecutive posts reuse a
/// kept-alive connection.
#[derive(Debug)]
pub struct Sender {
    url: String,
    agent: ureq::Agent,
    timeout: Duration,
}

impl Sender {
    /// Builds a sender for `url` (`http://` or `https://`).
    ///
    /// `ca` (used only for `https`): `None` → the system roots (`SSL_CERT_FILE`, then the usual
    /// distro bundle paths, else the bundled Mozilla roots); `Some(pem)` → only the certificates
    /// in the bundle are trusted, each as a trust anchor. A bad PEM, an empty bundle or a
    /// certificate unusable as an anchor is an error.
    ///
    /// `timeout` bounds each [`post`](Self::post) as a whole.
    pub fn new(url: &str, ca: Option<&str>, timeout: Duration) -> Result<Sender, ExportError> {
        let https = match url.split_once("://") {
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") => false,
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => true,
            _ => {
                return Err(ExportError::UnsupportedScheme {
                    url: url.to_owned(),
                })
            }
        };
        let uri: ureq::http::Uri =
            url.parse()
                .map_err(|e: ureq::http::uri::InvalidUri| ExportError::InvalidUrl {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?;
        if !matches!(uri.host(), Some(host) if !host.is_empty()) {
            return Err(ExportError::InvalidUrl {
                url: url.to_owned(),
                reason: "no host".into(),
            });
        }

        let tls = if https {
            let roots = match ca {
                Some(pem) => roots_from_bundle(pem).map_err(|reason| ExportError::InvalidCa {
                    url: url.to_owned(),
                    reason,
                })?,
                None => system_roots(),
            };
            Some(Arc::new(client_config(roots).map_err(|source| {
                ExportError::Tls {
                    url: url.to_owned(),
                    source,
                }
            })?))
        } else {
            None
        };

        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .proxy(None)
            .user_agent(concat!("charmkit/", env!("CARGO_PKG_VERSION")))
            .build();
        let connector = ().chain(TcpConnector::default()).chain(TlsConnector { config: tls });
        let agent = ureq::Agent::with_parts(config, connector, DefaultResolver::default());
        Ok(Sender {
            url: url.to_owned(),
            agent,
            timeout,
        })
    }

    #[cfg(any(test, feature = "_internals"))]
    /// The destination URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    #[cfg(any(test, feature = "_internals"))]
    /// POSTs `body` with `Content-Type: application/json` and classifies the result.
    pub fn post(&self, body: &[u8]) -> Outcome {
        self.post_inner(body, None)
    }

    /// Like [`Sender::post`], but this request must finish within `timeout` (if shorter than
    /// the sender's own): how a drain keeps its deadline without a new connection.
    pub fn post_within(&self, body: &[u8], timeout: Duration) -> Outcome {
        self.post_inner(body, Some(timeout))
    }

    fn post_inner(&self, body: &[u8], timeout: Option<Duration>) -> Outcome {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(t) = timeout {
            request = request.config().timeout_global(Some(t)).build();
        }
        let response = request.send(body);
        let mut response = match response {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => {
                let t = timeout.unwrap_or(self.timeout);
                return Outcome::Retry(redact(&format!(
                    "POST {}: no complete answer within {:.1} s",
                    self.url,
                    t.as_secs_f64()
                )));
            }
            Err(e) => {
                return Outcome::Retry(redact(&format!("POST {}: {}", self.url, one_line(&e))))
            }
        };
        let status = response.status().as_u16();
        // Read the (small) body so the connection can be reused, and to quote it on failure: at
        // most MAX_RESPONSE_BODY of it (what a huge body holds beyond that is never read).
        let mut head = Vec::new();
        let _ = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .reader()
            .take(MAX_RESPONSE_BODY)
            .read_to_end(&mut head);
        let text = String::from_utf8_lossy(&head).into_owned();
        match status {
            200..=299 => Outcome::Delivered(status),
            408 | 429 => Outcome::Retry(self.status_message(status, &text)),
            400..=499 => Outcome::Rejected {
                status,
                reason: reason_of(&text),
            },
            _ => Outcome::Retry(self.status_message(status, &text)),
        }
    }

    fn status_message(&self, status: u16, body: &str) -> String {
        let mut msg = format!("POST {}: HTTP {status}", self.url);
        let reason = reason_of(body);
        if !reason.is_empty() {
            msg.push_str(": ");
            msg.push_str(&reason);
        }
        redact(&msg)
    }
}

/// What a collector's response body says, for a log line: the `message` of a JSON error body
/// (`{"code":3,"message":"unknown field \"flags\" in v1.Span"}`, as the OpenTelemetry Collector
/// and Tempo answer), else the body itself; one line, at most 200 characters, URLs redacted.
fn reason_of(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned));
    let text = one_line(message.as_deref().unwrap_or(body).trim());
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    redact(&cut)
}

fn one_line(e: &(impl fmt::Display + ?Sized)) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The system's trusted roots: `SSL_CERT_FILE`, then the usual distro bundles, else the bundled
/// Mozilla roots (webpki-roots). Unparsable entries of a system bundle are skipped.
fn system_roots() -> RootCertStore {
    let env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let candidates = env
        .into_iter()
        .chain(SYSTEM_BUNDLES.iter().map(std::path::PathBuf::from));
    for path in candidates {
        let Ok(pem) = std::fs::read(&path) else {
            continue;
        };
        let mut roots = RootCertStore::empty();
        let certs = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok);
        let (added, ignored) = roots.add_parsable_certificates(certs);
        if added > 0 {
            log::debug!(
                "tracing export: {added} trusted roots from {} ({ignored} ignored)",
                path.display()
            );
            return roots;
        }
    }
    log::debug!("tracing export: no system CA bundle found, using the bundled Mozilla roots");
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The rustls client configuration: ring, TLS 1.3 and 1.2 only, verified against `roots` (with
/// hostname verification), ALPN `http/1.1`, no client certificate.
pub(crate) fn client_config(roots: RootCertStore) -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Wraps the TCP transport in TLS for `https` URLs, with our own [`ClientConfig`].
#[derive(Debug)]
struct TlsConnector {
    /// `None` for an `http` destination: an `https` URL then fails rather than go unencrypted.
    config: Option<Arc<ClientConfig>>,
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let Some(config) = &self.config else {
            return Err(ureq::Error::Tls("no TLS configuration for an https URL"));
        };
        let host = details
            .uri
            .host()
            .ok_or(ureq::Error::Tls("https URL without a host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| ureq::Error::Tls("invalid server name for TLS"))?;
        let mut conn = ClientConnection::new(config.clone(), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(remaining(details));
        conn.complete_io(&mut sock)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// The connect-stage deadline left after the TCP connect (which used part of it).
fn remaining(details: &ConnectionDetails) -> NextTimeout {
    let mut timeout = details.timeout;
    if let (UreqDuration::Exact(after), UreqInstant::Exact(start), UreqInstant::Exact(now)) =
        (timeout.after, details.now, (details.current_time)())
    {
        timeout.after =
            UreqDuration::Exact(after.saturating_sub(now.saturating_duration_since(start)));
    }
    timeout
}

/// A TLS stream over a ureq transport.
struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_config_is_ring_alpn_http11_verified() {
        let config = client_config(system_roots()).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(config.crypto_provider().cipher_suites, ring.cipher_suites);
        assert!(config.enable_sni);
        // Both TLS 1.3 and TLS 1.2 suites are offered; rustls has nothing older.
        let versions: Vec<_> = config
            .crypto_provider()
            .cipher_suites
            .iter()
            .map(|s| s.version().version)
            .collect();
        assert!(versions.contains(&rustls::ProtocolVersion::TLSv1_2));
        assert!(versions.contains(&rustls::ProtocolVersion::TLSv1_3));
    }

    #[test]
    fn system_roots_are_never_empty() {
        assert!(!system_roots().is_empty());
    }

    #[test]
    fn status_message_is_one_line_with_url() {
        // The classification is exercised end to end in tests/export_http.rs; this checks the
        // message format helper.
        let sender =
            Sender::new("http://127.0.0.1:9/v1/traces", None, Duration::from_secs(1)).unwrap();
        let msg = sender.status_message(503, "  busy\n  try later ");
        assert_eq!(
            msg,
            "POST http://127.0.0.1:9/v1/traces: HTTP 503: busy try later"
        );
        assert_eq!(sender.url(), "http://127.0.0.1:9/v1/traces");
    }
}
