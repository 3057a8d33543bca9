//! Opened ports: `open-port`, `close-port`, `opened-ports`.

use std::fmt;
use std::str::FromStr;

use super::common::bad_output;
use super::{Hook, ToolCall};
use crate::error::{Error, Result};
use crate::types::ParseError;

/// A port's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `tcp`.
    Tcp,
    /// `udp`.
    Udp,
    /// `icmp` (no port number).
    Icmp,
}

impl Protocol {
    /// Juju's name: `tcp`, `udp`, `icmp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inclusive range of port numbers; a single port has `from == to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port (1–65535).
    pub from: u16,
    /// Last port, `>= from`.
    pub to: u16,
}

/// A port (or range, or ICMP) that the unit opens: `8080/tcp`, `8000-8090/udp`, `icmp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    /// The protocol.
    pub protocol: Protocol,
    /// The ports: `Some` for TCP and UDP, `None` for ICMP.
    pub range: Option<PortRange>,
}

impl Port {
    /// One TCP port.
    pub fn tcp(port: u16) -> Self {
        Port::tcp_range(port, port)
    }

    /// One UDP port.
    pub fn udp(port: u16) -> Self {
        Port::udp_range(port, port)
    }

    /// A TCP port range.
    pub fn tcp_range(from: u16, to: u16) -> Self {
        Port {
            protocol: Protocol::Tcp,
            range: Some(PortRange { from, to }),
        }
    }

    /// A UDP port range.
    pub fn udp_range(from: u16, to: u16) -> Self {
        Port {
            protocol: Protocol::Udp,
            range: Some(PortRange { from, to }),
        }
    }

    /// ICMP.
    pub fn icmp() -> Self {
        Port {
            protocol: Protocol::Icmp,
            range: None,
        }
    }

    /// Whether Juju would accept it: TCP/UDP with `1 <= from <= to`, ICMP without ports.
    pub fn is_valid(&self) -> bool {
        match (self.protocol, self.range) {
            (Protocol::Icmp, None) => true,
            (Protocol::Tcp | Protocol::Udp, Some(r)) => r.from >= 1 && r.from <= r.to,
            _ => false,
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.range {
            None => write!(f, "{}", self.protocol),
            Some(r) if r.from == r.to => write!(f, "{}/{}", r.from, self.protocol),
            Some(r) => write!(f, "{}-{}/{}", r.from, r.to, self.protocol),
        }
    }
}

impl FromStr for Port {
    type Err = ParseError;

    /// Parses Juju's forms: `8080/tcp`, `8000-8090/udp`, `icmp`.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = || ParseError::new("port", s);
        if s == "icmp" {
            return Ok(Port::icmp());
        }
        let (ports, proto) = s.split_once('/').ok_or_else(err)?;
        let protocol = match proto {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            _ => return Err(err()),
        };
        let num = |t: &str| -> Result<u16, ParseError> {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            t.parse().map_err(|_| err())
        };
        let (from, to) = match ports.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let p = num(ports)?;
                (p, p)
            }
        };
        let port = Port {
            protocol,
            range: Some(PortRange { from, to }),
        };
        if port.is_valid() {
            Ok(port)
        } else {
            Err(err())
        }
    }
}

/// The endpoints an opened port applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortEndpoints {
    /// Every endpoint of the application (opened without `--endpoints`).
    All,
    /// Only these endpoints, sorted.
    Only(Vec<String>),
}

/// A port the unit has opened, with the endpoints it applies to (`opened-ports --endpoints`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpenedPort {
    /// The port, range or ICMP.
    pub port: Port,
    /// The endpoints it is open for.
    pub endpoints: PortEndpoints,
}

impl FromStr for OpenedPort {
    type Err = ParseError;

