"""The wave controller: runs each MigrationWave's plan and tells its members what the wave allows.

One task per watched MigrationWave, like the registry's per CampaignMigration: it lists the
members (CampaignMigrations of the wave's namespace its selector picks, as the registry holds
them), asks `tendlc.workflow.wave.plan_wave`, wakes the members it releases, and writes the wave's
status (fenced like every status write, D25) and Events. Members ask `gate_for(resource)` on every
pass: held or released, and whether the window lets them submit now. A member selected by several
waves belongs to the oldest. The wave never calls a partner: each member's own loop, with its
exactly-once machinery, stays the only path to them.

Passes run when the wave or a member changes, and when the plan says it may change by itself (a
window edge, a stuck deadline); member changes are coalesced (`min_interval`), so a wave of a
thousand members writes its status about once per `min_interval` while they move, not per move.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from tendlc.api.constants import (
    ANNOTATION_APPROVE,
    ANNOTATION_RETRY,
    ANNOTATION_SUSPEND,
    WARNING_REASONS,
    WAVE_PLURAL,
    ConditionType,
    Reason,
)
from tendlc.api.status import MigrationStatus, Phase
from tendlc.api.wave import WaveSpec, WaveStatus
from tendlc.controller.facts import is_true
from tendlc.controller.leadership import Gate
from tendlc.controller.reconcile import EventSink
from tendlc.controller.resource import Clock, Resource, creation_time, slim_body, version_of
from tendlc.kube import ResourceGone, StatusConflict
from tendlc.workflow import Event, WaveGate, set_condition
from tendlc.workflow.wave import WaveFacts, WavePlan, plan_wave
from tendlc.workflow.wave_members import MemberView

Members = Callable[[str], Iterable[Resource]]
"""The CampaignMigrations the registry holds in a namespace."""


class WaveApi(Protocol):
    async def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], *, resource_version: str | None = None,
        plural: str = ...,
    ) -> dict[str, Any]: ...

    async def read_object(self, namespace: str, name: str, plural: str = ...) -> dict[str, Any]: ...


@dataclass(slots=True)
class Wave:
    """One watched MigrationWave: its body, its status as written, its latest plan and task."""

    namespace: str
    name: str
    uid: str
    body: Mapping[str, Any]
    status: WaveStatus
    resource_version: str | None = None
    own_versions: deque[str] = field(default_factory=lambda: deque(maxlen=8))
    spec: WaveSpec | None = None
    plan: WavePlan | None = None
    released: set[str] = field(default_factory=set)
    """Members this process released that have not recorded it in their own status yet."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    task: asyncio.Task[None] | None = None

    @property
    def created_at(self) -> datetime:
        return creation_time(self.body)


def member_view(resource: Resource, wave_cutover: bool = False) -> MemberView:
    """What the wave sees of one member (the fields plan_wave documents).

    A member with a cut-over (its own, or the wave's default: `wave_cutover`) counts as registered
    only once its traffic is switched: until then its downtime goes on, so it holds its place in
    flight, and a failing cut-over counts against the wave like any other parked problem.
    """
    s = resource.status
    phase = s.phase.value if isinstance(s.phase, Phase) else None
    problem_reason: str | None = None
    problem_since: datetime | None = None
    if s.phase is Phase.FAILED:
        problem_reason = s.problem.reason if s.problem is not None else Reason.PARTNER_REJECTED
        problem_since = s.failed_at
    else:
        ready = s.condition(ConditionType.READY)
        if ready is not None and ready.reason in WARNING_REASONS:
            problem_reason, problem_since = ready.reason, ready.last_transition_time
    spec = resource.body.get("spec") or {}
    switch_pending = (wave_cutover or bool(spec.get("cutover"))) and s.traffic_switched_at is None
    return MemberView(
        name=resource.name,
        created_at=resource.created_at,
        phase=phase,
        released_at=s.release.at if s.release is not None else None,
        registered=s.phase is Phase.REGISTERED and not switch_pending,
        failed=s.phase is Phase.FAILED,
        problem_reason=problem_reason,
        problem_since=problem_since,
        loa_signed=resource.loa_signed,
        own_nnid=spec.get("nnid") == "Own",
    )


def wave_sees_change(before: MigrationStatus, after: MigrationStatus) -> bool:
    """Whether a member's write changes what `member_view` shows its wave (then the wave looks again).

    The phase alone is not enough: a member with a cut-over stays `Registered` while it switches,
    and counts as registered only once `trafficSwitchedAt` is set; a parked member's problem is
    Ready's reason.
    """
    def seen(status: MigrationStatus) -> tuple[Any, ...]:
        ready = status.condition(ConditionType.READY)
        return (status.phase, status.release, status.traffic_switched_at, ready.reason if ready else None)

    return seen(before) != seen(after)


