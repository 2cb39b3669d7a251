"""Exactly once, proven on the production pass: the marker precedes every non-idempotent call, and a
process killed at any point of a migration is followed by an observation, never a second POST.

These drive `tendlc.controller.reconcile.Pass` itself (through `support.loop_driver`), counting
the requests the fake partners *received* — a refused duplicate counts too, so a resend cannot
hide behind the partner's refusal.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from support.loop_driver import T0, Crash, Effects, Executor, FakePartners, make_facts, make_spec
from tendlc.workflow import (
    Done,
    ElectCnp,
    ImportNumbers,
    ObserveElection,
    ObserveMigration,
    SubmitMigration,
    SwitchTraffic,
)

NON_IDEMPOTENT = (ElectCnp, SubmitMigration)


def _run_to_registered(executor: Executor, partners: FakePartners, start: datetime) -> None:
    """Rounds in virtual time until Registered; TCR accepts after the first election, Infobip registers."""
    now = start
    for _ in range(200):
        if partners.sharing == "PENDING":
            partners.sharing = "ACCEPTED"
        if partners.stage == "IN_MIGRATION":
            partners.stage = "REGISTERED"
        try:
            decision = executor.round(make_facts(now))
        except Crash:
            now += timedelta(seconds=1)
            continue
        if isinstance(decision, Done):
            return
        delay = getattr(decision, "delay", None) or getattr(decision, "recheck_after", None)
        now += max(delay or timedelta(seconds=1), timedelta(seconds=1))
    raise AssertionError("not registered within 200 rounds")


def _effects_of_a_clean_run() -> list[tuple[str, object]]:
    effects = Effects()
    partners = FakePartners()
    _run_to_registered(Executor(make_spec(), partners, effects=effects), partners, T0)
    return effects.log


def test_every_non_idempotent_call_is_preceded_by_its_marker_write() -> None:
    log = _effects_of_a_clean_run()
    calls = [(index, what) for index, (kind, what) in enumerate(log) if kind == "call"]
    checked = 0
    for index, action in calls:
        if not isinstance(action, NON_IDEMPOTENT):
            continue
        kind, patch = log[index - 1]
        assert kind == "write", f"{type(action).__name__} was not preceded by a status write"
        assert isinstance(patch, dict)
        assert patch["pendingOperation"]["operation"] == action.operation
        checked += 1
    assert checked == 2  # one election, one migration


def test_a_clean_run_makes_each_non_idempotent_call_once() -> None:
    log = _effects_of_a_clean_run()
    assert [type(what).__name__ for kind, what in log if kind == "call" and isinstance(what, NON_IDEMPOTENT)] == [
        "ElectCnp",
        "SubmitMigration",
    ]


@pytest.mark.parametrize("crash_before", range(1, len(_effects_of_a_clean_run()) + 1))
def test_a_kill_at_any_point_never_leads_to_a_second_post(crash_before: int) -> None:
    effects = Effects(crash_before=crash_before)
    partners = FakePartners()
    executor = Executor(make_spec(), partners, effects=effects)
    _run_to_registered(executor, partners, T0)
    assert effects.crash_before is None, "the kill point was never reached"
    assert partners.count(ElectCnp) == 1
    assert partners.count(SubmitMigration) == 1
    assert executor.stored.infobip_campaign_id is not None
    assert executor.stored.pending_operation is None


@pytest.mark.parametrize("operation", NON_IDEMPOTENT)
def test_a_kill_after_the_post_reached_the_partner_is_followed_by_an_observation(operation: type) -> None:
    partners = FakePartners(sharing="ACCEPTED" if operation is SubmitMigration else None)
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=operation)
    marker = executor.stored.pending_operation
    assert marker is not None
    assert marker.operation == operation.operation
    executor.round(make_facts(T0 + timedelta(hours=12)))
    observe = ObserveElection if operation is ElectCnp else ObserveMigration
    after_crash = partners.calls[partners.calls.index(next(c for c in partners.calls if isinstance(c, operation))) + 1:]
    assert isinstance(after_crash[0], observe)
    assert partners.count(operation) == 1


def test_the_import_is_never_guarded_by_a_marker_because_it_may_be_repeated() -> None:
    log = _effects_of_a_clean_run()
    index = next(i for i, (kind, what) in enumerate(log) if kind == "call" and isinstance(what, ImportNumbers))
    previous_writes = [what for kind, what in log[:index] if kind == "write"]
    assert all("pendingOperation" not in patch for patch in previous_writes if isinstance(patch, dict))


# --- the cut-over: resent only when a kill lost its answer, and always under the same key ----------

CUTOVER = {"cutover": {"configMap": {"name": "routing", "key": "{campaignId}"},
                       "webhook": {"url": "https://router.example.com/cutover", "secretRef": {"name": "hmac"}}}}


def _effects_with_cutover() -> list[tuple[str, object]]:
    effects = Effects()
    partners = FakePartners()
    _run_to_registered(Executor(make_spec(**CUTOVER), partners, effects=effects), partners, T0)
    return effects.log


def test_the_cut_over_is_guarded_by_its_marker_and_made_once_in_a_clean_run() -> None:
    log = _effects_with_cutover()
    switches = [index for index, (kind, what) in enumerate(log) if kind == "call" and isinstance(what, SwitchTraffic)]
    assert len(switches) == 1
    kind, patch = log[switches[0] - 1]
    assert kind == "write"
    assert isinstance(patch, dict)
    assert patch["pendingOperation"]["operation"] == "SwitchTraffic"
    after = [what for kind, what in log[switches[0] + 1:] if kind == "write"]
    assert after
    assert isinstance(after[0], dict)
    assert after[0]["trafficSwitchedAt"]


@pytest.mark.parametrize("crash_before", range(1, len(_effects_with_cutover()) + 1))
def test_a_kill_anywhere_resends_the_cut_over_only_when_its_answer_was_lost(crash_before: int) -> None:
    clean = _effects_with_cutover()
    switch_at = next(i for i, (kind, what) in enumerate(clean, 1) if kind == "call" and isinstance(what, SwitchTraffic))
    effects = Effects(crash_before=crash_before)
    partners = FakePartners()
    executor = Executor(make_spec(**CUTOVER), partners, effects=effects)
    _run_to_registered(executor, partners, T0)
    assert effects.crash_before is None, "the kill point was never reached"
    attempts = partners.count(SwitchTraffic)
    # Killed right after the call reached the endpoint (before its answer was stored): the one resend
    # the design allows (D58). Anywhere else: exactly one attempt.
    assert attempts == (2 if crash_before == switch_at + 1 else 1)
    assert len(partners.switched) == 1, "every attempt must carry the same idempotency key"
    assert partners.count(ElectCnp) == 1
    assert partners.count(SubmitMigration) == 1
    stored = executor.stored
    assert stored.traffic_switched_at is not None
    assert stored.pending_operation is None
    assert stored.downtime_ended_at == stored.traffic_switched_at
