"""Backoff: exponential with equal jitter, bounded, never below Retry-After up to the maximum backoff."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
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
def test_never_below_retry_after_up_to_the_maximum(attempts: int, jitter: float, retry_after: float) -> None:
    delay = next_delay(attempts, _settings(jitter), retry_after)
    assert delay >= min(timedelta(seconds=retry_after), BASE.backoff_max)
    assert delay >= next_delay(attempts, _settings(jitter))
    assert delay <= BASE.backoff_max


@pytest.mark.parametrize("retry_after", [31_536_000.0, 300_000_000_000.0, 1e308, float("inf"), float("nan")])
def test_a_huge_retry_after_waits_the_maximum_backoff_and_never_overflows(retry_after: float) -> None:
    delay = next_delay(0, _settings(0.5), retry_after)
    assert delay <= BASE.backoff_max
    assert datetime(9000, 1, 1, tzinfo=UTC) + delay  # no OverflowError


def test_known_values() -> None:
    assert next_delay(0, _settings(1.0)) == timedelta(seconds=30)
    assert next_delay(0, _settings(0.0)) == timedelta(seconds=15)
    assert next_delay(3, _settings(1.0)) == timedelta(seconds=240)
    assert next_delay(5, _settings(1.0)) == timedelta(minutes=15)
    assert next_delay(50, _settings(0.5)) == timedelta(minutes=11, seconds=15)


def test_out_of_range_jitter_is_clamped() -> None:
    assert next_delay(0, _settings(7.0)) == timedelta(seconds=30)
    assert next_delay(0, _settings(-1.0)) == timedelta(seconds=15)
