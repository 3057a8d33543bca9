//! Hostile collectors on loopback.

use super::*;

/// How a hostile collector is expected to end an export.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Every chunk delivered.
    Delivered,
    /// Kept for later, the failure recorded and reported once.
    Kept,
    /// Rejected (4xx) and dropped, by design, the reason recorded and reported once.
    Dropped,
}

struct Hostile {
    name: &'static str,
    server: Server,
    url: String,
    ca: Option<String>,
    expect: Expect,
    /// A second server that must never be reached (a redirect's target).
    elsewhere: Option<Server>,
    /// Requests that reached this server are requests sent without verifying it.
    must_not_receive: bool,
}

fn hostile_collectors_list() -> Vec<Hostile> {
    use rustls::version::{TLS12, TLS13};
    let root = Ca::root("campaign root");
    let ca = Some(root.pem());
    let tls = |leaf: Leaf| {
        Server::https(
            200,
            server_config(vec![leaf.cert.der().clone()], &leaf.key, &[&TLS13, &TLS12]),
        )
    };
    let mk = |name, server: Server, scheme: &str, ca: Option<String>, expect| {
        let url = server.url(scheme);
        Hostile {
            name,
            server,
            url,
            ca,
            expect,
            elsewhere: None,
            must_not_receive: false,
        }
    };
    let huge = {
        let body = vec![b'x'; 2 << 20];
        let mut reply = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        reply.extend(body);
        reply
    };
    let target = Server::http(200);
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
        target.url("http")
    );
    let other_root = Ca::root("somebody else");
    let mut list = vec![
        mk(
            "answers 200 (control)",
            Server::http(200),
            "http",
            None,
            Expect::Delivered,
        ),
        mk(
            "never answers",
            Server::silent(),
            "http",
            None,
            Expect::Kept,
        ),
        mk(
            "trickles its answer",
            Server::trickle(),
            "http",
            None,
            Expect::Kept,
        ),
        mk(
            "resets the connection",
            Server::reset(),
            "http",
            None,
            Expect::Kept,
        ),
        mk("HTTP 400", Server::http(400), "http", None, Expect::Dropped),
        mk("HTTP 500", Server::http(500), "http", None, Expect::Kept),
        mk("HTTP 429", Server::http(429), "http", None, Expect::Kept),
        mk(
            "4xx with a 2 MiB body",
            Server::raw(huge),
            "http",
            None,
            Expect::Dropped,
        ),
        mk(
            "Tempo 2.0 (refuses unknown fields)",
            Server::strict(&["flags", "entityRefs"]),
            "http",
            None,
            Expect::Delivered,
        ),
        mk(
            "nothing listening",
            Server::silent(),
            "http",
            None,
            Expect::Kept,
        ),
        mk(
            "TLS, valid certificate (control)",
            tls(root.leaf(&["127.0.0.1"], false)),
            "https",
            ca.clone(),
            Expect::Delivered,
        ),
        mk(
            "TLS, certificate for another host",
            tls(root.leaf(&["other.example"], false)),
            "https",
            ca.clone(),
            Expect::Kept,
        ),
        mk(
            "TLS, expired certificate",
            tls(root.leaf(&["127.0.0.1"], true)),
            "https",
            ca.clone(),
            Expect::Kept,
        ),
        mk(
            "TLS, certificate from another CA",
            tls(other_root.leaf(&["127.0.0.1"], false)),
            "https",
            ca.clone(),
            Expect::Kept,
        ),
        mk(
            "plain HTTP on an https URL",
            Server::http(200),
            "https",
            ca.clone(),
            Expect::Kept,
        ),
    ];
    list[9].url = format!("http://127.0.0.1:{}/v1/traces", refused_port());
    for h in &mut list[11..] {
        h.must_not_receive = true;
    }
    let mut r = mk(
        "redirects elsewhere (307)",
        Server::raw(redirect.into_bytes()),
        "http",
        None,
        Expect::Kept,
    );
    r.elsewhere = Some(target);
    list.push(r);
    list
}

