"""The sandbox server: one aiohttp application on one port, and its lifecycle.

This room wires the parts together and owns what every partner request goes through, in order:
ledger entry (with the campaigns and numbers the request concerns) → authentication (401) → rate
limit (429) → injected fault → handler → post-effect fault (dropped or slow answer) → Infobip
error re-shaped if the behaviour asks for the other published shape → ledger outcome → settle the
schedule and queue webhooks. It also
runs the background tick that applies schedules as sandbox time passes, and reads/writes the
optional state file. Embed it with `SandboxServer(SandboxConfig(...)).start(port=0)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from tendlc_dev.sandbox import (
    routes_admin,
    routes_admin_seed,
    routes_infobip,
    routes_numbers,
    routes_subscriptions,
    routes_tcr,
)
from tendlc_dev.sandbox.auth import infobip_account, tcr_account
from tendlc_dev.sandbox.clock import SandboxClock
from tendlc_dev.sandbox.concerns import extract, owners_named
from tendlc_dev.sandbox.config import SandboxConfig
from tendlc_dev.sandbox.context import CONTEXT, COUNTED_KEY, ENDPOINTS, LEDGER_ENTRY, Endpoint, SandboxContext
from tendlc_dev.sandbox.faults import FaultInjector
from tendlc_dev.sandbox.ledger import Ledger, LedgerEntry
from tendlc_dev.sandbox.ratelimit import RateLimiter
from tendlc_dev.sandbox.state import SandboxState, temporary_problem
from tendlc_dev.sandbox.views import (
    INFOBIP_ERROR,
    api_error_body,
    infobip_error,
    json_response,
    not_routed,
    tcr_error,
    too_many,
    unauthorized,
)
from tendlc_dev.sandbox.webhooks import WebhookDispatcher

log = logging.getLogger("tendlc_dev.sandbox")

STATE_FILE_VERSION = 1
SAVE_INTERVAL_SECONDS = 0.5


def _partner_for_path(path: str) -> str | None:
    if path.startswith("/infobip/") or path == "/infobip":
        return "infobip"
    if path.startswith("/tcr/"):
        return "tcr"
    return None


def _counted_key(endpoint: Endpoint, request: web.Request, body: bytes, state: SandboxState) -> str | None:
    """Which campaign (or subscription) a non-idempotent POST is about, read leniently."""
    if endpoint.counted == "migrateCnp":
        return request.match_info.get("campaignId")
    if endpoint.counted == "addNumbers":
        found = state.campaigns.get(request.match_info.get("campaignId", ""))
        return found.tcr_id if found is not None else "<unknown>"
    if endpoint.counted in ("migrate", "subscriptionCreate"):
        field = "externalCampaignId" if endpoint.counted == "migrate" else "subscriptionId"
        try:
            value = json.loads(body).get(field)
        except (ValueError, UnicodeDecodeError, AttributeError):
            return "<unreadable>"
        return value if isinstance(value, str) else "<missing>"
    return None


def _as_api_error(response: web.StreamResponse) -> web.StreamResponse:
    """The same Infobip error in the numbers spec's `ApiError` shape (the error-shape alternative)."""
    parts = response.get(INFOBIP_ERROR) if isinstance(response, web.Response) else None
    if parts is None:
        return response
    reshaped = json_response(api_error_body(parts), parts.status)
    if "Retry-After" in response.headers:
        reshaped.headers["Retry-After"] = response.headers["Retry-After"]
    return reshaped


