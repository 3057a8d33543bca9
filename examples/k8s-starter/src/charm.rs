//! `k8s-starter`: the whole charm. Fork it and make it yours.
//!
//! A Kubernetes sidecar charm: Juju runs this charm in its own container of the unit's pod, and
//! the workload — nginx, from the `workload-image` resource — in the `workload` container, where
//! Pebble runs it. The charm drives that Pebble:
//!
//! - on `workload-pebble-ready`, `config-changed` and `upgrade-charm` it renders nginx's config
//!   from the charm config (`port`, `log-level`), pushes it into the container if it changed,
//!   adds its Pebble layer (the `nginx` service and the `up` HTTP check), restarts nginx if its
//!   config changed under it, replans, and opens the port;
//! - `collect-status` reports what the check says (Pebble restarts nginx when the check fails);
//! - the `restart` action restarts nginx.
//!
//! It turns on tracing with both tracing relations, as rust-starter does: every Pebble call is a
//! span. Its tests, state in and state out, are in `tests/charm.rs` (in charmkit's repository,
//! `tests/integration.rs` also runs the real binary against a Pebble on a unix socket).

use charmkit::pebble::{
    Check, CheckLevel, CheckStatus, FileOptions, HttpCheck, Layer, Override, Service,
    ServiceAction, ServiceStatus, Startup,
};
use charmkit::prelude::*;
use serde::{Deserialize, Serialize};

/// The workload container, as `metadata.yaml` declares it.
pub const CONTAINER: &str = "workload";
/// The Pebble service (and layer label) that runs nginx.
pub const SERVICE: &str = "nginx";
/// The Pebble check on nginx's health endpoint.
pub const CHECK: &str = "up";
/// Where nginx reads its config in the container.
pub const CONFIG_FILE: &str = "/etc/nginx/nginx.conf";

/// nginx's `error_log` levels.
const LOG_LEVELS: &[&str] = &[
    "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg",
];

/// The charm's config, as `charmcraft.yaml` declares it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    /// The port nginx listens on.
    pub port: i64,
    /// nginx's `error_log` level.
    pub log_level: String,
}

impl Config {
    /// The port, if the config is usable; else why not (the unit is blocked with it).
    pub fn validate(&self) -> Result<u16, String> {
        let port = u16::try_from(self.port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("port {} is not a port (1-65535)", self.port))?;
        if !LOG_LEVELS.contains(&self.log_level.as_str()) {
            return Err(format!(
                "log-level {:?} is not one of {}",
                self.log_level,
                LOG_LEVELS.join(", ")
            ));
        }
        Ok(port)
    }
}

/// nginx's config file for `port` and `log_level`.
pub fn nginx_config(port: u16, log_level: &str) -> String {
    format!(
        "# Written by the k8s-starter charm; edits are overwritten.\n\
         worker_processes 1;\n\
         error_log stderr {log_level};\n\
         pid /tmp/nginx.pid;\n\
         events {{}}\n\
         http {{\n    \
             access_log /dev/stdout;\n    \
             server {{\n        \
                 listen {port};\n        \
                 location = /healthz {{ return 200 \"ok\\n\"; }}\n        \
                 location / {{ default_type text/plain; return 200 \"k8s-starter on $hostname\\n\"; }}\n    \
             }}\n\
         }}\n"
    )
}

/// The Pebble layer: nginx, restarted by Pebble when its health check fails, and the check.
pub fn layer(port: u16) -> Layer {
    let nginx = Service {
        summary: "the workload's HTTP service".into(),
        r#override: Some(Override::Replace),
        command: "/usr/sbin/nginx -g 'daemon off;'".into(),
        startup: Some(Startup::Enabled),
        on_check_failure: [(CHECK.to_string(), ServiceAction::Restart)].into(),
        ..Service::default()
    };
    let up = Check {
        r#override: Some(Override::Replace),
        level: Some(CheckLevel::Alive),
        threshold: Some(3),
        http: Some(HttpCheck {
            url: format!("http://localhost:{port}/healthz"),
            ..HttpCheck::default()
        }),
        ..Check::default()
    };
    Layer {
        summary: "k8s-starter workload".into(),
        services: [(SERVICE.to_string(), nginx)].into(),
        checks: [(CHECK.to_string(), up)].into(),
        ..Layer::default()
    }
}

/// The `restart` action's results.
#[derive(Serialize)]
struct Restarted {
    restarted: &'static str,
}

/// The charm.
pub struct K8sStarter;

