"""Rate limits: the documented number of requests passes, the next one is a 429 in the partner's
shape; the scale factor multiplies limits; limits can be switched off; buckets refill with time."""

from __future__ import annotations

import asyncio

import httpx

from sandbox.helpers import INFOBIP_KEY, TCR_AUTH, SandboxFactory
from tendlc_dev.sandbox import RateLimitConfig
from tendlc_dev.sandbox.ratelimit import RateLimiter

GET_LIST = "/number-registration/1/campaigns"


async def burst(client: httpx.AsyncClient, method: str, path: str, count: int) -> list[int]:
    answers = await asyncio.gather(*(client.request(method, path) for _ in range(count)))
    return sorted(a.status_code for a in answers)


async def test_infobip_reads_allow_ten_then_429(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig())
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as client:
        assert await burst(client, "GET", GET_LIST, 10) == [200] * 10
        over = await client.get(GET_LIST)
    assert over.status_code == 429
    assert over.json() == {
        "requestError": {"serviceException": {"messageId": "TOO_MANY_REQUESTS", "text": "Too many requests"}}
    }
    assert "Retry-After" not in over.headers
    assert server.ledger.entries[-1].fault == "rate_limited"


async def test_infobip_writes_allow_one_per_second(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig(send_retry_after=True))
    body = {"numbers": ["12025550100"]}
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as client:
        first = await client.post("/numbers/2/numbers/import", json=body)
        second = await client.post("/numbers/2/numbers/import", json=body)
        migrate = await client.post("/number-registration/1/campaigns/migrate", json={})
        migrate_again = await client.post("/number-registration/1/campaigns/migrate", json={})
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.headers["Retry-After"] == "1"
    assert (migrate.status_code, migrate_again.status_code) == (400, 429), "import and migrate are separate classes"


async def test_tcr_writes_allow_twenty_per_ten_seconds(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig())
    async with httpx.AsyncClient(base_url=server.tcr_url, auth=TCR_AUTH) as client:
        statuses = [(await client.post(f"/campaign/CX{i:05d}/migrateCnp/OPMKT")).status_code for i in range(21)]
        reads = await burst(client, "GET", "/campaign/COJD655", 20)
        over_read = await client.get("/campaign/COJD655")
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    assert reads == [200] * 20
    assert over_read.status_code == 429
    assert over_read.json() == [{"code": 429, "field": None, "description": "Too many requests"}]


async def test_scale_multiplies_limits(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig(scale=3))
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as client:
        statuses = await burst(client, "GET", GET_LIST, 31)
    assert statuses.count(200) == 30
    assert statuses.count(429) == 1


async def test_disabled_limits_never_429(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig(enabled=False))
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as client:
        assert await burst(client, "GET", GET_LIST, 40) == [200] * 40


async def test_limits_can_be_changed_through_the_admin_api(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig(enabled=False))
    async with httpx.AsyncClient(base_url=f"{server.base_url}/_admin") as admin:
        changed = await admin.put("/rate-limits", json={"enabled": True, "scale": 0.5})
        assert changed.json()["scale"] == 0.5
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as client:
        assert await burst(client, "GET", GET_LIST, 6) == [200] * 5 + [429]


def test_bucket_refills_with_monotonic_time() -> None:
    now = [100.0]
    limiter = RateLimiter(RateLimitConfig(), monotonic=lambda: now[0])
    assert [limiter.check("a", "tcr-write") for _ in range(20)] == [0.0] * 20
    wait = limiter.check("a", "tcr-write")
    assert 0.49 < wait <= 0.5, "20 per 10 s refills one token every half second"
    now[0] += 0.5
    assert limiter.check("a", "tcr-write") == 0.0
    assert limiter.check("b", "tcr-write") == 0.0, "accounts have their own buckets"
    assert limiter.check("a", "infobip-import") == 0.0
    assert limiter.check("a", "infobip-import") > 0.0
