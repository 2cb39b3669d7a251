"""The chart's HA mode on the real API server: two operator processes, one Lease, one actor.

The chart is installed with `ha.enabled`; two real `python -m tendlc` processes then run with the
chart's ServiceAccount (a TokenRequest kubeconfig) and the installed Deployment's environment, as
two Pods of it would (each its own POD_NAME and ports; the Pods themselves never run here: this
control plane has no nodes). What a user relies on is checked from outside: exactly one process
holds the Lease (read with kubectl), the standby makes no partner call and answers webhooks with
503 before authenticating, a CampaignMigration is migrated with exactly one migrate *received* by
the sandbox, neither log shows a request the API server refused (the chart's Role is enough), and
after SIGTERM of the leader the standby takes the Lease over, acts, and migrates the next one.
Short lease timings (5 s / 3 s / 0.5 s) and the D24 window scaled to the sandbox keep it fast.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from support.cluster import Cluster
from support.helm import Helm, InstalledChart, helm_binary, install_chart, service_account_kubeconfig
from support.migration import apply, condition, loa_secret, migration, wait_for_phase
from support.operator import OperatorProcess
from support.sandbox import INFOBIP_API_KEY, TCR_API_KEY, TCR_API_SECRET, Sandbox, campaign_id, phone_numbers
from tendlc_dev.devcluster import free_port

pytestmark = pytest.mark.e2e

LEASE = "tendlc-ha-leader"
TIMINGS = {"leaseDurationSeconds": 5, "renewDeadlineSeconds": 3, "retryPeriodSeconds": 0.5}
HANDOVER_WITHIN = 10.0  # a released Lease is taken within a retry period (plus jitter); generous on a busy machine
# What a refused Kubernetes request leaves in a log: tendlc.kube's "HTTP 403", Kopf's and the API
# server's "Forbidden"/"forbidden".
REFUSED = re.compile(r"HTTP 403|\b403 Forbidden|forbidden", re.IGNORECASE)


@dataclass
class Replica:
    """One operator process playing one Pod of the Deployment."""

    pod: str
    process: OperatorProcess
    metrics_url: str
    webhook_url: str

    def metric(self, name: str) -> float | None:
        """The sum of a metric's samples on this replica's /metrics (None when the series is absent)."""
        try:
            text = httpx.get(self.metrics_url, timeout=2).text
        except httpx.HTTPError:
            return None
        samples = [sample.value for family in text_string_to_metric_families(text) for sample in family.samples
                   if sample.name == name]
        return sum(samples) if samples else None

    def post_webhook(self) -> httpx.Response:
        """An unsigned, unauthenticated delivery: 503 on a standby (refused before authentication),
        401 on the leader (authentication is where it fails there)."""
        body = b'{"results": [{"campaignId": "CH-NONE", "stage": "REGISTERED"}]}'
        return httpx.post(self.webhook_url, content=body, headers={"Content-Type": "application/json"}, timeout=5)

    def log(self) -> str:
        return self.process.log()


def _holder(cluster: Cluster, namespace: str) -> str:
    result = cluster.kubectl("get", "lease", LEASE, "-n", namespace, "-o", "jsonpath={.spec.holderIdentity}",
                             check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def _holding(replicas: list[Replica], holder: str) -> Replica | None:
    """The replica whose identity (its POD_NAME plus a random suffix) is `holder`."""
    return next((replica for replica in replicas if holder.startswith(f"{replica.pod}_")), None)


def _run_helm_test_script(chart: InstalledChart, metrics_url: str) -> subprocess.CompletedProcess[str]:
    """The installed `helm test` hook's script, pointed at one replica's /metrics (the Service may
    send `helm test` to a standby)."""
    hooks = yaml.safe_load_all(chart.helm.run("get", "hooks", chart.release, "-n", chart.namespace).stdout)
    [pod] = [doc for doc in hooks if doc and doc["kind"] == "Pod"]
    container = pod["spec"]["containers"][0]
    return subprocess.run([sys.executable, "-c", container["command"][2], metrics_url, container["args"][1]],
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def team(cluster: Cluster, namespace: str) -> Iterator[str]:
    name = f"{namespace}-team"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _install(cluster: Cluster, sandbox: Sandbox, namespace: str, team: str, tmp_path: Path) -> InstalledChart:
    binary = helm_binary()
    assert binary is not None, "run `make controlplane`"
    cluster.kubectl("create", "secret", "generic", "infobip-credentials", "-n", namespace,
                    f"--from-literal=apiKey={INFOBIP_API_KEY}")
    cluster.kubectl("create", "secret", "generic", "tcr-credentials", "-n", namespace,
                    f"--from-literal=apiKey={TCR_API_KEY}", f"--from-literal=apiSecret={TCR_API_SECRET}")
    cluster.kubectl("create", "secret", "generic", "webhook-auth", "-n", namespace,
                    "--from-literal=username=hooks", "--from-literal=password=ha-hook-password")
    values: dict[str, Any] = {
        "infobip": {"baseUrl": sandbox.infobip_url, "credentialsSecret": "infobip-credentials"},
        "tcr": {"baseUrl": sandbox.tcr_url, "credentialsSecret": "tcr-credentials"},
        "watchNamespaces": [team],
        "allowedPartnerHosts": [sandbox.url],
        "webhook": {"authSecret": "webhook-auth"},
        "ha": {"enabled": True, "standbyReplicas": 1, "leaseName": LEASE, **TIMINGS},
        "backoff": {"initialSeconds": 0.2, "maxSeconds": 1},
        "recheckParkedSeconds": 1,
        "log": {"level": "DEBUG", "format": "json"},
        # The sandbox runs 600 times faster than real time; the D24 absence window with it (60 s / 600).
        "extraEnv": [{"name": "TENDLC_ABSENCE_WINDOW_SECONDS", "value": "0.1"}],
    }
    return install_chart(cluster, Helm(binary, tmp_path / "helm", cluster.kubeconfig), release="tendlc",
                         namespace=namespace, values=values)


def _start(chart: InstalledChart, kubeconfig: Path, pod: str, tmp_path: Path) -> Replica:
    metrics_port, webhook_port = free_port(), free_port()
    env = {**chart.operator_environment(pod_name=pod), "KUBECONFIG": str(kubeconfig),
           "TENDLC_BIND_ADDRESS": "127.0.0.1", "TENDLC_METRICS_PORT": str(metrics_port),
           "TENDLC_WEBHOOK_PORT": str(webhook_port), "TENDLC_LIVENESS_PORT": str(free_port())}
    process = OperatorProcess(env, tmp_path / f"{pod}.log").start()
    return Replica(pod, process, f"http://127.0.0.1:{metrics_port}/metrics",
                   f"http://127.0.0.1:{webhook_port}/webhooks/infobip")


def test_two_operator_processes_one_lease_one_migrate_and_a_handover_on_sigterm(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, team: str, tmp_path: Path,
) -> None:
    chart = _install(cluster, sandbox, namespace, team, tmp_path)
    env = chart.operator_environment()
    assert env["TENDLC_LEADER_ELECTION"] == "true"
    assert env["TENDLC_LEADER_ELECTION_LEASE_NAME"] == LEASE
    assert chart.deployment()["spec"]["replicas"] == 2
    kubeconfig = service_account_kubeconfig(cluster, namespace, chart.service_account, tmp_path / "sa")
    replicas = [_start(chart, kubeconfig, pod, tmp_path) for pod in ("tendlc-ha-a", "tendlc-ha-b")]
    try:
        started = time.monotonic()
        leader = cluster.wait_for(lambda: _holding(replicas, _holder(cluster, namespace)), timeout=30,
                                  what=f"one of {[r.pod for r in replicas]} to hold Lease {LEASE}")
        elected_after = time.monotonic() - started
        [standby] = [replica for replica in replicas if replica is not leader]
        # Both are up; the metrics say who leads (TendlcNoLeader sums these: exactly 1).
        cluster.wait_for(lambda: leader.metric("tendlc_leader") == 1 and standby.metric("tendlc_leader") == 0,
                         timeout=20, what="tendlc_leader 1 on the leader and 0 on the standby")
        # The standby refuses deliveries before reading or authenticating them; the leader authenticates.
        refused = cluster.wait_for(lambda: _answer(standby), timeout=20, what="the standby's webhook receiver")
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"]
        assert refused.json()["error"] == "not_leader"
        assert cluster.wait_for(lambda: _answer(leader), timeout=20, what="the leader's receiver").status_code == 401

        first = campaign_id()
        apply(cluster, team, loa_secret("ha-first-loa"), migration("ha-first", first, phone_numbers(2)))
        status = wait_for_phase(cluster, team, "ha-first", "Registered", timeout=40)
        assert condition(status, "Ready")["status"] == "True"
        assert sandbox.attempts("migrate", first) == 1  # requests received, from either process
        assert standby.metric("tendlc_partner_calls_total") in (None, 0), "the standby called a partner"
        assert (leader.metric("tendlc_partner_calls_total") or 0) > 0
        # `helm test` through the Service may land on the standby: it passes there too.
        helm_test = _run_helm_test_script(chart, standby.metrics_url)
        assert helm_test.returncode == 0, helm_test.stdout + helm_test.stderr

        # SIGTERM of the leader: it releases the Lease on its way out and the standby takes it.
        sigterm = time.monotonic()
        leader.process.stop()
        assert leader.process.process is not None
        assert leader.process.process.returncode == 0, leader.log()[-2000:]
        cluster.wait_for(lambda: _holding(replicas, _holder(cluster, namespace)) is standby,
                         timeout=HANDOVER_WITHIN, interval=0.1, what=f"{standby.pod} to take Lease {LEASE}")
        handover = time.monotonic() - sigterm
        lease = cluster.get_json("lease", LEASE, "-n", namespace)
        assert lease["spec"]["leaseTransitions"] >= 1
        cluster.wait_for(lambda: standby.metric("tendlc_leader") == 1, timeout=10, what="the new leader's metric")
        assert cluster.wait_for(lambda: _answer(standby), timeout=10, what="receiver").status_code == 401

        # The new leader acts: the next CampaignMigration is migrated, the first is not resent.
        second = campaign_id()
        apply(cluster, team, loa_secret("ha-second-loa"), migration("ha-second", second, phone_numbers(2)))
        wait_for_phase(cluster, team, "ha-second", "Registered", timeout=40)
        assert sandbox.attempts("migrate", second) == 1
        assert sandbox.attempts("migrate", first) == 1
    finally:
        for replica in replicas:
            replica.process.stop()
    for replica in replicas:
        log = replica.log()
        assert not REFUSED.findall(log), f"{replica.pod}: a Kubernetes request was refused:\n" + "\n".join(
            line for line in log.splitlines() if REFUSED.search(line))[:2000]
        assert f"lease {namespace}/{LEASE} acquired by {replica.pod}_" in log  # both led, one after the other
    assert f"lease {namespace}/{LEASE} released by {leader.pod}_" in leader.log()
    print(f"\nchart HA: Lease held {elected_after:.1f} s after start; handover {handover:.2f} s after SIGTERM "
          f"(lease {TIMINGS['leaseDurationSeconds']} s, retry {TIMINGS['retryPeriodSeconds']} s)")


def _answer(replica: Replica) -> httpx.Response | None:
    try:
        return replica.post_webhook()
    except httpx.HTTPError:
        return None
