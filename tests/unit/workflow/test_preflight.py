"""`spec.mode: Preflight` (D64-D67): documented reads in, Eligible and stable reasons out, nothing written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from support.loop_driver import POLICY, T0, Executor, FakePartners, make_facts, make_spec
from tendlc.api import MigrationStatus, Phase
from tendlc.workflow import (
    Act,
    ImportNumbers,
    LoaFacts,
    NumbersSourceProblem,
    Park,
    RunPreflight,
    WaveGate,
    decide,
    record,
)
from tendlc.workflow.preflight_actions import (
    CampaignHolding,
    ElectionSeen,
    ExistingMigration,
    OwnedSeen,
    PreflightObserved,
    ReadFailed,
    TcrCampaignSeen,
)

NUMBERS = ["19546899283", "19168361160"]


def observed(**changes: Any) -> PreflightObserved:
    """What a clean campaign's reads show: ACTIVE, approved everywhere, no election, no other campaign."""
    values: dict[str, Any] = {
        "tcr_campaign": TcrCampaignSeen("ACTIVE"),
        "operation_status": (("10017", "APPROVED"), ("10035", "APPROVED"), ("10037", "APPROVED")),
        "election": ElectionSeen(None, None),
        "owned": OwnedSeen(0),
        "holding": (),
        "existing": None,
    }
    values.update(changes)
    return PreflightObserved(**values)


def preflight(seen: PreflightObserved, *, spec_changes: dict[str, Any] | None = None, **facts: Any) -> MigrationStatus:
    """decide → RunPreflight → record → decide: the status the preflight settles on."""
    spec = make_spec(mode="Preflight", **(spec_changes or {}))
    status = MigrationStatus()
    the_facts = make_facts(T0, **facts)
    decision = decide(spec, status, the_facts, POLICY)
    assert isinstance(decision, Act)
    assert isinstance(decision.action, RunPreflight)
    assert not decision.action.mutating
    status = record(spec, decision.status, decision.action, seen, the_facts, POLICY)
    settled = decide(spec, status, the_facts, POLICY)
    assert isinstance(settled, Park)
    return settled.status


def reasons(status: MigrationStatus) -> list[str]:
    assert status.preflight is not None
    return [item.reason for item in status.preflight.problems]


def test_a_clean_campaign_is_eligible_and_lists_what_no_read_shows() -> None:
    status = preflight(observed(owned=OwnedSeen(1)))
    eligible = status.condition("Eligible")
    assert eligible is not None
    assert (eligible.status, eligible.reason) == ("True", "Eligible")
    assert status.phase is Phase.PREFLIGHT
    ready = status.condition("Ready")
    assert ready is not None
    assert (ready.status, ready.reason) == ("False", "Preflight")
    assert "spec.mode to Migrate" in ready.message
    assert status.preflight is not None
    assert status.preflight.eligible
    assert {item.check for item in status.preflight.not_checked} == {"ImportEnabled", "MigrationApiEnabled"}
    assert [(n.reason, n.count) for n in status.preflight.notes] == [("NumbersInAccount", 1)]
    assert status.preflight.planned_submission_at == T0


@pytest.mark.parametrize(
    ("seen", "reason", "count", "words"),
    [
        (observed(tcr_campaign=TcrCampaignSeen("EXPIRED")), "CampaignExpired", None, "EXPIRED"),
        (observed(tcr_campaign=TcrCampaignSeen(None, found=False)), "TcrCampaignNotFound", None, "404"),
        (observed(operation_status=(("10017", "APPROVED"), ("10035", "SUSPENDED"))), "CampaignSuspended", 1,
         "T-Mobile (10035)"),
        (observed(operation_status=(("10037", "REJECTED"),)), "CampaignRejectedByCarrier", 1, "Verizon (10037)"),
        (observed(election=ElectionSeen("OTHERCNP", "PENDING")), "ElectionOpenElsewhere", None, "OTHERCNP"),
        (observed(holding=(CampaignHolding("44e8-other", "COTHER1", "REGISTERED", ("19546899283",)),)),
         "NumbersInOtherCampaign", 1, "COTHER1"),
    ],
    ids=["expired", "unknown-at-tcr", "suspended", "rejected-by-carrier", "election-elsewhere", "numbers-used"],
)
def test_each_partner_problem_has_its_reason(seen: PreflightObserved, reason: str, count: int | None,
                                             words: str) -> None:
    status = preflight(seen)
    assert reasons(status) == [reason]
    assert status.preflight is not None
    (problem,) = status.preflight.problems
    assert problem.count == count
    assert words in problem.message
    eligible = status.condition("Eligible")
    assert eligible is not None
    assert (eligible.status, eligible.reason) == ("False", reason)
    ready = status.condition("Ready")
    assert ready is not None
    assert ready.reason == reason  # a Warning Event names the problem


