"""Issue 5 end to end: the webhook fast path, the user's controls, metrics and secret hygiene."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.cluster import Cluster
from support.migration import (
    apply,
    condition,
    create_partner_secrets,
    loa_secret,
    migration,
    status_of,
    wait_for_phase,
)
from support.operator import OperatorProcess, operator_env, operator_in_process
from support.sandbox import Sandbox, campaign_id, phone_numbers
from tendlc_dev.devcluster import free_port

pytestmark = pytest.mark.e2e
WEBHOOK_USER, WEBHOOK_PASSWORD = "infobip-hooks", "hook-password-1234"


@pytest.fixture
def partner_secrets(cluster: Cluster, namespace: str) -> None:
    create_partner_secrets(cluster, namespace)


def webhook_env(cluster: Cluster, sandbox: Sandbox, namespace: str, **overrides: str) -> dict[str, str]:
    """An operator that receives Infobip webhooks (BASIC auth) and subscribes for them at start-up."""
    cluster.kubectl("create", "secret", "generic", "webhook-auth", "-n", namespace,
                    f"--from-literal=username={WEBHOOK_USER}", f"--from-literal=password={WEBHOOK_PASSWORD}")
    port = free_port()
    return operator_env(
        sandbox, namespace,
        TENDLC_WEBHOOK_PORT=str(port),
        TENDLC_WEBHOOK_PUBLIC_URL=f"http://127.0.0.1:{port}/webhooks/infobip",
        TENDLC_WEBHOOK_AUTH_SECRET__NAME="webhook-auth",
        TENDLC_WEBHOOK_OWNER=namespace[-40:].strip("-"),
        **overrides,
    )


def _subscription_for(sandbox: Sandbox, url: str) -> list[dict[str, Any]]:
    """The sandbox's subscriptions whose profile notifies `url`."""
    state = sandbox.admin("GET", "/state")
    profiles = [p["profileId"] for p in state["profiles"] if url in json.dumps(p)]
    return [s for s in state["subscriptions"] if any(f'"{p}"' in json.dumps(s) for p in profiles)]


