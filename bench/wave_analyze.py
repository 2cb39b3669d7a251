"""Figures of the wave benchmark (bench/wave.py) from raw observations: pure functions over plain data.

- `window_report`: every Infobip migrate request the sandbox received, against the wave's windows:
  how many arrived outside any window (must be 0) and, per window, the rate while it was open as a
  share of the migrate ceiling. The rate is counted from the window's start (the lag to the first
  request counts against it) to its end, or — in the window where the last member submitted — to
  that last request plus one token: a window is charged only for seconds in which work remained.
- `switch_latency`: REGISTERED → traffic switched, per member, as p50/p99/max.
- `writes_by_resource`: the API server's write requests per resource and verb, and per member.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bench.analyze import WRITE_VERBS, summary_stats

MIGRATE_ROUTE = "infobip.migrate"


def migrate_times(ledger: Sequence[Mapping[str, Any]]) -> list[float]:
    """Wall times of every migrate request received (any answer: a refused resend counts too)."""
    return sorted(float(e["wallTime"]) for e in ledger if e.get("endpoint") == MIGRATE_ROUTE)


def window_report(calls: Sequence[float], windows: Sequence[tuple[float, float]], ceiling: float) -> dict[str, Any]:
    calls = sorted(calls)
    outside = [t for t in calls if not any(start <= t <= end for start, end in windows)]
    token = 1.0 / ceiling
    report: list[dict[str, Any]] = []
    for index, (start, end) in enumerate(windows):
        inside = [t for t in calls if start <= t <= end]
        later = any(t > end for t in calls)
        effective_end = end if later or not inside else min(end, inside[-1] + token)
        span = max(effective_end - start, token)
        achieved = len(inside) / span
        report.append({
            "window": index + 1,
            "openSeconds": round(end - start, 2),
            "migrates": len(inside),
            "firstRequestLagSeconds": round(inside[0] - start, 3) if inside else None,
            "chargedSeconds": round(span, 2),
            "achievedPerSecond": round(achieved, 3),
            "ceilingPerSecond": ceiling,
            "efficiency": round(achieved / ceiling, 3),
            "workRemainedAfter": later,
        })
    gaps = [(windows[i][1], windows[i + 1][0]) for i in range(len(windows) - 1)]
    return {
        "requests": len(calls),
        "outsideWindows": len(outside),
        "maxSecondsOutside": round(max((_distance(t, windows) for t in outside), default=0.0), 3),
        "inGaps": sum(1 for t in calls for start, end in gaps if end > t > start),
        "windows": report,
    }


def _distance(moment: float, windows: Iterable[tuple[float, float]]) -> float:
    return min(start - moment if moment < start else moment - end for start, end in windows)


def epoch(text: str | None) -> float | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def switch_latency(pairs: Iterable[tuple[float | None, float | None]]) -> dict[str, Any]:
    """(registered, switched) epoch seconds per member → summary of switched − registered."""
    values = [switched - registered for registered, switched in pairs
              if registered is not None and switched is not None]
    return {"members": len(values), **summary_stats(values)}


def writes_by_resource(delta: Mapping[str, int], members: int, harness: Mapping[str, int]) -> dict[str, Any]:
    """Write requests per `resource[/subresource] VERB` from an `apiserver_request_total` delta,
    minus the harness's own (`harness`: same keys), in total and per member."""
    table: dict[str, int] = {}
    for key, count in delta.items():
        resource, subresource, verb = key.split("|")
        if verb not in WRITE_VERBS or not resource:
            continue
        label = f"{resource}{'/' + subresource if subresource else ''} {verb}"
        table[label] = table.get(label, 0) + count - harness.get(label, 0)
    table = {label: count for label, count in sorted(table.items()) if count}
    total = sum(table.values())
    return {
        "byResourceVerb": table,
        "total": total,
        "perMember": round(total / members, 2) if members else None,
        "perMemberByResource": {label: round(count / members, 3) for label, count in table.items()} if members else {},
    }
