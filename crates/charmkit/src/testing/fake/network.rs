//! The fake network tools: `open-port`, `close-port`, `opened-ports` and `network-get`, as
//! juju's `ports.go`, `opened-ports.go` and `network-get.go` (with `core/network`'s
//! `ParsePortRange`) answer them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::jujuc::{check_empty, go_quote, parse_plain, write, Fail, Format, Out, Takes, OUTPUT};
use super::FakeJuju;
use crate::hookcmd::{Port, PortRange, Protocol, ToolCall};

/// Go's `strconv.Atoi` error text for `s`.
fn atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(s)))
}

/// `network.ParsePortRange` (after `strings.ToLower`) and `PortRange.Validate`.
pub(super) fn parse_port_range(arg: &str) -> Result<Port, String> {
    let arg = arg.to_lowercase();
    let (ports, mut protocol) = match arg.split_once('/') {
        Some((p, proto)) => (p.to_string(), proto.to_string()),
        None => (arg.clone(), "tcp".to_string()),
    };
    let parts: Vec<&str> = ports.split('-').collect();
    let (from, to) = match parts.as_slice() {
        ["icmp"] => (-1, -1),
        [one] => {
            let p = atoi(one).map_err(|e| format!("invalid port {}: {e}", go_quote(&ports)))?;
            (p, p)
        }
        [a, b] => (
            atoi(a).map_err(|e| format!("invalid port {}: {e}", go_quote(a)))?,
            atoi(b).map_err(|e| format!("invalid port {}: {e}", go_quote(b)))?,
        ),
        _ => return Err(format!("invalid port range {}", go_quote(&ports))),
    };
    if from == -1 {
        protocol = "icmp".into();
    }
    let proto = match protocol.as_str() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "icmp" => Protocol::Icmp,
        other => {
            return Err(format!(
                "invalid protocol {}, expected \"tcp\", \"udp\", or \"icmp\"",
                go_quote(other)
            ))
        }
    };
    if proto == Protocol::Icmp {
        if from == -1 && to == -1 {
            return Ok(Port::icmp());
        }
        return Err(format!(
            "protocol \"icmp\" doesn't support any ports; got \"{from}\""
        ));
    }
    if from > to {
        return Err(format!("invalid port range {from}-{to}/{protocol}"));
    }
    if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) {
        return Err(format!(
            "port range bounds must be between 0 and 65535, got {from}-{to}"
        ));
    }
    Ok(Port {
        protocol: proto,
        range: Some(PortRange {
            from: from as u16,
            to: to as u16,
        }),
    })
}

/// `PortRange.ConflictsWith`: same protocol and overlapping numbers.
fn overlaps(a: &Port, b: &Port) -> bool {
    a.protocol == b.protocol
        && match (a.range, b.range) {
            (Some(x), Some(y)) => x.to >= y.from && y.to >= x.from,
            _ => true,
        }
}

/// Juju's order for port ranges (`SortPortRanges`): protocol name, then numbers.
pub(super) fn juju_order(p: &Port) -> (&'static str, u16, u16) {
    let (from, to) = p.range.map_or((0, 0), |r| (r.from, r.to));
    (p.protocol.as_str(), from, to)
}

impl FakeJuju {
    pub(super) fn port(&self, call: &ToolCall) -> Out {
        let p = parse_plain(
            &call.args,
            &[("format", Takes::Value), ("endpoints", Takes::Value)],
        )?;
        let Some((arg, rest)) = p.args.split_first() else {
            return Err(Fail::usage("no port or range specified"));
        };
        let port = parse_port_range(arg).map_err(Fail::usage)?;
        check_empty(rest)?;
        // No --endpoints: the group "" (every endpoint); else each listed endpoint, trimmed.
        let endpoints: Vec<String> = match p.get("endpoints").filter(|e| !e.is_empty()) {
            None => vec![String::new()],
            Some(list) => list.split(',').map(|e| e.trim().to_string()).collect(),
        };
        let mut st = self.state.borrow_mut();
        let unit = st.unit_name.clone();
        let open = call.tool == "open-port";
        for endpoint in endpoints {
            if open {
                // checkForConflict: an overlapping, different range of this unit is refused.
                let clash = st
                    .opened_ports
                    .values()
                    .flatten()
                    .find(|q| overlaps(q, &port) && **q != port);
                if let Some(q) = clash {
                    return Err(Fail::run(format_args!(
                        "cannot open {port} (unit {u}): port range conflicts with {q} (unit {u})",
                        u = go_quote(&unit)
                    )));
                }
                st.opened_ports.entry(endpoint).or_default().insert(port);
            } else if let Some(group) = st.opened_ports.get_mut(&endpoint) {
                group.remove(&port);
                if group.is_empty() {
                    st.opened_ports.remove(&endpoint);
                }
            }
        }
        Ok(Vec::new())
    }

