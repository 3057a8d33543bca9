//! The `certificate_transfer` relation, as the requirer reads it (endpoint `receive-ca-cert`):
//! v1 (the provider's application databag), with the v0 fallback (its unit databags) → the CA
//! bundle to verify the exporter's destination with. A pure function over the databags: any
//! content gives a bundle or a [`NotReady`] reason, never a panic.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::not_ready::NotReady;
// Every certificate must contain it: the sanity check of [`ca_bundle`].
use crate::trace::destination::PEM_CERTIFICATE_HEADER;
use crate::types::json_kind;

/// The key we write in our application databag on the `certificate_transfer` relation.
pub const CA_VERSION_KEY: &str = "version";
/// The value we write under `version` (certificate_transfer v1 requirer): exactly `1`.
pub const CA_VERSION_VALUE: &str = "1";
/// The key under which a certificate_transfer v1 provider publishes its CAs.
pub const CERTIFICATES_KEY: &str = "certificates";

/// Longest export base URL we accept.
/// From certificate_transfer: the CA bundle to trust, PEM certificates joined with `\n`.
///
/// * v1: the provider's application databag `certificates`, a JSON list of PEM strings, in any
///   order; the bundle is the distinct certificates sorted and joined with `\n` (as ops does,
///   from a set), so the order the provider used does not matter. `version` is not looked at
///   (missing means 1). An empty `certificates` value is treated as missing (Juju deletes keys
///   set to the empty string). When `certificates` is present, unit databags are ignored.
/// * v0 fallback, only when the application databag has no `certificates` and remote units
///   exist: each unit databag's `chain` (a JSON list of PEM strings, joined with `\n` in its
///   order), else its `ca`, given as a JSON string or as raw PEM (decoded as JSON, falling back
///   to the raw text). `certificate` (the provider's own leaf) is not used. The bundle is the
///   distinct per-unit values sorted and joined with `\n`. A `chain` that is not a JSON list of
///   strings falls back to `ca`.
///
/// Sanity check: every certificate (every `chain` element) must contain
/// `-----BEGIN CERTIFICATE-----`, else [`NotReady::NotPem`]; this catches a provider that sends
/// something else (garbage, a private key) before it reaches the TLS configuration. Full PEM
/// parsing happens where the bundle is loaded.
pub fn ca_bundle(
    provider_app_data: &BTreeMap<String, String>,
    remote_units_data: &[BTreeMap<String, String>],
) -> Result<String, NotReady> {
    match provider_app_data.get(CERTIFICATES_KEY) {
        Some(raw) if !raw.is_empty() => ca_bundle_v1(raw),
        _ if !remote_units_data.is_empty() => ca_bundle_v0(remote_units_data),
        _ => Err(NotReady::NoCa),
    }
}

fn ca_bundle_v1(raw: &str) -> Result<String, NotReady> {
    let value: Json = serde_json::from_str(raw).map_err(|e| NotReady::CertificatesNotJson {
        error: e.to_string(),
        len: raw.len(),
    })?;
    let Json::Array(items) = value else {
        return Err(NotReady::CertificatesBadShape {
            problem: format!(
                "expected a JSON list of PEM strings, found {}",
                json_kind(&value)
            ),
        });
    };
    if items.is_empty() {
        return Err(NotReady::EmptyCertificates);
    }
    let mut certs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Json::String(pem) = item else {
            return Err(NotReady::CertificatesBadShape {
                problem: format!(
                    "certificates[{i}]: expected a string, found {}",
                    json_kind(item)
                ),
            });
        };
        if !pem.contains(PEM_CERTIFICATE_HEADER) {
            return Err(NotReady::NotPem {
                origin: format!("certificates[{i}]"),
            });
        }
        certs.push(pem.as_str());
    }
    certs.sort_unstable();
    certs.dedup();
    Ok(certs.join("\n"))
}

