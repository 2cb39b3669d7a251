"""Exponential backoff with jitter for every wait of the workflow.

`next_delay(attempts, policy, retry_after)` is the only place a delay is computed. Pure except for
the jitter source, which comes from `Policy.random` so tests can pin it. No sleeping here: the
controller turns the delay into a timer.
"""

from __future__ import annotations

import math
from datetime import timedelta

from tendlc.workflow.facts import Policy

_MAX_EXPONENT = 32


def next_delay(attempts: int, policy: Policy, retry_after: float | None = None) -> timedelta:
    """Delay before attempt number `attempts` (0-based): equal jitter over min(initial·2^attempts, max).

    Half of the exponential base is fixed and half random, so the result lies in
    [base/2, base] ⊆ [initial/2, max]; never below a partner's `retry_after` (seconds), which is
    honoured up to `backoff_max` and no further: a `Retry-After: 31536000` must not park a migration
    for a year (and no value, however large, overflows the clock arithmetic).
    """
    initial = policy.backoff_initial.total_seconds()
    maximum = policy.backoff_max.total_seconds()
    exponent = min(max(attempts, 0), _MAX_EXPONENT)
    base = min(maximum, initial * (2**exponent))
    jitter = min(max(policy.random(), 0.0), 1.0)
    seconds = base / 2 + jitter * base / 2
    if retry_after is not None and math.isfinite(retry_after) and retry_after > seconds:
        seconds = min(retry_after, max(maximum, seconds))
    return timedelta(seconds=seconds)
