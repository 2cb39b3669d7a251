"""Webhook delivery: Infobip POSTing CAMPAIGN_STATUS_UPDATE (and network updates) to subscribers.

Each change queued by `state.py` becomes one POST per matching REGISTRATION subscription, body
`{"results": [message]}` as in the numbers OpenAPI `webhooks` section, authenticated as the
subscription's security says: BASIC (`Authorization: Basic …`) or HMAC (D5:
`X-Infobip-Signature: sha256=<hex>` over the raw body). Deliveries to one subscription leave in
order, one at a time; anything but HTTP 200 is retried a bounded number of times with backoff on
the sandbox clock (Infobip's own policy is unknown). Loss, duplicates and reordering are injected
here from `faults.py`; the webhook-duplicates behaviour alternative sends every delivery twice
(reversed order is arranged before delivery, in `context.py`). Every attempt is recorded for the
admin API.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from tendlc_dev.sandbox.clock import SandboxClock, isoformat
from tendlc_dev.sandbox.config import WebhookConfig
from tendlc_dev.sandbox.faults import FaultInjector
from tendlc_dev.sandbox.model import Profile, Security, Subscription
from tendlc_dev.sandbox.state import Notification, SandboxState, subscription_key

log = logging.getLogger("tendlc_dev.sandbox.webhooks")

SIGNATURE_HEADER = "X-Infobip-Signature"
HMAC_DIGESTS = {
    "HMAC_MD5": "md5",
    "HMAC_SHA_1": "sha1",
    "HMAC_SHA_224": "sha224",
    "HMAC_SHA_256": "sha256",
    "HMAC_SHA_384": "sha384",
    "HMAC_SHA_512": "sha512",
}


def sign(body: bytes, secret: str, algorithm: str = "HMAC_SHA_256") -> str:
    """The D5 signature header value, e.g. `sha256=<hex>`; receivers recompute and compare it."""
    digest = HMAC_DIGESTS[algorithm]
    return f"{digest}={hmac.new(secret.encode(), body, digest).hexdigest()}"


def auth_headers(body: bytes, security: Security | None) -> dict[str, str]:
    if security is None or security.type is None:
        return {}
    if security.type == "BASIC":
        pair = f"{security.credentials.get('username', '')}:{security.credentials.get('password', '')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    if security.type == "HMAC":
        secret = str(security.credentials.get("secretKey", ""))
        algorithm = str(security.credentials.get("algorithm", "HMAC_SHA_256"))
        return {SIGNATURE_HEADER: sign(body, secret, algorithm)}
    return {}  # OAUTH and CUSTOM are accepted but not simulated: deliveries carry no credentials.


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_key: str
    subscription_id: str
    notify_url: str
    event: str
    campaign_id: str
    campaign_status: str | None
    body: bytes
    headers: dict[str, str]
    attempt: int = 1
    duplicate: bool = False
    reordered: bool = False


class WebhookDispatcher:
    def __init__(self, state: SandboxState, clock: SandboxClock, config: WebhookConfig, faults: FaultInjector) -> None:
        self.state = state
        self.clock = clock
        self.config = config
        self.faults = faults
        self.records: deque[dict[str, Any]] = deque(maxlen=50_000)
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._queues: dict[str, asyncio.Queue[Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, list[tuple[float, Delivery]]] = {}
        self._retries: list[tuple[float, int, Delivery]] = []
        self._pending = 0
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds))

    async def stop(self) -> None:
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        self._queues.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def reset(self) -> None:
        self.records.clear()
        self._held.clear()
        self._retries.clear()

    # -- intake -----------------------------------------------------------------------------

    def enqueue(self, note: Notification) -> None:
        body_text = json.dumps({"results": [note.message]}, separators=(",", ":"))
        body = body_text.encode()
        status = note.message.get("content", {}).get("campaignStatus")
        for subscription, profile, security in self.state.matching_subscriptions(note):
            delivery = self._delivery(note, subscription, profile, security, body, status)
            if self.faults.lose_webhook():
                self._record(delivery, None, "lost")
                continue
            duplicate = self.faults.duplicate_webhook() or self.state.behaviour.webhook_duplicates
            if self.faults.reorder_webhook():
                hold_until = time.monotonic() + self.faults.config.webhook_reorder_max_hold_seconds
                self._held.setdefault(delivery.subscription_key, []).append(
                    (hold_until, replace(delivery, reordered=True))
                )
                self._record(delivery, None, "held")
            else:
                self._put(delivery)
            if duplicate:
                self._put(replace(delivery, id=next(self._ids), duplicate=True))

    def _delivery(
        self,
        note: Notification,
        subscription: Subscription,
        profile: Profile,
        security: Security | None,
        body: bytes,
        status: str | None,
    ) -> Delivery:
        headers = dict(profile.headers)
        headers["Content-Type"] = profile.content_type or "application/json"
        headers.update(auth_headers(body, security))
        return Delivery(
            id=next(self._ids),
            subscription_key=subscription_key(subscription.channel, subscription.subscription_id),
            subscription_id=subscription.subscription_id,
            notify_url=profile.notify_url,
            event=note.event,
            campaign_id=note.campaign_id,
            campaign_status=status,
            body=body,
            headers=headers,
        )

    def _put(self, delivery: Delivery) -> None:
        key = delivery.subscription_key
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            self._workers[key] = asyncio.get_running_loop().create_task(self._worker(queue))
        self._pending += 1
        queue.put_nowait(delivery)

    # -- time -------------------------------------------------------------------------------

    def tick(self) -> None:
        """Release retries that fell due on the sandbox clock and held-back (reordered) deliveries."""
        now = self.clock.now()
        while self._retries and self._retries[0][0] <= now:
            _, _, delivery = heapq.heappop(self._retries)
            self._put(delivery)
        real_now = time.monotonic()
        for key in list(self._held):
            due = [d for until, d in self._held[key] if until <= real_now]
            if due:
                self._held[key] = [(u, d) for u, d in self._held[key] if u > real_now]
                for delivery in due:
                    self._put(delivery)
            if not self._held[key]:
                del self._held[key]

    def idle(self) -> bool:
        return self._pending == 0 and not self._held and not self._retries

    def retries_pending(self) -> int:
        return len(self._retries)

    # -- sending ----------------------------------------------------------------------------

    async def _worker(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._send(delivery)
            except Exception:  # a broken receiver must never stop the worker
                log.exception("webhook delivery %s failed unexpectedly", delivery.id)
            finally:
                self._pending -= 1
                held = self._held.pop(delivery.subscription_key, [])
                for _, later in held:
                    self._put(later)

    async def _send(self, delivery: Delivery) -> None:
        status: int | None = None
        error: str | None = None
        assert self._session is not None, "dispatcher not started"
        try:
            async with self._session.post(delivery.notify_url, data=delivery.body, headers=delivery.headers) as answer:
                status = answer.status
                await answer.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as failure:
            error = type(failure).__name__
        if status == 200:
            self._record(delivery, status, "delivered")
            return
        if delivery.attempt < self.config.max_attempts:
            delay = self.config.retry_backoff_seconds * (2 ** (delivery.attempt - 1))
            retry = replace(delivery, attempt=delivery.attempt + 1)
            heapq.heappush(self._retries, (self.clock.now() + delay, next(self._seq), retry))
            self._record(delivery, status, "retry_scheduled", error)
        else:
            self._record(delivery, status, "gave_up", error)

    def _record(self, delivery: Delivery, status: int | None, outcome: str, error: str | None = None) -> None:
        self.records.append(
            {
                "deliveryId": delivery.id,
                "subscriptionId": delivery.subscription_id,
                "notifyUrl": delivery.notify_url,
                "event": delivery.event,
                "campaignId": delivery.campaign_id,
                "campaignStatus": delivery.campaign_status,
                "attempt": delivery.attempt,
                "duplicate": delivery.duplicate,
                "reordered": delivery.reordered,
                "httpStatus": status,
                "error": error,
                "outcome": outcome,
                "time": isoformat(self.clock.now()),
                "bodySha256": hashlib.sha256(delivery.body).hexdigest(),
            }
        )
