"""One reconcile pass: observe → decide → act → record, written against five small interfaces.

`Pass.run(resource)` parses the spec, gathers the facts (`FactsSource`), asks the workflow's
`decide`, and while it answers `Act`: persists the status first when the action is not idempotent
(the exactly-once marker, `StatusWriter.write(force=True)`), performs the action (`Performer`),
and folds the outcome with `record`. Any other decision is written and turned into how long to
wait. Every decision's Event goes to the `EventSink`; the `Clock` stamps what happened after a
call. The contract the tests hold it to: a marker write precedes every non-idempotent call, and
a pass that dies anywhere between the two leaves a status whose next pass observes, never resends.

The pass knows no Kubernetes, no HTTP and no task: the registry runs it, the store writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from tendlc.api.constants import ConditionType, Reason
from tendlc.api.spec import CampaignMigrationSpec, CutOver
from tendlc.api.status import MigrationStatus, Phase
from tendlc.controller.facts import Observed
from tendlc.controller.resource import Clock, Resource
from tendlc.cutover import ResourceRef
from tendlc.kube import StatusConflict
from tendlc.partner_errors import PartnerUnavailable, RequestNotSent
from tendlc.partners import PartnerClients
from tendlc.workflow import (
    Act,
    Action,
    Decision,
    Done,
    Event,
    Fail,
    Outcome,
    Park,
    Policy,
    SwitchTraffic,
    Wait,
    WaveGate,
    decide,
    get_condition,
    record,
    set_condition,
)

MAX_ACTIONS_PER_PASS = 16
"""A guard against a decide/record loop that never settles."""
MAX_CONFLICTS = 3
"""Lost fenced writes in one pass before it gives up until the next (each is followed by a reload)."""


class FactsSource(Protocol):
    async def gather(
        self, spec: CampaignMigrationSpec, body: Mapping[str, Any], status: MigrationStatus | None = None,
        *, cutover: CutOver | None = None,
    ) -> Observed: ...


class Performer(Protocol):
    async def perform(self, action: Action, clients: PartnerClients | None, target: ResourceRef) -> Outcome: ...


class StatusWriter(Protocol):
    async def write(self, resource: Resource, *, force: bool = False) -> bool: ...

    async def reload(self, resource: Resource) -> None: ...


class WaveGates(Protocol):
    """What the member's MigrationWave allows this pass (`tendlc.controller.waves.WaveController`)."""

    def gate_for(self, resource: Resource) -> WaveGate | None: ...


class Gate(Protocol):
    """Whether this replica may act on the partners now (the leader election's answer)."""

    def is_open(self) -> bool: ...


EventSink = Callable[[Mapping[str, Any], Event], None]
"""Posts a Kubernetes Event about the (slimmed) body; never blocks, never raises."""
RetryObserver = Callable[[PartnerUnavailable], None]
"""Told when a partner call ended in a temporary failure (metrics)."""


def spec_of(body: Mapping[str, Any], default_upstream_cnp_id: str) -> CampaignMigrationSpec:
    """The spec as the workflow sees it: the operator's CNP where the resource names none."""
    spec = dict(body.get("spec") or {})
    spec.setdefault("upstreamCnpId", default_upstream_cnp_id)
    return CampaignMigrationSpec.model_validate(spec)


@dataclass(frozen=True)
class PassResult:
    """How a pass ended: the settled decision (None: the spec did not parse, or the pass did not
    settle within MAX_ACTIONS_PER_PASS) and how long to wait before the next (None: until woken)."""

    decision: Decision | None
    delay: timedelta | None


