//! `Tracing`: one line in a charm turns on export, as `ops.tracing.Tracing` does.
//!
//! ```no_run
//! # use charmkit::{Charm, Framework};
//! # use charmkit::tracing::{Tracing, CaSource};
//! # struct MyCharm;
//! # impl Charm for MyCharm { fn new(fw: &mut Framework<Self>) -> charmkit::Result<Self> {
//! Tracing::setup(fw, "charm-tracing", CaSource::Relation("receive-ca-cert"))?;
//! # Ok(MyCharm) } }
//! ```
//!
//! At charm initialisation it validates the metadata and fails loudly on misuse: the relations
//! must be declared, as `requires`, with interfaces `tracing` / `certificate_transfer`, and
//! `limit: 1` — only one destination can be served.
//!
//! It is the requirer of `tracing` v2 and `certificate_transfer` v1 (the contracts are in
//! [`receivers`](super::receivers), [`certificate_transfer`](super::certificate_transfer)): as leader it writes `receivers` = `["otlp_http"]` on relation-created
//! (and on joined/changed when missing), and `version` = `1` on the CA relation's created; a
//! non-leader never touches its own app databag. It reconciles the destination (URL + CA bundle,
//! stored beside the buffer for the exporter) on start, upgrade-charm and every event of either
//! relation; these observations make such dispatches "observed".
//!
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (a full URL) or `OTEL_EXPORTER_OTLP_ENDPOINT` (a base;
//! `/v1/traces` is appended), per the OpenTelemetry specification, override the relation: use
//! them to export outside Juju (a developer's machine, CI).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::event::{EventKind, RelationScoped};
use crate::framework::{Ctx, Framework};
use crate::meta::{Metadata, Role};
use crate::model::Model;
use crate::observe::{Handler, On};
use crate::trace::buffer::{Buffer, Destination};
use crate::trace::destination;
use crate::trace::destination::PEM_CERTIFICATE_HEADER;
use crate::types::RelationId;

use super::certificate_transfer::{self, ca_bundle};
use super::not_ready::NotReady;
use super::receivers::{self, otlp_http_endpoint};

/// Where the CA bundle for an `https` destination comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaSource<'a> {
    /// No CA configured: `https` destinations are verified against the system roots.
    SystemRoots,
    /// The `certificate_transfer` v1 relation of this name.
    Relation(&'a str),
    /// A fixed PEM bundle.
    Bundle(&'a str),
}

const OWNER: &str = "Tracing";

/// The tracing library inside a charm.
#[derive(Debug, Clone)]
pub struct Tracing {
    tracing_relation: String,
    ca: Ca,
}

#[derive(Debug, Clone)]
enum Ca {
    System,
    Relation(String),
    Bundle(String),
}

fn validate(meta: &Metadata, name: &str, interface: &str) -> Result<()> {
    let rel = meta.relation(name).ok_or_else(|| {
        Error::Usage(format!(
            "Tracing: relation {name:?} is not declared in the charm's metadata; add it under \
             `requires:` with `interface: {interface}` and `limit: 1`"
        ))
    })?;
    if rel.role != Role::Requires {
        return Err(Error::Usage(format!(
            "Tracing: relation {name:?} must be declared under `requires:` (it is a {:?})",
            rel.role
        )));
    }
    if rel.interface != interface {
        return Err(Error::Usage(format!(
            "Tracing: relation {name:?} must have `interface: {interface}`, not {:?}",
            rel.interface
        )));
    }
    if rel.limit != Some(1) {
        return Err(Error::Usage(format!(
            "Tracing: relation {name:?} must declare `limit: 1`: only one destination can be served"
        )));
    }
    Ok(())
}

impl Tracing {
    /// Validates the metadata and registers the observers. Call it from [`crate::Charm::new`].
    pub fn setup<C: 'static>(
        fw: &mut Framework<C>,
        tracing_relation: &str,
        ca: CaSource<'_>,
    ) -> Result<Tracing> {
        validate(fw.meta(), tracing_relation, "tracing")?;
        let ca = match ca {
            CaSource::SystemRoots => Ca::System,
            CaSource::Relation(name) => {
                validate(fw.meta(), name, "certificate_transfer")?;
                Ca::Relation(name.to_string())
            }
            CaSource::Bundle(pem) => {
                if !pem.contains(PEM_CERTIFICATE_HEADER) {
                    return Err(Error::Usage(
                        "Tracing: the CA bundle holds no PEM certificate".into(),
                    ));
                }
                Ca::Bundle(pem.to_string())
            }
        };
        let t = Tracing {
            tracing_relation: tracing_relation.to_string(),
            ca,
        };
        for on in [On::start(), On::upgrade_charm()] {
            let me = t.clone();
            let handler = Handler::new("reconcile", move |_, ctx: &mut Ctx<'_>| {
                me.reconcile(ctx.model(), None).map_err(Into::into)
            });
            fw.observe_as(OWNER, on, handler);
        }
        let mut endpoints = vec![(tracing_relation.to_string(), "on_tracing_relation")];
        if let Ca::Relation(name) = &t.ca {
            endpoints.push((name.clone(), "on_ca_relation"));
        }
        for (endpoint, name) in &endpoints {
            let ep = endpoint.as_str();
            fw.observe_as(OWNER, On::relation_created(ep), t.relation_handler(name));
            fw.observe_as(OWNER, On::relation_joined(ep), t.relation_handler(name));
            fw.observe_as(OWNER, On::relation_changed(ep), t.relation_handler(name));
            fw.observe_as(OWNER, On::relation_departed(ep), t.relation_handler(name));
            fw.observe_as(OWNER, On::relation_broken(ep), t.relation_handler(name));
        }
        Ok(t)
    }

    /// The handler `name` for one kind of event (typed `E`) of either relation.
    fn relation_handler<C: 'static, E: RelationScoped>(&self, name: &str) -> Handler<C, E> {
        let me = self.clone();
        Handler::new(name, move |_, ctx: &mut Ctx<'_, E>| {
            let during = During {
                kind: ctx.kind(),
                relation: ctx.event().relation(),
                app: ctx.event().app(),
            };
            me.handle(ctx.model(), during).map_err(Into::into)
        })
    }

    fn handle(&self, model: &Model, during: During<'_>) -> Result<()> {
        if model.is_leader()? && during.kind != EventKind::RelationBroken {
            self.publish_requirer_data(model, during)?;
        }
        self.reconcile(model, Some(during))
    }

    /// As leader, writes our side of the relation: `receivers` on the tracing relation (on
    /// created, and on joined/changed when missing), `version` on the CA relation (on created).
    fn publish_requirer_data(&self, model: &Model, ev: During<'_>) -> Result<()> {
        let rel = ev.relation;
        let endpoint = rel.endpoint.as_str();
        let (key, value, always) = if endpoint == self.tracing_relation {
            (
                receivers::RECEIVERS_KEY,
                receivers::TRACING_RECEIVERS_VALUE,
                ev.kind == EventKind::RelationCreated,
            )
        } else if ev.kind == EventKind::RelationCreated {
            (
                certificate_transfer::CA_VERSION_KEY,
                certificate_transfer::CA_VERSION_VALUE,
                true,
            )
        } else {
            return Ok(());
        };
        if !matches!(
            ev.kind,
            EventKind::RelationCreated | EventKind::RelationJoined | EventKind::RelationChanged
        ) {
            return Ok(());
        }
        if !always {
            let ours = model.app_data(rel, model.app_name())?;
            if ours.get(key).map(String::as_str) == Some(value) {
                return Ok(());
            }
        }
        model.set_app_data(rel, &BTreeMap::from([(key.to_string(), value.to_string())]))
    }

    /// Works out the destination and stores it beside the buffer if it changed.
    fn reconcile(&self, model: &Model, ev: Option<During<'_>>) -> Result<()> {
        let charm_dir = &model.context().charm_dir;
        let wanted = match self.destination(model, ev) {
            Ok(d) => Some(d),
            Err(why) => {
                // Reasons from the relation contracts name their interface already.
                let why = why.strip_prefix("tracing: ").unwrap_or(&why);
                log::info!("tracing: no destination ({why}); trace data keeps buffering");
                None
            }
        };
        store_destination(charm_dir, wanted.as_ref());
        Ok(())
    }

    /// The destination this dispatch should export to, or why there is none. `ev` is the
    /// relation event being handled, if any (its remote application is known; during
    /// relation-broken, its relation is gone).
    fn destination(
        &self,
        model: &Model,
        ev: Option<During<'_>>,
    ) -> std::result::Result<Destination, String> {
        let url = match destination::endpoint_checked(|k| std::env::var(k).ok())? {
            Some(url) => url,
            None => self.relation_url(model, ev)?,
        };
        let ca = if is_https(&url) {
            let (ca, source) = match &self.ca {
                Ca::System => (None, ""),
                Ca::Bundle(pem) => (Some(pem.clone()), "the CA bundle given to Tracing::setup"),
                Ca::Relation(name) => (Some(self.relation_ca(model, ev, name)?), name.as_str()),
            };
            match ca {
                Some(pem) => {
                    // Checked now, with the exporter's own parser: an unusable bundle is one
                    // clear reason here, not a destination announced as working that fails every
                    // export.
                    destination::check_ca(&pem)
                        .map_err(|why| format!("{source}: the CA bundle is unusable: {why}"))?;
                    let (certs, dropped) = destination::certificates_only(&pem);
                    if !dropped.is_empty() {
                        log::warn!(
                            "{source}: the CA bundle holds {} besides its certificates: left \
                             out, only the certificates are kept",
                            dropped.join(", ")
                        );
                    }
                    Some(certs.into_owned())
                }
                None => None,
            }
        } else {
            None
        };
        Ok(Destination { url, ca })
    }

    fn relation_url(
        &self,
        model: &Model,
        ev: Option<During<'_>>,
    ) -> std::result::Result<String, String> {
        let rel = live_relation(model, ev, &self.tracing_relation)?
            .ok_or_else(|| format!("no {} relation", self.tracing_relation))?;
        let app = remote_app(model, ev, &rel)?
            .ok_or_else(|| format!("{} relation has no remote application yet", rel))?;
        let data = model.app_data(&rel, &app).map_err(|e| e.to_string())?;
        let endpoint = otlp_http_endpoint(&data).map_err(|e: NotReady| e.to_string())?;
        for w in &endpoint.warnings {
            // The contract's warnings name their interface (`tracing: …`) already.
            log::warn!("{w}");
        }
        Ok(endpoint.url)
    }

    fn relation_ca(
        &self,
        model: &Model,
        ev: Option<During<'_>>,
        name: &str,
    ) -> std::result::Result<String, String> {
        let rel = live_relation(model, ev, name)?.ok_or_else(|| {
            format!("an https destination needs a CA, and there is no {name} relation")
        })?;
        let app = remote_app(model, ev, &rel)?;
        let app_data = match &app {
            Some(a) => (*model.app_data(&rel, a).map_err(|e| e.to_string())?).clone(),
            None => BTreeMap::new(),
        };
        let mut units = Vec::new();
        if !app_data.contains_key("certificates") {
            for u in model
                .relation_units(&rel)
                .map_err(|e| e.to_string())?
                .iter()
            {
                units.push((*model.unit_data(&rel, u).map_err(|e| e.to_string())?).clone());
            }
        }
        ca_bundle(&app_data, &units).map_err(|e| format!("{name}: {e}"))
    }
}

