"""The admin API under `/_admin`: the test's and the rehearsing user's hand on the sandbox.

Read the ledger (filtered by campaign, number, endpoint…), the exactly-once counters and the
attempts view, move or compress time, tune faults, rate limits and the behaviour alternatives,
inspect webhook deliveries, reset, save. Campaign levers (scenarios, seeds, stages) are in
`routes_admin_seed.py`. It has no authentication (the sandbox binds to loopback) and its requests
are not written to the ledger. Answers are plain JSON; errors are `{"error": "..."}`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field, ValidationError
from pydantic.alias_generators import to_camel

from tendlc_dev.sandbox.admin_common import PREFIX, AdminBody, admin_error, parse_body, read_json, time_json
from tendlc_dev.sandbox.config import BehaviourConfig, FaultConfig, RateLimitConfig
from tendlc_dev.sandbox.context import CONTEXT, SandboxContext
from tendlc_dev.sandbox.ledger import tally
from tendlc_dev.sandbox.openapi import openapi_document
from tendlc_dev.sandbox.views import json_response


class AdvanceBody(AdminBody):
    seconds: float = Field(ge=0)


class TimeBody(AdminBody):
    time_scale: float = Field(ge=0)


class AccountBody(AdminBody):
    import_enabled: bool


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document())


async def reset(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    ctx.reset()
    return json_response({"reset": True, **time_json(ctx)})


def _since_limit(request: web.Request) -> tuple[int, int] | web.Response:
    try:
        return int(request.query.get("since", "0")), min(int(request.query.get("limit", "1000")), 100_000)
    except ValueError:
        return admin_error(400, "since and limit must be integers")


async def ledger(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    query = request.query
    bounds = _since_limit(request)
    if isinstance(bounds, web.Response):
        return bounds
    since, limit = bounds
    resolver = ctx.resolver()
    entries = ctx.ledger.query(
        since=since,
        limit=limit,
        partner=query.get("partner"),
        method=query.get("method"),
        path_contains=query.get("pathContains"),
        endpoint=query.get("endpoint"),
        campaign=query.get("campaign"),
        number=query.get("number"),
        campaigns_of=resolver.campaigns,
        numbers_of=resolver.numbers,
    )
    return json_response(
        {
            "entries": [e.to_json(resolver.campaigns(e), resolver.numbers(e)) for e in entries],
            "lastSeq": entries[-1].seq if entries else since,
        }
    )


async def counters(request: web.Request) -> web.Response:
    return json_response(request.app[CONTEXT].ledger.counters_json())


async def attempts(request: web.Request) -> web.Response:
    """Attempts (requests received) and successes per endpoint and per campaign, from the ledger."""
    ctx = request.app[CONTEXT]
    bounds = _since_limit(request)
    if isinstance(bounds, web.Response):
        return bounds
    since = bounds[0]
    resolver = ctx.resolver()
    entries = (e for e in ctx.ledger.entries if e.seq > since)
    query = request.query
    found = tally(
        entries,
        resolver.campaigns,
        campaign=query.get("campaign"),
        endpoint=query.get("endpoint"),
        number=query.get("number"),
        numbers_of=resolver.numbers,
    )
    return json_response(found)


async def state(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return json_response({**ctx.state.to_json(), **time_json(ctx)})


async def get_time(request: web.Request) -> web.Response:
    return json_response(time_json(request.app[CONTEXT]))


async def set_time(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await parse_body(request, TimeBody)
    if isinstance(body, web.Response):
        return body
    ctx.clock.set_time_scale(body.time_scale)
    return json_response(time_json(ctx))


async def advance_time(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await parse_body(request, AdvanceBody)
    if isinstance(body, web.Response):
        return body
    ctx.clock.advance(body.seconds)
    ctx.settle()
    return json_response(time_json(ctx))


async def get_faults(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return json_response(
        {**ctx.faults.config.model_dump(mode="json", by_alias=True), "injected": dict(ctx.faults.injected)}
    )


async def set_faults(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await parse_body(request, FaultConfig)
    if isinstance(body, web.Response):
        return body
    ctx.faults.configure(body)
    return json_response(body.model_dump(mode="json", by_alias=True))


async def get_rate_limits(request: web.Request) -> web.Response:
    return json_response(request.app[CONTEXT].rate_limiter.config.model_dump(mode="json", by_alias=True))


async def set_rate_limits(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await parse_body(request, RateLimitConfig)
    if isinstance(body, web.Response):
        return body
    ctx.rate_limiter.configure(body)
    return json_response(body.model_dump(mode="json", by_alias=True))


def _behaviour_json(ctx: SandboxContext) -> dict[str, Any]:
    return ctx.behaviour.model_dump(mode="json", by_alias=True)


async def get_behaviour(request: web.Request) -> web.Response:
    return json_response(_behaviour_json(request.app[CONTEXT]))


async def set_behaviour(request: web.Request) -> web.Response:
    """PUT replaces every switch (those not given go back to the documented defaults); PATCH
    changes only the switches given."""
    ctx = request.app[CONTEXT]
    data = await read_json(request)
    if isinstance(data, web.Response):
        return data
    if not isinstance(data, dict):
        return admin_error(400, "the behaviour is a JSON object")
    base = ctx.behaviour.model_dump(by_alias=True) if request.method == "PATCH" else {}
    given = {to_camel(str(key)): value for key, value in data.items()}  # snake_case names are accepted too
    try:
        behaviour = BehaviourConfig.model_validate({**base, **given})
    except ValidationError as error:
        return admin_error(400, error.json(include_url=False))
    ctx.set_behaviour(behaviour)
    return json_response(_behaviour_json(ctx))


async def reset_behaviour(request: web.Request) -> web.Response:
    """Back to what the sandbox was started with (the documented defaults unless flags said otherwise)."""
    ctx = request.app[CONTEXT]
    ctx.set_behaviour(ctx.config.behaviour.model_copy(deep=True))
    return json_response(_behaviour_json(ctx))


async def get_account(request: web.Request) -> web.Response:
    return json_response({"importEnabled": request.app[CONTEXT].state.import_enabled})


async def set_account(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await parse_body(request, AccountBody)
    if isinstance(body, web.Response):
        return body
    ctx.state.import_enabled = body.import_enabled
    ctx.state.touch()
    return json_response({"importEnabled": ctx.state.import_enabled})


async def webhooks(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return json_response(
        {
            "deliveries": list(ctx.webhooks.records),
            "idle": ctx.webhooks.idle(),
            "retriesPending": ctx.webhooks.retries_pending(),
        }
    )


async def save(request: web.Request) -> web.Response:
    path = request.app[CONTEXT].save_state()
    if path is None:
        return admin_error(409, "no state file configured (--state-file)")
    return json_response({"saved": str(path)})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/health", health, name="admin.health")
    r.add_get(f"{PREFIX}/openapi.json", openapi, name="admin.openapi")
    r.add_post(f"{PREFIX}/reset", reset, name="admin.reset")
    r.add_get(f"{PREFIX}/ledger", ledger, name="admin.ledger")
    r.add_get(f"{PREFIX}/counters", counters, name="admin.counters")
    r.add_get(f"{PREFIX}/attempts", attempts, name="admin.attempts")
    r.add_get(f"{PREFIX}/state", state, name="admin.state")
    r.add_get(f"{PREFIX}/time", get_time, name="admin.time")
    r.add_put(f"{PREFIX}/time", set_time, name="admin.set_time")
    r.add_post(f"{PREFIX}/time/advance", advance_time, name="admin.advance_time")
    r.add_get(f"{PREFIX}/faults", get_faults, name="admin.faults")
    r.add_put(f"{PREFIX}/faults", set_faults, name="admin.set_faults")
    r.add_get(f"{PREFIX}/rate-limits", get_rate_limits, name="admin.rate_limits")
    r.add_put(f"{PREFIX}/rate-limits", set_rate_limits, name="admin.set_rate_limits")
    r.add_get(f"{PREFIX}/behaviour", get_behaviour, name="admin.behaviour")
    r.add_put(f"{PREFIX}/behaviour", set_behaviour, name="admin.set_behaviour")
    r.add_patch(f"{PREFIX}/behaviour", set_behaviour, name="admin.patch_behaviour")
    r.add_post(f"{PREFIX}/behaviour/reset", reset_behaviour, name="admin.reset_behaviour")
    r.add_get(f"{PREFIX}/account", get_account, name="admin.account")
    r.add_put(f"{PREFIX}/account", set_account, name="admin.set_account")
    r.add_get(f"{PREFIX}/webhooks", webhooks, name="admin.webhooks")
    r.add_post(f"{PREFIX}/save", save, name="admin.save")
