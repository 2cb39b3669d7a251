"""Infobip's routes, served under `/infobip`: number import, migration, campaigns, subscriptions.

Handlers parse, validate (nothing changes on a 400), call `SandboxState`, and answer in Infobip's
shapes from `views.py`. Authentication, rate limits, faults and the ledger are the middleware's
job (`app.py`), so a handler here only ever sees an authenticated, admitted request.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from aiohttp import web

from tendlc_dev.sandbox.context import CONTEXT
from tendlc_dev.sandbox.model import IMPORT_FORBIDDEN_PREFIX, InfobipCampaign, Profile, Security, Subscription
from tendlc_dev.sandbox.state import subscription_key
from tendlc_dev.sandbox.validation import (
    CHANNELS,
    BadJson,
    ProfileRequest,
    SubscriptionRequest,
    parse_json,
    validate_import,
    validate_migrate,
    validate_subscription,
)
from tendlc_dev.sandbox.views import (
    campaign_json,
    id_only_profile,
    infobip_bad_request,
    infobip_error,
    json_response,
    network_statuses_json,
    number_previews,
    subscription_json,
)

PREFIX = "/infobip"
SORTABLE = {"id", "name", "type", "createdDate", "lastModifiedDate"}


async def _json_body(request: web.Request) -> Any:
    return parse_json(await request.read())


def _malformed(error: BadJson) -> web.Response:
    return infobip_bad_request("Malformed JSON request body", {"body": [str(error)]})


async def import_numbers(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        parsed = validate_import(await _json_body(request))
    except BadJson as error:
        return _malformed(error)
    if isinstance(parsed, dict):
        return infobip_bad_request("Invalid number import request", parsed)
    if not ctx.state.import_enabled or any(n.startswith(IMPORT_FORBIDDEN_PREFIX) for n in parsed.numbers):
        return infobip_error(403, "FORBIDDEN", "Account is not enabled for self-service number import")
    results = ctx.state.import_numbers(
        parsed.numbers, parsed.country, parsed.type, parsed.capabilities, parsed.skip_osr_update
    )
    if any(status == "IMPORTED" for _, status in results):
        ctx.took_effect(request)
    return json_response({"results": [{"number": n, "status": s} for n, s in results]})


async def migrate(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        parsed = validate_migrate(await _json_body(request))
    except BadJson as error:
        return _malformed(error)
    if isinstance(parsed, dict):
        return infobip_bad_request("Invalid migration request", parsed)
    existing = ctx.state.open_migration(parsed.external_campaign_id)
    if existing is not None:
        return infobip_bad_request(
            f"Campaign {parsed.external_campaign_id} is already in migration (id {existing.id})",
            {"externalCampaignId": ["already in migration"]},
        )
    if ctx.config.require_imported_numbers:
        missing = {
            f"numbers[{i}]": [f"number {n} is not imported into this account"]
            for i, n in enumerate(parsed.numbers)
            if n not in ctx.state.numbers
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
    return json_response(campaign_json(campaign))


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
    return found if isinstance(found, web.Response) else json_response(campaign_json(found))


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

    found = sorted((c for c in ctx.state.campaigns.values() if matches(c)), key=lambda c: (c.created, c.id))
    for field, descending in reversed(sorts):
        found.sort(key=lambda c, f=field: _sort_key(f, c), reverse=descending)  # type: ignore[misc]
    total = len(found)
    chunk = found[page * size : (page + 1) * size]
    return json_response(
        {
            "results": [campaign_json(c) for c in chunk],
            "paging": {"page": page, "size": size, "totalPages": math.ceil(total / size), "totalResults": total},
        }
    )


# -- subscriptions --------------------------------------------------------------------------


def _channel_error(channel: str) -> web.Response | None:
    if channel not in CHANNELS:
        return infobip_bad_request("Bad request", {"channel": [f"unknown channel {channel}"]})
    if channel != "REGISTRATION":
        return infobip_bad_request("Bad request", {"channel": ["the sandbox only serves the REGISTRATION channel"]})
    return None


def _apply_profile(request: web.Request, wanted: ProfileRequest) -> dict[str, list[str]]:
    """Create the inline profile/security, or check the referenced ones exist. Checks come first."""
    state = request.app[CONTEXT].state
    errors: dict[str, list[str]] = {}
    security = wanted.security
    new_security: Security | None = None
    if security is not None:
        existing = state.securities.get(security.auth_id)
        if security.type is not None:
            new_security = Security(auth_id=security.auth_id, type=security.type, credentials=security.credentials)
            if existing is not None and existing != new_security:
                errors["profile.security.authId"] = [f"security {security.auth_id} already exists with other settings"]
        elif existing is None:
            errors["profile.security.authId"] = [f"security {security.auth_id} not found"]
    existing_profile = state.profiles.get(wanted.profile_id)
    new_profile: Profile | None = None
    if wanted.notify_url is not None:
        new_profile = Profile(
            profile_id=wanted.profile_id,
            notify_url=wanted.notify_url,
            content_type=wanted.content_type,
            headers=wanted.headers,
            auth_id=security.auth_id if security is not None else None,
        )
        if existing_profile is not None and existing_profile != new_profile:
            errors["profile.profileId"] = [f"profile {wanted.profile_id} already exists with other settings"]
    elif existing_profile is None:
        errors["profile.webhook.notifyUrl"] = ["must not be null for a new profile"]
    if errors:
        return errors
    if new_security is not None:
        state.securities[new_security.auth_id] = new_security
    if new_profile is not None:
        state.profiles[new_profile.profile_id] = new_profile
    return {}


async def create_subscription(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    channel = request.match_info["channel"]
    if (problem := _channel_error(channel)) is not None:
        return problem
    try:
        parsed = validate_subscription(await _json_body(request), with_id=True)
    except BadJson as error:
        return _malformed(error)
    if isinstance(parsed, dict):
        return infobip_bad_request("Bad request", parsed)
    assert parsed.subscription_id is not None
    assert parsed.profile is not None
    key = subscription_key(channel, parsed.subscription_id)
    if key in ctx.state.subscriptions:
        return infobip_bad_request(
            "Bad request", {"subscriptionId": [f"subscription {parsed.subscription_id} already exists"]}
        )
    errors = _apply_profile(request, parsed.profile)
    if errors:
        return infobip_bad_request("Bad request", errors)
    subscription = Subscription(
        channel=channel,
        subscription_id=parsed.subscription_id,
        name=parsed.name,
        events=parsed.events,
        criteria=parsed.criteria,
        resources=parsed.resources,
        users=parsed.users,
        profile_id=parsed.profile.profile_id,
        created=ctx.clock.now(),
    )
    ctx.state.subscriptions[key] = subscription
    ctx.state.touch()
    ctx.took_effect(request)
    location = f"{PREFIX}/subscriptions/1/subscription/{channel}/{subscription.subscription_id}"
    return json_response(_id_only(request, subscription), 201, headers={"Location": location})


def _id_only(request: web.Request, subscription: Subscription) -> dict[str, Any]:
    profile = request.app[CONTEXT].state.profiles.get(subscription.profile_id)
    return {
        "subscriptionId": subscription.subscription_id,
        "profile": id_only_profile(subscription.profile_id, profile),
    }


def _subscription_or_error(request: web.Request) -> Subscription | web.Response:
    channel = request.match_info["channel"]
    if channel not in CHANNELS:
        return infobip_bad_request("Bad request", {"channel": [f"unknown channel {channel}"]})
    key = subscription_key(channel, request.match_info["subscriptionId"])
    found = request.app[CONTEXT].state.subscriptions.get(key)
    return found if found is not None else infobip_error(404, "NOT_FOUND", "Not found")


async def list_subscriptions(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    channel = request.match_info["channel"]
    if channel not in CHANNELS:
        return infobip_bad_request("Bad request", {"channel": [f"unknown channel {channel}"]})
    errors: dict[str, list[str]] = {}
    page = _int_param(request, "page", 0, 0, 2**31 - 1, errors)
    size = _int_param(request, "size", 20, 1, 100, errors)
    if errors:
        return infobip_bad_request("Bad request", errors)
    found = sorted(
        (s for s in ctx.state.subscriptions.values() if s.channel == channel),
        key=lambda s: (s.created, s.subscription_id),
    )
    chunk = found[page * size : (page + 1) * size]
    return json_response(
        {
            "results": [subscription_json(s, ctx.state.profiles.get(s.profile_id)) for s in chunk],
            "paging": {
                "page": page,
                "size": size,
                "totalPages": math.ceil(len(found) / size),
                "totalResults": len(found),
            },
        }
    )


async def get_subscription(request: web.Request) -> web.Response:
    found = _subscription_or_error(request)
    if isinstance(found, web.Response):
        return found
    return json_response(subscription_json(found, request.app[CONTEXT].state.profiles.get(found.profile_id)))


async def update_subscription(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    found = _subscription_or_error(request)
    if isinstance(found, web.Response):
        return found
    try:
        parsed = validate_subscription(await _json_body(request), with_id=False)
    except BadJson as error:
        return _malformed(error)
    if isinstance(parsed, dict):
        return infobip_bad_request("Bad request", parsed)
    if parsed.profile is not None:
        errors = _apply_profile(request, parsed.profile)
        if errors:
            return infobip_bad_request("Bad request", errors)
    _update(found, parsed)
    ctx.state.touch()
    ctx.took_effect(request)
    return json_response(_id_only(request, found))


def _update(subscription: Subscription, parsed: SubscriptionRequest) -> None:
    given = parsed.fields_given
    if "name" in given:
        subscription.name = parsed.name
    if "events" in given:
        subscription.events = parsed.events
    if "criteria" in given:
        subscription.criteria = parsed.criteria
    if "resources" in given:
        subscription.resources = parsed.resources
    if "users" in given:
        subscription.users = parsed.users
    if parsed.profile is not None:
        subscription.profile_id = parsed.profile.profile_id


async def delete_subscription(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    found = _subscription_or_error(request)
    if isinstance(found, web.Response):
        return found
    del ctx.state.subscriptions[subscription_key(found.channel, found.subscription_id)]
    ctx.state.touch()
    ctx.took_effect(request)
    return json_response(_id_only(request, found))


def add_routes(app: web.Application) -> None:
    campaigns = f"{PREFIX}/number-registration/1/campaigns"
    subscriptions = f"{PREFIX}/subscriptions/1/subscription"
    app.router.add_post(f"{PREFIX}/numbers/2/numbers/import", import_numbers, name="infobip.import_numbers")
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
    app.router.add_post(f"{subscriptions}/{{channel}}", create_subscription, name="subscriptions.create")
    app.router.add_get(f"{subscriptions}/{{channel}}", list_subscriptions, name="subscriptions.list", allow_head=False)
    app.router.add_get(
        f"{subscriptions}/{{channel}}/{{subscriptionId}}", get_subscription, name="subscriptions.get", allow_head=False
    )
    app.router.add_put(
        f"{subscriptions}/{{channel}}/{{subscriptionId}}", update_subscription, name="subscriptions.update"
    )
    app.router.add_delete(
        f"{subscriptions}/{{channel}}/{{subscriptionId}}", delete_subscription, name="subscriptions.delete"
    )
