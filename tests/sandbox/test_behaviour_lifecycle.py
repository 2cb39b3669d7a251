"""Behaviour alternatives that change what happens over time: unusual stages before REGISTERED, and
webhooks deterministically duplicated or delivered in reverse order; plus accept-duplicates mode,
in which a resend shows up as a second record instead of a refusal."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.helpers import Receiver, SpecValidator, import_and_migrate, numbers_for, subscribe
from tendlc_dev.sandbox import SandboxServer

CAMPAIGNS = "/number-registration/1/campaigns"
ALL_STEPS = 100_000


async def _switch(admin: httpx.AsyncClient, **switches: Any) -> None:
    answer = await admin.patch("/behaviour", json=switches)
    assert answer.status_code == 200, answer.text


async def test_a_campaign_passes_through_unusual_stages_before_registered(
    sandbox: SandboxServer,
    infobip: httpx.AsyncClient,
    tcr: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    numbers_spec: SpecValidator,
    receiver: Receiver,
) -> None:
    await _switch(admin, interimStages=["UPDATE_REQUESTED_BY_CARRIERS", "PAUSED"], interimStageSeconds=100)
    assert (await subscribe(infobip, receiver.url)).status_code == 201
    created = await import_and_migrate(infobip, tcr, "COJD501", numbers_for(501))
    schedule = sandbox.config.schedule
    registration_due = schedule.sharing_decision_after + schedule.osr_update_after + schedule.registration_after_osr

    async def stage() -> str:
        body = (await infobip.get(f"{CAMPAIGNS}/{created['id']}")).json()
        if body["stage"] == "PAUSED":  # in the published enum (the carriers' one is not)
            numbers_spec.validate("Campaign", body)
        result: str = body["stage"]
        return result

    sandbox.advance(registration_due - 1)
    assert await stage() == "IN_MIGRATION"
    sandbox.advance(1)
    assert await stage() == "UPDATE_REQUESTED_BY_CARRIERS"  # not in the published enum: clients must cope
    sandbox.advance(100)
    assert await stage() == "PAUSED"
    listed = (await infobip.get(CAMPAIGNS, params={"stage": "PAUSED"})).json()
    assert [c["id"] for c in listed["results"]] == [created["id"]]
    sandbox.advance(99)
    assert await stage() == "PAUSED"
    sandbox.advance(1)
    assert await stage() == "REGISTERED"
    await sandbox.wait_for_webhooks()
    statuses = [p["results"][0]["content"].get("campaignStatus") for p in receiver.payloads()]
    assert statuses.count("REGISTERED") == 1
    assert "PAUSED" not in statuses
    record = sandbox.state.campaigns[created["id"]]
    assert record.registered_at == record.interim_started_at + 200  # type: ignore[operator]


async def test_one_big_advance_gives_the_same_history_as_small_steps(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await _switch(admin, interimStages=["PAUSED"], interimStageSeconds=300)
    created = await import_and_migrate(infobip, tcr, "COJD502", numbers_for(502))
    sandbox.advance(ALL_STEPS)
    record = sandbox.state.campaigns[created["id"]]
    assert record.stage == "REGISTERED"
    assert record.interim_started_at is not None
    assert record.registered_at == record.interim_started_at + 300


async def test_webhooks_are_each_sent_twice_in_duplicate_mode(
    sandbox: SandboxServer,
    infobip: httpx.AsyncClient,
    tcr: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    await _switch(admin, webhookDuplicates=True)
    assert (await subscribe(infobip, receiver.url)).status_code == 201
    await import_and_migrate(infobip, tcr, "COJD503", numbers_for(503))
    sandbox.advance(ALL_STEPS)
    await receiver.wait_for(8)
    await sandbox.wait_for_webhooks()
    bodies = [r["body"] for r in receiver.requests]
    assert len(bodies) == 8  # 3 network updates + REGISTERED, each twice
    assert all(bodies.count(body) == 2 for body in bodies)
    deliveries = (await admin.get("/webhooks")).json()["deliveries"]
    assert sum(d["duplicate"] for d in deliveries) == 4


async def test_a_campaigns_events_arrive_in_reverse_order_in_reverse_mode(
    sandbox: SandboxServer,
    infobip: httpx.AsyncClient,
    tcr: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    await _switch(admin, webhookReverse=True)
    assert (await subscribe(infobip, receiver.url)).status_code == 201
    await import_and_migrate(infobip, tcr, "COJD504", numbers_for(504))
    sandbox.advance(ALL_STEPS)
    await receiver.wait_for(4)
    events = [p["results"][0] for p in receiver.payloads()]
    assert events[0]["content"]["campaignStatus"] == "REGISTERED"  # D11 sends it last; here it comes first
    assert [e["content"].get("campaignNetwork") for e in events[1:]] == ["VERIZON", "T_MOBILE", "ATT"]


async def test_accept_duplicates_turns_every_resend_into_a_second_record(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    numbers = numbers_for(505)
    first = await import_and_migrate(infobip, tcr, "COJD505", numbers)
    sandbox.advance(sandbox.config.schedule.sharing_decision_after)
    assert (await admin.get("/behaviour")).json()["acceptDuplicates"] is False
    body = {"name": "migrateCampaignCOJD505", "externalCampaignId": "COJD505", "numbers": numbers}
    assert (await infobip.post(f"{CAMPAIGNS}/migrate", json=body)).status_code == 400  # D2 by default
    assert (await tcr.post("/campaign/COJD505/migrateCnp/OPMKT")).status_code == 400  # D6 525 by default

    await _switch(admin, acceptDuplicates=True)
    second = await infobip.post(f"{CAMPAIGNS}/migrate", json=body)
    assert second.status_code == 200
    assert second.json()["id"] != first["id"]
    again = await tcr.post("/campaign/COJD505/migrateCnp/OPMKT")
    assert again.status_code == 200
    assert again.json()["sharingStatus"] == "PENDING"
    sharing = (await tcr.get("/campaign/COJD505/sharing")).json()["sharedByMe"]
    assert sharing["sharingStatus"] == "PENDING"  # the ACCEPTED election was replaced by a new one
    other_cnp = await tcr.post("/campaign/COJD505/migrateCnp/OTHERCNP")
    assert other_cnp.status_code == 400  # a different (unknown) CNP is still refused
    record = (await admin.get("/campaigns/COJD505")).json()
    assert len(record["infobipCampaigns"]) == 2
    assert [e["upstreamCnpId"] for e in record["tcr"]["previousElections"]] == ["OPMKT"]
    view = (await admin.get("/attempts", params={"campaign": "COJD505"})).json()["byCampaign"]["COJD505"]
    assert (view["infobip.migrate"]["attempts"], view["infobip.migrate"]["successes"]) == (3, 2)
    assert (view["tcr.migrate_cnp"]["attempts"], view["tcr.migrate_cnp"]["successes"]) == (4, 2)


async def test_accept_duplicates_replaces_a_subscription_created_again(
    infobip: httpx.AsyncClient, admin: httpx.AsyncClient, receiver: Receiver
) -> None:
    assert (await subscribe(infobip, receiver.url)).status_code == 201
    assert (await subscribe(infobip, receiver.url + "?again")).status_code == 400  # D14 by default
    await _switch(admin, acceptDuplicates=True)
    replaced = await subscribe(infobip, receiver.url + "?again", events=["CAMPAIGN_STATUS_UPDATE"])
    assert replaced.status_code == 201
    listed = (await infobip.get("/subscriptions/1/subscription/REGISTRATION")).json()["results"]
    assert [s["events"] for s in listed] == [["CAMPAIGN_STATUS_UPDATE"]]
    counters = (await admin.get("/counters")).json()["subscriptionCreate"]["tendlc-sub"]
    assert (counters["attempts"], counters["successes"]) == (3, 2)
