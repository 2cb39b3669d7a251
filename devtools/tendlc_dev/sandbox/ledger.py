"""The ledger: what the partners were asked, and how often each non-idempotent call took effect.

Tests and the chaos suite prove "exactly once" from here: every partner request (refused, faulted
and rate-limited ones included) is recorded with method, path, status, the SHA-256 of its body,
the time, and what it concerns (TCR campaign IDs, Infobip UUID, numbers: `concerns.py`); and each
non-idempotent POST (migrate per `externalCampaignId`, migrateCnp per TCR campaign, add-numbers
per TCR campaign, subscription create per subscriptionId) has a counter of attempts (every request
that arrived, whatever its fate) and successes (requests whose effect was applied, even if the
answer was then lost to an injected fault). `tally` derives attempts and successes per endpoint and
per campaign from the entries at query time. Admin requests are not recorded: they are the test's
hand, not the operator's.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tendlc_dev.sandbox.clock import isoformat
from tendlc_dev.sandbox.concerns import NOTHING, Concern

COUNTED_OPERATIONS = ("migrate", "migrateCnp", "subscriptionCreate", "addNumbers")


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
    campaigns: tuple[str, ...] = ()
    """TCR campaign IDs the path or body names (more are resolved at query time)."""
    infobip_campaign_id: str | None = None
    numbers: tuple[str, ...] = ()
    number_keys: tuple[str, ...] = ()

    def to_json(self, campaigns: list[str] | None = None, numbers: list[str] | None = None) -> dict[str, Any]:
        """The wire form; `campaigns`/`numbers` are the resolved ones (persistence stores the direct)."""
        return {
            "seq": self.seq,
            "time": self.time,
            "wallTime": self.wall_time,
            "partner": self.partner,
            "endpoint": self.endpoint,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "bodySha256": self.body_sha256,
            "status": self.status,
            "fault": self.fault,
            "durationMs": self.duration_ms,
            "effect": self.effect,
            "campaigns": list(self.campaigns) if campaigns is None else campaigns,
            "infobipCampaignId": self.infobip_campaign_id,
            "numbers": list(self.numbers) if numbers is None else numbers,
            "numberKeys": list(self.number_keys),
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
        self.number_owners: dict[str, set[str]] = {}
        """number → TCR IDs, from every migrate / add-numbers request that named the number."""
        self._next_seq = 1
        self.revision = 0

    def open(
        self,
        *,
        now: float,
        wall: float,
        partner: str,
        endpoint: str,
        method: str,
        path: str,
        query: str,
        body: bytes,
        concern: Concern = NOTHING,
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
            campaigns=concern.campaigns,
            infobip_campaign_id=concern.infobip_campaign_id,
            numbers=concern.numbers,
            number_keys=concern.number_keys,
        )
        self._next_seq += 1
        self.entries.append(entry)
        self.revision += 1
        return entry

    def own(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Remember that these numbers were named for these TCR campaigns."""
        for number, tcr_id in pairs:
            self.number_owners.setdefault(number, set()).add(tcr_id)

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
        campaign: str | None = None,
        number: str | None = None,
        campaigns_of: Callable[[LedgerEntry], list[str]] | None = None,
        numbers_of: Callable[[LedgerEntry], list[str]] | None = None,
    ) -> list[LedgerEntry]:
        """Entries after `since` matching every filter given; `campaign` and `number` match what
        `campaigns_of`/`numbers_of` resolve (default: what the request named directly)."""
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
            if number is not None and number not in (numbers_of(entry) if numbers_of else entry.numbers):
                continue
            if campaign is not None and campaign not in (campaigns_of(entry) if campaigns_of else entry.campaigns):
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
            "numberOwners": {number: sorted(owners) for number, owners in self.number_owners.items()},
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
                    campaigns=tuple(raw.get("campaigns", ())),
                    infobip_campaign_id=raw.get("infobipCampaignId"),
                    numbers=tuple(raw.get("numbers", ())),
                    number_keys=tuple(raw.get("numberKeys", ())),
                )
            )
        self.number_owners = {number: set(owners) for number, owners in data.get("numberOwners", {}).items()}
        self.counters = {op: {} for op in COUNTED_OPERATIONS}
        for op, keys in data.get("counters", {}).items():
            for key, raw in keys.items():
                self.counters.setdefault(op, {})[key] = Counter(
                    attempts=raw["attempts"], successes=raw["successes"], by_status=dict(raw["byStatus"])
                )

    def clear(self) -> None:
        self.entries.clear()
        self.counters = {op: {} for op in COUNTED_OPERATIONS}
        self.number_owners.clear()
        self.revision += 1


@dataclass
class Tally:
    """Attempts (requests received), successes (requests that took effect) and answers of a group;
    `attemptsAfterSuccess` counts attempts that arrived after the group's first successful one."""

    attempts: int = 0
    successes: int = 0
    attempts_after_success: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, entry: LedgerEntry) -> None:
        if self.successes:
            self.attempts_after_success += 1
        self.attempts += 1
        self.successes += int(entry.effect)
        label = str(entry.status) if entry.status is not None else "dropped"
        self.by_status[label] = self.by_status.get(label, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "successes": self.successes,
            "attemptsAfterSuccess": self.attempts_after_success,
            "byStatus": dict(sorted(self.by_status.items())),
        }


def tally(
    entries: Iterable[LedgerEntry],
    campaigns_of: Callable[[LedgerEntry], list[str]],
    *,
    campaign: str | None = None,
    endpoint: str | None = None,
    number: str | None = None,
    numbers_of: Callable[[LedgerEntry], list[str]] | None = None,
) -> dict[str, Any]:
    """Attempts and successes per endpoint and per (campaign, endpoint), from ledger entries;
    `number` keeps the requests naming that number (an import before any migrate names no campaign)."""
    by_endpoint: dict[str, Tally] = {}
    by_campaign: dict[str, dict[str, Tally]] = {}
    last = 0
    for entry in entries:
        last = max(last, entry.seq)
        if endpoint is not None and entry.endpoint != endpoint:
            continue
        if number is not None and number not in (numbers_of(entry) if numbers_of else entry.numbers):
            continue
        concerned = campaigns_of(entry)
        if campaign is not None and campaign not in concerned:
            continue
        by_endpoint.setdefault(entry.endpoint, Tally()).add(entry)
        for tcr_id in concerned:
            if campaign is None or tcr_id == campaign:
                by_campaign.setdefault(tcr_id, {}).setdefault(entry.endpoint, Tally()).add(entry)
    return {
        "byEndpoint": {name: t.to_json() for name, t in sorted(by_endpoint.items())},
        "byCampaign": {
            tcr_id: {name: t.to_json() for name, t in sorted(per.items())}
            for tcr_id, per in sorted(by_campaign.items())
        },
        "lastSeq": last,
    }
