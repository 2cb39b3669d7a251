"""The webhook inbox: from an Infobip event to the resource it concerns, recorded before 200 is answered.

The receiver calls `deliver(event)`; the inbox finds the resource by Infobip UUID (or, before a
UUID is known, by TCR ID) in an in-memory index, queues the event on it, wakes its loop and waits
until that loop has folded and written it (`take`), so Infobip hears 200 only for what is stored
and 500 — a retry — otherwise. The index is fed by the watch (`index`) and by our own writes, so a
lookup never lists the API and sees a UUID before the watch does. Nothing here calls a partner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tendlc.api.status import MigrationStatus
from tendlc.controller.resource import Clock, Resource
from tendlc.webhooks.payload import WebhookEvent
from tendlc.webhooks.receiver import DispatchResult
from tendlc.workflow.webhooks import apply_webhook

Fold = Callable[[MigrationStatus], MigrationStatus]
Update = Callable[[Resource, Fold], Awaitable[None]]
"""Folds and writes a resource's status, again on top of a newer one if the write was fenced off."""


class WebhookInbox:
    """Routes events to resources and hands them to their loops (see the module docstring)."""

    def __init__(self, *, clock: Clock, logger: logging.Logger | None = None) -> None:
        self._clock = clock
        self._logger = logger or logging.getLogger("tendlc.controller")
        self._by_infobip_id: dict[str, Resource] = {}
        self._by_campaign_id: dict[str, Resource] = {}

    def index(self, resource: Resource) -> None:
        if resource.status.infobip_campaign_id:
            self._by_infobip_id[resource.status.infobip_campaign_id] = resource
        campaign_id = resource.campaign_id
        if campaign_id:
            self._by_campaign_id[campaign_id] = resource

    def forget(self, resource: Resource) -> None:
        """Drops the resource from the index and answers its queued events (nothing left to update)."""
        for index, indexed in (
            (self._by_infobip_id, resource.status.infobip_campaign_id),
            (self._by_campaign_id, resource.campaign_id),
        ):
            if indexed and index.get(indexed) is resource:
                del index[indexed]
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
            resource = self._by_campaign_id.get(event.tcr_id)
        if resource is None or resource.stopping:
            self._logger.warning("webhook for unknown campaign %s (tcrId %s) ignored",
                                 event.infobip_campaign_id, event.tcr_id)
            return "unknown_campaign"
        outcome: asyncio.Future[DispatchResult] = asyncio.get_running_loop().create_future()
        resource.inbox.append((event, outcome))
        resource.wake.set()
        return await outcome

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
