"""The operator's clients against the sandbox for large campaigns and the preflight (D60-D67).

The real `InfobipClient` and `TcrClient` over HTTP: add-numbers in the published request shape
(202, applied later, a duplicate refused in Infobip's words), the campaign's numbers read back, the
per-MNO operation status, the campaigns holding some numbers, and the whole preflight read made of
documented GETs — the sandbox's ledger shows it changed nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.helpers import SpecValidator, import_and_migrate, numbers_for
from tendlc.clients.credentials import InfobipCredentials, TcrCredentials
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.clients.tcr import TcrClient
from tendlc.controller.preflight_reads import read_preflight
from tendlc.partner_errors import PartnerRejected
from tendlc.partner_requests import AddNumbersRequest
from tendlc.partners import PartnerClients
from tendlc.workflow.preflight_actions import CampaignHolding, ElectionSeen, RunPreflight, TcrCampaignSeen
from tendlc_dev.sandbox import SandboxServer


@pytest.fixture
async def clients(sandbox: SandboxServer) -> AsyncIterator[PartnerClients]:
    limits = RateLimiterRegistry()
    infobip = InfobipClient(sandbox.infobip_url, InfobipCredentials.from_api_key("sandbox-infobip-key"),
                            limiter_registry=limits)
    tcr = TcrClient(sandbox.tcr_url, TcrCredentials.of("sandbox-tcr-key", "sandbox-tcr-secret"),
                    limiter_registry=limits)
    async with infobip, tcr:
        yield PartnerClients(infobip=infobip, tcr=tcr)


async def _registered_campaign(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient,
    tcr_id: str, numbers: list[str],
) -> str:
    await infobip.post("/numbers/2/numbers/import", json={"numbers": numbers, "country": "US",
                                                         "type": "VIRTUAL_LONG_NUMBER",
                                                         "capabilities": ["SMS", "MMS"], "skipOsrUpdate": True})
    await import_and_migrate(infobip, tcr, tcr_id, numbers[:2])
    found = await admin.get(f"/campaigns/{tcr_id}")
    campaign_id: str = found.json()["infobipCampaigns"][0]["id"]
    stage = await admin.post(f"/campaigns/{tcr_id}/stage", json={"stage": "REGISTERED", "emitWebhook": False})
    assert stage.status_code == 200, stage.text
    return campaign_id


async def test_add_numbers_is_sent_as_published_and_applied_later(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient,
    clients: PartnerClients, numbers_spec: SpecValidator,
) -> None:
    numbers = numbers_for(1701, 6)
    campaign = await _registered_campaign(sandbox, infobip, tcr, admin, "COJD701", numbers)
    request = AddNumbersRequest(campaign, tuple(numbers[2:]))
    numbers_spec.validate("UpdateCampaignRegistrationRequest", request.body())
    await clients.infobip.add_numbers(request)
    assert set(await clients.infobip.get_campaign_numbers(campaign)) == set(numbers[:2])  # not applied yet (D34)
    sandbox.advance(61)
    assert set(await clients.infobip.get_campaign_numbers(campaign)) == set(numbers)
    with pytest.raises(PartnerRejected) as refused:
        await clients.infobip.add_numbers(request)  # a resend: the sandbox refuses what the campaign holds
    assert "already in campaign" in str(refused.value)
    attempts = (await admin.get("/attempts", params={"campaign": "COJD701", "endpoint": "infobip.add_numbers"}))
    tally = attempts.json()["byCampaign"]["COJD701"]["infobip.add_numbers"]
    assert (tally["attempts"], tally["successes"]) == (2, 1)


@pytest.mark.parametrize("count", [0, 5001])
async def test_the_client_refuses_batches_outside_the_published_limits(clients: PartnerClients, count: int) -> None:
    with pytest.raises(ValueError, match="add-numbers request carries 1 to 5000"):
        await clients.infobip.add_numbers(AddNumbersRequest("44e8c5fc-0000-4000-8000-000000000001",
                                                            tuple(numbers_for(1702, count))))


async def test_the_preflight_reads_find_each_seed_and_write_nothing(
    admin: httpx.AsyncClient, clients: PartnerClients
) -> None:
    numbers = numbers_for(1703, 4)
    used = await admin.post("/infobip-campaigns", json={"externalCampaignId": "COTHER1", "numbers": numbers[:1]})
    assert used.status_code == 201, used.text
    seeded = await admin.put("/campaigns/COJD703/scenario", json={
        "suspendedMnos": ["10035"], "election": {"upstreamCnpId": "OTHERCNP", "sharingStatus": "PENDING"}})
    assert seeded.status_code == 200, seeded.text
    before = (await admin.get("/ledger", params={"since": 0})).json()["lastSeq"]
    seen = await read_preflight(
        RunPreflight("COJD703", "OPMKT", "migrateCampaignCOJD703", numbers[0], tuple(numbers)), clients
    )
    expired = await read_preflight(RunPreflight("CEX0703", "OPMKT", "m", None, ()), clients)
    entries: list[dict[str, Any]] = (await admin.get("/ledger", params={"since": before})).json()["entries"]
    assert seen.tcr_campaign == TcrCampaignSeen("ACTIVE")
    assert dict(seen.operation_status)["10035"] == "SUSPENDED"  # type: ignore[arg-type]
    assert seen.election == ElectionSeen("OTHERCNP", "PENDING")
    assert seen.owned is not None
    assert seen.owned.owned == 1  # type: ignore[union-attr]
    assert isinstance(seen.holding, tuple)
    assert [(c.external_campaign_id, c.numbers) for c in seen.holding if isinstance(c, CampaignHolding)] == [
        ("COTHER1", (numbers[0],))]
    assert seen.existing is None
    assert expired.tcr_campaign == TcrCampaignSeen("EXPIRED")
    assert entries
    assert {entry["method"] for entry in entries} == {"GET"}
    assert not any(entry["effect"] for entry in entries)
