"""TcrClient against a fake TCR (httpx.MockTransport): paths, HTTP Basic, answers and TCR errors."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tendlc.clients.credentials import TcrCredentials
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.clients.tcr import TcrClient
from tendlc.partner_errors import PartnerNotFound, PartnerRejected, PartnerUnavailable


async def test_elect_cnp_posts_to_migrate_cnp_with_http_basic(tcr: TcrClient, partner: Any, calls: Any) -> None:
    partner.handler = lambda request: httpx.Response(
        200, json={"campaignId": "COJD655", "upstreamCnpId": "OPMKT", "sharingStatus": "PENDING", "cnpMigration": True}
    )
    election = await tcr.elect_cnp("COJD655", "OPMKT")
    [request] = partner.requests
    assert request.method == "POST"
    assert request.url.path == "/v2/campaign/COJD655/migrateCnp/OPMKT"
    expected = base64.b64encode(b"canaryTCRkey-4411aa:canaryTCRsecret-c0ffee99").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.content == b""
    assert election.sharing_status == "PENDING"
    assert election.cnp_migration is True
    assert election.upstream_cnp_id == "OPMKT"
    assert calls.seen[0][:3] == ("tcr", "campaign.migrate_cnp", "2xx")


async def test_elect_cnp_with_an_empty_answer_still_reports_the_election(tcr: TcrClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(200)
    election = await tcr.elect_cnp("COJD655", "OPMKT")
    assert (election.campaign_id, election.upstream_cnp_id, election.sharing_status) == ("COJD655", "OPMKT", None)


async def test_an_existing_election_is_a_rejection_with_code_525(tcr: TcrClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(
        400,
        json=[
            {
                "code": 525,
                "field": "upstreamCnpId",
                "description": "Campaign already has a pending or accepted CNP migration to OPMKT",
            }
        ],
    )
    with pytest.raises(PartnerRejected) as caught:
        await tcr.elect_cnp("COJD655", "OPMKT")
    assert caught.value.problems[0].code == "525"
    assert "already has a pending or accepted CNP migration" in caught.value.message


async def test_a_temporary_tcr_code_means_retry_in_30_seconds(tcr: TcrClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(
        400, json=[{"code": 630, "fields": None, "description": "Please retry in 30 seconds"}]
    )
    with pytest.raises(PartnerUnavailable) as caught:
        await tcr.elect_cnp("COJD655", "OPMKT")
    assert caught.value.retry_after == 30.0


async def test_get_campaign_reads_status_as_a_string(tcr: TcrClient, partner: Any, calls: Any) -> None:
    partner.handler = lambda request: httpx.Response(
        200,
        json={
            "campaignId": "COJD655",
            "status": "EXPIRED",
            "brandId": "BXYZ123",
            "usecase": "MIXED",
            "createDate": "2025-01-01T00:00:00.000Z",
            "autoRenewal": "true",
            "somethingNew": [1, 2],
        },
    )
    campaign = await tcr.get_campaign("COJD655")
    assert partner.requests[0].url.path == "/v2/campaign/COJD655"
    assert campaign.status == "EXPIRED"
    assert campaign.auto_renewal is True
    assert calls.seen[0][1] == "campaign.get"


async def test_get_campaign_unknown_is_not_found(tcr: TcrClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(404, json=[{"code": 404, "description": "Campaign not found"}])
    with pytest.raises(PartnerNotFound, match="Campaign not found"):
        await tcr.get_campaign("CNOPE00")


async def test_sharing_reads_a_declined_election_with_tcrs_explanation(tcr: TcrClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(
        200,
        json={
            "sharedByMe": {
                "upstreamCnpId": "OPMKT",
                "sharingStatus": "DECLINED",
                "explanation": "Vertical not supported",
                "statusDate": "2026-11-26T10:00:00Z",
                "cnpMigration": True,
            },
            "sharedWithMe": {"downstreamCnpId": "CSPXYZ", "sharingStatus": "ACCEPTED", "statusDate": "…"},
        },
    )
    sharing = await tcr.get_sharing("COJD655")
    assert partner.requests[0].url.path == "/v2/campaign/COJD655/sharing"
    assert sharing.shared_by_me is not None
    assert sharing.shared_by_me.sharing_status == "DECLINED"
    assert sharing.shared_by_me.explanation == "Vertical not supported"
    assert sharing.shared_by_me.cnp_migration is True
    assert sharing.shared_with_me is not None
    assert sharing.shared_with_me.status_date is None  # unreadable date reads as absent


async def test_sharing_before_any_election_has_no_shared_by_me(tcr: TcrClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(200, json={"sharedByMe": None, "sharedWithMe": None})
    sharing = await tcr.get_sharing("COJD655")
    assert sharing.shared_by_me is None


async def test_sandbox_style_base_url_keeps_its_prefix(partner: Any, limiters: RateLimiterRegistry) -> None:
    partner.handler = lambda request: httpx.Response(200, json={"sharedByMe": None})
    client = TcrClient(
        "http://127.0.0.1:8085/tcr/v2/",
        TcrCredentials.of("k-prefix", "s-prefix"),
        limiter_registry=limiters,
        transport=partner.transport,
    )
    async with client:
        await client.get_sharing("COJD655")
    assert str(partner.requests[0].url) == "http://127.0.0.1:8085/tcr/v2/campaign/COJD655/sharing"
