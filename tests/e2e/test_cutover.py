"""The cut-over end to end: a ConfigMap key and a signed HTTPS call, once per key, across a SIGKILL.

Against the real API server, the sandbox and the operator as real processes, with the platform
team's endpoint played by tendlc_dev.router over HTTPS on loopback (a CA of the test's own, given
to the operator as TENDLC_CUTOVER_CA_FILE). The endpoint counts every request it *receives*; it
acts on the first and holds its answer while the operator is killed, so the only resend the design
allows (D58) happens, and must carry the same Idempotency-Key. Also: a cut-over that could not
run holds the migration before anything is submitted, and a URL off the allow-list receives nothing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.cluster import Cluster
from support.migration import (
    apply,
    condition,
    create_partner_secrets,
    events_of,
    loa_secret,
    migration,
    status_of,
    wait_for_phase,
)
from support.operator import OperatorProcess, operator_env
from support.sandbox import Sandbox, campaign_id, phone_numbers
from tendlc_dev.devcluster import ServingCertificate
from tendlc_dev.router import CutOverRouter

pytestmark = pytest.mark.e2e
HMAC_KEY = b"cutover-hmac-key-for-the-e2e-test-0001"


@pytest.fixture
def tls(tmp_path: Path) -> ServingCertificate:
    return ServingCertificate.generate(tmp_path / "tls")


@pytest.fixture
def router(tls: ServingCertificate) -> Iterator[CutOverRouter]:
    running = CutOverRouter(key=HMAC_KEY, cert=tls.cert, cert_key=tls.key, hold_seconds=4.0).start()
    try:
        yield running
    finally:
        running.stop()


def origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}"


def routing_table(name: str = "sms-routing", *, labeled: bool = True) -> dict[str, Any]:
    labels = {"tendlc.io/usage": "cutover"} if labeled else {}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels},
            "data": {"OTHER01": "legacy-cnp"}}


def hmac_secret() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "router-hmac", "labels": {"tendlc.io/usage": "cutover"}},
            "stringData": {"secretKey": HMAC_KEY.decode()}}


def with_cutover(name: str, tcr_id: str, url: str | None, config_map: str | None = "sms-routing") -> dict[str, Any]:
    cutover: dict[str, Any] = {}
    if config_map is not None:
        cutover["configMap"] = {"name": config_map, "key": "campaign-{campaignId}"}
    if url is not None:
        cutover["webhook"] = {"url": url, "secretRef": {"name": "router-hmac"}}
    return migration(name, tcr_id, phone_numbers(2), cutover=cutover)


def env_for(sandbox: Sandbox, namespace: str, tls: ServingCertificate, *allowed: str) -> dict[str, str]:
    return operator_env(sandbox, namespace, TENDLC_ALLOWED_CUTOVER_HOSTS=json.dumps(list(allowed)),
                        TENDLC_CUTOVER_CA_FILE=str(tls.ca_cert))


def kubectl_wait_ready(cluster: Cluster, namespace: str, name: str, timeout: int = 90) -> None:
    done = subprocess.run(
        [cluster.kubectl_path, f"--kubeconfig={cluster.kubeconfig}", "wait", "-n", namespace,
         "--for=condition=Ready", f"cmig/{name}", f"--timeout={timeout}s"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr + json.dumps(status_of(cluster, namespace, name))


def test_the_cut_over_switches_once_per_key_across_a_kill(
    cluster: Cluster, crd: str, namespace: str, sandbox: Sandbox, router: CutOverRouter, tls: ServingCertificate,
    tmp_path: Path,
) -> None:
    create_partner_secrets(cluster, namespace)
    tcr_id = campaign_id()
    apply(cluster, namespace, routing_table(), hmac_secret(), loa_secret("a-loa"),
          with_cutover("a", tcr_id, router.url))
    env = env_for(sandbox, namespace, tls, origin(router.url))

    first = OperatorProcess(env, tmp_path / "operator-1.log").start()
    try:
        cluster.wait_for(lambda: router.attempts() >= 1, timeout=90, what="the cut-over request")
        first.kill()  # the endpoint acted and holds its answer: the operator dies before recording it
    finally:
        first.stop()
    interrupted = status_of(cluster, namespace, "a")
    assert (interrupted.get("pendingOperation") or {}).get("operation") == "SwitchTraffic", interrupted
    assert "trafficSwitchedAt" not in interrupted
    ready = condition(interrupted, "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", "SwitchingTraffic")

    second = OperatorProcess(env, tmp_path / "operator-2.log").start()
    try:
        kubectl_wait_ready(cluster, namespace, "a")
    finally:
        second.stop()

    status = status_of(cluster, namespace, "a")
    key = f"tendlc-{tcr_id}-{status['infobipCampaignId']}"
    assert router.attempts() == 2  # received, not acted on: the one resend a lost answer allows
    assert [r.idempotency_key for r in router.requests] == [key, key]
    assert all(r.signature_valid for r in router.requests)
    assert list(router.switched) == [key]  # the endpoint acted once
    body = router.switched[key]
    assert (body["campaignId"], body["infobipCampaignId"]) == (tcr_id, status["infobipCampaignId"])
    assert body["resource"]["namespace"] == namespace
    table = cluster.get_json("-n", namespace, "configmap/sms-routing")["data"]
    assert table == {"OTHER01": "legacy-cnp", f"campaign-{tcr_id}": "infobip"}
    assert status["downtimeEndedAt"] == status["trafficSwitchedAt"]
    assert "pendingOperation" not in status
    switched = condition(status, "TrafficSwitched")
    assert switched is not None
    assert (switched["status"], switched["reason"]) == ("True", "TrafficSwitched")
    assert "TrafficSwitched" in {event["reason"] for event in events_of(cluster, namespace, "a")}
    assert sandbox.attempts("migrate", tcr_id) == 1


def test_a_cut_over_that_could_not_run_holds_the_migration_before_the_submission(
    cluster: Cluster, crd: str, namespace: str, sandbox: Sandbox, router: CutOverRouter, tls: ServingCertificate,
    tmp_path: Path,
) -> None:
    create_partner_secrets(cluster, namespace)
    held_id, refused_id = campaign_id(), campaign_id()
    router.hold_seconds = 0.0
    apply(cluster, namespace, routing_table(labeled=False), hmac_secret(),
          loa_secret("held-loa"), with_cutover("held", held_id, url=None),
          loa_secret("refused-loa"), with_cutover("refused", refused_id, router.url.replace("127.0.0.1", "localhost"),
                                                  config_map=None))
    env = env_for(sandbox, namespace, tls, origin(router.url))
    operator = OperatorProcess(env, tmp_path / "operator.log").start()
    try:
        def parked(name: str, reason: str) -> dict[str, Any] | None:
            status = status_of(cluster, namespace, name)
            ready = condition(status, "Ready")
            return status if ready is not None and ready["reason"] == reason else None

        held = cluster.wait_for(lambda: parked("held", "CutOverNotAllowed"), timeout=60, what="held parked")
        assert "kubectl label configmap sms-routing" in condition(held, "Ready")["message"]  # type: ignore[index]
        refused = cluster.wait_for(lambda: parked("refused", "CutOverNotAllowed"), timeout=60, what="refused")
        assert "TENDLC_ALLOWED_CUTOVER_HOSTS" in condition(refused, "Ready")["message"]  # type: ignore[index]
        assert sandbox.attempts("migrate", held_id) == 0
        assert sandbox.attempts("migrate", refused_id) == 0
        warnings = [e for e in events_of(cluster, namespace, "held") if e["reason"] == "CutOverNotAllowed"]
        assert warnings
        assert warnings[0]["type"] == "Warning"

        # Opted in: the migration goes on by itself, to the switch.
        cluster.kubectl("label", "-n", namespace, "configmap/sms-routing", "tendlc.io/usage=cutover")
        wait_for_phase(cluster, namespace, "held", "Registered", timeout=90)
        kubectl_wait_ready(cluster, namespace, "held")
    finally:
        operator.stop()
    table = cluster.get_json("-n", namespace, "configmap/sms-routing")["data"]
    assert table[f"campaign-{held_id}"] == "infobip"
    assert router.attempts() == 0  # the refused URL never received a request


def test_the_label_testing_patch_on_the_real_api_server(cluster: Cluster, namespace: str) -> None:
    """What tendlc.cutover relies on, checked against kube-apiserver itself: ten writers of ten keys
    through one ConfigMap never conflict, and a failed label test is a 422 that writes nothing."""
    import asyncio

    from tendlc.kube import KubeApi, KubeApiError

    apply(cluster, namespace, routing_table())
    label = ("tendlc.io/usage", "cutover")

    async def run() -> int | None:
        kube = KubeApi()
        try:
            await asyncio.gather(*(kube.set_config_map_key(namespace, "sms-routing", f"C{k:06d}", "infobip",
                                                           label=label) for k in range(10)))
            cluster.kubectl("label", "-n", namespace, "configmap/sms-routing", "tendlc.io/usage-")
            try:
                await kube.set_config_map_key(namespace, "sms-routing", "CLATE01", "infobip", label=label)
            except KubeApiError as refused:
                return refused.status
            return None
        finally:
            await kube.close()

    assert asyncio.run(run()) == 422
    data = cluster.get_json("-n", namespace, "configmap/sms-routing")["data"]
    assert {key for key, value in data.items() if value == "infobip"} == {f"C{k:06d}" for k in range(10)}
    assert "CLATE01" not in data