    /// Parses Juju's `80/tcp (*)` and `8000-8090/udp (dmz, public)`.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = || ParseError::new("opened port", s);
        let (port, rest) = s.split_once(" (").ok_or_else(err)?;
        let list = rest.strip_suffix(')').ok_or_else(err)?;
        let endpoints = if list == "*" {
            PortEndpoints::All
        } else {
            PortEndpoints::Only(
                list.split(", ")
                    .map(str::to_string)
                    .filter(|e| !e.is_empty())
                    .collect(),
            )
        };
        Ok(OpenedPort {
            port: port.parse().map_err(|_| err())?,
            endpoints,
        })
    }
}

fn checked(tool: &str, port: &Port) -> Result<String> {
    if port.is_valid() {
        Ok(port.to_string())
    } else {
        Err(Error::Usage(format!("{tool}: invalid port {port:?}")))
    }
}

/// `PORT` or `--endpoints a,b PORT`; endpoint names must be non-empty and comma-free.
fn port_args(tool: &str, port: &Port, endpoints: Option<&[&str]>) -> Result<Vec<String>> {
    let mut args = Vec::new();
    if let Some(eps) = endpoints {
        if eps.is_empty() || eps.iter().any(|e| e.is_empty() || e.contains([',', ' '])) {
            return Err(Error::Usage(format!(
                "{tool}: invalid endpoints {eps:?} (names, at least one, without commas)"
            )));
        }
        args.extend(["--endpoints".to_string(), eps.join(",")]);
    }
    args.push(checked(tool, port)?);
    Ok(args)
}

impl Hook<'_> {
    /// `open-port`/`close-port` of `port`, for `endpoints` or (with `None`) every endpoint.
    fn port_call(&self, tool: &str, port: &Port, endpoints: Option<&[&str]>) -> Result<()> {
        let args = port_args(tool, port, endpoints)?;
        self.exec(&ToolCall::new(tool, args))
    }

    /// Opens `port` for every endpoint (e.g. `open-port 8080/tcp`, `open-port icmp`). Juju
    /// applies it when the hook succeeds.
    pub fn open_port(&self, port: &Port) -> Result<()> {
        self.port_call("open-port", port, None)
    }

    /// Opens `port` for `endpoints` only: `open-port --endpoints a,b PORT`.
    pub fn open_port_on(&self, port: &Port, endpoints: &[&str]) -> Result<()> {
        self.port_call("open-port", port, Some(endpoints))
    }

    /// Closes `port` for every endpoint (e.g. `close-port 8000-8090/udp`); a port opened for
    /// given endpoints stays open for them.
    pub fn close_port(&self, port: &Port) -> Result<()> {
        self.port_call("close-port", port, None)
    }

    /// Closes `port` for `endpoints` only: `close-port --endpoints a,b PORT`.
    pub fn close_port_on(&self, port: &Port, endpoints: &[&str]) -> Result<()> {
        self.port_call("close-port", port, Some(endpoints))
    }

    /// The ports this unit has opened, including this hook's pending changes, in Juju's order
    /// (by protocol name, then port).
    ///
    /// Runs `opened-ports --format=json` (prints `["icmp","8080/tcp"]`).
    pub fn opened_ports(&self) -> Result<Vec<Port>> {
        self.opened_ports_as(&["--format=json"])
    }

    /// The ports this unit has opened, with the endpoints each applies to.
    ///
    /// Runs `opened-ports --format=json --endpoints` (prints `["80/tcp (*)","9000/tcp (dmz)"]`).
    pub fn opened_ports_with_endpoints(&self) -> Result<Vec<OpenedPort>> {
        self.opened_ports_as(&["--format=json", "--endpoints"])
    }

    /// Runs `opened-ports ARGS` and parses each entry as `T`.
    fn opened_ports_as<T>(&self, args: &[&str]) -> Result<Vec<T>>
    where
        T: FromStr<Err = ParseError>,
    {
        let call = ToolCall::new("opened-ports", args.iter().copied());
        let ports: Vec<String> = self
            .exec_json_opt(&call, "a list of ports")?
            .unwrap_or_default();
        ports
            .iter()
            .map(|p| p.parse().map_err(|e| bad_output(&call, e)))
            .collect()
    }
}
