"""What the admin routes share: body parsing into pydantic models, the error shape, and the admin
views of a campaign and of the clock. The admin API is the test's hand (no authentication, not in
the ledger); its errors are `{"error": "..."}`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from tendlc_dev.sandbox.clock import isoformat
from tendlc_dev.sandbox.context import SandboxContext
from tendlc_dev.sandbox.model import InfobipCampaign
from tendlc_dev.sandbox.validation import BadJson, parse_json
from tendlc_dev.sandbox.views import json_response

PREFIX = "/_admin"


class AdminBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


M = TypeVar("M", bound=BaseModel)


def admin_error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status)


async def read_json(request: web.Request) -> Any | web.Response:
    raw = await request.read()
    try:
        return parse_json(raw) if raw.strip() else {}
    except BadJson as error:
        return admin_error(400, f"malformed JSON: {error}")


async def parse_body(request: web.Request, model: type[M]) -> M | web.Response:
    data = await read_json(request)
    if isinstance(data, web.Response):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as error:
        return admin_error(400, error.json(include_url=False))


def campaign_admin_json(campaign: InfobipCampaign, ctx: SandboxContext) -> dict[str, Any]:
    def when(moment: float | None) -> str | None:
        return isoformat(moment) if moment is not None else None

    return {
        "id": campaign.id,
        "tcrId": campaign.tcr_id,
        "name": campaign.name,
        "stage": campaign.stage,
        "numbers": list(campaign.numbers),
        "pendingNumbers": [n for a in campaign.pending_additions for n in a.numbers],
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


def time_json(ctx: SandboxContext) -> dict[str, Any]:
    now = ctx.clock.now()
    return {"now": isoformat(now), "epochSeconds": now, "timeScale": ctx.clock.time_scale}
