//! Pebble's plan semantics (`internals/plan/plan.go`): combining layers with `override:
//! merge|replace`, validating the result, and which services a start involves.

use std::collections::BTreeMap;

use crate::pebble::{Check, Layer, LogTarget, Override, Plan, Service};

fn merge_service(s: &mut Service, o: &Service) {
    macro_rules! take_str {
        ($($f:ident),*) => {$(if !o.$f.is_empty() { s.$f = o.$f.clone(); })*};
    }
    macro_rules! take_opt {
        ($($f:ident),*) => {$(if o.$f.is_some() { s.$f = o.$f.clone(); })*};
    }
    take_str!(
        summary,
        description,
        command,
        user,
        group,
        working_dir,
        workload
    );
    take_opt!(startup, user_id, group_id, on_success, on_failure);
    take_opt!(backoff_delay, backoff_factor, backoff_limit, kill_delay);
    s.after.extend(o.after.iter().cloned());
    s.before.extend(o.before.iter().cloned());
    s.requires.extend(o.requires.iter().cloned());
    s.environment
        .extend(o.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    s.on_check_failure
        .extend(o.on_check_failure.iter().map(|(k, v)| (k.clone(), *v)));
}

fn merge_check(c: &mut Check, o: &Check) {
    macro_rules! take_opt {
        ($($f:ident),*) => {$(if o.$f.is_some() { c.$f = o.$f.clone(); })*};
    }
    take_opt!(level, startup, period, timeout, threshold);
    if let Some(oh) = &o.http {
        let h = c.http.get_or_insert_with(Default::default);
        if !oh.url.is_empty() {
            h.url = oh.url.clone();
        }
        h.headers
            .extend(oh.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(ot) = &o.tcp {
        let t = c.tcp.get_or_insert_with(Default::default);
        if ot.port.is_some() {
            t.port = ot.port;
        }
        if !ot.host.is_empty() {
            t.host = ot.host.clone();
        }
    }
    if let Some(oe) = &o.exec {
        let e = c.exec.get_or_insert_with(Default::default);
        if !oe.command.is_empty() {
            e.command = oe.command.clone();
        }
        if !oe.service_context.is_empty() {
            e.service_context = oe.service_context.clone();
        }
        e.environment
            .extend(oe.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        if oe.user_id.is_some() {
            e.user_id = oe.user_id;
        }
        if !oe.user.is_empty() {
            e.user = oe.user.clone();
        }
        if oe.group_id.is_some() {
            e.group_id = oe.group_id;
        }
        if !oe.group.is_empty() {
            e.group = oe.group.clone();
        }
        if !oe.working_dir.is_empty() {
            e.working_dir = oe.working_dir.clone();
        }
    }
}

fn merge_target(t: &mut LogTarget, o: &LogTarget) {
    if !o.r#type.is_empty() {
        t.r#type = o.r#type.clone();
    }
    if !o.location.is_empty() {
        t.location = o.location.clone();
    }
    t.services.extend(o.services.iter().cloned());
    t.labels
        .extend(o.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
}

/// Combines one section's entries in layer order, as Pebble's `CombineLayers`.
fn combine_section<T: Clone>(
    out: &mut BTreeMap<String, T>,
    label: &str,
    what: &str,
    entries: &BTreeMap<String, T>,
    override_of: impl Fn(&T) -> Option<Override>,
    merge: impl Fn(&mut T, &T),
) -> Result<(), String> {
    for (name, entry) in entries {
        match override_of(entry) {
            Some(Override::Merge) => match out.get_mut(name) {
                Some(old) => merge(old, entry),
                None => {
                    out.insert(name.clone(), entry.clone());
                }
            },
            Some(Override::Replace) => {
                out.insert(name.clone(), entry.clone());
            }
            None => {
                return Err(format!(
                    "layer {label:?} must define \"override\" for {what} {name:?}"
                ))
            }
        }
    }
    Ok(())
}

/// Combines `layers` (label, layer) bottom to top into one layer.
pub(crate) fn combine_layers(layers: &[(String, Layer)]) -> Result<Layer, String> {
    let mut out = Layer::default();
    for (label, layer) in layers {
        combine_section(
            &mut out.services,
            label,
            "service",
            &layer.services,
            |s| s.r#override,
            merge_service,
        )?;
        combine_section(
            &mut out.checks,
            label,
            "check",
            &layer.checks,
            |c| c.r#override,
            merge_check,
        )?;
        combine_section(
            &mut out.log_targets,
            label,
            "log target",
            &layer.log_targets,
            |t| t.r#override,
            merge_target,
        )?;
    }
    if let Some((_, last)) = layers.last() {
        out.summary = last.summary.clone();
        out.description = last.description.clone();
    }
    Ok(out)
}

/// The plan of `layers`, validated as Pebble validates a plan.
pub(crate) fn combine(layers: &[(String, Layer)]) -> Result<Plan, String> {
    let combined = combine_layers(layers)?;
    let plan = Plan {
        services: combined.services,
        checks: combined.checks,
        log_targets: combined.log_targets,
    };
    validate(&plan)?;
    Ok(plan)
}

/// Pebble's plan validation (the checks a charm's layers commonly trip).
fn validate(plan: &Plan) -> Result<(), String> {
    for (name, s) in &plan.services {
        if s.command.is_empty() {
            return Err(format!("plan must define \"command\" for service {name:?}"));
        }
        for dep in s.after.iter().chain(&s.before).chain(&s.requires) {
            if !plan.services.contains_key(dep) {
                return Err(format!(
                    "plan must define service {dep:?} (referenced by service {name:?})"
                ));
            }
        }
    }
    for (name, c) in &plan.checks {
        let kinds = [c.http.is_some(), c.tcp.is_some(), c.exec.is_some()];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(format!(
                "plan must specify one of \"http\", \"tcp\", or \"exec\" for check {name:?}"
            ));
        }
        if c.http.as_ref().is_some_and(|h| h.url.is_empty()) {
            return Err(format!("plan must set \"url\" for http check {name:?}"));
        }
        if c.tcp.as_ref().is_some_and(|t| t.port.is_none()) {
            return Err(format!("plan must set \"port\" for tcp check {name:?}"));
        }
        if let Some(e) = &c.exec {
            if e.command.is_empty() {
                return Err(format!("plan must set \"command\" for exec check {name:?}"));
            }
            if !e.service_context.is_empty() && !plan.services.contains_key(&e.service_context) {
                return Err(format!(
                    "plan check {name:?} service context specifies non-existent service {:?}",
                    e.service_context
                ));
            }
        }
    }
    // Pebble's checkCycles: every service, in start order.
    let all: Vec<String> = plan.services.keys().cloned().collect();
    order(plan, &all, false)?;
    Ok(())
}

/// The services a start of `names` involves, in the order they start: them and, transitively,
/// what they require. As Pebble's `StartOrder`, lanes flattened.
pub(crate) fn start_order(plan: &Plan, names: &[String]) -> Result<Vec<String>, String> {
    order(plan, names, false)
}

/// The services a stop of `names` involves, in the order they stop: them and, transitively,
/// what requires them. As Pebble's `StopOrder`, lanes flattened.
pub(crate) fn stop_order(plan: &Plan, names: &[String]) -> Result<Vec<String>, String> {
    order(plan, names, true)
}

/// Pebble's `order()`: collects the services involved (`requires` followed forwards for a
/// start, backwards for a stop), then orders them by `after` and `before` only — `requires`
/// brings a service in but does not order it — swapped for a stop. Unordered services go by
/// name. A loop is `services in before/after loop: a, b`, naming the services in it.
fn order(plan: &Plan, names: &[String], stop: bool) -> Result<Vec<String>, String> {
    let missing = |n: &str| format!("service {n:?} does not exist");
    let mut involved: Vec<String> = Vec::new();
    let mut pending: Vec<String> = names.to_vec();
    while let Some(n) = pending.pop() {
        if involved.contains(&n) {
            continue;
        }
        if stop {
            pending.extend(
                plan.services
                    .iter()
                    .filter(|(_, s)| s.requires.contains(&n))
                    .map(|(name, _)| name.clone()),
            );
        } else {
            let s = plan.services.get(&n).ok_or_else(|| missing(&n))?;
            pending.extend(s.requires.iter().cloned());
        }
        involved.push(n);
    }
    if let Some(n) = involved.iter().find(|n| !plan.services.contains_key(*n)) {
        return Err(missing(n));
    }
    involved.sort();
    // `a` goes before `b` when, for a start, `b` is after `a` or `a` is before `b`.
    let precedes = |a: &str, b: &str| {
        let (first, then) = if stop { (b, a) } else { (a, b) };
        let (sf, st) = (&plan.services[first], &plan.services[then]);
        st.after.iter().any(|x| x == first) || sf.before.iter().any(|x| x == then)
    };
    let mut ordered: Vec<String> = Vec::new();
    while !involved.is_empty() {
        let next = involved
            .iter()
            .position(|c| !involved.iter().any(|o| o != c && precedes(o, c)));
        let Some(next) = next else {
            return Err(format!(
                "services in before/after loop: {}",
                in_loops(&involved, &precedes).join(", ")
            ));
        };
        ordered.push(involved.remove(next));
    }
    Ok(ordered)
}

/// Those of `left` (none of which can go first) that are on a loop of `precedes`.
fn in_loops(left: &[String], precedes: &impl Fn(&str, &str) -> bool) -> Vec<String> {
    let reaches = |from: &str, to: &str| {
        let mut seen = vec![from.to_string()];
        let mut todo = vec![from.to_string()];
        while let Some(a) = todo.pop() {
            for b in left.iter().filter(|b| precedes(&a, b)) {
                if b == to {
                    return true;
                }
                if !seen.contains(b) {
                    seen.push(b.clone());
                    todo.push(b.clone());
                }
            }
        }
        false
    };
    left.iter().filter(|n| reaches(n, n)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(yaml: &str) -> Layer {
        Layer::from_yaml(yaml).unwrap()
    }

    #[test]
    fn merge_and_replace_as_pebble() {
        let base = layer(
            "services:\n  web:\n    override: replace\n    command: /bin/web\n    startup: enabled\n    environment: {A: '1', B: '2'}\n    after: [db]\n  db:\n    override: replace\n    command: /bin/db\n",
        );
        let top = layer(
            "services:\n  web:\n    override: merge\n    environment: {B: '3'}\n    after: [cache]\n  cache:\n    override: replace\n    command: /bin/cache\n  db:\n    override: replace\n    command: /bin/db2\n",
        );
        let plan = combine(&[("base".into(), base), ("top".into(), top)]).unwrap();
        let web = &plan.services["web"];
        assert_eq!(web.command, "/bin/web");
        assert_eq!(web.environment["A"], "1");
        assert_eq!(web.environment["B"], "3");
        assert_eq!(web.after, ["db", "cache"]);
        assert_eq!(plan.services["db"].command, "/bin/db2");
        assert_eq!(plan.services["db"].startup, None);
        assert_eq!(
            start_order(&plan, &["web".into(), "db".into(), "cache".into()]).unwrap(),
            ["cache", "db", "web"]
        );
    }

    #[test]
    fn start_and_stop_order_as_pebble() {
        // web requires db (not ordered by it), and starts after cache; log requires web.
        let plan = combine(&[(
            "l".into(),
            layer(
                "services:\n  web: {override: replace, command: w, requires: [db], after: [cache]}\n  db: {override: replace, command: d}\n  cache: {override: replace, command: c, before: [db]}\n  log: {override: replace, command: l, requires: [web]}\n  other: {override: replace, command: o}\n",
            ),
        )])
        .unwrap();
        // A start brings in what is required, ordered by after/before only.
        assert_eq!(start_order(&plan, &["web".into()]).unwrap(), ["db", "web"]);
        assert_eq!(
            start_order(&plan, &["web".into(), "cache".into()]).unwrap(),
            ["cache", "db", "web"]
        );
        // A stop brings in what requires it (transitively), in reverse order.
        assert_eq!(
            stop_order(&plan, &["db".into()]).unwrap(),
            ["db", "log", "web"]
        );
        assert_eq!(
            stop_order(&plan, &["db".into(), "cache".into()]).unwrap(),
            ["db", "log", "web", "cache"],
            "web started after cache, so it stops before it"
        );
        assert_eq!(stop_order(&plan, &["other".into()]).unwrap(), ["other"]);
        assert_eq!(
            stop_order(&plan, &["nope".into()]).unwrap_err(),
            "service \"nope\" does not exist"
        );
        // A loop is refused when the plan is made, naming the services in it only.
        let looped = layer(
            "services:\n  a: {override: replace, command: a, after: [b]}\n  b: {override: replace, command: b, after: [a]}\n  c: {override: replace, command: c, after: [a]}\n",
        );
        assert_eq!(
            combine(&[("l".into(), looped)]).unwrap_err(),
            "services in before/after loop: a, b"
        );
    }

    #[test]
    fn refuses_what_pebble_refuses() {
        let no_override = layer("services:\n  web:\n    command: x\n");
        assert_eq!(
            combine(&[("l1".into(), no_override)]).unwrap_err(),
            "layer \"l1\" must define \"override\" for service \"web\""
        );
        let no_command = layer("services:\n  web:\n    override: merge\n");
        assert_eq!(
            combine(&[("l".into(), no_command)]).unwrap_err(),
            "plan must define \"command\" for service \"web\""
        );
        let bad_check = layer("checks:\n  up:\n    override: replace\n    level: ready\n");
        assert_eq!(
            combine(&[("l".into(), bad_check)]).unwrap_err(),
            "plan must specify one of \"http\", \"tcp\", or \"exec\" for check \"up\""
        );
        let plan = combine(&[]).unwrap();
        assert_eq!(
            start_order(&plan, &["nope".into()]).unwrap_err(),
            "service \"nope\" does not exist"
        );
    }
}
