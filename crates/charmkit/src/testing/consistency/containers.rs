//! The containers of the state: declared, once each, with layers that combine, check infos that
//! fit the plan, and one exec handler per command prefix.

use super::super::fake::State;
use crate::meta::Metadata;
use crate::pebble::Startup;
use crate::suggest::did_you_mean;

pub(super) fn check_containers(meta: &Metadata, state: &State, problems: &mut Vec<String>) {
    let declared: Vec<&String> = meta.containers.keys().collect();
    for (i, c) in state.containers.iter().enumerate() {
        if !meta.containers.contains_key(&c.name) {
            problems.push(format!(
                "container {:?} in the state is not declared in the charm's metadata{}",
                c.name,
                did_you_mean(&c.name, &declared)
            ));
        }
        if state.containers[..i].iter().any(|o| o.name == c.name) {
            problems.push(format!("container {:?} is in the state twice", c.name));
        }
        for (j, h) in c.exec_handlers.iter().enumerate() {
            if c.exec_handlers[..j].iter().any(|o| o.prefix == h.prefix) {
                problems.push(format!(
                    "container {:?} has two exec handlers for the command prefix {:?}",
                    c.name, h.prefix
                ));
            }
        }
        check_infos_fit_the_plan(c, problems);
    }
}

/// A container's check infos are the state of checks of its plan, with the plan's level,
/// startup and threshold.
pub(super) fn check_infos_fit_the_plan(
    c: &super::super::pebble::Container,
    problems: &mut Vec<String>,
) {
    let plan = match c.plan() {
        Ok(plan) => plan,
        Err(e) => {
            problems.push(format!(
                "container {:?}: its layers do not combine: {e}",
                c.name
            ));
            return;
        }
    };
    for info in &c.check_infos {
        let Some(check) = plan.checks.get(&info.name) else {
            let names: Vec<&String> = plan.checks.keys().collect();
            problems.push(format!(
                "container {:?} has a check info for {:?}, but its plan has {}",
                c.name,
                info.name,
                if names.is_empty() {
                    "no checks".to_string()
                } else {
                    format!("only the checks {names:?}")
                }
            ));
            continue;
        };
        let planned = [
            (
                "level",
                format!("{:?}", check.level),
                format!("{:?}", info.level),
            ),
            (
                "startup",
                format!("{:?}", check.startup.unwrap_or(Startup::Enabled)),
                format!("{:?}", info.startup),
            ),
            (
                "threshold",
                check.threshold.unwrap_or(DEFAULT_THRESHOLD).to_string(),
                info.threshold.to_string(),
            ),
        ];
        for (field, in_plan, in_info) in planned {
            if in_plan != in_info {
                problems.push(format!(
                    "container {:?}: the check info for {:?} has {field} {in_info}, but \
                     the plan has {in_plan}",
                    c.name, info.name
                ));
            }
        }
    }
}

/// Pebble's default check threshold.
const DEFAULT_THRESHOLD: u32 = 3;