/// One hostile collector against its own unit: `k` unobserved dispatches (they never reconcile,
/// so the destination set here stays), then the export's record and the next dispatch's report.
fn against(h: &Hostile, k: usize) -> Figures {
    let unit = Unit::new(&CHARM);
    // A short per-request timeout keeps the campaign quick; what it shows holds for any.
    let env = [("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1000")];
    let (st, _, _) = dispatch(&unit, "hooks/install", &env);
    assert!(st.is_some_and(|s| s.success()));
    // The same hook on a twin unit with no destination, alternated with this one's: the hook
    // time the collector adds, under the same load.
    let twin = Unit::new(&CHARM);
    let _ = dispatch(&twin, "hooks/install", &env);
    let mut baseline = Vec::new();
    // What is buffered so far (install and the baseline) goes too: all of it must be accounted.
    set_destination(&unit, &h.url, h.ca.clone());
    let calls = unit.state.join("calls");
    let mut figures = Figures::new(h.name);
    let mut times = Vec::new();
    let mut warnings = Vec::new();
    for i in 0..k {
        baseline.push(dispatch(&twin, "hooks/update-status", &env).2);
        let before = std::fs::metadata(&calls).map_or(0, |m| m.len() as usize);
        let (st, err, took) = dispatch(&unit, "hooks/update-status", &env);
        times.push(took);
        if !st.is_some_and(|s| s.success()) || panicked(st, &err) {
            figures.failed += 1;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&calls).unwrap()[before..]).into_owned();
        warnings.extend(
            text.lines()
                .filter(|l| l.contains("last export"))
                .map(str::to_owned),
        );
        // The exporter records how it ended, well before its 30 s deadline.
        let recorded = Instant::now();
        let done = eventually(Duration::from_secs(15), || {
            let b = Buffer::open(&unit.charm_dir).unwrap();
            match (h.expect, b.last_export()) {
                (Expect::Delivered, Ok(Some(o))) => o.remaining == 0,
                (_, Ok(Some(o))) => o.error.is_some(),
                _ => false,
            }
        });
        assert!(
            done,
            "{}: no export outcome recorded after {:?}",
            h.name,
            recorded.elapsed()
        );
        if i == 0 {
            figures.note = format!(
                "outcome recorded {:.1} s after the hook",
                recorded.elapsed().as_secs_f64()
            );
        }
    }
    // One more dispatch reports the last failure, if any, once.
    let before = std::fs::metadata(&calls).map_or(0, |m| m.len() as usize);
    let _ = dispatch(&unit, "hooks/update-status", &env);
    let text = String::from_utf8_lossy(&std::fs::read(&calls).unwrap()[before..]).into_owned();
    warnings.extend(
        text.lines()
            .filter(|l| l.contains("last export"))
            .map(str::to_owned),
    );
    let logged = logged_trace_ids_since(&calls, 0).0;
    let (buffered, corrupt) = buffered_roots(&unit.charm_dir);
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    for r in h.server.received() {
        if !(200..300).contains(&r.answered) {
            continue;
        }
        match root_trace_ids(&r.body) {
            Some(ids) => ids
                .into_iter()
                .for_each(|id| *delivered.entry(id).or_insert(0) += 1),
            None => figures.corrupt += 1,
        }
    }
    figures.trials = k;
    figures.corrupt += corrupt;
    figures.duplicated = delivered.values().filter(|n| **n > 1).count();
    figures.lost = match h.expect {
        // Rejected chunks are dropped by design (a 4xx is permanent): not lost.
        Expect::Dropped => 0,
        _ => logged
            .iter()
            .filter(|id| !buffered.contains_key(*id) && !delivered.contains_key(*id))
            .count(),
    };
    let received =
        h.server.received().len() + h.elsewhere.as_ref().map_or(0, |e| e.received().len());
    figures.unverified = Some(if h.must_not_receive || h.elsewhere.is_some() {
        received
    } else {
        0
    });
    figures.hook_added = Some(median(&mut times).saturating_sub(median(&mut baseline)));
    let expected_warnings = if h.expect == Expect::Delivered { 0 } else { 1 };
    let distinct: BTreeSet<&String> = warnings.iter().collect();
    assert!(
        distinct.len() >= expected_warnings && warnings.len() == distinct.len(),
        "{}: warnings {warnings:?}",
        h.name
    );
    if h.expect == Expect::Delivered {
        assert!(warnings.is_empty(), "{}: {warnings:?}", h.name);
        assert!(!delivered.is_empty(), "{}: nothing delivered", h.name);
    }
    if let Some(w) = warnings.first() {
        // The warning as logged, without its URL and counts: what the operator reads.
        let what = w.split("/v1/traces: ").nth(1).unwrap_or(w);
        let what = what.split(" (sent ").next().unwrap_or(what);
        let short: String = what.chars().take(90).collect();
        let cut = if short.len() < what.len() { "…" } else { "" };
        figures.note += &format!("; reported once: \"{short}{cut}\"");
    }
    figures
}

#[test]
fn hostile_collectors_on_loopback() {
    let k = trials(2, 10);
    let list = Arc::new(hostile_collectors_list());
    // In parallel in the fast mode; one at a time in the long mode, for clean hook times.
    let rows: Vec<Figures> = if long() {
        list.iter().map(|h| against(h, k)).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = list.iter().map(|h| s.spawn(|| against(h, k))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let mut summary = Figures::new("hostile collectors");
    let mut added = Vec::new();
    for row in rows {
        summary.trials += row.trials;
        summary.lost += row.lost;
        summary.corrupt += row.corrupt;
        summary.duplicated += row.duplicated;
        summary.failed += row.failed;
        *summary.unverified.get_or_insert(0) += row.unverified.unwrap_or(0);
        added.extend(row.hook_added);
        row.print().assert_clean();
    }
    summary.hook_added = Some(median(&mut added));
    summary.note = format!(
        "{} collectors (one row each above); hook time added: the median over them, each paired \
         with a twin unit with no destination; every failure recorded by the exporter and \
         reported once",
        list.len()
    );
    summary.print().assert_clean();
}
