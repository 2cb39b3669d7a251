"""End to end: kubectl → real kube-apiserver → the operator (Kopf) → the sandbox over HTTP, and back."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from support.cluster import Cluster, request_counts, writes_between
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
from support.operator import OperatorProcess, operator_env, operator_in_process
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
    before, first_seq = request_counts(cluster, "campaignmigrations"), sandbox.last_seq()
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        waited = subprocess.run(
            [cluster.kubectl_path, f"--kubeconfig={cluster.kubeconfig}", "wait", "-n", namespace,
             "--for=condition=Ready", "cmig/happy", "--timeout=60s"],
            capture_output=True, text=True, check=False,
        )
        assert waited.returncode == 0, waited.stderr + str(status_of(cluster, namespace, "happy"))
        status = wait_for_phase(cluster, namespace, "happy", "Registered")
        table = cluster.kubectl("get", "-n", namespace, "cmig", "-o", "wide").stdout.splitlines()
    writes = writes_between(before, request_counts(cluster, "campaignmigrations"))

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
    events = events_of(cluster, namespace, "happy")
    reasons = [event["reason"] for event in events]
    # One Event per phase entered, then SwitchTraffic (D21); each posted once (count 1).
    assert sorted(reasons) == sorted(["ImportingNumbers", "ElectingCnp", "SubmittingMigration", "InMigration",
                                      "SwitchTraffic"]), reasons
    assert all((event.get("count") or 1) == 1 for event in events), events
    # Kubernetes API cost of the whole migration (status patches + Events), printed for the record.
    calls = sorted(f"{e['method']} {e['endpoint']}" for e in sandbox.ledger(since=first_seq, limit=100_000))
    print(f"kube writes: {writes}; partner calls ({len(calls)}): {calls}; events: {reasons}")
    assert sum(writes.values()) + len(events) <= 10, (writes, reasons)


def _run_to_phase(
    cluster: Cluster, sandbox: Sandbox, namespace: str, name: str, phase: str, *objects: dict, timeout: float = 60,
    **env: str,
) -> dict:
    apply(cluster, namespace, *objects)
    with operator_in_process(namespace, operator_env(sandbox, namespace, **env)):
        return wait_for_phase(cluster, namespace, name, phase, timeout=timeout)


def test_own_nnid_waits_for_the_osr_confirmation_then_registers(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id()
    apply(cluster, namespace, loa_secret("own-loa"), migration("own", tcr_id, phone_numbers(2), nnid="Own"))
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        waiting = wait_for_phase(cluster, namespace, "own", "AwaitingOsrConfirmation")
        assert condition(waiting, "Ready")["status"] == "False"
        # The customer updates the OSR records at NetNumber (the sandbox stands in), then tells us.
        sandbox.admin("POST", f"/campaigns/{tcr_id}/osr-updated")
        confirmed_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        cluster.kubectl("annotate", "-n", namespace, "cmig/own",
                        f"tendlc.io/osr-updated={confirmed_at.isoformat().replace('+00:00', 'Z')}")
        status = wait_for_phase(cluster, namespace, "own", "Registered")
    assert status["downtimeStartedAt"] == confirmed_at.isoformat().replace("+00:00", "Z")
    assert status["downtimeEndedAt"]
    assert sandbox.counters(tcr_id)["migrate"]["successes"] == 1


def test_rejected_campaign_fails_with_infobip_reason(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id("CRJ")
    status = _run_to_phase(cluster, sandbox, namespace, "rejected", "Failed",
                           loa_secret("rejected-loa"), migration("rejected", tcr_id, phone_numbers(1)))
    ready = condition(status, "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "CampaignRejected"
    assert "age gate" in ready["message"].lower()
    assert status["infobipStage"] == "REJECTED"
    warnings = [e for e in events_of(cluster, namespace, "rejected") if e["type"] == "Warning"]
    assert any(e["reason"] == "CampaignRejected" for e in warnings)


def test_tcr_declined_election_fails_with_tcr_explanation(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id("CDC")
    status = _run_to_phase(cluster, sandbox, namespace, "declined", "Failed",
                           loa_secret("declined-loa"), migration("declined", tcr_id, phone_numbers(1)))
    elected = condition(status, "CnpElected")
    assert elected["status"] == "False"
    assert elected["reason"] == "ElectionDeclined"
    assert "use case not supported" in elected["message"]
    assert sandbox.counters(tcr_id)["migrate"].get("attempts", 0) == 0  # never submitted to Infobip


def test_campaign_expired_at_tcr_fails_without_infobip_submission(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id("CEX")
    status = _run_to_phase(cluster, sandbox, namespace, "expired", "Failed",
                           loa_secret("expired-loa"), migration("expired", tcr_id, phone_numbers(1)))
    assert condition(status, "Ready")["reason"] == "CampaignExpired"
    assert sandbox.counters(tcr_id)["migrate"].get("attempts", 0) == 0


def test_expired_loa_parks_then_a_renewed_loa_continues_by_itself(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id()
    old = dt.date.today() - dt.timedelta(days=40)
    apply(cluster, namespace, loa_secret("renew-loa", old), migration("renew", tcr_id, phone_numbers(1)))
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        parked = cluster.wait_for(
            lambda: (condition(status_of(cluster, namespace, "renew"), "LoaValid") or {}).get("reason") == "LoaExpired",
            timeout=30, what="LoaValid=False/LoaExpired",
        )
        assert parked
        loa = condition(status_of(cluster, namespace, "renew"), "LoaValid")
        assert loa["status"] == "False"
        assert old.isoformat() in loa["message"]
        assert sandbox.ledger(pathContains=tcr_id) == []  # nothing sent to any partner
        apply(cluster, namespace, loa_secret("renew-loa"))
        status = wait_for_phase(cluster, namespace, "renew", "Registered")
    assert condition(status, "LoaValid")["status"] == "True"


def test_missing_loa_secret_is_reported_and_nothing_is_sent(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id()
    apply(cluster, namespace, migration("nosecret", tcr_id, phone_numbers(1)))
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        cluster.wait_for(
            lambda: (condition(status_of(cluster, namespace, "nosecret"), "LoaValid") or {}).get("reason")
            == "LoaSecretMissing",
            timeout=30, what="LoaValid=False/LoaSecretMissing",
        )
    loa = condition(status_of(cluster, namespace, "nosecret"), "LoaValid")
    assert "nosecret-loa" in loa["message"]
    assert sandbox.ledger(pathContains=tcr_id) == []
    assert any(e["reason"] == "LoaSecretMissing" for e in events_of(cluster, namespace, "nosecret"))


def test_wrong_infobip_credentials_park_with_credentials_rejected(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str
) -> None:
    create_partner_secrets(cluster, namespace, infobip_key="not-the-key")
    tcr_id = campaign_id()
    apply(cluster, namespace, loa_secret("badcreds-loa"), migration("badcreds", tcr_id, phone_numbers(1)))
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        cluster.wait_for(
            lambda: (condition(status_of(cluster, namespace, "badcreds"), "Ready") or {}).get("reason")
            == "CredentialsRejected",
            timeout=30, what="Ready=False/CredentialsRejected",
        )
    status = status_of(cluster, namespace, "badcreds")
    assert "not-the-key" not in str(status)
    assert sandbox.counters(tcr_id)["migrate"].get("attempts", 0) == 0


def test_operator_killed_after_the_migrate_post_never_sends_it_twice(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None, tmp_path: Path
) -> None:
    tcr_id = campaign_id()
    env = operator_env(sandbox, namespace)
    # Infobip takes the migration, then holds the answer back: the operator dies before it hears it.
    sandbox.admin("PUT", "/faults", json={"slowProbability": 1.0, "slowSeconds": 30, "paths": ["campaigns/migrate"]})
    first = OperatorProcess(env, tmp_path / "operator-1.log").start()
    try:
        apply(cluster, namespace, loa_secret("crash-loa"), migration("crash", tcr_id, phone_numbers(2)))
        cluster.wait_for(lambda: sandbox.campaign(tcr_id)["infobipCampaigns"], timeout=60,
                         what="the sandbox to receive the migrate POST")
        marker = status_of(cluster, namespace, "crash").get("pendingOperation") or {}
        assert marker.get("operation") == "SubmitMigration"  # persisted before the POST
        first.kill()
    finally:
        first.stop()
        sandbox.admin("PUT", "/faults", json={})
    assert "infobipCampaignId" not in status_of(cluster, namespace, "crash")  # the answer was never recorded

    second = OperatorProcess(env, tmp_path / "operator-2.log").start()
    try:
        status = wait_for_phase(cluster, namespace, "crash", "Registered")
    finally:
        second.stop()
    counters = sandbox.counters(tcr_id)
    assert counters["migrate"]["attempts"] == 1, second.log()
    assert status["infobipCampaignId"] == sandbox.campaign(tcr_id)["infobipCampaigns"][0]["id"]
    assert condition(status, "MigrationSubmitted")["reason"] == "MigrationAdopted"
    assert status.get("pendingOperation") is None


def test_resources_carry_no_finalizer_so_deletion_never_waits_for_the_operator(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id("CST")  # stuck in IN_MIGRATION: the operator is mid-wait when it stops
    status = _run_to_phase(cluster, sandbox, namespace, "stuck", "InMigration",
                           loa_secret("stuck-loa"), migration("stuck", tcr_id, phone_numbers(1)))
    assert status["infobipStage"] == "IN_MIGRATION"
    metadata = cluster.get_json("-n", namespace, "cmig/stuck")["metadata"]
    assert not metadata.get("finalizers")
    assert not [key for key in metadata.get("annotations", {}) if key.startswith("tendlc.io/")]
    # The operator is stopped now; deleting still completes at once.
    cluster.kubectl("delete", "-n", namespace, "cmig/stuck", "--timeout=10s")