fn ca_bundle_v0(units: &[BTreeMap<String, String>]) -> Result<String, NotReady> {
    let mut entries: Vec<String> = Vec::new();
    let mut problem: Option<String> = None;
    for (u, unit) in units.iter().enumerate() {
        let nonempty = |k: &str| unit.get(k).map(String::as_str).filter(|v| !v.is_empty());
        if let Some(chain) = nonempty("chain") {
            match serde_json::from_str::<Vec<String>>(chain) {
                Ok(pems) if !pems.is_empty() => {
                    for (i, pem) in pems.iter().enumerate() {
                        if !pem.contains(PEM_CERTIFICATE_HEADER) {
                            return Err(NotReady::NotPem {
                                origin: format!("unit databag #{u} chain[{i}]"),
                            });
                        }
                    }
                    entries.push(pems.join("\n"));
                    continue;
                }
                Ok(_) => {
                    problem.get_or_insert_with(|| format!("unit databag #{u}: `chain` is empty"));
                }
                Err(_) => {
                    problem.get_or_insert_with(|| {
                        format!("unit databag #{u}: `chain` is not a JSON list of strings")
                    });
                }
            }
        }
        if let Some(ca) = nonempty("ca") {
            let pem = serde_json::from_str::<String>(ca).unwrap_or_else(|_| ca.to_owned());
            if !pem.contains(PEM_CERTIFICATE_HEADER) {
                return Err(NotReady::NotPem {
                    origin: format!("unit databag #{u} ca"),
                });
            }
            entries.push(pem);
        }
    }
    if entries.is_empty() {
        return Err(match problem {
            Some(problem) => NotReady::V0Malformed { problem },
            None => NotReady::NoCa,
        });
    }
    entries.sort_unstable();
    entries.dedup();
    Ok(entries.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::super::not_ready::tests::{assert_display_bounded, bag};
    use super::*;
    use proptest::prelude::*;

    const CA1: &str = "-----BEGIN CERTIFICATE-----\nMIIBaaa\n-----END CERTIFICATE-----";
    const CA2: &str = "-----BEGIN CERTIFICATE-----\nMIIBbbb\n-----END CERTIFICATE-----";

    fn json_list(items: &[&str]) -> String {
        serde_json::to_string(items).unwrap()
    }

    fn ca(app: &[(&str, &str)], units: &[&[(&str, &str)]]) -> Result<String, NotReady> {
        let units: Vec<_> = units.iter().map(|u| bag(u)).collect();
        let r = ca_bundle(&bag(app), &units);
        if let Err(e) = &r {
            assert_display_bounded(e);
        }
        r
    }

    #[test]
    fn constants_are_exact() {
        assert_eq!(CA_VERSION_VALUE, "1");
        assert_eq!(CA_VERSION_KEY, "version");
    }

    #[test]
    fn v1_two_certs_in_either_order() {
        let want = format!("{CA1}\n{CA2}");
        let a = ca(
            &[("certificates", &json_list(&[CA1, CA2])), ("version", "1")],
            &[],
        );
        let b = ca(
            &[("certificates", &json_list(&[CA2, CA1])), ("version", "1")],
            &[],
        );
        assert_eq!(a.as_deref(), Ok(want.as_str()));
        assert_eq!(b.as_deref(), Ok(want.as_str()));
        // Duplicates collapse (ops builds the bundle from a set).
        let c = ca(&[("certificates", &json_list(&[CA2, CA1, CA2]))], &[]);
        assert_eq!(c.as_deref(), Ok(want.as_str()));
    }

    #[test]
    fn v1_version_missing_or_other() {
        assert_eq!(
            ca(&[("certificates", &json_list(&[CA1]))], &[]).as_deref(),
            Ok(CA1)
        );
        assert_eq!(
            ca(
                &[("certificates", &json_list(&[CA1])), ("version", "0")],
                &[]
            )
            .as_deref(),
            Ok(CA1)
        );
    }

    #[test]
    fn v1_not_ready() {
        let pem_raw = CA1;
        match ca(&[("certificates", pem_raw)], &[]) {
            Err(NotReady::CertificatesNotJson { len, .. }) => assert_eq!(len, pem_raw.len()),
            other => panic!("{other:?}"),
        }
        let e = ca(&[("certificates", pem_raw)], &[])
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("MIIB"),
            "certificate content must not be shown: {e}"
        );
        assert_eq!(
            ca(&[("certificates", "[1, 2]")], &[]),
            Err(NotReady::CertificatesBadShape {
                problem: "certificates[0]: expected a string, found a number".into()
            })
        );
        assert_eq!(
            ca(&[("certificates", "[]")], &[]),
            Err(NotReady::EmptyCertificates)
        );
        assert_eq!(
            ca(&[("certificates", "{}")], &[]),
            Err(NotReady::CertificatesBadShape {
                problem: "expected a JSON list of PEM strings, found an object".into()
            })
        );
        assert_eq!(
            ca(
                &[("certificates", &serde_json::to_string(CA1).unwrap())],
                &[]
            ),
            Err(NotReady::CertificatesBadShape {
                problem: "expected a JSON list of PEM strings, found a string".into()
            })
        );
        assert_eq!(
            ca(
                &[(
                    "certificates",
                    &json_list(&[CA1, "-----BEGIN PRIVATE KEY-----\nsecret"])
                )],
                &[]
            ),
            Err(NotReady::NotPem {
                origin: "certificates[1]".into()
            })
        );
        let e = ca(
            &[(
                "certificates",
                &json_list(&["-----BEGIN PRIVATE KEY-----\nsecret"]),
            )],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("secret"), "{e}");
        // An empty list is v1 "no CA": the v0 fallback is not used.
        assert_eq!(
            ca(&[("certificates", "[]")], &[&[("ca", CA1)]]),
            Err(NotReady::EmptyCertificates)
        );
        // Nothing at all.
        assert_eq!(ca(&[], &[]), Err(NotReady::NoCa));
        assert_eq!(ca(&[("version", "1")], &[]), Err(NotReady::NoCa));
        assert_eq!(ca(&[("certificates", "")], &[]), Err(NotReady::NoCa));
        assert_eq!(ca(&[], &[&[], &[("version", "0")]]), Err(NotReady::NoCa));
    }

    #[test]
    fn v0_fallback() {
        // Raw PEM.
        assert_eq!(
            ca(
                &[],
                &[&[("ca", CA1), ("certificate", CA2), ("version", "0")]]
            )
            .as_deref(),
            Ok(CA1)
        );
        // JSON-string PEM.
        let js = serde_json::to_string(CA1).unwrap();
        assert_eq!(ca(&[], &[&[("ca", &js)]]).as_deref(), Ok(CA1));
        // With chain: preferred, joined in its order.
        assert_eq!(
            ca(&[], &[&[("ca", CA1), ("chain", &json_list(&[CA2, CA1]))]]),
            Ok(format!("{CA2}\n{CA1}"))
        );
        // A chain that is not a JSON list falls back to ca.
        assert_eq!(
            ca(&[], &[&[("ca", CA1), ("chain", CA2)]]).as_deref(),
            Ok(CA1)
        );
        // ... and without a ca, it is reported.
        assert!(matches!(
            ca(&[], &[&[("chain", "not json")]]),
            Err(NotReady::V0Malformed { .. })
        ));
        // Several units, same CA: one copy; different CAs: sorted.
        assert_eq!(
            ca(&[], &[&[("ca", CA2)], &[("ca", CA2)], &[]]).as_deref(),
            Ok(CA2)
        );
        assert_eq!(
            ca(&[], &[&[("ca", CA2)], &[("ca", &js)]]),
            Ok(format!("{CA1}\n{CA2}"))
        );
        // `certificate` alone is not a CA.
        assert_eq!(ca(&[], &[&[("certificate", CA1)]]), Err(NotReady::NoCa));
        // Not PEM.
        assert_eq!(
            ca(&[], &[&[("ca", "hello")]]),
            Err(NotReady::NotPem {
                origin: "unit databag #0 ca".into()
            })
        );
        assert_eq!(
            ca(&[], &[&[("chain", &json_list(&[CA1, "junk"]))]]),
            Err(NotReady::NotPem {
                origin: "unit databag #0 chain[1]".into()
            })
        );
    }

    #[test]
    fn v0_ignored_when_v1_present() {
        assert_eq!(
            ca(
                &[("certificates", &json_list(&[CA2]))],
                &[&[("ca", CA1), ("chain", &json_list(&[CA1]))]]
            )
            .as_deref(),
            Ok(CA2)
        );
        // Even when v1 is broken.
        assert!(matches!(
            ca(&[("certificates", "oops")], &[&[("ca", CA1)]]),
            Err(NotReady::CertificatesNotJson { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_certificates_never_panic(s in ".*", unit in ".*") {
            for app in [bag(&[("certificates", &s)]), BTreeMap::new()] {
                let units = [bag(&[("ca", &unit), ("chain", &s)]), bag(&[("ca", &s)])];
                match ca_bundle(&app, &units) {
                    Ok(b) => prop_assert!(b.contains(PEM_CERTIFICATE_HEADER)),
                    Err(e) => assert_display_bounded(&e),
                }
            }
        }

        #[test]
        fn certificate_order_does_not_matter(mut certs in proptest::collection::vec("[A-Za-z0-9+/=\n]{0,20}", 1..6)) {
            let certs: Vec<String> = certs
                .drain(..)
                .map(|c| format!("{PEM_CERTIFICATE_HEADER}\n{c}"))
                .collect();
            let mut reversed = certs.clone();
            reversed.reverse();
            let a = ca_bundle(&bag(&[("certificates", &serde_json::to_string(&certs).unwrap())]), &[]);
            let b = ca_bundle(&bag(&[("certificates", &serde_json::to_string(&reversed).unwrap())]), &[]);
            prop_assert!(a.is_ok());
            prop_assert_eq!(a, b);
        }
    }
}