class WaveController:
    """Keeps one task per MigrationWave (see the module docstring)."""

    def __init__(
        self,
        api: WaveApi,
        members: Members,
        wake_member: Callable[[Resource], None],
        events: EventSink,
        *,
        clock: Clock,
        loa_max_age: timedelta,
        gate: Gate | None = None,
        min_interval: float = 2.0,
        members_pending: Callable[[str], bool] | None = None,
        first_pass_wait: float = 30.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self._api = api
        self._members_pending = members_pending
        self._first_pass_wait = first_pass_wait
        self._members = members
        self._wake_member = wake_member
        self._events = events
        self._clock = clock
        self._loa_max_age = loa_max_age
        self._gate = gate or Gate()
        self._min_interval = min_interval
        self._logger = logger or logging.getLogger("tendlc.controller.waves")
        self.waves: dict[tuple[str, str], Wave] = {}

    # --- what members ask --------------------------------------------------------------------

    def governing(self, resource: Resource) -> Wave | None:
        """The oldest wave of the member's namespace whose selector picks it."""
        labels = resource.labels
        candidates = [
            wave for wave in self.waves.values()
            if wave.namespace == resource.namespace and wave.spec is not None and wave.spec.selector.matches(labels)
        ]
        return min(candidates, key=lambda wave: (wave.created_at, wave.name), default=None)

    def gate_for(self, resource: Resource) -> WaveGate | None:
        wave = self.governing(resource)
        if wave is None:
            return None
        plan = wave.plan
        cutover = wave.spec.cutover if wave.spec is not None else None
        if plan is None:  # seen, not planned yet: hold, and submit nothing
            return WaveGate(wave=wave.name, released=False, submission_open=False, osr_allowed=False, cutover=cutover)
        return WaveGate(
            wave=wave.name,
            released=resource.name in wave.released,
            submission_open=plan.submission_open,
            osr_allowed=plan.osr_allowed,
            next_window=plan.next_window[0] if plan.next_window is not None else None,
            submission_closes_at=plan.next_window[1] if plan.submission_open and plan.next_window else None,
            cutover=cutover,
        )

    def member_changed(self, resource: Resource) -> None:
        """A member's status or labels changed: its wave looks again (coalesced)."""
        wave = self.governing(resource)
        if wave is not None:
            wave.wake.set()

    # --- the watch ---------------------------------------------------------------------------

    def on_watch_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        metadata = body["metadata"]
        key = (metadata["namespace"], metadata["name"])
        wave = self.waves.get(key)
        if wave is not None and (event_type == "DELETED" or wave.uid != metadata.get("uid")):
            self._forget(wave)
            wave = None
        if event_type == "DELETED":
            return
        version = version_of(body)
        if wave is None:
            wave = Wave(namespace=key[0], name=key[1], uid=metadata.get("uid", ""), body=slim_body(body),
                        status=WaveStatus.from_body(body), resource_version=version)
            self.waves[key] = wave
            self._parse(wave)
            wave.task = asyncio.create_task(self._run(wave), name=f"tendlc wave {key[0]}/{key[1]}",
                                            context=contextvars.Context())
            return
        wave.body = slim_body(body)
        if version is not None and version not in wave.own_versions:
            wave.resource_version = version
            wave.status = WaveStatus.from_body(body)
            self._parse(wave)
            wave.wake.set()

    def _parse(self, wave: Wave) -> None:
        try:
            wave.spec = WaveSpec.from_body(wave.body)
        except ValidationError:
            wave.spec = None

    def _forget(self, wave: Wave) -> None:
        if self.waves.get((wave.namespace, wave.name)) is wave:
            del self.waves[(wave.namespace, wave.name)]
        wave.stopping = True
        wave.wake.set()
        if wave.task is not None:
            wave.task.cancel()
        for member in self._members(wave.namespace):  # released members keep going; held ones are free now
            member.wake.set()

    async def shutdown(self, grace: float = 5.0) -> None:
        waves = list(self.waves.values())
        for wave in waves:
            wave.stopping = True
            wave.wake.set()
        tasks = [wave.task for wave in waves if wave.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.waves.clear()

    # --- the loop ----------------------------------------------------------------------------

    async def _members_listed(self, wave: Wave) -> None:
        """Before a wave's first plan, its members listed at start-up reach the registry (or a deadline passes).

        A plan made on half the members would count the rest as missing: a Complete wave would turn
        Pending and back after every restart, with its Events posted again.
        """
        if self._members_pending is None:
            return
        deadline = time.monotonic() + self._first_pass_wait
        while self._members_pending(wave.namespace) and not wave.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            # Each arriving member wakes its wave (member_changed); the short timeout covers the
            # namespace's other CampaignMigrations, which wake nothing.
            wave.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wave.wake.wait(), min(left, 0.5))

    async def _run(self, wave: Wave) -> None:
        await self._members_listed(wave)
        while not wave.stopping:
            if not self._gate.is_open():
                await self._gate.wait_open()
                continue
            wave.wake.clear()
            started = time.monotonic()
            delay: timedelta | None
            try:
                delay = await self._pass(wave)
            except ResourceGone:
                return
            except asyncio.CancelledError:
                raise
            except Exception as failure:  # a bug or an API outage must not end the loop silently
                self._logger.exception("wave %s/%s: pass failed", wave.namespace, wave.name)
                message = f"{type(failure).__name__}: {failure}"
                self._events(wave.body, Event("Warning", Reason.RECONCILE_ERROR, message))
                delay = timedelta(seconds=30)
            due = time.monotonic() + delay.total_seconds() if delay is not None else None
            await self._wait(wave, delay)
            # Coalesce the member changes that woke it: one pass per min_interval at most — but
            # never past the plan's own deadline (a window opening), which would cost submissions.
            rest = self._min_interval - (time.monotonic() - started)
            if due is not None:
                rest = min(rest, due - time.monotonic())
            if rest > 0 and not wave.stopping:
                await asyncio.sleep(rest)

    async def _wait(self, wave: Wave, delay: timedelta | None) -> None:
        if wave.stopping:
            return
        timer = None
        if delay is not None:
            timer = asyncio.get_running_loop().call_later(max(delay.total_seconds(), 0.0), wave.wake.set)
        try:
            await wave.wake.wait()
        finally:
            if timer is not None:
                timer.cancel()

    async def _pass(self, wave: Wave) -> timedelta | None:
        metadata = wave.body["metadata"]
        generation = int(metadata.get("generation") or 1)
        if wave.spec is None:
            await self._invalid(wave, generation)
            return None
        members = [m for m in self._members(wave.namespace) if self.governing(m) is wave]
        views = [member_view(m, wave_cutover=wave.spec.cutover is not None) for m in members]
        wave.released &= {m.name for m in members if m.status.release is None}  # recorded ones need no memory
        annotations = metadata.get("annotations") or {}
        facts = WaveFacts(
            now=self._clock(), generation=generation, approval=annotations.get(ANNOTATION_APPROVE),
            loa_max_age=self._loa_max_age, retry=annotations.get(ANNOTATION_RETRY) or None,
            suspend=is_true(annotations.get(ANNOTATION_SUSPEND)),
        )
        plan = plan_wave(wave.spec, wave.status, views, facts)
        before = wave.plan
        wave.plan = plan
        wave.released.update(plan.release)
        gates_changed = before is None or (before.submission_open, before.osr_allowed, before.next_window) != (
            plan.submission_open, plan.osr_allowed, plan.next_window)
        # Members read the plan in memory: wake them before the status write, not after it.
        for member in members:
            if member.name in plan.release or (gates_changed and member.status.release is not None):
                self._wake_member(member)
        await self._write(wave, plan.status)
        for event in plan.events:
            self._events(wave.body, event)
        return plan.recheck_after

    async def _write(self, wave: Wave, status: WaveStatus) -> None:
        patch = status.to_patch(wave.status)
        if not patch:
            return
        try:
            stored = await self._api.patch_status(wave.namespace, wave.name, patch,
                                                  resource_version=wave.resource_version, plural=WAVE_PLURAL)
        except StatusConflict:
            body = await self._api.read_object(wave.namespace, wave.name, plural=WAVE_PLURAL)
            wave.body = slim_body(body)
            wave.status = WaveStatus.from_body(body)
            wave.resource_version = version_of(body)
            self._parse(wave)
            wave.wake.set()  # plan again on what is stored now
            return
        version = version_of(stored)
        if version is not None:
            wave.resource_version = version
            wave.own_versions.append(version)
        wave.status = status

    async def _invalid(self, wave: Wave, generation: int) -> None:
        try:
            WaveSpec.from_body(wave.body)
            return
        except ValidationError as error:
            problems = "; ".join(
                f"spec.{'.'.join(str(part) for part in detail['loc'])}: {detail['msg']}"
                for detail in error.errors(include_input=False, include_url=False)
            )
        message = f"the spec does not validate for this operator version ({problems}); fix it or update the CRD"
        status = wave.status.clone()
        status.observed_generation = generation
        before = status.condition(ConditionType.PROGRESSING)
        status.conditions = set_condition(status.conditions, ConditionType.PROGRESSING, "False", Reason.INVALID_SPEC,
                                          message, generation, self._clock())
        await self._write(wave, status)
        if before is None or before.reason != Reason.INVALID_SPEC:
            self._events(wave.body, Event("Warning", Reason.INVALID_SPEC, message))
