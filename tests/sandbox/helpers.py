"""Helpers for the sandbox tests: validators for the published OpenAPI schemas, the test
configuration (frozen clock, no rate limits), the operator's first steps, a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tendlc_dev.sandbox import RateLimitConfig, SandboxConfig, SandboxServer, WebhookConfig

SPECS = Path(__file__).resolve().parents[1] / "data" / "specs" / "infobip"  # copies: tests/data/specs/README.md

SandboxFactory = Callable[..., Awaitable[SandboxServer]]

INFOBIP_KEY = {"Authorization": "App sandbox-infobip-key"}
TCR_AUTH = ("sandbox-tcr-key", "sandbox-tcr-secret")


class SpecValidator:
    """Validates instances against a named component schema of one published OpenAPI document."""

    def __init__(self, path: Path) -> None:
        self.document: dict[str, Any] = json.loads(path.read_text())
        self.uri = f"urn:{path.name}"
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(self.uri, resource)
        self.schemas: dict[str, Any] = self.document["components"]["schemas"]

    def name(self, suffix: str) -> str:
        """Component names carry a hash prefix (`2700ea….Campaign`); find one by its last part."""
        exact = [n for n in self.schemas if n == suffix or n.endswith("." + suffix)]
        assert exact, f"no schema named {suffix}"
        return sorted(exact, key=len)[0] if suffix in exact else exact[0]

    def validator(self, suffix: str) -> Draft202012Validator:
        schema = {"$ref": f"{self.uri}#/components/schemas/{self.name(suffix)}"}
        return Draft202012Validator(schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def validate(self, suffix: str, instance: Any) -> None:
        self.validator(suffix).validate(instance)


def sandbox_config(**overrides: Any) -> SandboxConfig:
    """Frozen clock, no rate limits, immediate webhook retries: tests move time themselves."""
    base: dict[str, Any] = {
        "time_scale": 0.0,
        "rate_limits": RateLimitConfig(enabled=False),
        "webhooks": WebhookConfig(retry_backoff_seconds=0.0, timeout_seconds=2.0),
        "log_requests": False,
    }
    base.update(overrides)
    return SandboxConfig(**base)


def numbers_for(seed: int, count: int = 2) -> list[str]:
    return [f"1{seed:04d}{i:06d}" for i in range(count)]


async def import_and_migrate(
    infobip: httpx.AsyncClient,
    tcr: httpx.AsyncClient | None,
    tcr_id: str,
    numbers: list[str],
    *,
    own_nnid: bool = False,
) -> dict[str, Any]:
    """The operator's first three steps, as the guide describes them."""
    answer = await infobip.post(
        "/numbers/2/numbers/import",
        json={
            "numbers": numbers,
            "country": "US",
            "type": "VIRTUAL_LONG_NUMBER",
            "capabilities": ["SMS", "MMS"],
            "skipOsrUpdate": not own_nnid,
        },
    )
    assert answer.status_code == 200, answer.text
    if tcr is not None:
        elected = await tcr.post(f"/campaign/{tcr_id}/migrateCnp/OPMKT")
        assert elected.status_code == 200, elected.text
    migrated = await infobip.post(
        "/number-registration/1/campaigns/migrate",
        json={
            "name": f"migrateCampaign{tcr_id}",
            "externalCampaignId": tcr_id,
            "numberPoolID": None,
            "numbers": numbers,
            "isClientManageNnid": own_nnid,
        },
    )
    assert migrated.status_code == 200, migrated.text
    body: dict[str, Any] = migrated.json()
    return body


@dataclass
class Receiver:
    """A tiny webhook receiver: records every request; answers the scripted statuses, then 200."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append({"headers": dict(request.headers), "body": body, "path": request.path})
        status = self.statuses.pop(0) if self.statuses else 200
        self.arrived.set()
        return web.Response(status=status)

    async def wait_for(self, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        """Bounded wait until at least `count` requests arrived (never a bare sleep)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while len(self.requests) < count:
                    self.arrived.clear()
                    await self.arrived.wait()
        return self.requests

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]


async def subscribe(
    infobip: httpx.AsyncClient,
    url: str,
    security: dict[str, Any] | None = None,
    *,
    subscription_id: str = "tendlc-sub",
    events: list[str] | None = None,
    criteria: list[dict[str, str]] | None = None,
) -> httpx.Response:
    profile: dict[str, Any] = {"profileId": f"{subscription_id}-profile", "webhook": {"notifyUrl": url}}
    if security is not None:
        profile["security"] = security
    body: dict[str, Any] = {
        "subscriptionId": subscription_id,
        "name": "tendlc operator",
        "events": events or ["CAMPAIGN_STATUS_UPDATE", "CAMPAIGN_NETWORK_STATUS_UPDATE"],
        "profile": profile,
    }
    if criteria is not None:
        body["criteria"] = criteria
    return await infobip.post("/subscriptions/1/subscription/REGISTRATION", json=body)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> bool:
    """Poll an async condition with a deadline; for webhook delivery, which is asynchronous."""
    for _ in range(int(within / 0.01)):
        if await check():
            return True
        await asyncio.sleep(0.01)
    return await check()
