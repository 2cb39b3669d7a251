"""Webhook delivery: HMAC (D5) and BASIC security, event and criteria matching, bounded retries
on the sandbox clock when the receiver does not answer 200, and injected loss, duplicates and
reordering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx

from sandbox.helpers import Receiver, SandboxFactory, import_and_migrate, numbers_for, subscribe
from tendlc_dev.sandbox import FaultConfig, SandboxServer, WebhookConfig

HMAC_SECURITY = {"authId": "h1", "type": "HMAC", "credentials": {"secretKey": "k3y", "algorithm": "HMAC_SHA_256"}}


async def register_one(sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, tcr_id: str) -> str:
    created = await import_and_migrate(infobip, tcr, tcr_id, numbers_for(int(tcr_id[-3:])))
    sandbox.advance(100_000)
    campaign_id: str = created["id"]
    return campaign_id


async def test_hmac_signature_header_over_the_raw_body(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(infobip, receiver.url, HMAC_SECURITY, events=["CAMPAIGN_STATUS_UPDATE"])
    campaign_id = await register_one(sandbox, infobip, tcr, "COJD101")
    [request] = await receiver.wait_for(1)
    expected = "sha256=" + hmac.new(b"k3y", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Infobip-Signature"] == expected
    assert request["headers"]["Content-Type"] == "application/json"
    content = json.loads(request["body"])["results"][0]["content"]
    assert (content["campaignId"], content["campaignStatus"]) == (campaign_id, "REGISTERED")
    assert await sandbox.wait_for_webhooks(2.0)
    assert [r["outcome"] for r in sandbox.webhooks.records] == ["delivered"]


async def test_basic_security_sends_authorization(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, receiver: Receiver
) -> None:
    security = {"authId": "b1", "type": "BASIC", "credentials": {"username": "hook", "password": "pw"}}
    await subscribe(infobip, receiver.url, security, events=["CAMPAIGN_STATUS_UPDATE"])
    await register_one(sandbox, infobip, tcr, "COJD102")
    [request] = await receiver.wait_for(1)
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"hook:pw").decode()
    assert "X-Infobip-Signature" not in request["headers"]


async def test_only_subscribed_events_and_matching_criteria_are_sent(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(infobip, receiver.url, subscription_id="networks", events=["CAMPAIGN_NETWORK_STATUS_UPDATE"])
    await subscribe(infobip, receiver.url, subscription_id="other-app", criteria=[{"applicationId": "other"}])
    await subscribe(infobip, receiver.url, subscription_id="default-app", criteria=[{"applicationId": "default"}])
    await register_one(sandbox, infobip, tcr, "COJD103")
    assert await sandbox.wait_for_webhooks(3.0)
    by_subscription: dict[str, list[str]] = {}
    for record in sandbox.webhooks.records:
        by_subscription.setdefault(record["subscriptionId"], []).append(record["event"])
    assert by_subscription == {
        "networks": ["CAMPAIGN_NETWORK_STATUS_UPDATE"] * 3,
        "default-app": ["CAMPAIGN_NETWORK_STATUS_UPDATE"] * 3 + ["CAMPAIGN_STATUS_UPDATE"],
    }
    assert len(receiver.requests) == 7


async def test_retries_until_the_receiver_answers_200(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.statuses = [500, 202]
    await subscribe(infobip, receiver.url, events=["CAMPAIGN_STATUS_UPDATE"])
    await register_one(sandbox, infobip, tcr, "COJD104")
    assert await sandbox.wait_for_webhooks(3.0)
    assert [r["outcome"] for r in sandbox.webhooks.records] == ["retry_scheduled", "retry_scheduled", "delivered"]
    assert [r["attempt"] for r in sandbox.webhooks.records] == [1, 2, 3]
    bodies = {r["body"] for r in receiver.requests}
    assert len(receiver.requests) == 3
    assert len(bodies) == 1, "a retry resends the same body"


async def test_retries_are_bounded_and_wait_on_the_sandbox_clock(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    server = await make_sandbox(webhooks=WebhookConfig(max_attempts=2, retry_backoff_seconds=30, timeout_seconds=2))
    receiver.statuses = [500] * 10
    async with (
        httpx.AsyncClient(base_url=server.infobip_url, headers={"Authorization": "App sandbox-infobip-key"}) as infobip,
        httpx.AsyncClient(base_url=server.tcr_url, auth=("sandbox-tcr-key", "sandbox-tcr-secret")) as tcr,
    ):
        await subscribe(infobip, receiver.url, events=["CAMPAIGN_STATUS_UPDATE"])
        await register_one(server, infobip, tcr, "COJD105")
    await receiver.wait_for(1)
    assert not await server.wait_for_webhooks(0.2), "the retry waits for sandbox time"
    assert len(receiver.requests) == 1
    server.advance(30)
    assert await server.wait_for_webhooks(3.0)
    assert len(receiver.requests) == 2
    assert [r["outcome"] for r in server.webhooks.records] == ["retry_scheduled", "gave_up"]


async def test_unreachable_receiver_gives_up_without_harm(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(webhooks=WebhookConfig(max_attempts=2, retry_backoff_seconds=0, timeout_seconds=1))
    async with (
        httpx.AsyncClient(base_url=server.infobip_url, headers={"Authorization": "App sandbox-infobip-key"}) as infobip,
        httpx.AsyncClient(base_url=server.tcr_url, auth=("sandbox-tcr-key", "sandbox-tcr-secret")) as tcr,
    ):
        await subscribe(infobip, "http://127.0.0.1:9/nothing", events=["CAMPAIGN_STATUS_UPDATE"])
        await register_one(server, infobip, tcr, "COJD106")
        assert await server.wait_for_webhooks(3.0)
        assert [r["outcome"] for r in server.webhooks.records] == ["retry_scheduled", "gave_up"]
        assert server.webhooks.records[-1]["error"]
        assert (await infobip.get("/number-registration/1/campaigns")).status_code == 200


async def test_injected_loss_and_duplicates(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    server = await make_sandbox(faults=FaultConfig(webhook_duplicate_probability=1.0))
    async with (
        httpx.AsyncClient(base_url=server.infobip_url, headers={"Authorization": "App sandbox-infobip-key"}) as infobip,
        httpx.AsyncClient(base_url=server.tcr_url, auth=("sandbox-tcr-key", "sandbox-tcr-secret")) as tcr,
        httpx.AsyncClient(base_url=f"{server.base_url}/_admin") as admin,
    ):
        await subscribe(infobip, receiver.url, events=["CAMPAIGN_STATUS_UPDATE"])
        await register_one(server, infobip, tcr, "COJD107")
        await receiver.wait_for(2)
        assert len(receiver.requests) == 2
        assert receiver.requests[0]["body"] == receiver.requests[1]["body"]

        await admin.put("/faults", json={"webhookLossProbability": 1.0})
        await register_one(server, infobip, tcr, "COJD108")
        assert await server.wait_for_webhooks(2.0)
        assert len(receiver.requests) == 2
        outcomes = [r["outcome"] for r in (await admin.get("/webhooks")).json()["deliveries"]]
        assert outcomes == ["delivered", "delivered", "lost"]


async def test_injected_reordering_delivers_a_later_event_first(
    sandbox: SandboxServer,
    infobip: httpx.AsyncClient,
    tcr: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    await subscribe(infobip, receiver.url, events=["CAMPAIGN_STATUS_UPDATE"])
    await import_and_migrate(infobip, tcr, "COJD109", numbers_for(109))
    await admin.put("/faults", json={"webhookReorderProbability": 1.0, "webhookReorderMaxHoldSeconds": 5})
    await admin.post("/campaigns/COJD109/stage", json={"stage": "SUBMITTED"})
    await admin.put("/faults", json={})
    await admin.post("/campaigns/COJD109/stage", json={"stage": "REGISTERED"})
    await receiver.wait_for(2)
    statuses = [p["results"][0]["content"]["campaignStatus"] for p in receiver.payloads()]
    assert statuses == ["REGISTERED", "SUBMITTED"]
