"""Plan a MigrationWave: which members to release now, whether submissions may run, the new status.

`plan_wave(spec, status, members, facts) -> WavePlan` is the wave's whole decision as a pure
function (the clock is `facts.now`). The executor lists the CampaignMigrations the selector picks
as `MemberView`s, calls it on every pass, marks `plan.release` released on each member, tells the
members whether a submission (and an own-NNID OSR update) is allowed now, writes `plan.status` as a
merge patch, posts `plan.events`, and comes back after `plan.recheck_after` or on any change of
the wave, its annotations or a member. The wave never calls a partner.

Rules, in order: the canary (the first `canary` members by `order`) is released first and must be
Registered before any other member is; a failed or stuck canary member halts the wave; so does the
failure budget (`maxFailed` members Failed or parked longer than `stuckAfter`); a halt stays until
the spec changes or a new `tendlc.io/retry` value, and a halted wave releases nothing and closes
submissions. After the canary, `approval.afterCanary` waits for a new `tendlc.io/approve` value.
At most `maxInFlight` members are started and not final, counting this plan's releases. Windows
gate submissions only. Complete when every member is Registered or Failed. No I/O here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tendlc.api.constants import ConditionType, WaveReason, event_type
from tendlc.api.status import ConditionStatus, format_time
from tendlc.api.wave import (
    MAX_LISTED,
    LoaWarning,
    WaveCounts,
    WaveFailure,
    WavePhase,
    WaveSpec,
    WaveStatus,
    WindowInterval,
)
from tendlc.workflow.conditions import get_condition, set_condition
from tendlc.workflow.decisions import Event
from tendlc.workflow.wave_members import (
    Canary,
    MemberView,
    choose_canary,
    failures,
    loa_deadlines,
    loa_warnings,
    ordered,
    stuck_deadlines,
)
from tendlc.workflow.windows import WindowState, window_state


@dataclass(frozen=True)
class WaveFacts:
    """What the executor observed this pass besides the members."""

    now: datetime
    generation: int
    approval: str | None
    """The `tendlc.io/approve` annotation of the wave (None: absent)."""
    loa_max_age: timedelta
    """The operator's LOA limit (`TENDLC_LOA_MAX_AGE_DAYS`), the same the members are held to."""
    retry: str | None = None
    """The `tendlc.io/retry` annotation of the wave: a new value re-evaluates a halt."""
    suspend: bool = False
    """The `tendlc.io/suspend` annotation of the wave is `true` (the same as `spec.suspend`)."""


@dataclass(frozen=True)
class WavePlan:
    """What to do after one pass over the wave (see the module docstring)."""

    release: tuple[str, ...]
    submission_open: bool
    """Released members may submit their migration now: a window is open, not suspended, not halted."""
    osr_allowed: bool
    """Own-NNID members may update their OSR records now: a window is open and the wave is not suspended."""
    next_window: tuple[datetime, datetime] | None
    """The window open now, else the next one; None without windows (always open) or none within a year."""
    status: WaveStatus
    events: tuple[Event, ...] = ()
    recheck_after: timedelta | None = None
    """When the plan may change by itself (a window edge, a stuckAfter deadline); None: only on a change."""
    loa_warnings: tuple[tuple[str, str], ...] = field(default=())
    """(member, message) for members whose LOA will be too old at the next window start."""