    pub(super) fn opened_ports(&self, call: &ToolCall) -> Out {
        let p = parse_plain(
            &call.args,
            &[OUTPUT[0], OUTPUT[1], ("endpoints", Takes::Bool)],
        )?;
        let fmt = p.format(Format::Smart)?;
        check_empty(&p.args)?;
        let st = self.state.borrow();
        // The endpoints of each port range; "" stands for every endpoint.
        let mut by_port: BTreeMap<(&str, u16, u16), (Port, BTreeSet<&str>)> = BTreeMap::new();
        for (endpoint, ports) in &st.opened_ports {
            for port in ports {
                by_port
                    .entry(juju_order(port))
                    .or_insert_with(|| (*port, BTreeSet::new()))
                    .1
                    .insert(endpoint);
            }
        }
        let list: Vec<String> = by_port
            .values()
            .map(|(port, endpoints)| {
                if !p.has("endpoints") {
                    port.to_string()
                } else if endpoints.contains("") {
                    format!("{port} (*)")
                } else {
                    let names: Vec<&str> = endpoints.iter().copied().collect();
                    format!("{port} ({})", names.join(", "))
                }
            })
            .collect();
        Ok(write(fmt, &json!(list)))
    }

    pub(super) fn network_get(&self, call: &ToolCall) -> Out {
        let p = self.parse_with_relation(
            &call.args,
            &[
                OUTPUT[0],
                OUTPUT[1],
                ("primary-address", Takes::Bool),
                ("bind-address", Takes::Bool),
                ("ingress-address", Takes::Bool),
                ("egress-subnets", Takes::Bool),
                ("r|relation", Takes::Value),
            ],
        )?;
        let fmt = p.format(Format::Smart)?;
        let Some((binding, rest)) = p.args.split_first() else {
            return Err(Fail::usage("no arguments specified"));
        };
        if binding.is_empty() {
            return Err(Fail::usage("no binding name specified"));
        }
        check_empty(rest)?;
        let st = self.state.borrow();
        let Some(info) = st.networks.get(binding) else {
            return Err(Fail::run(format_args!(
                "no network config found for binding {}",
                go_quote(binding)
            )));
        };
        let first_address = || info["bind-addresses"][0]["addresses"][0]["value"].clone();
        let keys: Vec<&str> = ["bind-address", "ingress-address", "egress-subnets"]
            .into_iter()
            .filter(|k| p.has(k))
            .collect();
        if p.has("primary-address") {
            if !keys.is_empty() {
                return Err(Fail::run(
                    "--primary-address must be the only flag specified",
                ));
            }
            return Ok(write(fmt, &first_address()));
        }
        if keys.is_empty() {
            return Ok(write(fmt, info));
        }
        let mut out = Map::new();
        for k in &keys {
            let v = match *k {
                "bind-address" => first_address(),
                "ingress-address" => match info["ingress-addresses"].get(0) {
                    Some(a) => a.clone(),
                    None => first_address(),
                },
                _ => info["egress-subnets"].clone(),
            };
            out.insert(k.to_string(), v);
        }
        if keys.len() == 1 {
            return Ok(write(fmt, &out[keys[0]]));
        }
        Ok(write(fmt, &Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_parse_as_juju() {
        assert_eq!(parse_port_range("80").unwrap(), Port::tcp(80));
        assert_eq!(parse_port_range("53/UDP").unwrap(), Port::udp(53));
        assert_eq!(parse_port_range("icmp").unwrap(), Port::icmp());
        assert_eq!(
            parse_port_range("80/sctp").unwrap_err(),
            "invalid protocol \"sctp\", expected \"tcp\", \"udp\", or \"icmp\""
        );
        assert_eq!(
            parse_port_range("x/tcp").unwrap_err(),
            "invalid port \"x\": strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            parse_port_range("9-8/tcp").unwrap_err(),
            "invalid port range 9-8/tcp"
        );
        assert_eq!(
            parse_port_range("1-70000/udp").unwrap_err(),
            "port range bounds must be between 0 and 65535, got 1-70000"
        );
        assert_eq!(
            parse_port_range("80/icmp").unwrap_err(),
            "protocol \"icmp\" doesn't support any ports; got \"80\""
        );
    }
}
