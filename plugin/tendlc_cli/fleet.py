"""`status`: the fleet in one screen — counts per phase, in flight, failed, stalled, waiting for you,
downtime in progress — computed from listed CampaignMigrations and rendered as text or JSON.

Pure: objects and `now` in, a summary and its rendering out; the command lists and watches. A
status this plugin cannot parse (a newer operator's) still counts, under its phase string. The
"next window" column belongs to the wave kind and is left out until that kind exists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tendlc.api import ConditionType, MigrationStatus, Phase
from tendlc_cli.advice import Category, advice_for
from tendlc_cli.manifests import WAVE_LABEL
from tendlc_cli.render import table
from tendlc_cli.times import duration, show

NO_STATUS = "<none>"
"""Phase of a resource the operator has not written a status for (yet)."""
IN_FLIGHT = frozenset({
    Phase.IMPORTING_NUMBERS, Phase.ELECTING_CNP, Phase.SUBMITTING_MIGRATION, Phase.IN_MIGRATION,
    Phase.AWAITING_OSR_CONFIRMATION, Phase.ADDING_NUMBERS,
})
PHASE_ORDER = [NO_STATUS, *(phase.value for phase in Phase)]


@dataclass(frozen=True)
class Entry:
    """What the summary needs of one CampaignMigration."""

    namespace: str
    name: str
    campaign_id: str
    phase: str
    reason: str
    stalled: bool
    submitted_at: datetime | None
    downtime_started_at: datetime | None
    downtime_ended_at: datetime | None
    wave: str | None

    @property
    def in_flight(self) -> bool:
        return self.phase in IN_FLIGHT

    @property
    def failed(self) -> bool:
        return self.phase == Phase.FAILED

    @property
    def waiting_for_you(self) -> bool:
        """A fix of yours is awaited (stalled and failed ones are counted on their own)."""
        return not self.failed and not self.stalled and advice_for(self.reason).category is Category.ACTION

    @property
    def in_downtime(self) -> bool:
        return self.downtime_started_at is not None and self.downtime_ended_at is None


def entry(obj: Mapping[str, Any]) -> Entry:
    metadata = obj.get("metadata") or {}
    raw_status = obj.get("status") or {}
    try:
        status = MigrationStatus.from_dict(raw_status)
    except ValidationError:
        status = MigrationStatus()
    ready = status.condition(ConditionType.READY)
    stalled = status.condition(ConditionType.STALLED)
    phase = str(raw_status.get("phase") or NO_STATUS)
    return Entry(
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        campaign_id=str((obj.get("spec") or {}).get("campaignId") or ""),
        phase=phase,
        reason=ready.reason if ready is not None else "",
        stalled=stalled is not None and stalled.status == "True",
        submitted_at=status.migration_submitted_at,
        downtime_started_at=status.downtime_started_at,
        downtime_ended_at=status.downtime_ended_at,
        wave=(metadata.get("labels") or {}).get(WAVE_LABEL),
    )


@dataclass(frozen=True)
class Fleet:
    entries: tuple[Entry, ...]

    @property
    def phases(self) -> dict[str, int]:
        """Count per phase, in workflow order (phases nobody is in are left out)."""
        counts = Counter(e.phase for e in self.entries)
        known = {phase: counts[phase] for phase in PHASE_ORDER if counts[phase]}
        return known | {phase: count for phase, count in sorted(counts.items()) if phase not in known}

    def _where(self, attribute: str) -> list[Entry]:
        return sorted((e for e in self.entries if getattr(e, attribute)), key=lambda e: (e.namespace, e.name))

    @property
    def in_flight(self) -> list[Entry]:
        return self._where("in_flight")

    @property
    def failed(self) -> list[Entry]:
        return self._where("failed")

    @property
    def stalled(self) -> list[Entry]:
        return self._where("stalled")

    @property
    def waiting_for_you(self) -> list[Entry]:
        return self._where("waiting_for_you")

    @property
    def downtime(self) -> list[Entry]:
        return self._where("in_downtime")

    @property
    def has_problems(self) -> bool:
        """Failed, stalled or waiting for you: `status` then exits with 1."""
        return bool(self.failed or self.stalled or self.waiting_for_you)


def summarise(objects: Iterable[Mapping[str, Any]]) -> Fleet:
    return Fleet(tuple(entry(obj) for obj in objects))


def _scope(namespace: str | None, wave: str | None) -> str:
    where = "all namespaces" if namespace is None else f"namespace {namespace}"
    return where + (f", wave {wave}" if wave else "")


def render_text(fleet: Fleet, now: datetime, *, namespace: str | None, wave: str | None, limit: int = 20) -> str:
    """The screen `status` prints; `namespace=None` means all namespaces (adds a NAMESPACE column)."""
    total = len(fleet.entries)
    lines = [f"{total} CampaignMigration{'s' if total != 1 else ''} in {_scope(namespace, wave)} at {show(now)}"]
    if not total:
        return "\n".join(lines) + "\n"
    lines += ["", *table(["PHASE", "COUNT"], [[phase, str(count)] for phase, count in fleet.phases.items()])]
    lines += ["", "   ".join([
        f"in flight: {len(fleet.in_flight)}", f"failed: {len(fleet.failed)}", f"stalled: {len(fleet.stalled)}",
        f"waiting for you: {len(fleet.waiting_for_you)}", f"downtime in progress: {len(fleet.downtime)}",
    ])]

    def section(title: str, entries: list[Entry], headers: list[str], cells: Any) -> None:
        if not entries:
            return
        prefix = ["NAMESPACE"] if namespace is None else []
        rows = [([e.namespace] if namespace is None else []) + cells(e) for e in entries[:limit]]
        lines.extend(["", title, *table(prefix + headers, rows, indent="  ")])
        if len(entries) > limit:
            lines.append(f"  … and {len(entries) - limit} more (-o json lists them all)")

    section("FAILED", fleet.failed, ["NAME", "CAMPAIGN", "REASON"], lambda e: [e.name, e.campaign_id, e.reason])
    section("STALLED", fleet.stalled, ["NAME", "CAMPAIGN", "SUBMITTED", "FOR"],
            lambda e: [e.name, e.campaign_id, show(e.submitted_at),
                       duration(now - e.submitted_at) if e.submitted_at else "-"])
    section("WAITING FOR YOU", fleet.waiting_for_you, ["NAME", "CAMPAIGN", "PHASE", "REASON"],
            lambda e: [e.name, e.campaign_id, e.phase, e.reason])
    section("DOWNTIME IN PROGRESS", fleet.downtime, ["NAME", "CAMPAIGN", "SINCE", "FOR"],
            lambda e: [e.name, e.campaign_id, show(e.downtime_started_at),
                       duration(now - e.downtime_started_at) if e.downtime_started_at else "-"])
    if fleet.waiting_for_you or fleet.failed or fleet.stalled:
        lines += ["", "kubectl tendlc why NAME tells one migration's story and what to do."]
    return "\n".join(lines) + "\n"


def to_json(fleet: Fleet, now: datetime, *, namespace: str | None, wave: str | None) -> dict[str, Any]:
    def ref(e: Entry) -> dict[str, Any]:
        return {"namespace": e.namespace, "name": e.name, "campaignId": e.campaign_id, "phase": e.phase,
                "reason": e.reason}

    return {
        "at": show(now),
        "namespace": namespace,
        "wave": wave,
        "total": len(fleet.entries),
        "phases": fleet.phases,
        "inFlight": len(fleet.in_flight),
        "failed": [ref(e) for e in fleet.failed],
        "stalled": [ref(e) | {"submittedAt": show(e.submitted_at)} for e in fleet.stalled],
        "waitingForYou": [ref(e) for e in fleet.waiting_for_you],
        "downtimeInProgress": [
            ref(e) | {"since": show(e.downtime_started_at),
                      "seconds": int((now - e.downtime_started_at).total_seconds()) if e.downtime_started_at else None}
            for e in fleet.downtime
        ],
    }
