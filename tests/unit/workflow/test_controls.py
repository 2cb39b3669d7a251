"""User controls: suspend/resume, the retry annotation, dry run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.loop_driver import T0, Crash, Executor, FakePartners, make_facts, make_spec
from tendlc.api import Phase
from tendlc.workflow import (
    Annotations,
    ElectCnp,
    ObserveMigration,
    Park,
    PollCampaign,
    SubmitMigration,
    Wait,
)


@pytest.mark.parametrize("how", ["spec", "annotation"])
def test_suspend_stops_every_call_and_resume_continues_where_it_stopped(how: str) -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    calls = len(partners.calls)
    if how == "spec":
        executor.spec = make_spec(suspend=True)
        facts = make_facts(T0 + timedelta(hours=1), generation=2)
    else:
        facts = make_facts(T0 + timedelta(hours=1), annotations=Annotations(suspend=True))
    decision = executor.round(facts)
    assert isinstance(decision, Park)
    assert decision.recheck_after is None
    assert decision.status.phase is Phase.SUSPENDED
    suspended = decision.status.condition("Suspended")
    assert suspended is not None
    assert suspended.status == "True"
    assert len(partners.calls) == calls
    executor.spec = make_spec()
    partners.sharing = "ACCEPTED"
    resumed = executor.round(make_facts(T0 + timedelta(hours=2), generation=3))
    assert resumed.status.phase is Phase.IN_MIGRATION
    suspended = resumed.status.condition("Suspended")
    assert suspended is not None
    assert (suspended.status, suspended.reason) == ("False", "Resumed")
    assert partners.count(ElectCnp) == 1


def test_suspend_with_a_pending_marker_observes_on_resume() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    with pytest.raises(Crash):
        executor.round(make_facts(T0), crash_after=SubmitMigration)
    searches_before = partners.count(ObserveMigration)
    suspended = executor.round(make_facts(T0 + timedelta(minutes=1), annotations=Annotations(suspend=True)))
    assert isinstance(suspended, Park)
    assert partners.count(ObserveMigration) == searches_before  # suspended: not even a read
    executor.round(make_facts(T0 + timedelta(minutes=2)))
    assert partners.count(ObserveMigration) == searches_before + 1
    assert partners.count(SubmitMigration) == 1


def test_retry_token_skips_the_wait_once_and_is_echoed() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    polls = partners.count(PollCampaign)
    soon = T0 + timedelta(seconds=2)
    decision = executor.round(make_facts(soon, annotations=Annotations(retry="1")))
    assert partners.count(PollCampaign) == polls + 1
    assert decision.status.last_handled_retry == "1"
    again = executor.round(make_facts(soon + timedelta(seconds=1), annotations=Annotations(retry="1")))
    assert isinstance(again, Wait)
    assert partners.count(PollCampaign) == polls + 1
    executor.round(make_facts(soon + timedelta(seconds=2), annotations=Annotations(retry="2")))
    assert partners.count(PollCampaign) == polls + 2


def test_dry_run_plans_the_exact_calls_and_never_mutates() -> None:
    partners = FakePartners()
    spec = make_spec(numbers=[f"1954{i:07d}" for i in range(150)], numberPoolId="pool-7")
    executor = Executor(spec, partners)
    decision = executor.round(make_facts(T0, dry_run=True))
    assert isinstance(decision, Park)
    assert partners.mutating_calls() == []
    assert [type(c).__name__ for c in partners.calls] == ["ObserveElection"]
    planned = decision.status.planned_calls
    assert planned is not None
    assert [call.split(" ")[:2] for call in planned] == [
        ["POST", "/numbers/2/numbers/import"],
        ["POST", "/numbers/2/numbers/import"],
        ["POST", "/v2/campaign/COJD655/migrateCnp/OPMKT"],
        ["POST", "/number-registration/1/campaigns/migrate"],
    ]
    assert '"100 numbers: 19540000000 … 19540000099"' in planned[0]
    assert '"skipOsrUpdate": true' in planned[0]
    assert '"numberPoolID": "pool-7"' in planned[3]
    assert '"isClientManageNnid": false' in planned[3]
    assert all("apiKey" not in call and "Authorization" not in call for call in planned)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "DryRun"
    assert decision.status.phase is Phase.PENDING


def test_entering_and_leaving_dry_run_each_post_an_event_though_the_phase_stays() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0, dry_run=True))
    executor.round(make_facts(T0 + timedelta(minutes=1)))
    assert [(e.type, e.reason) for e in executor.events][:2] == [("Normal", "DryRun"), ("Normal", "ImportingNumbers")]


def test_dry_run_skips_the_election_tcr_already_accepted() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    decision = Executor(make_spec(), partners).round(make_facts(T0, dry_run=True))
    assert decision.status.planned_calls is not None
    assert not any("migrateCnp" in call for call in decision.status.planned_calls)


def test_dry_run_never_hands_out_a_mutating_action_at_any_step() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))  # really imported and elected (PENDING)
    partners.sharing = "ACCEPTED"
    start = len(partners.calls)
    now = T0
    for _ in range(10):
        now += timedelta(minutes=10)
        decision = executor.round(make_facts(now, dry_run=True))
        if isinstance(decision, Park):
            break
    assert partners.count(SubmitMigration) == 0
    assert all(not call.mutating for call in partners.calls[start:])
    planned = executor.stored.planned_calls
    assert planned is not None
    assert len(planned) == 1
    assert "/campaigns/migrate" in planned[0]
    # Dry run off: the plan disappears and the real call happens.
    executor.round(make_facts(now + timedelta(minutes=1)))
    assert executor.stored.planned_calls is None
    assert partners.count(SubmitMigration) == 1
