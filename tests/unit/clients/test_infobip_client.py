"""InfobipClient against a fake Infobip (httpx.MockTransport): requests as documented, answers read."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tendlc.clients.credentials import InfobipCredentials
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.models import SubscriptionRequest, WebhookProfile, WebhookSecurity
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.partner_errors import PartnerRejected
from tendlc.partner_requests import MigrationRequest, NumberImport

CAMPAIGN = "2700ea5ecfd0574f21019319e90eb63416ede8263eab67e466c718c51cd1a77a"
SUBSCRIPTION = "6e71a232d29cf86cbe8cd24bd719c2050de4613347854f985c920dd3d0d3e33f"
UUID = "44e8c5fc-2c1b-4b7e-9d1a-3f0c7e2a9b11"

Check = Callable[[Any, str], None]


def numbers(count: int) -> list[str]:
    return [f"1954{index:07d}" for index in range(count)]


def import_answer(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)["numbers"]
    results = [
        {"number": number, "status": "ALREADY_IMPORTED" if number.endswith("1") else "IMPORTED"} for number in sent
    ]
    return httpx.Response(200, json={"results": results})


# --------------------------------------------------------------------------------- import


async def test_import_sends_the_guides_body_with_app_key_authorization(infobip: InfobipClient, partner: Any) -> None:
    partner.handler = import_answer
    await infobip.import_and_confirm(NumberImport(tuple(["19546899283"]), True))
    [request] = partner.requests
    assert request.method == "POST"
    assert request.url.path == "/numbers/2/numbers/import"
    assert request.headers["Authorization"] == "App canaryIBkey-7f3a9c2e51d0"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert json.loads(request.content) == {
        "numbers": ["19546899283"],
        "country": "US",
        "type": "VIRTUAL_LONG_NUMBER",
        "capabilities": ["SMS", "MMS"],
        "skipOsrUpdate": True,
    }


async def test_import_of_250_numbers_is_sent_as_100_100_50_and_merged(
    infobip: InfobipClient, partner: Any, calls: Any
) -> None:
    partner.handler = import_answer
    wanted = numbers(250)
    result = await infobip.import_and_confirm(NumberImport(tuple(wanted), False))
    assert [len(body["numbers"]) for body in partner.bodies()] == [100, 100, 50]
    assert [number for body in partner.bodies() for number in body["numbers"]] == wanted
    assert {body["skipOsrUpdate"] for body in partner.bodies()} == {False}
    assert set(result.confirmed) == set(wanted)
    assert result.complete
    assert result.owned_number_calls == 0
    assert [seen[:3] for seen in calls.seen] == [("infobip", "numbers.import", "2xx")] * 3


async def test_already_imported_numbers_count_as_success(infobip: InfobipClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(
        200,
        json={
            "results": [
                {"number": "19546899283", "status": "IMPORTED"},
                {"number": "19168361160", "status": "ALREADY_IMPORTED"},
            ]
        },
    )
    result = await infobip.import_and_confirm(NumberImport(tuple(["19546899283", "19168361160"]), True))
    assert set(result.confirmed) == {"19546899283", "19168361160"}
    assert result.refused == ()
    assert result.owned_number_calls == 0


async def test_import_reports_numbers_with_other_statuses_and_missing_numbers(
    infobip: InfobipClient, partner: Any
) -> None:
    partner.handler = lambda request: httpx.Response(
        200, json={"results": [{"number": "19546899283", "status": "NOT_PORTABLE", "reason": "unknown extra"}]}
    )
    result = await infobip.import_and_confirm(NumberImport(tuple(["19546899283", "19168361160"]), True))
    assert [refused.word for refused in result.refused] == ["NOT_PORTABLE"]
    assert "19168361160" in result.unconfirmed  # not in the answer, and the owned list (empty here) lacks it
    assert not result.complete


async def test_import_sends_each_number_once_and_nothing_for_no_numbers(infobip: InfobipClient, partner: Any) -> None:
    partner.handler = import_answer
    assert (await infobip.import_and_confirm(NumberImport(tuple([]), True))).confirmed == ()
    assert partner.requests == []
    await infobip.import_and_confirm(NumberImport(tuple(["19546899283", "19546899283"]), True))
    assert partner.bodies()[0]["numbers"] == ["19546899283"]


async def test_import_forbidden_for_the_account_is_partner_forbidden(
    infobip: InfobipClient, partner: Any, infobip_schema: Check
) -> None:
    from tendlc.partner_errors import PartnerForbidden

    body = {"requestError": {"serviceException": {"messageId": "FORBIDDEN", "text": "Import is not enabled"}}}
    infobip_schema(body, "ApiException")
    partner.handler = lambda request: httpx.Response(403, json=body)
    with pytest.raises(PartnerForbidden, match="Import is not enabled"):
        await infobip.import_and_confirm(NumberImport(tuple(["19546899283"]), True))


# --------------------------------------------------------------------------------- migrate


async def test_migrate_sends_exactly_the_documented_keys(
    infobip: InfobipClient, partner: Any, campaign_json: Callable[..., dict[str, Any]], infobip_schema: Check
) -> None:
    answer = campaign_json()
    infobip_schema(answer, f"{CAMPAIGN}.ExternalTenDlcCampaign")
    partner.handler = lambda request: httpx.Response(200, json=answer)
    campaign = await infobip.submit_migration(
            MigrationRequest("migrateCampaignCOJD655", "COJD655", tuple(["19168361160"]), None, False)
        )
    [request] = partner.requests
    assert request.method == "POST"
    assert request.url.path == "/number-registration/1/campaigns/migrate"
    assert json.loads(request.content) == {
        "name": "migrateCampaignCOJD655",
        "externalCampaignId": "COJD655",
        "numberPoolID": None,
        "numbers": ["19168361160"],
        "isClientManageNnid": False,
    }
    assert campaign.id == UUID
    assert campaign.stage == "IN_MIGRATION"
    assert campaign.external_campaign_id == "COJD655"


async def test_migrate_passes_a_number_pool_and_own_nnid(
    infobip: InfobipClient, partner: Any, campaign_json: Callable[..., dict[str, Any]]
) -> None:
    partner.handler = lambda request: httpx.Response(200, json=campaign_json())
    await infobip.submit_migration(
            MigrationRequest("n", "COJD655", tuple(numbers(200)), "pool-1", True)
        )
    body = partner.bodies()[0]
    assert body["numberPoolID"] == "pool-1"
    assert body["isClientManageNnid"] is True
    assert len(body["numbers"]) == 200


@pytest.mark.parametrize("wanted", [[], numbers(201), ["19168361160", "19168361160"]])
async def test_migrate_refuses_bad_number_lists_without_calling_infobip(
    infobip: InfobipClient, partner: Any, wanted: list[str]
) -> None:
    with pytest.raises(ValueError, match="numbers"):
        await infobip.submit_migration(
            MigrationRequest("n", "COJD655", tuple(wanted), None, False)
        )
    assert partner.requests == []


async def test_second_migrate_is_rejected_with_infobips_words(
    infobip: InfobipClient, partner: Any, infobip_schema: Check
) -> None:
    body = {
        "requestError": {
            "serviceException": {
                "messageId": "BAD_REQUEST",
                "text": f"Campaign COJD655 is already in migration (id {UUID})",
                "validationErrors": {"externalCampaignId": ["already in migration"]},
            }
        }
    }
    infobip_schema(body, "ApiException")
    partner.handler = lambda request: httpx.Response(400, json=body)
    with pytest.raises(PartnerRejected) as caught:
        await infobip.submit_migration(
            MigrationRequest("n", "COJD655", tuple(["19168361160"]), None, False)
        )
    assert "already in migration" in caught.value.message
    assert any(problem.field == "externalCampaignId" for problem in caught.value.problems)
    assert len(partner.requests) == 1


# --------------------------------------------------------------------------------- get campaign


async def test_get_campaign_reads_a_rejection_with_its_details(
    infobip: InfobipClient, partner: Any, campaign_json: Callable[..., dict[str, Any]], infobip_schema: Check
) -> None:
    answer = campaign_json(
        stage="REJECTED",
        campaignFeedback={
            "rejectionReasons": ["Sample messages do not match the use case."],
            "rejectionDetails": [
                {
                    "errorCode": "1001",
                    "description": "Sample messages do not match the use case.",
                    "recommendedAction": "Update the sample messages.",
                }
            ],
            "rejectionDate": "2026-11-27T09:00:00Z",
        },
        numberPreviews=[{"numberKey": "D79C", "number": "19168361160", "countryCode": "US"}],
    )
    infobip_schema(answer, f"{CAMPAIGN}.ExternalTenDlcCampaign")
    partner.handler = lambda request: httpx.Response(200, json=answer)
    campaign = await infobip.get_campaign(UUID)
    assert partner.requests[0].method == "GET"
    assert partner.requests[0].url.path == f"/number-registration/1/campaigns/{UUID}"
    assert campaign.stage == "REJECTED"
    assert campaign.rejection_reasons == ("Sample messages do not match the use case.",)
    assert campaign.rejection_details[0].error_code == "1001"
    assert campaign.rejection_details[0].recommended_action == "Update the sample messages."
    assert campaign.numbers == ("19168361160",)


async def test_get_campaign_with_an_unknown_stage_does_not_crash(
    infobip: InfobipClient, partner: Any, campaign_json: Callable[..., dict[str, Any]]
) -> None:
    partner.handler = lambda request: httpx.Response(
        200, json=campaign_json(stage="AWAITING_CARRIER_REVIEW_V2", type="SOMETHING_NEW", brandNew={"x": 1})
    )
    campaign = await infobip.get_campaign(UUID)
    assert campaign.stage == "AWAITING_CARRIER_REVIEW_V2"
    assert campaign.type == "SOMETHING_NEW"


async def test_campaign_id_is_escaped_into_one_path_segment(infobip: InfobipClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(200, json={"id": "x"})
    await infobip.get_campaign("a/b?c")
    assert partner.requests[0].url.raw_path == b"/number-registration/1/campaigns/a%2Fb%3Fc"
    with pytest.raises(ValueError, match="path segment"):
        await infobip.get_campaign("..")
    with pytest.raises(ValueError, match="path segment"):
        await infobip.get_campaign("")


async def test_campaign_numbers_are_read_from_number_previews(
    infobip: InfobipClient, partner: Any, infobip_schema: Check
) -> None:
    answer = {"numberPreviews": [{"numberKey": "2C95", "number": "19168361160", "countryCode": "US"}]}
    infobip_schema(answer, f"{CAMPAIGN}.NumberPreviews")
    partner.handler = lambda request: httpx.Response(200, json=answer)
    assert await infobip.get_campaign_numbers(UUID) == ("19168361160",)
    assert partner.requests[0].url.path == f"/number-registration/1/campaigns/{UUID}/numbers"


# --------------------------------------------------------------------------------- list campaigns


def paged(pages: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[int(request.url.params["page"])])

    return handler


async def test_find_campaigns_sends_filters_as_exploded_query_params(infobip: InfobipClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(200, json={"results": [], "paging": None})
    await infobip.find_campaigns(
        name_like="migrateCampaignCOJD655",
        numbers=["19168361160", "19546899283"],
        stages=["IN_MIGRATION", "REGISTERED"],
        types=["EXTERNAL_TEN_DIGIT_LONG_CODE"],
        page_size=50,
    )
    [request] = partner.requests
    assert request.url.path == "/number-registration/1/campaigns"
    assert request.url.params.multi_items() == [
        ("nameLike", "migrateCampaignCOJD655"),
        ("number", "19168361160"),
        ("number", "19546899283"),
        ("stage", "IN_MIGRATION"),
        ("stage", "REGISTERED"),
        ("type", "EXTERNAL_TEN_DIGIT_LONG_CODE"),
        ("page", "0"),
        ("size", "50"),
    ]


async def test_find_campaigns_walks_every_page(
    infobip: InfobipClient,
    partner: Any,
    calls: Any,
    campaign_json: Callable[..., dict[str, Any]],
    page_json: Callable[..., dict[str, Any]],
    infobip_schema: Check,
) -> None:
    campaigns = [campaign_json(id=f"00000000-0000-4000-8000-00000000000{index}") for index in range(5)]
    pages = [
        page_json(campaigns[0:2], page=0, size=2, total_results=5),
        page_json(campaigns[2:4], page=1, size=2, total_results=5),
        page_json(campaigns[4:5], page=2, size=2, total_results=5),
    ]
    for page in pages:
        infobip_schema(page, f"{CAMPAIGN}.PageResponseCampaign")
    partner.handler = paged(pages)
    found = await infobip.find_campaigns(name_like="x", page_size=2)
    assert [campaign.id for campaign in found] == [campaign["id"] for campaign in campaigns]
    assert [request.url.params["page"] for request in partner.requests] == ["0", "1", "2"]
    assert {seen[1] for seen in calls.seen} == {"campaigns.list"}


async def test_find_campaigns_stops_on_an_empty_page_and_skips_repeats(
    infobip: InfobipClient,
    partner: Any,
    campaign_json: Callable[..., dict[str, Any]],
    page_json: Callable[..., dict[str, Any]],
) -> None:
    first = campaign_json(id="00000000-0000-4000-8000-000000000001")
    pages = [
        page_json([first], page=0, size=1, total_results=9),
        page_json([first], page=1, size=1, total_results=9),
        page_json([], page=2, size=1, total_results=9),
    ]
    partner.handler = paged(pages)
    found = await infobip.find_campaigns(page_size=1)
    assert [campaign.id for campaign in found] == [first["id"]]
    assert len(partner.requests) == 3


@pytest.mark.parametrize("size", [0, 2001])
async def test_find_campaigns_refuses_page_sizes_outside_the_spec(infobip: InfobipClient, size: int) -> None:
    with pytest.raises(ValueError, match="page_size"):
        await infobip.find_campaigns(page_size=size)


# ------------------------------------------------------------------------- find migrated campaign


async def test_find_migrated_campaign_queries_as_decided_and_picks_the_newest_exact_match(
    infobip: InfobipClient,
    partner: Any,
    campaign_json: Callable[..., dict[str, Any]],
    page_json: Callable[..., dict[str, Any]],
) -> None:
    older = campaign_json(id="00000000-0000-4000-8000-000000000001", createdDate="2026-11-20T10:00:00Z")
    newer = campaign_json(id="00000000-0000-4000-8000-000000000002", createdDate="2026-11-26T10:00:00.000+0000")
    other = campaign_json(
        id="00000000-0000-4000-8000-000000000003", externalCampaignId="COJD6550", createdDate="2026-11-30T10:00:00Z"
    )
    undated = campaign_json(id="00000000-0000-4000-8000-000000000004", createdDate=None)
    partner.handler = lambda request: httpx.Response(
        200, json=page_json([undated, older, other, newer], page=0, size=100, total_results=4)
    )
    found = await infobip.find_migrated_campaign("COJD655", name="migrateCampaignCOJD655", number="19168361160")
    assert found is not None
    assert found.id == newer["id"]
    assert partner.requests[0].url.params.multi_items() == [
        ("nameLike", "migrateCampaignCOJD655"),
        ("number", "19168361160"),
        ("type", "EXTERNAL_TEN_DIGIT_LONG_CODE"),
        ("page", "0"),
        ("size", "100"),
    ]
    every = await infobip.find_migrated_campaigns("COJD655", name="migrateCampaignCOJD655", number="19168361160")
    assert [campaign.id for campaign in every] == [newer["id"], older["id"], undated["id"]]


async def test_find_migrated_campaign_is_none_when_nothing_matches_exactly(
    infobip: InfobipClient,
    partner: Any,
    campaign_json: Callable[..., dict[str, Any]],
    page_json: Callable[..., dict[str, Any]],
) -> None:
    lookalike = campaign_json(externalCampaignId="cojd655")
    partner.handler = lambda request: httpx.Response(
        200, json=page_json([lookalike], page=0, size=100, total_results=1)
    )
    assert await infobip.find_migrated_campaign("COJD655", name="m", number="19168361160") is None


# --------------------------------------------------------------------------------- subscriptions


def registration_subscription(security: WebhookSecurity) -> SubscriptionRequest:
    return SubscriptionRequest(
        subscription_id="tendlc-registration",
        name="tendlc operator",
        events=("CAMPAIGN_STATUS_UPDATE",),
        profile=WebhookProfile(
            profile_id="tendlc-profile",
            notify_url="https://tendlc.example.com/webhooks/infobip",
            security=security,
        ),
    )


@pytest.mark.parametrize(
    ("security", "credentials"),
    [
        (
            WebhookSecurity.basic("tendlc-auth", "infobip", "canaryHookPass-5e5e5e"),
            {"username": "infobip", "password": "canaryHookPass-5e5e5e"},
        ),
        (
            WebhookSecurity.hmac("tendlc-auth", "canaryHmacKey-abcdef12"),
            {"secretKey": "canaryHmacKey-abcdef12", "algorithm": "HMAC_SHA_256"},
        ),
    ],
)
async def test_create_subscription_sends_an_inline_profile_the_spec_accepts(
    infobip: InfobipClient,
    partner: Any,
    calls: Any,
    infobip_schema: Check,
    security: WebhookSecurity,
    credentials: dict[str, str],
) -> None:
    answer = {"subscriptionId": "tendlc-registration", "profile": {"profileId": "tendlc-profile"}}
    infobip_schema(answer, f"{SUBSCRIPTION}.IdOnlySubscriptionResponse")
    partner.handler = lambda request: httpx.Response(201, json=answer)
    created = await infobip.create_subscription(registration_subscription(security))
    [request] = partner.requests
    assert request.method == "POST"
    assert request.url.path == "/subscriptions/1/subscription/REGISTRATION"
    body = json.loads(request.content)
    infobip_schema(body, f"{SUBSCRIPTION}.RegistrationSubscriptionRequest")
    assert body == {
        "subscriptionId": "tendlc-registration",
        "name": "tendlc operator",
        "events": ["CAMPAIGN_STATUS_UPDATE"],
        "profile": {
            "profileId": "tendlc-profile",
            "webhook": {"notifyUrl": "https://tendlc.example.com/webhooks/infobip"},
            "security": {"authId": "tendlc-auth", "type": security.type, "credentials": credentials},
        },
    }
    assert created.subscription_id == "tendlc-registration"
    assert calls.seen[0][1:3] == ("subscriptions.create", "2xx")


async def test_list_subscriptions_walks_pages_and_reads_event_names(
    infobip: InfobipClient, partner: Any, infobip_schema: Check
) -> None:
    pages = [
        {
            "results": [
                {
                    "subscriptionId": "a",
                    "name": "A",
                    "profile": {"profileId": "p", "security": {"authId": "s"}},
                    "events": ["CAMPAIGN_STATUS_UPDATE", {"event": "CAMPAIGN_NETWORK_STATUS_UPDATE", "format": "V1"}],
                }
            ],
            "paging": {"page": 0, "size": 1, "totalPages": 2, "totalResults": 2},
        },
        {
            "results": [{"subscriptionId": "b", "events": []}],
            "paging": {"page": 1, "size": 1, "totalPages": 2, "totalResults": 2},
        },
    ]
    for page in pages:
        infobip_schema(page, f"{SUBSCRIPTION}.SubscriptionPage")
    partner.handler = paged(pages)
    found = await infobip.list_subscriptions()
    assert [subscription.subscription_id for subscription in found] == ["a", "b"]
    assert found[0].events == ("CAMPAIGN_STATUS_UPDATE", "CAMPAIGN_NETWORK_STATUS_UPDATE")
    assert found[0].profile is not None
    assert found[0].profile.profile_id == "p"
    assert {request.url.path for request in partner.requests} == {"/subscriptions/1/subscription/REGISTRATION"}
    assert partner.requests[0].url.params["size"] == "100"


async def test_delete_subscription_uses_the_subscription_path(
    infobip: InfobipClient, partner: Any, calls: Any
) -> None:
    partner.handler = lambda request: httpx.Response(200, json={"subscriptionId": "tendlc-registration"})
    await infobip.delete_subscription("tendlc-registration")
    assert [(request.method, request.url.path) for request in partner.requests] == [
        ("DELETE", "/subscriptions/1/subscription/REGISTRATION/tendlc-registration"),
    ]
    assert [seen[1] for seen in calls.seen] == ["subscriptions.delete"]


async def test_delete_subscription_accepts_an_empty_answer(infobip: InfobipClient, partner: Any) -> None:
    partner.handler = lambda request: httpx.Response(204)
    await infobip.delete_subscription("gone")


# --------------------------------------------------------------------------------- client setup


async def test_basic_credentials_are_sent_as_http_basic(partner: Any, limiters: RateLimiterRegistry) -> None:
    partner.handler = lambda request: httpx.Response(200, json={"id": UUID})
    client = InfobipClient(
        "https://acme.api.infobip.test",
        InfobipCredentials.from_basic("operator", "canaryIBpass-91be77"),
        limiter_registry=limiters,
        transport=partner.transport,
    )
    async with client:
        await client.get_campaign(UUID)
    expected = base64.b64encode(b"operator:canaryIBpass-91be77").decode()
    assert partner.requests[0].headers["Authorization"] == f"Basic {expected}"


async def test_a_base_url_with_a_path_prefix_is_kept(partner: Any, limiters: RateLimiterRegistry) -> None:
    partner.handler = lambda request: httpx.Response(200, json={"id": UUID})
    client = InfobipClient(
        "http://127.0.0.1:8085/infobip",
        InfobipCredentials.from_api_key("k-prefix"),
        limiter_registry=limiters,
        transport=partner.transport,
    )
    async with client:
        await client.get_campaign(UUID)
    assert str(partner.requests[0].url) == f"http://127.0.0.1:8085/infobip/number-registration/1/campaigns/{UUID}"


@pytest.mark.parametrize("url", ["acme.api.infobip.com", "ftp://acme", "https://user:pw@acme.api.infobip.com"])
def test_unusable_base_urls_are_refused(url: str, limiters: RateLimiterRegistry) -> None:
    with pytest.raises(ValueError, match="base URL"):
        InfobipClient(url, InfobipCredentials.from_api_key("k-url"), limiter_registry=limiters)


async def test_a_failing_observer_does_not_fail_the_call(partner: Any, limiters: RateLimiterRegistry) -> None:
    def broken(partner_name: str, endpoint: str, status_class: str, seconds: float) -> None:
        raise RuntimeError("metrics are down")

    partner.handler = lambda request: httpx.Response(200, json={"id": UUID})
    client = InfobipClient(
        "https://acme.api.infobip.test",
        InfobipCredentials.from_api_key("k-observer"),
        limiter_registry=limiters,
        on_call=broken,
        transport=partner.transport,
    )
    async with client:
        assert (await client.get_campaign(UUID)).id == UUID


async def test_observer_gets_template_names_and_a_duration(infobip: InfobipClient, partner: Any, calls: Any) -> None:
    partner.handler = lambda request: httpx.Response(200, json={"id": UUID})
    await infobip.get_campaign(UUID)
    [(partner_name, endpoint, status_class, seconds)] = calls.seen
    assert (partner_name, endpoint, status_class) == ("infobip", "campaigns.get", "2xx")
    assert UUID not in endpoint
    assert seconds >= 0
