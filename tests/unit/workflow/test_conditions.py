"""The conditions helper: lastTransitionTime moves only when the status value changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tendlc.workflow import get_condition, set_condition

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def test_new_condition_is_appended_with_now_and_generation() -> None:
    conditions = set_condition([], "Ready", "False", "Pending", "waiting", 3, T0)
    (ready,) = conditions
    assert (ready.type, ready.status, ready.reason, ready.message) == ("Ready", "False", "Pending", "waiting")
    assert ready.observed_generation == 3
    assert ready.last_transition_time == T0


def test_same_status_new_reason_keeps_the_transition_time() -> None:
    first = set_condition([], "Ready", "False", "ImportingNumbers", "a", 1, T0)
    second = set_condition(first, "Ready", "False", "ElectingCnp", "b", 2, T1)
    ready = get_condition(second, "Ready")
    assert ready is not None
    assert ready.last_transition_time == T0
    assert (ready.reason, ready.message, ready.observed_generation) == ("ElectingCnp", "b", 2)


def test_status_change_moves_the_transition_time() -> None:
    first = set_condition([], "Ready", "False", "InMigration", "a", 1, T0)
    second = set_condition(first, "Ready", "True", "Registered", "b", 1, T1)
    ready = get_condition(second, "Ready")
    assert ready is not None
    assert ready.last_transition_time == T1


def test_order_is_kept_and_input_not_mutated() -> None:
    first = set_condition([], "LoaValid", "True", "LoaValid", "", 1, T0)
    first = set_condition(first, "Ready", "False", "Pending", "", 1, T0)
    snapshot = [c.model_copy() for c in first]
    second = set_condition(first, "LoaValid", "False", "LoaExpired", "old", 1, T1)
    assert [c.type for c in second] == ["LoaValid", "Ready"]
    assert first == snapshot
    assert get_condition(second, "Missing") is None
