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

from tendlc_dev.sandbox.config import BehaviourConfig, FaultConfig, RateLimitConfig
from tendlc_dev.sandbox.model import Scenario
from tendlc_dev.sandbox.openapi_schemas import NUMBER, SCHEMAS, Schema, ref
from tendlc_dev.sandbox.validation import CHANNELS


def _pydantic(models: list[type[BaseModel]]) -> dict[str, Schema]:
    found: dict[str, Schema] = {}
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def _json(schema_name: str, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}


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
    also: dict[str, Schema] | None = None,
) -> Schema:
    responses = {ok[0]: _json(ok[1]) if ok[1] else {"description": "Accepted; no body"}}
    responses.update(also or {})
    for code, response in errors.items():
        responses.setdefault(code, response)
    op: Schema = {"operationId": operation_id, "responses": responses}
    if security is not None:
        op["security"] = security
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
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
    ledger_params = [
        _query("since", {"type": "integer", "minimum": 0}),
        _query("campaign", TCR_ID_SCHEMA),
        _query("endpoint", {"type": "string"}),
        _query("limit", {"type": "integer", "minimum": 1}),
        _query("number", NUMBER),
        _query("partner", {"type": "string", "enum": ["infobip", "tcr"]}),
        _query("method", {"type": "string"}),
        _query("pathContains", {"type": "string"}),
    ]
    return {
        f"{ib}/numbers/2/numbers/import": {
            "post": _operation(
                "import-numbers",
                ("200", "ImportAnswer"),
                body="ImportRequest",
                rate_limit="1/s",
                also={"202": _json("ImportAccepted", "Asynchronous-import alternative: no body, or a requestId")},
                **infobip,
            )
        },
        f"{ib}/numbers/1/numbers": {
            "get": _operation(
                "list-owned-numbers",
                ("200", "OwnedNumbers"),
                parameters=[
                    _query("number", {"type": "string"}),
                    _query("page", {"type": "integer", "minimum": 0}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                ],
                rate_limit="token bucket 1/s, burst 2",
                **infobip,
            )
        },
        f"{campaigns}/migrate": {
            "post": _operation(
                "migrate-campaign",
                ("200", "Campaign"),
                body="MigrateRequest",
                rate_limit="1/s",
                also={"201": _json("Campaign", "The migrate-201 alternative")},
                **infobip,
            )
        },
        f"{campaigns}/{{campaignId}}/add-numbers": {
            "post": _operation(
                "add-numbers",
                ("202", ""),
                body="AddNumbersRequest",
                parameters=campaign_id,
                rate_limit="1/s",
                **infobip,
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
        "/tcr/v2/campaign/{campaignId}/operationStatus": {
            "get": _operation(
                "tcr-get-operation-status",
                ("200", "TcrOperationStatus"),
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
        "/_admin/ledger": {
            "get": _operation("admin-ledger", ("200", "AdminObject"), parameters=ledger_params, **admin)
        },
        "/_admin/counters": {"get": _operation("admin-counters", ("200", "AdminObject"), **admin)},
        "/_admin/attempts": {
            "get": _operation("admin-attempts", ("200", "AdminObject"), parameters=ledger_params[:5], **admin)
        },
        "/_admin/behaviour": {
            "get": _operation("admin-behaviour", ("200", "BehaviourConfig"), **admin),
            "put": _operation("admin-set-behaviour", ("200", "BehaviourConfig"), body="BehaviourConfig", **admin),
            "patch": _operation("admin-patch-behaviour", ("200", "BehaviourConfig"), body="BehaviourConfig", **admin),
        },
        "/_admin/behaviour/reset": {"post": _operation("admin-reset-behaviour", ("200", "BehaviourConfig"), **admin)},
        "/_admin/infobip-campaigns": {
            "post": _operation("admin-create-existing-campaign", ("201", "AdminObject"), **admin)
        },
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
    schemas.update(_pydantic([Scenario, FaultConfig, RateLimitConfig, BehaviourConfig]))
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
                    "requestBody": {"content": {"application/json": {"schema": ref("CampaignStatusWebhook")}}},
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
