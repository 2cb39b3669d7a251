"""Test support: the production reconcile pass (`tendlc.controller.reconcile.Pass`) on fake ports.

`Executor.round(facts)` runs the real `Pass.run` — the same loop, limits, marker writes and
clock refresh the operator runs — with an in-memory API server (`InMemoryStatusApi`, which
records every status patch in order and can die after the n-th), fake partners (`FakePartners`,
answering each action like the sandbox would, docs/decisions.md, with per-action fault queues),
and facts handed in by the test. A crash (`crash_after=SubmitMigration`, or the API dying) throws
the in-memory state away: the next round starts from what the API server holds, as a restarted
operator would. No I/O, no clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tendlc.api import CampaignMigrationSpec, MigrationStatus
from tendlc.config import Settings
from tendlc.controller.facts import Observed
from tendlc.controller.reconcile import Pass
from tendlc.controller.resource import Resource
from tendlc.controller.store import StatusStore
from tendlc.kube import StatusConflict
from tendlc.partner_errors import PartnerProblem, PartnerRejected
from tendlc.workflow import (
    Action,
    AddNumbers,
    Annotations,
    CampaignNumbersObserved,
    CampaignObserved,
    Decision,
    ElectCnp,
    ElectionObserved,
    Event,
    Facts,
    ImportNumbers,
    ImportResult,
    LoaFacts,
    MigrationNotFound,
    NumbersAccepted,
    ObserveCampaignNumbers,
    ObserveElection,
    ObserveMigration,
    Outcome,
    PollCampaign,
    PreflightObserved,
    RunPreflight,
    SubmitMigration,
    SwitchTraffic,
    TrafficSwitchedOutcome,
    Wait,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LOA_SIGNED = date(2026, 11, 15)
UUID = "44e8c5fc-0000-4000-8000-000000000001"
CONFIG = Settings()
POLICY = replace(CONFIG.policy(random=lambda: 0.5), absence_searches=1, absence_window=timedelta(0))
"""One empty search before a submission (D24) and no window: the rule itself has tests of its own."""
CLIENTS: Any = object()  # the fake performer ignores the clients it is handed


def make_spec(**overrides: Any) -> CampaignMigrationSpec:
    spec: dict[str, Any] = {
        "campaignId": "COJD655",
        "numbers": ["19546899283", "19168361160"],
        "loaSecretRef": {"name": "cojd655-loa"},
    }
    spec.update(overrides)
    return CampaignMigrationSpec.model_validate(spec)


def make_facts(now: datetime = T0, **overrides: Any) -> Facts:
    values: dict[str, Any] = {"now": now, "loa": LoaFacts.ok(LOA_SIGNED), "annotations": Annotations()}
    values.update(overrides)
    return Facts(**values)


@dataclass
class FakePartners:
    """TCR and Infobip as the sandbox behaves; `faults[ActionType]` is consumed first, in order."""

    upstream_cnp_id: str = "OPMKT"
    sharing: str | None = None
    explanation: str | None = None
    stage: str | None = None
    rejection: str | None = None
    faults: dict[type, list[Outcome]] = field(default_factory=dict)
    calls: list[Action] = field(default_factory=list)
    imported: set[str] = field(default_factory=set)
    switched: dict[str, int] = field(default_factory=dict)
    """Cut-over attempts received per idempotency key (an endpoint acts once per key)."""
    campaign_numbers: set[str] = field(default_factory=set)
    """What `GET …/campaigns/{id}/numbers` shows (the migrated numbers, then the added ones)."""
    added_after_reads: int = 0
    """Reads of the campaign's numbers before an accepted batch shows (0: at once; D34 applies later)."""
    pending_batches: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    preflight: PreflightObserved | None = None

    def __call__(self, action: Action) -> Outcome:
        self.calls.append(action)
        queue = self.faults.get(type(action))
        if queue:
            return queue.pop(0)
        if isinstance(action, ImportNumbers):
            self.imported.update(action.numbers)
            return ImportResult(len(action.numbers))
        if isinstance(action, ObserveElection):
            return ElectionObserved(self.upstream_cnp_id if self.sharing else None, self.sharing, self.explanation)
        if isinstance(action, ElectCnp):
            if self.sharing in ("PENDING", "ACCEPTED"):
                problem = PartnerProblem("525", "already has a pending or accepted CNP migration", "upstreamCnpId")
                return PartnerRejected("TCR", "migrateCnp", "400", status=400, problems=(problem,))
            self.sharing = "PENDING"
            return ElectionObserved(action.upstream_cnp_id, "PENDING")
        if isinstance(action, SubmitMigration):
            if self.stage is not None:
                return already_in_migration()
            self.stage = "IN_MIGRATION"
            self.campaign_numbers.update(action.numbers)
            return CampaignObserved(UUID, self.stage, created=True)
        if isinstance(action, ObserveMigration):
            if self.stage is None:
                return MigrationNotFound()
            return CampaignObserved(UUID, self.stage, self.rejection)
        if isinstance(action, PollCampaign):
            assert self.stage is not None
            return CampaignObserved(UUID, self.stage, self.rejection)
        if isinstance(action, SwitchTraffic):
            self.switched[action.idempotency_key] = self.switched.get(action.idempotency_key, 0) + 1
            return TrafficSwitchedOutcome()
        if isinstance(action, AddNumbers):
            assert self.stage == "REGISTERED", "add-numbers before the campaign is registered"
            self.pending_batches.append((self.added_after_reads, action.numbers))
            self._apply_batches()
            return NumbersAccepted(len(action.numbers))
        if isinstance(action, ObserveCampaignNumbers):
            self.pending_batches = [(reads - 1, numbers) for reads, numbers in self.pending_batches]
            self._apply_batches()
            return CampaignNumbersObserved(frozenset(self.campaign_numbers))
        if isinstance(action, RunPreflight):
            assert self.preflight is not None
            return self.preflight
        raise AssertionError(action)

    def _apply_batches(self) -> None:
        due = [numbers for reads, numbers in self.pending_batches if reads <= 0]
        self.pending_batches = [(reads, numbers) for reads, numbers in self.pending_batches if reads > 0]
        for numbers in due:
            self.campaign_numbers.update(numbers)

    def count(self, kind: type) -> int:
        return sum(isinstance(call, kind) for call in self.calls)

    def mutating_calls(self) -> list[Action]:
        return [call for call in self.calls if call.mutating]


