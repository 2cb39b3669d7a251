"""The restart storm's instruments while the operator runs: the ledger follower, the writes snapshot,
py-spy and the event-loop-lag file.

They only read (the sandbox's admin API, the API server's metrics and objects, files the
wrapper writes); what the figures mean is `bench.storm_analyze`'s job, and when to take them
`bench.restart_storm`'s.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.analyze import api_cost, request_delta
from bench.stack import NAMESPACE, Kube, SandboxAdmin, Stack
from bench.storm_analyze import events_summary, writes_by_resource
from bench.storm_seed import Seeded


def _ok(entry: dict[str, Any]) -> bool:
    status = entry.get("status")
    return isinstance(status, int) and 200 <= status < 300


@dataclass
class LedgerFollower:
    """Reads the sandbox ledger as it grows; knows which due resources were observed and which
    not-due ones were polled once due."""

    admin: SandboxAdmin
    due: set[str]  # UUIDs
    not_due: dict[str, float]  # UUID → seeded nextCheckAt (epoch)
    entries: list[dict[str, Any]] = field(default_factory=list)
    observed: set[str] = field(default_factory=set)
    on_time: set[str] = field(default_factory=set)
    since: int = 0

    def read(self) -> None:
        page = self.admin.get("/ledger", since=self.since, limit=100_000)
        new: list[dict[str, Any]] = page["entries"]
        self.entries += new
        self.since = page.get("lastSeq") or self.since
        for entry in new:
            uuid = entry.get("infobipCampaignId")
            if uuid in self.due and _ok(entry):
                self.observed.add(uuid)
            elif uuid in self.not_due and float(entry["wallTime"]) >= self.not_due[uuid]:
                self.on_time.add(uuid)

    @property
    def all_due_observed(self) -> bool:
        return len(self.observed) == len(self.due)

    @property
    def all_not_due_polled(self) -> bool:
        return len(self.on_time) == len(self.not_due)

    def progress(self) -> str:
        return (f"due observed {len(self.observed)}/{len(self.due)}, not-due polled once due "
                f"{len(self.on_time)}/{len(self.not_due)}, partner calls {len(self.entries)}")


def writes_snapshot(kube: Kube, before: dict[str, int], own_before: dict[str, int], seeded: Seeded, n: int,
                    started: float, label: str) -> dict[str, Any]:
    """Kubernetes writes since `before` (metrics), and per resource against the seed (objects)."""
    after = kube.request_totals()
    own = {k: v - own_before.get(k, 0) for k, v in kube.own_requests.items()}
    final, _ = kube.list_migrations()
    events: list[dict[str, Any]] = kube.api.sanitize_for_serialization(  # type: ignore[no-untyped-call]
        kube.core.list_namespaced_event(NAMESPACE).items)
    delta = request_delta(before, after)
    cost = api_cost(delta, own, n)
    table = cost["byResourceVerb"]
    return {
        "takenAt": label,
        "secondsAfterStart": round(time.time() - started, 1),
        "statusPatches": table.get("campaignmigrations", {}).get("PATCH/status", 0),
        "eventPosts": sum(c for v, c in table.get("events", {}).items() if v.startswith("POST")),
        "operatorWrites": cost["operatorWrites"],
        "byResourceVerb": table,
        "perResource": writes_by_resource(seeded.status, seeded.version, final),
        "events": events_summary(events, seeded.uuid),
        "apiserverRaw": delta,
        "note": cost["note"],
    }


def start_profiler(stack: Stack, pid: int, out: Path, seconds: float) -> None:
    """py-spy on the operator (collapsed stacks, 50 Hz), for the whole run or its first `seconds`."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    duration = ["--duration", f"{max(1, round(seconds))}"] if seconds > 0 else []
    stack.spawn("py-spy", [py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "50",
                           "--output", str(out), "--nonblocking", *duration])


def loop_lag(path: Path, t_start: float) -> dict[str, Any]:
    """The wrapper's once-a-second worst event-loop lag: summary and the timeline since the start."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    lags = [float(r["maxLagSeconds"]) for r in rows]
    return {
        "seconds": len(rows),
        "max": max(lags, default=None),
        "maxAt": next((round(float(r["wallTime"]) - t_start, 1) for r in rows
                       if float(r["maxLagSeconds"]) == max(lags)), None) if lags else None,
        "secondsOver100ms": sum(1 for lag in lags if lag > 0.1),
        "secondsOver1s": sum(1 for lag in lags if lag > 1.0),
        "gcSeconds": round(sum(float(r.get("gcSeconds", 0)) for r in rows), 3),
        "gen2Collections": sum(int(r.get("gen2Collections", 0)) for r in rows),
        "longestGen2SecondsInASecond": max((float(r.get("gen2Seconds", 0)) for r in rows), default=None),
        "worst": sorted(({"at": round(float(r["wallTime"]) - t_start, 1), "lag": r["maxLagSeconds"],
                          "gc": r.get("gcSeconds"), "gen2": r.get("gen2Seconds")} for r in rows),
                        key=lambda w: -float(w["lag"]))[:10],
        "timeline": [(round(float(r["wallTime"]) - t_start, 1), r["maxLagSeconds"]) for r in rows],
        "note": "per wall-clock second, the largest lateness of a 50 ms timer in the operator's event loop",
    }
