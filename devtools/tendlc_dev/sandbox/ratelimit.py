"""Partner rate limits: one token bucket per account and endpoint class.

The limits are DOMAIN.md's (Infobip number-registration GET 10/s, writes 1/s — add-numbers has its
own 1/s bucket —, the owned-numbers list 1/s with a burst of 2; TCR GET 20/s, writes 20 per 10 s)
plus the sandbox's choices (import 1/s, subscriptions GET 10/s and writes 5/s). A bucket holds N
tokens (or the documented burst) and refills N per window, so a client that never exceeds "N per window" in
any sliding window, or that runs its own bucket with the same numbers, never sees a 429. Buckets
run on the monotonic clock, not the sandbox clock: compressing time for a demo must not raise the
partners' throughput; `scale` does that, explicitly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tendlc_dev.sandbox.config import RateLimitConfig


@dataclass(frozen=True)
class Limit:
    requests: int
    window_seconds: float
    burst: int | None = None
    """Bucket capacity when it differs from `requests` (the Numbers API's token bucket)."""


LIMITS: dict[str, Limit] = {
    "infobip-read": Limit(10, 1.0),
    "infobip-write": Limit(1, 1.0),
    "infobip-import": Limit(1, 1.0),
    "infobip-add-numbers": Limit(1, 1.0),
    "numbers-owned": Limit(1, 1.0, burst=2),
    "subscriptions-read": Limit(10, 1.0),
    "subscriptions-write": Limit(5, 1.0),
    "tcr-read": Limit(20, 1.0),
    "tcr-write": Limit(20, 10.0),
}


class _Bucket:
    __slots__ = ("capacity", "last", "rate", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.last = now

    def take(self, now: float) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    def __init__(self, config: RateLimitConfig, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.configure(config)

    def configure(self, config: RateLimitConfig) -> None:
        self.config = config
        self._buckets.clear()

    def limit_for(self, endpoint_class: str) -> tuple[float, float]:
        """(capacity, tokens per second) after scaling."""
        limit = LIMITS[endpoint_class]
        size = limit.burst if limit.burst is not None else limit.requests
        capacity = max(1.0, float(round(size * self.config.scale)))
        return capacity, limit.requests * self.config.scale / limit.window_seconds

    def check(self, account: str, endpoint_class: str) -> float:
        """0 when the request may pass, else the seconds a client should wait (for Retry-After)."""
        if not self.config.enabled or endpoint_class not in LIMITS:
            return 0.0
        now = self._monotonic()
        bucket = self._buckets.get((account, endpoint_class))
        if bucket is None:
            capacity, rate = self.limit_for(endpoint_class)
            bucket = self._buckets[(account, endpoint_class)] = _Bucket(capacity, rate, now)
        return bucket.take(now)