def plan_wave(spec: WaveSpec, status: WaveStatus, members: Sequence[MemberView], facts: WaveFacts) -> WavePlan:
    """The plan for this pass (see the module docstring)."""
    now, s = facts.now, status.clone()
    s.observed_generation = facts.generation
    members_ = ordered(members, spec.order)
    windows = window_state(spec.windows, now)
    retried = facts.retry is not None and facts.retry != status.last_handled_retry
    if retried:
        s.last_handled_retry = facts.retry
    suspended = spec.suspend or facts.suspend
    reference = now if windows.open else (windows.next[0] if windows.next is not None else None)
    warnings = loa_warnings(members_, reference, facts.loa_max_age, windows.open)
    held_back = {name for name, _ in warnings}
    canary = choose_canary(spec, status.canary, status.canary_passed_at, members_, held_back)
    found = failures(members_, spec.stuck_after, now)
    halt = _halt(spec, status, canary, found, facts.generation, retried)
    events: list[Event] = []

    approved = not spec.approval.after_canary or s.approved_at is not None
    if members_ and canary.passed and not approved and halt is None and not suspended:
        approved = _approval(s, facts, events)

    in_flight = sum(1 for m in members_ if m.started and not m.final)
    release: tuple[str, ...] = ()
    if members_ and halt is None and not suspended and (not canary.passed or approved):
        gated = set(canary.names) if not canary.passed else None
        eligible = [m.name for m in members_ if not m.started and m.name not in held_back
                    and (gated is None or m.name in gated)]
        release = tuple(eligible[: max(spec.max_in_flight - in_flight, 0)])

    s.canary = list(canary.names)
    if members_ and canary.passed and s.canary_passed_at is None:
        s.canary_passed_at = now
        if canary.names:
            events.append(Event("Normal", WaveReason.CANARY_PASSED,
                                f"Canary registered: {_names(canary.names)}. The other members may be released."))
    s.counts = _counts(members_, set(release), in_flight + len(release), found)
    s.failures = found[:MAX_LISTED]
    s.loa_warnings = [LoaWarning(member=name, message=message) for name, message in warnings[:MAX_LISTED]]
    s.window_open = windows.open
    shown = windows.shown
    s.next_window = WindowInterval(start=shown[0], end=shown[1]) if shown is not None else None
    complete = bool(members_) and all(m.final for m in members_)
    s.phase = _phase(members_, complete, halt, suspended, canary, approved)
    _conditions(s, spec, facts, halt, complete, found, canary)
    if release:
        events.append(Event("Normal", WaveReason.MEMBERS_RELEASED, (
            f"Released {len(release)} member(s): {_names(release)} ({s.counts.in_flight} in flight, "
            f"maxInFlight {spec.max_in_flight})."
        )))
    events.extend(_transitions(spec, status, s, windows))

    deadlines = [d for d in (windows.next_change(), *stuck_deadlines(members_, spec.stuck_after, now)) if d]
    if windows.open:  # the LOA is judged now: the next midnight (UTC) at which one becomes too old
        deadlines.extend(loa_deadlines(members_, facts.loa_max_age, held_back))
    recheck = min((d - now for d in deadlines if d > now), default=None)
    return WavePlan(
        release=release,
        submission_open=windows.open and not suspended and halt is None,
        osr_allowed=windows.open and not suspended,
        next_window=shown,
        status=s,
        events=tuple(events),
        recheck_after=recheck,
        loa_warnings=warnings,
    )


def _halt(
    spec: WaveSpec, before: WaveStatus, canary: Canary, found: list[WaveFailure], generation: int, retried: bool,
) -> tuple[str, str] | None:
    """(reason, message) of a halt, or None. A halt stays for its generation until a new retry token (D52)."""
    previous = get_condition(before.conditions, ConditionType.HALTED)
    if previous is not None and previous.status == "True" and previous.observed_generation == generation \
            and not retried:
        return previous.reason, previous.message
    after = (
        "Nothing more is released and members that have not submitted yet do not submit; members already "
        "submitted go on. Fix or remove the failed members, then change the spec or set a new tendlc.io/retry value."
    )
    if not canary.passed:
        canary_names = set(canary.names)
        bad = [f for f in found if f.member in canary_names]
        if bad:
            return WaveReason.CANARY_FAILED, f"Canary failed: {_failures(bad)}. {after}"
    if len(found) >= spec.max_failed:
        return WaveReason.FAILURE_BUDGET_EXHAUSTED, (
            f"{len(found)} member(s) failed or stuck, maxFailed is {spec.max_failed}: {_failures(found)}. {after}"
        )
    return None


