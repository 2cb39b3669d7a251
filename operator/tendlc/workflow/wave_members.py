"""What a wave sees of its members: their order, the canary, what counts as a failure, LOA age.

`MemberView` is the executor's summary of one CampaignMigration the wave's selector picks; the
functions here read a list of them (already ordered) and return plain values for
`tendlc.workflow.wave.plan_wave`. Pure: no I/O, no clock but the `now` passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tendlc.api.status import Phase, format_time
from tendlc.api.wave import Order, WaveFailure, WaveSpec

UNSTARTED_PHASES: frozenset[str | None] = frozenset({None, Phase.PENDING.value, Phase.SUSPENDED.value})
"""Phases of a member the wave has not released that show no partner write yet (a member that joins
in any other phase started on its own: it is counted in flight, never held; D51)."""
SUBMITTED_PHASES: frozenset[str | None] = frozenset({Phase.IN_MIGRATION.value, Phase.AWAITING_OSR_CONFIRMATION.value})
"""Phases after the submission: the LOA no longer matters."""


@dataclass(frozen=True)
class MemberView:
    """One CampaignMigration as the wave sees it (built by the executor from the object).

    - `phase`: `status.phase` (None before the first status).
    - `released_at`: the member's own record that a wave released it (None: held, or never gated).
    - `registered` / `failed`: phase Registered (and, where a cut-over applies, the traffic
      switched) / Failed.
    - `problem_reason` / `problem_since`: for a Failed member, its failure reason and `failedAt`;
      otherwise, while it is parked on a problem (Ready=False with a Warning reason: an LOA, the
      credentials, a 403, OutcomeUnknown …), that reason and since when (Ready's
      lastTransitionTime); None while it progresses.
    - `loa_signed`: the LOA's signing date as the member's Secret says (None: unknown).
    - `own_nnid`: `spec.nnid == Own` (the customer updates the OSR records).
    """

    name: str
    created_at: datetime
    phase: str | None = None
    released_at: datetime | None = None
    registered: bool = False
    failed: bool = False
    problem_reason: str | None = None
    problem_since: datetime | None = None
    loa_signed: date | None = None
    own_nnid: bool = False

    @property
    def final(self) -> bool:
        return self.registered or self.failed

    @property
    def started(self) -> bool:
        """Released by a wave, or past its first partner write on its own (it cannot be held any more)."""
        return self.released_at is not None or self.final or self.phase not in UNSTARTED_PHASES


def ordered(members: Sequence[MemberView], order: Order) -> list[MemberView]:
    """Members in release order: by name, or by creation time then name."""
    if order is Order.CREATION_TIMESTAMP:
        return sorted(members, key=lambda m: (m.created_at, m.name))
    return sorted(members, key=lambda m: m.name)


@dataclass(frozen=True)
class Canary:
    names: tuple[str, ...]
    passed: bool
    passed_now: bool
    registered: int = 0


def choose_canary(
    spec: WaveSpec, recorded: Sequence[str], passed_at: datetime | None, members: Sequence[MemberView],
    held_back: set[str],
) -> Canary:
    """The canary: the recorded one once passed; before that, the recorded members still selected,
    topped up in order with members that are not final and not held back for their LOA (D50)."""
    if passed_at is not None:
        return Canary(tuple(recorded), passed=True, passed_now=False)
    if spec.canary == 0:
        return Canary((), passed=True, passed_now=bool(members))
    by_name = {m.name: m for m in members}
    kept = [name for name in recorded if name in by_name][: spec.canary]
    taken = set(kept)
    for member in members:
        if len(kept) >= spec.canary:
            break
        if member.name not in taken and not member.final and member.name not in held_back:
            kept.append(member.name)
    registered = sum(1 for name in kept if by_name[name].registered)
    passed = bool(kept) and registered == len(kept)
    return Canary(tuple(kept), passed=passed, passed_now=passed, registered=registered)


def failures(members: Sequence[MemberView], stuck_after: timedelta, now: datetime) -> list[WaveFailure]:
    """Started members that are Failed, or parked on a problem for `stuck_after` or longer (D52)."""
    found: list[WaveFailure] = []
    for member in members:
        if not member.started or member.registered:
            continue
        if member.failed:
            found.append(WaveFailure(member=member.name, reason=member.problem_reason or "Failed",
                                     since=member.problem_since, stuck=False))
        elif member.problem_reason and member.problem_since and now - member.problem_since >= stuck_after:
            found.append(WaveFailure(member=member.name, reason=member.problem_reason,
                                     since=member.problem_since, stuck=True))
    return sorted(found, key=lambda f: (f.since or now, f.member))


def stuck_deadlines(members: Sequence[MemberView], stuck_after: timedelta, now: datetime) -> list[datetime]:
    """When members parked now (not yet long enough to count) will count as stuck."""
    return [
        member.problem_since + stuck_after
        for member in members
        if member.started and not member.final and member.problem_reason and member.problem_since
        and member.problem_since + stuck_after > now
    ]


def loa_deadlines(members: Sequence[MemberView], loa_max_age: timedelta, warned: set[str]) -> list[datetime]:
    """The midnights (UTC) at which an LOA not yet too old becomes too old, for members not yet submitted."""
    return [
        datetime.combine(member.loa_signed + loa_max_age + timedelta(days=1), time(), UTC)
        for member in members
        if member.loa_signed is not None and member.name not in warned and not member.final
        and member.phase not in SUBMITTED_PHASES
    ]


def loa_warnings(
    members: Sequence[MemberView], reference: datetime | None, loa_max_age: timedelta, window_open: bool,
) -> tuple[tuple[str, str], ...]:
    """Members not yet submitted whose LOA will be older than `loa_max_age` at `reference` (D55)."""
    if reference is None:
        return ()
    on = reference.astimezone(UTC).date()
    when = "now, while the window is open" if window_open else f"at the next window ({format_time(reference)})"
    warnings = []
    for member in members:
        if member.final or member.loa_signed is None or member.phase in SUBMITTED_PHASES:
            continue
        age = on - member.loa_signed
        if age > loa_max_age:
            warnings.append((member.name, (
                f"The LOA of {member.name}, signed on {member.loa_signed.isoformat()}, is {age.days} days old {when}; "
                f"Infobip needs an LOA no older than {loa_max_age.days} days when the migration is submitted. "
                + ("It is in flight: renew the LOA in its Secret before it reaches the submission."
                   if member.started else "The wave holds it until the LOA is renewed in its Secret.")
            )))
    return tuple(warnings)
