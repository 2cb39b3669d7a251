"""Backoff: exponential with equal jitter, bounded, never below Retry-After."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from tendlc.config import Settings
from tendlc.workflow import Policy, next_delay

BASE = Settings().policy()


def _settings(value: float) -> Policy:
    return replace(BASE, random=lambda: value)


@given(st.integers(min_value=-5, max_value=10_000), st.floats(min_value=0.0, max_value=1.0))
def test_delay_within_half_initial_and_max(attempts: int, jitter: float) -> None:
    delay = next_delay(attempts, _settings(jitter))
    assert BASE.backoff_initial / 2 <= delay <= BASE.backoff_max


@given(st.integers(min_value=0, max_value=200), st.floats(min_value=0.0, max_value=1.0))
def test_bounds_of_each_attempt_never_shrink(attempts: int, jitter: float) -> None:
    for value in (0.0, 1.0):
        assert next_delay(attempts, _settings(value)) <= next_delay(attempts + 1, _settings(value))
    assert next_delay(attempts, _settings(0.0)) <= next_delay(attempts, _settings(jitter))
    assert next_delay(attempts, _settings(jitter)) <= next_delay(attempts, _settings(1.0))


@given(
    st.integers(min_value=0, max_value=50),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.0, max_value=86_400.0),
)
def test_never_below_retry_after(attempts: int, jitter: float, retry_after: float) -> None:
    delay = next_delay(attempts, _settings(jitter), retry_after)
    assert delay >= timedelta(seconds=retry_after)
    assert delay >= next_delay(attempts, _settings(jitter))


def test_known_values() -> None:
    assert next_delay(0, _settings(1.0)) == timedelta(seconds=30)
    assert next_delay(0, _settings(0.0)) == timedelta(seconds=15)
    assert next_delay(3, _settings(1.0)) == timedelta(seconds=240)
    assert next_delay(5, _settings(1.0)) == timedelta(minutes=15)
    assert next_delay(50, _settings(0.5)) == timedelta(minutes=11, seconds=15)


def test_out_of_range_jitter_is_clamped() -> None:
    assert next_delay(0, _settings(7.0)) == timedelta(seconds=30)
    assert next_delay(0, _settings(-1.0)) == timedelta(seconds=15)