impl Charm for K8sStarter {
    fn new(fw: &mut Framework<Self>) -> charmkit::Result<Self> {
        // One line turns on trace export: the tracing v2 relation gives the destination, the
        // certificate_transfer v1 relation the CA that verifies it.
        Tracing::setup(fw, "charm-tracing", CaSource::Relation("receive-ca-cert"))?;
        fw.observe(On::pebble_ready(CONTAINER), handler!(Self::on_pebble_ready));
        for on in [On::config_changed(), On::upgrade_charm()] {
            fw.observe(on, handler!(Self::reconcile));
        }
        fw.observe(On::pebble_check_failed(CONTAINER), handler!(Self::on_check));
        fw.observe(
            On::pebble_check_recovered(CONTAINER),
            handler!(Self::on_check),
        );
        fw.observe(On::action("restart"), handler!(Self::on_restart));
        fw.observe(On::collect_unit_status(), handler!(Self::on_collect_status));
        Ok(K8sStarter)
    }
}

impl K8sStarter {
    fn on_pebble_ready(&mut self, ctx: &mut Ctx<'_, WorkloadEvent>) -> HandlerResult {
        configure(ctx.model())
    }

    fn reconcile(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        configure(ctx.model())
    }

    fn on_check(&mut self, ctx: &mut Ctx<'_, CheckEvent>) -> HandlerResult {
        // Pebble restarts nginx itself (on-check-failure); collect-status reports the check.
        log::warn!("{}: check {:?}", ctx.event_name(), ctx.event().check);
        Ok(())
    }

    fn on_restart(&mut self, ctx: &mut Ctx<'_, ActionEvent>) -> HandlerResult {
        let workload = ctx.model().container(CONTAINER)?;
        if !workload.can_connect() {
            ctx.fail("the workload container is not up")?;
            return Ok(());
        }
        workload.restart_services(&[SERVICE])?;
        ctx.set_results(&Restarted { restarted: SERVICE })?;
        Ok(())
    }

    fn on_collect_status(&mut self, ctx: &mut Ctx<'_, CollectStatus>) -> HandlerResult {
        let config: Config = ctx.model().config()?;
        let port = match config.validate() {
            Ok(port) => port,
            Err(why) => {
                ctx.add_status(Status::blocked(why));
                return Ok(());
            }
        };
        let workload = ctx.model().container(CONTAINER)?;
        if !workload.can_connect() {
            ctx.add_status(Status::waiting("waiting for the workload container"));
            return Ok(());
        }
        let status = match workload.checks(None, &[CHECK])?.first() {
            None => Status::maintenance("configuring the workload"),
            Some(c) if c.status == CheckStatus::Down => Status::maintenance(format!(
                "nginx is not answering on :{port} (check {CHECK:?} is down); Pebble is \
                 restarting it"
            )),
            Some(_) => Status::active(format!("serving on :{port}")),
        };
        ctx.add_status(status);
        Ok(())
    }
}

/// Brings the workload in line with the config. Holistic: whatever event called it, it does
/// everything, and does nothing twice (the file is pushed and nginx restarted only on change).
fn configure(model: &Model) -> HandlerResult {
    let workload = model.container(CONTAINER)?;
    if !workload.can_connect() {
        // Juju sends workload-pebble-ready once it is up.
        log::info!("the workload container is not up yet");
        return Ok(());
    }
    let config: Config = model.config()?;
    let Ok(port) = config.validate() else {
        return Ok(()); // collect-status blocks the unit with the reason.
    };
    let changed = push_if_changed(&workload, &nginx_config(port, &config.log_level))?;
    workload.add_layer(SERVICE, &layer(port), true)?;
    let running = workload
        .services(&[SERVICE])?
        .first()
        .is_some_and(|s| s.current == ServiceStatus::Active);
    if changed && running {
        log::info!("nginx's config changed: restarting it");
        workload.restart_services(&[SERVICE])?;
    }
    workload.replan_services()?;
    set_port(model, port)?;
    Ok(())
}

/// Pushes nginx's config if the container's differs; whether it did.
fn push_if_changed(workload: &Container, config: &str) -> Result<bool, charmkit::pebble::Error> {
    match workload.pull(CONFIG_FILE) {
        Ok(current) if current == config.as_bytes() => return Ok(false),
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    workload.push(CONFIG_FILE, config, &FileOptions::default().make_dirs())?;
    Ok(true)
}

/// Opens `port` (the one port the unit serves) and closes any other.
fn set_port(model: &Model, port: u16) -> charmkit::Result<()> {
    let hook = model.hook();
    let want = Port::tcp(port);
    let opened = hook.opened_ports()?;
    for other in opened.iter().filter(|p| **p != want) {
        hook.close_port(other)?;
    }
    if !opened.contains(&want) {
        hook.open_port(&want)?;
    }
    Ok(())
}