/// The relation event a handler runs for: its kind, relation and remote application.
#[derive(Clone, Copy)]
struct During<'e> {
    kind: EventKind,
    relation: &'e RelationId,
    app: &'e str,
}

/// The relation on `endpoint` that is still alive in this dispatch (during relation-broken the
/// broken one is gone; we never read its data).
fn live_relation(
    model: &Model,
    ev: Option<During<'_>>,
    endpoint: &str,
) -> std::result::Result<Option<RelationId>, String> {
    let broken = ev
        .filter(|e| e.kind == EventKind::RelationBroken)
        .map(|e| e.relation.id);
    let ids = model.relation_ids(endpoint).map_err(|e| e.to_string())?;
    Ok(ids.iter().find(|r| Some(r.id) != broken).cloned())
}

fn remote_app(
    model: &Model,
    ev: Option<During<'_>>,
    rel: &RelationId,
) -> std::result::Result<Option<String>, String> {
    if let Some(e) = ev.filter(|e| e.relation.id == rel.id && !e.app.is_empty()) {
        return Ok(Some(e.app.to_string()));
    }
    model.relation_remote_app(rel).map_err(|e| e.to_string())
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// Stores `dest` beside the buffer if it differs from what is there; logs the change once.
fn store_destination(charm_dir: &Path, dest: Option<&Destination>) {
    let buffer = match Buffer::open(charm_dir) {
        Ok(b) => b,
        Err(e) => {
            log::warn!("tracing: cannot open the trace buffer: {e}");
            return;
        }
    };
    let current = buffer.destination().ok().flatten();
    if current.as_ref() == dest {
        return;
    }
    match buffer.set_destination(dest) {
        Ok(()) => match dest {
            Some(d) => log::info!(
                "tracing: sending trace data to {}{}",
                destination::redact(&d.url),
                if d.ca.is_some() {
                    " (verified with the CA from the relation)"
                } else {
                    ""
                }
            ),
            None => log::info!("tracing: destination removed; trace data keeps buffering"),
        },
        Err(e) => log::warn!("tracing: cannot store the destination: {e}"),
    }
}