def _approval(s: WaveStatus, facts: WaveFacts, events: list[Event]) -> bool:
    """The approval gate: a value present when it opens is set aside; a new value approves (D53)."""
    token = facts.approval
    fresh = token is not None and token != s.last_handled_approval
    if s.approval_requested_at is None:
        s.approval_requested_at = facts.now
        set_aside = ""
        if fresh:
            s.last_handled_approval = token
            set_aside = f" The value {token!r} set before the canary passed is not taken as approval."
        events.append(Event("Normal", WaveReason.AWAITING_APPROVAL, (
            "Canary passed; waiting for approval to release the other members: "
            f"kubectl annotate mwave/<name> --overwrite tendlc.io/approve=<a new value>.{set_aside}"
        )))
        return False
    if not fresh:
        return False
    s.approved_at = facts.now
    s.last_handled_approval = token
    events.append(Event("Normal", WaveReason.APPROVED,
                        f"Approved (tendlc.io/approve={token!r}): releasing the others."))
    return True


def _counts(members: list[MemberView], released_now: set[str], in_flight: int, found: list[WaveFailure]) -> WaveCounts:
    return WaveCounts(
        members=len(members),
        held=sum(1 for m in members if not m.started and m.name not in released_now),
        released=sum(1 for m in members if m.released_at is not None or m.name in released_now),
        in_flight=in_flight,
        registered=sum(1 for m in members if m.registered),
        failed=sum(1 for m in members if m.failed),
        stuck=sum(1 for f in found if f.stuck),
        by_phase=dict(sorted(Counter(m.phase or "Pending" for m in members).items())),
    )


def _phase(
    members: list[MemberView], complete: bool, halt: tuple[str, str] | None, suspended: bool, canary: Canary,
    approved: bool,
) -> WavePhase:
    if not members:
        return WavePhase.PENDING
    if complete:
        return WavePhase.COMPLETE
    if halt is not None:
        return WavePhase.HALTED
    if suspended:
        return WavePhase.SUSPENDED
    if not canary.passed:
        return WavePhase.CANARY
    return WavePhase.PROGRESSING if approved else WavePhase.AWAITING_APPROVAL


def _conditions(
    s: WaveStatus, spec: WaveSpec, facts: WaveFacts, halt: tuple[str, str] | None, complete: bool,
    found: list[WaveFailure], canary: Canary,
) -> None:
    def put(type_: str, value: ConditionStatus, reason: str, message: str) -> None:
        s.conditions = set_condition(s.conditions, type_, value, reason, message, facts.generation, facts.now)

    counts = s.counts or WaveCounts()
    if halt is not None:
        put(ConditionType.HALTED, "True", *halt)
    else:
        put(ConditionType.HALTED, "False", WaveReason.WITHIN_BUDGET,
            f"{len(found)} member(s) failed or stuck; the wave halts at maxFailed {spec.max_failed}.")
    final = counts.registered + counts.failed
    if complete:
        put(ConditionType.COMPLETE, "True", WaveReason.ALL_MEMBERS_FINAL,
            f"All {counts.members} members are final: {counts.registered} registered, {counts.failed} failed.")
    elif counts.members == 0:
        put(ConditionType.COMPLETE, "False", WaveReason.NO_MEMBERS, "The selector matches no CampaignMigration yet.")
    else:
        put(ConditionType.COMPLETE, "False", WaveReason.MEMBERS_REMAINING,
            f"{final} of {counts.members} members final ({counts.registered} registered, {counts.failed} failed).")
    flight = f"{counts.in_flight} in flight of maxInFlight {spec.max_in_flight}, {counts.held} held"
    phase = s.phase
    if phase is WavePhase.PENDING:
        put(ConditionType.PROGRESSING, "False", WaveReason.NO_MEMBERS, "The selector matches no CampaignMigration yet.")
    elif phase is WavePhase.COMPLETE:
        put(ConditionType.PROGRESSING, "False", WaveReason.ALL_MEMBERS_FINAL, "Every member is Registered or Failed.")
    elif phase is WavePhase.HALTED and halt is not None:
        put(ConditionType.PROGRESSING, "False", halt[0], f"Halted ({flight}).")
    elif phase is WavePhase.SUSPENDED:
        why = "spec.suspend is true" if spec.suspend else "the tendlc.io/suspend annotation is set"
        put(ConditionType.PROGRESSING, "False", WaveReason.SUSPENDED,
            f"Suspended because {why}: no member is released and none submits ({flight}).")
    elif phase is WavePhase.CANARY:
        if canary.names:
            message = (f"Canary {_names(canary.names)}: {canary.registered} of {len(canary.names)} registered "
                       f"({flight}).")
        else:
            message = ("No member can be the canary yet: every member not final is held for its LOA "
                       "(status.loaWarnings).")
        put(ConditionType.PROGRESSING, "True", WaveReason.CANARY_IN_PROGRESS, message)
    elif phase is WavePhase.AWAITING_APPROVAL:
        put(ConditionType.PROGRESSING, "False", WaveReason.AWAITING_APPROVAL,
            "Canary registered; set a new tendlc.io/approve value on the wave to release the others.")
    elif counts.held:
        put(ConditionType.PROGRESSING, "True", WaveReason.RELEASING_MEMBERS, f"Releasing members in order ({flight}).")
    else:
        put(ConditionType.PROGRESSING, "True", WaveReason.MEMBERS_IN_FLIGHT,
            f"Every member is released; waiting for {counts.in_flight} to finish.")


