"""rust-starter on a machine model, Tempo on Kubernetes: the charm's traces reach Tempo — those
buffered before the relation existed first — then over TLS, verified against the CA that
`receive-ca-cert` brings; and the Kubernetes starter's, once it exists.

The tests run in file order and build on each other (one deployment per run).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import jubilant
import pytest
import yaml
from tempo import SSC, TEMPO, add_tls, deploy_tempo, traces, wait_for_spans

APP = "rust-starter"
REPO = Path(__file__).resolve().parents[2]
K8S_STARTER = Path(
    os.environ.get("CHARMKIT_E2E_K8S_STARTER", REPO / "examples" / "k8s-starter")
)


@pytest.fixture(scope="module")
def tempo(k8s: jubilant.Juju) -> jubilant.Juju:
    """Tempo, its `tracing` endpoint offered to other models."""
    deploy_tempo(k8s)
    k8s.offer(f"{k8s.model}.{TEMPO}", endpoint="tracing", name="tempo-tracing")
    return k8s


def trace_status(machines: jubilant.Juju) -> dict:
    task = machines.run(f"{APP}/0", "trace-status")
    assert task.status == "completed", task
    return task.results


def wait_for_status(machines: jubilant.Juju, ready, timeout: float = 600) -> dict:
    """Polls the trace-status action until `ready(results)`."""
    deadline = time.monotonic() + timeout
    results = {}
    while time.monotonic() < deadline:
        results = trace_status(machines)
        if ready(results):
            return results
        time.sleep(10)
    raise AssertionError(f"trace-status never got there: {results}")


def test_install_and_start_are_buffered_before_tempo(machines: jubilant.Juju, charm_path: Path):
    machines.deploy(charm_path, APP)
    machines.wait(lambda s: jubilant.all_active(s, APP), error=jubilant.any_error)
    results = trace_status(machines)
    assert results["destination"] == "none", results
    # install, start and whatever ran since (leader-elected, config-changed, the action's own).
    assert int(results["chunks"]) >= 2, results


def test_relating_tempo_delivers_the_buffered_traces(machines: jubilant.Juju, tempo: jubilant.Juju):
    machines.consume(f"{tempo.model}.tempo-tracing", TEMPO)
    machines.integrate(f"{APP}:charm-tracing", TEMPO)
    machines.wait(lambda s: jubilant.all_active(s, APP), error=jubilant.any_error)

    # The install and start traces were recorded before the relation existed.
    wait_for_spans(tempo, APP, ["install:", "start:"])
    results = wait_for_status(machines, lambda r: "last-export" in r)
    assert results["destination"].startswith("http://"), results
    assert "error" not in results["last-export"], results


@pytest.mark.skipif(
    not (K8S_STARTER / "charmcraft.yaml").exists(),
    reason=f"no Kubernetes starter at {K8S_STARTER} (set CHARMKIT_E2E_K8S_STARTER)",
)
def test_k8s_starter_traces_arrive(tempo: jubilant.Juju, tmp_path: Path):
    subprocess.run(
        ["cargo", "xtask", "pack", "--project", str(K8S_STARTER), "--output", str(tmp_path)],
        cwd=REPO,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    charm = sorted(tmp_path.glob("*.charm"))[-1]
    meta = yaml.safe_load((K8S_STARTER / "metadata.yaml").read_text())
    app = meta["name"]
    resources = {
        name: r["upstream-source"]
        for name, r in (meta.get("resources") or {}).items()
        if "upstream-source" in r
    }
    tempo.deploy(charm, app, resources=resources, trust=True)
    tempo.wait(lambda s: jubilant.all_active(s, app), error=jubilant.any_error)
    # Same model as Tempo: no offer, and again the traces before the relation are delivered.
    tempo.integrate(f"{app}:charm-tracing", f"{TEMPO}:tracing")
    tempo.wait(lambda s: jubilant.all_active(s, app), error=jubilant.any_error)
    wait_for_spans(tempo, app, ["install:", "start:"])


def test_over_tls_verified_against_receive_ca_cert(machines: jubilant.Juju, tempo: jubilant.Juju):
    add_tls(tempo)
    # Tempo now publishes https receivers; without the CA the unit cannot verify them, and says so.
    results = wait_for_status(
        machines,
        lambda r: r["destination"].startswith("https://") and "error" in r.get("last-export", {}),
    )
    assert results["has-ca"] == "false", results

    tempo.offer(f"{tempo.model}.{SSC}", endpoint="send-ca-cert", name="ssc-ca")
    machines.consume(f"{tempo.model}.ssc-ca", SSC)
    machines.integrate(f"{APP}:receive-ca-cert", SSC)
    machines.wait(lambda s: jubilant.all_active(s, APP), error=jubilant.any_error)

    before = set(traces(tempo, APP, tls=True))
    nonce = uuid.uuid4().hex[:8]
    machines.config(APP, {"greeting": f"tls-{nonce}"})
    machines.wait(
        lambda s: s.apps[APP].units[f"{APP}/0"].workload_status.message.startswith(f"tls-{nonce}"),
        error=jubilant.any_error,
    )
    results = wait_for_status(
        machines,
        lambda r: r["has-ca"] == "true" and "error" not in r.get("last-export", {}),
    )
    assert results["destination"].startswith("https://"), results
    # A config-changed trace that was not there before came in over https.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        now = traces(tempo, APP, tls=True)
        new = [spans for tid, spans in now.items() if tid not in before]
        if any(n.startswith("config-changed:") for spans in new for n in spans):
            return
        time.sleep(10)
    raise AssertionError(f"no new config-changed trace over TLS: {sorted(set(now) - before)}")
