"""Fixtures for the partner-client unit tests: fake partners over httpx.MockTransport, virtual time,
canary credentials and a validator for Infobip's published schemas (extract in data/)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tendlc.clients.credentials import InfobipCredentials, TcrCredentials
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.clients.tcr import TcrClient

DATA = Path(__file__).parent / "data"
SCHEMAS_URI = "urn:infobip-openapi-3.210.0"
CAMPAIGN_SCHEMAS = "2700ea5ecfd0574f21019319e90eb63416ede8263eab67e466c718c51cd1a77a"
SUBSCRIPTION_SCHEMAS = "6e71a232d29cf86cbe8cd24bd719c2050de4613347854f985c920dd3d0d3e33f"

# Canary secrets: tests assert these strings appear in no repr, str, message or traceback.
INFOBIP_API_KEY = "canaryIBkey-7f3a9c2e51d0"
INFOBIP_PASSWORD = "canaryIBpass-91be77"
TCR_API_KEY = "canaryTCRkey-4411aa"
TCR_API_SECRET = "canaryTCRsecret-c0ffee99"
WEBHOOK_PASSWORD = "canaryHookPass-5e5e5e"
WEBHOOK_HMAC_KEY = "canaryHmacKey-abcdef12"
CANARIES = (INFOBIP_API_KEY, INFOBIP_PASSWORD, TCR_API_KEY, TCR_API_SECRET, WEBHOOK_PASSWORD, WEBHOOK_HMAC_KEY)

INFOBIP_BASE = "https://acme.api.infobip.test"
TCR_BASE = "https://csp-api.tcr.test/v2"


@dataclass
class VirtualTime:
    """A monotonic clock and a sleep that only moves the clock (records every sleep)."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class FakePartner:
    """Records requests and answers them with `handler` (default: 200 with `{}`)."""

    handler: Callable[[httpx.Request], httpx.Response] = field(default=lambda request: httpx.Response(200, json={}))
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def bodies(self) -> list[Any]:
        return [json.loads(request.content) for request in self.requests]


@dataclass
class Calls:
    """An `on_call` observer that remembers what it was told."""

    seen: list[tuple[str, str, str, float]] = field(default_factory=list)

    def __call__(self, partner: str, endpoint: str, status_class: str, seconds: float) -> None:
        self.seen.append((partner, endpoint, status_class, seconds))


async def _no_wait(seconds: float) -> None:
    return None


@pytest.fixture
def virtual_time() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def limiters() -> RateLimiterRegistry:
    """A registry whose waits cost nothing, for tests that are not about rate limiting."""
    return RateLimiterRegistry(sleep=_no_wait)


@pytest.fixture
def partner() -> FakePartner:
    return FakePartner()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
async def infobip(partner: FakePartner, limiters: RateLimiterRegistry, calls: Calls) -> AsyncIterator[InfobipClient]:
    client = InfobipClient(
        INFOBIP_BASE,
        InfobipCredentials.from_api_key(INFOBIP_API_KEY),
        timeout=5.0,
        limiter_registry=limiters,
        on_call=calls,
        transport=partner.transport,
    )
    async with client:
        yield client


@pytest.fixture
async def tcr(partner: FakePartner, limiters: RateLimiterRegistry, calls: Calls) -> AsyncIterator[TcrClient]:
    client = TcrClient(
        TCR_BASE,
        TcrCredentials.of(TCR_API_KEY, TCR_API_SECRET),
        timeout=5.0,
        limiter_registry=limiters,
        on_call=calls,
        transport=partner.transport,
    )
    async with client:
        yield client


def _campaign_json(**overrides: Any) -> dict[str, Any]:
    """An external 10DLC campaign as Infobip returns it after a migrate (DOMAIN.md step 3)."""
    document: dict[str, Any] = {
        "id": "44e8c5fc-2c1b-4b7e-9d1a-3f0c7e2a9b11",
        "name": "migrateCampaignCOJD655",
        "stage": "IN_MIGRATION",
        "type": "EXTERNAL_TEN_DIGIT_LONG_CODE",
        "externalCampaignId": "COJD655",
        "createdDate": "2026-11-26T10:00:00Z",
        "lastModifiedDate": "2026-11-26T10:00:00Z",
        "applicationId": "default",
    }
    document.update(overrides)
    return document


def _page_json(results: list[dict[str, Any]], *, page: int, size: int, total_results: int) -> dict[str, Any]:
    total_pages = -(-total_results // size) if total_results else 0
    return {
        "results": results,
        "paging": {"page": page, "size": size, "totalPages": total_pages, "totalResults": total_results},
    }


@pytest.fixture(scope="session")
def campaign_json() -> Callable[..., dict[str, Any]]:
    """`campaign_json(**overrides)`: an external 10DLC campaign as Infobip returns it."""
    return _campaign_json


@pytest.fixture(scope="session")
def page_json() -> Callable[..., dict[str, Any]]:
    """`page_json(results, page=, size=, total_results=)`: one page of a campaign list."""
    return _page_json


@pytest.fixture(scope="session")
def canaries() -> tuple[str, ...]:
    """Every secret the fixtures use; none may ever appear in output."""
    return CANARIES


@pytest.fixture(scope="session")
def infobip_schema() -> Callable[[Any, str], None]:
    """`check(instance, "<group>.<Schema>")` validates against Infobip's published schema."""
    document = json.loads((DATA / "infobip-schemas.json").read_text())
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SCHEMAS_URI, resource)

    def check(instance: Any, name: str) -> None:
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"{SCHEMAS_URI}#/components/schemas/{name}"},
            registry=registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        validator.validate(instance)

    return check