def test_webhook_completes_the_migration_before_the_next_poll_is_due(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id("CST")  # stays IN_MIGRATION until the test moves it
    # Every poll's nextCheckAt is written (no refresh throttling), so the test can see the wait grow.
    env = webhook_env(cluster, sandbox, namespace, TENDLC_BACKOFF_MAX_SECONDS="3600", TENDLC_STATUS_REFRESH_SECONDS="0")
    apply(cluster, namespace, loa_secret("hooked-loa"), migration("hooked", tcr_id, phone_numbers(2)))
    with operator_in_process(namespace, env):
        def polls_far_apart() -> dict[str, Any] | None:
            status = status_of(cluster, namespace, "hooked")
            next_check = status.get("nextCheckAt")
            if status.get("phase") != "InMigration" or not next_check:
                return None
            due = dt.datetime.fromisoformat(next_check.replace("Z", "+00:00"))
            return status if due - dt.datetime.now(dt.UTC) > dt.timedelta(seconds=20) else None

        waiting = cluster.wait_for(polls_far_apart, timeout=60, what="the poll backoff to exceed 20 s")
        next_poll = dt.datetime.fromisoformat(waiting["nextCheckAt"].replace("Z", "+00:00"))
        sandbox.admin("POST", f"/campaigns/{tcr_id}/stage", json={"stage": "REGISTERED", "emitWebhook": True})
        status = wait_for_phase(cluster, namespace, "hooked", "Registered", timeout=15)
    registered = dt.datetime.fromisoformat(status["registeredAt"].replace("Z", "+00:00"))
    assert registered < next_poll  # the webhook, not the poll, finished it
    assert status["webhook"]["stage"] == "REGISTERED"
    deliveries = [d for d in sandbox.admin("GET", "/webhooks")["deliveries"] if d["notifyUrl"] in env[
        "TENDLC_WEBHOOK_PUBLIC_URL"] and d["campaignStatus"] == "REGISTERED"]
    assert deliveries
    assert deliveries[0]["httpStatus"] == 200


def test_subscription_is_created_once_across_operator_restarts(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    env = webhook_env(cluster, sandbox, namespace)
    url = env["TENDLC_WEBHOOK_PUBLIC_URL"]
    first_seq = sandbox.last_seq()
    for _ in range(3):
        with operator_in_process(namespace, env):
            cluster.wait_for(lambda: _subscription_for(sandbox, url), timeout=30, what="the subscription")
    # Creates received, refused ones included: a start that re-sent its create would count here.
    assert sandbox.attempts("subscriptions.create", since=first_seq) == 1
    assert sandbox.successes("subscriptions.create", since=first_seq) == 1
    assert len(_subscription_for(sandbox, url)) == 1


def test_receiver_refuses_unauthenticated_forged_malformed_and_oversized_requests(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    env = webhook_env(cluster, sandbox, namespace)
    url = env["TENDLC_WEBHOOK_PUBLIC_URL"]
    body = json.dumps({"results": [{"event": "CAMPAIGN_STATUS_UPDATE", "receivedAt": "2026-11-26T10:00:00.000+0000",
                                    "content": {"campaignId": "00000000-0000-0000-0000-000000000000",
                                                "campaignStatus": "REGISTERED"}}]})
    with operator_in_process(namespace, env):
        cluster.wait_for(lambda: _subscription_for(sandbox, url), timeout=30, what="the receiver to be up")
        no_auth = httpx.post(url, content=body)
        wrong = httpx.post(url, content=body, auth=(WEBHOOK_USER, "wrong-password"))
        malformed = httpx.post(url, content=b"{not json", auth=(WEBHOOK_USER, WEBHOOK_PASSWORD))
        oversized = httpx.post(url, content=b"x" * (1024 * 1024 + 1), auth=(WEBHOOK_USER, WEBHOOK_PASSWORD))
        unknown = httpx.post(url, content=body, auth=(WEBHOOK_USER, WEBHOOK_PASSWORD))
    assert (no_auth.status_code, wrong.status_code) == (401, 401)
    assert malformed.status_code == 400
    assert oversized.status_code == 413
    assert unknown.status_code == 200  # unknown campaign: acknowledged so Infobip stops retrying


def test_duplicate_and_reordered_webhooks_do_not_move_a_resource_backwards(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    env = webhook_env(cluster, sandbox, namespace)
    sandbox.admin("PUT", "/faults", json={"webhookDuplicateProbability": 1.0, "webhookReorderProbability": 0.5,
                                          "seed": 7})
    try:
        tcr_id = campaign_id()
        apply(cluster, namespace, loa_secret("dupes-loa"), migration("dupes", tcr_id, phone_numbers(1)))
        with operator_in_process(namespace, env):
            status = wait_for_phase(cluster, namespace, "dupes", "Registered")
            cluster.wait_for(lambda: any(d["duplicate"] for d in sandbox.admin("GET", "/webhooks")["deliveries"]
                                         if d["notifyUrl"] == env["TENDLC_WEBHOOK_PUBLIC_URL"]),
                             timeout=30, what="a duplicated delivery")
            # An old SUBMITTED event delivered after REGISTERED changes nothing.
            old = {"results": [{"event": "CAMPAIGN_STATUS_UPDATE", "receivedAt": "2000-01-01T00:00:00.000+0000",
                                "content": {"campaignId": status["infobipCampaignId"], "tcrId": tcr_id,
                                            "campaignStatus": "SUBMITTED"}}]}
            late = httpx.post(env["TENDLC_WEBHOOK_PUBLIC_URL"], json=old, auth=(WEBHOOK_USER, WEBHOOK_PASSWORD))
            after = status_of(cluster, namespace, "dupes")
    finally:
        sandbox.admin("PUT", "/faults", json={})
    assert late.status_code == 200
    assert after["phase"] == "Registered"
    assert after["infobipStage"] == "REGISTERED"
    assert (after.get("webhook") or {}).get("stage") != "SUBMITTED"
    assert sandbox.attempts("infobip.migrate", tcr_id) == 1
    deliveries = [d for d in sandbox.admin("GET", "/webhooks")["deliveries"]
                  if d["notifyUrl"] == env["TENDLC_WEBHOOK_PUBLIC_URL"]]
    assert any(d["duplicate"] for d in deliveries)
    assert {d["httpStatus"] for d in deliveries if d["httpStatus"] is not None} == {200}


def test_suspend_stops_partner_calls_and_resume_continues(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id()
    apply(cluster, namespace, loa_secret("paused-loa"),
          migration("paused", tcr_id, phone_numbers(1), suspend=True))
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        suspended = wait_for_phase(cluster, namespace, "paused", "Suspended")
        assert condition(suspended, "Suspended")["status"] == "True"
        assert sandbox.ledger(pathContains=tcr_id) == []
        cluster.kubectl("patch", "-n", namespace, "cmig/paused", "--type=merge", "-p", '{"spec": {"suspend": false}}')
        status = wait_for_phase(cluster, namespace, "paused", "Registered")
    assert condition(status, "Suspended")["status"] == "False"


def test_suspend_annotation_also_suspends(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id()
    manifest = migration("annotated", tcr_id, phone_numbers(1))
    manifest["metadata"]["annotations"] = {"tendlc.io/suspend": "true"}
    apply(cluster, namespace, loa_secret("annotated-loa"), manifest)
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        wait_for_phase(cluster, namespace, "annotated", "Suspended")
        cluster.kubectl("annotate", "-n", namespace, "cmig/annotated", "tendlc.io/suspend-")
        wait_for_phase(cluster, namespace, "annotated", "Registered")


def test_retry_annotation_skips_the_backoff_once_and_is_echoed(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id("CST")
    env = operator_env(sandbox, namespace, TENDLC_BACKOFF_INITIAL_SECONDS="600", TENDLC_BACKOFF_MAX_SECONDS="600")
    apply(cluster, namespace, loa_secret("retry-loa"), migration("retry", tcr_id, phone_numbers(1)))
    with operator_in_process(namespace, env):
        # TCR accepts the election only after a wait; with a 10-minute backoff only a retry gets past it.
        pending = cluster.wait_for(
            lambda: (status_of(cluster, namespace, "retry").get("tcrSharingStatus") == "PENDING"
                     and status_of(cluster, namespace, "retry")),
            timeout=30, what="the election to be pending",
        )
        checked = pending.get("lastCheckedAt")
        cluster.wait_for(lambda: sandbox.campaign(tcr_id)["tcr"]["sharing"]["status"] == "ACCEPTED",
                         timeout=30, what="TCR to accept")
        cluster.kubectl("annotate", "-n", namespace, "cmig/retry", "tendlc.io/retry=now-please")
        status = wait_for_phase(cluster, namespace, "retry", "InMigration", timeout=30)
    assert status["lastHandledRetry"] == "now-please"
    assert status["lastCheckedAt"] != checked


def test_dry_run_makes_zero_mutating_calls_and_records_them(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    tcr_id = campaign_id()
    manifest = migration("rehearsal", tcr_id, phone_numbers(2))
    manifest["metadata"]["annotations"] = {"tendlc.io/dry-run": "true"}
    apply(cluster, namespace, loa_secret("rehearsal-loa"), manifest)
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        status = cluster.wait_for(
            lambda: status_of(cluster, namespace, "rehearsal").get("plannedCalls") and
            status_of(cluster, namespace, "rehearsal"),
            timeout=30, what="the planned calls",
        )
    mutating = [e for e in sandbox.ledger(since=0, limit=100_000) if e["method"] != "GET"
                and (tcr_id in e["path"] or tcr_id in json.dumps(e))]
    assert mutating == []
    assert any("/numbers/2/numbers/import" in call for call in status["plannedCalls"])
    assert condition(status, "Ready")["reason"] == "DryRun"


def test_metrics_are_served_and_parse_with_the_expected_series(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, partner_secrets: None
) -> None:
    env = operator_env(sandbox, namespace)
    apply(cluster, namespace, loa_secret("measured-loa"), migration("measured", campaign_id(), phone_numbers(1)))
    with operator_in_process(namespace, env):
        wait_for_phase(cluster, namespace, "measured", "Registered")
        text = httpx.get(f"http://127.0.0.1:{env['TENDLC_METRICS_PORT']}/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    calls = {(s.labels["partner"], s.labels["endpoint"], s.labels["status_class"]): s.value
             for s in families["tendlc_partner_calls"].samples if s.name.endswith("_total")}
    assert calls[("infobip", "campaigns.migrate", "2xx")] >= 1
    assert calls[("tcr", "campaign.migrate_cnp", "2xx")] >= 1
    phases = {s.labels["phase"]: s.value for s in families["tendlc_campaign_migrations"].samples}
    assert phases["Registered"] >= 1
    for name in ("tendlc_partner_call_duration_seconds", "tendlc_step_duration_seconds",
                 "tendlc_in_migration_duration_seconds", "tendlc_reconcile_passes", "tendlc_webhook_deliveries"):
        assert name in families, sorted(families)


def test_canary_secrets_never_appear_in_logs_events_status_or_annotations(
    cluster: Cluster, crd: str, namespace: str, tmp_path: Path
) -> None:
    canaries = {"infobip": "CANARY-infobip-5a1f9e", "tcr_key": "CANARY-tcrkey-77b2", "tcr_secret": "CANARY-tcrsec-c3d4",
                "hook": "CANARY-hook-pass-9e8d7c"}
    own = Sandbox(args=["--time-scale", "600", "--infobip-api-key", canaries["infobip"], "--tcr-api-key",
                        canaries["tcr_key"], "--tcr-api-secret", canaries["tcr_secret"]],
                  log_path=tmp_path / "sandbox.log").start()
    try:
        create_partner_secrets(cluster, namespace, infobip_key=canaries["infobip"], tcr_key=canaries["tcr_key"],
                               tcr_secret=canaries["tcr_secret"])
        cluster.kubectl("create", "secret", "generic", "webhook-auth", "-n", namespace,
                        "--from-literal=username=hooks", f"--from-literal=password={canaries['hook']}")
        port = free_port()
        env = operator_env(own, namespace, TENDLC_WEBHOOK_PORT=str(port), TENDLC_LOG_LEVEL="DEBUG",
                           TENDLC_WEBHOOK_PUBLIC_URL=f"http://127.0.0.1:{port}/webhooks/infobip",
                           TENDLC_WEBHOOK_AUTH_SECRET__NAME="webhook-auth")
        operator = OperatorProcess(env, tmp_path / "operator.log").start()
        try:
            apply(cluster, namespace, loa_secret("canary-loa"), loa_secret("canary-bad-loa"),
                  migration("canary", campaign_id(), phone_numbers(1)),
                  migration("canary-bad", campaign_id("CRJ"), phone_numbers(1)))
            wait_for_phase(cluster, namespace, "canary", "Registered")
            wait_for_phase(cluster, namespace, "canary-bad", "Failed")
        finally:
            operator.stop()
        seen = {
            "operator log": operator.log(),
            "events": cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout,
            "resources": cluster.kubectl("get", "cmig", "-n", namespace, "-o", "json").stdout,
        }
    finally:
        own.stop()
    assert "Infobip webhook subscription" in seen["operator log"]  # the webhook secrets were used
    for where, text in seen.items():
        for name, value in canaries.items():
            assert value not in text, f"{name} canary leaked into {where}"
