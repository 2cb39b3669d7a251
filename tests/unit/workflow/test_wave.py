"""The wave's decisions as a pure function: canary, maxInFlight, the failure budget, approval, suspend,
windows, LOA age and completion — each rule alone, then all of them under random member histories."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tendlc.api.constants import ConditionType, Reason, WaveReason
from tendlc.api.wave import WavePhase, WaveSpec, WaveStatus
from tendlc.workflow import MemberView, WaveFacts, WavePlan, plan_wave
from tendlc.workflow.conditions import get_condition

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LOA_MAX_AGE = timedelta(days=30)


def wave(**fields: Any) -> WaveSpec:
    return WaveSpec.model_validate({"selector": {"matchLabels": {"tendlc.io/wave": "w"}}} | fields)


def member(name: str, **fields: Any) -> MemberView:
    return MemberView(name=name, created_at=fields.pop("created_at", T0 - timedelta(days=1)), **fields)


def held(*names: str) -> list[MemberView]:
    return [member(name) for name in names]


def facts(now: datetime = T0, **fields: Any) -> WaveFacts:
    return WaveFacts(now=now, generation=fields.pop("generation", 1), approval=fields.pop("approval", None),
                     loa_max_age=LOA_MAX_AGE, **fields)


def plan(
    spec: WaveSpec, members: Iterable[MemberView], status: WaveStatus | None = None, **fact_fields: Any,
) -> WavePlan:
    return plan_wave(spec, status or WaveStatus(), list(members), facts(**fact_fields))


def released(members: list[MemberView], names: Iterable[str], now: datetime = T0) -> list[MemberView]:
    """What the executor and the members do with a release: the member records it and starts importing."""
    chosen = set(names)
    return [replace(m, released_at=now, phase="ImportingNumbers") if m.name in chosen else m for m in members]


def update(members: list[MemberView], name: str, **fields: Any) -> list[MemberView]:
    return [replace(m, **fields) if m.name == name else m for m in members]


def registered(members: list[MemberView], *names: str) -> list[MemberView]:
    for name in names:
        members = update(members, name, phase="Registered", registered=True)
    return members


def failed(members: list[MemberView], name: str, at: datetime = T0) -> list[MemberView]:
    return update(members, name, phase="Failed", failed=True, problem_reason="CampaignRejected", problem_since=at)


def condition(result: WavePlan, type_: str) -> tuple[str, str]:
    found = get_condition(result.status.conditions, type_)
    assert found is not None
    return found.status, found.reason


def reasons(result: WavePlan) -> list[str]:
    return [event.reason for event in result.events]


# --- members and the canary -----------------------------------------------------------------------------


def test_a_wave_without_members_is_pending_and_not_complete() -> None:
    result = plan(wave(), [])
    assert result.status.phase is WavePhase.PENDING
    assert condition(result, ConditionType.COMPLETE) == ("False", WaveReason.NO_MEMBERS)
    assert condition(result, ConditionType.PROGRESSING) == ("False", WaveReason.NO_MEMBERS)
    assert condition(result, ConditionType.HALTED) == ("False", WaveReason.WITHIN_BUDGET)
    assert result.release == ()


def test_the_canary_is_released_first_by_name() -> None:
    result = plan(wave(canary=2, maxInFlight=5), held("c", "a", "e", "b", "d"))
    assert result.release == ("a", "b")
    assert result.status.canary == ["a", "b"]
    assert result.status.phase is WavePhase.CANARY
    assert condition(result, ConditionType.PROGRESSING) == ("True", WaveReason.CANARY_IN_PROGRESS)
    assert reasons(result) == [WaveReason.MEMBERS_RELEASED]


def test_creation_order_breaks_ties_by_name() -> None:
    members = [member("z", created_at=T0 - timedelta(days=3)), member("b", created_at=T0 - timedelta(days=2)),
               member("a", created_at=T0 - timedelta(days=2)), member("c", created_at=T0 - timedelta(days=1))]
    assert plan(wave(canary=3, maxInFlight=5, order="CreationTimestamp"), members).release == ("z", "a", "b")


def test_no_other_member_is_released_before_every_canary_member_is_registered() -> None:
    spec = wave(canary=2, maxInFlight=5)
    members = released(held("a", "b", "c", "d"), ["a", "b"])
    first = plan(spec, members)
    members = registered(members, "a")
    second = plan(spec, members, first.status)
    assert second.release == ()
    assert second.status.canary_passed_at is None
    members = registered(members, "b")
    third = plan(spec, members, second.status)
    assert third.release == ("c", "d")
    assert third.status.canary_passed_at == T0
    assert third.status.phase is WavePhase.PROGRESSING
    assert WaveReason.CANARY_PASSED in reasons(third)


def test_the_canary_is_fixed_once_passed_and_later_members_are_released_in_order() -> None:
    spec = wave(canary=1, maxInFlight=1)
    first = plan(spec, held("b", "c"))
    assert first.release == ("b",)
    members = registered(released(held("b", "c"), ["b"]), "b")
    passed = plan(spec, members, first.status)
    assert passed.status.canary == ["b"]
    assert passed.release == ("c",)
    members = released(members, ["c"]) + held("a", "d")  # "a" sorts before the canary: not a canary member
    later = plan(spec, members, passed.status)
    assert later.status.canary == ["b"]
    assert later.release == ()  # c is in flight, maxInFlight 1
    members = registered(members, "c")
    assert plan(spec, members, later.status).release == ("a",)


def test_the_canary_skips_final_members_and_is_topped_up_when_a_member_leaves() -> None:
    spec = wave(canary=2, maxInFlight=5)
    members = registered(held("a", "b", "c", "d"), "a")
    first = plan(spec, members)
    assert first.status.canary == ["b", "c"]
    members = [m for m in released(members, first.release) if m.name != "c"]  # c removed from the selector
    second = plan(spec, members, first.status)
    assert second.status.canary == ["b", "d"]
    assert second.release == ("d",)


def test_a_failed_canary_member_halts_the_wave() -> None:
    spec = wave(canary=2, maxInFlight=5, maxFailed=5)
    members = failed(released(held("a", "b", "c"), ["a", "b"]), "a")
    result = plan(spec, members, plan(spec, released(held("a", "b", "c"), ["a", "b"])).status)
    assert condition(result, ConditionType.HALTED) == ("True", WaveReason.CANARY_FAILED)
    assert condition(result, ConditionType.PROGRESSING) == ("False", WaveReason.CANARY_FAILED)
    assert result.status.phase is WavePhase.HALTED
    assert result.release == ()
    assert not result.submission_open
    assert result.osr_allowed
    [event] = [e for e in result.events if e.reason == WaveReason.CANARY_FAILED]
    assert event.type == "Warning"
    assert "a (CampaignRejected" in event.message


def test_a_canary_member_parked_longer_than_stuck_after_halts_and_the_deadline_is_rechecked() -> None:
    spec = wave(canary=1, stuckAfter="2h")
    members = update(released(held("a", "b"), ["a"]), "a", problem_reason=Reason.IMPORT_NOT_ENABLED,
                     problem_since=T0 - timedelta(minutes=90))
    early = plan(spec, members)
    assert condition(early, ConditionType.HALTED) == ("False", WaveReason.WITHIN_BUDGET)
    assert early.recheck_after == timedelta(minutes=30)
    late = plan(spec, members, early.status, now=T0 + timedelta(minutes=30))
    assert condition(late, ConditionType.HALTED) == ("True", WaveReason.CANARY_FAILED)
    assert late.status.failures[0].stuck
    assert late.status.failures[0].reason == Reason.IMPORT_NOT_ENABLED
    assert late.status.counts is not None
    assert late.status.counts.stuck == 1


# --- maxInFlight --------------------------------------------------------------------------------------------


def test_max_in_flight_counts_this_plans_releases_and_members_started_on_their_own() -> None:
    spec = wave(maxInFlight=3)
    members = [member("a", phase="InMigration"), *held("b", "c", "d", "e")]  # a joined mid-flight
    result = plan(spec, members)
    assert result.release == ("b", "c")
    assert result.status.counts is not None
    assert (result.status.counts.in_flight, result.status.counts.held, result.status.counts.released) == (3, 2, 2)
    again = plan(spec, released(members, result.release), result.status)
    assert again.release == ()
    assert condition(again, ConditionType.PROGRESSING) == ("True", WaveReason.RELEASING_MEMBERS)


def test_a_member_that_joins_final_is_never_released_and_a_suspended_held_one_is() -> None:
    members = [member("a", phase="Registered", registered=True), member("b", phase="Suspended")]
    assert plan(wave(), members).release == ("b",)


# --- the failure budget --------------------------------------------------------------------------------------


def test_the_budget_halts_and_stays_halted_until_retry_or_a_new_spec() -> None:
    spec = wave(maxFailed=2, maxInFlight=2)
    members = released(held("a", "b", "c", "d"), ["a", "b"])
    one = plan(spec, failed(members, "a"))
    assert condition(one, ConditionType.HALTED) == ("False", WaveReason.WITHIN_BUDGET)
    assert one.release == ("c",)  # a is final: its slot is free
    members = released(failed(members, "a"), ["c"])
    members = update(members, "b", problem_reason=Reason.CREDENTIALS_REJECTED, problem_since=T0 - timedelta(hours=2))
    two = plan(spec, members, one.status)
    assert condition(two, ConditionType.HALTED) == ("True", WaveReason.FAILURE_BUDGET_EXHAUSTED)
    assert WaveReason.FAILURE_BUDGET_EXHAUSTED in reasons(two)
    assert [f.member for f in two.status.failures] == ["b", "a"]  # by since
    assert two.release == ()
    assert not two.submission_open
    # b recovers: the count is under the budget, yet the wave stays halted (no new Event either).
    members = update(members, "b", problem_reason=None, problem_since=None)
    three = plan(spec, members, two.status)
    assert condition(three, ConditionType.HALTED) == ("True", WaveReason.FAILURE_BUDGET_EXHAUSTED)
    assert three.release == ()
    assert reasons(three) == []
    retried = plan(spec, members, three.status, retry="1")
    assert condition(retried, ConditionType.HALTED) == ("False", WaveReason.WITHIN_BUDGET)
    assert retried.status.last_handled_retry == "1"
    assert WaveReason.WITHIN_BUDGET in reasons(retried)
    assert retried.release == ()  # b and c are in flight
    assert plan(spec, registered(members, "c"), retried.status).release == ("d",)
    # The same token again changes nothing; a new generation re-evaluates like a token.
    assert plan(spec, members, retried.status, retry="1").status.last_handled_retry == "1"
    halted_again = plan(spec, failed(members, "b"), retried.status, retry="1")
    assert condition(halted_again, ConditionType.HALTED)[0] == "True"
    raised = plan(wave(maxFailed=3, maxInFlight=2), failed(members, "b"), halted_again.status, generation=2)
    assert condition(raised, ConditionType.HALTED) == ("False", WaveReason.WITHIN_BUDGET)


def test_held_members_with_a_problem_do_not_count_against_the_budget() -> None:
    members = [member("a", problem_reason=Reason.LOA_SECRET_MISSING, problem_since=T0 - timedelta(days=1))]
    assert condition(plan(wave(), members), ConditionType.HALTED)[0] == "False"


def test_the_failures_list_is_bounded_and_the_counts_hold_the_rest() -> None:
    members = [failed(released(held(f"m{i:02d}"), [f"m{i:02d}"]), f"m{i:02d}")[0] for i in range(30)]
    result = plan(wave(maxFailed=100), members)
    assert len(result.status.failures) == 20
    assert result.status.counts is not None
    assert result.status.counts.failed == 30


# --- approval ------------------------------------------------------------------------------------------------


def test_approval_after_the_canary_takes_a_new_token_only() -> None:
    spec = wave(canary=1, approval={"afterCanary": True})
    canary = plan(spec, held("a", "b", "c"), approval="early")
    assert canary.release == ("a",)
    assert canary.status.last_handled_approval is None
    members = registered(released(held("a", "b", "c"), ["a"]), "a")
    waiting = plan(spec, members, canary.status, approval="early")  # set before the gate opened: set aside
    assert waiting.status.phase is WavePhase.AWAITING_APPROVAL
    assert waiting.release == ()
    assert waiting.status.last_handled_approval == "early"
    assert condition(waiting, ConditionType.PROGRESSING) == ("False", WaveReason.AWAITING_APPROVAL)
    assert WaveReason.AWAITING_APPROVAL in reasons(waiting)
    still = plan(spec, members, waiting.status, approval="early")
    assert still.release == ()
    assert reasons(still) == []
    approved = plan(spec, members, still.status, approval="go")
    assert approved.release == ("b", "c")
    assert approved.status.approved_at == T0
    assert approved.status.last_handled_approval == "go"
    assert WaveReason.APPROVED in reasons(approved)
    members = released(members, approved.release) + held("d")
    assert plan(spec, members, approved.status).release == ("d",)  # approval is given once


def test_approval_with_no_canary_gates_the_first_release() -> None:
    spec = wave(approval={"afterCanary": True})
    waiting = plan(spec, held("a"))
    assert waiting.release == ()
    assert waiting.status.phase is WavePhase.AWAITING_APPROVAL
    assert plan(spec, held("a"), waiting.status, approval="yes").release == ("a",)


# --- suspend, completion ----------------------------------------------------------------------------------------


def test_suspend_releases_nothing_and_closes_submissions() -> None:
    members = held("a", "b")
    for result in (plan(wave(suspend=True), members), plan(wave(), members, suspend=True)):
        assert result.release == ()
        assert not result.submission_open
        assert not result.osr_allowed
        assert result.status.phase is WavePhase.SUSPENDED
        assert condition(result, ConditionType.PROGRESSING) == ("False", WaveReason.SUSPENDED)
        assert WaveReason.SUSPENDED in reasons(result)
    resumed = plan(wave(), members, plan(wave(suspend=True), members).status)
    assert resumed.release == ("a", "b")
    assert WaveReason.RESUMED in reasons(resumed)


def test_complete_once_every_member_is_final_with_one_event_and_reopened_by_a_new_member() -> None:
    members = failed(registered(released(held("a", "b"), ["a", "b"]), "a"), "b")
    done = plan(wave(maxFailed=5), members)
    assert done.status.phase is WavePhase.COMPLETE
    assert condition(done, ConditionType.COMPLETE) == ("True", WaveReason.ALL_MEMBERS_FINAL)
    assert condition(done, ConditionType.PROGRESSING) == ("False", WaveReason.ALL_MEMBERS_FINAL)
    assert reasons(done) == [WaveReason.ALL_MEMBERS_FINAL]
    assert reasons(plan(wave(maxFailed=5), members, done.status)) == []
    reopened = plan(wave(maxFailed=5), [*members, member("c")], done.status)
    assert condition(reopened, ConditionType.COMPLETE) == ("False", WaveReason.MEMBERS_REMAINING)
    assert reopened.release == ("c",)


# --- windows and the LOA ------------------------------------------------------------------------------------------


def test_windows_gate_submissions_not_releases() -> None:
    spec = wave(windows=[{"start": "2026-12-01T14:00:00Z", "end": "2026-12-01T16:00:00Z"}])
    closed = plan(spec, held("a"))
    assert closed.release == ("a",)
    assert not closed.submission_open
    assert not closed.osr_allowed
    assert closed.status.window_open is False
    assert closed.next_window == (T0 + timedelta(hours=2), T0 + timedelta(hours=4))
    assert closed.status.next_window is not None
    assert closed.status.next_window.start == T0 + timedelta(hours=2)
    assert closed.recheck_after == timedelta(hours=2)
    opened = plan(spec, released(held("a"), ["a"]), closed.status, now=T0 + timedelta(hours=2))
    assert opened.submission_open
    assert opened.osr_allowed
    assert WaveReason.WINDOW_OPENED in reasons(opened)
    assert opened.recheck_after == timedelta(hours=2)
    shut = plan(spec, released(held("a"), ["a"]), opened.status, now=T0 + timedelta(hours=4))
    assert not shut.submission_open
    assert WaveReason.WINDOW_CLOSED in reasons(shut)
    assert shut.next_window is None
    assert shut.status.next_window is None
    assert shut.recheck_after is None


def test_without_windows_submissions_are_always_open() -> None:
    result = plan(wave(), held("a"))
    assert result.submission_open
    assert result.osr_allowed
    assert result.status.window_open is True
    assert result.next_window is None
    assert result.recheck_after is None


def test_an_loa_too_old_at_the_next_window_is_reported_before_it_and_the_member_is_held() -> None:
    spec = wave(windows=[{"start": "2026-12-11T02:00:00Z", "end": "2026-12-11T06:00:00Z"}])
    members = [
        member("old", loa_signed=date(2026, 11, 6)),  # 35 days old on 11 December
        member("fresh", loa_signed=date(2026, 11, 20)),
        member("sent", phase="InMigration", released_at=T0, loa_signed=date(2026, 10, 1)),  # submitted: no matter
        member("flying", phase="ElectingCnp", released_at=T0, loa_signed=date(2026, 11, 1)),
    ]
    result = plan(spec, members)
    assert [name for name, _ in result.loa_warnings] == ["flying", "old"]
    assert "35 days old at the next window (2026-12-11T02:00:00Z)" in dict(result.loa_warnings)["old"]
    assert "in flight" in dict(result.loa_warnings)["flying"]
    assert result.release == ("fresh",)  # "old" is held until renewed, not failed in the window
    assert [w.member for w in result.status.loa_warnings] == ["flying", "old"]
    [event] = [e for e in result.events if e.reason == WaveReason.LOA_EXPIRES_BEFORE_WINDOW]
    assert event.type == "Warning"
    assert "1 more" in event.message
    again = plan(spec, released(members, result.release), result.status)
    assert WaveReason.LOA_EXPIRES_BEFORE_WINDOW not in reasons(again)
    renewed = update(released(members, result.release), "old", loa_signed=date(2026, 12, 1))
    assert plan(spec, renewed, again.status).release == ("old",)


def test_without_windows_the_loa_is_judged_now() -> None:
    members = [member("a", loa_signed=date(2026, 10, 1)), member("b", loa_signed=date(2026, 11, 5))]
    result = plan(wave(), members)
    assert [name for name, _ in result.loa_warnings] == ["a"]
    # b's LOA is 26 days old; it is 31 days old from 6 December, 00:00 UTC: the plan looks again then.
    assert result.recheck_after == datetime(2026, 12, 6, tzinfo=UTC) - T0
    assert result.release == ("b",)


# --- every rule at once, under random histories ----------------------------------------------------------------------

ACTIONS = st.lists(
    st.tuples(st.sampled_from(["register", "fail", "park", "unpark", "wait", "approve", "add", "remove", "retry"]),
              st.integers(min_value=0, max_value=20)),
    max_size=40,
)


@settings(max_examples=150)
@given(
    size=st.integers(min_value=0, max_value=10), canary=st.integers(min_value=0, max_value=3),
    max_in_flight=st.integers(min_value=1, max_value=4), max_failed=st.integers(min_value=1, max_value=3),
    after_canary=st.booleans(), actions=ACTIONS,
)
def test_no_history_breaks_the_rules(
    size: int, canary: int, max_in_flight: int, max_failed: int, after_canary: bool,
    actions: list[tuple[str, int]],
) -> None:
    spec = wave(canary=canary, maxInFlight=max_in_flight, maxFailed=max_failed, stuckAfter="1h",
                approval={"afterCanary": after_canary})
    members = held(*(f"m{i:02d}" for i in range(size)))
    status, now, token, retry, added = WaveStatus(), T0, None, None, size
    for action, index in actions:
        result = plan_wave(spec, status, members, facts(now, approval=token, retry=retry))
        counts = result.status.counts
        assert counts is not None
        halted = get_condition(result.status.conditions, ConditionType.HALTED)
        previous_halt = get_condition(status.conditions, ConditionType.HALTED)
        in_flight = sum(1 for m in released(members, result.release) if m.started and not m.final)
        assert in_flight <= max_in_flight
        assert counts.in_flight == in_flight
        if halted is not None and halted.status == "True":
            assert result.release == ()
            assert not result.submission_open
        if previous_halt is not None and previous_halt.status == "True" and retry == status.last_handled_retry:
            assert halted is not None
            assert halted.status == "True", "a halt lifted by itself"
        if result.status.canary_passed_at is None:
            assert set(result.release) <= set(result.status.canary)
        elif after_canary and result.status.approved_at is None:
            assert result.release == ()
        assert (result.status.phase is WavePhase.COMPLETE) == (bool(members) and all(m.final for m in members))
        status, members = result.status, released(members, result.release, now)
        flying = [m for m in members if m.started and not m.final]
        target = flying[index % len(flying)] if flying else None
        if action == "register" and target:
            members = registered(members, target.name)
        elif action == "fail" and target:
            members = failed(members, target.name, now)
        elif action == "park" and target:
            members = update(members, target.name, problem_reason=Reason.PARTNER_FORBIDDEN, problem_since=now)
        elif action == "unpark" and target:
            members = update(members, target.name, problem_reason=None, problem_since=None)
        elif action == "wait":
            now += timedelta(minutes=15 * (index + 1))
        elif action == "approve":
            token = f"t{index}"
        elif action == "add":
            members, added = [*members, member(f"n{added:02d}")], added + 1
        elif action == "remove" and members:
            members = [m for i, m in enumerate(members) if i != index % len(members)]
        elif action == "retry":
            retry = f"r{index}"
