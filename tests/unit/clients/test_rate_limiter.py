"""The token-bucket limiter and its registry, in virtual time."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest

from tendlc.clients.credentials import InfobipCredentials, TcrCredentials
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.ratelimit import (
    DEFAULT_LIMITS,
    SAFETY_MARGIN,
    RateLimit,
    RateLimiterRegistry,
    TokenBucket,
    TurnAfterDeadline,
)
from tendlc.clients.tcr import TcrClient
from tendlc.partner_errors import PartnerUnavailable, RequestNotSent
from tendlc.partner_requests import MigrationRequest


def bucket(virtual_time: Any, rate: float, burst: float = 1.0) -> TokenBucket:
    return TokenBucket(RateLimit(rate, burst), clock=virtual_time.clock, sleep=virtual_time.sleep)


async def test_first_token_is_free_and_the_next_waits_one_interval(virtual_time: Any) -> None:
    limiter = bucket(virtual_time, rate=2.0)
    await limiter.acquire()
    await limiter.acquire()
    assert virtual_time.sleeps == [0.5]


async def test_steady_rate_is_never_exceeded(virtual_time: Any) -> None:
    limiter = bucket(virtual_time, rate=10.0)
    start = virtual_time.now
    moments = []
    for _ in range(50):
        await limiter.acquire()
        moments.append(virtual_time.now - start)
    assert moments[-1] == pytest.approx(4.9)
    assert all(later - earlier >= 0.1 - 1e-9 for earlier, later in itertools.pairwise(moments))


async def test_burst_is_served_at_once_then_the_rate_applies(virtual_time: Any) -> None:
    limiter = bucket(virtual_time, rate=2.0, burst=20)
    for _ in range(20):
        await limiter.acquire()
    assert virtual_time.sleeps == []
    await limiter.acquire()
    assert virtual_time.sleeps == [0.5]


async def test_tokens_refill_while_idle_up_to_the_burst(virtual_time: Any) -> None:
    limiter = bucket(virtual_time, rate=1.0, burst=3)
    for _ in range(3):
        await limiter.acquire()
    virtual_time.now += 100  # idle for a long time: only `burst` tokens accumulate
    for _ in range(3):
        await limiter.acquire()
    assert virtual_time.sleeps == []
    await limiter.acquire()
    assert virtual_time.sleeps == [1.0]


async def test_waiters_are_served_first_come_first_served_with_one_timer_each(virtual_time: Any) -> None:
    """A hundred concurrent callers: each reserves its slot on arrival and sleeps exactly once."""
    limiter = bucket(virtual_time, rate=1.0)
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0)  # the others run meanwhile, as during a real sleep

    limiter._sleep = record  # no clock movement: every caller arrives at the same instant
    await asyncio.gather(*(limiter.acquire() for _ in range(100)))
    assert delays[:99] == pytest.approx([float(index) for index in range(1, 100)])
    # The clock did not move while they slept: to the bucket they all woke at once, as after a
    # stall of the event loop, so their releases are spaced one interval apart by a second sleep.
    assert delays[99:] == pytest.approx([float(index) for index in range(1, 99)])


async def test_waiters_woken_together_after_a_stall_are_released_one_interval_apart() -> None:
    """A gen-2 collection or a busy start-up holds the loop past many waiters' moments: they must
    not all send in the same iteration (bench F10: 21 GETs in one second against a ceiling of 10)."""
    now = [0.0]
    released: list[float] = []

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)
        if now[0] < 10.0:
            now[0] = 10.0  # the first sleep "stalls" the loop until t = 10
        else:
            now[0] += seconds

    limiter = TokenBucket(RateLimit(rate=2.0), clock=lambda: now[0], sleep=sleep)

    async def caller() -> None:
        await limiter.acquire()
        released.append(now[0])

    await asyncio.gather(*(caller() for _ in range(5)))
    assert released[0] == 0.0  # the burst token: no wait
    gaps = [later - earlier for earlier, later in itertools.pairwise(released[1:])]
    assert len(gaps) == 3
    assert min(gaps) >= 0.5 - 1e-9, released


async def test_real_waiters_finish_in_arrival_order() -> None:
    limiter = TokenBucket(RateLimit(rate=500.0))
    finished: list[int] = []

    async def caller(index: int) -> None:
        await limiter.acquire()
        finished.append(index)

    await asyncio.gather(*(caller(index) for index in range(20)))
    assert finished == list(range(20))


async def test_a_cancelled_waiter_gives_its_token_back(virtual_time: Any) -> None:
    limiter = TokenBucket(RateLimit(rate=1.0), clock=virtual_time.clock)  # real sleep: cancellable
    await limiter.acquire()
    waiter = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    assert limiter.waiting == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limiter.waiting == 0
    assert limiter.reserve() == pytest.approx(1.0)  # not 2.0: the cancelled slot was returned


def test_limits_parse_from_configuration_text() -> None:
    assert RateLimit.parse("10/s") == RateLimit(10.0)
    assert RateLimit.parse("20/10s") == RateLimit(2.0)
    assert RateLimit.parse("30/m") == RateLimit(0.5)
    assert RateLimit.parse("1/s, burst=2") == RateLimit(1.0, 2.0)
    with pytest.raises(ValueError, match="not a rate limit"):
        RateLimit.parse("fast")
    with pytest.raises(ValueError, match="positive"):
        RateLimit(0)
    with pytest.raises(ValueError, match="burst"):
        RateLimit(1, burst=0.5)


def test_default_limits_are_the_documented_ones() -> None:
    assert DEFAULT_LIMITS[("infobip", "registration.read")] == RateLimit(10.0)
    assert DEFAULT_LIMITS[("infobip", "registration.write")] == RateLimit(1.0)
    assert DEFAULT_LIMITS[("infobip", "numbers.import")] == RateLimit(1.0)
    assert DEFAULT_LIMITS[("infobip", "subscriptions")] == RateLimit(1.0)
    assert DEFAULT_LIMITS[("tcr", "read")] == RateLimit(20.0)
    assert DEFAULT_LIMITS[("tcr", "write")] == RateLimit(2.0)


PACE = 1 - SAFETY_MARGIN


async def test_a_burst_of_one_keeps_tcr_writes_within_20_in_any_10_seconds(virtual_time: Any) -> None:
    registry = RateLimiterRegistry(clock=virtual_time.clock, sleep=virtual_time.sleep)
    limiter = registry.limiter("tcr", "https://csp-api.campaignregistry.com/v2", "write")
    start = virtual_time.now
    moments = []
    for _ in range(100):
        await limiter.acquire()
        moments.append(virtual_time.now - start)
    for first in moments:
        assert sum(1 for moment in moments if first <= moment < first + 10 - 1e-9) <= 20
    assert moments[-1] == pytest.approx(49.5 / PACE)  # and it runs at the 2/s ceiling, less the safety margin


def test_scale_multiplies_every_rate_and_overrides_replace_defaults() -> None:
    registry = RateLimiterRegistry({("tcr", "write"): RateLimit.per(20, 10, burst=20)}, scale=100)
    assert registry.limit_for("infobip", "registration.write") == RateLimit(100.0 * PACE)
    assert registry.limit_for("tcr", "write") == RateLimit(200.0 * PACE, 20)
    with pytest.raises(KeyError, match="no rate limit"):
        registry.limit_for("infobip", "unknown.class")
    with pytest.raises(ValueError, match="scale"):
        RateLimiterRegistry(scale=0)


def test_one_limiter_per_partner_account_and_class() -> None:
    registry = RateLimiterRegistry()
    shared = registry.limiter("infobip", "https://acme.api.infobip.com", "registration.write")
    assert registry.limiter("infobip", "https://ACME.api.infobip.com/", "registration.write") is shared
    assert registry.limiter("infobip", "https://acme.api.infobip.com", "registration.read") is not shared
    assert registry.limiter("infobip", "https://other.api.infobip.com", "registration.write") is not shared


async def test_clients_of_the_same_account_share_one_limiter(virtual_time: Any) -> None:
    """Two resources' clients for one account: their migrate POSTs are spaced one second apart."""
    registry = RateLimiterRegistry(clock=virtual_time.clock, sleep=virtual_time.sleep)
    answer = httpx.MockTransport(lambda request: httpx.Response(200, json={"id": "x"}))
    clients = [
        InfobipClient(
            "https://acme.api.infobip.test",
            InfobipCredentials.from_api_key(f"k-{index}"),
            limiter_registry=registry,
            transport=answer,
        )
        for index in range(2)
    ]
    for client in clients:
        await client.submit_migration(
            MigrationRequest("n", "COJD655", tuple(["19168361160"]), None, False)
        )
        await client.get_campaign("x")  # another class: no wait
        await client.aclose()
    assert virtual_time.sleeps == pytest.approx([1.0 / PACE])