@dataclass(frozen=True)
class Pass:
    """The ports one pass works through, and the workflow's policy."""

    facts: FactsSource
    performer: Performer
    store: StatusWriter
    events: EventSink
    clock: Clock
    policy: Policy
    default_upstream_cnp_id: str
    on_retry: RetryObserver | None = None
    gate: Gate | None = None
    waves: WaveGates | None = None

    async def run(self, resource: Resource) -> PassResult:
        """One pass over `resource` (see the module docstring).

        A write another writer fenced off (`StatusConflict`) is never retried as it was: the
        object is read again and the pass starts over from the server's status — with the answers
        to our own writes since our last accepted write folded in again, since such an answer (the
        campaign a migrate created) is a fact about the partner whoever wrote last. An answer to a
        read is not: it may be older than the status just loaded (another writer elected after we
        read "no election"), so reads are made again from the loaded status.
        """
        learnt: list[tuple[Action, Outcome]] = []
        for _ in range(MAX_CONFLICTS):
            resource.adopt_foreign()
            try:
                return await self._run(resource, learnt)
            except StatusConflict:
                resource.logger.info("status changed by another writer; reading it again before deciding")
                await self.store.reload(resource)
        return PassResult(None, self.policy.backoff_initial)

    def _may_act(self) -> bool:
        return self.gate is None or self.gate.is_open()

    async def _run(self, resource: Resource, learnt: list[tuple[Action, Outcome]]) -> PassResult:
        body = resource.body
        try:
            spec = spec_of(body, self.default_upstream_cnp_id)
        except ValidationError as error:
            # The CRD schema rejects bad specs; this only happens when the schema installed in the
            # cluster is older or looser than this operator's model. Say so on the resource.
            await self._report_invalid_spec(resource, error)
            return PassResult(None, None)
        gate = self.waves.gate_for(resource) if self.waves is not None else None
        cutover = spec.cutover or (gate.cutover if gate is not None else None)
        observed = await self.facts.gather(spec, body, resource.status, cutover=cutover)
        facts, clients = observed.facts, observed.clients
        spec = observed.spec or spec  # numbers read from spec.numbersFrom (D62)
        if resource.unreadable:
            facts = replace(facts, unreadable_status=resource.unreadable)
        if gate is not None:
            facts = replace(facts, wave=gate)
        resource.loa_signed = facts.loa.signed_date
        status = resource.status
        for action, outcome in learnt:
            status = record(spec, status, action, outcome, facts, self.policy)
        for _ in range(MAX_ACTIONS_PER_PASS):
            decision = decide(spec, status, facts, self.policy)
            if decision.event is not None:
                resource.logger.info("%s: %s", decision.event.reason, decision.event.message)
                self.events(body, decision.event)
            if not isinstance(decision, Act):
                resource.status = decision.status
                await self.store.write(resource)
                learnt.clear()
                return PassResult(decision, self._delay(decision))
            if clients is None and not isinstance(decision.action, SwitchTraffic):
                # decide parks on credentials problems before any partner call; this is only a guard.
                # The cut-over calls no partner: a registered campaign switches even if its partner
                # Secret went away or its namespace lost the campaign from its allow-list since.
                raise AssertionError("decide asked for a partner call without usable credentials")
            if not self._may_act():
                return PassResult(None, None)  # leadership lost: the new leader decides from the stored status
            resource.status = decision.status
            if not decision.action.idempotent:
                await self.store.write(resource, force=True)  # the exactly-once marker, before the call
                learnt.clear()
            resource.logger.debug("performing %s", type(decision.action).__name__)
            target = ResourceRef(resource.namespace, resource.name, resource.uid)
            outcome = await self.performer.perform(decision.action, clients, target)
            if decision.action.mutating and not isinstance(outcome, RequestNotSent):
                # Replayed after a lost write as a fact about the partner. A request not sent is no
                # such fact: replayed, it would clear whatever marker the reload brought — another
                # writer's, whose migrate may be on the wire.
                learnt.append((decision.action, outcome))
            if self.on_retry is not None and isinstance(outcome, PartnerUnavailable):
                self.on_retry(outcome)
            facts = replace(facts, now=self.clock())
            status = record(spec, decision.status, decision.action, outcome, facts, self.policy)
            resource.status = status
        await self.store.write(resource)
        resource.logger.warning("no settled decision after %d actions; will look again", MAX_ACTIONS_PER_PASS)
        return PassResult(None, self.policy.backoff_initial)

    def _delay(self, decision: Decision) -> timedelta | None:
        match decision:
            case Wait():
                return decision.delay
            case Park():
                return decision.recheck_after or self.policy.park_recheck
            case Done() | Fail():
                return None
        return None  # pragma: no cover

    async def _report_invalid_spec(self, resource: Resource, error: ValidationError) -> None:
        problems = "; ".join(
            f"spec.{'.'.join(str(part) for part in detail['loc'])}: {detail['msg']}"
            for detail in error.errors(include_input=False, include_url=False)
        )
        message = f"the spec does not validate for this operator version ({problems}); fix it or update the CRD"
        generation = int(resource.body["metadata"].get("generation") or 1)
        before = get_condition(resource.status.conditions, ConditionType.READY)
        status = resource.status.clone()
        status.phase = status.phase or Phase.PENDING
        status.observed_generation = generation
        status.conditions = set_condition(status.conditions, ConditionType.READY, "False", Reason.INVALID_SPEC,
                                          message, generation, self.clock())
        resource.status = status
        await self.store.write(resource)
        if before is None or before.reason != Reason.INVALID_SPEC:
            resource.logger.error("%s", message)
            self.events(resource.body, Event("Warning", Reason.INVALID_SPEC, message))
