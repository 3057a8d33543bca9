//! Hostile relation data for both interfaces, through the real binary.

use super::*;

pub(crate) const MARK: &str = "S3CRET-MARK";

/// Stub answers making `unit` related to a Tempo (`charm-tracing:5`) whose application databag is
/// `tracing`, and, if `ca` is given, to a CA provider (`receive-ca-cert:8`) with that application
/// databag and one unit databag.
pub(crate) fn provider(
    unit: &Unit,
    tracing: &serde_json::Value,
    ca: Option<(&serde_json::Value, &serde_json::Value)>,
) {
    unit.respond(
        "relation-ids charm-tracing --format=json",
        r#"["charm-tracing:5"]"#,
    );
    unit.respond(
        "relation-list --format=json -r charm-tracing:5",
        r#"["tempo/0"]"#,
    );
    unit.respond(
        "relation-list --format=json --app -r charm-tracing:5",
        r#""tempo""#,
    );
    unit.respond(
        "relation-get --format=json -r charm-tracing:5 --app - tempo",
        &tracing.to_string(),
    );
    match ca {
        None => unit.respond("relation-ids receive-ca-cert --format=json", "[]"),
        Some((app, one_unit)) => {
            let ssc = "self-signed-certificates";
            unit.respond(
                "relation-ids receive-ca-cert --format=json",
                r#"["receive-ca-cert:8"]"#,
            );
            unit.respond(
                "relation-list --format=json -r receive-ca-cert:8",
                &format!(r#"["{ssc}/0"]"#),
            );
            unit.respond(
                "relation-list --format=json --app -r receive-ca-cert:8",
                &format!(r#""{ssc}""#),
            );
            unit.respond(
                &format!("relation-get --format=json -r receive-ca-cert:8 --app - {ssc}"),
                &app.to_string(),
            );
            unit.respond(
                &format!("relation-get --format=json -r receive-ca-cert:8 - {ssc}/0"),
                &one_unit.to_string(),
            );
        }
    }
}

pub(crate) fn receivers(url: &str) -> String {
    serde_json::json!([
        {"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo:4317"},
        {"protocol": {"name": "otlp_http", "type": "http"}, "url": url}
    ])
    .to_string()
}

/// Hostile values of the provider's `receivers` (tracing v2): handwritten ones, then `extra`
/// generated from the seed.
fn hostile_receivers(rng: &mut Rng, extra: usize) -> Vec<Option<String>> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut v: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("null".into()),
        Some("[]".into()),
        Some("{}".into()),
        Some("1".into()),
        Some(r#""[]""#.into()),
        Some("[1]".into()),
        Some("[{}]".into()),
        Some("[null]".into()),
        Some(r#"[{"protocol": "otlp_http", "url": "http://t:4318"}]"#.into()),
        Some(r#"[{"protocol": {"name": "otlp_http"}, "url": "http://t:4318"}]"#.into()),
        Some(r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": 4318}]"#.into()),
        Some(r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "t:4317"}]"#.into()),
        Some(receivers("tempo:4318")),
        Some(receivers("ftp://tempo:4318")),
        Some(receivers("http://")),
        Some(receivers("http://:4318")),
        Some(receivers("http://tempo:0")),
        Some(receivers("http://tempo:99999")),
        Some(receivers("http://tempo:abc")),
        Some(receivers("http://[::1:4318")),
        Some(receivers("http://[zz::1]:4318")),
        Some(receivers(&format!("http://tracer:{MARK}@tempo:4318"))),
        Some(receivers(&format!("http://tempo:4318/?key={MARK}"))),
        Some(receivers(&format!("http://tempo:4318/#{MARK}"))),
        Some(receivers("http://tem po:4318")),
        Some(receivers("http://tempo:4318\n/x")),
        Some(receivers("http://tempo\u{0}:4318")),
        Some(receivers("http://témpo:4318")),
        Some(receivers(&format!("http://{}", "a".repeat(1 << 20)))),
        Some(receivers("HTTP://TEMPO:4318")),
        Some(receivers("http://tempo:4318////")),
        Some(receivers("https://tempo:4318")),
        Some(r#"[{"protocol": {"name": "otlp_http", "type": "grpc"}, "url": "http://t:4318"}]"#.into()),
        Some(format!(
            "[{}]",
            vec![r#"{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://t:4318"}"#; 10_000].join(",")
        )),
        Some(deep),
        Some("[".repeat(1 << 20)),
        Some(r#"["\ud800"]"#.into()),
        Some("\u{feff}[]".into()),
        Some(r#"[{"protocol": {"name": "otlp_http", "type": "http", "name": "x"}, "url": "http://t:4318"}]"#.into()),
        Some(serde_json::to_string(&receivers("http://t:4318")).unwrap()),
        Some("not json at all".into()),
        Some("[{\"protocol\": {\"name\": \"otlp_http\", \"type\": \"http\"}, \"url\": \"http://t:4318\"".into()),
    ];
    let atoms = [
        "null",
        "true",
        "0",
        "-1",
        "1e999",
        "\"\"",
        "\"otlp_http\"",
        "\"http://t:4318\"",
        "[]",
        "{}",
        "\"\\u0000\"",
        "\"http://[::1]:4318\"",
        "\"http://u:p@h:1\"",
    ];
    for _ in 0..extra {
        let name = *rng.pick(&atoms);
        let kind = *rng.pick(&atoms);
        let url = *rng.pick(&atoms);
        let item = match rng.below(4) {
            0 => format!(r#"{{"protocol": {{"name": {name}, "type": {kind}}}, "url": {url}}}"#),
            1 => format!(r#"{{"protocol": {name}, "url": {url}}}"#),
            2 => {
                format!(r#"{{"protocol": {{"name": "otlp_http", "type": "http"}}, "url": {url}}}"#)
            }
            _ => (*rng.pick(&atoms)).to_string(),
        };
        let n = 1 + rng.below(3) as usize;
        v.push(Some(format!("[{}]", vec![item; n].join(","))));
    }
    v
}

/// Hostile CA provider data (certificate_transfer v1 app databag, v0 unit databag): handwritten
/// ones, then `extra` generated.
fn hostile_ca_data(rng: &mut Rng, extra: usize) -> Vec<(serde_json::Value, serde_json::Value)> {
    use serde_json::json;
    let root = Ca::root("campaign CA").pem();
    let key = format!("-----BEGIN PRIVATE KEY-----\n{MARK}\n-----END PRIVATE KEY-----");
    let garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----";
    let list = |items: &[&str]| serde_json::to_string(items).unwrap();
    let mut v = vec![
        (json!({}), json!({})),
        (json!({"certificates": ""}), json!({})),
        (json!({"certificates": "[]"}), json!({})),
        (json!({"certificates": "null"}), json!({})),
        (json!({"certificates": "{}"}), json!({})),
        (json!({"certificates": "[1]"}), json!({})),
        (json!({"certificates": "not json"}), json!({})),
        (json!({"certificates": list(&["hello"])}), json!({})),
        (json!({"certificates": list(&[garbage])}), json!({})),
        (json!({"certificates": list(&[&root, garbage])}), json!({})),
        (json!({"certificates": list(&[&key])}), json!({})),
        (
            json!({"certificates": list(&[&format!("{root}\n{key}")])}),
            json!({}),
        ),
        (json!({"certificates": list(&[&root, &key])}), json!({})),
        (
            json!({"certificates": list(&[&format!("{root}\n-----BEGIN CERTIFICATE-----\n{MARK}\n")])}),
            json!({}),
        ),
        (
            json!({"certificates": list(&[&format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----", "A".repeat(1 << 20))])}),
            json!({}),
        ),
        (
            json!({"certificates": list(&[&root]), "version": "0"}),
            json!({}),
        ),
        (
            json!({"certificates": list(&[&root]), "version": "banana"}),
            json!({}),
        ),
        (
            json!({"certificates": serde_json::to_string(&list(&[&root])).unwrap()}),
            json!({}),
        ),
        (json!({"certificates": "[".repeat(100_000)}), json!({})),
        (json!({}), json!({"ca": root.clone()})),
        (
            json!({}),
            json!({"ca": serde_json::to_string(&root).unwrap()}),
        ),
        (json!({}), json!({"ca": key.clone()})),
        (json!({}), json!({"ca": garbage})),
        (json!({}), json!({"chain": list(&[&root])})),
        (json!({}), json!({"chain": list(&[&key])})),
        (json!({}), json!({"chain": "not json", "ca": root.clone()})),
        (json!({}), json!({"chain": "[]"})),
        (json!({}), json!({"certificate": key.clone()})),
        (
            json!({"certificates": list(&[&root])}),
            json!({"ca": key.clone()}),
        ),
        (json!({"certificates": list(&[&root])}), json!({})),
    ];
    let parts = [
        root.as_str(),
        garbage,
        key.as_str(),
        "",
        "x",
        "-----BEGIN CERTIFICATE-----",
    ];
    for _ in 0..extra {
        let n = rng.below(4) as usize;
        let items: Vec<String> = (0..n)
            .map(|_| {
                let a = *rng.pick(&parts);
                let b = *rng.pick(&parts);
                format!("{a}{}{b}", if rng.below(2) == 0 { "\n" } else { "" })
            })
            .collect();
        let app = if rng.below(3) == 0 {
            json!({})
        } else {
            json!({"certificates": serde_json::to_string(&items).unwrap()})
        };
        let unit =
            json!({"ca": *rng.pick(&parts), "chain": serde_json::to_string(&items).unwrap()});
        v.push((app, unit));
    }
    v
}

/// What the trials of one interface came to, beside the [`Figures`]' failures.
#[derive(Default)]
struct Tally {
    /// Trials that stored a destination.
    stored: usize,
    /// Of those, destinations (URL or CA) that are not usable.
    bad_dest: usize,
    /// Trials whose logs or stderr showed the marker.
    secrets: usize,
}

impl Tally {
    /// Counts one [`databag_trial`].
    fn add(&mut self, f: &mut Figures, (failed, dest, bad, shown): (bool, bool, bool, bool)) {
        f.trials += 1;
        f.failed += usize::from(failed);
        self.stored += usize::from(dest);
        self.bad_dest += usize::from(bad);
        self.secrets += usize::from(shown);
    }
}

/// One dispatch of `hook` with the provider data planted: the hook must succeed whatever the
/// data; the destination stored must be usable (or absent); log lines stay short and one line;
/// the marker never shows. Returns (failed, destination stored, bad destination, secret shown).
fn databag_trial(
    tracing: &serde_json::Value,
    ca: Option<(&serde_json::Value, &serde_json::Value)>,
    hook: &str,
    rel: (&str, &str, &str),
) -> (bool, bool, bool, bool) {
    let unit = Unit::new(&CHARM);
    provider(&unit, tracing, ca);
    let env = [
        ("JUJU_RELATION", rel.0),
        ("JUJU_RELATION_ID", rel.1),
        ("JUJU_REMOTE_APP", rel.2),
    ];
    let (st, err, _) = dispatch(&unit, hook, &env);
    let failed = !st.is_some_and(|s| s.success()) || panicked(st, &err);
    let dest = Buffer::open(&unit.charm_dir)
        .unwrap()
        .destination()
        .unwrap();
    let bad_dest = dest.as_ref().is_some_and(|d| {
        charmkit::trace::destination::check_url(&d.url).is_err()
            || d.ca
                .as_deref()
                .is_some_and(|pem| charmkit::trace::destination::check_ca(pem).is_err())
    });
    let calls =
        String::from_utf8_lossy(&std::fs::read(unit.state.join("calls")).unwrap()).into_owned();
    let logs: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with("juju-log\u{1f}"))
        .collect();
    let long_line = logs.iter().any(|l| l.len() > 1000);
    let shown = calls.contains(MARK) || String::from_utf8_lossy(&err).contains(MARK);
    (failed || long_line, dest.is_some(), bad_dest, shown)
}

#[test]
fn hostile_relation_data_for_both_interfaces() {
    let mut rng = Rng::new(6);
    let tracing_cases = hostile_receivers(&mut rng, trials(6, 200));
    let ca_cases = hostile_ca_data(&mut rng, trials(20, 200));
    let https = serde_json::json!({"receivers": receivers("https://tempo:4318")});
    std::thread::scope(|s| {
        let tracing = s.spawn(|| {
            let mut f = Figures::new("hostile tracing v2 databags");
            let mut t = Tally::default();
            for value in &tracing_cases {
                let bag = match value {
                    Some(v) => serde_json::json!({ "receivers": v }),
                    None => serde_json::json!({}),
                };
                let trial = databag_trial(
                    &bag,
                    None,
                    "hooks/charm-tracing-relation-changed",
                    ("charm-tracing", "charm-tracing:5", "tempo"),
                );
                t.add(&mut f, trial);
            }
            let Tally {
                stored,
                bad_dest,
                secrets,
            } = t;
            f.note = format!(
                "{stored} gave a destination, {bad_dest} of them unusable; {secrets} credential(s) \
                 shown"
            );
            assert_eq!(secrets, 0, "a credential from the databag was shown");
            assert_eq!(bad_dest, 0, "an unusable destination was stored");
            assert!(
                stored > 0,
                "no case gave a destination: is the harness working?"
            );
            f
        });
        let ca = s.spawn(|| {
            let mut f = Figures::new("hostile certificate_transfer databags");
            let mut t = Tally::default();
            for (app, one_unit) in &ca_cases {
                let trial = databag_trial(
                    &https,
                    Some((app, one_unit)),
                    "hooks/receive-ca-cert-relation-changed",
                    (
                        "receive-ca-cert",
                        "receive-ca-cert:8",
                        "self-signed-certificates",
                    ),
                );
                t.add(&mut f, trial);
            }
            let Tally {
                stored,
                bad_dest,
                secrets,
            } = t;
            f.note = format!(
                "{stored} gave a destination, {bad_dest} of them with an unusable CA; {secrets} \
                 private key(s) shown"
            );
            assert_eq!(secrets, 0, "key material from the databag was shown");
            assert_eq!(bad_dest, 0, "an unusable CA bundle was stored");
            assert!(
                stored > 0,
                "no case gave a destination: is the harness working?"
            );
            f
        });
        let tracing = tracing.join().unwrap();
        let ca = ca.join().unwrap();
        assert!(
            tracing.trials >= 50 && ca.trials >= 50,
            "{} {}",
            tracing.trials,
            ca.trials
        );
        tracing.print().assert_clean();
        ca.print().assert_clean();
    });
}
