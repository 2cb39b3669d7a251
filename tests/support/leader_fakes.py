"""An in-memory Lease API with the API server's resourceVersion rules, and virtual time for many tasks.

`MemoryLeases` keeps one object per name, bumps `resourceVersion` on every write, answers 409 to a
create of an existing name and to a replace whose resourceVersion is not the current one, and
counts every request it receives (attempts, not successes). Failures and latency can be switched
on. `VirtualTime` is a monotonic clock plus a sleep that waits until `advance()` moves the clock
past its deadline, so several electors run against each other in virtual time, deterministically.
"""

from __future__ import annotations

import asyncio
import copy
import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tendlc.kube import KubeApiError


@dataclass
class VirtualTime:
    now: float = 100.0
    _sleepers: list[tuple[float, int, asyncio.Future[None]]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    on_tick: Callable[[], None] | None = None
    """Called after every wake-up while advancing (samplers check invariants there)."""

    def clock(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.now)

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._order), future))
        await future

    @staticmethod
    async def settle() -> None:
        """Let every runnable task run until it waits on virtual time again."""
        for _ in range(60):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        target = self.now + seconds
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            wake, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self.now = max(self.now, wake)
            future.set_result(None)
            await self.settle()
            if self.on_tick is not None:
                self.on_tick()
        self.now = target
        await self.settle()
        if self.on_tick is not None:
            self.on_tick()


@dataclass
class MemoryLeases:
    """coordination.k8s.io/v1 Leases in one process, with optimistic concurrency."""

    time: VirtualTime
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    failing: bool = False
    hanging: bool = False
    latency: Callable[[], float] = lambda: 0.0
    _version: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _hang: asyncio.Event = field(default_factory=asyncio.Event)

    async def _enter(self, verb: str) -> None:
        self.requests[verb] += 1
        await asyncio.sleep(0)  # concurrent callers interleave here, as on a real server
        if self.hanging:
            await self._hang.wait()
        delay = self.latency()
        if delay:
            await self.time.sleep(delay)
        if self.failing:
            raise KubeApiError(f"{verb}: HTTP 503: etcdserver: request timed out", status=503)

    def _stored(self, key: tuple[str, str], lease: Mapping[str, Any]) -> dict[str, Any]:
        stored = copy.deepcopy(dict(lease))
        stored.setdefault("metadata", {})["resourceVersion"] = str(next(self._version))
        self.objects[key] = stored
        return copy.deepcopy(stored)

    async def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        await self._enter("get")
        found = self.objects.get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def create_lease(self, namespace: str, lease: Mapping[str, Any]) -> dict[str, Any]:
        await self._enter("create")
        key = (namespace, lease["metadata"]["name"])
        if key in self.objects:
            raise KubeApiError("POST: HTTP 409: leases already exists", status=409)
        return self._stored(key, lease)

    async def replace_lease(self, namespace: str, name: str, lease: Mapping[str, Any]) -> dict[str, Any]:
        await self._enter("update")
        key = (namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise KubeApiError("PUT: HTTP 404: not found", status=404)
        if lease["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]:
            raise KubeApiError("PUT: HTTP 409: the object has been modified", status=409)
        return self._stored(key, lease)

    def spec(self, name: str = "tendlc", namespace: str = "ops") -> dict[str, Any]:
        spec: dict[str, Any] = self.objects[(namespace, name)]["spec"]
        return spec

    def put(self, spec: dict[str, Any], name: str = "tendlc", namespace: str = "ops") -> None:
        """Another writer (a replica we do not run, kubectl) sets the Lease's spec."""
        lease = copy.deepcopy(self.objects.get((namespace, name))) or {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace},
        }
        lease["spec"] = spec
        self._stored((namespace, name), lease)

    def release_hanging(self) -> None:
        self.hanging = False
        self._hang.set()
        self._hang = asyncio.Event()
