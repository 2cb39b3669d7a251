"""Infobip's Number Registration routes under `/infobip`: migration, campaigns, add-numbers.

Handlers parse, validate (nothing changes on a 400), call `SandboxState`, and answer in Infobip's
shapes from `views.py`, bent by the behaviour switches where the partner is silent (migrate 200 or
201, extra campaign fields, accept-duplicates, a campaign list that lags a create: D30, D31).
Number import and the owned-numbers list live in `routes_numbers.py`, subscriptions in
`routes_subscriptions.py`. Authentication, rate limits, faults and the ledger are the middleware's
job (`app.py`), so a handler here only ever sees an authenticated, admitted request.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from aiohttp import web

from tendlc_dev.sandbox.context import CONTEXT
from tendlc_dev.sandbox.model import REGISTERED, InfobipCampaign
from tendlc_dev.sandbox.validation import (
    CAMPAIGN_MAX_NUMBERS_WITH_POOL,
    CAMPAIGN_MAX_NUMBERS_WITHOUT_POOL,
    BadJson,
    parse_json,
    validate_add_numbers,
    validate_migrate,
)
from tendlc_dev.sandbox.views import (
    campaign_json,
    infobip_bad_request,
    infobip_error,
    json_response,
    network_statuses_json,
    number_previews,
)

PREFIX = "/infobip"
SORTABLE = {"id", "name", "type", "createdDate", "lastModifiedDate"}


async def _json_body(request: web.Request) -> Any:
    return parse_json(await request.read())


def _malformed(error: BadJson) -> web.Response:
    return infobip_bad_request("Malformed JSON request body", {"body": [str(error)]})


def _campaign(request: web.Request, campaign: InfobipCampaign) -> dict[str, Any]:
    return campaign_json(campaign, extra_fields=request.app[CONTEXT].behaviour.extra_campaign_fields)


async def migrate(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        parsed = validate_migrate(await _json_body(request))
    except BadJson as error:
        return _malformed(error)
    if isinstance(parsed, dict):
        return infobip_bad_request("Invalid migration request", parsed)
    existing = ctx.state.open_migration(parsed.external_campaign_id)
    if existing is not None and not ctx.behaviour.accept_duplicates:
        return infobip_bad_request(
            f"Campaign {parsed.external_campaign_id} is already in migration (id {existing.id})",
            {"externalCampaignId": ["already in migration"]},
        )
    if ctx.config.require_imported_numbers:
        missing = {
            f"numbers[{i}]": [f"number {n} is not imported into this account"]
            for i, n in enumerate(parsed.numbers)
            if not ctx.state.is_owned(n)
        }
        if missing:
            return infobip_bad_request("Numbers must be imported before migration", missing)
    campaign = ctx.state.create_migration(
        parsed.name,
        parsed.external_campaign_id,
        parsed.numbers,
        parsed.number_pool_id,
        parsed.client_manages_nnid,
    )
    ctx.took_effect(request)
    return json_response(_campaign(request, campaign), ctx.behaviour.migrate_status)


def _campaign_or_error(request: web.Request) -> InfobipCampaign | web.Response:
    ctx = request.app[CONTEXT]
    campaign_id = request.match_info["campaignId"]
    try:
        uuid.UUID(campaign_id)
    except ValueError:
        return infobip_bad_request("Bad request", {"campaignId": ["must be a UUID"]})
    campaign = ctx.state.campaigns.get(campaign_id)
    if campaign is None:
        return infobip_error(404, "NOT_FOUND", "Not found")
    return campaign


async def get_campaign(request: web.Request) -> web.Response:
    found = _campaign_or_error(request)
    return found if isinstance(found, web.Response) else json_response(_campaign(request, found))


async def get_campaign_numbers(request: web.Request) -> web.Response:
    found = _campaign_or_error(request)
    if isinstance(found, web.Response):
        return found
    return json_response({"numberPreviews": number_previews(found.numbers)})


async def get_network_statuses(request: web.Request) -> web.Response:
    found = _campaign_or_error(request)
    return found if isinstance(found, web.Response) else json_response(network_statuses_json(found))


def _multi(request: web.Request, name: str) -> list[str]:
    """Form-style arrays: `stage=A&stage=B`, `stage[]=A`, and comma lists are all accepted."""
    values = request.query.getall(name, []) + request.query.getall(f"{name}[]", [])
    return [part for value in values for part in value.split(",") if part]


def _int_param(request: web.Request, name: str, default: int, low: int, high: int, errors: dict[str, list[str]]) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors[name] = ["must be an integer"]
        return default
    if not low <= value <= high:
        errors[name] = [f"must be between {low} and {high}"]
    return value


def _sort_key(field: str, campaign: InfobipCampaign) -> Any:
    if field == "id":
        return campaign.id
    if field == "name":
        return campaign.name
    if field == "type":
        return "EXTERNAL_TEN_DIGIT_LONG_CODE"
    if field == "lastModifiedDate":
        return campaign.modified
    return campaign.created


async def list_campaigns(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    errors: dict[str, list[str]] = {}
    page = _int_param(request, "page", 0, 0, 2**31 - 1, errors)
    size = _int_param(request, "size", 20, 1, 2000, errors)
    sorts: list[tuple[str, bool]] = []
    for spec in request.query.getall("sort", []):
        field, _, direction = spec.partition(",")
        if field not in SORTABLE or direction.lower() not in ("", "asc", "desc"):
            errors.setdefault("sort", []).append(f"invalid sort {spec!r}")
        else:
            sorts.append((field, direction.lower() == "desc"))
    if errors:
        return infobip_bad_request("Bad request", errors)
    ids = set(_multi(request, "id"))
    brands = _multi(request, "brandId")
    references = _multi(request, "referenceId")
    types = set(_multi(request, "type"))
    stages = set(_multi(request, "stage"))
    numbers = set(_multi(request, "number"))
    name_like = request.query.get("nameLike")
    application_id = request.query.get("applicationId")
    entity_id = request.query.get("entityId")

    def matches(c: InfobipCampaign) -> bool:
        return (
            (not ids or c.id in ids)
            and not brands
            and not references
            and (not types or "EXTERNAL_TEN_DIGIT_LONG_CODE" in types)
            and (not stages or c.stage in stages)
            and (not numbers or not numbers.isdisjoint(c.numbers))
            and (name_like is None or name_like.lower() in c.name.lower())
            and (application_id is None or application_id in c.application_id)
            and (entity_id is None or entity_id in c.entity_id)
        )

    lag = ctx.behaviour.list_lag_seconds
    visible_before = ctx.clock.now() - lag
    found = sorted(
        (c for c in ctx.state.campaigns.values() if matches(c) and (lag <= 0 or c.created <= visible_before)),
        key=lambda c: (c.created, c.id),
    )
    for field, descending in reversed(sorts):
        found.sort(key=lambda c, f=field: _sort_key(f, c), reverse=descending)  # type: ignore[misc]
    total = len(found)
    chunk = found[page * size : (page + 1) * size]
    return json_response(
        {
            "results": [_campaign(request, c) for c in chunk],
            "paging": {"page": page, "size": size, "totalPages": math.ceil(total / size), "totalResults": total},
        }
    )


async def add_numbers(request: web.Request) -> web.Response:
    """`add-numbers` (D34): only on a REGISTERED campaign; 202, the numbers appear later."""
    ctx = request.app[CONTEXT]
    found = _campaign_or_error(request)
    if isinstance(found, web.Response):
        return found
    try:
        parsed = validate_add_numbers(await _json_body(request))
    except BadJson as error:
        return _malformed(error)
    if isinstance(parsed, dict):
        return infobip_bad_request("Invalid add-numbers request", parsed)
    if found.stage != REGISTERED:
        return infobip_bad_request(
            f"Campaign {found.id} registration has not been completed (stage {found.stage})",
            {"campaignId": ["numbers can only be added to a REGISTERED campaign"]},
        )
    field_name = "numberKeys" if parsed.number_keys else "numbers"
    errors: dict[str, list[str]] = {}
    numbers: list[str] = []
    for index, given in enumerate(parsed.number_keys or parsed.numbers):
        owned = ctx.state.number_by_key(given) if parsed.number_keys else ctx.state.numbers.get(given)
        if owned is None or not ctx.state.is_owned(owned.number):
            errors[f"{field_name}[{index}]"] = [f"{given} is not a number imported into this account"]
        else:
            numbers.append(owned.number)
    if errors:
        return infobip_bad_request("Numbers must be imported before they are added", errors)
    held = ctx.state.numbers_with_pending(found)
    if not ctx.behaviour.accept_duplicates:
        already = {
            f"{field_name}[{i}]": [f"{n} is already in campaign {found.id}"] for i, n in enumerate(numbers) if n in held
        }
        if already:
            return infobip_bad_request("Numbers already in the campaign", already)
    limit = CAMPAIGN_MAX_NUMBERS_WITH_POOL if found.number_pool_id else CAMPAIGN_MAX_NUMBERS_WITHOUT_POOL
    total = len(held | set(numbers))
    if total > limit:
        pooling = "with" if found.number_pool_id else "without"
        return infobip_bad_request(
            f"Campaign would hold {total} numbers; at most {limit} {pooling} number pooling",
            {field_name: [f"campaign number limit {limit} exceeded"]},
        )
    ctx.state.add_numbers(found, numbers)
    ctx.took_effect(request)
    return web.Response(status=202)


def add_routes(app: web.Application) -> None:
    campaigns = f"{PREFIX}/number-registration/1/campaigns"
    app.router.add_post(f"{campaigns}/migrate", migrate, name="infobip.migrate")
    app.router.add_get(campaigns, list_campaigns, name="infobip.campaigns", allow_head=False)
    app.router.add_get(f"{campaigns}/{{campaignId}}", get_campaign, name="infobip.campaign", allow_head=False)
    app.router.add_get(
        f"{campaigns}/{{campaignId}}/numbers", get_campaign_numbers, name="infobip.campaign_numbers", allow_head=False
    )
    app.router.add_get(
        f"{campaigns}/{{campaignId}}/network-statuses",
        get_network_statuses,
        name="infobip.network_statuses",
        allow_head=False,
    )
    app.router.add_post(f"{campaigns}/{{campaignId}}/add-numbers", add_numbers, name="infobip.add_numbers")
