"""Two writers on one resource (two replicas, a standby that wins, a stale loop): still one POST.

Both run the production pass against one in-memory API server whose status writes are fenced by
resourceVersion, and one set of fake partners that counts every request it receives. The first
writer's migrate is held in flight while the second one decides.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from support.loop_driver import POLICY, T0, FakePartners, InMemoryStatusApi, make_facts, make_spec
from tendlc.api.status import MigrationStatus
from tendlc.controller.facts import Observed
from tendlc.controller.reconcile import Pass
from tendlc.controller.resource import Resource
from tendlc.controller.store import StatusStore
from tendlc.workflow import Action, ElectCnp, Facts, ObserveElection, Outcome, SubmitMigration

READY_TO_SUBMIT = {
    "numbersImportedAt": "2026-11-20T08:00:00Z",
    "numbersImportedDigest": "",
    "cnpElectedAt": "2026-11-20T08:30:00Z",
    "tcrSharingStatus": "ACCEPTED",
    "migrationSearch": {"negative": 1, "since": "2026-11-20T08:31:00Z", "lastAt": "2026-11-20T08:31:00Z",
                        "name": "migrateCampaignCOJD655", "number": "19546899283"},
}


@dataclass
class HeldPartners:
    """Fake partners whose migrate stays in flight until `release` is set."""

    partners: FakePartners
    release: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: asyncio.Event = field(default_factory=asyncio.Event)

    async def perform(self, action: Action, clients: Any, target: Any = None) -> Outcome:
        if isinstance(action, SubmitMigration):
            self.partners.calls.append(action)  # received: counted even if the answer never comes back
            self.in_flight.set()
            await self.release.wait()
            self.partners.calls.remove(action)  # FakePartners counts it again when it answers
        return self.partners(action)


@dataclass
class Facts_:
    facts: Facts

    async def gather(self, spec: Any, body: Any, status: Any = None, *, cutover: Any = None) -> Observed:
        return Observed(self.facts, object())  # type: ignore[arg-type]


def writer(api: InMemoryStatusApi, performer: HeldPartners, facts: Facts_) -> tuple[Pass, Resource]:
    body = api.object()
    status = MigrationStatus.from_body(body)
    resource = Resource(namespace="ns", name="cm", uid="u1", body=body, status=status, written=status,
                        resource_version=str(api.version))
    reconcile = Pass(facts=facts, performer=performer, store=StatusStore(api, refresh_seconds=0),
                     events=lambda body, event: None, clock=lambda: facts.facts.now, policy=POLICY,
                     default_upstream_cnp_id="OPMKT")
    return reconcile, resource


async def test_the_loser_of_the_marker_race_observes_and_never_posts() -> None:
    from tendlc.workflow.progress import numbers_digest

    spec = make_spec()
    api = InMemoryStatusApi(stored=READY_TO_SUBMIT | {"numbersImportedDigest": numbers_digest(spec)},
                            spec=spec.to_dict())
    partners = FakePartners(sharing="ACCEPTED")
    held = HeldPartners(partners)
    facts = Facts_(make_facts(T0))
    first, first_resource = writer(api, held, facts)
    second, second_resource = writer(api, held, facts)  # loaded the same status, the same version

    posting = asyncio.ensure_future(first.run(first_resource))
    await held.in_flight.wait()  # the first writer's marker is stored and its POST is on the wire
    # Were the second writer to send its own migrate, it would wait for the release: bound the wait.
    result = await asyncio.wait_for(second.run(second_resource), timeout=10)
    assert api.conflicts == 1  # its own marker write was fenced off: it read the object again
    assert result.decision is not None
    assert second_resource.status.pending_operation is not None
    assert second_resource.status.pending_operation.started_at == T0  # the first writer's marker
    assert partners.count(SubmitMigration) == 1  # in flight, counted on arrival

    held.release.set()
    await posting
    assert api.stored["infobipCampaignId"]

    facts.facts = make_facts(T0 + POLICY.absence_window + POLICY.in_flight + timedelta(seconds=1))
    await second.run(second_resource)  # a stale view again: fenced off, reloaded, adopts what is there
    assert second_resource.status.infobip_campaign_id == api.stored["infobipCampaignId"]
    assert partners.count(SubmitMigration) == 1


# --- a pass that began before another writer's status arrived ---------------------------------------
# Found by the dual-writer chaos run (seed 2048095570): writer A read "no election" while writer B's
# election was landing; A's write was fenced with the version the watch had just brought (B's), not
# the one A decided on, so A's marker landed on top of B's state and A elected a second time.

IMPORTED = {"numbersImportedAt": "2026-11-20T08:00:00Z"}


@dataclass
class InterferingPartners:
    """Fake partners; right after writer A's first read of the election, writer B elects (its marker
    and its answer land in the API server) and, with `deliver`, the watch brings B's status to A."""

    partners: FakePartners
    api: InMemoryStatusApi
    victim: Resource | None = None
    deliver: bool = True
    interfered: bool = False

    async def perform(self, action: Action, clients: Any, target: Any = None) -> Outcome:
        outcome = self.partners(action)
        if isinstance(action, ObserveElection) and not self.interfered:
            self.interfered = True
            marker = {"operation": "ElectCnp", "startedAt": "2026-11-20T09:00:00Z", "observeAttempts": 0}
            version = str(self.api.version)
            await self.api.patch_status("ns", "cm", {"pendingOperation": marker}, resource_version=version)
            self.partners.sharing = "PENDING"  # B's election reached TCR
            await self.api.patch_status("ns", "cm", {"pendingOperation": None, "tcrSharingStatus": "PENDING"},
                                        resource_version=str(self.api.version))
            if self.deliver and self.victim is not None:
                self.victim.follow(self.api.object())
        return outcome


