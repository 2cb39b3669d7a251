"""The operator's HTTP side: /metrics, the Infobip webhook receiver, and the webhook subscription.

Started once at operator start-up and stopped at shutdown. The receiver only runs with an
authentication Secret configured: tendlc never accepts unauthenticated webhooks. When a public URL
is configured too, the operator makes sure exactly one Infobip subscription of its own points
there (created once, kept across restarts, replaced when the URL or credentials change). Failing
to reach Infobip for that is retried in the background with backoff; polling keeps working
meanwhile. No Kopf here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from tendlc.config import Settings
from tendlc.controller.leadership import Gate
from tendlc.kube import KubeApi
from tendlc.logs import register_secret
from tendlc.metrics import Metrics, MetricsServer
from tendlc.partner_errors import PartnerError, PartnerNotFound
from tendlc.partners import CredentialsProblem, Partners
from tendlc.webhooks import (
    Create,
    Dispatch,
    Keep,
    ReceiverLimits,
    Replace,
    WebhookAuth,
    WebhookServer,
    desired_subscription,
    plan_subscription,
)

logger = logging.getLogger("tendlc.services")


class WebhookAuthMissing(Exception):
    """The webhook auth Secret is missing or unusable; the message says what to fix."""


async def read_webhook_auth(settings: Settings, kube: KubeApi) -> WebhookAuth | None:
    ref = settings.webhook_auth_secret
    if ref is None:
        return None
    secret = await kube.read_secret(settings.operator_namespace, ref.name)
    if secret is None:
        raise WebhookAuthMissing(f"webhook auth Secret {settings.operator_namespace}/{ref.name} does not exist")
    try:
        auth = WebhookAuth.from_secret_values(secret.values)
    except ValueError as error:
        raise WebhookAuthMissing(f"webhook auth Secret {settings.operator_namespace}/{ref.name}: {error}") from None
    register_secret(*auth.secret_values())
    return auth


async def ensure_subscription(settings: Settings, partners: Partners, auth: WebhookAuth) -> str:
    """Makes exactly one subscription of ours point at the public URL; returns what was done."""
    assert settings.webhook_public_url is not None
    desired = desired_subscription(settings.webhook_public_url, auth, owner=settings.webhook_owner)
    infobip = await partners.default_infobip()
    plan = plan_subscription(await infobip.list_subscriptions(), desired)
    deleted = plan.delete if isinstance(plan, Keep | Replace) else ()
    for subscription_id in deleted:
        with contextlib.suppress(PartnerNotFound):
            await infobip.delete_subscription(subscription_id)
    if isinstance(plan, Create | Replace):
        await infobip.create_subscription(plan.request)
        return f"{type(plan).__name__.lower()}d subscription {plan.request.subscription_id}"
    return f"kept subscription {plan.subscription_id}" + (f", deleted stale {list(deleted)}" if deleted else "")


def receiver_limits(settings: Settings) -> ReceiverLimits:
    """The receiver's caps from the operator's settings (the timeouts keep the receiver's defaults)."""
    return ReceiverLimits(
        max_body_bytes=settings.webhook_max_body_bytes,
        max_concurrent_requests=settings.webhook_max_concurrent_requests,
        max_bytes_in_flight=settings.webhook_max_bytes_in_flight,
        max_events_per_delivery=settings.webhook_max_events_per_delivery,
        max_connections=settings.webhook_max_connections,
    )


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    metrics_server: MetricsServer | None = None
    webhook_server: WebhookServer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    metrics_url: str | None = None
    webhook_url: str | None = None

    async def start(self, kube: KubeApi, partners: Partners, dispatch: Dispatch, gate: Gate | None = None) -> None:
        """Metrics, the webhook receiver (503 while another replica leads) and the subscription (kept
        by the leader only: creating it is a POST that must not happen once per replica)."""
        gate = gate or Gate()
        settings = self.settings
        if settings.metrics_port:
            self.metrics_server = MetricsServer(self.metrics)
            self.metrics_url = await self.metrics_server.start(settings.metrics_bind, settings.metrics_port)
        try:
            auth = await read_webhook_auth(settings, kube)
        except WebhookAuthMissing as problem:
            logger.error("webhook receiver disabled: %s", problem)
            auth = None
        if auth is None:
            logger.warning("webhook receiver off: set TENDLC_WEBHOOK_AUTH_SECRET__NAME to receive Infobip webhooks")
            return
        if settings.webhook_port:
            self.webhook_server = WebhookServer.for_receiver(auth, dispatch, observer=self.metrics,
                                                             accepting=gate.is_open,
                                                             limits=receiver_limits(settings))
            self.webhook_url = await self.webhook_server.start(settings.webhook_bind, settings.webhook_port)
            logger.info("webhook receiver listening on port %d", settings.webhook_port)
        if settings.webhook_public_url:
            task = asyncio.create_task(self._keep_subscription(partners, auth, gate), name="subscription")
            self.tasks.append(task)

    async def _keep_subscription(self, partners: Partners, auth: WebhookAuth, gate: Gate) -> None:
        await gate.wait_open()
        delay = self.settings.backoff_initial_seconds
        while True:
            try:
                done = await ensure_subscription(self.settings, partners, auth)
                logger.info("Infobip webhook subscription: %s", done)
                return
            except (PartnerError, CredentialsProblem) as error:
                logger.warning("Infobip webhook subscription not ensured (%s); retrying in %.0f s", error, delay)
            await asyncio.sleep(delay)  # a background task of its own, not a handler
            delay = min(delay * 2, self.settings.backoff_max_seconds)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.webhook_server is not None:
            await self.webhook_server.stop()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
