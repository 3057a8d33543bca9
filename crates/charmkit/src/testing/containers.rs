//! Workload containers in the harness: during a dispatch each container of the [`State`] is
//! served by its own [`FakePebble`], and every Pebble call the charm makes is recorded, in
//! order, as a [`PebbleCall`]; after it, the containers go back into the state as the charm
//! left them.
//!
//! A container the metadata declares but the state does not hold has no Pebble at all: asking
//! the model for it is an [`Error::Inconsistent`] that fails the handler (under Juju every
//! declared container exists; a test that leaves one out is incomplete, as Scenario says).

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::pebble::checks::planned_info;
use super::pebble::{Container, FakePebble, FsKind};
use super::{State, Trigger};
use crate::error::{Error, Result};
use crate::model::PebbleConnector;
use crate::pebble::{self, CheckStatus, Notice, Request, Response, Transport, WebSocket};

/// One Pebble call the charm made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PebbleCall {
    /// The container whose Pebble it went to.
    pub container: String,
    /// `GET` or `POST`.
    pub method: String,
    /// The path with its query (`/v1/services?names=web`); bodies are not kept.
    pub path: String,
}

impl fmt::Display for PebbleCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}", self.container, self.method, self.path)
    }
}

type Calls = Arc<Mutex<Vec<PebbleCall>>>;

/// The fake Pebbles of one dispatch, one per container of the state.
pub(crate) struct FakeContainers {
    fakes: Vec<FakePebble>,
    calls: Calls,
}

impl FakeContainers {
    /// Takes the containers out of `state` and serves each.
    pub(crate) fn take(state: &mut State) -> FakeContainers {
        FakeContainers {
            fakes: std::mem::take(&mut state.containers)
                .into_iter()
                .map(FakePebble::new)
                .collect(),
            calls: Calls::default(),
        }
    }

    /// The containers as the dispatch left them, in the state's order.
    pub(crate) fn containers(&self) -> Vec<Container> {
        self.fakes.iter().map(FakePebble::container).collect()
    }

    /// Every call made, in order.
    pub(crate) fn calls(&self) -> Vec<PebbleCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl PebbleConnector for FakeContainers {
    fn connect(&self, container: &str) -> Result<Arc<dyn Transport>> {
        let Some(fake) = self.fakes.iter().find(|f| f.name() == container) else {
            return Err(Error::Inconsistent(format!(
                "the charm uses container {container:?}, which is declared but not in the \
                 test's State: add it with State::with_container(Container::new({container:?}))"
            )));
        };
        Ok(Arc::new(Recorded {
            container: container.to_string(),
            fake: fake.clone(),
            calls: self.calls.clone(),
        }))
    }
}

/// A fake Pebble that records each call in the dispatch's list.
#[derive(Debug)]
struct Recorded {
    container: String,
    fake: FakePebble,
    calls: Calls,
}

impl Recorded {
    fn record(&self, method: pebble::Method, path: &str) {
        let call = PebbleCall {
            container: self.container.clone(),
            method: method.as_str().to_string(),
            path: path.to_string(),
        };
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(call);
    }
}

impl Transport for Recorded {
    fn roundtrip(&self, request: &Request) -> pebble::Result<Response> {
        self.record(request.method, &request.path);
        self.fake.roundtrip(request)
    }

    fn websocket(&self, path: &str) -> pebble::Result<WebSocket> {
        self.record(pebble::Method::Get, path);
        self.fake.websocket(path)
    }