async def test_every_request_acquires_its_class_limiter(virtual_time: Any) -> None:
    registry = RateLimiterRegistry(clock=virtual_time.clock, sleep=virtual_time.sleep)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"sharedByMe": None}))
    async with TcrClient(
        "https://tcr.test/v2", TcrCredentials.of("k-acq", "s-acq"), limiter_registry=registry, transport=transport
    ) as client:
        for _ in range(21):
            await client.get_sharing("COJD655")
    assert virtual_time.sleeps == pytest.approx([0.05 / PACE] * 20)


async def test_a_429_empties_the_bucket_so_the_next_request_waits_a_full_interval(virtual_time: Any) -> None:
    registry = RateLimiterRegistry({("infobip", "registration.read"): RateLimit.per(10, 1, burst=5)},
                                   clock=virtual_time.clock, sleep=virtual_time.sleep)
    refused = iter([429, 200, 200])
    transport = httpx.MockTransport(lambda request: httpx.Response(next(refused), json={"id": "x"}))
    async with InfobipClient("https://acme.api.infobip.test", InfobipCredentials.from_api_key("k-429"),
                             limiter_registry=registry, transport=transport) as client:
        with pytest.raises(PartnerUnavailable):
            await client.get_campaign("x")  # our bucket had 4 tokens left; the partner's had none
        await client.get_campaign("x")
    assert virtual_time.sleeps == pytest.approx([0.1 / PACE])


