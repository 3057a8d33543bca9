//! `rust-starter`: the whole charm. Fork it and make it yours.
//!
//! It observes install, start, config-changed, leader-elected and upgrade-charm (all of which
//! reconcile), leaves update-status unobserved, reports its status in collect-status, has one
//! config option (`greeting`) and one action (`trace-status`), and turns on tracing with both
//! tracing relations.

use charmkit::event::EventKind;
use charmkit::framework::{Charm, Ctx, Framework, HandlerResult};
use charmkit::hookcmd::Status;
use charmkit::tracing::{CaSource, Tracing};
use charmkit::Result;
use opentelemetry::trace::{Span as _, Tracer as _};

/// The charm.
pub struct RustStarter;

impl Charm for RustStarter {
    fn new(fw: &mut Framework<Self>) -> Result<Self> {
        // One line turns on trace export: the tracing v2 relation gives the destination, the
        // certificate_transfer v1 relation the CA that verifies it.
        Tracing::setup(fw, "charm-tracing", CaSource::Relation("receive-ca-cert"))?;
        fw.observe(EventKind::Install, "on_install", Self::on_install);
        for kind in [
            EventKind::Start,
            EventKind::ConfigChanged,
            EventKind::LeaderElected,
            EventKind::UpgradeCharm,
        ] {
            fw.observe(kind, "reconcile", Self::reconcile);
        }
        fw.observe(
            EventKind::CollectUnitStatus,
            "on_collect_status",
            Self::on_collect_status,
        );
        fw.observe(
            charmkit::On::action("trace-status"),
            "on_trace_status",
            Self::on_trace_status,
        );
        Ok(RustStarter)
    }
}

impl RustStarter {
    fn on_install(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        log::info!("Installing {}", ctx.model().unit_name());
        ctx.model()
            .hook()
            .application_version_set(env!("CARGO_PKG_VERSION"))?;
        Ok(())
    }

    fn reconcile(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        // Your own spans, with the standard OpenTelemetry API, land in the dispatch's trace.
        let tracer = opentelemetry::global::tracer("rust-starter");
        let mut span = tracer.start("render-greeting");
        let greeting = ctx.model().config_str("greeting")?.unwrap_or_default();
        span.set_attribute(opentelemetry::KeyValue::new(
            "greeting.length",
            greeting.len() as i64,
        ));
        let count: u64 = ctx.stored("reconciles").unwrap_or(0) + 1;
        ctx.store("reconciles", &count)?;
        span.end();
        log::debug!("reconciled {count} time(s); greeting is {greeting:?}");
        Ok(())
    }

    fn on_collect_status(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        let greeting = ctx.model().config_str("greeting")?.unwrap_or_default();
        if greeting.trim().is_empty() {
            ctx.add_status(Status::blocked("set the `greeting` config option"));
        } else {
            ctx.add_status(Status::active(format!(
                "{greeting} from {}",
                ctx.model().unit_name()
            )));
        }
        Ok(())
    }

    fn on_trace_status(&mut self, ctx: &mut Ctx<'_>) -> HandlerResult {
        let status = charmkit::tracing::status(&ctx.model().context().charm_dir)?;
        ctx.model().hook().action_set(&status.to_action_results())?;
        Ok(())
    }
}
