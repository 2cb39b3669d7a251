"""A 1,200-number pooled campaign, for real: the API server, the sandbox and the operator as a process.

The migration carries the 200 numbers that sort first; once the campaign is REGISTERED the other
1,000 are added in batches of 250 (`TENDLC_ADD_NUMBERS_BATCH_SIZE`), each exactly once (D60, D61)
across two SIGKILLs: one while the second batch's POST is in flight (Infobip applied it, the answer
is held back, the process dies waiting), one right after the third batch was recorded. The sandbox
accepts duplicates (`--accept-duplicates`), so a resent batch would be accepted and counted: the
test counts add-numbers *attempts* in its ledger. The numbers come from a ConfigMap (numbersFrom).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.cluster import Cluster
from support.migration import apply, condition, create_partner_secrets, loa_secret, status_of, wait_for_phase
from support.operator import OperatorProcess, operator_env
from support.sandbox import INFOBIP_API_KEY, Sandbox, campaign_id

pytestmark = pytest.mark.e2e

HELD_SECONDS = 3.0
NUMBERS = [f"1{7_000_000_000 + i:010d}" for i in range(1200)]


@pytest.fixture
def duplicates_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    running = Sandbox(args=["--time-scale", "600", "--accept-duplicates"], log_path=tmp_path / "sandbox.log").start()
    try:
        yield running
    finally:
        running.stop()


def _env(sandbox: Sandbox, namespace: str) -> dict[str, str]:
    # The sandbox runs 600 times faster: its add-numbers delay (60 s) is 0.1 s; the absence window
    # after an interrupted batch is scaled the same way (600 s / 600).
    return operator_env(sandbox, namespace, TENDLC_ADD_NUMBERS_BATCH_SIZE="250",
                        TENDLC_ADD_NUMBERS_ABSENCE_WINDOW_SECONDS="1")


def _numbers_config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"tendlc.io/usage": "numbers"}},
            "data": {"numbers": "\n".join(reversed(NUMBERS)) + "\n"}}


def _wait(predicate: Any, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_1200_pooled_numbers_migrate_200_then_add_1000_exactly_once_across_two_kills(
    cluster: Cluster, crd: str, namespace: str, duplicates_sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox = duplicates_sandbox
    create_partner_secrets(cluster, namespace)
    tcr_id = campaign_id()
    resource = {"apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration", "metadata": {"name": "large"},
                "spec": {"campaignId": tcr_id, "numberPoolId": "pool-7", "loaSecretRef": {"name": "large-loa"},
                         "numbersFrom": {"configMapKeyRef": {"name": "large-numbers", "key": "numbers"}}}}
    apply(cluster, namespace, loa_secret("large-loa"), _numbers_config_map("large-numbers"), resource)
    env = _env(sandbox, namespace)

    # First operator: until the second batch's POST has taken effect and its answer is held back.
    first = OperatorProcess(env, tmp_path / "operator-1.log").start()
    try:
        _wait(lambda: status_of(cluster, namespace, "large").get("phase") == "AddingNumbers", "AddingNumbers")
        sandbox.admin("PUT", "/faults", json={"slowProbability": 1.0, "slowSeconds": HELD_SECONDS,
                                              "paths": ["/add-numbers$"]})
        _wait(lambda: sandbox.successes("addNumbers", tcr_id) >= 2, "the second batch to take effect")
        first.kill()  # the second batch landed at Infobip; its 202 never reached the operator
    finally:
        first.stop()
    sandbox.admin("PUT", "/faults", json={})
    status = status_of(cluster, namespace, "large")
    marker = status["pendingOperation"]
    assert (marker["operation"], marker["count"]) == ("AddNumbers", 250), status
    assert sandbox.attempts("addNumbers", tcr_id) == 2

    # Second operator: observes that batch (no resend), sends the third, killed once it is recorded.
    second = OperatorProcess(env, tmp_path / "operator-2.log").start()
    try:
        _wait(lambda: (status_of(cluster, namespace, "large").get("numbers") or {}).get("added", 0) >= 750,
              "the third batch to be recorded")
        second.kill()
    finally:
        second.stop()
    assert sandbox.attempts("addNumbers", tcr_id) == 3

    third = OperatorProcess(env, tmp_path / "operator-3.log").start()
    try:
        done = wait_for_phase(cluster, namespace, "large", "Registered", timeout=120)
    finally:
        third.stop()

    tally = sandbox.tally("addNumbers", tcr_id)
    assert (tally["attempts"], tally["successes"]) == (4, 4), tally  # four batches, each received once
    assert sandbox.attempts("migrate", tcr_id) == 1
    assert sandbox.attempts("migrateCnp", tcr_id) == 1
    entries = [e for e in sandbox.ledger(limit=100_000) if e["endpoint"] in ("infobip.migrate", "infobip.add_numbers")
               and tcr_id in e["campaigns"]]
    sent = [sorted(e["numbers"]) for e in entries]
    assert sent[0] == NUMBERS[:200]  # the migration: the 200 that sort first
    assert sent[1:] == [NUMBERS[200 + 250 * i : 450 + 250 * i] for i in range(4)]  # each batch once, in order

    progress = done["numbers"]
    assert {key: progress[key] for key in ("total", "migrated", "added", "pending", "visible", "batches")} == {
        "total": 1200, "migrated": 200, "added": 1000, "pending": 0, "visible": 1200, "batches": 4}
    assert condition(done, "NumbersAdded")["status"] == "True"
    assert condition(done, "Ready")["status"] == "True"
    assert done["numberCount"] == 1200
    assert done["downtimeEndedAt"] == progress["completedAt"]  # numbers without service count as downtime
    answer = httpx.get(f"{sandbox.infobip_url}/number-registration/1/campaigns/{done['infobipCampaignId']}/numbers",
                       headers={"Authorization": f"App {INFOBIP_API_KEY}"}, timeout=10)
    assert sorted(p["number"] for p in answer.json()["numberPreviews"]) == NUMBERS  # every number accounted for
    object_bytes = len(json.dumps(cluster.get_json("-n", namespace, "cmig/large")))
    assert object_bytes < 20_000  # the list lives in the ConfigMap, not in every watch event of the resource
