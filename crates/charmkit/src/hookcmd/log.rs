//! Logging to the Juju debug log: `juju-log`.

use std::fmt;
use std::str::FromStr;

use super::{Hook, ToolCall};
use crate::error::Result;
use crate::types::ParseError;

/// A `juju-log` level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogLevel {
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARNING`.
    Warning,
    /// `ERROR`.
    Error,
}

impl LogLevel {
    /// Juju's name: `DEBUG`, `INFO`, `WARNING`, `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogLevel {
    type Err = ParseError;

    /// Parses a level name, in any case (`WARN` is accepted for `WARNING`).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARNING" | "WARN" => LogLevel::Warning,
            "ERROR" => LogLevel::Error,
            _ => return Err(ParseError::new("log level", s)),
        })
    }
}

impl From<log::Level> for LogLevel {
    /// `trace` and `debug` map to `DEBUG`.
    fn from(l: log::Level) -> Self {
        match l {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warning,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug | log::Level::Trace => LogLevel::Debug,
        }
    }
}

impl Hook<'_> {
    /// Writes `message` to the Juju debug log.
    ///
    /// Runs `juju-log --log-level LEVEL -- MESSAGE`.
    pub fn juju_log(&self, level: LogLevel, message: &str) -> Result<()> {
        self.exec(&ToolCall::new(
            "juju-log",
            ["--log-level", level.as_str(), "--", message],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;
    use super::*;

    #[test]
    fn levels() {
        for l in [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warning,
            LogLevel::Error,
        ] {
            assert_eq!(l.as_str().parse::<LogLevel>().unwrap(), l);
        }
        assert_eq!("warn".parse::<LogLevel>().unwrap(), LogLevel::Warning);
        assert!("TRACE".parse::<LogLevel>().is_err());
        assert_eq!(LogLevel::from(log::Level::Trace), LogLevel::Debug);
        assert_eq!(LogLevel::from(log::Level::Warn), LogLevel::Warning);
    }

    #[test]
    fn juju_log() {
        let (r, a) = run_with("", |h| h.juju_log(LogLevel::Warning, "-careful-"));
        r.unwrap();
        assert_eq!(
            a,
            argv(&["juju-log", "--log-level", "WARNING", "--", "-careful-"])
        );
        assert_exit_error("juju-log", |h| h.juju_log(LogLevel::Info, "x"));
    }
}
