"""Folding an Infobip webhook event into a resource's status (pure; no I/O).

A webhook is a hint, not the truth: a status update is recorded in `status.webhook` and makes a
poll due at once (see `decide`), and the poll's answer moves the resource. That keeps one path
(GET campaign) deciding every stage change, so a forged-but-authenticated or reordered event can
at worst cause one extra GET. Duplicates (same event id) and events older than the one already
recorded (`tendlc.workflow.ordering.should_apply`) change nothing. Network updates are recorded
per carrier network for the user to see, known networks only (`KNOWN_NETWORKS`), so
`status.networkStatuses` never holds more than those entries, each a bounded status and a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from tendlc.api.constants import KNOWN_NETWORKS
from tendlc.api.status import MigrationStatus, NetworkStatus, RecordedWebhook
from tendlc.workflow.ordering import should_apply

Applied = Literal["applied", "duplicate", "stale"]


class IncomingEvent(Protocol):
    """What folding needs of a received event (`tendlc.webhooks.payload.WebhookEvent` is one); a
    protocol, so this pure room does not import the receiver's package."""

    @property
    def event_id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def received_at(self) -> datetime: ...

    @property
    def network(self) -> str | None: ...

    @property
    def is_network_update(self) -> bool: ...


def apply_webhook(status: MigrationStatus, event: IncomingEvent, now: datetime) -> tuple[MigrationStatus, Applied]:
    """The status after `event` arrived at `now`, and what became of the event."""
    if event.is_network_update:
        return _apply_network_update(status, event)
    recorded = status.webhook
    if recorded is not None and recorded.event_id == event.event_id:
        return status, "duplicate"
    current_stage: str | None = recorded.stage if recorded is not None else status.infobip_stage
    current_time: datetime | None = recorded.received_at if recorded is not None else None
    if not should_apply(current_stage, current_time, event):
        return status, "stale"
    updated = status.clone()
    updated.webhook = RecordedWebhook(
        stage=event.status, received_at=event.received_at, arrived_at=now, event_id=event.event_id
    )
    return updated, "applied"


def _apply_network_update(status: MigrationStatus, event: IncomingEvent) -> tuple[MigrationStatus, Applied]:
    network = event.network or "UNKNOWN"
    if network not in KNOWN_NETWORKS:
        return status, "stale"  # the parser skips these; kept out here too so networkStatuses stays bounded
    current = (status.network_statuses or {}).get(network)
    if current is not None and current.status == event.status and current.received_at == event.received_at:
        return status, "duplicate"
    if current is not None and not should_apply(current.status, current.received_at, event):
        return status, "stale"
    updated = status.clone()
    updated.network_statuses = {
        **(updated.network_statuses or {}),
        network: NetworkStatus(status=event.status, received_at=event.received_at),
    }
    return updated, "applied"
