"""Tempo on Kubernetes for the e2e suite, and reading traces back from its HTTP API.

Tempo is deployed as Canonical's charms do it in their own tests: the coordinator, one worker
with every role, MinIO behind s3-integrator for storage, and Traefik in front so that machines
outside the cluster reach the receivers Tempo publishes over `tracing`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import jubilant

TEMPO = "tempo"
WORKER = "tempo-worker"
S3 = "s3-integrator"
MINIO = "minio"
TRAEFIK = "traefik"
SSC = "ssc"

# The channels Canonical's own Tempo tests deploy from. Override any of them with
# CHARMKIT_E2E_CHANNELS='{"minio": "latest/stable", ...}'.
CHANNELS = {
    "tempo-coordinator-k8s": "1/stable",
    "tempo-worker-k8s": "1/stable",
    "s3-integrator": "latest/edge",
    "minio": "latest/edge",
    "traefik-k8s": "latest/stable",
    "self-signed-certificates": "1/stable",
    **json.loads(os.environ.get("CHARMKIT_E2E_CHANNELS", "{}")),
}

ACCESS_KEY = "charmkit-e2e"
SECRET_KEY = "charmkit-e2e-secret"
BUCKET = "tempo"


def deploy_tempo(k8s: jubilant.Juju) -> None:
    """Coordinator + worker + S3 (MinIO) + Traefik ingress, all active."""
    k8s.deploy("tempo-coordinator-k8s", TEMPO, channel=CHANNELS["tempo-coordinator-k8s"], trust=True)
    k8s.deploy("tempo-worker-k8s", WORKER, channel=CHANNELS["tempo-worker-k8s"], trust=True)
    k8s.deploy("s3-integrator", S3, channel=CHANNELS["s3-integrator"])
    k8s.deploy(
        "minio",
        MINIO,
        channel=CHANNELS["minio"],
        trust=True,
        config={"access-key": ACCESS_KEY, "secret-key": SECRET_KEY},
    )
    k8s.deploy("traefik-k8s", TRAEFIK, channel=CHANNELS["traefik-k8s"], trust=True)
    k8s.integrate(f"{TEMPO}:s3", f"{S3}:s3-credentials")
    k8s.integrate(f"{TEMPO}:tempo-cluster", f"{WORKER}:tempo-cluster")
    k8s.integrate(f"{TEMPO}:ingress", f"{TRAEFIK}:traefik-route")

    k8s.wait(lambda s: s.apps[MINIO].is_active, error=jubilant.any_error)
    _make_bucket(k8s)
    k8s.config(
        S3,
        {
            "endpoint": f"http://{MINIO}-0.{MINIO}-endpoints.{k8s.model}.svc.cluster.local:9000",
            "bucket": BUCKET,
        },
    )
    task = k8s.run(f"{S3}/0", "sync-s3-credentials", {"access-key": ACCESS_KEY, "secret-key": SECRET_KEY})
    assert task.status == "completed", task
    k8s.wait(
        lambda s: jubilant.all_active(s, TEMPO, WORKER, S3, MINIO, TRAEFIK),
        error=jubilant.any_error,
    )


def _make_bucket(k8s: jubilant.Juju) -> None:
    from minio import Minio

    address = k8s.status().apps[MINIO].units[f"{MINIO}/0"].address
    client = Minio(f"{address}:9000", access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
    if not client.bucket_exists(BUCKET):
        client.make_bucket(BUCKET)


def add_tls(k8s: jubilant.Juju) -> None:
    """self-signed-certificates signs Tempo's and Traefik's certificates."""
    k8s.deploy("self-signed-certificates", SSC, channel=CHANNELS["self-signed-certificates"])
    k8s.integrate(f"{SSC}:certificates", f"{TEMPO}:certificates")
    k8s.integrate(f"{SSC}:certificates", f"{TRAEFIK}:certificates")
    k8s.wait(
        lambda s: jubilant.all_active(s, TEMPO, WORKER, TRAEFIK, SSC),
        error=jubilant.any_error,
    )


def _api(k8s: jubilant.Juju, tls: bool) -> str:
    """Tempo's query API (port 3200) at the coordinator's address, which this host reaches."""
    address = k8s.status().apps[TEMPO].address
    return f"{'https' if tls else 'http'}://{address}:3200/api"


def _get(url: str, **params: Any) -> Any:
    import requests
    import urllib3

    # The API's certificate is signed by the test's own CA; what is under test is the charm's
    # verification, not ours.
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    r = requests.get(url, params=params, timeout=30, verify=False)
    r.raise_for_status()
    return r.json()


def _span_names(node: Any) -> Iterator[str]:
    """Every span name in a trace, whichever JSON shape this Tempo answers with."""
    if isinstance(node, dict):
        if "spanId" in node and isinstance(node.get("name"), str):
            yield node["name"]
        for v in node.values():
            yield from _span_names(v)
    elif isinstance(node, list):
        for v in node:
            yield from _span_names(v)


def traces(k8s: jubilant.Juju, service: str, tls: bool = False) -> dict[str, list[str]]:
    """Trace id → span names, for every trace Tempo holds of `service` (a `service.name`)."""
    api = _api(k8s, tls)
    found = _get(f"{api}/search", tags=f"service.name={service}", limit=500)
    out = {}
    for t in found.get("traces", []):
        out[t["traceID"]] = list(_span_names(_get(f"{api}/traces/{t['traceID']}")))
    return out


def wait_for_spans(
    k8s: jubilant.Juju,
    service: str,
    prefixes: list[str],
    tls: bool = False,
    timeout: float = 600,
) -> dict[str, list[str]]:
    """Polls Tempo until, for each prefix, some span of `service` starts with it."""
    deadline = time.monotonic() + timeout
    seen: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        try:
            seen = traces(k8s, service, tls)
        except OSError:  # requests' errors are OSErrors: Tempo not answering yet
            seen = {}
        names = [n for spans in seen.values() for n in spans]
        if all(any(n.startswith(p) for n in names) for p in prefixes):
            return seen
        time.sleep(10)
    raise AssertionError(f"Tempo has no span starting with each of {prefixes} for {service}: {seen}")
