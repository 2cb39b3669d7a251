"""The admin API under `/_admin`: the test's and the rehearsing user's hand on the sandbox.

Choose scenarios, confirm an own-NNID OSR update, force a stage, move or compress time, read the
ledger and the exactly-once counters, tune faults and rate limits, inspect webhook deliveries,
reset, save. It has no authentication (the sandbox binds to loopback) and its requests are not
written to the ledger. Answers are plain JSON; errors are `{"error": "..."}`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from tendlc_dev.sandbox.clock import isoformat
from tendlc_dev.sandbox.config import FaultConfig, RateLimitConfig
from tendlc_dev.sandbox.context import CONTEXT, SandboxContext
from tendlc_dev.sandbox.model import TCR_CAMPAIGN_ID, InfobipCampaign, RejectionDetail, Scenario
from tendlc_dev.sandbox.openapi import openapi_document
from tendlc_dev.sandbox.validation import BadJson, parse_json
from tendlc_dev.sandbox.views import json_response

PREFIX = "/_admin"


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class AdvanceBody(_Body):
    seconds: float = Field(ge=0)


class TimeBody(_Body):
    time_scale: float = Field(ge=0)


class StageBody(_Body):
    stage: str = Field(min_length=1, max_length=64)
    rejection_details: list[RejectionDetail] | None = None
    emit_webhook: bool | None = None


class AccountBody(_Body):
    import_enabled: bool


_M = TypeVar("_M", bound=BaseModel)


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status)


async def _parse(request: web.Request, model: type[_M]) -> _M | web.Response:
    raw = await request.read()
    try:
        data = parse_json(raw) if raw.strip() else {}
        return model.model_validate(data)
    except BadJson as error:
        return _error(400, f"malformed JSON: {error}")
    except ValidationError as error:
        return _error(400, error.json(include_url=False))


def campaign_admin_json(campaign: InfobipCampaign, ctx: SandboxContext) -> dict[str, Any]:
    def when(moment: float | None) -> str | None:
        return isoformat(moment) if moment is not None else None

    return {
        "id": campaign.id,
        "tcrId": campaign.tcr_id,
        "name": campaign.name,
        "stage": campaign.stage,
        "numbers": list(campaign.numbers),
        "numberPoolId": campaign.number_pool_id,
        "clientManagesNnid": campaign.client_manages_nnid,
        "waitsForCustomerOsr": ctx.state.waits_for_customer_osr(campaign)
        and campaign.osr_updated_at is None
        and campaign.stage == "IN_MIGRATION",
        "scenario": ctx.state.scenario_for(campaign.tcr_id).kind.value,
        "createdDate": when(campaign.created),
        "lastModifiedDate": when(campaign.modified),
        "osrUpdatedDate": when(campaign.osr_updated_at),
        "downtimeStartedAt": when(campaign.osr_updated_at),
        "registeredDate": when(campaign.registered_at),
        "downtimeEndedAt": when(campaign.registered_at),
    }


def _time_json(ctx: SandboxContext) -> dict[str, Any]:
    now = ctx.clock.now()
    return {"now": isoformat(now), "epochSeconds": now, "timeScale": ctx.clock.time_scale}


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document())


async def reset(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    ctx.reset()
    return json_response({"reset": True, **_time_json(ctx)})


async def ledger(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    query = request.query
    try:
        since = int(query.get("since", "0"))
        limit = min(int(query.get("limit", "1000")), 100_000)
    except ValueError:
        return _error(400, "since and limit must be integers")
    entries = ctx.ledger.query(
        since=since,
        limit=limit,
        partner=query.get("partner"),
        method=query.get("method"),
        path_contains=query.get("pathContains"),
        endpoint=query.get("endpoint"),
    )
    return json_response({"entries": [e.to_json() for e in entries], "lastSeq": entries[-1].seq if entries else since})


async def counters(request: web.Request) -> web.Response:
    return json_response(request.app[CONTEXT].ledger.counters_json())


async def state(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return json_response({**ctx.state.to_json(), **_time_json(ctx)})


async def campaigns(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    found = sorted(ctx.state.campaigns.values(), key=lambda c: c.created)
    return json_response({"campaigns": [campaign_admin_json(c, ctx) for c in found]})


def _tcr_id(request: web.Request) -> str | web.Response:
    tcr_id = request.match_info["tcrId"]
    if not TCR_CAMPAIGN_ID.match(tcr_id):
        return _error(400, "tcrId must match ^C[A-Z0-9]{6}$")
    return tcr_id


async def campaign(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    tcr_id = _tcr_id(request)
    if isinstance(tcr_id, web.Response):
        return tcr_id
    tcr = ctx.state.tcr_campaigns.get(tcr_id)
    return json_response(
        {
            "tcrId": tcr_id,
            "scenario": ctx.state.scenario_for(tcr_id).model_dump(mode="json", by_alias=True),
            "tcr": tcr.model_dump(mode="json", by_alias=True) if tcr is not None else None,
            "infobipCampaigns": [
                campaign_admin_json(c, ctx) for c in sorted(ctx.state.campaigns_for(tcr_id), key=lambda c: c.created)
            ],
        }
    )


async def set_scenario(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    tcr_id = _tcr_id(request)
    if isinstance(tcr_id, web.Response):
        return tcr_id
    scenario = await _parse(request, Scenario)
    if isinstance(scenario, web.Response):
        return scenario
    ctx.state.set_scenario(tcr_id, scenario)
    ctx.settle()
    return json_response({"tcrId": tcr_id, "scenario": scenario.model_dump(mode="json", by_alias=True)})


async def clear_scenario(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    tcr_id = _tcr_id(request)
    if isinstance(tcr_id, web.Response):
        return tcr_id
    ctx.state.scenarios.pop(tcr_id, None)
    ctx.state.touch()
    scenario = ctx.state.scenario_for(tcr_id)
    return json_response({"tcrId": tcr_id, "scenario": scenario.model_dump(mode="json", by_alias=True)})


async def osr_updated(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    tcr_id = _tcr_id(request)
    if isinstance(tcr_id, web.Response):
        return tcr_id
    outcome = ctx.state.confirm_osr_update(tcr_id)
    if isinstance(outcome, str):
        return _error(404 if outcome.startswith("No open") else 409, outcome)
    ctx.settle()
    return json_response(campaign_admin_json(outcome, ctx))


async def force_stage(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    tcr_id = _tcr_id(request)
    if isinstance(tcr_id, web.Response):
        return tcr_id
    body = await _parse(request, StageBody)
    if isinstance(body, web.Response):
        return body
    target = ctx.state.latest_campaign(tcr_id)
    if target is None:
        return _error(404, f"No Infobip campaign for {tcr_id}")
    ctx.state.force_stage(target, body.stage, body.rejection_details, body.emit_webhook)
    ctx.settle()
    return json_response(campaign_admin_json(target, ctx))


async def get_time(request: web.Request) -> web.Response:
    return json_response(_time_json(request.app[CONTEXT]))


async def set_time(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await _parse(request, TimeBody)
    if isinstance(body, web.Response):
        return body
    ctx.clock.set_time_scale(body.time_scale)
    return json_response(_time_json(ctx))


async def advance_time(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await _parse(request, AdvanceBody)
    if isinstance(body, web.Response):
        return body
    ctx.clock.advance(body.seconds)
    ctx.settle()
    return json_response(_time_json(ctx))


async def get_faults(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return json_response(
        {**ctx.faults.config.model_dump(mode="json", by_alias=True), "injected": dict(ctx.faults.injected)}
    )


async def set_faults(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await _parse(request, FaultConfig)
    if isinstance(body, web.Response):
        return body
    ctx.faults.configure(body)
    return json_response(body.model_dump(mode="json", by_alias=True))


async def get_rate_limits(request: web.Request) -> web.Response:
    return json_response(request.app[CONTEXT].rate_limiter.config.model_dump(mode="json", by_alias=True))


async def set_rate_limits(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await _parse(request, RateLimitConfig)
    if isinstance(body, web.Response):
        return body
    ctx.rate_limiter.configure(body)
    return json_response(body.model_dump(mode="json", by_alias=True))


async def get_account(request: web.Request) -> web.Response:
    return json_response({"importEnabled": request.app[CONTEXT].state.import_enabled})


async def set_account(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await _parse(request, AccountBody)
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
        return _error(409, "no state file configured (--state-file)")
    return json_response({"saved": str(path)})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/health", health, name="admin.health")
    r.add_get(f"{PREFIX}/openapi.json", openapi, name="admin.openapi")
    r.add_post(f"{PREFIX}/reset", reset, name="admin.reset")
    r.add_get(f"{PREFIX}/ledger", ledger, name="admin.ledger")
    r.add_get(f"{PREFIX}/counters", counters, name="admin.counters")
    r.add_get(f"{PREFIX}/state", state, name="admin.state")
    r.add_get(f"{PREFIX}/campaigns", campaigns, name="admin.campaigns")
    r.add_get(f"{PREFIX}/campaigns/{{tcrId}}", campaign, name="admin.campaign")
    r.add_put(f"{PREFIX}/campaigns/{{tcrId}}/scenario", set_scenario, name="admin.set_scenario")
    r.add_delete(f"{PREFIX}/campaigns/{{tcrId}}/scenario", clear_scenario, name="admin.clear_scenario")
    r.add_post(f"{PREFIX}/campaigns/{{tcrId}}/osr-updated", osr_updated, name="admin.osr_updated")
    r.add_post(f"{PREFIX}/campaigns/{{tcrId}}/stage", force_stage, name="admin.force_stage")
    r.add_get(f"{PREFIX}/time", get_time, name="admin.time")
    r.add_put(f"{PREFIX}/time", set_time, name="admin.set_time")
    r.add_post(f"{PREFIX}/time/advance", advance_time, name="admin.advance_time")
    r.add_get(f"{PREFIX}/faults", get_faults, name="admin.faults")
    r.add_put(f"{PREFIX}/faults", set_faults, name="admin.set_faults")
    r.add_get(f"{PREFIX}/rate-limits", get_rate_limits, name="admin.rate_limits")
    r.add_put(f"{PREFIX}/rate-limits", set_rate_limits, name="admin.set_rate_limits")
    r.add_get(f"{PREFIX}/account", get_account, name="admin.account")
    r.add_put(f"{PREFIX}/account", set_account, name="admin.set_account")
    r.add_get(f"{PREFIX}/webhooks", webhooks, name="admin.webhooks")
    r.add_post(f"{PREFIX}/save", save, name="admin.save")
