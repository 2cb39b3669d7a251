"""Receiver and subscription against the sandbox that plays Infobip: the same signing, the same
subscription shape, one subscription across restarts, and events that arrive end to end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from webhook_samples import WEBHOOK_HMAC_KEY, WEBHOOK_PASSWORD, WEBHOOK_USERNAME

from sandbox.helpers import TCR_AUTH, import_and_migrate, sandbox_config
from tendlc.clients.credentials import InfobipCredentials
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.webhooks.auth import WebhookAuth
from tendlc.webhooks.payload import WebhookEvent
from tendlc.webhooks.receiver import WEBHOOK_PATH, DispatchResult, WebhookServer
from tendlc.webhooks.subscription import CHANNEL, Create, Keep, desired_subscription, plan_subscription
from tendlc_dev.sandbox import SandboxServer


async def no_wait(seconds: float) -> None:
    return None


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(sandbox_config())
    await server.start(host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        await server.stop()


@pytest.mark.parametrize("auth", [WebhookAuth.hmac(WEBHOOK_HMAC_KEY), WebhookAuth.basic(WEBHOOK_USERNAME,
                                                                                         WEBHOOK_PASSWORD)],
                         ids=["HMAC", "BASIC"])
async def test_sandbox_deliveries_reach_dispatch_through_the_ensured_subscription(
    sandbox: SandboxServer, auth: WebhookAuth
) -> None:
    events: list[WebhookEvent] = []
    registered = asyncio.Event()

    async def dispatch(event: WebhookEvent) -> DispatchResult:
        events.append(event)
        if event.status == "REGISTERED":
            registered.set()
        return "applied"

    receiver = WebhookServer.for_receiver(auth, dispatch)
    url = await receiver.start()
    infobip = InfobipClient(
        sandbox.infobip_url,
        InfobipCredentials.from_api_key("sandbox-infobip-key"),
        limiter_registry=RateLimiterRegistry(sleep=no_wait),
    )
    try:
        async with infobip:
            desired = desired_subscription(url + WEBHOOK_PATH, auth, owner="unit-test")
            for restart in range(3):  # start-up runs the plan each time: one create, then keeps
                plan = plan_subscription(await infobip.list_subscriptions(CHANNEL), desired)
                if restart == 0:
                    assert plan == Create(request=desired)
                    await infobip.create_subscription(plan.request, channel=CHANNEL)
                else:
                    assert plan == Keep(subscription_id=desired.subscription_id)
            assert len(await infobip.list_subscriptions(CHANNEL)) == 1

        async with (
            httpx.AsyncClient(base_url=sandbox.infobip_url, headers={"Authorization": "App sandbox-infobip-key"})
            as partner,
            httpx.AsyncClient(base_url=sandbox.tcr_url, auth=TCR_AUTH) as tcr,
        ):
            created = await import_and_migrate(partner, tcr, "COJD655", ["19546899283", "19168361160"])
        sandbox.advance(100_000)
        async with asyncio.timeout(10):
            await registered.wait()
        assert await sandbox.wait_for_webhooks(5.0)
    finally:
        await receiver.stop()
    assert {event.infobip_campaign_id for event in events} == {created["id"]}
    assert any(event.tcr_id == "COJD655" and event.status == "REGISTERED" for event in events)
    assert {record["outcome"] for record in sandbox.webhooks.records} == {"delivered"}