def already_in_migration() -> PartnerRejected:
    return PartnerRejected(
        "Infobip",
        "migrate",
        f"Campaign COJD655 is already in migration (id {UUID})",
        status=400,
        problems=(PartnerProblem("BAD_REQUEST", "already in migration", "externalCampaignId"),),
    )


class Crash(Exception):
    """The operator process died."""


@dataclass
class Effects:
    """Every side effect of the operator in order — status writes and partner calls — and a kill switch.

    `crash_before=k` kills the process just before the k-th effect (1-based) takes place: before a
    write is stored, or before a call reaches the partner. Running k over every effect of a run
    covers every point a process can die at, including "the call happened, its answer was lost"
    (= before the next effect).
    """

    log: list[tuple[str, Any]] = field(default_factory=list)
    crash_before: int | None = None

    def happen(self, kind: str, what: Any) -> None:
        if self.crash_before is not None and len(self.log) + 1 == self.crash_before:
            self.crash_before = None
            raise Crash
        self.log.append((kind, what))


@dataclass
class InMemoryStatusApi:
    """One object in an in-memory API server: merge patches on its status, fenced by its version.

    Records every accepted patch in order. A patch fenced with another version than the current
    one is refused with `StatusConflict`, as the real server answers 409. `fail_at=n` makes the
    n-th patch (1-based) die before it is stored, like a process killed while the request was in
    flight; `effects`, when given, sees every patch before it is stored (and may raise `Crash`).
    """

    stored: dict[str, Any] = field(default_factory=dict)
    patches: list[dict[str, Any]] = field(default_factory=list)
    fail_at: int | None = None
    effects: Effects | None = None
    version: int = 1
    spec: dict[str, Any] = field(default_factory=dict)
    conflicts: int = 0

    def object(self) -> dict[str, Any]:
        return {
            "apiVersion": "tendlc.io/v1alpha1",
            "kind": "CampaignMigration",
            "metadata": {"namespace": "ns", "name": "cm", "uid": "u1", "generation": 1,
                         "resourceVersion": str(self.version)},
            "spec": self.spec,
            "status": self.stored,
        }

    async def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        if self.fail_at is not None and len(self.patches) + 1 == self.fail_at:
            self.fail_at = None
            raise Crash
        if resource_version is not None and resource_version != str(self.version):
            self.conflicts += 1
            raise StatusConflict("changed", status=409)
        if self.effects is not None:
            self.effects.happen("write", status)
        self.patches.append(status)
        self.stored = _merge(self.stored, status)
        self.version += 1
        return self.object()

    async def read_object(self, namespace: str, name: str) -> dict[str, Any]:
        return self.object()

    def touch(self) -> None:
        """Someone else changed the object (a spec edit, another writer): its version moves on."""
        self.version += 1


