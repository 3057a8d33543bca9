"""The end-to-end suite: the packed charm on a real Juju, its traces in a real Tempo.

It needs a bootstrapped Juju controller with a machine cloud (LXD: `localhost`) and a Kubernetes
cloud (MicroK8s with MetalLB, added with `juju add-k8s`), and network access from the machines to
Traefik's load-balancer address. Without `juju` on PATH every test is skipped, saying why.

Settings (environment):

* ``CHARMKIT_E2E_MACHINE_CLOUD`` (default ``localhost``) and ``CHARMKIT_E2E_K8S_CLOUD`` (default
  ``microk8s``): the clouds the two temporary models are added on;
* ``CHARMKIT_E2E_CHARM``: a packed ``.charm`` to deploy instead of running ``cargo xtask pack``;
* ``CHARMKIT_E2E_KEEP_MODELS=1``: keep the models afterwards, to look around;
* ``CHARMKIT_E2E_K8S_STARTER``: the Kubernetes starter's project directory (default
  ``examples/k8s-starter``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SETUP = (
    "the e2e suite needs a bootstrapped Juju controller with a machine cloud and a Kubernetes "
    "cloud (README: End to end with Juju and Tempo)"
)


def _why_not() -> str | None:
    """Why the suite cannot run here, or None."""
    if shutil.which("juju") is None:
        return f"juju is not on PATH: {SETUP}"
    probe = subprocess.run(
        ["juju", "show-controller", "--format", "json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if probe.returncode != 0:
        return f"no Juju controller ({probe.stderr.strip()}): {SETUP}"
    return None


def pytest_collection_modifyitems(config, items):
    why = _why_not()
    if why is None:
        return
    skip = pytest.mark.skip(reason=why)
    for item in items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def charm_path(tmp_path_factory) -> Path:
    """The packed rust-starter for Ubuntu 24.04 on this machine's architecture."""
    if given := os.environ.get("CHARMKIT_E2E_CHARM"):
        return Path(given).resolve()
    out = tmp_path_factory.mktemp("charms")
    subprocess.run(
        ["cargo", "xtask", "pack", "--output", str(out)],
        cwd=REPO,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    charms = sorted(out.glob("rust-starter_ubuntu@24.04-*.charm"))
    assert charms, f"cargo xtask pack wrote no 24.04 charm into {out}"
    return charms[0]


def _temp_model(cloud_env: str, default_cloud: str):
    import jubilant

    keep = os.environ.get("CHARMKIT_E2E_KEEP_MODELS") == "1"
    cloud = os.environ.get(cloud_env, default_cloud)
    return jubilant.temp_model(keep=keep, cloud=cloud)


@pytest.fixture(scope="module")
def k8s():
    """A temporary model on the Kubernetes cloud, for Tempo."""
    with _temp_model("CHARMKIT_E2E_K8S_CLOUD", "microk8s") as juju:
        juju.wait_timeout = 30 * 60
        yield juju


@pytest.fixture(scope="module")
def machines():
    """A temporary model on the machine cloud, for rust-starter."""
    with _temp_model("CHARMKIT_E2E_MACHINE_CLOUD", "localhost") as juju:
        juju.wait_timeout = 20 * 60
        yield juju
