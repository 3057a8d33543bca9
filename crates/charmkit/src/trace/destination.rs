//! The destination of trace data: what makes one usable, and how it is shown.
//!
//! A destination (URL + CA bundle) is checked when it is reconciled ([`check_url`],
//! [`check_ca`]), with the same parsers the exporter uses, so an unusable one is refused with one
//! clear reason instead of being announced as "sending trace data to …" and failing at every
//! export. A URL is shown (logged, printed by `trace status`, recorded as the last export's
//! outcome) only through [`redact`], which masks its credentials — a receiver URL may carry
//! `user:password@` or an API key in its query string.

use std::net::Ipv6Addr;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// Longest destination URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// Largest CA bundle accepted.
pub const MAX_CA_BYTES: usize = 1024 * 1024;

/// Why `url` cannot be an OTLP/HTTP export destination, if it cannot: it must be `http://` or
/// `https://` (any case), at most [`MAX_URL_LEN`] bytes of printable ASCII, parse as a URI, have a
/// host (a bracketed host must be an IPv6 address), and a port, if given, in 1–65535.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    let scheme_len = ["http://", "https://"]
        .iter()
        .find(|s| {
            url.get(..s.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(s))
        })
        .map(|s| s.len())
        .ok_or("does not start with http:// or https://")?;
    if url.len() > MAX_URL_LEN {
        return Err("is too long");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters");
    }
    if !url.is_ascii() {
        return Err("contains non-ASCII characters");
    }
    // The authority, as written (the URI parser is lenient about some of it).
    let rest = &url[scheme_len..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(inner) = host_port.strip_prefix('[') {
        let (v6, after) = inner.split_once(']').ok_or("has an invalid IPv6 address")?;
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err("has an invalid IPv6 address");
        }
        match after {
            "" => (v6, None),
            p => (v6, Some(p.strip_prefix(':').ok_or("is not a valid URL")?)),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("has no host");
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => return Err("has an invalid port (not 1-65535)"),
        }
    }
    if url.parse::<ureq::http::Uri>().is_err() {
        return Err("is not a valid URL");
    }
    Ok(())
}

/// Why PEM bundle `pem` cannot verify an `https` destination, if it cannot: at most
/// [`MAX_CA_BYTES`], and every certificate section usable as a trust anchor, at least one
/// (parsed as the exporter does; other sections are passed over, and left out of what is stored
/// by `certificates_only`). The reason never quotes the bundle.
pub fn check_ca(pem: &str) -> Result<(), String> {
    if pem.len() > MAX_CA_BYTES {
        return Err(format!(
            "{} bytes, more than the {MAX_CA_BYTES} accepted",
            pem.len()
        ));
    }
    roots_from_bundle(pem).map(drop)
}

/// `pem` with its certificate sections only, and the labels of the other PEM sections it held
/// (`PRIVATE KEY`…), which are left out: a key a provider put in the bundle by mistake is never
/// stored beside the buffer. The bundle comes back unchanged (comments and all) when it has no
/// other section; otherwise it is its certificate sections, verbatim, one after another.
pub(crate) fn certificates_only(pem: &str) -> (std::borrow::Cow<'_, str>, Vec<String>) {
    const BEGIN: &str = "-----BEGIN ";
    let mut kept = String::new();
    let mut dropped = Vec::new();
    let mut rest = pem;
    while let Some(at) = rest.find(BEGIN) {
        let section = &rest[at..];
        let label_end = section[BEGIN.len()..]
            .find("-----")
            .map(|i| BEGIN.len() + i);
        let Some(label_end) = label_end else { break };
        let label = &section[BEGIN.len()..label_end];
        let end_marker = format!("-----END {label}-----");
        // A section without its end line (or a "label" over several lines) is passed over by
        // its first line only, so no certificate after it is lost.
        let end = match section.find(&end_marker) {
            Some(i) if !label.contains('\n') => i + end_marker.len(),
            _ => label_end + "-----".len(),
        };
        if label == "CERTIFICATE" {
            kept.push_str(&section[..end]);
            kept.push('\n');
        } else {
            // A label is a few words of capitals; anything else is shown as "other".
            let plain =
                label.len() <= 40 && label.bytes().all(|b| b.is_ascii_uppercase() || b == b' ');
            let shown = if plain { label } else { "other" };
            if !dropped.iter().any(|d| d == shown) {
                dropped.push(shown.to_owned());
            }
        }
        rest = &section[end..];
    }
    if dropped.is_empty() {
        (std::borrow::Cow::Borrowed(pem), dropped)
    } else {
        (std::borrow::Cow::Owned(kept), dropped)
    }
}

