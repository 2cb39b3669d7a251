"""The sandbox's parts as the route handlers see them, and the table of partner endpoints.

Route modules receive one `SandboxContext` (through the aiohttp application) instead of importing
the server, so that imports flow one way: model/state → context → routes → app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tendlc_dev.sandbox.clock import SandboxClock
from tendlc_dev.sandbox.concerns import Resolver
from tendlc_dev.sandbox.config import BehaviourConfig, SandboxConfig
from tendlc_dev.sandbox.faults import FaultInjector
from tendlc_dev.sandbox.ledger import Ledger, LedgerEntry
from tendlc_dev.sandbox.ratelimit import RateLimiter
from tendlc_dev.sandbox.state import Notification, SandboxState
from tendlc_dev.sandbox.webhooks import WebhookDispatcher


@dataclass(frozen=True)
class Endpoint:
    """A partner route: who serves it, which rate-limit class it spends, what the ledger counts."""

    partner: str
    """"infobip" or "tcr" (subscriptions are Infobip's)."""
    rate_class: str
    counted: str | None = None


ENDPOINTS: dict[str, Endpoint] = {
    "infobip.import_numbers": Endpoint("infobip", "infobip-import"),
    "infobip.migrate": Endpoint("infobip", "infobip-write", counted="migrate"),
    "infobip.campaigns": Endpoint("infobip", "infobip-read"),
    "infobip.campaign": Endpoint("infobip", "infobip-read"),
    "infobip.campaign_numbers": Endpoint("infobip", "infobip-read"),
    "infobip.network_statuses": Endpoint("infobip", "infobip-read"),
    "infobip.add_numbers": Endpoint("infobip", "infobip-add-numbers", counted="addNumbers"),
    "infobip.owned_numbers": Endpoint("infobip", "numbers-owned"),
    "subscriptions.create": Endpoint("infobip", "subscriptions-write", counted="subscriptionCreate"),
    "subscriptions.list": Endpoint("infobip", "subscriptions-read"),
    "subscriptions.get": Endpoint("infobip", "subscriptions-read"),
    "subscriptions.update": Endpoint("infobip", "subscriptions-write"),
    "subscriptions.delete": Endpoint("infobip", "subscriptions-write"),
    "tcr.migrate_cnp": Endpoint("tcr", "tcr-write", counted="migrateCnp"),
    "tcr.campaign": Endpoint("tcr", "tcr-read"),
    "tcr.sharing": Endpoint("tcr", "tcr-read"),
    "tcr.operation_status": Endpoint("tcr", "tcr-read"),
}

LEDGER_ENTRY = web.RequestKey("tendlc_dev.sandbox.ledger_entry", LedgerEntry)
COUNTED_KEY = web.RequestKey("tendlc_dev.sandbox.counted_key", str)


@dataclass
class SandboxContext:
    config: SandboxConfig
    clock: SandboxClock
    state: SandboxState
    ledger: Ledger
    rate_limiter: RateLimiter
    faults: FaultInjector
    webhooks: WebhookDispatcher
    started_at: float = 0.0
    save_state: Callable[[], Path | None] = field(default=lambda: None)

    @property
    def behaviour(self) -> BehaviourConfig:
        return self.state.behaviour

    def set_behaviour(self, behaviour: BehaviourConfig) -> None:
        self.state.behaviour = behaviour

    def resolver(self) -> Resolver:
        """Resolves ledger entries to campaigns against what the sandbox knows now."""
        return Resolver(self.state, self.ledger)

    def settle(self) -> None:
        """Apply whatever fell due and hand new partner announcements to the webhook sender."""
        self.state.process_due()
        if self.state.outbox:
            pending, self.state.outbox = self.state.outbox, []
            if self.behaviour.webhook_reverse:
                pending = reversed_per_campaign(pending)
            for note in pending:
                self.webhooks.enqueue(note)
        self.webhooks.tick()

    def reset(self) -> None:
        """Admin reset: partner state, ledger, webhook records and rate-limit buckets start afresh."""
        self.state.clear()
        self.ledger.clear()
        self.webhooks.reset()
        self.rate_limiter.configure(self.rate_limiter.config)

    def took_effect(self, request: web.Request) -> None:
        """A handler calls this when its request changed partner state (counted as a success)."""
        entry = request.get(LEDGER_ENTRY)
        if entry is not None:
            entry.effect = True
        route_name = request.match_info.route.name or ""
        endpoint = ENDPOINTS.get(route_name)
        key = request.get(COUNTED_KEY)
        if endpoint is not None and endpoint.counted is not None and key is not None:
            self.ledger.success(endpoint.counted, key)


CONTEXT = web.AppKey("tendlc_dev.sandbox.context", SandboxContext)


def reversed_per_campaign(notes: list[Notification]) -> list[Notification]:
    """The same notes, each campaign's in reverse order, in the slots that campaign's notes held
    (the webhook-reverse alternative: REGISTERED arrives before the network updates)."""
    slots: dict[str, list[int]] = {}
    for index, note in enumerate(notes):
        slots.setdefault(note.campaign_id, []).append(index)
    reordered = list(notes)
    for indices in slots.values():
        for slot, source in zip(indices, reversed(indices), strict=True):
            reordered[slot] = notes[source]
    return reordered
