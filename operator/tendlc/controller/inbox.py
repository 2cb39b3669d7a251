"""The webhook inbox: from an Infobip event to the resource it concerns, recorded before 200 is answered.

The receiver calls `deliver(event)`; the inbox finds the resource by Infobip UUID in an in-memory
index, queues the event on it, wakes its loop and waits until that loop has folded and written it
(`take`), so Infobip hears 200 only for what is stored and 500 — a retry — otherwise. An event
whose UUID no resource holds is routed by its TCR ID only to the campaign's claimant
(`tendlc.workflow.claims`), and only while that resource has no UUID yet: a second
CampaignMigration naming someone else's campaign, in any namespace, never receives its events.
The index is fed by the watch (`index`) and by our own writes, so a lookup never lists the API and
sees a UUID before the watch does. Nothing here calls a partner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tendlc.api.status import MigrationStatus
from tendlc.controller.resource import Clock, Key, Resource
from tendlc.webhooks.payload import WebhookEvent
from tendlc.webhooks.receiver import DispatchResult
from tendlc.workflow.claims import CampaignClaims
from tendlc.workflow.webhooks import apply_webhook

Fold = Callable[[MigrationStatus], MigrationStatus]
Update = Callable[[Resource, Fold], Awaitable[None]]
"""Folds and writes a resource's status, again on top of a newer one if the write was fenced off."""


class WebhookInbox:
    """Routes events to resources and hands them to their loops (see the module docstring)."""

    def __init__(
        self, *, clock: Clock, logger: logging.Logger | None = None, claims: CampaignClaims | None = None
    ) -> None:
        self._clock = clock
        self._logger = logger or logging.getLogger("tendlc.controller")
        self._claims = claims
        self._by_infobip_id: dict[str, Resource] = {}
        self._by_campaign_id: dict[str, dict[Key, Resource]] = {}

    def index(self, resource: Resource) -> None:
        if resource.status.infobip_campaign_id:
            self._by_infobip_id[resource.status.infobip_campaign_id] = resource
        campaign_id = resource.campaign_id
        if campaign_id:
            self._by_campaign_id.setdefault(campaign_id, {})[resource.key] = resource

    def forget(self, resource: Resource) -> None:
        """Drops the resource from the index and answers its queued events (nothing left to update)."""
        uuid = resource.status.infobip_campaign_id
        if uuid and self._by_infobip_id.get(uuid) is resource:
            del self._by_infobip_id[uuid]
        holders = self._by_campaign_id.get(resource.campaign_id or "", {})
        if holders.get(resource.key) is resource:
            del holders[resource.key]
            if not holders:
                del self._by_campaign_id[resource.campaign_id or ""]
        for _, outcome in resource.inbox:
            if not outcome.done():
                outcome.set_result("unknown_campaign")
        resource.inbox.clear()

    async def deliver(self, event: WebhookEvent) -> DispatchResult:
        """The receiver's dispatch: hands the event to its resource's loop and waits until recorded.

        Raises when the status could not be written, so the receiver answers 500 and Infobip retries.
        """
        resource = self._by_infobip_id.get(event.infobip_campaign_id)
        if resource is None and event.tcr_id:
            resource = self._claimant_without_uuid(event.tcr_id)
        if resource is None or resource.stopping:
            self._logger.warning("webhook for unknown campaign %s (tcrId %s) ignored",
                                 event.infobip_campaign_id, event.tcr_id)
            return "unknown_campaign"
        outcome: asyncio.Future[DispatchResult] = asyncio.get_running_loop().create_future()
        resource.inbox.append((event, outcome))
        resource.wake.set()
        return await outcome

    def _claimant_without_uuid(self, campaign_id: str) -> Resource | None:
        """The resource a TCR ID alone may reach: the campaign's claimant, before it knows its UUID."""
        holders = self._by_campaign_id.get(campaign_id, {})
        if self._claims is not None:
            claimant = self._claims.claimant(campaign_id)
            resource = holders.get(claimant.key) if claimant is not None else None
        else:
            resource = next(iter(holders.values())) if len(holders) == 1 else None  # no claims: only if unique
        if resource is None or resource.status.infobip_campaign_id:
            return None  # a resource that knows its UUID is reached by that UUID only
        return resource

    async def take(self, resource: Resource, update: Update) -> None:
        """Folds the queued events into the resource's status, writes it, then answers each event."""
        if not resource.inbox:
            return
        taken, resource.inbox = resource.inbox, []
        results: list[DispatchResult] = []

        def fold(status: MigrationStatus) -> MigrationStatus:
            results.clear()  # folded again on a newer status after a lost write: answer from that one
            for event, _ in taken:
                status, applied = apply_webhook(status, event, self._clock())
                results.append(applied)
            return status

        try:
            await update(resource, fold)
        except BaseException as error:
            for _, outcome in taken:
                if not outcome.done():
                    outcome.set_exception(error if isinstance(error, Exception) else RuntimeError(str(error)))
            raise
        for (_, outcome), result in zip(taken, results, strict=True):
            if not outcome.done():
                outcome.set_result(result)