class SandboxServer:
    """The Infobip + TCR sandbox. `start()` returns the base URL; partners live under it at
    `/infobip`, `/tcr/v2` and `/_admin`."""

    def __init__(
        self, config: SandboxConfig | None = None, *, rate_limit_clock: Callable[[], float] = time.monotonic
    ) -> None:
        """`rate_limit_clock` replaces the monotonic clock of the rate limiter (tests freeze it)."""
        self.config = config if config is not None else SandboxConfig()
        clock = SandboxClock(self.config.time_scale)
        state = SandboxState(self.config, clock)
        faults = FaultInjector(self.config.faults)
        self.context = SandboxContext(
            config=self.config,
            clock=clock,
            state=state,
            ledger=Ledger(self.config.ledger_limit),
            rate_limiter=RateLimiter(self.config.rate_limits, monotonic=rate_limit_clock),
            faults=faults,
            webhooks=WebhookDispatcher(state, clock, self.config.webhooks, faults),
            save_state=self.save_state,
        )
        self.base_url: str | None = None
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._saved_revision: tuple[int, int] = (-1, -1)
        self._last_save = 0.0
        if self.config.state_file is not None and self.config.state_file.exists():
            self.load_state(self.config.state_file)

    # -- handy handles for tests and embedding -------------------------------------------------

    @property
    def state(self) -> SandboxState:
        return self.context.state

    @property
    def clock(self) -> SandboxClock:
        return self.context.clock

    @property
    def ledger(self) -> Ledger:
        return self.context.ledger

    @property
    def webhooks(self) -> WebhookDispatcher:
        return self.context.webhooks

    @property
    def infobip_url(self) -> str:
        return f"{self._require_url()}/infobip"

    @property
    def tcr_url(self) -> str:
        return f"{self._require_url()}/tcr/v2"

    def _require_url(self) -> str:
        if self.base_url is None:
            raise RuntimeError("sandbox not started")
        return self.base_url

    def advance(self, seconds: float) -> float:
        """Move sandbox time forward and apply everything that fell due; returns the new time."""
        now = self.context.clock.advance(seconds)
        self.context.settle()
        return now

    async def wait_for_webhooks(self, within: float = 5.0) -> bool:
        """Wait (bounded) until no webhook is queued, held back or waiting for a retry."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            self.context.settle()
            if self.context.webhooks.idle():
                return True
            await asyncio.sleep(0.01)
        return False

    # -- lifecycle ---------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1024 * 1024)
        app[CONTEXT] = self.context
        routes_numbers.add_routes(app)
        routes_infobip.add_routes(app)
        routes_subscriptions.add_routes(app)
        routes_tcr.add_routes(app)
        routes_admin.add_routes(app)
        routes_admin_seed.add_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        app = self.build_app()
        await self.context.webhooks.start()
        # A short shutdown: a request held back by a "slow" fault must not hold up stop().
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        addresses = self._runner.addresses
        bound_port = int(addresses[0][1]) if addresses else port
        self.base_url = f"http://{host}:{bound_port}"
        self.context.started_at = time.monotonic()
        self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())
        log.info("sandbox listening on %s (infobip %s/infobip, tcr %s/tcr/v2)", *(self.base_url,) * 3)
        return self.base_url

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.context.webhooks.stop()
        if self.config.state_file is not None:
            self.save_state()
        self.base_url = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_seconds)
            try:
                self.context.settle()
                self._maybe_save()
            except Exception:  # the tick must survive anything a single step does
                log.exception("sandbox tick failed")

    # -- persistence -------------------------------------------------------------------------

    def _revision(self) -> tuple[int, int]:
        return (self.context.state.revision, self.context.ledger.revision)

    def _maybe_save(self) -> None:
        if self.config.state_file is None or self._revision() == self._saved_revision:
            return
        if time.monotonic() - self._last_save < SAVE_INTERVAL_SECONDS:
            return
        self.save_state()

    def save_state(self) -> Path | None:
        """Write the state file atomically (temp file + rename); None when none is configured."""
        path = self.config.state_file
        if path is None:
            return None
        data: dict[str, Any] = {
            "version": STATE_FILE_VERSION,
            "state": self.context.state.to_json(),
            "ledger": self.context.ledger.to_json(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(json.dumps(data, separators=(",", ":")))
        os.replace(temporary, path)
        self._saved_revision = self._revision()
        self._last_save = time.monotonic()
        return path

    def load_state(self, path: Path) -> None:
        data = json.loads(path.read_text())
        if data.get("version") != STATE_FILE_VERSION:
            raise ValueError(f"{path}: unsupported state file version {data.get('version')!r}")
        self.context.state.load_json(data["state"])
        self.context.ledger.load_json(data["ledger"])
        self._saved_revision = self._revision()
        log.info("sandbox state loaded from %s (%d campaigns)", path, len(self.context.state.campaigns))

    # -- the request pipeline ----------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route_name = request.match_info.route.name or ""
        endpoint = ENDPOINTS.get(route_name)
        partner = endpoint.partner if endpoint is not None else _partner_for_path(request.path)
        started = time.perf_counter()
        if partner is None:  # admin API and anything outside the partners' prefixes
            response = await handler(request)
            self._log(request, response.status, started, None)
            return response
        ctx = self.context
        body = await request.read()
        endpoint_name = route_name or "unrouted"
        concern = extract(endpoint_name, request.path, request.query, body)
        ctx.ledger.own(owners_named(endpoint_name, concern, ctx.state))
        entry = ctx.ledger.open(
            now=ctx.clock.now(),
            wall=time.time(),
            partner=partner,
            endpoint=endpoint_name,
            method=request.method,
            path=request.path,
            query=request.query_string,
            body=body,
            concern=concern,
        )
        request[LEDGER_ENTRY] = entry
        counted = endpoint.counted if endpoint is not None else None
        key = _counted_key(endpoint, request, body, ctx.state) if endpoint is not None else None
        if counted is not None and key is not None:
            request[COUNTED_KEY] = key
            ctx.ledger.attempt(counted, key)
        status: int | None = None
        try:
            response = await self._admit_and_handle(request, handler, endpoint, partner, entry)
            if partner == "infobip" and ctx.behaviour.error_shape == "api_error":
                response = _as_api_error(response)
            status = response.status
            return response
        finally:
            entry.status = status
            entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            if counted is not None and key is not None:
                ctx.ledger.outcome(counted, key, status)
            ctx.settle()
            self._log(request, status, started, entry.fault)

    async def _admit_and_handle(
        self, request: web.Request, handler: Handler, endpoint: Endpoint | None, partner: str, entry: LedgerEntry
    ) -> web.StreamResponse:
        ctx = self.context
        if endpoint is None:
            try:
                return await handler(request)
            except web.HTTPException as error:
                return not_routed(partner, error.status)
        header = request.headers.get("Authorization")
        account = infobip_account(header, ctx.config) if partner == "infobip" else tcr_account(header, ctx.config)
        if account is None:
            return unauthorized(partner)
        wait = ctx.rate_limiter.check(account, endpoint.rate_class)
        if wait > 0:
            entry.fault = "rate_limited"
            retry_after = ctx.behaviour.send_retry_after or ctx.rate_limiter.config.send_retry_after
            return too_many(partner, wait, retry_after)
        decision = ctx.faults.decide(partner, request.path)
        entry.fault = decision.kind
        if decision.kind == "error":
            status = decision.status or 500
            text = "Something went wrong. Please contact support." if status == 500 else "Service unavailable"
            return infobip_error(status, "GENERAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE", text)
        if decision.kind == "tcr_temporary":
            return tcr_error(400, [temporary_problem(decision.code or 591)])
        if decision.kind == "drop_before":
            self._drop(request)
        response = await handler(request)
        if decision.kind == "drop_after":
            ctx.settle()
            self._drop(request)
        if decision.kind == "slow":
            await asyncio.sleep(ctx.faults.config.slow_seconds)
        return response

    def _drop(self, request: web.Request) -> None:
        """Abort the connection: the client sees a reset, never an answer. The HTTPException only
        unwinds the handler quietly; nothing can be written to an aborted transport."""
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise web.HTTPServiceUnavailable()

    def _log(self, request: web.Request, status: int | None, started: float, fault: str | None) -> None:
        if not self.config.log_requests:
            return
        log.info(
            "%s %s %s %.1fms%s",
            request.method,
            request.path_qs,
            status if status is not None else "dropped",
            (time.perf_counter() - started) * 1000,
            f" fault={fault}" if fault else "",
        )
