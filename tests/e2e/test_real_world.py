"""What users' clusters do that the happy path does not: a stall, HMAC webhooks from a cold start,
credentials fixed after the operator parked, a campaign big enough for two import batches, and
twenty campaigns at once at the partners' real rate limits.

All against the real API server, a real sandbox process and the operator (in-process or as a real
process where a start-up path is the point).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

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
from support.operator import INFOBIP_SECRET, OperatorProcess, operator_env, operator_in_process
from support.sandbox import INFOBIP_API_KEY, Sandbox, campaign_id, phone_numbers
from tendlc_dev.devcluster import free_port

pytestmark = pytest.mark.e2e
HMAC_KEY = "hmac-key-for-the-e2e-9c41d0"


def test_a_campaign_that_does_not_move_is_reported_stalled(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str
) -> None:
    create_partner_secrets(cluster, namespace)
    tcr_id = campaign_id("CST")  # stays IN_MIGRATION
    apply(cluster, namespace, loa_secret("stuck-loa"), migration("stuck", tcr_id, phone_numbers(1)))
    # 0.001 h = 3.6 s after the submission; polls every second at most.
    def stalled() -> dict[str, Any] | None:
        status = status_of(cluster, namespace, "stuck")
        return status if (condition(status, "Stalled") or {}).get("status") == "True" else None

    with operator_in_process(namespace, operator_env(sandbox, namespace, TENDLC_STALL_AFTER_HOURS="0.001")):
        status = cluster.wait_for(stalled, timeout=60, what="Stalled=True")
    ready = condition(status, "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", "Stalled")
    assert "Infobip Registrations team" in ready["message"]
    assert status["phase"] == "InMigration"
    warnings = [e for e in events_of(cluster, namespace, "stuck") if e["reason"] == "Stalled"]
    assert [e["type"] for e in warnings] == ["Warning"]


def test_hmac_webhooks_through_the_real_start_up_path(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, tmp_path: Path
) -> None:
    """The operator process reads an HMAC Secret, subscribes with it, and a signed delivery finishes the job."""
    create_partner_secrets(cluster, namespace)
    cluster.kubectl("create", "secret", "generic", "webhook-hmac", "-n", namespace,
                    f"--from-literal=secretKey={HMAC_KEY}", "--from-literal=algorithm=HMAC_SHA_256")
    port = free_port()
    env = operator_env(
        sandbox, namespace, TENDLC_WEBHOOK_PORT=str(port),
        TENDLC_WEBHOOK_PUBLIC_URL=f"http://127.0.0.1:{port}/webhooks/infobip",
        TENDLC_WEBHOOK_AUTH_SECRET__NAME="webhook-hmac", TENDLC_WEBHOOK_OWNER=namespace[-40:].strip("-"),
        TENDLC_BACKOFF_MAX_SECONDS="3600", TENDLC_STATUS_REFRESH_SECONDS="0",
    )
    tcr_id = campaign_id("CST")
    apply(cluster, namespace, loa_secret("hmac-loa"), migration("hmac", tcr_id, phone_numbers(1)))
    def polls_far_apart() -> dict[str, Any] | None:
        status = status_of(cluster, namespace, "hmac")
        next_check = status.get("nextCheckAt")
        if status.get("phase") != "InMigration" or not next_check:
            return None
        due = dt.datetime.fromisoformat(next_check.replace("Z", "+00:00"))
        return status if due - dt.datetime.now(dt.UTC) > dt.timedelta(seconds=20) else None

    operator = OperatorProcess(env, tmp_path / "operator.log").start()
    try:
        waiting = cluster.wait_for(polls_far_apart, timeout=90, what="the poll backoff to exceed 20 s")
        next_poll = dt.datetime.fromisoformat(waiting["nextCheckAt"].replace("Z", "+00:00"))
        sandbox.admin("POST", f"/campaigns/{tcr_id}/stage", json={"stage": "REGISTERED", "emitWebhook": True})
        status = wait_for_phase(cluster, namespace, "hmac", "Registered", timeout=30)
    finally:
        operator.stop()
    assert dt.datetime.fromisoformat(status["registeredAt"].replace("Z", "+00:00")) < next_poll  # the webhook did it
    state = sandbox.admin("GET", "/state")
    securities = [s for s in state.get("securities", []) if s.get("type") == "HMAC"]
    assert securities, state.get("securities")
    deliveries = [d for d in sandbox.admin("GET", "/webhooks")["deliveries"]
                  if d["notifyUrl"] == env["TENDLC_WEBHOOK_PUBLIC_URL"] and d["campaignStatus"] == "REGISTERED"]
    assert deliveries
    assert deliveries[0]["httpStatus"] == 200
    assert HMAC_KEY not in operator.log()


def test_credentials_fixed_after_parking_continue_by_themselves(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str
) -> None:
    create_partner_secrets(cluster, namespace, infobip_key="a-wrong-key-1234")
    tcr_id = campaign_id()
    apply(cluster, namespace, loa_secret("fixed-loa"), migration("fixed", tcr_id, phone_numbers(1)))
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        cluster.wait_for(
            lambda: (condition(status_of(cluster, namespace, "fixed"), "Ready") or {}).get("reason")
            == "CredentialsRejected",
            timeout=30, what="Ready=False/CredentialsRejected",
        )
        fixed = cluster.kubectl("create", "secret", "generic", INFOBIP_SECRET, "-n", namespace,
                                f"--from-literal=apiKey={INFOBIP_API_KEY}", "--dry-run=client", "-o", "json").stdout
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=fixed)
        status = wait_for_phase(cluster, namespace, "fixed", "Registered", timeout=60)  # no retry annotation
    assert condition(status, "Ready")["status"] == "True"
    assert sandbox.attempts("migrate", tcr_id) == 1


def test_a_campaign_of_150_numbers_is_imported_in_two_batches(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str
) -> None:
    create_partner_secrets(cluster, namespace)
    tcr_id, numbers = campaign_id(), phone_numbers(150)
    first_seq = sandbox.last_seq()
    apply(cluster, namespace, loa_secret("big-loa"), migration("big", tcr_id, numbers))
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        status = wait_for_phase(cluster, namespace, "big", "Registered", timeout=90)
    imports = [e for e in sandbox.ledger(since=first_seq, limit=100_000)
               if e["endpoint"] == "infobip.import_numbers" and set(e.get("numbers") or ()) <= set(numbers)]
    assert [len(e["numbers"]) for e in imports if e["status"] == 200] == [100, 50]
    assert status["numberCount"] == 150
    assert sandbox.attempts("migrate", tcr_id) == 1


def test_twenty_campaigns_at_the_real_rate_limits_meet_no_429(
    cluster: Cluster, crd: str, namespace: str, tmp_path: Path
) -> None:
    """The client-side limiter runs the partners' documented buckets: the sandbox, at x1, refuses nothing."""
    own = Sandbox(args=["--time-scale", "600"], log_path=tmp_path / "sandbox.log").start()
    try:
        create_partner_secrets(cluster, namespace)
        plans = [(f"fleet-{index:02d}", campaign_id(), phone_numbers(2)) for index in range(20)]
        apply(cluster, namespace, *[doc for name, tcr_id, numbers in plans
                                    for doc in (loa_secret(f"{name}-loa"), migration(name, tcr_id, numbers))])
        with operator_in_process(namespace, operator_env(own, namespace)):
            for name, _, _ in plans:
                wait_for_phase(cluster, namespace, name, "Registered", timeout=180)
        ledger = own.ledger(since=0, limit=100_000)
        migrates = {tcr_id: own.attempts("migrate", tcr_id) for _, tcr_id, _ in plans}
    finally:
        own.stop()
    partner = [e for e in ledger if e["partner"] in {"infobip", "tcr"}]
    refused = [e for e in partner if e["status"] == 429]
    assert partner
    assert refused == [], json.dumps(refused[:5], indent=1)
    assert set(migrates.values()) == {1}, migrates
