"""The admin API's hand on campaigns: read them, choose a TCR campaign's scenario (expired,
suspended, an election already open elsewhere, the numbers it owns), seed an Infobip campaign that
already exists in the account, confirm an own-NNID OSR update, force a stage.

These are the test's and the rehearsing user's levers, so they bypass the partners' rules on
purpose (no rate limit, no ledger entry); everything they create behaves like partner state
afterwards.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from tendlc_dev.sandbox.admin_common import (
    PREFIX,
    AdminBody,
    admin_error,
    campaign_admin_json,
    parse_body,
)
from tendlc_dev.sandbox.context import CONTEXT
from tendlc_dev.sandbox.model import REGISTERED, TCR_CAMPAIGN_ID, US_NUMBER, RejectionDetail, Scenario
from tendlc_dev.sandbox.views import json_response


class StageBody(AdminBody):
    stage: str = Field(min_length=1, max_length=64)
    rejection_details: list[RejectionDetail] | None = None
    emit_webhook: bool | None = None


class ExistingCampaignBody(AdminBody):
    """An Infobip campaign already in the account (e.g. holding numbers another migration wants)."""

    external_campaign_id: str = Field(pattern=r"^C[A-Z0-9]{6}$")
    numbers: list[str] = Field(min_length=1, max_length=35_000)
    name: str | None = Field(None, min_length=1, max_length=255)
    stage: str = Field(REGISTERED, min_length=1, max_length=64)
    number_pool_id: str | None = None


def _tcr_id(request: web.Request) -> str | web.Response:
    tcr_id = request.match_info["tcrId"]
    if not TCR_CAMPAIGN_ID.match(tcr_id):
        return admin_error(400, "tcrId must match ^C[A-Z0-9]{6}$")
    return tcr_id


async def campaigns(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    found = sorted(ctx.state.campaigns.values(), key=lambda c: c.created)
    return json_response({"campaigns": [campaign_admin_json(c, ctx) for c in found]})


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


async def create_existing_campaign(request: web.Request) -> web.Response:
    """`POST /_admin/infobip-campaigns`: seed a campaign (default REGISTERED) whose numbers are
    owned by the account, so the documented `number` filter of the campaign list finds it."""
    ctx = request.app[CONTEXT]
    body = await parse_body(request, ExistingCampaignBody)
    if isinstance(body, web.Response):
        return body
    bad = [n for n in body.numbers if not US_NUMBER.match(n)]
    if bad or len(set(body.numbers)) != len(body.numbers):
        return admin_error(400, f"numbers must be unique and match ^1\\d{{10}}$ (bad: {bad[:5]})")
    ctx.state.import_numbers(body.numbers)
    created = ctx.state.create_migration(
        body.name or f"existingCampaign{body.external_campaign_id}",
        body.external_campaign_id,
        body.numbers,
        body.number_pool_id,
        False,
        stage=body.stage,
    )
    ctx.settle()
    return json_response(campaign_admin_json(created, ctx), 201)


async def set_scenario(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    tcr_id = _tcr_id(request)
    if isinstance(tcr_id, web.Response):
        return tcr_id
    scenario = await parse_body(request, Scenario)
    if isinstance(scenario, web.Response):
        return scenario
    bad = [n for n in scenario.numbers if not US_NUMBER.match(n)]
    if bad:
        return admin_error(400, f"numbers must match ^1\\d{{10}}$ (bad: {bad[:5]})")
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
        return admin_error(404 if outcome.startswith("No open") else 409, outcome)
    ctx.settle()
    return json_response(campaign_admin_json(outcome, ctx))


async def force_stage(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    tcr_id = _tcr_id(request)
    if isinstance(tcr_id, web.Response):
        return tcr_id
    body = await parse_body(request, StageBody)
    if isinstance(body, web.Response):
        return body
    target = ctx.state.latest_campaign(tcr_id)
    if target is None:
        return admin_error(404, f"No Infobip campaign for {tcr_id}")
    ctx.state.force_stage(target, body.stage, body.rejection_details, body.emit_webhook)
    ctx.settle()
    return json_response(campaign_admin_json(target, ctx))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/campaigns", campaigns, name="admin.campaigns")
    r.add_get(f"{PREFIX}/campaigns/{{tcrId}}", campaign, name="admin.campaign")
    r.add_put(f"{PREFIX}/campaigns/{{tcrId}}/scenario", set_scenario, name="admin.set_scenario")
    r.add_delete(f"{PREFIX}/campaigns/{{tcrId}}/scenario", clear_scenario, name="admin.clear_scenario")
    r.add_post(f"{PREFIX}/campaigns/{{tcrId}}/osr-updated", osr_updated, name="admin.osr_updated")
    r.add_post(f"{PREFIX}/campaigns/{{tcrId}}/stage", force_stage, name="admin.force_stage")
    r.add_post(f"{PREFIX}/infobip-campaigns", create_existing_campaign, name="admin.create_existing_campaign")
