"""Every sandbox answer for an endpoint in Infobip's published OpenAPI 3.210.0 validates against
that document's schemas: campaigns, campaign lists, numbers, network statuses, subscriptions,
error bodies and webhook payloads."""

from __future__ import annotations

import httpx
import jsonschema
import pytest

from sandbox.helpers import Receiver, SpecValidator, import_and_migrate, numbers_for, subscribe
from tendlc_dev.sandbox import SandboxServer

CAMPAIGNS = "/number-registration/1/campaigns"


async def test_migrated_campaign_validates_as_published_campaign(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, numbers_spec: SpecValidator
) -> None:
    created = await import_and_migrate(infobip, tcr, "COJD655", numbers_for(1))
    assert created["stage"] == "IN_MIGRATION"
    assert created["type"] == "EXTERNAL_TEN_DIGIT_LONG_CODE"
    assert created["externalCampaignId"] == "COJD655"
    assert {"id", "createdDate", "name", "applicationId"} <= created.keys()
    numbers_spec.validate("ExternalTenDlcCampaign", created)

    answer = await infobip.get(f"{CAMPAIGNS}/{created['id']}")
    assert answer.status_code == 200
    numbers_spec.validate("Campaign", answer.json())
    numbers_spec.validate("ExternalTenDlcCampaign", answer.json())


async def test_rejected_campaign_carries_feedback_in_published_shape(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, numbers_spec: SpecValidator
) -> None:
    created = await import_and_migrate(infobip, tcr, "CRJ0001", numbers_for(2))
    sandbox.advance(sandbox.config.schedule.rejection_after)
    body = (await infobip.get(f"{CAMPAIGNS}/{created['id']}")).json()
    assert body["stage"] == "REJECTED"
    assert body["campaignFeedback"]["rejectionDetails"][0]["errorCode"] == "1001"
    numbers_spec.validate("ExternalTenDlcCampaign", body)


async def test_campaign_list_filters_and_pages_in_published_shape(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, numbers_spec: SpecValidator
) -> None:
    first = await import_and_migrate(infobip, tcr, "CAAA001", numbers_for(3))
    sandbox.advance(1)
    second = await import_and_migrate(infobip, tcr, "CAAA002", numbers_for(4))
    sandbox.advance(1)
    await import_and_migrate(infobip, tcr, "CST0003", numbers_for(5))

    everything = (await infobip.get(CAMPAIGNS)).json()
    numbers_spec.validate("PageResponseCampaign", everything)
    assert everything["paging"] == {"page": 0, "size": 20, "totalPages": 1, "totalResults": 3}

    by_name = (await infobip.get(CAMPAIGNS, params={"nameLike": "campaignCAAA00"})).json()
    assert {c["id"] for c in by_name["results"]} == {first["id"], second["id"]}

    by_number = (
        await infobip.get(
            CAMPAIGNS,
            params={
                "nameLike": "migrateCampaignCAAA002",
                "number": numbers_for(4)[1],
                "type": "EXTERNAL_TEN_DIGIT_LONG_CODE",
            },
        )
    ).json()
    assert [c["externalCampaignId"] for c in by_number["results"]] == ["CAAA002"]

    by_stage = (await infobip.get(CAMPAIGNS, params=[("stage", "REGISTERED"), ("stage", "REJECTED")])).json()
    assert by_stage["results"] == []

    page = (await infobip.get(CAMPAIGNS, params={"size": 1, "page": 1, "sort": "createdDate,desc"})).json()
    numbers_spec.validate("PageResponseCampaign", page)
    assert page["paging"] == {"page": 1, "size": 1, "totalPages": 3, "totalResults": 3}
    assert page["results"][0]["id"] == second["id"]

    by_id = (await infobip.get(CAMPAIGNS, params={"id": first["id"]})).json()
    assert [c["id"] for c in by_id["results"]] == [first["id"]]


