"""The ledger: what the partners were asked, and how often each non-idempotent call took effect.

Tests and the chaos suite prove "exactly once" from here: every partner request is recorded with
method, path, status, the SHA-256 of its body and the time; and each non-idempotent POST (migrate
per `externalCampaignId`, migrateCnp per TCR campaign, subscription create per subscriptionId) has
a counter of attempts (every request that arrived, whatever its fate) and successes (requests
whose effect was applied, even if the answer was then lost to an injected fault). Admin requests
are not recorded: they are the test's hand, not the operator's.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from tendlc_dev.sandbox.clock import isoformat

COUNTED_OPERATIONS = ("migrate", "migrateCnp", "subscriptionCreate")


@dataclass
class LedgerEntry:
    seq: int
    time: str
    """Sandbox time (ISO 8601) when the request arrived."""
    wall_time: float
    """Real epoch seconds when the request arrived (benchmarks plot calls per second with it)."""
    partner: str
    endpoint: str
    method: str
    path: str
    query: str
    body_sha256: str
    status: int | None = None
    """None when the connection was dropped without an answer."""
    fault: str | None = None
    duration_ms: float = 0.0
    effect: bool = False
    """True when the request changed partner state (a migrate that created a campaign, …)."""

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        return {
            "seq": raw["seq"],
            "time": raw["time"],
            "wallTime": raw["wall_time"],
            "partner": raw["partner"],
            "endpoint": raw["endpoint"],
            "method": raw["method"],
            "path": raw["path"],
            "query": raw["query"],
            "bodySha256": raw["body_sha256"],
            "status": raw["status"],
            "fault": raw["fault"],
            "durationMs": raw["duration_ms"],
            "effect": raw["effect"],
        }


@dataclass
class Counter:
    attempts: int = 0
    successes: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "successes": self.successes, "byStatus": dict(self.by_status)}


class Ledger:
    """Bounded request log plus unbounded per-campaign counters (counters never lose history)."""

    def __init__(self, limit: int = 200_000) -> None:
        self.entries: deque[LedgerEntry] = deque(maxlen=limit)
        self.counters: dict[str, dict[str, Counter]] = {op: {} for op in COUNTED_OPERATIONS}
        self._next_seq = 1
        self.revision = 0

    def open(
        self, *, now: float, wall: float, partner: str, endpoint: str, method: str, path: str, query: str, body: bytes
    ) -> LedgerEntry:
        entry = LedgerEntry(
            seq=self._next_seq,
            time=isoformat(now),
            wall_time=wall,
            partner=partner,
            endpoint=endpoint,
            method=method,
            path=path,
            query=query,
            body_sha256=hashlib.sha256(body).hexdigest(),
        )
        self._next_seq += 1
        self.entries.append(entry)
        self.revision += 1
        return entry

    def counter(self, operation: str, key: str) -> Counter:
        return self.counters.setdefault(operation, {}).setdefault(key, Counter())

    def attempt(self, operation: str, key: str) -> None:
        self.counter(operation, key).attempts += 1
        self.revision += 1

    def success(self, operation: str, key: str) -> None:
        self.counter(operation, key).successes += 1
        self.revision += 1

    def outcome(self, operation: str, key: str, status: int | None) -> None:
        by_status = self.counter(operation, key).by_status
        label = str(status) if status is not None else "dropped"
        by_status[label] = by_status.get(label, 0) + 1
        self.revision += 1

    def query(
        self,
        *,
        since: int = 0,
        limit: int = 1000,
        partner: str | None = None,
        method: str | None = None,
        path_contains: str | None = None,
        endpoint: str | None = None,
    ) -> list[LedgerEntry]:
        found: list[LedgerEntry] = []
        for entry in self.entries:
            if entry.seq <= since:
                continue
            if partner is not None and entry.partner != partner:
                continue
            if method is not None and entry.method != method.upper():
                continue
            if endpoint is not None and entry.endpoint != endpoint:
                continue
            if path_contains is not None and path_contains not in entry.path:
                continue
            found.append(entry)
            if len(found) >= limit:
                break
        return found

    def counters_json(self) -> dict[str, dict[str, Any]]:
        return {op: {key: c.to_json() for key, c in keys.items()} for op, keys in self.counters.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "nextSeq": self._next_seq,
            "entries": [e.to_json() for e in self.entries],
            "counters": self.counters_json(),
        }

    def load_json(self, data: dict[str, Any]) -> None:
        self._next_seq = int(data.get("nextSeq", 1))
        self.entries.clear()
        for raw in data.get("entries", []):
            self.entries.append(
                LedgerEntry(
                    seq=raw["seq"],
                    time=raw["time"],
                    wall_time=raw["wallTime"],
                    partner=raw["partner"],
                    endpoint=raw["endpoint"],
                    method=raw["method"],
                    path=raw["path"],
                    query=raw["query"],
                    body_sha256=raw["bodySha256"],
                    status=raw["status"],
                    fault=raw["fault"],
                    duration_ms=raw["durationMs"],
                    effect=raw["effect"],
                )
            )
        self.counters = {op: {} for op in COUNTED_OPERATIONS}
        for op, keys in data.get("counters", {}).items():
            for key, raw in keys.items():
                self.counters.setdefault(op, {})[key] = Counter(
                    attempts=raw["attempts"], successes=raw["successes"], by_status=dict(raw["byStatus"])
                )

    def clear(self) -> None:
        self.entries.clear()
        self.counters = {op: {} for op in COUNTED_OPERATIONS}
        self.revision += 1