def test_the_lOA_is_checked_against_the_planned_submission_not_today() -> None:
    signed = date(2026, 11, 15)  # 5 days before T0: valid now, valid until 2026-12-15
    not_before = datetime(2026, 12, 20, tzinfo=UTC).isoformat()
    status = preflight(observed(), spec_changes={"notBefore": not_before}, loa=LoaFacts.ok(signed))
    assert reasons(status) == ["LoaExpiresBeforeSubmission"]
    assert status.preflight is not None
    assert status.preflight.planned_submission_at == datetime(2026, 12, 20, tzinfo=UTC)
    assert "2026-12-15" in status.preflight.problems[0].message
    wave = WaveGate("w1", released=True, submission_open=False, next_window=T0 + timedelta(days=40))
    window = preflight(observed(), loa=LoaFacts.ok(signed), wave=wave)
    assert reasons(window) == ["LoaExpiresBeforeSubmission"]  # the wave's next window counts the same way
    assert reasons(preflight(observed(), loa=LoaFacts.ok(date(2026, 9, 1)))) == ["LoaExpired"]
    unlabeled = LoaFacts(signed_date=signed, unlabeled_fix="kubectl label secret cojd655-loa tendlc.io/usage=loa")
    assert reasons(preflight(observed(), loa=unlabeled)) == ["LoaSecretNotLabeled"]


def test_more_than_49_numbers_without_a_pool_is_a_problem_and_a_pool_makes_it_a_plan() -> None:
    many = [f"1954{i:07d}" for i in range(50)]
    assert reasons(preflight(observed(), spec_changes={"numbers": many})) == ["TooManyNumbersWithoutPool"]
    large = [f"1954{i:07d}" for i in range(1200)]
    pooled = preflight(observed(), spec_changes={"numbers": large, "numberPoolId": "pool-7"})
    assert reasons(pooled) == []
    assert pooled.preflight is not None
    notes = {note.reason: note for note in pooled.preflight.notes}
    assert notes["NumbersToAdd"].count == 1000
    assert "NumberPool" in {item.check for item in pooled.preflight.not_checked}


def test_several_problems_are_reported_together_in_a_stable_order() -> None:
    seen = observed(
        tcr_campaign=TcrCampaignSeen("EXPIRED"),
        election=ElectionSeen("OTHERCNP", "ACCEPTED"),
        holding=(CampaignHolding("44e8-other", "COTHER1", "IN_MIGRATION", tuple(NUMBERS)),),
    )
    status = preflight(seen, loa=LoaFacts.ok(date(2026, 9, 1)))
    assert reasons(status) == ["CampaignExpired", "ElectionOpenElsewhere", "LoaExpired", "NumbersInOtherCampaign"]
    assert status.preflight is not None
    assert status.preflight.problems[-1].count == 2


def test_a_failed_read_is_not_checked_and_the_others_still_count() -> None:
    seen = observed(operation_status=ReadFailed("HTTP 503"), election=ElectionSeen("OTHERCNP", "PENDING"))
    status = preflight(seen)
    assert reasons(status) == ["ElectionOpenElsewhere"]
    assert status.preflight is not None
    failed = [item for item in status.preflight.not_checked if item.check == "TcrOperationStatus"]
    assert [(item.reason, "HTTP 503" in item.message) for item in failed] == [("ReadFailed", True)]


def test_informative_findings_are_notes_not_problems() -> None:
    seen = observed(
        election=ElectionSeen("OPMKT", "PENDING"),
        existing=ExistingMigration("44e8-ours", "IN_MIGRATION"),
        holding=(CampaignHolding("44e8-ours", "COJD655", "IN_MIGRATION", tuple(NUMBERS)),
                 CampaignHolding("44e8-old", "COTHER1", "DEREGISTERED", tuple(NUMBERS))),
    )
    status = preflight(seen)
    assert reasons(status) == []
    assert status.preflight is not None
    assert {note.reason for note in status.preflight.notes} == {"ElectionExists", "MigrationExists", "NumbersInAccount"}


