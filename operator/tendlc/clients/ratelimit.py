"""Client-side rate limiting: one token bucket per partner account and endpoint class.

This room keeps the operator under the partners' documented rate limits, so that a hundred
migrations queue politely instead of provoking a storm of 429s. A `RateLimiterRegistry` hands out
ONE `TokenBucket` per (partner, account, endpoint class) and every client created with the same
registry shares it. Waiting is first come, first served, and costs one timer per waiter (no
polling). Time is injectable (`clock`, `sleep`) so tests run in virtual time. Nothing here does
I/O, imports Kopf or knows about HTTP.

Why the default burst is 1: the partners state their limits as "N per window" (e.g. TCR writes
20 per 10 s). A bucket refilling at N/window with a burst of 1 never exceeds N in ANY window of that
length, whether the partner counts with a sliding window, a fixed window or a bucket, and it still
runs at the full ceiling in steady state. A larger burst is available per limit for partners known
to use a token bucket.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

INFOBIP = "infobip"
TCR = "tcr"

# Endpoint classes.
REGISTRATION_READ = "registration.read"
REGISTRATION_WRITE = "registration.write"
ADD_NUMBERS = "registration.add_numbers"
NUMBERS_IMPORT = "numbers.import"
NUMBERS_READ = "numbers.read"
SUBSCRIPTIONS = "subscriptions"
TCR_READ = "read"
TCR_WRITE = "write"

_LIMIT_TEXT = re.compile(
    r"^\s*(?P<count>\d+(?:\.\d+)?)\s*/\s*(?P<amount>\d+(?:\.\d+)?)?\s*(?P<unit>s|m|h)\s*"
    r"(?:,\s*burst\s*=\s*(?P<burst>\d+(?:\.\d+)?)\s*)?$"
)
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class RateLimit:
    """A rate (tokens per second) and a burst (bucket capacity, at least 1)."""

    rate: float
    burst: float = 1.0

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be positive, got {self.rate!r}")
        if not self.burst >= 1:
            raise ValueError(f"burst must be at least 1, got {self.burst!r}")

    @classmethod
    def per(cls, count: float, seconds: float, *, burst: float = 1.0) -> RateLimit:
        """`count` requests per `seconds`, e.g. ``RateLimit.per(20, 10)`` for TCR writes."""
        return cls(rate=count / seconds, burst=burst)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Parse ``"10/s"``, ``"20/10s"``, ``"30/m"`` or ``"1/s, burst=2"`` (for configuration)."""
        match = _LIMIT_TEXT.match(text)
        if match is None:
            raise ValueError(f"not a rate limit: {text!r} (expected e.g. '10/s', '20/10s', '1/s, burst=2')")
        seconds = float(match["amount"] or 1) * _UNIT_SECONDS[match["unit"]]
        burst = float(match["burst"]) if match["burst"] else 1.0
        return cls.per(float(match["count"]), seconds, burst=burst)

    def scaled(self, factor: float) -> RateLimit:
        """The same limit with its rate multiplied by `factor` (the burst is kept)."""
        if not factor > 0:
            raise ValueError(f"scale factor must be positive, got {factor!r}")
        return RateLimit(rate=self.rate * factor, burst=self.burst)


#: Documented partner limits (DOMAIN.md, docs/decisions.md D1). Keys: (partner, endpoint class).
DEFAULT_LIMITS: Mapping[tuple[str, str], RateLimit] = {
    (INFOBIP, REGISTRATION_READ): RateLimit.per(10, 1),
    (INFOBIP, REGISTRATION_WRITE): RateLimit.per(1, 1),
    # Published for add-numbers (x-throttling-info: 1/s), an endpoint of its own (D61).
    (INFOBIP, ADD_NUMBERS): RateLimit.per(1, 1),
    (INFOBIP, NUMBERS_IMPORT): RateLimit.per(1, 1),
    # Published for `GET /numbers/1/numbers` (x-throttling-info): a token bucket, 1/s, burst 2.
    (INFOBIP, NUMBERS_READ): RateLimit.per(1, 1, burst=2),
    # Not documented; chosen like other Infobip account-management writes. Rarely used.
    (INFOBIP, SUBSCRIPTIONS): RateLimit.per(1, 1),
    (TCR, TCR_READ): RateLimit.per(20, 1),
    (TCR, TCR_WRITE): RateLimit.per(20, 10),
}


SAFETY_MARGIN = 0.03
"""The client paces each endpoint class 3 % under the partner's documented rate (D44).

A request granted a token exactly one interval after the previous one reaches the partner a few
milliseconds earlier or later (event-loop latency, waiting for a connection slot, the network),
and a partner bucket that is empty at that moment answers 429. Thirty milliseconds of slack at
1/s absorb that jitter at the cost of 3 % of the ceiling."""
PACED_INTERVAL = 0.5
"""Classes without a burst whose requests are at least this far apart (the 1/s writes) also wait one interval after
the previous request's answer: the partner took its token somewhere between our send and that
answer, so only then is a full interval certain — the first request on a new connection, slowed by
the connect, is otherwise followed too closely (D44). Faster classes rely on the margin: an answer's
latency would be a large share of their interval."""


RELEASE_SLACK = 0.001
"""A released waiter due less than this after now goes now: timers and float sums drift by less, and
a second timer for a millisecond would cost more than it spaces."""


