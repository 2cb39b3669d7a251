"""The operator against the other plausible partners: each behaviour our sandbox only guessed, switched.

For every alternative (docs/sandbox.md, docs/decisions.md D31) one sandbox process behaves that way
— and accepts duplicates, so a resent POST becomes a second campaign instead of being refused —
while one real operator process migrates two campaigns on the shared cluster:

- the happy path: a campaign to Registered;
- the crash: a second campaign whose migrate is held in flight (the sandbox applies it, then sits
  on the answer); the operator is SIGKILLed while it waits, and a new process takes over.

Both must end Registered with exactly one election and one migrate *received* by the sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.cluster import Cluster
from support.migration import apply, create_partner_secrets, loa_secret, migration, status_of, wait_for_phase
from support.operator import OperatorProcess, operator_env
from support.sandbox import INFOBIP_API_KEY, Sandbox, campaign_id, phone_numbers

pytestmark = pytest.mark.e2e

ALTERNATIVES: dict[str, list[str]] = {
    # The import's answer (D1 is a guess): other shapes, asynchronous, other "already there" words.
    "import-numbers-shape": ["--import-answer", "numbers"],
    "import-empty-answer": ["--import-answer", "empty"],
    "import-accepted-async": ["--import-answer", "accepted", "--import-delay", "300"],
    "import-request-id": ["--import-answer", "accepted_request_id"],
    "import-already-owned": ["--import-already-status", "ALREADY_OWNED"],
    # The migrate's answer and the error bodies.
    "migrate-201-extra-fields-api-errors": ["--migrate-status", "201", "--extra-campaign-fields",
                                            "--error-shape", "api_error", "--retry-after"],
    # Eventual consistency: the list hides a new campaign for a while (3 s here; the window is 5.1 s).
    "list-lags-a-create": ["--list-lag", "1800"],
    # Stages the workflow does not name.
    "paused-and-unknown-stages": ["--interim-stage", "PAUSED", "--interim-stage", "UPDATE_REQUESTED_BY_CARRIERS",
                                  "--interim-stage-seconds", "300"],
    # Webhooks sent twice and in reverse order.
    "webhooks-duplicated-reversed": ["--webhook-duplicates", "--webhook-reverse"],
}
HELD_SECONDS = 3.0


@pytest.fixture(params=sorted(ALTERNATIVES))
def alternative(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Sandbox]]:
    name = request.param
    args = ["--time-scale", "600", "--accept-duplicates", *ALTERNATIVES[name]]
    running = Sandbox(args=args, log_path=tmp_path / "sandbox.log").start()
    try:
        yield name, running
    finally:
        running.stop()


def _hold_migrate(sandbox: Sandbox) -> None:
    """Every migrate takes effect at once and is answered HELD_SECONDS later (a POST in flight)."""
    sandbox.admin("PUT", "/faults", json={"slowProbability": 1.0, "slowSeconds": HELD_SECONDS,
                                          "paths": ["/campaigns/migrate$"]})


def _preimport(sandbox: Sandbox, numbers: list[str]) -> None:
    """The numbers are in the account already, so the operator's import meets the 'already' word."""
    for _ in range(20):
        answer = httpx.post(f"{sandbox.infobip_url}/numbers/2/numbers/import", timeout=10,
                            headers={"Authorization": f"App {INFOBIP_API_KEY}"},
                            json={"numbers": numbers, "country": "US", "type": "VIRTUAL_LONG_NUMBER",
                                  "capabilities": ["SMS", "MMS"], "skipOsrUpdate": True})
        if answer.status_code != 429:
            break
        time.sleep(0.5)
    assert answer.status_code < 300, answer.text


def _wait_for_marker(cluster: Cluster, namespace: str, name: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = status_of(cluster, namespace, name)
        marker = status.get("pendingOperation") or {}
        if marker.get("operation") == "SubmitMigration":
            return status
        time.sleep(0.1)
    raise AssertionError(f"{name}: no SubmitMigration marker within {timeout} s: {status_of(cluster, namespace, name)}")


def test_happy_path_and_a_kill_mid_migrate_under_each_alternative(
    cluster: Cluster, crd: str, namespace: str, alternative: tuple[str, Sandbox], tmp_path: Path
) -> None:
    name, sandbox = alternative
    create_partner_secrets(cluster, namespace)
    happy_id, crash_id = campaign_id(), campaign_id()
    happy_numbers, crash_numbers = phone_numbers(2), phone_numbers(2)
    if name == "import-already-owned":
        _preimport(sandbox, happy_numbers + crash_numbers)
    env = operator_env(sandbox, namespace)

    first = OperatorProcess(env, tmp_path / "operator-1.log").start()
    try:
        apply(cluster, namespace, loa_secret("happy-loa"), migration("happy", happy_id, happy_numbers))
        wait_for_phase(cluster, namespace, "happy", "Registered", timeout=90)
        _hold_migrate(sandbox)
        apply(cluster, namespace, loa_secret("crash-loa"), migration("crash", crash_id, crash_numbers))
        _wait_for_marker(cluster, namespace, "crash")
        time.sleep(0.5)  # the POST is on the wire (its answer is held for HELD_SECONDS)
        first.kill()
    finally:
        first.stop()
    sandbox.admin("PUT", "/faults", json={})

    second = OperatorProcess(env, tmp_path / "operator-2.log").start()
    try:
        crashed = wait_for_phase(cluster, namespace, "crash", "Registered", timeout=90)
    finally:
        second.stop()

    for tcr_id in (happy_id, crash_id):
        assert sandbox.attempts("migrateCnp", tcr_id) == 1, (name, tcr_id)
        assert sandbox.attempts("migrate", tcr_id) == 1, (name, tcr_id)  # accept-duplicates: a resend would land
    assert crashed["infobipCampaignId"]
    submitted = next(c for c in crashed["conditions"] if c["type"] == "MigrationSubmitted")
    assert submitted["reason"] == "MigrationAdopted"  # found after the kill, not sent again
