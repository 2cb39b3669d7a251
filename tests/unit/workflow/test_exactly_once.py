"""Exactly once across restarts: a pending marker is resolved by observing, never by guessing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.loop_driver import (
    POLICY,
    T0,
    UUID,
    Crash,
    Executor,
    FakePartners,
    already_in_migration,
    make_facts,
    make_spec,
)
from tendlc.api import Phase
from tendlc.partner_errors import PartnerResponseInvalid, PartnerUnavailable
from tendlc.workflow import (
    Act,
    Annotations,
    CampaignObserved,
    ElectCnp,
    MigrationNotFound,
    ObserveElection,
    ObserveMigration,
    Park,
    SubmitMigration,
    Wait,
    decide,
)


def test_marker_is_in_the_status_handed_out_with_a_non_idempotent_action() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=SubmitMigration)
    marker = executor.stored.pending_operation
    assert marker is not None
    assert marker.operation == "SubmitMigration"
    assert marker.started_at == T0


def test_restart_after_migrate_post_adopts_the_campaign_without_a_second_post() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=SubmitMigration)
    searches_before = partners.count(ObserveMigration)  # the search before submitting (D24)
    decision = executor.round(make_facts(T0 + timedelta(seconds=20)))
    assert partners.count(SubmitMigration) == 1
    assert partners.count(ObserveMigration) == searches_before + 1
    assert isinstance(decision, Wait)
    assert decision.status.infobip_campaign_id == UUID
    assert decision.status.pending_operation is None
    submitted = decision.status.condition("MigrationSubmitted")
    assert submitted is not None
    assert (submitted.status, submitted.reason) == ("True", "MigrationAdopted")


def test_restart_when_the_post_never_landed_resends_once() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=SubmitMigration)
    partners.stage = None  # the request never reached Infobip
    # Absent only once two searches found nothing, the last one a window plus the request timeout
    # after the POST (D24): the POST may have still been in flight, or the list lagging it.
    first = executor.round(make_facts(T0 + timedelta(seconds=20)))
    assert isinstance(first, Wait)
    assert partners.count(SubmitMigration) == 1
    assert first.status.pending_operation is not None
    late = T0 + POLICY.absence_window + POLICY.in_flight
    executor.round(make_facts(late))
    assert [type(c).__name__ for c in partners.calls[-3:]] == ["ObserveMigration", "ObserveMigration",
                                                                "SubmitMigration"]
    assert partners.count(SubmitMigration) == 2
    assert executor.stored.infobip_campaign_id == UUID


def test_restart_after_election_post_observes_and_adopts() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=ElectCnp)
    assert executor.stored.pending_operation is not None
    decision = executor.round(make_facts(T0 + timedelta(seconds=20)))
    assert partners.count(ElectCnp) == 1
    assert isinstance(decision, Wait)
    assert decision.status.tcr_sharing_status == "PENDING"
    assert decision.status.pending_operation is None


def test_an_election_not_visible_yet_is_not_posted_again_until_a_window_after_the_post() -> None:
    """Another writer (or our timed-out POST) may still be electing: TCR showing no election right
    after the POST is not absence. Seed 902012552 of the two-writer chaos run elected twice this way."""
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=ElectCnp)
    partners.sharing = None  # TCR has not taken the election in yet
    early = executor.round(make_facts(T0 + timedelta(seconds=5)))
    assert isinstance(early, Wait)
    assert partners.count(ElectCnp) == 1
    assert early.status.pending_operation is not None
    assert early.status.pending_operation.operation == "ElectCnp"
    late = T0 + POLICY.absence_window + POLICY.in_flight
    executor.round(make_facts(late))  # a window after the POST, still nothing: it never landed
    assert partners.count(ElectCnp) == 2
    assert executor.stored.tcr_sharing_status == "PENDING"


def test_timeout_on_migrate_is_followed_by_an_observation_not_a_resend() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    partners.faults[SubmitMigration] = [PartnerUnavailable("Infobip", "migrate", "read timeout")]
    executor = Executor(make_spec(), partners)
    first = executor.round(make_facts(T0))
    assert isinstance(first, Wait)
    assert first.status.pending_operation is not None
    assert first.status.last_error == "read timeout"
    # Infobip did create it (the answer was lost): the next round observes and adopts.
    partners.stage = "IN_MIGRATION"
    executor.round(make_facts(T0 + first.delay))
    assert partners.count(SubmitMigration) == 1
    assert executor.stored.infobip_campaign_id == UUID


def test_unreadable_migrate_answer_means_unknown_outcome_and_is_observed() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    partners.faults[SubmitMigration] = [PartnerResponseInvalid("Infobip", "migrate", "no id in answer")]
    executor = Executor(make_spec(), partners)
    first = executor.round(make_facts(T0))
    partners.stage = "IN_MIGRATION"
    searches_before = partners.count(ObserveMigration)
    executor.round(make_facts(T0 + first.delay))  # type: ignore[union-attr]
    assert partners.count(SubmitMigration) == 1
    assert partners.count(ObserveMigration) == searches_before + 1


def test_a_campaign_already_at_infobip_is_adopted_without_a_post() -> None:
    """No marker (a re-created resource, a restored backup): the search before submitting finds it (D24)."""
    partners = FakePartners(sharing="ACCEPTED", stage="IN_MIGRATION")  # a previous resource already migrated it
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0))
    assert isinstance(decision, Wait)
    assert decision.status.infobip_campaign_id == UUID
    assert partners.count(SubmitMigration) == 0


def test_already_in_migration_answer_leads_to_adoption() -> None:
    """The search missed it (a lagging list): the D2 refusal is followed by searching, then adopting."""
    partners = FakePartners(sharing="ACCEPTED")
    partners.faults[SubmitMigration] = [already_in_migration()]
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    partners.stage = "IN_MIGRATION"  # the list caught up
    decision = executor.round(make_facts(T0 + POLICY.in_flight))
    assert isinstance(decision, Wait)
    assert decision.status.infobip_campaign_id == UUID
    assert partners.count(SubmitMigration) == 1


def test_already_in_migration_but_not_found_parks_outcome_unknown() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    partners.faults[SubmitMigration] = [already_in_migration()]
    executor = Executor(make_spec(), partners)
    decision = executor.until(T0, Park)
    assert decision.recheck_after is None
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "OutcomeUnknown"
    assert "migrateCampaignCOJD655" in ready.message
    assert "19546899283" in ready.message
    assert "spec.campaignName" in ready.message
    assert decision.status.pending_operation is not None  # kept: a retry observes again, never resends
    # Nothing happens until a human acts.
    assert isinstance(executor.round(make_facts(T0 + timedelta(days=1))), Park)
    assert partners.count(SubmitMigration) == 1


def test_observation_failing_past_the_limit_parks_outcome_unknown() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=SubmitMigration)
    partners.faults[ObserveMigration] = [
        PartnerUnavailable("Infobip", "campaigns", "503 Service Unavailable") for _ in range(10)
    ]
    searches_before = partners.count(ObserveMigration)
    decision = executor.until(T0, Park, limit=timedelta(days=1))
    assert partners.count(ObserveMigration) - searches_before == POLICY.max_observe_attempts
    assert partners.count(SubmitMigration) == 1
    problem = decision.status.problem
    assert problem is not None
    assert problem.reason == "OutcomeUnknown"
    assert "503 Service Unavailable" in problem.message
    assert "nameLike=migrateCampaignCOJD655" in problem.message
    assert decision.status.phase is Phase.SUBMITTING_MIGRATION
    # The human checked; the retry annotation observes again (the fault is gone now).
    partners.faults[ObserveMigration] = []
    executor.round(make_facts(T0 + timedelta(days=2), annotations=Annotations(retry="checked")))
    assert partners.count(SubmitMigration) == 1
    assert executor.stored.infobip_campaign_id == UUID


def test_election_observation_failing_past_the_limit_names_what_to_check_at_tcr() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=ElectCnp)
    partners.faults[ObserveElection] = [PartnerUnavailable("TCR", "sharing", "591 temporary") for _ in range(10)]
    decision = executor.until(T0, Park, limit=timedelta(days=1))
    problem = decision.status.problem
    assert problem is not None
    assert problem.reason == "OutcomeUnknown"
    assert "/v2/campaign/COJD655/sharing" in problem.message
    assert "OPMKT" in problem.message
    assert partners.count(ElectCnp) == 1


def test_stale_rejected_campaign_from_an_older_attempt_is_not_adopted() -> None:
    spec = make_spec()
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(spec, partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=SubmitMigration)
    old = CampaignObserved("old-uuid", "REJECTED", "old", created=False, created_at=T0 - timedelta(days=60))
    partners.faults[ObserveMigration] = [old]  # type: ignore[list-item]
    partners.stage = None
    executor.round(make_facts(T0 + timedelta(minutes=1)))
    assert partners.count(SubmitMigration) == 2
    assert executor.stored.infobip_campaign_id == UUID


def test_decide_with_a_marker_never_hands_out_the_post_again() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=SubmitMigration)
    for minutes in range(0, 600, 7):
        decision = decide(make_spec(), executor.stored, make_facts(T0 + timedelta(minutes=minutes)), POLICY)
        assert not (isinstance(decision, Act) and isinstance(decision.action, SubmitMigration))
    assert isinstance(MigrationNotFound(), MigrationNotFound)
