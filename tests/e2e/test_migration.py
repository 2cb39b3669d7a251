"""End to end: kubectl → real kube-apiserver → the operator (Kopf) → the sandbox over HTTP, and back."""

from __future__ import annotations

import subprocess

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
from support.operator import operator_env, operator_in_process
from support.sandbox import Sandbox, campaign_id, phone_numbers

pytestmark = pytest.mark.e2e


@pytest.fixture
def partner_secrets(cluster: Cluster, namespace: str) -> None:
    create_partner_secrets(cluster, namespace)


def test_happy_path_reaches_registered_and_ready(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id, numbers = campaign_id(), phone_numbers(3)
    apply(cluster, namespace, loa_secret("happy-loa"), migration("happy", tcr_id, numbers))
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        waited = subprocess.run(
            [cluster.kubectl_path, f"--kubeconfig={cluster.kubeconfig}", "wait", "-n", namespace,
             "--for=condition=Ready", "cmig/happy", "--timeout=60s"],
            capture_output=True, text=True, check=False,
        )
        assert waited.returncode == 0, waited.stderr + str(status_of(cluster, namespace, "happy"))
        status = wait_for_phase(cluster, namespace, "happy", "Registered")
        table = cluster.kubectl("get", "-n", namespace, "cmig", "-o", "wide").stdout.splitlines()

    infobip = sandbox.campaign(tcr_id)["infobipCampaigns"]
    assert len(infobip) == 1
    assert status["infobipCampaignId"] == infobip[0]["id"]
    assert status["infobipStage"] == "REGISTERED"
    assert status["observedGeneration"] == 1
    assert status.get("pendingOperation") is None
    for step in ("LoaValid", "NumbersImported", "CnpElected", "MigrationSubmitted", "Registered", "Ready"):
        found = condition(status, step)
        assert found is not None, step
        assert found["status"] == "True", (step, status["conditions"])
    counters = sandbox.counters(tcr_id)
    assert counters["migrate"]["successes"] == counters["migrate"]["attempts"] == 1
    assert counters["migrateCnp"]["successes"] == counters["migrateCnp"]["attempts"] == 1
    assert table[0].split() == ["NAME", "CAMPAIGN", "PHASE", "READY", "NUMBERS", "INFOBIP-ID", "AGE"]
    assert table[1].split()[:6] == ["happy", tcr_id, "Registered", "True", "3", infobip[0]["id"]]
    reasons = [event["reason"] for event in events_of(cluster, namespace, "happy")]
    assert "SwitchTraffic" in reasons
