"""Shared fixtures: one real control plane per test session, a fresh namespace per test.

The control plane is `tendlc_dev.devcluster` (etcd + kube-apiserver + kube-controller-manager built
from Go modules). Set `TENDLC_TEST_KUBECONFIG` to run the suite against an existing cluster
instead (a developer's kind cluster, say); then nothing is started or stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from support.cluster import Cluster
from support.sandbox import Sandbox
from tendlc_dev import devcluster

REPO_ROOT = Path(__file__).resolve().parents[1]

# No time limit per example: on a loaded 2-core machine Hypothesis's default 200 ms deadline fails
# correct code at random, and timing belongs in bench/, never in a test's verdict.
hypothesis_settings.register_profile("tendlc", deadline=None)
hypothesis_settings.load_profile("tendlc")


def _kubectl_path() -> str:
    built = devcluster.bin_dir() / "kubectl"
    if built.exists():
        return str(built)
    found = shutil.which("kubectl")
    if not found:
        raise RuntimeError("no kubectl: run `make controlplane`")
    return found


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    external = os.environ.get("TENDLC_TEST_KUBECONFIG")
    if external:
        path = Path(external)
        config = json.loads(subprocess.run(
            [_kubectl_path(), f"--kubeconfig={path}", "config", "view", "--minify", "--raw", "-o", "json"],
            capture_output=True, text=True, check=True,
        ).stdout)
        os.environ["KUBECONFIG"] = str(path)
        yield Cluster(path, config["clusters"][0]["cluster"]["server"], _kubectl_path())
        return
    control_plane = devcluster.DevCluster(tmp_path_factory.mktemp("devcluster"))
    try:
        control_plane.start()
        # Kopf and the kubernetes client in this process find the cluster through KUBECONFIG.
        os.environ["KUBECONFIG"] = str(control_plane.kubeconfig)
        yield Cluster(control_plane.kubeconfig, control_plane.server, _kubectl_path())
    finally:
        control_plane.stop()


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace per test, named after it; deleted (without waiting) afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{slug}-{uuid.uuid4().hex[:5]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def crd(cluster: Cluster) -> str:
    """The CampaignMigration CRD from crds/ (the single source of truth), installed and established."""
    path = REPO_ROOT / "crds" / "campaignmigrations.tendlc.io.yaml"
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    cluster.kubectl("wait", "--for=condition=Established", "crd/campaignmigrations.tendlc.io", "--timeout=60s")
    return "campaignmigrations.tendlc.io"


@pytest.fixture(scope="session")
def wave_crd(cluster: Cluster) -> str:
    """The MigrationWave CRD from crds/, installed and established."""
    path = REPO_ROOT / "crds" / "migrationwaves.tendlc.io.yaml"
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    cluster.kubectl("wait", "--for=condition=Established", "crd/migrationwaves.tendlc.io", "--timeout=60s")
    return "migrationwaves.tendlc.io"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The Infobip/TCR sandbox as a real process, time compressed 600 times (a 10-minute step takes 1 s)."""
    log = tmp_path_factory.mktemp("sandbox") / "sandbox.log"
    running = Sandbox(args=["--time-scale", "600"], log_path=log).start()
    try:
        yield running
    finally:
        running.stop()
