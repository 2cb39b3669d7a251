"""TCR's routes, served under `/tcr/v2`: read a campaign and its per-MNO operation status, elect a
CNP, read the election back.

Any ID matching `^C[A-Z0-9]{6}$` exists (its scenario decides ACTIVE or EXPIRED, suspensions and a
seeded election: D32, D33); anything else is a 404. Errors are TCR's JSON array (D8). The
middleware in `app.py` has already authenticated, rate-limited and possibly faulted the request
before a handler runs.
"""

from __future__ import annotations

from aiohttp import web

from tendlc_dev.sandbox.context import CONTEXT
from tendlc_dev.sandbox.model import TcrCampaign
from tendlc_dev.sandbox.state import TcrProblem
from tendlc_dev.sandbox.views import json_response, migrate_cnp_json, sharing_json, tcr_campaign_json, tcr_error

PREFIX = "/tcr/v2"


def _campaign_or_error(request: web.Request) -> TcrCampaign | web.Response:
    campaign_id = request.match_info["campaignId"]
    found = request.app[CONTEXT].state.tcr_campaign(campaign_id)
    if found is None:
        return tcr_error(404, [TcrProblem(404, "campaignId", f"Campaign {campaign_id} not found")])
    return found


async def get_campaign(request: web.Request) -> web.Response:
    found = _campaign_or_error(request)
    if isinstance(found, web.Response):
        return found
    ctx = request.app[CONTEXT]
    return json_response(tcr_campaign_json(found, ctx.config.csp_id, ctx.clock.now()))


async def get_operation_status(request: web.Request) -> web.Response:
    found = _campaign_or_error(request)
    if isinstance(found, web.Response):
        return found
    return json_response(request.app[CONTEXT].state.operation_status(found))


async def get_sharing(request: web.Request) -> web.Response:
    found = _campaign_or_error(request)
    if isinstance(found, web.Response):
        return found
    return json_response(sharing_json(found, request.app[CONTEXT].config.csp_id))


async def migrate_cnp(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    found = _campaign_or_error(request)
    if isinstance(found, web.Response):
        return found
    outcome = ctx.state.elect_cnp(found, request.match_info["upstreamCnpId"])
    if isinstance(outcome, list):
        return tcr_error(400, outcome)
    ctx.took_effect(request)
    return json_response(migrate_cnp_json(found, outcome))


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/campaign/{{campaignId}}", get_campaign, name="tcr.campaign", allow_head=False)
    app.router.add_get(f"{PREFIX}/campaign/{{campaignId}}/sharing", get_sharing, name="tcr.sharing", allow_head=False)
    app.router.add_get(
        f"{PREFIX}/campaign/{{campaignId}}/operationStatus",
        get_operation_status,
        name="tcr.operation_status",
        allow_head=False,
    )
    app.router.add_post(
        f"{PREFIX}/campaign/{{campaignId}}/migrateCnp/{{upstreamCnpId}}", migrate_cnp, name="tcr.migrate_cnp"
    )