/// `text` with the secrets of every URL in it masked: the userinfo (`user:password@` → `***@`)
/// and the query and fragment (`?api_key=…` → `?***`). A URL starts at `scheme://` and ends at
/// whitespace, a quote, `<`, `>` or the end of the text; other text is left as it is.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let url_end = tail.find(url_end_char).unwrap_or(tail.len());
        let (url, after) = tail.split_at(url_end);
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let (authority, path) = url.split_at(authority_end);
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        match path.find(['?', '#']) {
            Some(q) => {
                out.push_str(&path[..=q]);
                out.push_str("***");
            }
            None => out.push_str(path),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn url_end_char(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// The environment variable naming the full OTLP/HTTP traces URL.
pub const ENV_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The environment variable naming the OTLP/HTTP base URL (`/v1/traces` is appended).
pub const ENV_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The destination from `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`,
/// if one is set and usable.
pub fn env_endpoint() -> Option<String> {
    endpoint_from(|k| std::env::var(k).ok())
}

/// The OpenTelemetry-spec endpoint rules over any variable lookup; an unusable value counts as
/// none (see [`endpoint_checked`] for why).
pub fn endpoint_from(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    endpoint_checked(lookup).ok().flatten()
}

/// The endpoint variables over any lookup: `Ok(None)` if neither is set (or both are empty),
/// `Ok(Some(url))` for the first set one (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, the full URL,
/// wins over `OTEL_EXPORTER_OTLP_ENDPOINT`, a base to which `/v1/traces` is appended), or why that
/// one cannot be used ([`check_url`]; the value shown redacted).
pub fn endpoint_checked(
    lookup: impl Fn(&str) -> Option<String>,
) -> std::result::Result<Option<String>, String> {
    let set = |k: &str| {
        lookup(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let (var, url) = match (set(ENV_TRACES_ENDPOINT), set(ENV_ENDPOINT)) {
        (Some(url), _) => (ENV_TRACES_ENDPOINT, url),
        (None, Some(base)) => (
            ENV_ENDPOINT,
            format!("{}/v1/traces", base.trim_end_matches('/')),
        ),
        (None, None) => return Ok(None),
    };
    match check_url(&url) {
        Ok(()) => Ok(Some(url)),
        Err(why) => Err(format!(
            "{var} names an unusable URL: {} {why}",
            redact(&format!("{url:?}"))
        )),
    }
}

/// The line that opens a certificate in a PEM bundle.
pub const PEM_CERTIFICATE_HEADER: &str = "-----BEGIN CERTIFICATE-----";

/// Parses a PEM bundle: every certificate in it must parse and be usable as a trust anchor, a
/// certificate section the PEM reader cannot take (bad base64, no end line) is an error too —
/// never skipped — and there must be at least one. Other sections (a key) and text around them
/// are passed over, as in any PEM bundle. Messages name the certificate, never its content.
pub(crate) fn roots_from_bundle(pem: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let mut certs = 0;
    for (i, cert) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        certs += 1;
        let cert = cert.map_err(|e| format!("certificate {}: bad PEM: {e}", i + 1))?;
        roots
            .add(cert)
            .map_err(|e| format!("certificate {}: {e}", i + 1))?;
    }
    let markers = pem.matches(PEM_CERTIFICATE_HEADER).count();
    if markers > certs {
        return Err(format!(
            "{} of its {markers} certificate sections are malformed",
            markers - certs
        ));
    }
    if roots.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        for good in [
            "http://h:4318/v1/traces",
            "https://tempo.cos.svc.cluster.local:4318/v1/traces",
            "HTTP://H/v1/traces",
            "http://[::1]:4318/v1/traces",
            "http://[::1]/v1/traces",
            "http://u:p@h:1/v1/traces",
            "http://h:65535",
            "http://10.0.0.1/v1/traces?x=1",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("http://[::1:4318/v1/traces", "IPv6"),
            ("http://[zz::1]:4318/v1/traces", "IPv6"),
            ("http://h:0/v1/traces", "port"),
            ("http://h:99999/v1/traces", "port"),
            ("http://h:abc/v1/traces", "port"),
            ("http://h:/v1/traces", "port"),
            ("http://h:+80/v1/traces", "port"),
            ("http://", "no host"),
            ("http:///v1/traces", "no host"),
            ("http://u:p@/v1/traces", "no host"),
            ("ftp://h/v1/traces", "http://"),
            ("h:4318", "http://"),
            ("", "http://"),
            ("http://h /v1", "whitespace"),
            ("http://hé/v1", "non-ASCII"),
        ] {
            let err = check_url(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(check_url(&format!("http://h/{}", "a".repeat(MAX_URL_LEN))).is_err());
    }

    #[test]
    fn unusable_ca_bundles_are_refused_without_quoting_them() {
        let ca = rcgen::generate_simple_self_signed(vec!["ca".into()])
            .unwrap()
            .cert
            .pem();
        let other = rcgen::generate_simple_self_signed(vec!["b".into()])
            .unwrap()
            .cert
            .pem();
        assert_eq!(check_ca(&ca), Ok(()));
        assert_eq!(check_ca(&format!("{ca}\n{other}")), Ok(()));
        // Other sections and text around the certificates are passed over (never quoted).
        let key = "-----BEGIN PRIVATE KEY-----\nU0VDUkVU\n-----END PRIVATE KEY-----\n";
        assert_eq!(check_ca(&format!("# issuer: x\n{ca}\n{key}")), Ok(()));
        for (what, bundle) in [
            ("garbage", "SECRET garbage".to_string()),
            ("empty", String::new()),
            (
                "bad base64",
                "-----BEGIN CERTIFICATE-----\nSECRET!!\n-----END CERTIFICATE-----\n".into(),
            ),
            (
                "valid base64, not a certificate",
                "-----BEGIN CERTIFICATE-----\nU0VDUkVU\n-----END CERTIFICATE-----\n".into(),
            ),
            (
                "partly garbage",
                format!("{ca}\n-----BEGIN CERTIFICATE-----\nSECRET\n-----END CERTIFICATE-----\n"),
            ),
            (
                "no end",
                format!("{ca}\n-----BEGIN CERTIFICATE-----\nU0VDUkVU\n"),
            ),
            ("too large", format!("{ca}{}", " ".repeat(MAX_CA_BYTES))),
        ] {
            let err = check_ca(&bundle).expect_err(what);
            assert!(
                !err.contains("SECRET") && !err.contains("U0VDUkVU"),
                "{what}: {err}"
            );
            assert!(!err.contains('\n'), "{what}: {err:?}");
        }
    }

    #[test]
    fn credentials_and_queries_are_masked() {
        for (raw, shown) in [
            ("http://h:4318/v1/traces", "http://h:4318/v1/traces"),
            ("http://u:p@h:4318/v1/traces", "http://***@h:4318/v1/traces"),
            ("https://u@h/x?api_key=k&y=1", "https://***@h/x?***"),
            ("http://h/x#frag", "http://h/x#***"),
            ("http://h?k=v", "http://h?***"),
            (
                "POST http://a:b@h/v1/traces: HTTP 400 (see http://docs/x?t=1)",
                "POST http://***@h/v1/traces: HTTP 400 (see http://docs/x?***",
            ),
            ("a http://u:p@h/x@y b", "a http://***@h/x@y b"),
            (
                "\"http://u:p@h\" and 'ftp://x:y@z'",
                "\"http://***@h\" and 'ftp://***@z'",
            ),
            ("no scheme at all", "no scheme at all"),
            ("http://", "http://"),
            ("://@", "://***@"),
            ("http://ü:ß@h/ä?ö", "http://***@h/ä?***"),
        ] {
            assert_eq!(redact(raw), shown, "{raw}");
            // Idempotent: what is shown can be shown again.
            assert_eq!(redact(&redact(raw)), shown, "{raw}");
        }
    }

    #[test]
    fn env_endpoint_rules() {
        let env = crate::trace::fake_env;
        assert_eq!(endpoint_from(env(&[])), None);
        assert_eq!(
            endpoint_from(env(&[(ENV_ENDPOINT, "http://collector:4318/")])).as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(
            endpoint_from(env(&[
                (ENV_ENDPOINT, "http://a:4318"),
                (ENV_TRACES_ENDPOINT, "https://b/custom/path")
            ]))
            .as_deref(),
            Some("https://b/custom/path")
        );
        assert_eq!(
            endpoint_from(env(&[(ENV_ENDPOINT, "collector:4317")])),
            None
        );
        // Set but unusable: one reason naming the variable, the URL redacted.
        for (var, value) in [
            (ENV_TRACES_ENDPOINT, "http://"),
            (ENV_TRACES_ENDPOINT, "http://[::1:4318"),
            (ENV_TRACES_ENDPOINT, "http://u:pw@h:99999/v1/traces"),
            (ENV_ENDPOINT, "http://h:abc"),
            (ENV_ENDPOINT, "collector:4317"),
        ] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(var, value)]));
            let err = endpoint_checked(env(pairs)).unwrap_err();
            assert!(err.starts_with(var), "{err}");
            assert!(!err.contains("pw"), "{err}");
        }
        assert_eq!(
            endpoint_checked(env(&[(ENV_TRACES_ENDPOINT, "  ")])),
            Ok(None)
        );
    }

    #[test]
    fn only_certificates_are_kept_from_a_bundle() {
        let a = rcgen::generate_simple_self_signed(vec!["a".into()])
            .unwrap()
            .cert
            .pem();
        let b = rcgen::generate_simple_self_signed(vec!["b".into()])
            .unwrap()
            .cert
            .pem();
        // Nothing to leave out: the bundle as it came, comments and all.
        let plain = format!("# issuer: x\n{a}\n{b}");
        let (kept, dropped) = certificates_only(&plain);
        assert_eq!((kept.as_ref(), dropped.len()), (plain.as_str(), 0));
        // A key (and a second one, and an unterminated section) between them: gone.
        let key = "-----BEGIN PRIVATE KEY-----\nU0VDUkVU\n-----END PRIVATE KEY-----\n";
        let rsa = "-----BEGIN RSA PRIVATE KEY-----\nU0VDUkVU\n-----END RSA PRIVATE KEY-----\n";
        let bundle = format!("{a}-----BEGIN EC PARAMETERS-----\nU0VDUkVU\n{key}{b}{key}{rsa}");
        let (kept, dropped) = certificates_only(&bundle);
        assert!(
            !kept.contains("U0VDUkVU") && !kept.contains("PRIVATE"),
            "{kept}"
        );
        assert_eq!(kept.matches(PEM_CERTIFICATE_HEADER).count(), 2);
        assert_eq!(roots_from_bundle(&kept).unwrap().len(), 2);
        assert_eq!(dropped, ["EC PARAMETERS", "PRIVATE KEY", "RSA PRIVATE KEY"]);
        // A label that is not one is not repeated back.
        let (_, dropped) = certificates_only("-----BEGIN x\u{1b}[31m-----\n-----END x-----");
        assert_eq!(dropped, ["other"]);
    }

    #[test]
    fn bundle_parsing_names_the_bad_certificate() {
        let cert = rcgen::generate_simple_self_signed(vec!["ca.test".into()])
            .unwrap()
            .cert
            .pem();
        assert_eq!(roots_from_bundle(&cert).unwrap().len(), 1);
        // A key and other text around the certificate are skipped, as in any PEM bundle.
        let noisy =
            format!("junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{cert}");
        assert_eq!(roots_from_bundle(&noisy).unwrap().len(), 1);
        let bad = format!("{cert}-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        let e = roots_from_bundle(&bad).err().unwrap();
        assert!(e.starts_with("certificate 2: bad PEM"), "{e}");
        let e = roots_from_bundle("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .err()
            .unwrap();
        assert!(e.starts_with("certificate 1: "), "not a certificate: {e}");
        assert_eq!(
            roots_from_bundle("no pem here").err().unwrap(),
            "no certificate in it"
        );
    }
}