class TokenBucket:
    """An asyncio token bucket with first-come-first-served waiting.

    `acquire()` reserves the next free token at call time and sleeps exactly until it is due, so
    waiters are served in the order they called, each with a single timer; a waiter that slept goes
    no sooner than one interval after the previous one that slept, measured when it runs. A waiter
    cancelled while sleeping gives its token back.
    """

    def __init__(self, limit: RateLimit, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._limit = limit
        self._clock = clock
        self._sleep = sleep
        self._tokens = limit.burst
        self._updated = clock()
        self._waiting = 0
        self._paced = limit.burst <= 1 and 1.0 / limit.rate >= PACED_INTERVAL
        self._interval = 1.0 / limit.rate
        self._not_before = 0.0
        self._next_release = 0.0

    @property
    def limit(self) -> RateLimit:
        return self._limit

    @property
    def waiting(self) -> int:
        """How many callers are currently waiting for a token."""
        return self._waiting

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._limit.burst, self._tokens + elapsed * self._limit.rate)
        self._updated = now

    def reserve(self) -> float:
        """Take the next token now and return how many seconds until it may be used."""
        self._refill()
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self._limit.rate

    def penalize(self) -> None:
        """The partner answered 429: its bucket is emptier than ours, so ours is emptied too.

        The next caller waits a full interval from now, whatever tokens ours had saved up: the
        partner's window, not our bookkeeping, decides when it may take the next request.
        """
        self._refill()
        self._tokens = min(self._tokens, 0.0)

    def _give_back(self) -> None:
        self._refill()
        self._tokens = min(self._limit.burst, self._tokens + 1.0)

    def answered(self) -> None:
        """The request that took the last token has its answer (or failed): see PACED_INTERVAL."""
        if self._paced:
            self._not_before = max(self._not_before, self._clock() + self._interval)

    async def acquire(self, within: float | None = None) -> None:
        """Wait (without polling) until this caller may send one request.

        With `within` (seconds from now), a turn that would come later is not taken: the token is
        given back and `TurnAfterDeadline` raised, before or after the wait.
        """
        deadline = self._clock() + within if within is not None else None
        delay = max(self.reserve(), self._not_before - self._clock())
        if deadline is not None and self._clock() + delay > deadline:
            self._give_back()
            raise TurnAfterDeadline(delay)
        if delay <= 0:
            return
        self._waiting += 1
        try:
            await self._sleep(delay)
            # Released in the order the waiters actually run, one interval apart: after a stall of
            # the event loop (a gen-2 collection, a start-up's first passes) every waiter whose
            # moment passed wakes in the same iteration, and sending them at once is a burst the
            # partner answers with 429 (bench F10). `_not_before`: an answer came in while we slept.
            now = self._clock()
            release = max(now, self._next_release, self._not_before)
            if deadline is not None and release > deadline:
                raise TurnAfterDeadline(release - now)
            self._next_release = release + self._interval
            if release - now > RELEASE_SLACK:
                await self._sleep(release - now)
        except BaseException:
            self._give_back()
            raise
        finally:
            self._waiting -= 1


class TurnAfterDeadline(Exception):
    """This caller's turn would come after the time its request had to be sent by."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the next turn is {wait:.2f} s away")
        self.wait = wait


def normalise_account(account: str) -> str:
    """A stable key for an account: a base URL without trailing slashes, lower-cased."""
    return account.strip().rstrip("/").lower()


class RateLimiterRegistry:
    """Hands out one shared `TokenBucket` per (partner, account, endpoint class).

    `limits` overrides entries of `DEFAULT_LIMITS`; `scale` multiplies every rate (benchmarks run
    the sandbox x100 and the operator with the same factor; a factor below 1 leaves headroom).
    """

    def __init__(
        self,
        limits: Mapping[tuple[str, str], RateLimit] | None = None,
        *,
        scale: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not scale > 0:
            raise ValueError(f"scale factor must be positive, got {scale!r}")
        merged = dict(DEFAULT_LIMITS)
        merged.update(limits or {})
        # `limits` are the partners' own limits; the buckets run SAFETY_MARGIN under them.
        self._partner_limits = {key: limit.scaled(scale) for key, limit in merged.items()}
        self._limits = {key: limit.scaled(scale * (1 - SAFETY_MARGIN)) for key, limit in merged.items()}
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}

    def limit_for(self, partner: str, endpoint_class: str) -> RateLimit:
        """The limit our bucket runs at (SAFETY_MARGIN under the partner's)."""
        try:
            return self._limits[(partner, endpoint_class)]
        except KeyError:
            raise KeyError(f"no rate limit configured for {partner} endpoint class {endpoint_class!r}") from None

    def partner_limit(self, partner: str, endpoint_class: str) -> RateLimit:
        """The partner's own limit (documented or configured, scaled): the ceiling metrics compare with."""
        self.limit_for(partner, endpoint_class)  # the same error for an unknown class
        return self._partner_limits[(partner, endpoint_class)]

    def limiter(self, partner: str, account: str, endpoint_class: str) -> TokenBucket:
        """The bucket shared by every caller of this partner account's endpoint class."""
        key = (partner, normalise_account(account), endpoint_class)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.limit_for(partner, endpoint_class), clock=self._clock, sleep=self._sleep)
            self._buckets[key] = bucket
        return bucket

    async def acquire(self, partner: str, account: str, endpoint_class: str, within: float | None = None) -> None:
        await self.limiter(partner, account, endpoint_class).acquire(within)
