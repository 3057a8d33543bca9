//! `rust-starter`: the whole charm. Fork it and make it yours.
//!
//! It observes install, start, config-changed, leader-elected and upgrade-charm (the last four
//! reconcile), leaves update-status unobserved, reports its status in collect-status, has one
//! config option (`greeting`) and one action (`trace-status`), and turns on tracing with both
//! tracing relations. Its tests, state in and state out, are in `tests/charm.rs`.

use charmkit::prelude::*;
use opentelemetry::trace::{Span as _, Tracer as _};
use serde::Deserialize;

/// The charm's config, as `charmcraft.yaml` declares it.
#[derive(Deserialize)]
pub struct Config {
    /// The word the unit greets with; empty blocks the unit.
    pub greeting: String,
}

/// The charm.
pub struct RustStarter;

impl Charm for RustStarter {
    fn new(fw: &mut Framework<Self>) -> charmkit::Result<Self> {
        // One line turns on trace export: the tracing v2 relation gives the destination, the
        // certificate_transfer v1 relation the CA that verifies it.
        Tracing::setup(fw, "charm-tracing", CaSource::Relation("receive-ca-cert"))?;
        fw.observe(On::install(), handler!(Self::on_install));
        for on in [
            On::start(),
            On::config_changed(),
            On::leader_elected(),
            On::upgrade_charm(),
        ] {
            fw.observe(on, handler!(Self::reconcile));
        }
        fw.observe(On::collect_unit_status(), handler!(Self::on_collect_status));
        fw.observe(On::action("trace-status"), handler!(Self::on_trace_status));
        Ok(RustStarter)
    }
}

impl RustStarter {
    fn on_install(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        log::info!("Installing {}", ctx.model().unit_name());
        ctx.model()
            .set_workload_version(env!("CARGO_PKG_VERSION"))?;
        Ok(())
    }

    fn reconcile(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        // Your own spans, with the standard OpenTelemetry API, land in the dispatch's trace.
        let mut span = opentelemetry::global::tracer("rust-starter").start("render-greeting");
        let config: Config = ctx.model().config()?;
        let length = config.greeting.len() as i64;
        span.set_attribute(opentelemetry::KeyValue::new("greeting.length", length));
        let count: u64 = ctx.stored("reconciles")?.unwrap_or(0) + 1;
        ctx.store("reconciles", &count)?;
        span.end();
        log::debug!(
            "reconciled {count} time(s); greeting is {:?}",
            config.greeting
        );
        Ok(())
    }

    fn on_collect_status(&mut self, ctx: &mut Ctx<'_, CollectStatus>) -> HandlerResult {
        let config: Config = ctx.model().config()?;
        if config.greeting.trim().is_empty() {
            ctx.add_status(Status::blocked("set the `greeting` config option"));
        } else {
            let unit = ctx.model().unit_name();
            ctx.add_status(Status::active(format!("{} from {unit}", config.greeting)));
        }
        Ok(())
    }

    fn on_trace_status(&mut self, ctx: &mut Ctx<'_, ActionEvent>) -> HandlerResult {
        let status = charmkit::tracing::status(&ctx.model().context().charm_dir)?;
        ctx.set_results(&status.to_action_results())?;
        Ok(())
    }
}
