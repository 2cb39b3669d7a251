"""`why NAME`: one migration's story, told from its spec and status.

What it is and where it is, the steps with their times, every condition with its time and
message, the last partner answer (`problem`, `lastError`, the last webhook), what the operator
waits for and when it checks next, and what the user can do (from `tendlc_cli.advice`). Pure:
an object and `now` in, text out; golden files in tests/data/plugin/why/ pin the shape.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tendlc.api import (
    ANNOTATION_DRY_RUN,
    ANNOTATION_OSR_UPDATED,
    ANNOTATION_RETRY,
    ANNOTATION_SUSPEND,
    CampaignMigrationSpec,
    Condition,
    ConditionType,
    MigrationStatus,
    Nnid,
)
from tendlc_cli.advice import advice_for
from tendlc_cli.render import table
from tendlc_cli.times import relative, show

WIDTH = 100
READY_FIRST = [ConditionType.READY]


_COMMAND = re.compile(r"`[^`]*`")
_KEEP = "\x00"


def _wrap(text: str, indent: str = "      ") -> list[str]:
    """Wrapped at WIDTH; a `command` in backticks is never broken, so it can be copied as printed."""
    glued = _COMMAND.sub(lambda m: m.group(0).replace(" ", _KEEP), " ".join(text.split()))
    lines = textwrap.wrap(glued, WIDTH, initial_indent=indent, subsequent_indent=indent, break_long_words=False,
                          break_on_hyphens=False)
    return [line.replace(_KEEP, " ") for line in lines] or [indent]


def _when(moment: datetime | None, now: datetime) -> str:
    return "-" if moment is None else f"{show(moment)} ({relative(moment, now)})"


def _identity(spec: CampaignMigrationSpec | None, raw_spec: Mapping[str, Any]) -> list[str]:
    if spec is None:
        return [f"  campaign      {raw_spec.get('campaignId', '?')} (the spec does not parse; see the Ready condition)"]
    count = (f"numbers from ConfigMap {spec.numbers_from.config_map_key_ref.name}" if spec.numbers_from is not None
             else f"{len(spec.numbers)} number{'s' if len(spec.numbers) != 1 else ''}")
    parts = [
        spec.campaign_id, count,
        f"NNID {spec.nnid.value}",
        # Unset, the operator elects its TENDLC_UPSTREAM_CNP_ID, which only the operator knows.
        f"CNP {raw_spec['upstreamCnpId']}" if raw_spec.get("upstreamCnpId") else "CNP (operator's default)",
        f"Infobip name {spec.campaign_name_or_default}",
    ]
    if spec.number_pool_id:
        parts.append(f"pool {spec.number_pool_id}")
    return [f"  campaign      {', '.join(parts)}", f"  LOA Secret    {spec.loa_secret_ref.name}"]


def _controls(annotations: Mapping[str, str], spec: CampaignMigrationSpec | None, status: MigrationStatus) -> str:
    found = []
    if spec is not None and spec.suspend:
        found.append("spec.suspend=true")
    for key in (ANNOTATION_SUSPEND, ANNOTATION_OSR_UPDATED, ANNOTATION_DRY_RUN):
        if key in annotations:
            found.append(f"{key}={annotations[key]}")
    if ANNOTATION_RETRY in annotations:
        handled = "handled" if annotations[ANNOTATION_RETRY] == status.last_handled_retry else "not handled yet"
        found.append(f"{ANNOTATION_RETRY}={annotations[ANNOTATION_RETRY]} ({handled})")
    return ", ".join(found) or "none"


def _steps(status: MigrationStatus, spec: CampaignMigrationSpec | None) -> list[str]:
    rows = [
        ["numbers imported", show(status.numbers_imported_at)],
        ["CNP elected", show(status.cnp_elected_at)],
        ["migration submitted", show(status.migration_submitted_at)],
        ["registered", show(status.registered_at)],
    ]
    if status.failed_at is not None:
        rows.append(["failed", show(status.failed_at)])
    start = show(status.downtime_started_at)
    submitted = status.migration_submitted_at is not None
    if status.downtime_started_at is None and submitted and spec is not None and spec.nnid is Nnid.INFOBIP:
        start = "unknown (Infobip updates the OSR records and does not announce when)"
    rows += [["downtime started", start], ["downtime ended", show(status.downtime_ended_at)]]
    return table(["STEP", "AT"], rows, indent="  ")


def _conditions(conditions: list[Condition], now: datetime) -> list[str]:
    ordered = sorted(conditions, key=lambda c: (c.type not in READY_FIRST, conditions.index(c)))
    lines = table(
        ["TYPE", "STATUS", "REASON", "SINCE"],
        [[c.type, c.status, c.reason, _when(c.last_transition_time, now)] for c in ordered], indent="  ",
    )
    out = [lines[0]]
    for condition, line in zip(ordered, lines[1:], strict=True):
        out.append(line)
        if condition.message:
            out.extend(_wrap(condition.message))
    return out


def _partner(status: MigrationStatus, now: datetime) -> list[str]:
    lines = []
    if status.problem is not None:
        problem = status.problem
        kind = "permanent" if problem.permanent else "waits for a fix"
        lines.append(f"  problem       {problem.reason} ({kind}), since {_when(problem.since, now)}")
        lines.extend(_wrap(problem.message))
    if status.last_error:
        lines.append(f"  last error    temporary, attempt {status.attempts}:")
        lines.extend(_wrap(status.last_error))
    if status.webhook is not None:
        lines.append(f"  webhook       {status.webhook.stage}, received {_when(status.webhook.received_at, now)}")
    if status.infobip_stage:
        lines.append(f"  Infobip stage {status.infobip_stage}")
    if status.tcr_sharing_status:
        lines.append(f"  TCR election  {status.tcr_sharing_status}")
    return lines or ["  nothing recorded yet"]


def _waiting(status: MigrationStatus, reason: str, now: datetime) -> list[str]:
    lines = [f"  {advice_for(reason).waiting_for}"]
    timing = []
    if status.last_checked_at is not None:
        timing.append(f"last check {_when(status.last_checked_at, now)}")
    if status.next_check_at is not None:
        timing.append(f"next check {_when(status.next_check_at, now)}")
    elif status.problem is not None and status.problem.recheck_at is not None:
        timing.append(f"rechecks by itself {_when(status.problem.recheck_at, now)}")
    if status.attempts:
        timing.append(f"attempts {status.attempts}")
    if timing:
        lines.append("  " + "; ".join(timing))
    marker = status.pending_operation
    if marker is not None:
        lines.extend(_wrap(
            f"exactly-once marker {marker.operation} since {_when(marker.started_at, now)}: the outcome of that "
            "request is established before anything is sent again", "  ",
        ))
    return lines


def _large(status: MigrationStatus) -> list[str]:
    """Campaigns of more than 200 numbers (D60): where the numbers are."""
    progress = status.numbers
    if progress is None:
        return []
    shown = "?" if progress.visible is None else str(progress.visible)
    return ["", "Numbers", f"  {progress.migrated} migrated, {progress.added} added in {progress.batches} request(s), "
            f"{progress.pending} pending (no service yet); Infobip shows {shown} of {progress.total}"]


def _preflight(status: MigrationStatus, now: datetime) -> list[str]:
    """`spec.mode: Preflight` (D64): each finding with its reason."""
    result = status.preflight
    if result is None:
        return []
    planned = show(result.planned_submission_at)
    lines = ["", f"Preflight (read {_when(result.checked_at, now)}, for a submission at {planned})"]
    for title, items in (("problem", result.problems), ("note", result.notes), ("not checked", result.not_checked)):
        for item in items:
            first, second = (item.check, item.reason) if title == "not checked" else (item.reason, item.check)
            lines.append(f"  {title:<12}{first} ({second})")
            lines.extend(_wrap(item.message))
    if not result.problems:
        lines.append("  no problem found")
    return lines


def tell(obj: Mapping[str, Any], now: datetime) -> str:
    """The whole story of one CampaignMigration, as `why` prints it."""
    metadata = obj.get("metadata") or {}
    name, namespace = str(metadata.get("name", "")), str(metadata.get("namespace", ""))
    raw_spec, raw_status = obj.get("spec") or {}, obj.get("status") or {}
    try:
        spec: CampaignMigrationSpec | None = CampaignMigrationSpec.model_validate(raw_spec)
    except ValidationError:
        spec = None
    try:
        status = MigrationStatus.from_dict(raw_status)
    except ValidationError:
        status = MigrationStatus()
    ready = status.condition(ConditionType.READY)
    reason = ready.reason if ready is not None else ""
    lines = [f"cmig/{name} in namespace {namespace}", *_identity(spec, raw_spec)]
    if not raw_status:
        lines += [
            "  phase         - (no status yet)", "",
            "The operator has not written a status yet. Is it running, and does it watch namespace "
            f"{namespace}?", "",
        ]
        return "\n".join(lines)
    ready_text = f"Ready={ready.status}, {ready.reason}" if ready is not None else "no Ready condition"
    lines.append(f"  phase         {raw_status.get('phase', '-')} ({ready_text})")
    if status.infobip_campaign_id:
        lines.append(f"  Infobip ID    {status.infobip_campaign_id}")
    generation = metadata.get("generation")
    seen = f"generation {generation}, status describes {status.observed_generation}"
    if status.observed_generation is not None and generation is not None and status.observed_generation < generation:
        seen += " (the operator has not acted on the latest spec yet)"
    controls = _controls(metadata.get("annotations") or {}, spec, status)
    lines += [f"  spec          {seen}", f"  controls      {controls}"]
    lines += ["", "Steps", *_steps(status, spec)]
    lines += [*_large(status), *_preflight(status, now)]
    lines += ["", "Conditions", *(_conditions(status.conditions, now) if status.conditions else ["  none"])]
    lines += ["", "Last partner answer", *_partner(status, now)]
    lines += ["", "Waiting for", *_waiting(status, reason, now)]
    lines += ["", "What you can do", *_wrap(advice_for(reason).render(name, namespace), "  ")]
    return "\n".join(lines) + "\n"
