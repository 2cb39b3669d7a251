"""The user's controls as checked decisions: `retry`, `suspend`, `resume`, `confirm-osr`.

Each `decide_*` looks at one CampaignMigration as stored and returns a `Verdict`: the annotation
change to make, or why nothing is changed (already so) or why the control is refused (it would not
do what the user expects: a retry of a registered campaign, an OSR confirmation for an
Infobip-managed NNID…). The command applies a change with the object's resourceVersion, so a
verdict is never applied to a newer state than the one it was decided on. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tendlc.api import ANNOTATION_OSR_UPDATED, ANNOTATION_RETRY, ANNOTATION_SUSPEND, Nnid, Phase, format_time
from tendlc_cli.times import parse_rfc3339, show

TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
"""What the operator reads as "suspended" in `tendlc.io/suspend` (as its executor does)."""
CLOCK_SKEW = timedelta(minutes=1)


class Outcome(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str
    annotations: dict[str, str | None] = field(default_factory=dict)
    """The merge patch of `metadata.annotations` (None removes a key)."""


def _parts(obj: Mapping[str, Any]) -> tuple[Mapping[str, str], Mapping[str, Any], Mapping[str, Any]]:
    return (obj.get("metadata") or {}).get("annotations") or {}, obj.get("spec") or {}, obj.get("status") or {}


def _phase(status: Mapping[str, Any]) -> str | None:
    phase = status.get("phase")
    return str(phase) if phase else None


def _ready_reason(status: Mapping[str, Any]) -> str:
    ready: Mapping[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    return str(ready.get("reason") or "")


def _suspended(annotations: Mapping[str, str], spec: Mapping[str, Any]) -> bool:
    return spec.get("suspend") is True or annotations.get(ANNOTATION_SUSPEND, "").strip().lower() in TRUE_WORDS


def decide_retry(obj: Mapping[str, Any], now: datetime) -> Verdict:
    """A new `tendlc.io/retry` value: the current wait is skipped once, a problem waiting for a fix cleared."""
    annotations, spec, status = _parts(obj)
    phase = _phase(status)
    if phase is None:
        return Verdict(Outcome.REFUSED, "the operator has not started on it yet: nothing to retry")
    if phase == Phase.REGISTERED:
        return Verdict(Outcome.REFUSED, "Registered: nothing to retry")
    if phase == Phase.FAILED:
        return Verdict(Outcome.REFUSED, f"Failed ({_ready_reason(status)}) permanently: a retry does not change that; "
                                        "fix the cause and create a new CampaignMigration")
    if _suspended(annotations, spec):
        return Verdict(Outcome.REFUSED, "suspended: resume it first (kubectl tendlc resume)")
    token = format_time(now)
    return Verdict(Outcome.CHANGED, f"retry requested ({ANNOTATION_RETRY}={token}); it was waiting on "
                                    f"{_ready_reason(status) or phase}", {ANNOTATION_RETRY: token})


def decide_suspend(obj: Mapping[str, Any]) -> Verdict:
    annotations, spec, status = _parts(obj)
    phase = _phase(status)
    if phase in (Phase.REGISTERED, Phase.FAILED):
        return Verdict(Outcome.REFUSED, f"{phase}: nothing left to suspend")
    if _suspended(annotations, spec):
        return Verdict(Outcome.UNCHANGED, "already suspended")
    return Verdict(Outcome.CHANGED, f"suspended ({ANNOTATION_SUSPEND}=true): no partner call until resumed",
                   {ANNOTATION_SUSPEND: "true"})


def decide_resume(obj: Mapping[str, Any]) -> Verdict:
    annotations, spec, _ = _parts(obj)
    if spec.get("suspend") is True:
        return Verdict(Outcome.REFUSED, "spec.suspend is true: set it to false in the manifest (your Git source); "
                                        "the annotation cannot override the spec")
    if ANNOTATION_SUSPEND not in annotations:
        return Verdict(Outcome.UNCHANGED, "not suspended")
    return Verdict(Outcome.CHANGED, f"resumed ({ANNOTATION_SUSPEND} removed): it goes on where it stopped",
                   {ANNOTATION_SUSPEND: None})


def decide_confirm_osr(obj: Mapping[str, Any], now: datetime, at: datetime | None = None) -> Verdict:
    """`tendlc.io/osr-updated=<at or now>`: own NNID only, and only while the operator asks for it."""
    annotations, spec, status = _parts(obj)
    moment = at or now
    if spec.get("nnid", Nnid.INFOBIP.value) != Nnid.OWN.value:
        return Verdict(Outcome.REFUSED, "nnid is Infobip: Infobip updates the OSR records, there is nothing to confirm")
    existing = annotations.get(ANNOTATION_OSR_UPDATED)
    if existing is not None:
        if at is None or existing == show(moment):
            return Verdict(Outcome.UNCHANGED, f"already confirmed ({ANNOTATION_OSR_UPDATED}={existing})")
        return Verdict(Outcome.REFUSED, f"already confirmed with {existing}; the downtime start is recorded once")
    phase = _phase(status)
    if phase != Phase.AWAITING_OSR_CONFIRMATION:
        return Verdict(Outcome.REFUSED, f"phase {phase or '-'}: the operator asks for the OSR confirmation in phase "
                                        "AwaitingOsrConfirmation, after Infobip accepted the migration")
    if moment > now + CLOCK_SKEW:
        return Verdict(Outcome.REFUSED, f"{show(moment)} is in the future")
    submitted = status.get("migrationSubmittedAt")
    if submitted and moment < parse_rfc3339(str(submitted)) - CLOCK_SKEW:
        return Verdict(Outcome.REFUSED, f"{show(moment)} is before the migration was submitted ({submitted}): "
                                        "the downtime start would be wrong")
    value = show(moment)
    return Verdict(Outcome.CHANGED, f"OSR update confirmed ({ANNOTATION_OSR_UPDATED}={value}); downtime started then",
                   {ANNOTATION_OSR_UPDATED: value})
