"""The whole happy path, Infobip-managed NNID: decide/record alternated by hand, then by the fake executor."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.loop_driver import CONFIG, POLICY, T0, UUID, Executor, FakePartners, make_facts, make_spec
from tendlc.api import MigrationStatus, Phase
from tendlc.partner_errors import PartnerNotFound
from tendlc.workflow import (
    Act,
    CampaignObserved,
    Done,
    ElectCnp,
    ElectionObserved,
    ImportNumbers,
    ImportResult,
    MigrationNotFound,
    ObserveElection,
    ObserveMigration,
    Park,
    PollCampaign,
    SubmitMigration,
    Wait,
    decide,
    record,
)

# (minutes after T0, expected action or decision type, outcome fed back, phase after decide), under
# the operator's default policy: two searches of Infobip that find nothing, at least 60 s apart, before
# the migration is submitted (D24) — the first while TCR decides, the second once it accepted.
HAPPY_PATH = [
    (0, ImportNumbers, ImportResult(2), Phase.IMPORTING_NUMBERS),
    (0, ObserveElection, ElectionObserved(None, None), Phase.ELECTING_CNP),
    (0, ElectCnp, ElectionObserved("OPMKT", "PENDING"), Phase.ELECTING_CNP),
    (0, ObserveMigration, MigrationNotFound(), Phase.ELECTING_CNP),
    (0, Wait, None, Phase.ELECTING_CNP),
    (1, ObserveElection, ElectionObserved("OPMKT", "PENDING"), Phase.ELECTING_CNP),
    (1, Wait, None, Phase.ELECTING_CNP),
    (5, ObserveElection, ElectionObserved("OPMKT", "ACCEPTED"), Phase.ELECTING_CNP),
    (5, ObserveMigration, MigrationNotFound(), Phase.SUBMITTING_MIGRATION),
    (5, SubmitMigration, CampaignObserved(UUID, "IN_MIGRATION", created=True), Phase.SUBMITTING_MIGRATION),
    (5, Wait, None, Phase.IN_MIGRATION),
    (6, PollCampaign, CampaignObserved(UUID, "IN_MIGRATION"), Phase.IN_MIGRATION),
    (6, Wait, None, Phase.IN_MIGRATION),
    (60, PollCampaign, CampaignObserved(UUID, "REGISTERED"), Phase.IN_MIGRATION),
    (60, Done, None, Phase.REGISTERED),
]


def test_happy_path_table_alternating_decide_and_record() -> None:
    spec = make_spec()
    status = MigrationStatus()
    policy = CONFIG.policy(random=lambda: 0.5)
    for minutes, expected, outcome, phase in HAPPY_PATH:
        facts = make_facts(T0 + timedelta(minutes=minutes))
        decision = decide(spec, status, facts, policy)
        assert decision.status.phase == phase, (minutes, expected)
        if isinstance(decision, Act):
            assert isinstance(decision.action, expected), (minutes, decision)
            if not decision.action.idempotent:
                assert decision.status.pending_operation is not None
                assert decision.status.pending_operation.operation == expected.__name__
            assert outcome is not None
            status = record(spec, decision.status, decision.action, outcome, facts, policy)
        else:
            assert isinstance(decision, expected), (minutes, decision)
            status = decision.status
    assert status.infobip_campaign_id == UUID
    ready = status.condition("Ready")
    assert ready is not None
    assert ready.status == "True"


def test_happy_path_reaches_registered_with_one_post_of_each_kind() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    first = executor.round(make_facts(T0))
    assert isinstance(first, Wait)
    assert first.status.phase is Phase.ELECTING_CNP
    assert first.status.tcr_sharing_status == "PENDING"

    partners.sharing = "ACCEPTED"
    after_accept = executor.round(make_facts(T0 + first.delay))
    assert isinstance(after_accept, Wait)
    status = after_accept.status
    assert status.phase is Phase.IN_MIGRATION
    assert status.infobip_campaign_id == UUID
    assert status.infobip_stage == "IN_MIGRATION"
    assert status.migration_submitted_at == T0 + first.delay
    assert status.pending_operation is None

    partners.stage = "REGISTERED"
    done = executor.until(T0 + first.delay, Done)
    assert done.status.phase is Phase.REGISTERED
    assert done.status.registered_at is not None
    assert done.status.downtime_ended_at == done.status.registered_at
    assert [type(c).__name__ for c in partners.mutating_calls()] == ["ImportNumbers", "ElectCnp", "SubmitMigration"]
    conditions = {c.type: (c.status, c.reason) for c in done.status.conditions}
    assert conditions == {
        "LoaValid": ("True", "LoaValid"),
        "NumbersImported": ("True", "NumbersImported"),
        "CnpElected": ("True", "CnpElected"),
        "MigrationSubmitted": ("True", "MigrationSubmitted"),
        "Registered": ("True", "Registered"),
        "Ready": ("True", "Registered"),
    }
    assert executor.events[-1].reason == "SwitchTraffic"
    assert "switch" in executor.events[-1].message.lower()
    assert done.status.number_count == 2
    assert done.status.observed_generation == 1


def test_one_event_per_phase_change_on_the_happy_path() -> None:
    """Five Events: each phase entered once, then SwitchTraffic; ElectionPending stays a condition reason."""
    partners = FakePartners(sharing=None)
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    partners.sharing = "ACCEPTED"
    submitted = executor.until(T0 + timedelta(hours=1), Wait)
    assert submitted.status.phase == Phase.IN_MIGRATION
    partners.stage = "REGISTERED"
    executor.until(T0 + timedelta(days=1), Done)
    assert [(e.type, e.reason) for e in executor.events] == [
        ("Normal", "ImportingNumbers"),
        ("Normal", "ElectingCnp"),
        ("Normal", "SubmittingMigration"),
        ("Normal", "InMigration"),
        ("Normal", "SwitchTraffic"),
    ]


def test_a_warning_and_the_recovery_from_it_each_get_an_event_within_one_phase() -> None:
    """Infobip briefly not knowing the campaign is a Warning; the next good poll is a Normal Event, same phase."""
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    partners.faults[PollCampaign] = [PartnerNotFound("Infobip", "campaign", "Not found", status=404)]
    parked = executor.until(T0 + timedelta(hours=1), Park)
    assert parked.status.phase == Phase.IN_MIGRATION
    assert [(e.type, e.reason) for e in executor.events][-1] == ("Warning", "CampaignNotFound")
    recovered = executor.until(T0 + timedelta(hours=2), Wait)
    assert recovered.status.phase == Phase.IN_MIGRATION
    assert [(e.type, e.reason) for e in executor.events][-2:] == [
        ("Warning", "CampaignNotFound"),
        ("Normal", "InMigration"),
    ]


def test_registered_is_final_and_quiet() -> None:
    partners = FakePartners(sharing="ACCEPTED", stage=None)
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    partners.stage = "REGISTERED"
    executor.until(T0, Done)
    calls, events = len(partners.calls), len(executor.events)
    again = executor.round(make_facts(T0 + timedelta(days=3)))
    assert isinstance(again, Done)
    assert len(partners.calls) == calls
    assert len(executor.events) == events


def test_an_existing_accepted_election_is_never_posted_again() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    assert partners.count(ElectCnp) == 0
    assert partners.count(SubmitMigration) == 1


@pytest.mark.parametrize("sharing", ["PENDING", "ACCEPTED"])
def test_election_refused_because_it_already_exists_is_adopted(sharing: str) -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    # TCR shows nothing at first read, but the POST finds an election (someone else's earlier attempt).
    partners.faults[ObserveElection] = [ElectionObserved(None, None)]  # type: ignore[list-item]
    partners.sharing = sharing
    decision = executor.round(make_facts(T0))
    assert partners.count(ElectCnp) == 1
    assert decision.status.problem is None
    assert decision.status.tcr_sharing_status == sharing


def test_decide_is_pure_same_input_same_output() -> None:
    spec, status = make_spec(), MigrationStatus()
    facts = make_facts(T0)
    assert decide(spec, status, facts, POLICY) == decide(spec, status, facts, POLICY)
    assert status == MigrationStatus()  # the input is never mutated


def test_changed_numbers_before_submission_are_imported_again() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    assert partners.count(ImportNumbers) == 1
    executor.spec = make_spec(numbers=["19546899283", "19168361160", "13055550100"])
    executor.round(make_facts(T0 + timedelta(hours=1), generation=2))
    assert partners.count(ImportNumbers) == 2
    assert "13055550100" in partners.imported
    assert partners.count(ElectCnp) == 1