async def test_a_slow_first_answer_pushes_the_next_one_second_write_past_it(virtual_time: Any) -> None:
    """The partner took the token somewhere before the answer: the next 1/s write waits a full
    interval from the answer, not from the grant (D44)."""
    registry = RateLimiterRegistry(clock=virtual_time.clock, sleep=virtual_time.sleep)
    bucket = registry.limiter("infobip", "https://acme.api.infobip.test", "registration.write")
    await bucket.acquire()
    virtual_time.now += 0.2  # the first request's connect and answer took 200 ms
    bucket.answered()
    started = virtual_time.now
    await bucket.acquire()
    assert virtual_time.now - started == pytest.approx(1.0 / PACE)
    fast = registry.limiter("infobip", "https://acme.api.infobip.test", "registration.read")
    await fast.acquire()
    fast.answered()
    before = virtual_time.now
    await fast.acquire()
    assert virtual_time.now - before == pytest.approx(0.1 / PACE)  # 10/s: the margin alone


# --- a request that must be sent by a deadline (a wave's window closing) ----------------------------


async def test_a_turn_after_the_deadline_is_not_taken_and_its_token_comes_back(virtual_time: Any) -> None:
    limiter = bucket(virtual_time, rate=1.0)
    await limiter.acquire()                       # the token of this second is used
    with pytest.raises(TurnAfterDeadline):
        await limiter.acquire(within=0.5)         # the next turn is 1 s away: past the deadline
    assert virtual_time.sleeps == []              # nobody waited for a turn it could not use
    await limiter.acquire(within=1.0)             # the given-back token keeps the queue where it was
    assert virtual_time.sleeps == [pytest.approx(1.0)]


async def test_migrates_queued_past_a_window_end_are_not_sent(virtual_time: Any) -> None:
    """Ten submissions decided in the last 3 s of a window, at one a second: three are sent, the
    other seven never reach Infobip."""
    registry = RateLimiterRegistry(clock=virtual_time.clock, sleep=virtual_time.sleep)
    sent: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(virtual_time.now)
        return httpx.Response(200, json={"id": f"id-{len(sent)}", "stage": "IN_MIGRATION"})

    async with InfobipClient("https://acme.api.infobip.test", InfobipCredentials.from_api_key("k-window"),
                             limiter_registry=registry, transport=httpx.MockTransport(answer)) as client:
        start, outcomes = virtual_time.now, []
        for index in range(10):
            request = MigrationRequest(name=f"m{index}", external_campaign_id=f"C{index:06d}", numbers=("19545550101",),
                                       number_pool_id=None, is_client_manage_nnid=False)
            try:
                await client.submit_migration(request, send_within=3.0 - (virtual_time.now - start))
                outcomes.append("sent")
            except RequestNotSent:
                outcomes.append("not sent")
    assert outcomes == ["sent"] * 3 + ["not sent"] * 7
    assert len(sent) == 3
    assert all(moment - start <= 3.0 for moment in sent)
