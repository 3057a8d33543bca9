//! Rebooting the machine: `juju-reboot`.

use super::{Hook, ToolCall};
use crate::error::Result;

impl Hook<'_> {
    /// Asks Juju to reboot the machine after this hook, or with `now` at once (Juju then kills
    /// the hook and re-runs it after the reboot).
    ///
    /// Runs `juju-reboot [--now]`.
    pub fn juju_reboot(&self, now: bool) -> Result<()> {
        let args: &[&str] = if now { &["--now"] } else { &[] };
        self.exec(&ToolCall::new("juju-reboot", args.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock::*;

    #[test]
    fn juju_reboot() {
        let (r, a) = run_with("", |h| h.juju_reboot(false));
        r.unwrap();
        assert_eq!(a, argv(&["juju-reboot"]));
        let (_, a) = run_with("", |h| h.juju_reboot(true));
        assert_eq!(a, argv(&["juju-reboot", "--now"]));
        assert_exit_error("juju-reboot", |h| h.juju_reboot(true));
    }
}