    fn endpoint(&self) -> PathBuf {
        self.fake.endpoint()
    }
}

/// The key of the notice a simulated custom-notice event is about.
const SIMULATED_NOTICE: &str = "charmkit.example/simulated";

/// Fills what a Pebble event named by hand (`simulate web-pebble-check-failed`) lacks: the
/// first check of the container's plan, put down (failed) or up (recovered); a new custom
/// notice. A check event for a container whose plan has no checks is an [`Error::Usage`].
pub(crate) fn prepare_event(
    state: &mut State,
    trigger: &mut Trigger,
    container: &str,
    what: &str,
) -> Result<()> {
    let Some(c) = state.containers.iter_mut().find(|c| c.name == container) else {
        return Ok(());
    };
    match what {
        "custom-notice" if trigger.notice.is_none() => {
            let id = c
                .notices
                .iter()
                .filter_map(|n| n.id.parse::<u64>().ok())
                .max()
                .unwrap_or_default()
                + 1;
            let notice = Notice::custom(&id.to_string(), SIMULATED_NOTICE);
            *trigger = Trigger::pebble_custom_notice(c, &notice);
            c.notices.push(notice);
        }
        "check-failed" | "check-recovered" if trigger.pebble_check.is_none() => {
            let plan = c.plan().unwrap_or_default();
            let Some((name, check)) = plan.checks.iter().next() else {
                return Err(Error::Usage(format!(
                    "{}: the plan of container {container:?} has no checks yet (send \
                     {container}-pebble-ready first?)",
                    trigger.hook_name()
                )));
            };
            let mut info = c
                .check_info(name)
                .cloned()
                .unwrap_or_else(|| planned_info(name, check));
            if what == "check-failed" {
                info.status = CheckStatus::Down;
                info.failures = info.threshold;
                *trigger = Trigger::pebble_check_failed(c, &info);
            } else {
                info.status = CheckStatus::Up;
                info.failures = 0;
                *trigger = Trigger::pebble_check_recovered(c, &info);
            }
            c.check_infos.retain(|i| i.name != info.name);
            c.check_infos.push(info);
        }
        _ => {}
    }
    Ok(())
}

/// What `simulate` prints about the containers after a dispatch: the Pebble calls, then per
/// container its services and their statuses, its checks, and its files.
pub(crate) fn render(out: &mut String, calls: &[PebbleCall], containers: &[Container]) {
    if containers.is_empty() {
        return;
    }
    let _ = writeln!(out, "  pebble:");
    for c in calls {
        let _ = writeln!(out, "    {c}");
    }
    for c in containers {
        if !c.can_connect {
            let _ = writeln!(out, "  container {}: cannot connect", c.name);
            continue;
        }
        let plan = c.plan().unwrap_or_default();
        let services: Vec<String> = plan
            .services
            .keys()
            .map(|s| format!("{s} {}", c.service_status(s).as_str()))
            .collect();
        let checks: Vec<&String> = plan.checks.keys().collect();
        let files: Vec<String> = c
            .files
            .iter()
            .filter_map(|(path, e)| match &e.kind {
                FsKind::File(data) => Some(format!("{path} ({} bytes)", data.len())),
                FsKind::Directory => None,
            })
            .collect();
        let _ = writeln!(
            out,
            "  container {}: services [{}]; checks [{}]; files [{}]",
            c.name,
            services.join(", "),
            checks
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            files.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CheckEvent, NoticeEvent, WorkloadEvent};
    use crate::framework::{Charm, Ctx, Framework, HandlerResult};
    use crate::hookcmd::{Status, StatusName};
    use crate::meta::Metadata;
    use crate::observe::{Handler, On};
    use crate::pebble::{CheckInfo, FileOptions, Layer, ServiceStatus};
    use crate::testing::{run, Simulation};

    const LAYER: &str = "services:\n  srv:\n    override: replace\n    command: /bin/srv\n    \
                         startup: enabled\nchecks:\n  up:\n    override: replace\n    tcp:\n      \
                         port: 80\n";

    fn meta() -> Metadata {
        Metadata::from_yaml(
            Some(
                "name: demo\ncontainers:\n  web:\n    resource: web-image\n  db:\n    resource: \
                 db-image\nresources:\n  web-image:\n    type: oci-image\n  db-image:\n    \
                 type: oci-image\n",
            ),
            None,
            None,
            None,
        )
        .unwrap()
    }

    /// Plans `srv` on pebble-ready; records what it sees of notices and checks.
    struct Web;

    impl Charm for Web {
        fn new(fw: &mut Framework<Self>) -> crate::Result<Self> {
            fw.observe(On::pebble_ready("web"), crate::handler!(Self::on_ready));
            fw.observe(
                On::pebble_custom_notice("web"),
                Handler::new("notice", |_, ctx: &mut Ctx<'_, NoticeEvent>| {
                    let notice = ctx.notice()?;
                    let path = notice.last_data.get("path").cloned().unwrap_or_default();
                    ctx.store("path", &path)?;
                    Ok(())
                }),
            );
            fw.observe(
                On::pebble_check_failed("web"),
                Handler::new("check", |_, ctx: &mut Ctx<'_, CheckEvent>| {
                    let info = ctx.check_info()?.expect("the check is in the plan");
                    ctx.store("failures", &info.failures)?;
                    Ok(())
                }),
            );
            fw.observe(
                On::config_changed(),
                Handler::new("undeclared", |_, ctx: &mut Ctx<'_>| {
                    let err = ctx.model().container("wbe").unwrap_err();
                    ctx.store("undeclared", &err.to_string())?;
                    ctx.model().container("db")?;
                    Ok(())
                }),
            );
            Ok(Web)
        }
    }

    impl Web {
        fn on_ready(&mut self, ctx: &mut Ctx<'_, WorkloadEvent>) -> HandlerResult {
            let web = ctx.container()?;
            if !web.can_connect() {
                ctx.model()
                    .set_unit_status(&Status::waiting("waiting for Pebble"))?;
                return Ok(());
            }
            web.push("/etc/srv.conf", "port: 80\n", &FileOptions::default())?;
            web.add_layer("srv", &Layer::from_yaml(LAYER)?, true)?;
            web.replan_services()?;
            Ok(())
        }
    }

    #[test]
    fn pebble_ready_plans_and_every_call_is_recorded_and_traced() {
        let web = Container::new("web");
        let out = run::<Web>(
            &meta(),
            Trigger::pebble_ready(&web),
            State::default().with_container(web),
        );
        assert!(out.error.is_none(), "{:?}", out.error);
        let after = out.state.container("web").unwrap();
        assert_eq!(after.file("/etc/srv.conf"), Some(&b"port: 80\n"[..]));
        assert!(after.plan().unwrap().services.contains_key("srv"));
        assert_eq!(after.service_status("srv"), ServiceStatus::Active);

        let calls: Vec<String> = out.pebble_calls.iter().map(|c| c.to_string()).collect();
        assert_eq!(calls[0], "web: GET /v1/system-info", "can_connect()");
        assert_eq!(calls[1], "web: POST /v1/files");
        assert_eq!(calls[2], "web: POST /v1/layers");
        assert_eq!(calls[3], "web: POST /v1/services");
        assert!(
            calls[4].starts_with("web: GET /v1/changes/1/wait"),
            "{calls:?}"
        );

        // Each call is a span under the handler that made it, as hook tools are.
        let handler = out
            .spans
            .iter()
            .find(|s| s.name == "web_pebble_ready: Web")
            .unwrap();
        let layers = out
            .spans
            .iter()
            .find(|s| s.name == "pebble POST /v1/layers")
            .unwrap();
        assert_eq!(layers.parent_span_id, handler.span_context.span_id());

        let text = out.render();
        assert!(
            text.contains("  pebble:\n    web: GET /v1/system-info\n    web: POST /v1/files\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "container web: services [srv active]; checks [up]; files [/etc/srv.conf (9 bytes)]"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_container_that_cannot_connect() {
        let mut web = Container::new("web");
        web.can_connect = false;
        let out = run::<Web>(
            &meta(),
            Trigger::pebble_ready(&web),
            State::default().with_container(web),
        );
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.state.unit_status.name, StatusName::Waiting);
        assert!(out.render().contains("container web: cannot connect"));
    }

    #[test]
    fn notice_and_check_events_fetch_what_pebble_has() {
        let notice = Notice::custom("4", "example.com/reload").with_data("path", "/etc/x");
        let mut down = CheckInfo::up("up");
        down.status = CheckStatus::Down;
        down.failures = 3;
        let web = Container::new("web")
            .with_layer("srv", Layer::from_yaml(LAYER).unwrap())
            .with_notice(notice.clone())
            .with_check_info(down.clone());
        let state = State::default().with_container(web.clone());
        let out = run::<Web>(
            &meta(),
            Trigger::pebble_custom_notice(&web, &notice),
            state.clone(),
        );
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(
            out.state.stored_value::<String>("path").unwrap().as_deref(),
            Some("/etc/x")
        );
        let out = run::<Web>(&meta(), Trigger::pebble_check_failed(&web, &down), state);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.state.stored_value::<u32>("failures").unwrap(), Some(3));
    }

    #[test]
    fn undeclared_containers_and_ones_left_out_of_the_state() {
        let out = run::<Web>(
            &meta(),
            Trigger::config_changed(),
            State::default().with_container(Container::new("web")),
        );
        let err = out.error.expect("db is not in the state");
        assert!(
            err.to_string().contains(
                "the charm uses container \"db\", which is declared but not in the test's State"
            ),
            "{err}"
        );
        // An undeclared name is a usage error, with a suggestion.
        let meta = meta();
        let model = crate::model::Model::new(
            Default::default(),
            meta,
            std::rc::Rc::new(crate::testing::FakeJuju::new(State::default())),
        );
        assert_eq!(
            model.container("wbe").unwrap_err().to_string(),
            "container \"wbe\" is not declared in the charm's metadata; did you mean \"web\"?"
        );
    }

    #[test]
    fn an_active_service_restarts_on_replan_when_its_layer_changed() {
        let v1 = Layer::from_yaml(LAYER).unwrap();
        let mut web = Container::new("web").with_layer("srv", v1);
        web.service_statuses
            .insert("srv".into(), ServiceStatus::Active);
        let fake = FakePebble::new(web);
        let client = fake.client();
        client.replan_services().unwrap();
        assert!(
            fake.changes()[0].tasks.is_empty(),
            "unchanged: nothing to do"
        );
        let v2 = Layer::from_yaml(&LAYER.replace("/bin/srv", "/bin/srv --v2")).unwrap();
        client.add_layer("srv", &v2, true).unwrap();
        client.replan_services().unwrap();
        let changes = fake.changes();
        let kinds: Vec<&str> = changes[1].tasks.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds, ["stop", "start"]);
    }

    #[test]
    fn stopping_a_required_service_stops_what_requires_it() {
        // As Pebble's StopOrder: `requires` brings dependants into a stop, and a start brings
        // in what is required.
        let layer = Layer::from_yaml(
            "services:\n  app: {override: replace, command: /bin/app, requires: [db]}\n  db: {override: replace, command: /bin/db}\n",
        )
        .unwrap();
        let fake = FakePebble::new(Container::new("web").with_layer("l", layer));
        let client = fake.client();
        client.start_services(&["app"]).unwrap();
        let status = |name: &str| fake.container().service_status(name);
        assert_eq!(
            (status("app"), status("db")),
            (ServiceStatus::Active, ServiceStatus::Active)
        );
        let change = client.stop_services(&["db"]).unwrap();
        let summaries: Vec<&str> = change.tasks.iter().map(|t| t.summary.as_str()).collect();
        // No after/before between them: by name.
        assert_eq!(summaries, ["Stop service \"app\"", "Stop service \"db\""]);
        assert_eq!(
            (status("app"), status("db")),
            (ServiceStatus::Inactive, ServiceStatus::Inactive)
        );
    }

    #[test]
    fn simulate_gives_each_container_a_pebble_and_fills_pebble_events() {
        let mut sim = Simulation::new(meta()).unwrap();
        let names: Vec<&str> = sim
            .state()
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["db", "web"]);
        let out = sim.run::<Web>(Trigger::hook("web-pebble-ready")).unwrap();
        assert!(out.error.is_none(), "{:?}", out.error);
        let out = sim
            .run::<Web>(Trigger::hook("web-pebble-check-failed"))
            .unwrap();
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.state.stored_value::<u32>("failures").unwrap(), Some(3));
        let out = sim
            .run::<Web>(Trigger::hook("web-pebble-custom-notice"))
            .unwrap();
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(
            out.state.stored_value::<String>("path").unwrap().as_deref(),
            Some("")
        );
        assert_eq!(
            sim.state().container("web").unwrap().notices[0].key,
            "charmkit.example/simulated"
        );
        // db has no plan: a check event for it says so.
        let err = sim
            .run::<Web>(Trigger::hook("db-pebble-check-recovered"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "db-pebble-check-recovered: the plan of container \"db\" has no checks yet (send \
             db-pebble-ready first?)"
        );
    }
}