def _transitions(spec: WaveSpec, before: WaveStatus, after: WaveStatus, windows: WindowState) -> list[Event]:
    """Events for what changed between the stored status and the new one (each once, D57)."""
    events: list[Event] = []
    halted = get_condition(after.conditions, ConditionType.HALTED)
    if halted is not None and _truth(before, ConditionType.HALTED) != _truth(after, ConditionType.HALTED):
        if halted.status == "True":
            events.append(Event(event_type(halted.reason), halted.reason, halted.message))
        elif _truth(before, ConditionType.HALTED):
            events.append(Event("Normal", WaveReason.WITHIN_BUDGET, f"Halt lifted: {halted.message}"))
    was_suspended = _progressing_reason(before) == WaveReason.SUSPENDED
    is_suspended = _progressing_reason(after) == WaveReason.SUSPENDED
    if is_suspended and not was_suspended:
        events.append(Event("Normal", WaveReason.SUSPENDED, _progressing_message(after)))
    elif was_suspended and not is_suspended:
        events.append(Event("Normal", WaveReason.RESUMED, "Resumed: members are released again."))
    if spec.windows and before.window_open is not None and before.window_open != windows.open:
        if windows.open:
            end = f" until {format_time(windows.current[1])}" if windows.current is not None else ""
            events.append(Event("Normal", WaveReason.WINDOW_OPENED,
                                f"Maintenance window open{end}: submissions allowed."))
        else:
            nxt = f"; next opens {format_time(windows.next[0])}" if windows.next is not None else ""
            events.append(Event("Normal", WaveReason.WINDOW_CLOSED, f"Maintenance window closed{nxt}: no submission."))
    done = get_condition(after.conditions, ConditionType.COMPLETE)
    if done is not None and _truth(after, ConditionType.COMPLETE) and not _truth(before, ConditionType.COMPLETE):
        events.append(Event("Normal", WaveReason.ALL_MEMBERS_FINAL, done.message))
    new_warnings = [w for w in after.loa_warnings if w.member not in {b.member for b in before.loa_warnings}]
    if new_warnings:
        more = f" ({len(new_warnings) - 1} more in status.loaWarnings)" if len(new_warnings) > 1 else ""
        events.append(Event("Warning", WaveReason.LOA_EXPIRES_BEFORE_WINDOW, new_warnings[0].message + more))
    return events


def _truth(s: WaveStatus, type_: str) -> bool:
    condition = get_condition(s.conditions, type_)
    return condition is not None and condition.status == "True"


def _progressing_reason(s: WaveStatus) -> str | None:
    condition = get_condition(s.conditions, ConditionType.PROGRESSING)
    return condition.reason if condition is not None else None


def _progressing_message(s: WaveStatus) -> str:
    condition = get_condition(s.conditions, ConditionType.PROGRESSING)
    return condition.message if condition is not None else ""


def _names(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _failures(found: Sequence[WaveFailure], limit: int = 10) -> str:
    parts = [
        f"{f.member} ({'stuck on ' if f.stuck else ''}{f.reason}{' since ' + format_time(f.since) if f.since else ''})"
        for f in found[:limit]
    ]
    return ", ".join(parts) + (f" and {len(found) - limit} more" if len(found) > limit else "")
