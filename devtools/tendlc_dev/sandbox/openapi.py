"""The sandbox's own OpenAPI 3.1 document, served at `/_admin/openapi.json`.

It describes exactly what this sandbox serves — the Infobip routes (with the published
schemas' shapes, narrowed to what the sandbox returns), the two guide-only Infobip endpoints as
decided in `docs/decisions.md`, the TCR routes, and the admin API — so that clients can be generated
against it and property-based tests can check the sandbox keeps its own promises. The published
Infobip documents (copied in `tests/data/specs/`) remain the contract; tests check both.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from pydantic import BaseModel

from tendlc_dev.sandbox.config import FaultConfig, RateLimitConfig
from tendlc_dev.sandbox.model import Scenario
from tendlc_dev.sandbox.validation import CHANNELS, REGISTRATION_EVENTS

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


NUMBER: Schema = {"type": "string", "pattern": r"^1\d{10}$"}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Schema] = {
    "ApiException": {
        "type": "object",
        "required": ["requestError"],
        "properties": {
            "requestError": {
                "type": "object",
                "required": ["serviceException"],
                "properties": {
                    "serviceException": {
                        "type": "object",
                        "required": ["messageId", "text"],
                        "properties": {
                            "messageId": {"type": "string"},
                            "text": {"type": "string"},
                            "validationErrors": {
                                "type": "object",
                                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    }
                },
            }
        },
    },
    "TcrErrors": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["code", "field", "description"],
            "properties": {
                "code": {"type": "integer"},
                "field": {"type": ["string", "null"]},
                "description": {"type": "string"},
            },
        },
    },
    "ImportRequest": {
        "type": "object",
        "required": ["numbers"],
        "properties": {
            "numbers": {"type": "array", "minItems": 1, "maxItems": 100, "uniqueItems": True, "items": NUMBER},
            "country": {"type": "string", "enum": ["US"]},
            "type": {"type": "string", "enum": ["VIRTUAL_LONG_NUMBER"]},
            "capabilities": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": ["SMS", "MMS", "VOICE"]},
            },
            "skipOsrUpdate": {"type": "boolean"},
        },
    },
    "ImportResponse": {
        "type": "object",
        "required": ["results"],
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["number", "status"],
                    "properties": {
                        "number": NUMBER,
                        "status": {"type": "string", "enum": ["IMPORTED", "ALREADY_IMPORTED"]},
                    },
                },
            }
        },
    },
    "MigrateRequest": {
        "type": "object",
        "required": ["name", "externalCampaignId", "numbers"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "externalCampaignId": {"type": "string", "pattern": "^C[A-Z0-9]{6}$"},
            "numberPoolID": {"type": ["string", "null"]},
            "numbers": {"type": "array", "minItems": 1, "maxItems": 200, "uniqueItems": True, "items": NUMBER},
            "isClientManageNnid": {"type": "boolean"},
        },
    },
    "NumberPreview": {
        "type": "object",
        "required": ["numberKey", "number", "countryCode"],
        "properties": {
            "numberKey": {"type": "string", "pattern": "^[0-9A-F]{32}$"},
            "number": NUMBER,
            "countryCode": {"type": "string"},
        },
    },
    "NumberPreviews": {
        "type": "object",
        "required": ["numberPreviews"],
        "properties": {"numberPreviews": {"type": "array", "items": _ref("NumberPreview")}},
    },
    "Campaign": {
        "type": "object",
        "required": ["id", "name", "stage", "type", "externalCampaignId", "createdDate", "applicationId"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "applicationId": {"type": "string"},
            "entityId": {"type": "string"},
            "name": {"type": "string"},
            "createdDate": DATE_TIME,
            "lastModifiedDate": DATE_TIME,
            "stage": {"type": "string", "description": "Any Infobip stage; new ones may appear."},
            "type": {"type": "string", "enum": ["EXTERNAL_TEN_DIGIT_LONG_CODE"]},
            "externalCampaignId": {"type": "string"},
            "numberPreviews": {"type": "array", "items": _ref("NumberPreview")},
            "numberPool": {"type": "object", "properties": {"numberPoolId": {"type": "string"}}},
            "campaignFeedback": {
                "type": "object",
                "properties": {
                    "rejectionReasons": {"type": "array", "items": {"type": "string"}},
                    "rejectionDetails": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "errorCode": {"type": "string"},
                                "description": {"type": "string"},
                                "recommendedAction": {"type": "string"},
                            },
                        },
                    },
                    "rejectionDate": DATE_TIME,
                },
            },
        },
    },
    "PageInfo": {
        "type": "object",
        "required": ["page", "size", "totalPages", "totalResults"],
        "properties": {
            "page": {"type": "integer", "minimum": 0},
            "size": {"type": "integer", "minimum": 1},
            "totalPages": {"type": "integer", "minimum": 0},
            "totalResults": {"type": "integer", "minimum": 0},
        },
    },
    "PageResponseCampaign": {
        "type": "object",
        "required": ["results", "paging"],
        "properties": {"results": {"type": "array", "items": _ref("Campaign")}, "paging": _ref("PageInfo")},
    },
    "NetworkStatuses": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["network", "state"],
            "properties": {"network": {"type": "string"}, "state": {"type": "string"}},
        },
    },
    "SecurityRequest": {
        "type": "object",
        "required": ["authId"],
        "properties": {
            "authId": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,255}$"},
            "type": {"type": "string", "enum": ["BASIC", "HMAC"]},
            "credentials": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {
                            "username": {"type": "string", "minLength": 1, "maxLength": 255},
                            "password": {"type": "string", "minLength": 1, "maxLength": 255},
                        },
                    },
                    {
                        "type": "object",
                        "required": ["secretKey", "algorithm"],
                        "properties": {
                            "secretKey": {"type": "string", "minLength": 1, "maxLength": 255},
                            "algorithm": {"type": "string", "enum": ["HMAC_SHA_1", "HMAC_SHA_256", "HMAC_SHA_512"]},
                        },
                    },
                ]
            },
        },
    },
    "ProfileRequest": {
        "type": "object",
        "required": ["profileId"],
        "properties": {
            "profileId": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,255}$"},
            "webhook": {
                "type": "object",
                "required": ["notifyUrl"],
                "properties": {"notifyUrl": {"type": "string", "pattern": "^https?://[a-z0-9.:/]{1,100}$"}},
            },
            "security": _ref("SecurityRequest"),
        },
    },
    "SubscriptionRequest": {
        "type": "object",
        "required": ["subscriptionId", "events", "profile"],
        "properties": {
            "subscriptionId": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,255}$"},
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "events": {
                "type": "array",
                "maxItems": 255,
                "items": {"type": "string", "enum": sorted(REGISTRATION_EVENTS)},
            },
            "criteria": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"applicationId": {"type": "string"}, "entityId": {"type": "string"}},
                },
            },
            "profile": _ref("ProfileRequest"),
        },
    },
    "IdOnlySubscriptionResponse": {
        "type": "object",
        "required": ["subscriptionId", "profile"],
        "properties": {
            "subscriptionId": {"type": "string"},
            "profile": {
                "type": "object",
                "required": ["profileId"],
                "properties": {
                    "profileId": {"type": "string"},
                    "security": {"type": "object", "properties": {"authId": {"type": "string"}}},
                },
            },
        },
    },
    "SubscriptionResponse": {
        "type": "object",
        "required": ["subscriptionId", "profile", "events"],
        "properties": {
            "subscriptionId": {"type": "string"},
            "name": {"type": "string"},
            "profile": {"type": "object", "properties": {"profileId": {"type": "string"}}},
            "events": {"type": "array", "items": {"type": "string"}},
            "criteria": {"type": "array", "items": {"type": "object"}},
            "resources": {"type": "array", "items": {"type": "string"}},
            "users": {"type": "array", "items": {"type": "string"}},
        },
    },
    "SubscriptionPage": {
        "type": "object",
        "required": ["results", "paging"],
        "properties": {"results": {"type": "array", "items": _ref("SubscriptionResponse")}, "paging": _ref("PageInfo")},
    },
    "TcrCampaign": {
        "type": "object",
        "required": ["campaignId", "status"],
        "properties": {
            "campaignId": {"type": "string"},
            "status": {"type": "string", "enum": ["ACTIVE", "EXPIRED"]},
            "cspId": {"type": "string"},
            "brandId": {"type": "string"},
            "usecase": {"type": "string"},
            "createDate": DATE_TIME,
            "autoRenewal": {"type": "boolean"},
            "mock": {"type": "boolean"},
        },
    },
    "MigrateCnpResponse": {
        "type": "object",
        "required": ["campaignId", "upstreamCnpId", "sharingStatus", "cnpMigration"],
        "properties": {
            "campaignId": {"type": "string"},
            "upstreamCnpId": {"type": "string"},
            "sharingStatus": {"type": "string", "enum": ["PENDING"]},
            "cnpMigration": {"type": "boolean", "const": True},
        },
    },
    "Sharing": {
        "type": "object",
        "required": ["sharedByMe", "sharedWithMe"],
        "properties": {
            "sharedByMe": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["upstreamCnpId", "sharingStatus", "statusDate", "cnpMigration"],
                        "properties": {
                            "upstreamCnpId": {"type": "string"},
                            "sharingStatus": {"type": "string", "enum": ["PENDING", "ACCEPTED", "DECLINED"]},
                            "explanation": {"type": ["string", "null"]},
                            "statusDate": DATE_TIME,
                            "cnpMigration": {"type": "boolean"},
                        },
                    },
                ]
            },
            "sharedWithMe": {"type": ["object", "null"]},
        },
    },
    "CampaignStatusWebhook": {
        "type": "object",
        "required": ["results"],
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["event", "receivedAt", "content"],
                    "properties": {
                        "event": {
                            "type": "string",
                            "enum": ["CAMPAIGN_STATUS_UPDATE", "CAMPAIGN_NETWORK_STATUS_UPDATE"],
                        },
                        "receivedAt": DATE_TIME,
                        "content": {"type": "object", "required": ["campaignId"]},
                        "platform": {"type": "object"},
                    },
                },
            }
        },
    },
    "AdminError": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "AdminObject": {"type": "object"},
}


def _pydantic(models: list[type[BaseModel]]) -> dict[str, Schema]:
    found: dict[str, Schema] = {}
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def _json(schema_name: str, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema_name)}}}


INFOBIP_ERRORS: dict[str, Schema] = {
    code: _json("ApiException", text)
    for code, text in (
        ("400", "Bad request; validationErrors name each field"),
        ("401", "Unauthorized"),
        ("403", "Forbidden"),
        ("404", "Not found"),
        ("429", "Too many requests"),
        ("500", "Internal error (injected)"),
        ("503", "Unavailable (injected)"),
    )
}
TCR_ERRORS: dict[str, Schema] = {
    code: _json("TcrErrors", text)
    for code, text in (
        ("400", "TCR error array (518 expired, 525 already elected, 591/630 temporary, 501 unknown CNP)"),
        ("401", "Unauthorized"),
        ("404", "Campaign not found"),
        ("429", "Too many requests"),
    )
}
TCR_ERRORS["500"] = _json("ApiException", "Internal error (injected)")
TCR_ERRORS["503"] = _json("ApiException", "Unavailable (injected)")

INFOBIP_SECURITY: list[dict[str, list[str]]] = [{"App": []}, {"Basic": []}, {"Bearer": []}]
TCR_SECURITY: list[dict[str, list[str]]] = [{"TcrBasic": []}]


def _path_param(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _operation(
    operation_id: str,
    ok: tuple[str, str],
    *,
    errors: dict[str, Schema],
    security: list[dict[str, list[str]]] | None,
    body: str | None = None,
    parameters: list[Schema] | None = None,
    rate_limit: str | None = None,
) -> Schema:
    responses = {ok[0]: _json(ok[1])}
    for code, response in errors.items():
        responses.setdefault(code, response)
    op: Schema = {"operationId": operation_id, "responses": responses}
    if security is not None:
        op["security"] = security
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if parameters:
        op["parameters"] = parameters
    if rate_limit is not None:
        op["x-rate-limit"] = rate_limit
    return op


UUID_SCHEMA: Schema = {"type": "string", "format": "uuid"}
TCR_ID_SCHEMA: Schema = {"type": "string", "pattern": "^C[A-Z0-9]{6}$"}
CHANNEL_SCHEMA: Schema = {"type": "string", "enum": sorted(CHANNELS)}


def _paths() -> dict[str, Schema]:
    ib = "/infobip"
    campaigns = f"{ib}/number-registration/1/campaigns"
    subs = f"{ib}/subscriptions/1/subscription"
    infobip: dict[str, Any] = {"errors": INFOBIP_ERRORS, "security": INFOBIP_SECURITY}
    tcr: dict[str, Any] = {"errors": TCR_ERRORS, "security": TCR_SECURITY}
    campaign_id = [_path_param("campaignId", UUID_SCHEMA)]
    channel = [_path_param("channel", CHANNEL_SCHEMA)]
    subscription = [*channel, _path_param("subscriptionId", {"type": "string"})]
    list_params = [
        _query("stage", {"type": "array", "items": {"type": "string"}}),
        _query("type", {"type": "array", "items": {"type": "string"}}),
        _query("nameLike", {"type": "string"}),
        _query("number", {"type": "array", "items": NUMBER}),
        _query("id", {"type": "array", "items": UUID_SCHEMA}),
        _query("page", {"type": "integer", "minimum": 0}),
        _query("size", {"type": "integer", "minimum": 1, "maximum": 2000}),
        _query("sort", {"type": "array", "items": {"type": "string"}}),
    ]
    admin: dict[str, Any] = {"errors": {"400": _json("AdminError", "Bad request")}, "security": None}
    tcr_param = [_path_param("tcrId", TCR_ID_SCHEMA)]
    return {
        f"{ib}/numbers/2/numbers/import": {
            "post": _operation(
                "import-numbers", ("200", "ImportResponse"), body="ImportRequest", rate_limit="1/s", **infobip
            )
        },
        f"{campaigns}/migrate": {
            "post": _operation(
                "migrate-campaign", ("200", "Campaign"), body="MigrateRequest", rate_limit="1/s", **infobip
            )
        },
        campaigns: {
            "get": _operation(
                "get-campaigns", ("200", "PageResponseCampaign"), parameters=list_params, rate_limit="10/s", **infobip
            )
        },
        f"{campaigns}/{{campaignId}}": {
            "get": _operation("get-campaign", ("200", "Campaign"), parameters=campaign_id, rate_limit="10/s", **infobip)
        },
        f"{campaigns}/{{campaignId}}/numbers": {
            "get": _operation(
                "get-campaign-numbers", ("200", "NumberPreviews"), parameters=campaign_id, rate_limit="10/s", **infobip
            )
        },
        f"{campaigns}/{{campaignId}}/network-statuses": {
            "get": _operation(
                "get-campaign-network-statuses",
                ("200", "NetworkStatuses"),
                parameters=campaign_id,
                rate_limit="10/s",
                **infobip,
            )
        },
        f"{subs}/{{channel}}": {
            "post": _operation(
                "create-subscription",
                ("201", "IdOnlySubscriptionResponse"),
                body="SubscriptionRequest",
                parameters=channel,
                rate_limit="5/s",
                **infobip,
            ),
            "get": _operation(
                "get-subscriptions",
                ("200", "SubscriptionPage"),
                parameters=[
                    *channel,
                    _query("page", {"type": "integer", "minimum": 0}),
                    _query("size", {"type": "integer", "minimum": 1, "maximum": 100}),
                ],
                rate_limit="10/s",
                **infobip,
            ),
        },
        f"{subs}/{{channel}}/{{subscriptionId}}": {
            "get": _operation(
                "get-subscription",
                ("200", "SubscriptionResponse"),
                parameters=subscription,
                rate_limit="10/s",
                **infobip,
            ),
            "delete": _operation(
                "delete-subscription",
                ("200", "IdOnlySubscriptionResponse"),
                parameters=subscription,
                rate_limit="5/s",
                **infobip,
            ),
        },
        "/tcr/v2/campaign/{campaignId}": {
            "get": _operation(
                "tcr-get-campaign",
                ("200", "TcrCampaign"),
                parameters=[_path_param("campaignId", {"type": "string"})],
                rate_limit="20/s",
                **tcr,
            )
        },
        "/tcr/v2/campaign/{campaignId}/sharing": {
            "get": _operation(
                "tcr-get-sharing",
                ("200", "Sharing"),
                parameters=[_path_param("campaignId", {"type": "string"})],
                rate_limit="20/s",
                **tcr,
            )
        },
        "/tcr/v2/campaign/{campaignId}/migrateCnp/{upstreamCnpId}": {
            "post": _operation(
                "tcr-migrate-cnp",
                ("200", "MigrateCnpResponse"),
                parameters=[
                    _path_param("campaignId", {"type": "string"}),
                    _path_param("upstreamCnpId", {"type": "string", "pattern": "^[A-Z0-9]{1,10}$"}),
                ],
                rate_limit="20/10s",
                **tcr,
            )
        },
        "/_admin/health": {"get": _operation("admin-health", ("200", "AdminObject"), **admin)},
        "/_admin/openapi.json": {"get": _operation("admin-openapi", ("200", "AdminObject"), **admin)},
        "/_admin/reset": {"post": _operation("admin-reset", ("200", "AdminObject"), **admin)},
        "/_admin/ledger": {"get": _operation("admin-ledger", ("200", "AdminObject"), **admin)},
        "/_admin/counters": {"get": _operation("admin-counters", ("200", "AdminObject"), **admin)},
        "/_admin/state": {"get": _operation("admin-state", ("200", "AdminObject"), **admin)},
        "/_admin/campaigns": {"get": _operation("admin-campaigns", ("200", "AdminObject"), **admin)},
        "/_admin/campaigns/{tcrId}": {
            "get": _operation("admin-campaign", ("200", "AdminObject"), parameters=tcr_param, **admin)
        },
        "/_admin/campaigns/{tcrId}/scenario": {
            "put": _operation(
                "admin-set-scenario", ("200", "AdminObject"), body="Scenario", parameters=tcr_param, **admin
            ),
            "delete": _operation("admin-clear-scenario", ("200", "AdminObject"), parameters=tcr_param, **admin),
        },
        "/_admin/campaigns/{tcrId}/osr-updated": {
            "post": _operation(
                "admin-osr-updated",
                ("200", "AdminObject"),
                parameters=tcr_param,
                errors={"404": _json("AdminError"), "409": _json("AdminError")},
                security=None,
            )
        },
        "/_admin/campaigns/{tcrId}/stage": {
            "post": _operation("admin-force-stage", ("200", "AdminObject"), parameters=tcr_param, **admin)
        },
        "/_admin/time": {
            "get": _operation("admin-time", ("200", "AdminObject"), **admin),
            "put": _operation("admin-set-time", ("200", "AdminObject"), **admin),
        },
        "/_admin/time/advance": {"post": _operation("admin-advance-time", ("200", "AdminObject"), **admin)},
        "/_admin/faults": {
            "get": _operation("admin-faults", ("200", "AdminObject"), **admin),
            "put": _operation("admin-set-faults", ("200", "AdminObject"), body="FaultConfig", **admin),
        },
        "/_admin/rate-limits": {
            "get": _operation("admin-rate-limits", ("200", "AdminObject"), **admin),
            "put": _operation("admin-set-rate-limits", ("200", "AdminObject"), body="RateLimitConfig", **admin),
        },
        "/_admin/account": {
            "get": _operation("admin-account", ("200", "AdminObject"), **admin),
            "put": _operation("admin-set-account", ("200", "AdminObject"), **admin),
        },
        "/_admin/webhooks": {"get": _operation("admin-webhooks", ("200", "AdminObject"), **admin)},
        "/_admin/save": {"post": _operation("admin-save", ("200", "AdminObject"), **admin)},
    }


@cache
def _document() -> Schema:
    schemas = dict(SCHEMAS)
    schemas.update(_pydantic([Scenario, FaultConfig, RateLimitConfig]))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tendlc sandbox: Infobip + TCR simulator",
            "version": "1.0.0",
            "description": "See docs/sandbox.md. Infobip under /infobip, TCR under /tcr/v2, admin under /_admin.",
        },
        "paths": _paths(),
        "webhooks": {
            "campaign-status-update": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": _ref("CampaignStatusWebhook")}}},
                    "responses": {"200": {"description": "Anything else is retried."}},
                }
            }
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "App": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "App <key>"},
                "Basic": {"type": "http", "scheme": "basic"},
                "Bearer": {"type": "http", "scheme": "bearer"},
                "TcrBasic": {"type": "http", "scheme": "basic", "description": "TCR API key : secret"},
            },
        },
    }


def openapi_document() -> Schema:
    """A fresh copy each call, so callers may modify it."""
    return copy.deepcopy(_document())
