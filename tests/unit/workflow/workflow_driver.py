"""Test support: a fake executor and fake partners that drive decide/record in virtual time.

`Executor.round(facts)` plays what the real executor does: decide → (persist marker) → perform →
record → decide … until a non-Act decision. `FakePartners` answers each action like the sandbox
would (docs/decisions.md), with per-action fault queues. No I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tendlc.api import CampaignMigrationSpec, MigrationStatus
from tendlc.partner_errors import PartnerError, PartnerProblem, PartnerRejected
from tendlc.workflow import (
    Act,
    Action,
    Annotations,
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
    ObserveElection,
    ObserveMigration,
    Outcome,
    PollCampaign,
    Settings,
    SubmitMigration,
    decide,
    record,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LOA_SIGNED = date(2026, 11, 15)
UUID = "44e8c5fc-0000-4000-8000-000000000001"
SETTINGS = Settings(random=lambda: 0.5)


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
    faults: dict[type, list[PartnerError]] = field(default_factory=dict)
    calls: list[Action] = field(default_factory=list)
    imported: set[str] = field(default_factory=set)

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
            return CampaignObserved(UUID, self.stage, created=True)
        if isinstance(action, ObserveMigration):
            if self.stage is None:
                return MigrationNotFound()
            return CampaignObserved(UUID, self.stage, self.rejection)
        if isinstance(action, PollCampaign):
            assert self.stage is not None
            return CampaignObserved(UUID, self.stage, self.rejection)
        raise AssertionError(action)

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


@dataclass
class Executor:
    """What the handlers' executor does, minus Kubernetes: `stored` is what would be in the API server."""

    spec: CampaignMigrationSpec
    partners: FakePartners
    settings: Settings = SETTINGS
    stored: MigrationStatus = field(default_factory=MigrationStatus)
    events: list[Event] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def round(self, facts: Facts, crash_after: type | None = None) -> Decision:
        """One reconcile; `crash_after=SubmitMigration` dies right after that POST, before recording it."""
        status = self.stored
        for _ in range(50):
            decision = decide(self.spec, status, facts, self.settings)
            self.decisions.append(decision)
            if decision.event is not None:
                self.events.append(decision.event)
            if not isinstance(decision, Act):
                self.stored = decision.status
                return decision
            if not decision.action.idempotent:
                assert decision.status.pending_operation is not None, "marker must precede the POST"
                self.stored = decision.status
            outcome = self.partners(decision.action)
            if crash_after is not None and isinstance(decision.action, crash_after):
                raise Crash
            status = record(self.spec, decision.status, decision.action, outcome, facts, self.settings)
        raise AssertionError("decide/record did not settle in 50 steps")

    def until(self, start: datetime, done: type, limit: timedelta = timedelta(days=30), **facts: Any) -> Decision:
        """Run rounds, jumping the virtual clock to each requested time, until a decision of type `done`."""
        now = start
        while now - start <= limit:
            decision = self.round(make_facts(now, **facts))
            if isinstance(decision, done):
                return decision
            delay = getattr(decision, "delay", None) or getattr(decision, "recheck_after", None)
            assert delay is not None, f"stuck on {decision!r}"
            now += max(delay, timedelta(seconds=1))
        raise AssertionError(f"no {done.__name__} within {limit}")


class Crash(Exception):
    """The operator process died."""