async def _race(deliver: bool) -> tuple[FakePartners, Resource]:
    from tendlc.workflow.progress import numbers_digest

    spec = make_spec()
    api = InMemoryStatusApi(stored=IMPORTED | {"numbersImportedDigest": numbers_digest(spec)}, spec=spec.to_dict())
    partners = FakePartners()
    performer = InterferingPartners(partners, api, deliver=deliver)
    facts = Facts_(make_facts(T0))
    body = api.object()
    status = MigrationStatus.from_body(body)
    resource = Resource(namespace="ns", name="cm", uid="u1", body=body, status=status, written=status,
                        resource_version=str(api.version))
    performer.victim = resource
    reconcile = Pass(facts=facts, performer=performer, store=StatusStore(api, refresh_seconds=0),
                     events=lambda body, event: None, clock=lambda: facts.facts.now, policy=POLICY,
                     default_upstream_cnp_id="OPMKT")
    await reconcile.run(resource)
    assert api.conflicts >= 1, "writer A's write must have been fenced off"
    return partners, resource


async def test_a_status_the_watch_brings_mid_pass_does_not_move_the_fence_past_the_pass() -> None:
    partners, resource = await _race(deliver=True)
    assert partners.count(ElectCnp) == 0  # B elected; A read its election again and waits for it
    assert resource.status.tcr_sharing_status == "PENDING"


async def test_a_read_made_before_a_lost_write_is_made_again_not_replayed() -> None:
    partners, resource = await _race(deliver=False)  # the watch lags: only the fence catches A
    assert partners.count(ElectCnp) == 0
    assert resource.status.tcr_sharing_status == "PENDING"


# --- a submission not sent, while another writer's is on the wire ----------------------------------
# Found in review: after a lost write the pass replays its mutating outcomes on the reloaded status;
# replaying "not sent" cleared the marker the reload brought — the other writer's.


@dataclass
class NotSentWhileBSubmits:
    """Writer A's migrate is not sent (its turn came after the window); meanwhile B's marker lands."""

    partners: FakePartners
    api: InMemoryStatusApi

    async def perform(self, action: Action, clients: Any, target: Any = None) -> Outcome:
        from tendlc.partner_errors import RequestNotSent

        if isinstance(action, SubmitMigration):
            marker = {"operation": "SubmitMigration", "startedAt": "2026-11-20T09:00:30Z", "observeAttempts": 0,
                      "name": action.name, "firstNumber": action.numbers[0]}
            await self.api.patch_status("ns", "cm", {"pendingOperation": marker},
                                        resource_version=str(self.api.version))
            return RequestNotSent("Infobip", "campaigns.migrate", "not sent: the wave's window closed")
        return self.partners(action)


async def test_a_request_not_sent_never_clears_another_writers_marker() -> None:
    from tendlc.workflow.progress import numbers_digest

    spec = make_spec()
    api = InMemoryStatusApi(stored=READY_TO_SUBMIT | {"numbersImportedDigest": numbers_digest(spec)},
                            spec=spec.to_dict())
    partners = FakePartners(sharing="ACCEPTED")
    performer = NotSentWhileBSubmits(partners, api)
    facts = Facts_(make_facts(T0 + POLICY.absence_window + timedelta(minutes=2)))
    body = api.object()
    status = MigrationStatus.from_body(body)
    resource = Resource(namespace="ns", name="cm", uid="u1", body=body, status=status, written=status,
                        resource_version=str(api.version))
    reconcile = Pass(facts=facts, performer=performer, store=StatusStore(api, refresh_seconds=0),  # type: ignore[arg-type]
                     events=lambda body, event: None, clock=lambda: facts.facts.now, policy=POLICY,
                     default_upstream_cnp_id="OPMKT")
    await reconcile.run(resource)
    assert api.conflicts >= 1, "A's write after 'not sent' must have been fenced off by B's marker"
    stored = MigrationStatus.from_dict(api.stored)
    assert stored.pending_operation is not None
    assert stored.pending_operation.started_at.isoformat().startswith("2026-11-20T09:00:30")  # B's, kept
    assert partners.count(SubmitMigration) == 0