async def test_campaign_numbers_and_network_statuses_in_published_shape(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, numbers_spec: SpecValidator
) -> None:
    numbers = numbers_for(6, 3)
    created = await import_and_migrate(infobip, tcr, "COJD656", numbers)
    listed = (await infobip.get(f"{CAMPAIGNS}/{created['id']}/numbers")).json()
    numbers_spec.validate("NumberPreviews", listed)
    assert [p["number"] for p in listed["numberPreviews"]] == numbers

    assert (await infobip.get(f"{CAMPAIGNS}/{created['id']}/network-statuses")).json() == []
    sandbox.advance(100_000)
    statuses = (await infobip.get(f"{CAMPAIGNS}/{created['id']}/network-statuses")).json()
    network_status = numbers_spec.validator("NetworkStatus")
    assert {s["network"] for s in statuses} == {"ATT", "T_MOBILE", "VERIZON"}
    for status in statuses:
        network_status.validate(status)


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("GET", CAMPAIGNS, {"Authorization": "App wrong-key"}, 401),
        ("GET", CAMPAIGNS, {}, 401),
        ("GET", f"{CAMPAIGNS}/6f1c1d4e-0000-4000-8000-000000000000", None, 404),
        ("GET", f"{CAMPAIGNS}/not-a-uuid", None, 400),
        ("GET", CAMPAIGNS + "?size=2001", None, 400),
        ("GET", "/number-registration/1/no-such-route", None, 404),
    ],
)
async def test_error_bodies_validate_as_api_exception(
    sandbox: SandboxServer,
    numbers_spec: SpecValidator,
    method: str,
    path: str,
    headers: dict[str, str] | None,
    expected: int,
) -> None:
    sent = headers if headers is not None else {"Authorization": "App sandbox-infobip-key"}
    async with httpx.AsyncClient(base_url=sandbox.infobip_url) as client:
        answer = await client.request(method, path, headers=sent)
    assert answer.status_code == expected
    numbers_spec.validate("ApiException", answer.json())
    assert answer.json()["requestError"]["serviceException"]["messageId"]


async def test_subscription_lifecycle_in_published_shapes(
    infobip: httpx.AsyncClient, subscriptions_spec: SpecValidator, receiver: Receiver
) -> None:
    security = {
        "authId": "tendlc-hmac",
        "type": "HMAC",
        "credentials": {"secretKey": "s3cr3t", "algorithm": "HMAC_SHA_256"},
    }
    request_body = {
        "subscriptionId": "tendlc-sub",
        "name": "tendlc operator",
        "events": ["CAMPAIGN_STATUS_UPDATE"],
        "profile": {"profileId": "tendlc-profile", "webhook": {"notifyUrl": receiver.url}, "security": security},
    }
    subscriptions_spec.validate("RegistrationSubscriptionRequest", request_body)
    created = await infobip.post("/subscriptions/1/subscription/REGISTRATION", json=request_body)
    assert created.status_code == 201
    assert created.headers["Location"].endswith("/subscriptions/1/subscription/REGISTRATION/tendlc-sub")
    subscriptions_spec.validate("IdOnlySubscriptionResponse", created.json())
    assert created.json() == {
        "subscriptionId": "tendlc-sub",
        "profile": {"profileId": "tendlc-profile", "security": {"authId": "tendlc-hmac"}},
    }

    listed = await infobip.get("/subscriptions/1/subscription/REGISTRATION")
    subscriptions_spec.validate("SubscriptionPage", listed.json())
    assert [s["subscriptionId"] for s in listed.json()["results"]] == ["tendlc-sub"]

    single = await infobip.get("/subscriptions/1/subscription/REGISTRATION/tendlc-sub")
    subscriptions_spec.validate("SubscriptionResponse", single.json())
    assert single.json()["events"] == ["CAMPAIGN_STATUS_UPDATE"]

    again = await infobip.post("/subscriptions/1/subscription/REGISTRATION", json=request_body)
    assert again.status_code == 400
    subscriptions_spec.validate("ApiException", again.json())
    assert "subscriptionId" in again.json()["requestError"]["serviceException"]["validationErrors"]

    updated = await infobip.put(
        "/subscriptions/1/subscription/REGISTRATION/tendlc-sub",
        json={"name": "renamed", "events": ["CAMPAIGN_STATUS_UPDATE", "CAMPAIGN_NETWORK_STATUS_UPDATE"]},
    )
    assert updated.status_code == 200
    subscriptions_spec.validate("IdOnlySubscriptionResponse", updated.json())
    single = (await infobip.get("/subscriptions/1/subscription/REGISTRATION/tendlc-sub")).json()
    assert single["name"] == "renamed"
    assert len(single["events"]) == 2

    deleted = await infobip.delete("/subscriptions/1/subscription/REGISTRATION/tendlc-sub")
    assert deleted.status_code == 200
    subscriptions_spec.validate("IdOnlySubscriptionResponse", deleted.json())
    missing = await infobip.get("/subscriptions/1/subscription/REGISTRATION/tendlc-sub")
    assert missing.status_code == 404
    subscriptions_spec.validate("ApiException", missing.json())


