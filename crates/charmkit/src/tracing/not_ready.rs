//! Why there is no destination or no CA yet, in one short line that is safe to log: quoted values
//! truncated, user:password in URLs masked, nothing of a certificate field ever quoted (a
//! misconfigured provider could put a private key there).

use std::fmt;

use crate::trace::destination::PEM_CERTIFICATE_HEADER;

/// How many characters of a quoted value a message shows.
const EXCERPT_CHARS: usize = 60;
/// Why there is no destination / no CA yet: one clear, loggable reason ([`fmt::Display`]), never
/// secret data, never the whole databag.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotReady {
    /// The provider has not published `receivers` (missing or empty).
    NoReceivers,
    /// `receivers` is not valid JSON.
    ReceiversNotJson {
        /// The JSON parser's message (positions only, no content).
        error: String,
        /// The beginning of the value, quoted and truncated.
        excerpt: String,
    },
    /// `receivers` is JSON but not a list of `{"protocol": {"name", "type"}, "url"}`.
    ReceiversBadShape {
        /// What is wrong, e.g. `receivers[1].url: missing`.
        problem: String,
    },
    /// No receiver has protocol name `otlp_http`.
    NoOtlpHttp {
        /// The protocol names offered (at most a few, truncated).
        offered: Vec<String>,
    },
    /// The first `otlp_http` receiver's URL cannot be used.
    BadUrl {
        /// The URL, quoted, truncated, user:password masked.
        excerpt: String,
        /// Why, e.g. `does not start with http:// or https://`.
        problem: &'static str,
    },
    /// No CA published yet: no `certificates` in the provider's application databag, and no
    /// `ca`/`chain` in its unit databags (or no remote units).
    NoCa,
    /// `certificates` is not valid JSON.
    CertificatesNotJson {
        /// The JSON parser's message (positions only, no content).
        error: String,
        /// The length of the value in bytes (the value itself is never shown).
        len: usize,
    },
    /// `certificates` is JSON but not a list of strings.
    CertificatesBadShape {
        /// What is wrong, e.g. `certificates[0]: expected a string, found a number`.
        problem: String,
    },
    /// `certificates` is an empty list.
    EmptyCertificates,
    /// A certificate does not contain `-----BEGIN CERTIFICATE-----`.
    NotPem {
        /// Where it came from, e.g. `certificates[1]` or `unit databag #0 ca`.
        origin: String,
    },
    /// v0 fallback: remote unit databags hold CA keys, but none is usable.
    V0Malformed {
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReady::NoReceivers => {
                f.write_str("tracing: the provider has not published `receivers` yet")
            }
            NotReady::ReceiversNotJson { error, excerpt } => write!(
                f,
                "tracing: `receivers` is not valid JSON ({}): {}",
                clip(error, 60),
                clip(excerpt, EXCERPT_CHARS + 3)
            ),
            NotReady::ReceiversBadShape { problem } => {
                write!(f, "tracing: unexpected `receivers`: {}", clip(problem, 120))
            }
            NotReady::NoOtlpHttp { offered } => {
                f.write_str("tracing: the provider offers no otlp_http receiver")?;
                if offered.is_empty() {
                    return f.write_str(" (it offers none)");
                }
                f.write_str(" (offered: ")?;
                for (i, name) in offered.iter().take(4).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&clip(name, 24))?;
                }
                if offered.len() > 4 {
                    write!(f, " and {} more", offered.len() - 4)?;
                }
                f.write_str(")")
            }
            NotReady::BadUrl { excerpt, problem } => write!(
                f,
                "tracing: the otlp_http receiver URL {} {}",
                clip(excerpt, EXCERPT_CHARS + 3),
                clip(problem, 60)
            ),
            NotReady::NoCa => f.write_str(
                "certificate_transfer: no CA published yet (no `certificates` in the provider's \
                 application databag, no `ca` or `chain` in its unit databags)",
            ),
            NotReady::CertificatesNotJson { error, len } => write!(
                f,
                "certificate_transfer: `certificates` is not valid JSON ({}; {len} bytes)",
                clip(error, 60)
            ),
            NotReady::CertificatesBadShape { problem } => write!(
                f,
                "certificate_transfer: unexpected `certificates`: {}",
                clip(problem, 120)
            ),
            NotReady::EmptyCertificates => {
                f.write_str("certificate_transfer: `certificates` is an empty list")
            }
            NotReady::NotPem { origin } => write!(
                f,
                "certificate_transfer: {} does not look like a PEM certificate (no `{}`)",
                clip(origin, 40),
                PEM_CERTIFICATE_HEADER
            ),
            NotReady::V0Malformed { problem } => write!(
                f,
                "certificate_transfer (v0 unit data): {}",
                clip(problem, 120)
            ),
        }
    }
}

impl std::error::Error for NotReady {}

/// At most `max` characters of `s`, with `…` when cut.
pub(super) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

/// `s` quoted and escaped (no newlines or control characters reach the log), user:password in
/// URLs masked, truncated to about [`EXCERPT_CHARS`] characters.
pub(super) fn quote(s: &str) -> String {
    // Only look at a bounded prefix: values may be megabytes long.
    let prefix: String = s.chars().take(4 * EXCERPT_CHARS).collect();
    let masked = crate::trace::destination::redact(&prefix);
    let escaped = format!("{masked:?}");
    clip(&escaped, EXCERPT_CHARS)
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use super::*;

    pub(crate) fn bag(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    pub(crate) fn assert_display_bounded(e: &NotReady) {
        let shown = e.to_string();
        assert!(
            shown.chars().count() <= 200,
            "{} chars: {shown}",
            shown.chars().count()
        );
        assert!(!shown.contains('\n'), "{shown}");
    }

    #[test]
    fn every_reason_displays_short() {
        let long = "y".repeat(10_000);
        let all = [
            NotReady::NoReceivers,
            NotReady::ReceiversNotJson {
                error: long.clone(),
                excerpt: long.clone(),
            },
            NotReady::ReceiversBadShape {
                problem: long.clone(),
            },
            NotReady::NoOtlpHttp {
                offered: vec![long.clone(); 50],
            },
            NotReady::BadUrl {
                excerpt: long.clone(),
                problem: "does not start with http:// or https://",
            },
            NotReady::NoCa,
            NotReady::CertificatesNotJson {
                error: long.clone(),
                len: usize::MAX,
            },
            NotReady::CertificatesBadShape {
                problem: long.clone(),
            },
            NotReady::EmptyCertificates,
            NotReady::NotPem {
                origin: long.clone(),
            },
            NotReady::V0Malformed { problem: long },
        ];
        for e in &all {
            assert_display_bounded(e);
        }
    }
}
