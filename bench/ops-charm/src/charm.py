#!/usr/bin/env python3
"""The ops twin of charmkit's reference charm `rust-starter` (src/charm.rs), for the benchmark.

Same observers: install sets the application version; start, config-changed, leader-elected and
upgrade-charm reconcile (read config, a span of our own, a counter in StoredState);
collect-unit-status reports the greeting; update-status is not observed; the trace-status
action reports the trace buffer. Tracing is on over both relations.
"""

import logging
import pathlib
import sqlite3

import opentelemetry.trace
import ops

logger = logging.getLogger(__name__)

VERSION = "0.1.0"


class OpsStarterCharm(ops.CharmBase):
    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(reconciles=0)
        self.tracing = ops.tracing.Tracing(
            self,
            tracing_relation_name="charm-tracing",
            ca_relation_name="receive-ca-cert",
        )
        framework.observe(self.on.install, self._on_install)
        for event in (
            self.on.start,
            self.on.config_changed,
            self.on.leader_elected,
            self.on.upgrade_charm,
        ):
            framework.observe(event, self._reconcile)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)
        framework.observe(self.on.trace_status_action, self._on_trace_status)

    def _on_install(self, _event: ops.InstallEvent):
        logger.info("Installing %s", self.unit.name)
        self.unit.set_workload_version(VERSION)

    def _reconcile(self, _event: ops.EventBase):
        # A span of our own, like rust-starter's `render-greeting`.
        tracer = opentelemetry.trace.get_tracer("ops-starter")
        with tracer.start_as_current_span("render-greeting") as span:
            greeting = str(self.config.get("greeting") or "")
            span.set_attribute("greeting.length", len(greeting))
            self._stored.reconciles += 1
        logger.debug("reconciled %d time(s); greeting is %r", self._stored.reconciles, greeting)

    def _on_collect_status(self, event: ops.CollectStatusEvent):
        greeting = str(self.config.get("greeting") or "")
        if not greeting.strip():
            event.add_status(ops.BlockedStatus("set the `greeting` config option"))
        else:
            event.add_status(ops.ActiveStatus(f"{greeting} from {self.unit.name}"))

    def _on_trace_status(self, event: ops.ActionEvent):
        db = pathlib.Path(self.charm_dir) / ".tracing-data.db"
        results = {"buffer": str(db), "chunks": 0, "bytes": 0, "destination": ""}
        if db.exists():
            with sqlite3.connect(db) as conn:
                n, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM tracing").fetchone()
                url = conn.execute("SELECT value FROM settings WHERE key = 'url'").fetchone()
            results.update(chunks=n, bytes=size, destination=(url[0] if url else ""))
        event.set_results(results)


if __name__ == "__main__":  # pragma: nocover
    ops.main(OpsStarterCharm)