def _merge(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass
class _Facts:
    facts: Facts | None = None

    async def gather(
        self, spec: CampaignMigrationSpec, body: Mapping[str, Any], status: MigrationStatus | None = None,
        *, cutover: Any = None,
    ) -> Observed:
        assert self.facts is not None
        # As in production: a credentials problem means no partner clients for the pass.
        return Observed(self.facts, None if self.facts.credentials_problem else CLIENTS)


@dataclass
class _Performer:
    partners: FakePartners
    crash_after: type | None = None
    effects: Effects | None = None

    async def perform(self, action: Action, clients: Any, target: Any = None) -> Outcome:
        if self.effects is not None:
            self.effects.happen("call", action)
        outcome = self.partners(action)
        if self.crash_after is not None and isinstance(action, self.crash_after):
            self.crash_after = None
            raise Crash  # the call reached the partner; its answer is lost with the process
        return outcome


@dataclass
class Executor:
    """The real pass on one resource; `stored` is what the (in-memory) API server holds."""

    spec: CampaignMigrationSpec
    partners: FakePartners
    policy: Any = POLICY
    api: InMemoryStatusApi = field(default_factory=InMemoryStatusApi)
    events: list[Event] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    resource: Resource | None = None
    effects: Effects | None = None

    def __post_init__(self) -> None:
        self._facts = _Facts()
        self._performer = _Performer(self.partners, effects=self.effects)
        self.api.effects = self.effects
        self._pass = Pass(
            facts=self._facts,
            performer=self._performer,
            store=StatusStore(self.api, refresh_seconds=0),
            events=lambda body, event: self.events.append(event),
            clock=lambda: self._facts.facts.now if self._facts.facts else T0,
            policy=self.policy,
            default_upstream_cnp_id=CONFIG.upstream_cnp_id,
        )

    @property
    def stored(self) -> MigrationStatus:
        return MigrationStatus.from_dict(self.api.stored)

    @stored.setter
    def stored(self, status: MigrationStatus) -> None:
        """Someone else wrote the status (a webhook folded in, a restored backup): both sides agree on it."""
        self.api.stored = status.to_dict()
        self.api.touch()
        if self.resource is not None:
            self.resource.status = self.resource.written = status
            self.resource.resource_version = str(self.api.version)

    def body(self) -> dict[str, Any]:
        return {
            "apiVersion": "tendlc.io/v1alpha1",
            "kind": "CampaignMigration",
            "metadata": {"namespace": "ns", "name": "cm", "uid": "u1", "generation": 1},
            "spec": self.spec.to_dict(),
        }

    def _resource(self) -> Resource:
        self.api.spec = self.spec.to_dict()
        if self.resource is None:  # a (re)started operator: it knows only what the API server holds
            status = self.stored
            self.resource = Resource(namespace="ns", name="cm", uid="u1", body=self.body(), status=status,
                                     written=status, resource_version=str(self.api.version))
        self.resource.body = self.body()
        return self.resource

    def round(self, facts: Facts, crash_after: type | None = None) -> Decision:
        """One pass; `crash_after=SubmitMigration` dies right after that POST, before recording it."""
        self._facts.facts = facts
        self._performer.crash_after = crash_after
        resource = self._resource()
        try:
            result = asyncio.run(self._pass.run(resource))
        except Crash:
            self.resource = None
            raise
        assert result.decision is not None, "the pass did not settle"
        self.decisions.append(result.decision)
        return result.decision

    def until(self, start: datetime, done: type, limit: timedelta = timedelta(days=30), **facts: Any) -> Decision:
        """Run rounds, jumping the virtual clock to each requested time, until a decision of type `done`."""
        now = start
        while now - start <= limit:
            decision = self.round(make_facts(now, **facts))
            if isinstance(decision, done):
                return decision
            delay = decision.delay if isinstance(decision, Wait) else getattr(decision, "recheck_after", None)
            assert delay is not None, f"stuck on {decision!r}"
            now += max(delay, timedelta(seconds=1))
        raise AssertionError(f"no {done.__name__} within {limit}")


def patches_touching(api: InMemoryStatusApi, key: str) -> list[dict[str, Any]]:
    return [patch for patch in api.patches if key in patch]

