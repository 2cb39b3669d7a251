"""The restart storm's figures from what was observed: the sandbox ledger, the seeded and final objects.

Pure functions over plain data (a results JSON keeps enough to recompute them). Polls are the
ledger's `GET /number-registration/1/campaigns/{uuid}` (route `infobip.campaign`): a not-due
resource polled before its seeded `nextCheckAt` is an early poll; a due resource is observed at its
first answered (2xx) poll. Writes are attributed per resource by comparing the final object with
the seeded one: a changed `resourceVersion` means the operator wrote it, and the status keys that
differ say whether anything but the poll bookkeeping (D18's volatile keys) changed.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bench.analyze import CLASSES, pacing_efficiency, rate_efficiency, summary_stats

POLL_ROUTE = "infobip.campaign"
VOLATILE = frozenset({"lastCheckedAt", "nextCheckAt", "attempts"})  # tendlc.controller.store.VOLATILE_STATUS_KEYS


def _ok(entry: Mapping[str, Any]) -> bool:
    status = entry.get("status")
    return isinstance(status, int) and 200 <= status < 300


def polls_by_uuid(ledger: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    found: dict[str, list[Mapping[str, Any]]] = {}
    for entry in ledger:
        if entry.get("endpoint") == POLL_ROUTE and entry.get("infobipCampaignId"):
            found.setdefault(str(entry["infobipCampaignId"]), []).append(entry)
    return found


def early_polls(ledger: Sequence[Mapping[str, Any]], uuid: Mapping[str, str], due: Mapping[str, bool],
                next_check: Mapping[str, float], window_end: float) -> dict[str, Any]:
    """Not-due resources polled before their nextCheckAt, and how many came due inside the window."""
    polls = polls_by_uuid(ledger)
    early: list[dict[str, Any]] = []
    not_due = [name for name, is_due in due.items() if not is_due]
    for name in not_due:
        for entry in polls.get(uuid[name], []):
            if float(entry["wallTime"]) < next_check[name]:
                early.append({"name": name, "secondsEarly": round(next_check[name] - float(entry["wallTime"]), 3)})
    came_due = [name for name in not_due if next_check[name] <= window_end]
    late: list[float] = []  # first poll at or after nextCheckAt, minus nextCheckAt
    for name in came_due:
        on_time = [float(e["wallTime"]) for e in polls.get(uuid[name], []) if float(e["wallTime"]) >= next_check[name]]
        if on_time:
            late.append(min(on_time) - next_check[name])
    return {
        "notDue": len(not_due),
        "earlyPolls": len(early),
        "resourcesPolledEarly": len({e["name"] for e in early}),
        "examples": early[:10],
        "earliestNextCheckAt": min((next_check[name] for name in not_due), default=None),
        "windowEnd": window_end,
        "cameDueInWindow": len(came_due),
        "polledOnceDue": len(late),
        "firstPollAfterNextCheckAtSeconds": summary_stats(late),
    }


def due_polls(ledger: Sequence[Mapping[str, Any]], uuid: Mapping[str, str], due: Mapping[str, bool],
              t_start: float, t_ready: float, scale: float) -> dict[str, Any]:
    """When each due resource was first observed, the rate of those polls, and its efficiency.

    `efficiency`: (polls − 1) ÷ (last − first) ÷ ceiling over each due resource's first answered poll
    (analyze.rate_efficiency's definition); `firstRequests`: the same over each one's first request,
    answered or not (how fast the operator sent them; a 429'd one is answered only after its
    backoff, which stretches the first); `fromStart`: the ideal finishing time of the answered polls
    if every one was ready when the operator was (`t_ready`) ÷ the actual one
    (analyze.pacing_efficiency): it charges the start-up too.
    """
    polls = polls_by_uuid(ledger)
    due_names = [name for name, is_due in due.items() if is_due]
    first: dict[str, float] = {}
    attempts = sorted(min(float(e["wallTime"]) for e in polls[uuid[name]]) for name in due_names
                      if polls.get(uuid[name]))  # the first request for each, whatever its answer
    for name in due_names:
        answered = sorted(float(e["wallTime"]) for e in polls.get(uuid[name], []) if _ok(e))
        if answered:
            first[name] = answered[0]
    times = sorted(first.values())
    ceiling = CLASSES["registration.read"]["perSecond"] * scale
    busy = times[-1] - times[0] if len(times) > 1 else 0.0
    achieved = (len(times) - 1) / busy if busy > 0 else None
    pacing = pacing_efficiency(times, [t_ready] * len(times), ceiling)
    repeats = sum(max(0, sum(1 for e in polls.get(uuid[name], []) if _ok(e)) - 1) for name in due_names)
    sent_span = attempts[-1] - attempts[0] if len(attempts) > 1 else 0.0
    sent = (len(attempts) - 1) / sent_span if sent_span > 0 else None
    return {
        "due": len(due_names),
        "firstRequests": {
            "count": len(attempts),
            "achievedPerSecond": None if sent is None else round(sent, 3),
            "efficiency": None if sent is None else round(sent / ceiling, 3),
            "lastAfterStartSeconds": round(attempts[-1] - t_start, 3) if attempts else None,
            "note": "the first request for each due resource, answered or not (a 429 is retried after the backoff)",
        },
        "observed": len(times),
        "allObserved": len(times) == len(due_names),
        "ceilingPerSecond": ceiling,
        "achievedPerSecond": None if achieved is None else round(achieved, 3),
        "efficiency": None if achieved is None else round(achieved / ceiling, 3),
        "fromStart": pacing,
        "firstPollAfterStartSeconds": round(times[0] - t_start, 3) if times else None,
        "allObservedAfterStartSeconds": round(times[-1] - t_start, 3) if times else None,
        "allObservedAfterReadySeconds": round(times[-1] - t_ready, 3) if times else None,
        "idealSeconds": round(len(due_names) / ceiling, 1),
        "observedAfterStart": summary_stats([t - t_start for t in times]),
        "secondPollsInWindow": repeats,
    }


def arrival_pacing(ledger: Sequence[Mapping[str, Any]], scale: float, t0: float) -> dict[str, Any]:
    """How evenly the polls reached the partner: the most in any 1 s window (the partner's bucket holds
    its per-second limit: 10 × scale), and the longest silences (an event loop that could not send)."""
    times = sorted(float(e["wallTime"]) for e in ledger if e.get("endpoint") == POLL_ROUTE)
    limit = CLASSES["registration.read"]["perSecond"] * scale
    most, at, start = 0, None, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        if end - start + 1 > most:
            most, at = end - start + 1, times[start]
    gaps = sorted(((b - a, a) for a, b in itertools.pairwise(times)), reverse=True)[:5]
    return {
        "partnerPerSecondLimit": limit,
        "mostInAnyOneSecond": most,
        "mostInAnyOneSecondAt": None if at is None else round(at - t0, 3),
        "longestGaps": [{"seconds": round(gap, 3), "after": round(a - t0, 3)} for gap, a in gaps],
    }


def ledger_summary(ledger: Sequence[Mapping[str, Any]], scale: float) -> dict[str, Any]:
    by_route = Counter(str(e.get("endpoint")) for e in ledger)
    by_status = Counter(str(e.get("status")) for e in ledger)
    return {
        "calls": len(ledger),
        "byRoute": dict(sorted(by_route.items())),
        "byStatus": dict(sorted(by_status.items())),
        "429s": by_status.get("429", 0),
        "rateLimits": {"registration.read": rate_efficiency(ledger, scale)["registration.read"]},
    }


def writes_by_resource(seeded_status: Mapping[str, Mapping[str, Any]], seeded_version: Mapping[str, str],
                       final: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Which resources the operator wrote (version moved) and which status keys it changed."""
    written_volatile: list[str] = []
    written_changed: dict[str, list[str]] = {}
    changed_keys: Counter[str] = Counter()
    unchanged = 0
    for obj in final:
        name = obj["metadata"]["name"]
        if name not in seeded_version:
            continue
        before, after = seeded_status[name], obj.get("status") or {}
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        changed_keys.update(keys)
        if obj["metadata"]["resourceVersion"] == seeded_version[name]:
            unchanged += 1
        elif set(keys) <= VOLATILE:
            written_volatile.append(name)
        else:
            written_changed[name] = keys
    return {
        "notWritten": unchanged,
        "writtenOnlyPollBookkeeping": len(written_volatile),
        "writtenWithOtherChanges": len(written_changed),
        "changedKeys": dict(changed_keys.most_common()),
        "examplesOnlyPollBookkeeping": written_volatile[:5],
        "examplesOtherChanges": dict(list(written_changed.items())[:5]),
    }


def events_summary(events: Iterable[Mapping[str, Any]], names: Iterable[str]) -> dict[str, Any]:
    wanted = set(names)
    reasons: Counter[str] = Counter()
    for event in events:
        involved = event.get("involvedObject") or {}
        if involved.get("kind") == "CampaignMigration" and involved.get("name") in wanted:
            reasons[f"{event.get('type')}/{event.get('reason')}"] += int(event.get("count") or 1)
    return {"total": sum(reasons.values()), "byTypeReason": dict(reasons.most_common())}


def per_second_polls(ledger: Sequence[Mapping[str, Any]], t0: float) -> list[int]:
    """Infobip campaign GETs per whole second since `t0` (the plot)."""
    times = [float(e["wallTime"]) - t0 for e in ledger if e.get("endpoint") == POLL_ROUTE]
    if not times:
        return []
    series = [0] * (int(max(times)) + 1)
    for t in times:
        if t >= 0:
            series[int(t)] += 1
    return series
