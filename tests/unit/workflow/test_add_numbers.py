"""Campaigns of more than 200 numbers (D60, D61): 200 migrated, the rest added once REGISTERED, each
batch exactly once — proven on the production pass with fake partners that count what they received."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest

from support.loop_driver import POLICY, T0, Crash, Effects, Executor, FakePartners, make_facts, make_spec
from tendlc.api import Phase
from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.status import MigrationStatus
from tendlc.partner_errors import PartnerProblem, PartnerRejected, PartnerUnavailable
from tendlc.workflow import (
    Action,
    AddNumbers,
    Done,
    ObserveCampaignNumbers,
    Outcome,
    Park,
    SubmitMigration,
    SwitchTraffic,
    Wait,
    decide,
)
from tendlc.workflow.facts import NumbersSourceProblem
from tendlc.workflow.number_sets import migrated_numbers, numbers_to_add

NUMBERS = [f"1954{i:07d}" for i in range(1200)]
POLICY_250 = replace(POLICY, add_numbers_batch_size=250, add_numbers_absence_window=timedelta(minutes=10))


def large_spec(numbers: list[str] | None = None) -> CampaignMigrationSpec:
    listed = list(reversed(numbers or NUMBERS))  # the order given does not choose what migrates
    return make_spec(numbers=listed, numberPoolId="pool-7")


def run(executor: Executor, partners: FakePartners, start: datetime = T0, rounds: int = 400) -> Done:
    """Rounds in virtual time until Done; TCR accepts and Infobip registers as soon as asked again."""
    now = start
    for _ in range(rounds):
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
            return decision
        delay = decision.delay if isinstance(decision, Wait) else getattr(decision, "recheck_after", None)
        now += max(delay or timedelta(seconds=1), timedelta(seconds=1))
    raise AssertionError(f"not done within {rounds} rounds; last status {executor.stored.to_dict()}")


def added_batches(partners: FakePartners) -> list[tuple[str, ...]]:
    return [call.numbers for call in partners.calls if isinstance(call, AddNumbers)]


def test_the_200_that_sort_first_migrate_and_the_rest_follow_in_ascending_batches() -> None:
    spec = large_spec()
    assert migrated_numbers(spec) == tuple(NUMBERS[:200])
    assert numbers_to_add(spec) == tuple(NUMBERS[200:])
    partners = FakePartners()
    done = run(Executor(spec, partners, policy=POLICY_250), partners)
    (submitted,) = [call for call in partners.calls if isinstance(call, SubmitMigration)]
    assert submitted.numbers == tuple(NUMBERS[:200])
    assert added_batches(partners) == [tuple(NUMBERS[200 + 250 * i : 450 + 250 * i]) for i in range(4)]
    progress = done.status.numbers
    assert progress is not None
    assert (progress.total, progress.migrated, progress.added, progress.pending, progress.visible) == (
        1200, 200, 1000, 0, 1200)
    assert progress.batches == 4
    assert partners.campaign_numbers == set(NUMBERS)
    conditions = {c.type: (c.status, c.reason) for c in done.status.conditions}
    assert conditions["NumbersAdded"] == ("True", "NumbersAdded")
    assert conditions["Ready"] == ("True", "Registered")
    assert done.status.phase is Phase.REGISTERED


def test_a_small_campaign_migrates_every_number_in_its_order_and_adds_none() -> None:
    partners = FakePartners()
    spec = make_spec(numbers=["19168361160", "19546899283"])
    done = run(Executor(spec, partners), partners)
    (submitted,) = [call for call in partners.calls if isinstance(call, SubmitMigration)]
    assert submitted.numbers == ("19168361160", "19546899283")
    assert added_batches(partners) == []
    assert done.status.numbers is None
    assert done.status.condition("NumbersAdded") is None


def test_ready_waits_for_numbers_added_and_their_wait_is_downtime() -> None:
    partners = FakePartners(added_after_reads=2)  # each batch shows only on the second read after it
    executor = Executor(large_spec(), partners, policy=POLICY_250)
    phases: list[tuple[Phase | None, str | None]] = []
    now = T0
    for _ in range(400):
        partners.sharing = "ACCEPTED" if partners.sharing == "PENDING" else partners.sharing
        partners.stage = "REGISTERED" if partners.stage == "IN_MIGRATION" else partners.stage
        decision = executor.round(make_facts(now))
        ready = decision.status.condition("Ready")
        phases.append((decision.status.phase, ready.reason if ready else None))
        if isinstance(decision, Done):
            break
        delay = decision.delay if isinstance(decision, Wait) else getattr(decision, "recheck_after", None)
        now += max(delay or timedelta(seconds=1), timedelta(seconds=1))
    assert (Phase.ADDING_NUMBERS, "AddingNumbers") in phases
    assert (Phase.ADDING_NUMBERS, "AwaitingNumbers") in phases
    while_adding = [reason for phase, reason in phases if phase is Phase.ADDING_NUMBERS]
    assert "Registered" not in while_adding  # Ready is never True while numbers have no service
    status = executor.stored
    assert status.numbers is not None
    assert status.numbers.completed_at is not None
    assert status.registered_at is not None
    assert status.registered_at < status.numbers.completed_at
    assert status.downtime_ended_at == status.numbers.completed_at  # downtime lasts until the last number
    registered = status.condition("Registered")
    assert registered is not None
    assert registered.status == "True"


def test_every_batch_is_preceded_by_its_marker_write() -> None:
    effects = Effects()
    partners = FakePartners()
    run(Executor(large_spec(), partners, policy=POLICY_250, effects=effects), partners)
    log = effects.log
    checked = 0
    for index, (kind, what) in enumerate(log):
        if kind == "call" and isinstance(what, AddNumbers):
            previous_kind, patch = log[index - 1]
            assert previous_kind == "write"
            assert isinstance(patch, dict)
            marker = patch["pendingOperation"]
            assert marker["operation"] == "AddNumbers"
            assert (marker["firstNumber"], marker["count"]) == (what.numbers[0], len(what.numbers))
            checked += 1
    assert checked == 4


def _clean_effects() -> list[tuple[str, object]]:
    effects = Effects()
    partners = FakePartners()
    run(Executor(large_spec(NUMBERS[:700]), partners, policy=POLICY_250, effects=effects), partners)
    return effects.log


@pytest.mark.parametrize("crash_before", range(1, len(_clean_effects()) + 1))
def test_a_kill_at_any_point_never_sends_a_batch_twice(crash_before: int) -> None:
    effects = Effects(crash_before=crash_before)
    partners = FakePartners()
    executor = Executor(large_spec(NUMBERS[:700]), partners, policy=POLICY_250, effects=effects)
    done = run(executor, partners)
    assert effects.crash_before is None, "the kill point was never reached"
    assert partners.count(SubmitMigration) == 1
    batches = added_batches(partners)
    # A batch is sent again only when its POST never reached Infobip (the kill came before the call).
    assert sorted(set(batches)) == [tuple(NUMBERS[200:450]), tuple(NUMBERS[450:700])]
    assert len(batches) == 2
    assert done.status.numbers is not None
    assert done.status.numbers.visible == 700


def test_an_interrupted_batch_applied_late_is_observed_over_the_window_not_resent() -> None:
    # Infobip shows the batch only on the second read after it: the first read, right after the
    # restart, does not show it, and that is no proof it failed; the second, a window later, does.
    partners = FakePartners(added_after_reads=2)
    executor = Executor(large_spec(NUMBERS[:450]), partners, policy=POLICY_250)
    now, crashed = T0, False
    for _ in range(100):
        partners.sharing = "ACCEPTED" if partners.sharing == "PENDING" else partners.sharing
        partners.stage = "REGISTERED" if partners.stage == "IN_MIGRATION" else partners.stage
        try:
            executor.round(make_facts(now), crash_after=AddNumbers)
        except Crash:  # the batch reached Infobip; the answer died with the process
            crashed = True
            break
        now += timedelta(seconds=1)
    assert crashed
    status = executor.stored
    assert status.pending_operation is not None
    assert status.pending_operation.operation == "AddNumbers"
    done = run(executor, partners, now)
    assert len(added_batches(partners)) == 1
    assert partners.count(ObserveCampaignNumbers) >= 2
    assert done.status.numbers is not None
    assert done.status.numbers.added == 250


def test_a_batch_that_never_landed_is_sent_again_only_after_the_window() -> None:
    partners = FakePartners(faults={AddNumbers: [PartnerUnavailable("Infobip", "add-numbers", "timeout")]})
    executor = Executor(large_spec(NUMBERS[:450]), partners, policy=POLICY_250)
    sent_at: list[datetime] = []
    now = T0
    for _ in range(200):
        partners.sharing = "ACCEPTED" if partners.sharing == "PENDING" else partners.sharing
        partners.stage = "REGISTERED" if partners.stage == "IN_MIGRATION" else partners.stage
        before = len(added_batches(partners))
        decision = executor.round(make_facts(now))
        if len(added_batches(partners)) > before:
            sent_at.append(now)
        if isinstance(decision, Done):
            break
        delay = decision.delay if isinstance(decision, Wait) else getattr(decision, "recheck_after", None)
        now += max(delay or timedelta(seconds=1), timedelta(seconds=1))
    assert len(sent_at) == 2  # the unknown outcome, then the resend once absence was concluded
    window = POLICY_250.add_numbers_absence_window + POLICY_250.in_flight
    assert sent_at[1] - sent_at[0] >= window
    assert added_batches(partners)[0] == added_batches(partners)[1]


def test_a_refused_batch_parks_with_infobips_words_and_is_not_resent_by_itself() -> None:
    refusal = PartnerRejected("Infobip", "add-numbers", "Campaign would hold 450 numbers; at most 49", status=400,
                              problems=(PartnerProblem("BAD_REQUEST", "campaign number limit 49 exceeded", "numbers"),))
    partners = FakePartners(faults={AddNumbers: [refusal]})
    executor = Executor(large_spec(NUMBERS[:450]), partners, policy=POLICY_250)
    now, decision = T0, None
    for _ in range(100):
        partners.sharing = "ACCEPTED" if partners.sharing == "PENDING" else partners.sharing
        partners.stage = "REGISTERED" if partners.stage == "IN_MIGRATION" else partners.stage
        decision = executor.round(make_facts(now))
        if isinstance(decision, Park) and decision.status.problem is not None:
            break
        delay = decision.delay if isinstance(decision, Wait) else getattr(decision, "recheck_after", None)
        now += max(delay or timedelta(seconds=1), timedelta(seconds=1))
    assert isinstance(decision, Park)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "AddNumbersRejected"
    assert "at most 49" in ready.message
    assert executor.events[-1].type == "Warning"
    assert len(added_batches(partners)) == 1
    assert decision.status.pending_operation is None  # refused and absent: a retry sends it again


def test_a_reordered_list_changes_nothing_but_another_set_parks() -> None:
    spec = large_spec(NUMBERS[:450])
    partners = FakePartners()
    executor = Executor(spec, partners, policy=POLICY_250)
    run(executor, partners)
    status = executor.stored
    reordered = make_spec(numbers=sorted(spec.numbers), numberPoolId="pool-7")
    assert isinstance(decide(reordered, status, make_facts(T0 + timedelta(days=1)), POLICY_250), Done)
    before = status.model_copy(deep=True)
    assert before.numbers is not None
    before.numbers.completed_at = None  # as if numbers were still being added
    changed = make_spec(numbers=[*NUMBERS[:449], "19559999999"], numberPoolId="pool-7")
    decision = decide(changed, before, make_facts(T0 + timedelta(days=1)), POLICY_250)
    assert isinstance(decision, Park)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "NumbersChanged"


def test_a_dry_run_plans_the_batches_too() -> None:
    partners = FakePartners()
    executor = Executor(large_spec(NUMBERS[:700]), partners, policy=POLICY_250)
    decision = executor.round(make_facts(T0, dry_run=True))
    assert isinstance(decision, Park)
    planned = decision.status.planned_calls or []
    additions = [call for call in planned if "/add-numbers" in call]
    assert len(additions) == 2  # 500 numbers beyond the 200 migrated, 250 per request
    assert additions[0].startswith("POST /number-registration/1/campaigns/{infobipCampaignId}/add-numbers")
    assert "250 numbers: 19540000200 … 19540000449" in additions[0]
    migrate = next(call for call in planned if "/campaigns/migrate" in call)
    assert "200 numbers: 19540000000 … 19540000199" in migrate
    assert partners.mutating_calls() == []


CUTOVER = {"configMap": {"name": "routing", "key": "campaign-{campaignId}"}}


@dataclass
class CutOverWatch(FakePartners):
    """Also notes, at each cut-over attempt, how many numbers the campaign showed and batches were sent."""

    at_switch: list[tuple[int, int]] = field(default_factory=list)

    def __call__(self, action: Action) -> Outcome:
        if isinstance(action, SwitchTraffic):
            self.at_switch.append((len(self.campaign_numbers), self.count(AddNumbers)))
        return super().__call__(action)


def test_with_a_cut_over_the_traffic_switches_only_after_the_last_batch_succeeded() -> None:
    # More than 200 numbers and a cut-over: every number must be on the campaign before the traffic
    # moves (numbers not added have no service). The last batch fails once (its outcome unknown) and
    # Infobip shows each batch only on the second read: the switch waits for the resend and the read.
    partners = CutOverWatch(added_after_reads=2)
    spec = make_spec(numbers=list(reversed(NUMBERS)), numberPoolId="pool-7", cutover=CUTOVER)
    executor = Executor(spec, partners, policy=POLICY_250)
    seen: list[tuple[Phase | None, str | None, str | None]] = []
    now, failed_once = T0, False
    for _ in range(400):
        partners.sharing = "ACCEPTED" if partners.sharing == "PENDING" else partners.sharing
        partners.stage = "REGISTERED" if partners.stage == "IN_MIGRATION" else partners.stage
        if not failed_once and len(added_batches(partners)) == 3:  # the fourth and last batch fails once
            partners.faults[AddNumbers] = [PartnerUnavailable("Infobip", "add-numbers", "timeout")]
            failed_once = True
        decision = executor.round(make_facts(now))
        ready, switched = decision.status.condition("Ready"), decision.status.condition("TrafficSwitched")
        seen.append((decision.status.phase, ready.reason if ready else None, switched.status if switched else None))
        if isinstance(decision, Done):
            break
        delay = decision.delay if isinstance(decision, Wait) else getattr(decision, "recheck_after", None)
        now += max(delay or timedelta(seconds=1), timedelta(seconds=1))
    assert isinstance(decision, Done)
    calls = partners.calls
    batches = [index for index, call in enumerate(calls) if isinstance(call, AddNumbers)]
    switches = [index for index, call in enumerate(calls) if isinstance(call, SwitchTraffic)]
    assert len(batches) == 5  # four batches, the last one sent twice (the first attempt's outcome was unknown)
    assert calls[batches[-1]].numbers == calls[batches[-2]].numbers == tuple(NUMBERS[950:])
    assert len(switches) == 1
    assert switches[0] > batches[-1]  # the cut-over follows the last batch that succeeded ...
    assert partners.at_switch == [(len(NUMBERS), 5)]  # ... and the read that showed every number
    reads_before = [call for call in calls[batches[-1] : switches[0]] if isinstance(call, ObserveCampaignNumbers)]
    assert reads_before  # the switch waited for Infobip to show the last batch
    # Never Ready, and no switch attempted or reported, while numbers were being added.
    while_adding = [(reason, switched) for phase, reason, switched in seen if phase is Phase.ADDING_NUMBERS]
    assert while_adding
    assert all(reason != "Registered" and switched is None for reason, switched in while_adding)
    status = executor.stored
    assert status.numbers is not None
    assert status.numbers.completed_at is not None
    assert status.traffic_switched_at is not None
    assert status.numbers.completed_at <= status.traffic_switched_at
    assert status.downtime_ended_at == status.traffic_switched_at  # downtime lasts until both are done
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions["NumbersAdded"] == ("True", "NumbersAdded")
    assert conditions["TrafficSwitched"] == ("True", "TrafficSwitched")
    assert conditions["Ready"] == ("True", "Registered")


def test_a_dry_run_plans_the_batches_before_the_cut_over() -> None:
    partners = FakePartners()
    spec = make_spec(numbers=NUMBERS[:700], numberPoolId="pool-7", cutover=CUTOVER)
    decision = Executor(spec, partners, policy=POLICY_250).round(make_facts(T0, dry_run=True))
    assert isinstance(decision, Park)
    planned = decision.status.planned_calls or []
    additions = [index for index, call in enumerate(planned) if "/add-numbers" in call]
    switch = [index for index, call in enumerate(planned) if "PATCH configmap/routing" in call]
    assert len(additions) == 2
    assert len(switch) == 1
    assert switch[0] > additions[-1]
    assert planned[switch[0]].startswith("after REGISTERED: ")


FROM_CONFIG_MAP = {"configMapKeyRef": {"name": "cojd655-numbers", "key": "numbers"}}
UNREADABLE = NumbersSourceProblem("NumbersConfigMapMissing", "ConfigMap 'cojd655-numbers' does not exist")


def registered(numbers: list[str]) -> tuple[MigrationStatus, CampaignMigrationSpec]:
    """The status of a campaign run to its end with `numbers`, and its spec as a pass sees it once the
    ConfigMap those numbers came from cannot be read (numbers empty, numbersFrom set)."""
    pooled = {"numberPoolId": "pool-7"} if len(numbers) > 200 else {}
    partners = FakePartners()
    executor = Executor(make_spec(numbers=numbers, **pooled), partners, policy=POLICY_250)
    run(executor, partners)
    return executor.stored, make_spec(numbers=[], numbersFrom=FROM_CONFIG_MAP, **pooled)


def test_a_registered_campaign_stays_ready_when_its_config_map_is_gone_and_nothing_was_left_to_add() -> None:
    # The user deletes the ConfigMap once the migration is done: the size of the list last read
    # (status.numberCount) says no number was left to add, so nothing is unknown and Ready stays True.
    status, unread = registered(NUMBERS[:2])
    assert status.number_count == 2
    decision = decide(unread, status, make_facts(T0 + timedelta(days=1), numbers_problem=UNREADABLE), POLICY)
    assert isinstance(decision, Done)
    conditions = {c.type: (c.status, c.reason) for c in decision.status.conditions}
    assert conditions["Ready"] == ("True", "Registered")
    assert decision.status.phase is Phase.REGISTERED
    assert decision.status.number_count == 2


def test_a_registered_campaign_with_numbers_left_to_add_waits_for_its_config_map() -> None:
    # More than 200 numbers and the adds not begun: which are left is unknown while the list cannot
    # be read, so the add step parks (no action) naming the ConfigMap's problem.
    status, unread = registered(NUMBERS[:300])
    status.numbers = None  # REGISTERED, the adds not begun yet
    decision = decide(unread, status, make_facts(T0 + timedelta(days=1), numbers_problem=UNREADABLE), POLICY)
    assert isinstance(decision, Park)
    conditions = {c.type: (c.status, c.reason) for c in decision.status.conditions}
    assert conditions["Ready"] == ("False", "NumbersConfigMapMissing")
