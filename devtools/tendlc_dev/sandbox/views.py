"""Wire shapes: how the sandbox's records look in Infobip's and TCR's JSON, and their error bodies.

Kept apart from `state.py` so that the published contract (Infobip's OpenAPI 3.210.0, the choices in
`docs/decisions.md`) is visible in one place and checked by the conformance tests. Infobip errors
are built in the `requestError.serviceException` shape and carry their parts on the response, so
the request pipeline can re-render them in the other published shape (`api_error_body`) when that
behaviour alternative is on. Nothing here changes state.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tendlc_dev.sandbox.clock import isoformat
from tendlc_dev.sandbox.model import (
    ImportedNumber,
    InfobipCampaign,
    Profile,
    Sharing,
    Subscription,
    TcrCampaign,
    number_key,
)
from tendlc_dev.sandbox.state_base import TcrProblem

JSON = "application/json"


@dataclass(frozen=True)
class InfobipErrorParts:
    status: int
    message_id: str
    text: str
    validation_errors: dict[str, list[str]] | None


INFOBIP_ERROR = web.ResponseKey("tendlc_dev.sandbox.infobip_error", InfobipErrorParts)
API_ERROR_ACTIONS = {
    400: "Check the syntax, violations and adjust the request.",
    401: "Check the resources and adjust authentication credentials.",
    403: "Repeat the request with new or different credentials.",
    404: "Check the resources and adjust your request.",
    429: "Check request rate limit specified in the API endpoint documentation resource.",
    500: "Contact the support.",
}
"""The `action` texts of the numbers spec's `ApiError4xx/500` examples."""


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
    response = json_response({"requestError": {"serviceException": details}}, status)
    response[INFOBIP_ERROR] = InfobipErrorParts(status, message_id, text, validation_errors)
    return response


def api_error_body(parts: InfobipErrorParts) -> dict[str, Any]:
    """The numbers spec's other error shape, `ApiError` (errorCode/description/action/violations)."""
    violations = [
        {"property": name, "violation": message}
        for name, messages in (parts.validation_errors or {}).items()
        for message in messages
    ]
    return {
        "errorCode": f"E{parts.status}",
        "description": parts.text,
        "action": API_ERROR_ACTIONS.get(parts.status, "Check the request and try again later."),
        "violations": violations,
        "resources": [],
    }


def unauthorized(partner: str) -> web.Response:
    if partner == "tcr":
        return json_response([{"code": 401, "field": None, "description": "Unauthorized"}], 401)
    return infobip_error(401, "UNAUTHORIZED", "Unauthorized")


def too_many(partner: str, wait: float, send_retry_after: bool) -> web.Response:
    if partner == "tcr":
        response = json_response([{"code": 429, "field": None, "description": "Too many requests"}], 429)
    else:
        response = infobip_error(429, "TOO_MANY_REQUESTS", "Too many requests")
    if send_retry_after:
        response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    return response


def not_routed(partner: str, status: int) -> web.Response:
    if partner == "tcr":
        return json_response([{"code": status, "field": None, "description": "Not found"}], status)
    if status == 405:
        return infobip_error(405, "METHOD_NOT_ALLOWED", "Method not allowed")
    return infobip_error(status, "NOT_FOUND", "Not found")


def infobip_bad_request(text: str, validation_errors: dict[str, list[str]] | None = None) -> web.Response:
    return infobip_error(400, "BAD_REQUEST", text, validation_errors)


EXTRA_CAMPAIGN_FIELDS = ("migrationRequestId", "numberCount", "carrierReviews", "sandboxApiRevision")
"""Fields no published schema names, added by the extra-fields alternative (D31)."""


def campaign_json(campaign: InfobipCampaign, *, extra_fields: bool = False) -> dict[str, Any]:
    """An `ExternalTenDlcCampaign`; numberKeys are left out (the schema caps them at 49, a
    migration carries up to 200) and numberPreviews carry every number instead. `extra_fields`
    adds fields a newer API version might send (a client must ignore what it does not know)."""
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
    if extra_fields:
        body["migrationRequestId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, campaign.id))
        body["numberCount"] = len(campaign.numbers)
        body["carrierReviews"] = [{"network": n, "state": "ACTIVE"} for n in campaign.network_statuses]
        body["sandboxApiRevision"] = 2
    return body


def owned_number_json(number: ImportedNumber) -> dict[str, Any]:
    """A published `NumberResponse` of the Numbers API's owned-numbers list."""
    return {
        "numberKey": number.number_key,
        "number": number.number,
        "country": number.country,
        "countryName": "United States",
        "type": number.type,
        "capabilities": list(number.capabilities),
        "shared": False,
        "network": "Unknown",
        "keywords": [],
        "additionalSetupRequired": False,
        "editPermissions": {"canEditNumber": True, "canEditConfiguration": True},
        "applicationId": "default",
    }


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


TCR_TERM = 90 * 86400.0
"""Sandbox choice: a TCR campaign renews (or, without auto-renewal, expires) every 90 days (D33)."""


def tcr_campaign_json(tcr: TcrCampaign, csp_id: str, now: float) -> dict[str, Any]:
    """TCR's campaign record as its CSP API shows one (D33). Meaningful: `status` (ACTIVE or
    EXPIRED), `expirationDate` (null while it auto-renews), `numberPool`; the rest is plausible
    filler so a client parsing the whole record meets the fields TCR sends."""
    terms = max(1, int((now - tcr.created) // TCR_TERM) + 1)
    renews = tcr.created + terms * TCR_TERM
    expired = tcr.created + max(1, terms - 1) * TCR_TERM if tcr.status == "EXPIRED" else None
    return {
        "campaignId": tcr.campaign_id,
        "cspId": csp_id,
        "resellerId": "R000000",
        "status": tcr.status,
        "createDate": isoformat(tcr.created),
        "autoRenewal": tcr.status == "ACTIVE",
        "billedDate": isoformat(renews - TCR_TERM),
        "brandId": "B" + tcr.campaign_id[1:],
        "vertical": None,
        "usecase": "MIXED",
        "subUsecases": ["ACCOUNT_NOTIFICATION", "CUSTOMER_CARE"],
        "description": "Account notifications and customer care messages for sandbox customers.",
        "embeddedLink": False,
        "embeddedPhone": False,
        "termsAndConditions": True,
        "numberPool": tcr.number_pool,
        "ageGated": False,
        "directLending": False,
        "subscriberOptin": True,
        "subscriberOptout": True,
        "subscriberHelp": True,
        "sample1": "Sandbox: your order 1234 has shipped. Reply STOP to opt out, HELP for help.",
        "sample2": "Sandbox: your appointment is tomorrow at 10:00. Reply STOP to opt out.",
        "sample3": None,
        "sample4": None,
        "sample5": None,
        "messageFlow": "Customers opt in on the sandbox web form when they create an account.",
        "helpMessage": "Sandbox support: help@example.com. Reply STOP to opt out.",
        "optinKeywords": "START",
        "optoutKeywords": "STOP",
        "helpKeywords": "HELP",
        "optinMessage": None,
        "optoutMessage": "You are unsubscribed from sandbox messages.",
        "referenceId": None,
        "mock": False,
        "expirationDate": isoformat(expired) if expired is not None else None,
        "nextRenewalOrExpirationDate": isoformat(expired if expired is not None else renews),
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
