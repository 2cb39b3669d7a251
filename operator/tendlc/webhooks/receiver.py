"""The HTTP endpoint Infobip POSTs campaign events to, served by aiohttp on its own port.

`POST /webhooks/infobip` bounds the body (`max_body_bytes`, 1 MiB by default — a delivery of a
hundred heavily rejected campaign events is about 300 KB — by `Content-Length` and while streaming:
413 without reading further), bounds the time to read it (408), and admits at most
`max_concurrent_requests` requests holding at most `max_bytes_in_flight` body bytes at once (the
declared length is reserved before a byte is read; a body without one reserves the whole limit):
above either cap the answer is 503 with `Retry-After`, without reading the body, so a flood of
unauthenticated uploads costs bounded memory. Large requests (declared over `small_body_bytes`, or
undeclared) may take only half of each budget: Infobip sends one small event per POST (D13), so a
flood of big uploads can never crowd out a real delivery. It authenticates (`WebhookAuth`: 401 with a generic
body — the reason goes to the log only — and `WWW-Authenticate` for BASIC; BASIC is checked, and an
HMAC signature header must at least be present and well-formed, before the body is read), parses it
(400 with the reason; more than `max_events_per_delivery` campaign events is 400 too), then hands
each event, in order, to the injected `dispatch(event)` coroutine. Every `DispatchResult`
("applied", "duplicate", "stale", "unknown_campaign") answers 200 — an unknown campaign too, with
a log line, so Infobip does not retry forever; an exception or a timeout in `dispatch` answers 500
so that Infobip retries (events already dispatched come back as duplicates). `GET /healthz`
answers 200. Slow clients are cut off: the header phase is bounded by the server's keep-alive
timeout (aiohttp starts it when the connection opens), the body by a read deadline, `dispatch` by
its own; a refused body is never drained (the connection is closed after the answer).

This room knows nothing of Kubernetes: mapping a campaign to a resource, deduplication and
ordering belong to `dispatch`. It never logs a body or a header value, and answers never echo
them. Metrics are reported through an optional `WebhookObserver` (`tendlc.metrics.Metrics` is one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from aiohttp import web

from tendlc.serving import AppServer
from tendlc.webhooks.auth import WebhookAuth, WebhookAuthError
from tendlc.webhooks.payload import MAX_EVENTS_PER_DELIVERY, WebhookEvent, WebhookPayloadError, parse_delivery

logger = logging.getLogger("tendlc.webhooks")

WEBHOOK_PATH: Final = "/webhooks/infobip"
HEALTH_PATH: Final = "/healthz"
MAX_BODY_BYTES: Final = 1024 * 1024

DispatchResult = Literal["applied", "duplicate", "stale", "unknown_campaign"]
DISPATCH_RESULTS: Final = frozenset({"applied", "duplicate", "stale", "unknown_campaign"})
Dispatch = Callable[[WebhookEvent], Awaitable[DispatchResult]]
"""Records one event on its resource and says what happened; raises if it could not (→ 500)."""

DeliveryOutcome = Literal[
    "accepted", "unauthorized", "malformed", "too_large", "timeout", "dispatch_failed", "not_leader", "busy"
]
DELIVERY_OUTCOMES: Final = (
    "accepted", "unauthorized", "malformed", "too_large", "timeout", "dispatch_failed", "not_leader", "busy",
)
Accepting = Callable[[], bool]
"""Whether this process may act on deliveries now (False on a replica that does not lead: 503)."""
NOT_LEADER_RETRY_AFTER: Final = 5


class WebhookObserver(Protocol):
    """Told about every delivery (one HTTP request) and every event in an accepted delivery."""

    def webhook_delivery(self, outcome: str, seconds: float) -> None: ...

    def webhook_event(self, kind: str, result: str) -> None: ...


@dataclass(frozen=True)
class ReceiverLimits:
    """Bounds against big, slow, stuck or too many deliveries (seconds, bytes, counts)."""

    max_body_bytes: int = MAX_BODY_BYTES
    body_read_timeout: float = 10.0
    dispatch_timeout: float = 10.0
    header_timeout: float = 10.0
    """Time a connection may stay open without a complete request head (aiohttp keep-alive)."""
    max_concurrent_requests: int = 64
    """Requests admitted at once (reading, authenticating or dispatching); more: 503."""
    max_bytes_in_flight: int = 16 * MAX_BODY_BYTES
    """Body bytes reserved by admitted requests together; more: 503."""
    small_body_bytes: int = 64 * 1024
    """Requests declaring at most this are small; the others may use only half of each budget."""
    max_events_per_delivery: int = 100
    """Campaign events in one delivery (Infobip sends one per POST, D13); more: 400."""
    busy_retry_after: int = 5
    """`Retry-After` seconds of a 503 answer."""
    max_connections: int = 1024
    """Open connections at once (idle ones included); one more is closed as it is accepted."""

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_concurrent_requests", "max_events_per_delivery", "busy_retry_after",
                     "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if self.max_events_per_delivery > MAX_EVENTS_PER_DELIVERY:
            raise ValueError(f"max_events_per_delivery must be at most {MAX_EVENTS_PER_DELIVERY}")
        if self.max_bytes_in_flight < 2 * self.max_body_bytes:
            raise ValueError("max_bytes_in_flight must be at least twice max_body_bytes (large requests get half)")
        if self.max_concurrent_requests < 2:
            raise ValueError("max_concurrent_requests must be at least 2 (large requests get half)")
        for name in ("body_read_timeout", "dispatch_timeout", "header_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")


class _Refused(Exception):
    def __init__(self, outcome: DeliveryOutcome, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.status = status
        self.error = error
        self.message = message


def _dispatch_failed() -> _Refused:
    return _Refused("dispatch_failed", 500, "dispatch_failed", "the event could not be recorded; retry")


def create_webhook_app(
    auth: WebhookAuth,
    dispatch: Dispatch,
    *,
    observer: WebhookObserver | None = None,
    limits: ReceiverLimits | None = None,
    path: str = WEBHOOK_PATH,
    accepting: Accepting | None = None,
) -> web.Application:
    """An aiohttp application serving `POST {path}` and `GET /healthz` (add more routes before starting)."""
    receiver = _Receiver(auth, dispatch, observer, limits or ReceiverLimits(), accepting)
    app = web.Application(client_max_size=receiver.limits.max_body_bytes)
    app.router.add_post(path, receiver.handle)
    app.router.add_get(HEALTH_PATH, _healthz)
    return app


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


class _Receiver:
    def __init__(
        self, auth: WebhookAuth, dispatch: Dispatch, observer: WebhookObserver | None, limits: ReceiverLimits,
        accepting: Accepting | None = None,
    ) -> None:
        self.auth = auth
        self.dispatch = dispatch
        self.observer = observer
        self.limits = limits
        self.accepting = accepting
        self.active = 0
        self.bytes_in_flight = 0
        self.large_active = 0
        self.large_bytes = 0

    def _observe_delivery(self, outcome: DeliveryOutcome, started: float) -> None:
        if self.observer is None:
            return
        try:
            self.observer.webhook_delivery(outcome, time.perf_counter() - started)
        except Exception:
            logger.warning("webhook observer failed", exc_info=True)

    def _observe_event(self, event: WebhookEvent, result: str) -> None:
        if self.observer is None:
            return
        try:
            self.observer.webhook_event(event.kind, result)
        except Exception:
            logger.warning("webhook observer failed", exc_info=True)

    async def handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            response = await self._handle(request)
        except _Refused as refused:
            self._observe_delivery(refused.outcome, started)
            logger.warning(
                "webhook delivery refused (HTTP %d, %s): %s",
                refused.status,
                refused.error,
                refused.message,
                extra={"remote": request.remote, "outcome": refused.outcome},
            )
            # The caller learns that authentication failed, never why (the reason is in the log line above).
            shown = "authentication failed" if refused.outcome == "unauthorized" else refused.message
            response = web.json_response({"error": refused.error, "message": shown}, status=refused.status)
            if refused.outcome == "unauthorized" and self.auth.challenge:
                response.headers["WWW-Authenticate"] = self.auth.challenge
            if refused.outcome == "not_leader":
                response.headers["Retry-After"] = str(NOT_LEADER_RETRY_AFTER)
            if refused.outcome == "busy":
                response.headers["Retry-After"] = str(self.limits.busy_retry_after)
            if refused.outcome in {"too_large", "timeout", "not_leader", "busy", "unauthorized"}:
                response.force_close()  # the rest of the body is not read; do not reuse the connection
            return response
        self._observe_delivery("accepted", started)
        return response

    async def _handle(self, request: web.Request) -> web.Response:
        if self.accepting is not None and not self.accepting():
            # Another replica leads and acts on the campaigns: Infobip's retry reaches it. Not a 200
            # for an event nobody recorded, and nothing of the request is read.
            raise _Refused("not_leader", 503, "not_leader", "this replica does not lead; retry")
        self._check_declared_length(request)
        if not self.auth.needs_body:
            self._authenticate(request, b"")  # BASIC: refuse before reading a byte of the body
        else:
            self._precheck(request)  # HMAC: no signature header at all is refused before the body too
        reserved, large = self._admit(request)
        try:
            return await self._admitted(request)
        finally:
            self.active -= 1
            self.bytes_in_flight -= reserved
            if large:
                self.large_active -= 1
                self.large_bytes -= reserved

    def _admit(self, request: web.Request) -> tuple[int, bool]:
        """Reserve a slot and the body's bytes, or refuse with 503 (nothing read, nothing reserved).

        Returns the bytes reserved and whether the request counts as large.
        """
        limits = self.limits
        declared = request.content_length
        reserve = declared if declared is not None else limits.max_body_bytes
        large = declared is None or declared > limits.small_body_bytes
        slots, budget = limits.max_concurrent_requests, limits.max_bytes_in_flight
        active, in_flight = self.active, self.bytes_in_flight
        if large:  # half of each budget: big uploads alone can never crowd out small deliveries
            slots, budget = slots // 2, budget // 2
            active, in_flight = self.large_active, self.large_bytes
        if active >= slots or self.active >= limits.max_concurrent_requests:
            raise _Refused("busy", 503, "busy", f"more than {slots} {'large ' if large else ''}requests at once")
        if in_flight + reserve > budget or self.bytes_in_flight + reserve > limits.max_bytes_in_flight:
            raise _Refused("busy", 503, "busy", f"more than {budget} body bytes at once")
        self.active += 1
        self.bytes_in_flight += reserve
        if large:
            self.large_active += 1
            self.large_bytes += reserve
        return reserve, large

    async def _admitted(self, request: web.Request) -> web.Response:
        body = await self._read_body(request)
        if self.auth.needs_body:
            self._authenticate(request, body)
        try:
            delivery = parse_delivery(body)
        except WebhookPayloadError as error:
            raise _Refused("malformed", 400, "malformed", str(error)) from None
        if len(delivery.events) > self.limits.max_events_per_delivery:
            raise _Refused("malformed", 400, "malformed",
                           f"more than {self.limits.max_events_per_delivery} campaign events in one delivery")
        if delivery.skipped_kinds:
            logger.info("webhook delivery carried %d message(s) of other event kinds: %s; ignored",
                        len(delivery.skipped_kinds), ", ".join(sorted(set(delivery.skipped_kinds))))
        results = []
        for event in delivery.events:
            result = await self._dispatch(event)
            results.append({"eventId": event.event_id, "result": result})
        return web.json_response({"results": results, "skipped": len(delivery.skipped_kinds)})

    def _authenticate(self, request: web.Request, body: bytes) -> None:
        try:
            self.auth.verify(request.headers, body)
        except WebhookAuthError as error:
            # The reason (e.g. bad_signature) is logged; the caller only learns it was refused.
            raise _Refused("unauthorized", 401, "unauthorized", f"authentication failed ({error.reason})") from None

    def _precheck(self, request: web.Request) -> None:
        try:
            self.auth.precheck(request.headers)
        except WebhookAuthError as error:
            raise _Refused("unauthorized", 401, "unauthorized", f"authentication failed ({error.reason})") from None

    def _too_large(self) -> _Refused:
        return _Refused("too_large", 413, "too_large", f"body exceeds {self.limits.max_body_bytes} bytes")

    def _check_declared_length(self, request: web.Request) -> None:
        if request.content_length is not None and request.content_length > self.limits.max_body_bytes:
            raise self._too_large()

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.limits.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_read_timeout):
                while True:
                    chunk = await request.content.readany()
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise self._too_large()
                    chunks.append(chunk)
        except TimeoutError:
            raise _Refused(
                "timeout", 408, "timeout", f"body not received within {self.limits.body_read_timeout:g} s"
            ) from None
        return b"".join(chunks)

    async def _dispatch(self, event: WebhookEvent) -> str:
        context = {
            "campaign_id": event.tcr_id,
            "infobip_campaign_id": event.infobip_campaign_id,
            "event_id": event.event_id,
        }
        try:
            async with asyncio.timeout(self.limits.dispatch_timeout):
                result: str = await self.dispatch(event)
        except TimeoutError:
            self._observe_event(event, "error")
            logger.error("webhook event %s for campaign %s not recorded within %g s; answering 500 so Infobip retries",
                         event.kind, event.infobip_campaign_id, self.limits.dispatch_timeout, extra=context)
            raise _dispatch_failed() from None
        except Exception:
            self._observe_event(event, "error")
            logger.exception("webhook event %s for campaign %s could not be recorded; answering 500 so Infobip retries",
                             event.kind, event.infobip_campaign_id, extra=context)
            raise _dispatch_failed() from None
        if result not in DISPATCH_RESULTS:
            self._observe_event(event, "error")
            logger.error("webhook dispatch returned %r, not a DispatchResult", result, extra=context)
            raise _dispatch_failed()
        self._observe_event(event, result)
        network = f" on {event.network}" if event.network else ""
        if result == "unknown_campaign":
            logger.warning(
                "webhook %s for unknown Infobip campaign %s (TCR %s): %s%s; no CampaignMigration matches, "
                "answered 200 so Infobip stops retrying",
                event.kind, event.infobip_campaign_id, event.tcr_id or "?", event.status, network, extra=context,
            )
        else:
            logger.info(
                "webhook %s for Infobip campaign %s: %s%s (received %s) → %s",
                event.kind, event.infobip_campaign_id, event.status, network,
                event.received_at.isoformat(), result, extra=context,
            )
        return result


class WebhookServer(AppServer):
    """Runs the receiver's aiohttp application on a TCP port; `start` returns the base URL, `stop` ends it.

    Construct from an app (`create_webhook_app(...)`, perhaps with more routes such as
    `/metrics`), or use `WebhookServer.for_receiver(auth, dispatch, ...)`. The header phase is
    bounded by the keep-alive timeout, and a refused body is not drained (lingering time 0): the
    connection is closed after the answer.
    """

    def __init__(self, app: web.Application, *, limits: ReceiverLimits | None = None, shutdown_timeout: float = 5.0):
        limits = limits or ReceiverLimits()
        super().__init__(app, keepalive_timeout=limits.header_timeout, shutdown_timeout=shutdown_timeout,
                         lingering_time=0, max_connections=limits.max_connections, name="webhook server")

    @classmethod
    def for_receiver(
        cls,
        auth: WebhookAuth,
        dispatch: Dispatch,
        *,
        observer: WebhookObserver | None = None,
        limits: ReceiverLimits | None = None,
        accepting: Accepting | None = None,
    ) -> WebhookServer:
        limits = limits or ReceiverLimits()
        app = create_webhook_app(auth, dispatch, observer=observer, limits=limits, accepting=accepting)
        return cls(app, limits=limits)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        url = await super().start(host, port)
        logger.info("webhook receiver listening on %s%s", url, WEBHOOK_PATH)
        return url
