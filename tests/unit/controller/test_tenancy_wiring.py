"""The controller's tenancy wiring: claims fed by the watch, facts that read nothing for a resource that
may not act, webhooks routed by UUID and by TCR ID only to the campaign's claimant."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from support.loop_driver import POLICY, InMemoryStatusApi
from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.status import MigrationStatus
from tendlc.controller.facts import FactGatherer
from tendlc.controller.inbox import WebhookInbox
from tendlc.controller.registry import Registry
from tendlc.controller.resource import Resource
from tendlc.controller.store import StatusStore
from tendlc.kube import SecretData
from tendlc.webhooks.payload import STATUS_UPDATE, WebhookEvent
from tendlc.workflow import Event
from tendlc.workflow.claims import CampaignClaims, ClaimCandidate

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def body(namespace: str, name: str, *, created: str, uid: str = "", campaign: str = "COJD655") -> dict[str, Any]:
    return {"apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration",
            "metadata": {"namespace": namespace, "name": name, "uid": uid or f"uid-{name}", "generation": 1,
                         "creationTimestamp": created},
            "spec": {"campaignId": campaign, "numbers": ["19546899283"], "loaSecretRef": {"name": "loa"}}}


@dataclass
class FakeKube:
    reads: list[tuple[str, str]] = field(default_factory=list)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        self.reads.append((namespace, name))
        return None

    async def namespace_annotations(self, namespace: str) -> dict[str, str] | None:
        self.reads.append(("namespace", namespace))
        return self.namespaces.get(namespace)


class NoPartners:
    async def for_spec(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no client may be built for a resource that may not act")


def gatherer(kube: FakeKube, claims: CampaignClaims | None = None, policy: bool = False) -> FactGatherer:
    return FactGatherer(kube, NoPartners(), dry_run=False, clock=lambda: T0, claims=claims,  # type: ignore[arg-type]
                        namespace_policy=policy)


async def test_a_resource_claimed_elsewhere_reads_no_secret_and_gets_no_client() -> None:
    claims = CampaignClaims()
    older, younger = body("team-a", "first", created="2026-11-01T00:00:00Z"), body("team-b", "second",
                                                                                    created="2026-11-02T00:00:00Z")
    for seen in (younger, older):
        candidate = ClaimCandidate.from_body(seen)
        assert candidate is not None
        claims.observe(candidate)
    kube = FakeKube()
    observed = await gatherer(kube, claims).gather(CampaignMigrationSpec.from_body(younger), younger)
    assert observed.facts.claimed_by == "team-a/first"
    assert observed.clients is None
    assert kube.reads == []


async def test_the_namespace_policy_is_read_from_the_namespace_and_fails_closed() -> None:
    kube = FakeKube(namespaces={"team-a": {"tendlc.io/allowed-campaigns": "CABC123"}})
    item = body("team-a", "x", created="2026-11-01T00:00:00Z")
    observed = await gatherer(kube, policy=True).gather(CampaignMigrationSpec.from_body(item), item)
    assert observed.facts.campaign_not_allowed is not None
    assert "does not list it" in observed.facts.campaign_not_allowed
    assert observed.clients is None
    assert kube.reads == [("namespace", "team-a")]  # and no Secret


def resource(namespace: str, name: str, status: MigrationStatus | None = None) -> Resource:
    status = status or MigrationStatus()
    return Resource(namespace=namespace, name=name, uid=f"uid-{name}", body={"spec": {"campaignId": "COJD655"}},
                    status=status, written=status)


def event(uuid: str, tcr_id: str | None = "COJD655") -> WebhookEvent:
    return WebhookEvent(kind=STATUS_UPDATE, infobip_campaign_id=uuid, status="REGISTERED", received_at=T0,
                        event_id=f"e-{uuid}", tcr_id=tcr_id)


async def test_a_tcr_id_reaches_only_the_claimant_and_only_before_it_knows_its_uuid() -> None:
    claims = CampaignClaims()
    claims.observe(ClaimCandidate("team-a", "first", "u1", T0.replace(day=1), "COJD655"))
    claims.observe(ClaimCandidate("team-b", "second", "u2", T0, "COJD655"))
    inbox = WebhookInbox(clock=lambda: T0, claims=claims)
    first, second = resource("team-a", "first"), resource("team-b", "second")
    inbox.index(second)
    inbox.index(first)
    pending = asyncio.ensure_future(inbox.deliver(event("uuid-new")))
    await asyncio.sleep(0)
    assert [queued.infobip_campaign_id for queued, _ in first.inbox] == ["uuid-new"]
    assert second.inbox == []
    inbox.forget(first)
    assert await pending == "unknown_campaign"

    claims.forget(("team-a", "first"))  # now team-b/second claims it; once it has a UUID, only that UUID reaches it
    second.status = MigrationStatus(infobip_campaign_id="uuid-2")
    inbox.index(second)
    assert await inbox.deliver(event("uuid-other")) == "unknown_campaign"
    assert second.inbox == []


@dataclass
class IdlePass:
    """Stands in for the pass: records which resources ran, parks them until woken."""

    ran: list[str] = field(default_factory=list)
    policy: Any = POLICY

    async def run(self, resource: Resource) -> Any:
        self.ran.append(resource.name)

        @dataclass
        class Result:
            decision: Any = None
            delay: Any = None

        return Result()


async def test_deleting_the_claimant_wakes_the_resource_that_waited_for_it() -> None:
    idle = IdlePass()
    store = StatusStore(InMemoryStatusApi(), refresh_seconds=0)
    events: list[Event] = []
    registry = Registry(idle, store, WebhookInbox(clock=lambda: T0), lambda b, e: events.append(e))  # type: ignore[arg-type]
    older = body("team-a", "first", created="2026-11-01T00:00:00Z")
    younger = body("team-b", "second", created="2026-11-02T00:00:00Z")
    registry.seed([older, younger])
    registry.on_watch_event(None, younger)
    await asyncio.sleep(0.01)
    assert registry.claims.claimed_elsewhere(("team-b", "second")) == "team-a/first"
    assert idle.ran == ["second"]
    registry.on_watch_event("DELETED", older)  # never watched here, only listed: still forgotten
    await asyncio.sleep(0.01)
    assert registry.claims.claimed_elsewhere(("team-b", "second")) is None
    assert idle.ran == ["second", "second"]  # woken at once, not at the next recheck
    await registry.shutdown(0.1)

