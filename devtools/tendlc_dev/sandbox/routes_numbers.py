"""Infobip's number routes under `/infobip`: the (guide-only) number import and the published
Numbers API list of owned numbers.

The import's answer is undocumented (D1); the shape it takes, whether numbers become owned at once
or after a delay, and the word for a re-imported number follow the behaviour switches (D31). The
owned-numbers list is the documented read that shows what an import really did, whatever its
answer looked like: `GET /numbers/1/numbers` with `number`, `page`, `limit`, answering the
published `NumbersResponse` (D35). Authentication, rate limits and faults are the middleware's.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from tendlc_dev.sandbox.context import CONTEXT
from tendlc_dev.sandbox.model import IMPORT_FORBIDDEN_PREFIX
from tendlc_dev.sandbox.validation import BadJson, parse_json, validate_import
from tendlc_dev.sandbox.views import infobip_bad_request, infobip_error, json_response, owned_number_json

PREFIX = "/infobip"
OWNED_LIMIT_MAX = 1000
"""Sandbox choice: the published list documents no maximum for `limit` (D35)."""


def _malformed(error: BadJson) -> web.Response:
    return infobip_bad_request("Malformed JSON request body", {"body": [str(error)]})


def import_answer(shape: str, results: list[tuple[str, bool]], already: str) -> web.Response:
    """The import's answer in the shape the behaviour asks for (D1 default; D31 alternatives)."""
    if shape == "accepted":
        return web.Response(status=202)
    if shape == "accepted_request_id":
        return json_response({"requestId": str(uuid.uuid4())}, 202)
    if shape == "empty":
        return json_response({})
    if shape == "numbers":
        return json_response(
            {"numbers": [{"phoneNumber": n, "result": "SUCCESS" if new else already} for n, new in results]}
        )
    return json_response({"results": [{"number": n, "status": "IMPORTED" if new else already} for n, new in results]})


async def import_numbers(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        parsed = validate_import(parse_json(await request.read()))
    except BadJson as error:
        return _malformed(error)
    if isinstance(parsed, dict):
        return infobip_bad_request("Invalid number import request", parsed)
    if not ctx.state.import_enabled or any(n.startswith(IMPORT_FORBIDDEN_PREFIX) for n in parsed.numbers):
        return infobip_error(403, "FORBIDDEN", "Account is not enabled for self-service number import")
    behaviour = ctx.behaviour
    results = ctx.state.import_numbers(
        parsed.numbers,
        parsed.country,
        parsed.type,
        parsed.capabilities,
        parsed.skip_osr_update,
        delay=behaviour.import_delay_seconds,
    )
    if any(new for _, new in results):
        ctx.took_effect(request)
    return import_answer(behaviour.import_answer, results, behaviour.import_already_status)


def _int(request: web.Request, name: str, default: int, low: int, high: int, errors: dict[str, list[str]]) -> int:
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


async def list_owned_numbers(request: web.Request) -> web.Response:
    """`list-owned-numbers`: `number` is a search (substring of the number), `page` from 0."""
    ctx = request.app[CONTEXT]
    errors: dict[str, list[str]] = {}
    page = _int(request, "page", 0, 0, 2**31 - 1, errors)
    limit = _int(request, "limit", 50, 1, OWNED_LIMIT_MAX, errors)
    if errors:
        return infobip_bad_request("Bad request", errors)
    searched = request.query.get("number")
    found = [n for n in ctx.state.owned_numbers() if searched is None or searched in n.number]
    chunk = found[page * limit : (page + 1) * limit]
    body: dict[str, Any] = {"numbers": [owned_number_json(n) for n in chunk], "numberCount": len(found)}
    return json_response(body)


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{PREFIX}/numbers/2/numbers/import", import_numbers, name="infobip.import_numbers")
    app.router.add_get(
        f"{PREFIX}/numbers/1/numbers", list_owned_numbers, name="infobip.owned_numbers", allow_head=False
    )
