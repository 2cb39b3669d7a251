"""The restart storm's seed and figures: a seeded status is one the operator leaves alone until it is due,
an early poll and a bookkeeping-only write are counted, a burst is seen."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from bench.storm_analyze import arrival_pacing, due_polls, early_polls, writes_by_resource
from bench.storm_status import operator_settings, operator_status, with_next_check

from tendlc.api.status import MigrationStatus
from tendlc.controller.reconcile import spec_of
from tendlc.workflow import Act, CampaignObserved, Facts, LoaFacts, PollCampaign, Wait, decide, record

UUID = "3f2a6a44-1111-4222-8333-444455556666"
RESTART = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
BODY: dict[str, Any] = {
    "apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration",
    "metadata": {"name": "bench-00000", "namespace": "bench", "generation": 1},
    "spec": {"campaignId": "CST0000", "numbers": ["12000000000", "12000000001"], "loaSecretRef": {"name": "loa"}},
}


@pytest.fixture(scope="module")
def seeded() -> MigrationStatus:
    policy = operator_settings({}).policy(random=lambda: 0.5)
    return operator_status(BODY, UUID, RESTART, policy, loa_signed=RESTART.date())


def restart_pass(status: MigrationStatus, now: dt.datetime) -> tuple[Any, MigrationStatus]:
    """What the restarted operator decides first, with the status as read back from the API server."""
    spec = spec_of(BODY, "OPMKT")
    loaded = MigrationStatus.from_dict(status.to_dict())
    facts = Facts(now=now, loa=LoaFacts.ok(RESTART.date()), generation=1)
    return decide(spec, loaded, facts, operator_settings({}).policy(random=lambda: 0.5)), loaded


def test_the_seed_is_an_operator_status_waiting_in_in_migration(seeded: MigrationStatus) -> None:
    assert seeded.phase == "InMigration"
    assert seeded.infobip_campaign_id == UUID
    assert seeded.infobip_stage == "IN_MIGRATION"
    assert seeded.pending_operation is None
    assert seeded.attempts > 1  # it has been polled for a while
    ready = seeded.condition("Ready")
    assert ready is not None
    assert ready.reason == "InMigration"


def test_a_restart_pass_before_next_check_changes_nothing(seeded: MigrationStatus) -> None:
    status = with_next_check(seeded, RESTART + dt.timedelta(minutes=10))
    decision, loaded = restart_pass(status, RESTART)
    assert isinstance(decision, Wait)
    assert decision.event is None
    assert decision.status.to_patch(loaded) == {}


def test_a_due_restart_pass_polls_and_moves_only_the_bookkeeping(seeded: MigrationStatus) -> None:
    status = with_next_check(seeded, RESTART - dt.timedelta(seconds=30))
    decision, loaded = restart_pass(status, RESTART)
    assert isinstance(decision, Act)
    assert isinstance(decision.action, PollCampaign)
    facts = Facts(now=RESTART, loa=LoaFacts.ok(RESTART.date()), generation=1)
    policy = operator_settings({}).policy(random=lambda: 0.5)
    spec = spec_of(BODY, "OPMKT")
    after = record(spec, decision.status, decision.action, CampaignObserved(UUID, "IN_MIGRATION"), facts, policy)
    settled = decide(spec, after, facts, policy)
    assert isinstance(settled, Wait)
    assert settled.event is None
    assert set(settled.status.to_patch(loaded)) == {"lastCheckedAt", "nextCheckAt", "attempts"}


def poll(uuid: str, at: float, status: int = 200) -> dict[str, Any]:
    return {"endpoint": "infobip.campaign", "infobipCampaignId": uuid, "wallTime": at, "status": status}


def test_early_polls_count_only_polls_before_next_check() -> None:
    uuid, due = {"a": "u-a", "b": "u-b"}, {"a": False, "b": False}
    ledger = [poll("u-a", 99.0), poll("u-a", 101.0), poll("u-b", 300.0)]
    result = early_polls(ledger, uuid, due, {"a": 100.0, "b": 200.0}, window_end=400.0)
    assert result["earlyPolls"] == 1
    assert result["resourcesPolledEarly"] == 1
    assert result["polledOnceDue"] == 2
    assert result["firstPollAfterNextCheckAtSeconds"]["max"] == pytest.approx(100.0)


def test_due_polls_at_the_ceiling_score_one_and_a_429_stretches_the_answered_span() -> None:
    names = [f"r{k}" for k in range(11)]
    uuid, due = {n: f"u-{n}" for n in names}, dict.fromkeys(names, True)
    at_ceiling = [poll(f"u-{n}", 10.0 + k * 0.1) for k, n in enumerate(names)]
    result = due_polls(at_ceiling, uuid, due, t_start=9.0, t_ready=9.5, scale=1.0)
    assert result["efficiency"] == pytest.approx(1.0)
    assert result["allObserved"]
    refused = [*at_ceiling[:-1], poll("u-r10", 11.0, 429), poll("u-r10", 30.0)]
    stretched = due_polls(refused, uuid, due, t_start=9.0, t_ready=9.5, scale=1.0)
    assert stretched["firstRequests"]["efficiency"] == pytest.approx(1.0)
    assert stretched["efficiency"] == pytest.approx(10 / 20.0 / 10.0)
    assert stretched["allObservedAfterStartSeconds"] == pytest.approx(21.0)


def test_writes_are_attributed_by_version_and_changed_keys() -> None:
    seed = {"a": {"phase": "InMigration", "attempts": 3}, "b": {"phase": "InMigration", "attempts": 3},
            "c": {"phase": "InMigration", "attempts": 3}}
    versions = {"a": "10", "b": "11", "c": "12"}
    final = [
        {"metadata": {"name": "a", "resourceVersion": "10"}, "status": seed["a"]},
        {"metadata": {"name": "b", "resourceVersion": "20"}, "status": {"phase": "InMigration", "attempts": 4}},
        {"metadata": {"name": "c", "resourceVersion": "21"},
         "status": {"phase": "InMigration", "attempts": 4, "lastError": "HTTP 429"}},
    ]
    result = writes_by_resource(seed, versions, final)
    assert (result["notWritten"], result["writtenOnlyPollBookkeeping"], result["writtenWithOtherChanges"]) == (1, 1, 1)


def test_a_burst_after_a_silence_is_the_most_in_one_second() -> None:
    times = [0.1 * k for k in range(10)] + [3.0 + 0.01 * k for k in range(15)]
    result = arrival_pacing([poll("u", t) for t in times], scale=1.0, t0=0.0)
    assert result["mostInAnyOneSecond"] == 15
    assert result["longestGaps"][0]["seconds"] == pytest.approx(3.0 - 0.9)