async def test_subscription_validation_errors_name_fields(
    infobip: httpx.AsyncClient, subscriptions_spec: SpecValidator
) -> None:
    answer = await infobip.post(
        "/subscriptions/1/subscription/REGISTRATION",
        json={"subscriptionId": "x", "events": ["NOT_AN_EVENT"], "profile": {"profileId": "p", "webhook": {}}},
    )
    assert answer.status_code == 400
    subscriptions_spec.validate("ApiException", answer.json())
    errors = answer.json()["requestError"]["serviceException"]["validationErrors"]
    assert set(errors) == {"events[0]", "profile.webhook.notifyUrl"}
    listed = (await infobip.get("/subscriptions/1/subscription/REGISTRATION")).json()
    assert listed["results"] == []
    bad_channel = await infobip.get("/subscriptions/1/subscription/PIGEON")
    assert bad_channel.status_code == 400


async def test_webhook_payloads_validate_against_published_webhooks(
    sandbox: SandboxServer,
    infobip: httpx.AsyncClient,
    tcr: httpx.AsyncClient,
    receiver: Receiver,
    numbers_spec: SpecValidator,
) -> None:
    assert (await subscribe(infobip, receiver.url)).status_code == 201
    registered = await import_and_migrate(infobip, tcr, "COJD657", numbers_for(7))
    rejected = await import_and_migrate(infobip, tcr, "CRJ0002", numbers_for(8))
    sandbox.advance(100_000)
    await receiver.wait_for(5)
    payloads = receiver.payloads()
    status_schema = numbers_spec.validator("CampaignStatusWebhookResponse")
    network_schema = numbers_spec.validator("CampaignNetworkStatusWebhookResponse")
    statuses: dict[str, dict[str, object]] = {}
    for payload in payloads:
        event = payload["results"][0]["event"]
        if event == "CAMPAIGN_STATUS_UPDATE":
            status_schema.validate(payload)
            statuses[payload["results"][0]["content"]["campaignId"]] = payload["results"][0]["content"]
        else:
            assert event == "CAMPAIGN_NETWORK_STATUS_UPDATE"
            network_schema.validate(payload)
    assert statuses[registered["id"]]["campaignStatus"] == "REGISTERED"
    assert statuses[registered["id"]]["tcrId"] == "COJD657"
    assert statuses[rejected["id"]]["campaignStatus"] == "REJECTED"
    assert statuses[rejected["id"]]["rejectionDetails"] == [
        {"errorCode": "1001", "description": sandbox.state.scenario_for("CRJ0002").rejection_details[0].description}
    ]
    assert isinstance(statuses[rejected["id"]]["rejectionReasons"], str)
    assert len(payloads) == 5  # 3 network updates + 2 status updates


def test_published_schemas_reject_a_malformed_campaign(numbers_spec: SpecValidator) -> None:
    """The validators used above are not vacuous: a wrong type is caught."""
    with pytest.raises(jsonschema.ValidationError):
        numbers_spec.validate("Campaign", {"name": "x", "id": "not-a-uuid", "stage": 5})