def test_without_credentials_nothing_is_read_and_the_partner_checks_are_not_checked() -> None:
    spec = make_spec(mode="Preflight")
    facts = make_facts(T0, credentials_problem="Secret 'partner-tcr' does not exist")
    decision = decide(spec, MigrationStatus(), facts, POLICY)
    assert isinstance(decision, Park)
    assert reasons(decision.status) == ["CredentialsMissing"]
    assert decision.status.preflight is not None
    not_read = {item.check for item in decision.status.preflight.not_checked if item.reason == "NotRead"}
    assert not_read == {"TcrCampaign", "TcrOperationStatus", "TcrSharing", "InfobipOwnedNumbers",
                        "InfobipNumberUse", "InfobipExistingMigration"}


def test_the_reads_are_made_again_after_the_refresh_a_retry_or_a_spec_change_only() -> None:
    spec = make_spec(mode="Preflight")
    partners = FakePartners(preflight=observed())
    executor = Executor(spec, partners)
    executor.round(make_facts(T0))
    executor.round(make_facts(T0 + timedelta(minutes=5)))
    assert partners.count(RunPreflight) == 1
    executor.round(make_facts(T0 + POLICY.preflight_refresh + timedelta(seconds=1)))
    assert partners.count(RunPreflight) == 2
    executor.round(make_facts(T0 + POLICY.preflight_refresh + timedelta(minutes=1), generation=2))
    assert partners.count(RunPreflight) == 3
    assert partners.mutating_calls() == []


def test_a_preflight_never_asks_for_a_partner_write() -> None:
    spec = make_spec(mode="Preflight")
    partners = FakePartners(preflight=observed(tcr_campaign=TcrCampaignSeen("EXPIRED")))
    executor = Executor(spec, partners)
    now = T0
    for _ in range(30):
        executor.round(make_facts(now))
        now += timedelta(hours=1)
    assert partners.calls
    assert partners.mutating_calls() == []
    assert executor.stored.phase is Phase.PREFLIGHT


def test_not_before_holds_every_partner_call_until_then() -> None:
    spec = make_spec(notBefore=(T0 + timedelta(hours=2)).isoformat())
    decision = decide(spec, MigrationStatus(), make_facts(T0), POLICY)
    assert isinstance(decision, Park)
    assert decision.recheck_after == timedelta(hours=2)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "NotBefore"
    later = decide(spec, decision.status, make_facts(T0 + timedelta(hours=2)), POLICY)
    assert isinstance(later, Act)
    assert isinstance(later.action, ImportNumbers)


def test_an_unreadable_number_source_parks_with_its_reason() -> None:
    spec = make_spec(numbers=[], numbersFrom={"configMapKeyRef": {"name": "cojd655-numbers", "key": "numbers"}})
    problem = NumbersSourceProblem("NumbersConfigMapNotLabeled", "ConfigMap 'cojd655-numbers' does not opt in")
    decision = decide(spec, MigrationStatus(number_count=2), make_facts(T0, numbers_problem=problem), POLICY)
    assert isinstance(decision, Park)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "NumbersConfigMapNotLabeled"
    assert decision.status.number_count == 2  # the last known count stays


def test_switching_to_migrate_starts_at_once_whatever_the_preflight_refresh() -> None:
    partners = FakePartners(preflight=observed())
    executor = Executor(make_spec(mode="Preflight"), partners)
    executor.round(make_facts(T0))
    executor.spec = make_spec(mode="Migrate")
    decision = executor.round(make_facts(T0 + timedelta(minutes=1), generation=2))
    assert partners.count(ImportNumbers) == 1
    assert decision.status.phase is not Phase.PREFLIGHT


def test_a_refused_endpoint_or_unlabeled_credentials_keep_their_own_reason() -> None:
    spec = make_spec(mode="Preflight")
    facts = make_facts(T0, credentials_problem="Secret 'acme' is not labeled",
                       credentials_reason="CredentialsSecretNotLabeled")
    decision = decide(spec, MigrationStatus(), facts, POLICY)
    assert reasons(decision.status) == ["CredentialsSecretNotLabeled"]
