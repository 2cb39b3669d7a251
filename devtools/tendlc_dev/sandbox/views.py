"""Wire shapes: how the sandbox's records look in Infobip's and TCR's JSON, and their error bodies.

Kept apart from `state.py` so that the published contract (Infobip's OpenAPI 3.210.0, the choices in
`docs/decisions.md`) is visible in one place and checked by the conformance tests. Nothing here
changes state.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tendlc_dev.sandbox.clock import isoformat
from tendlc_dev.sandbox.model import InfobipCampaign, Profile, Sharing, Subscription, TcrCampaign, number_key
from tendlc_dev.sandbox.state import TcrProblem

JSON = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status=status, content_type=JSON, headers=headers
    )


# -- Infobip ------------------------------------------------------------------------------------


def infobip_error(
    status: int, message_id: str, text: str, validation_errors: dict[str, list[str]] | None = None
) -> web.Response:
    """Number registration and subscriptions answer errors as `requestError.serviceException`."""
    details: dict[str, Any] = {"messageId": message_id, "text": text}
    if validation_errors:
        details["validationErrors"] = validation_errors
    return json_response({"requestError": {"serviceException": details}}, status)


def infobip_bad_request(text: str, validation_errors: dict[str, list[str]] | None = None) -> web.Response:
    return infobip_error(400, "BAD_REQUEST", text, validation_errors)


def campaign_json(campaign: InfobipCampaign) -> dict[str, Any]:
    """An `ExternalTenDlcCampaign`; numberKeys are left out (the schema caps them at 49, a
    migration carries up to 200) and numberPreviews carry every number instead."""
    body: dict[str, Any] = {
        "id": campaign.id,
        "applicationId": campaign.application_id,
        "entityId": campaign.entity_id,
        "name": campaign.name,
        "createdDate": isoformat(campaign.created),
        "lastModifiedDate": isoformat(campaign.modified),
        "stage": campaign.stage,
        "type": "EXTERNAL_TEN_DIGIT_LONG_CODE",
        "externalCampaignId": campaign.tcr_id,
        "numberPreviews": number_previews(campaign.numbers),
    }
    if campaign.number_pool_id is not None:
        body["numberPool"] = {"numberPoolId": campaign.number_pool_id}
    if campaign.rejection is not None:
        body["campaignFeedback"] = {
            "rejectionReasons": list(campaign.rejection.reasons),
            "rejectionDetails": [
                d.model_dump(mode="json", by_alias=True, exclude_none=True) for d in campaign.rejection.details
            ],
            "rejectionDate": isoformat(campaign.rejection.date),
        }
    return body


def number_previews(numbers: list[str]) -> list[dict[str, str]]:
    return [{"numberKey": number_key(n), "number": n, "countryCode": "US"} for n in numbers]


def network_statuses_json(campaign: InfobipCampaign) -> list[dict[str, Any]]:
    return [{"network": network, "state": "ACTIVE"} for network in campaign.network_statuses]


def subscription_json(subscription: Subscription, profile: Profile | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subscriptionId": subscription.subscription_id,
        "profile": id_only_profile(subscription.profile_id, profile),
        "events": list(subscription.events),
        "criteria": [dict(pair) for pair in subscription.criteria],
        "resources": list(subscription.resources),
        "users": list(subscription.users),
    }
    if subscription.name is not None:
        body["name"] = subscription.name
    return body


def id_only_profile(profile_id: str, profile: Profile | None) -> dict[str, Any]:
    body: dict[str, Any] = {"profileId": profile_id}
    if profile is not None and profile.auth_id is not None:
        body["security"] = {"authId": profile.auth_id}
    return body


# -- TCR ----------------------------------------------------------------------------------------


def tcr_error(status: int, problems: list[TcrProblem]) -> web.Response:
    """TCR answers errors as a JSON array of `{code, field, description}` (D8)."""
    return json_response([p.to_json() for p in problems], status)


def tcr_campaign_json(tcr: TcrCampaign, csp_id: str) -> dict[str, Any]:
    """A plausible subset of TCR's campaign record; only `campaignId` and `status` carry meaning."""
    return {
        "campaignId": tcr.campaign_id,
        "cspId": csp_id,
        "brandId": "B" + tcr.campaign_id[1:],
        "usecase": "MIXED",
        "status": tcr.status,
        "createDate": isoformat(tcr.created),
        "autoRenewal": tcr.status == "ACTIVE",
        "mock": False,
    }


def sharing_json(tcr: TcrCampaign, csp_id: str) -> dict[str, Any]:
    """D7: `sharedByMe` is null before any election; `sharedWithMe` as in the decision's example."""
    return {
        "sharedByMe": sharing_record(tcr.sharing) if tcr.sharing is not None else None,
        "sharedWithMe": {
            "downstreamCnpId": csp_id,
            "sharingStatus": "ACCEPTED",
            "statusDate": isoformat(tcr.created),
        },
    }


def sharing_record(sharing: Sharing) -> dict[str, Any]:
    return {
        "upstreamCnpId": sharing.upstream_cnp_id,
        "sharingStatus": sharing.status,
        "explanation": sharing.explanation,
        "statusDate": isoformat(sharing.status_date),
        "cnpMigration": True,
    }


def migrate_cnp_json(tcr: TcrCampaign, sharing: Sharing) -> dict[str, Any]:
    """D6: the answer to a successful election."""
    return {
        "campaignId": tcr.campaign_id,
        "upstreamCnpId": sharing.upstream_cnp_id,
        "sharingStatus": sharing.status,
        "cnpMigration": True,
    }
