"""A MigrationWave as the plugin shows and controls it: its summary lines and the `approve` decision.

`wave_lines` is what `status --wave` prints above the members: the phase, the counts, whether a
window is open (until when) or when the next one opens, the canary and the approval gate.
`decide_approve` turns `kubectl tendlc approve WAVE` into a checked annotation change: a new
`tendlc.io/approve` value only while the wave is waiting for one (D53: a value written before the
gate opened is set aside by the operator, so approving early would silently do nothing). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tendlc.api import ANNOTATION_APPROVE, WavePhase, format_time
from tendlc_cli.controls import Outcome, Verdict
from tendlc_cli.times import duration, parse_rfc3339, show


def _status(wave: Mapping[str, Any]) -> Mapping[str, Any]:
    return wave.get("status") or {}


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), {})


def window_line(status: Mapping[str, Any], now: datetime) -> str:
    window = status.get("nextWindow") or {}
    if not window:
        if status.get("windowOpen", True):
            return "windows: none set (always open)"
        return "next window: none within a year"
    start, end = parse_rfc3339(str(window["start"])), parse_rfc3339(str(window["end"]))
    if status.get("windowOpen") and start <= now < end:
        return f"window open now, until {show(end)} ({duration(end - now)} left): submissions allowed"
    if start > now:
        return f"next window {show(start)} to {show(end)} (opens in {duration(start - now)}): no submission before"
    return f"window {show(start)} to {show(end)}"


def wave_lines(wave: Mapping[str, Any], now: datetime) -> list[str]:
    status = _status(wave)
    metadata = wave.get("metadata") or {}
    counts = status.get("counts") or {}
    spec = wave.get("spec") or {}
    lines = [
        f"MigrationWave {metadata.get('name')}: {status.get('phase') or 'not planned yet'}"
        + (f" — {_condition(status, 'Halted').get('message')}" if status.get("phase") == WavePhase.HALTED else ""),
        "  " + "   ".join(f"{label}: {counts.get(key, 0)}" for label, key in (
            ("members", "members"), ("held", "held"), ("in flight", "inFlight"), ("registered", "registered"),
            ("failed", "failed"), ("stuck", "stuck"))) + f"   (maxInFlight {spec.get('maxInFlight', 10)}, "
        f"maxFailed {spec.get('maxFailed', 1)})",
        "  " + window_line(status, now),
    ]
    canary = status.get("canary") or []
    if canary:
        passed = status.get("canaryPassedAt")
        lines.append(f"  canary: {', '.join(canary)}" + (f" (passed {passed})" if passed else " (not passed yet)"))
    if (spec.get("approval") or {}).get("afterCanary"):
        if status.get("approvedAt"):
            lines.append(f"  approval: given {status['approvedAt']}")
        elif status.get("phase") == WavePhase.AWAITING_APPROVAL:
            lines.append(f"  approval: awaited — kubectl tendlc approve {metadata.get('name')}")
        else:
            lines.append("  approval: asked for once the canary has passed")
    for warning in status.get("loaWarnings") or []:
        lines.append(f"  LOA: {warning.get('member')}: {warning.get('message')}")
    return lines


def wave_json(wave: Mapping[str, Any]) -> dict[str, Any]:
    status = _status(wave)
    return {key: status.get(key) for key in (
        "phase", "counts", "nextWindow", "windowOpen", "canary", "canaryPassedAt", "approvedAt", "failures",
        "loaWarnings")} | {"name": (wave.get("metadata") or {}).get("name"),
                            "namespace": (wave.get("metadata") or {}).get("namespace")}


def decide_approve(wave: Mapping[str, Any], now: datetime, note: str | None = None) -> Verdict:
    """A new `tendlc.io/approve` value, only while the wave waits for one."""
    status, spec = _status(wave), wave.get("spec") or {}
    if not (spec.get("approval") or {}).get("afterCanary"):
        return Verdict(Outcome.REFUSED, "this wave asks for no approval (spec.approval.afterCanary is false)")
    if status.get("approvedAt"):
        return Verdict(Outcome.UNCHANGED, f"already approved at {status['approvedAt']}")
    phase = status.get("phase")
    if phase == WavePhase.HALTED:
        return Verdict(Outcome.REFUSED, "halted: " + str(_condition(status, "Halted").get("message") or "see the wave")
                       + "; an approval does not lift a halt (fix the failures, then raise maxFailed or retry)")
    if phase != WavePhase.AWAITING_APPROVAL:
        return Verdict(Outcome.REFUSED, f"phase {phase or '-'}: the wave asks for approval once its canary is "
                                        "Registered (phase AwaitingApproval); an earlier value would be set aside")
    if note is not None and note in (status.get("lastHandledApproval"),
                                     ((wave.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_APPROVE)):
        return Verdict(Outcome.REFUSED, f"the value {note!r} was set before (the wave takes only a new value as "
                                        "approval); choose another --note")
    value = note or f"approved-{format_time(now)}"
    return Verdict(Outcome.CHANGED, f"approved ({ANNOTATION_APPROVE}={value}): the other members will be released",
                   {ANNOTATION_APPROVE: value})
