"""Infobip's Subscriptions API under `/infobip/subscriptions/1/subscription`: webhook subscriptions
with inline profiles and securities (D14), for the REGISTRATION channel.

A second create with an existing `subscriptionId` is refused (D14) unless the accept-duplicates
alternative is on, in which case it replaces the subscription (and its inline profile and
security), so a client that creates on every start shows up as several accepted creates (D30).
The middleware in `app.py` has already authenticated, rate-limited and possibly faulted the request.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from tendlc_dev.sandbox.context import CONTEXT
from tendlc_dev.sandbox.model import Profile, Security, Subscription
from tendlc_dev.sandbox.state import subscription_key
from tendlc_dev.sandbox.validation import (
    CHANNELS,
    BadJson,
    ProfileRequest,
    SubscriptionRequest,
    parse_json,
    validate_subscription,
)
from tendlc_dev.sandbox.views import (
    id_only_profile,
    infobip_bad_request,
    infobip_error,
    json_response,
    subscription_json,
)

PREFIX = "/infobip"


async def _json_body(request: web.Request) -> Any:
    return parse_json(await request.read())


def _malformed(error: BadJson) -> web.Response:
    return infobip_bad_request("Malformed JSON request body", {"body": [str(error)]})


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

def _channel_error(channel: str) -> web.Response | None:
    if channel not in CHANNELS:
        return infobip_bad_request("Bad request", {"channel": [f"unknown channel {channel}"]})
    if channel != "REGISTRATION":
        return infobip_bad_request("Bad request", {"channel": ["the sandbox only serves the REGISTRATION channel"]})
    return None


def _apply_profile(request: web.Request, wanted: ProfileRequest, *, replace: bool = False) -> dict[str, list[str]]:
    """Create the inline profile/security, or check the referenced ones exist. Checks come first.
    `replace`: an inline profile or security that exists with other settings is replaced (D30)."""
    state = request.app[CONTEXT].state
    errors: dict[str, list[str]] = {}
    security = wanted.security
    new_security: Security | None = None
    if security is not None:
        existing = state.securities.get(security.auth_id)
        if security.type is not None:
            new_security = Security(auth_id=security.auth_id, type=security.type, credentials=security.credentials)
            if existing is not None and existing != new_security and not replace:
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
        if existing_profile is not None and existing_profile != new_profile and not replace:
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
    replace = ctx.behaviour.accept_duplicates
    if key in ctx.state.subscriptions and not replace:
        return infobip_bad_request(
            "Bad request", {"subscriptionId": [f"subscription {parsed.subscription_id} already exists"]}
        )
    errors = _apply_profile(request, parsed.profile, replace=replace)
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
    subscriptions = f"{PREFIX}/subscriptions/1/subscription"
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
