//! Workload status: a name (`active`, `blocked`, …) and a message, ranked as ops ranks them.
//!
//! Shared by the hook tools (`status-set`, `status-get`), the model and collect-status.

use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// A Juju workload status name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusName {
    /// `active`: ready and doing its job.
    Active,
    /// `blocked`: needs a human to act.
    Blocked,
    /// `maintenance`: busy with something that will finish on its own.
    Maintenance,
    /// `waiting`: waiting for something outside the charm (e.g. a relation).
    Waiting,
    /// `error`: a hook failed (set by Juju only).
    Error,
    /// `unknown`: nothing set yet (set by Juju only).
    #[default]
    Unknown,
    /// `terminated`: the workload is gone (set by Juju only, as a unit is removed).
    Terminated,
}

impl StatusName {
    /// Juju's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusName::Active => "active",
            StatusName::Blocked => "blocked",
            StatusName::Maintenance => "maintenance",
            StatusName::Waiting => "waiting",
            StatusName::Error => "error",
            StatusName::Unknown => "unknown",
            StatusName::Terminated => "terminated",
        }
    }

    /// Whether a charm may set this status with `status-set` (Juju takes only `maintenance`,
    /// `blocked`, `waiting` and `active`).
    pub fn settable(self) -> bool {
        !matches!(
            self,
            StatusName::Error | StatusName::Unknown | StatusName::Terminated
        )
    }

    /// The rank ops uses to pick the status to show from those collected: error > blocked >
    /// maintenance > waiting > active > unknown (and `terminated`, which no charm sets, with
    /// `unknown`).
    pub fn priority(self) -> u8 {
        match self {
            StatusName::Error => 5,
            StatusName::Blocked => 4,
            StatusName::Maintenance => 3,
            StatusName::Waiting => 2,
            StatusName::Active => 1,
            StatusName::Unknown | StatusName::Terminated => 0,
        }
    }
}

impl fmt::Display for StatusName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StatusName {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        Ok(match s {
            "active" => StatusName::Active,
            "blocked" => StatusName::Blocked,
            "maintenance" => StatusName::Maintenance,
            "waiting" => StatusName::Waiting,
            "error" => StatusName::Error,
            "unknown" => StatusName::Unknown,
            "terminated" => StatusName::Terminated,
            _ => return Err(ParseError::new("status name", s)),
        })
    }
}

/// A workload status: a name and a message shown to the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Status {
    /// The status.
    pub name: StatusName,
    /// The message (may be empty).
    pub message: String,
}

impl Status {
    /// A status with `name` and `message`.
    pub fn new(name: StatusName, message: impl Into<String>) -> Self {
        Status {
            name,
            message: message.into(),
        }
    }

    /// `active`.
    pub fn active(message: impl Into<String>) -> Self {
        Status::new(StatusName::Active, message)
    }

    /// `blocked`.
    pub fn blocked(message: impl Into<String>) -> Self {
        Status::new(StatusName::Blocked, message)
    }

    /// `maintenance`.
    pub fn maintenance(message: impl Into<String>) -> Self {
        Status::new(StatusName::Maintenance, message)
    }

    /// `waiting`.
    pub fn waiting(message: impl Into<String>) -> Self {
        Status::new(StatusName::Waiting, message)
    }

    /// `unknown`, no message: what Juju shows before a charm sets anything.
    pub fn unknown() -> Self {
        Status::new(StatusName::Unknown, "")
    }

    /// The rank collect-status uses (see [`StatusName::priority`]).
    pub fn priority(&self) -> u8 {
        self.name.priority()
    }

    /// The highest-priority status of `statuses`, the first one on ties (as ops'
    /// `StatusBase._get_highest_priority`); `None` if there are none.
    pub fn highest<I: IntoIterator<Item = Status>>(statuses: I) -> Option<Status> {
        statuses.into_iter().fold(None, |best, s| match best {
            Some(b) if b.priority() >= s.priority() => Some(b),
            _ => Some(s),
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}: {}", self.name, self.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in [
            StatusName::Active,
            StatusName::Blocked,
            StatusName::Maintenance,
            StatusName::Waiting,
            StatusName::Error,
            StatusName::Unknown,
            StatusName::Terminated,
        ] {
            assert_eq!(n.as_str().parse::<StatusName>().unwrap(), n);
            assert_eq!(n.to_string(), n.as_str());
        }
        assert!("Active".parse::<StatusName>().is_err());
    }

    #[test]
    fn priorities_follow_ops() {
        let order = [
            Status::new(StatusName::Error, ""),
            Status::blocked(""),
            Status::maintenance(""),
            Status::waiting(""),
            Status::active(""),
            Status::unknown(),
        ];
        for w in order.windows(2) {
            assert!(w[0].priority() > w[1].priority(), "{:?}", w);
        }
        let h = Status::highest([
            Status::active("a"),
            Status::waiting("w1"),
            Status::waiting("w2"),
        ]);
        assert_eq!(h, Some(Status::waiting("w1")));
        assert_eq!(Status::highest(Vec::new()), None);
        assert_eq!(
            Status::blocked("no relation").to_string(),
            "blocked: no relation"
        );
    }
}
