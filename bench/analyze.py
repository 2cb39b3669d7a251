"""Turning raw observations (sandbox ledger, apiserver counters, watch timings) into the figures.

Pure functions over plain data, so a results JSON can be re-analysed without re-running anything.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The operator's endpoint classes (tendlc.clients.ratelimit) with the documented limits (requests/s),
# and the sandbox route names (`endpoint` in the ledger) that fall in each.
CLASSES: dict[str, dict[str, Any]] = {
    "numbers.import": {"label": "Infobip numbers import", "perSecond": 1.0, "routes": {"infobip.import_numbers"}},
    "registration.write": {"label": "Infobip migrate", "perSecond": 1.0, "routes": {"infobip.migrate"}},
    "registration.read": {
        "label": "Infobip GET campaign(s)", "perSecond": 10.0,
        "routes": {"infobip.campaign", "infobip.campaigns", "infobip.campaign_numbers", "infobip.network_statuses"},
    },
    "tcr.write": {"label": "TCR migrateCnp", "perSecond": 2.0, "routes": {"tcr.migrate_cnp"}},
    "tcr.read": {"label": "TCR GET campaign/sharing", "perSecond": 20.0, "routes": {"tcr.campaign", "tcr.sharing"}},
}
ROUTE_CLASS = {route: name for name, spec in CLASSES.items() for route in spec["routes"]}
# The targets apply to these two (the non-idempotent writes that gate every migration).
TARGET_CLASSES = ("registration.write", "tcr.write")


def classify(entry: Mapping[str, Any]) -> str:
    return ROUTE_CLASS.get(str(entry.get("endpoint")), "other")


def percentile(values: Iterable[float], q: float) -> float | None:
    data = sorted(values)
    if not data:
        return None
    rank = max(0, min(len(data) - 1, math.ceil(q / 100 * len(data)) - 1))
    return data[rank]


def rate_efficiency(ledger: Sequence[Mapping[str, Any]], scale: float) -> dict[str, Any]:
    """Per endpoint class: calls, 429s, busy period, achieved calls/s and achieved ÷ ceiling.

    Achieved = (n − 1) / (last − first) over the class's successful (non-429) calls: with a bucket of
    burst 1, n calls at the ceiling take exactly (n − 1)/ceiling seconds, so a perfect scheduler
    scores 1.0. Ceiling = documented limit × scale.
    """
    out: dict[str, Any] = {}
    for name, spec in CLASSES.items():
        entries = [e for e in ledger if classify(e) == name]
        ok = sorted(float(e["wallTime"]) for e in entries if e.get("status") != 429)
        ceiling = spec["perSecond"] * scale
        busy = (ok[-1] - ok[0]) if len(ok) > 1 else 0.0
        achieved = (len(ok) - 1) / busy if busy > 0 else None
        by_status: dict[str, int] = {}
        for e in entries:
            by_status[str(e.get("status"))] = by_status.get(str(e.get("status")), 0) + 1
        out[name] = {
            "label": spec["label"],
            "calls": len(entries),
            "byStatus": by_status,
            "429s": by_status.get("429", 0),
            "ceilingPerSecond": ceiling,
            "busySeconds": round(busy, 3),
            "achievedPerSecond": None if achieved is None else round(achieved, 2),
            "efficiency": None if achieved is None else round(achieved / ceiling, 3),
        }
    return out


def ready_times(ledger: Sequence[Mapping[str, Any]], created: Sequence[float],
                decision_delay: float) -> dict[str, list[float]]:
    """Earliest moments at which the k-th call of each gating class could have been made.

    A migration's import is possible once its resource exists (`created`: when each create
    returned); its election once its import has been answered; its Infobip migration once TCR
    has accepted the election, i.e. `decision_delay` wall seconds after its migrateCnp arrived (the
    sandbox's `--sharing-decision-after` ÷ `--time-scale`). The k-th call of a class needs k
    distinct migrations ready for it, so the k-th smallest of these times bounds the k-th call:
    these are lower bounds any scheduler must respect, whatever order it takes migrations in.
    """
    def ok(route: str) -> list[Mapping[str, Any]]:
        return [e for e in ledger if e.get("endpoint") == route and isinstance(e.get("status"), int)
                and 200 <= e["status"] < 300]

    return {
        "numbers.import": sorted(created),
        "tcr.write": sorted(float(e["wallTime"]) + float(e.get("durationMs") or 0) / 1000
                            for e in ok("infobip.import_numbers")),
        "registration.write": sorted(float(e["wallTime"]) + decision_delay for e in ok("tcr.migrate_cnp")),
    }


def pacing_efficiency(calls: Sequence[float], ready: Sequence[float], ceiling: float) -> dict[str, Any]:
    """Achieved ÷ attainable throughput of one class: the ideal finishing time over the actual one.

    The ideal scheduler makes the k-th call at max(ready_k, call_(k−1) + 1/ceiling): at the ceiling
    while work is waiting, at once when the upstream step is the slower one. Efficiency = (ideal
    last call − first ready) ÷ (actual last call − first ready). For a class that always has work
    waiting this is exactly achieved calls/s ÷ ceiling over its busy period; for a class fed more
    slowly than its ceiling (migrateCnp can run only as fast as imports are answered) it asks
    whether the operator kept pace with what was possible, instead of charging it for seconds in
    which no call could be made. A call earlier than its bound proves the work was ready then,
    so ready_k is taken as min(ready_k, call_k) (clock noise never scores above 1).
    """
    calls, ready = sorted(calls), sorted(ready)
    n = min(len(calls), len(ready))
    if n < 2 or ceiling <= 0:
        return {"calls": n, "efficiency": None}
    token = 1.0 / ceiling
    bounds = [min(ready[k], calls[k]) for k in range(n)]
    ideal = bounds[0]
    for k in range(1, n):
        ideal = max(bounds[k], ideal + token)
    actual_span, ideal_span = calls[n - 1] - bounds[0], ideal - bounds[0]
    waiting = sum(1 for k in range(n) if calls[k] - bounds[k] > token)
    return {
        "calls": n,
        "idealSpanSeconds": round(ideal_span, 3),
        "actualSpanSeconds": round(actual_span, 3),
        "efficiency": round(ideal_span / actual_span, 3) if actual_span > 0 else None,
        "upstreamBoundShare": round(1 - (n - 1) * token / ideal_span, 3) if ideal_span > 0 else None,
        "callsLaterThanOneTokenAfterReady": waiting,
    }


def scheduler_efficiency(ledger: Sequence[Mapping[str, Any]], created: Sequence[float], decision_delay: float,
                         scale: float) -> dict[str, Any]:
    """`pacing_efficiency` for the three gating write classes, from the sandbox ledger."""
    ready = ready_times(ledger, created, decision_delay)
    out: dict[str, Any] = {}
    for name, lower_bounds in ready.items():
        spec = CLASSES[name]
        calls = [float(e["wallTime"]) for e in ledger if classify(e) == name and isinstance(e.get("status"), int)
                 and 200 <= e["status"] < 300]
        out[name] = {"label": spec["label"], "ceilingPerSecond": spec["perSecond"] * scale,
                     **pacing_efficiency(calls, lower_bounds, spec["perSecond"] * scale)}
    return out


def per_second(ledger: Sequence[Mapping[str, Any]], t0: float) -> dict[str, list[int]]:
    """Calls per whole second since `t0`, per endpoint class (for the plot)."""
    if not ledger:
        return {}
    end = max(float(e["wallTime"]) for e in ledger)
    length = int(end - t0) + 1
    series = {name: [0] * length for name in CLASSES}
    for e in ledger:
        name = classify(e)
        if name in series:
            index = int(float(e["wallTime"]) - t0)
            if 0 <= index < length:
                series[name][index] += 1
    return series


def request_delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in sorted(after) if after[key] - before.get(key, 0)}


WRITE_VERBS = {"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY", "CREATE", "UPDATE"}


def api_cost(delta: Mapping[str, int], own: Mapping[str, int], n: int) -> dict[str, Any]:
    """Apiserver requests by resource and verb, minus the harness's own, absolute and per migration."""
    resources = ("campaignmigrations", "events", "secrets")
    table: dict[str, dict[str, int]] = {}
    for key, count in delta.items():
        resource, subresource, verb = key.split("|")
        if resource not in resources:
            continue
        label = f"{verb}{'/' + subresource if subresource else ''}"
        table.setdefault(resource, {})[label] = table.setdefault(resource, {}).get(label, 0) + count
    # subtract what the harness did itself (creates, its list/watch)
    harness = {
        ("campaignmigrations", "POST"): own.get("POST campaignmigrations", 0),
        ("campaignmigrations", "LIST"): own.get("LIST campaignmigrations", 0),
    }
    for (resource, verb), count in harness.items():
        if resource in table and verb in table[resource]:
            table[resource][verb] -= count
            if table[resource][verb] == 0:
                del table[resource][verb]
    writes = sum(c for r in table.values() for v, c in r.items() if v.split("/")[0] in WRITE_VERBS)
    status_patches = table.get("campaignmigrations", {}).get("PATCH/status", 0)
    return {
        "byResourceVerb": table,
        "harnessOwn": dict(own),
        "operatorWrites": writes,
        "writesPerMigration": round(writes / n, 2) if n else None,
        "statusPatchesPerMigration": round(status_patches / n, 2) if n else None,
        "eventWritesPerMigration": round(sum(c for v, c in table.get("events", {}).items()
                                             if v.split("/")[0] in WRITE_VERBS) / n, 2) if n else None,
        "secretReadsPerMigration": round(sum(table.get("secrets", {}).values()) / n, 2) if n else None,
        "note": "apiserver counters are cluster-wide; the harness's own creates/lists are subtracted; "
                "WATCH counts only watches that ended during the window",
    }


def calls_per_migration(ledger: Sequence[Mapping[str, Any]], n: int) -> dict[str, float]:
    return _per_migration((classify(e) for e in ledger), n)


def calls_per_route(ledger: Sequence[Mapping[str, Any]], n: int) -> dict[str, float]:
    """Per sandbox route (finer than the classes): which reads a migration's requests are."""
    return _per_migration((str(e.get("endpoint")) for e in ledger), n)


def _per_migration(keys: Iterable[str], n: int) -> dict[str, float]:
    counts: dict[str, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return {name: round(count / n, 2) for name, count in sorted(counts.items())} if n else {}


def summary_stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None, "mean": None}
    return {
        "p50": round(percentile(values, 50) or 0, 3),
        "p99": round(percentile(values, 99) or 0, 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }
