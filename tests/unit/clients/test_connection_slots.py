"""Requests never queue inside httpx's pool: a bounded number are in flight, the rest wait before it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tendlc.clients.http import Endpoint, PartnerHttp
from tendlc.clients.infobip import INFOBIP_DIALECT
from tendlc.clients.ratelimit import REGISTRATION_READ, RateLimit, RateLimiterRegistry
from tendlc.partner_errors import PartnerUnavailable

ENDPOINT = Endpoint("campaigns.get", "GET", "/number-registration/1/campaigns/{campaign_id}", REGISTRATION_READ)


class SlowPartner(httpx.AsyncBaseTransport):
    """Answers after `delay`; the first `hang` requests never answer. Records peak concurrency."""

    def __init__(self, delay: float, hang: int = 0) -> None:
        self.delay, self.hang = delay, hang
        self.in_flight = self.peak = self.seen = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(3600 if self.seen <= self.hang else self.delay)
            return httpx.Response(200, json={"id": "x", "stage": "IN_MIGRATION"})
        finally:
            self.in_flight -= 1


def http(transport: httpx.AsyncBaseTransport, timeout: float, slots: int) -> PartnerHttp:
    limiters = RateLimiterRegistry({("infobip", REGISTRATION_READ): RateLimit(rate=10_000, burst=10_000)})
    return PartnerHttp(INFOBIP_DIALECT, "https://acme.api.infobip.test", authorization=lambda: "App k",
                       secrets=(), timeout=timeout, limiter_registry=limiters, transport=transport,
                       max_connections=slots)


async def test_no_more_than_max_connections_requests_are_in_flight() -> None:
    partner = SlowPartner(delay=0.01)
    client = http(partner, timeout=5, slots=3)
    results = await asyncio.gather(*(client.call(ENDPOINT, path_params={"campaign_id": str(i)}) for i in range(20)))
    assert len(results) == 20
    assert partner.peak == 3


async def test_requests_that_time_out_free_their_slot_for_the_next_ones() -> None:
    partner = SlowPartner(delay=0.01, hang=2)
    client = http(partner, timeout=0.2, slots=2)
    outcomes = await asyncio.gather(
        *(client.call(ENDPOINT, path_params={"campaign_id": str(i)}) for i in range(6)), return_exceptions=True
    )
    timed_out = [o for o in outcomes if isinstance(o, PartnerUnavailable)]
    assert len(timed_out) == 2  # only the two that hung: waiting for a slot is not part of the timeout
    assert partner.seen == 6


def test_max_connections_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        http(SlowPartner(0), timeout=1, slots=0)
