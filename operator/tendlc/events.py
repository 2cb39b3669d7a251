"""Kubernetes Events about CampaignMigrations, posted in the background by a few workers.

Events are best effort: a pass never waits for one, and one that cannot be posted is logged and
dropped. They go through `KubeApi` (its connections and its credentials) from one queue served by
`workers` tasks. Not Kopf's `kopf.event()`: it starts one worker per object, each on a new TLS
connection with a 256 KiB buffer, and needs Kopf's per-object context in the caller, which keeps
each resource's first watch event alive for the life of its loop (docs/performance.md, F5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from tendlc.kube import KubeApiError
from tendlc.workflow import Event

MAX_MESSAGE_BYTES = 1024  # the API server refuses longer Event messages (it counts UTF-8 bytes)
MAX_QUEUED = 10_000  # Events waiting to be posted; beyond that (an API outage) new ones are dropped
COMPONENT = "tendlc"


def shorten(message: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """Keeps the head and the tail (where the advice usually is) of a message over `limit` bytes."""
    data = message.encode()
    if len(data) <= limit:
        return message
    keep = limit - 3
    head = data[: keep - keep // 2].decode(errors="ignore")
    tail = data[len(data) - keep // 2 :].decode(errors="ignore")
    return f"{head}...{tail}"


def event_manifest(body: Mapping[str, Any], event: Event, now: datetime, component: str = COMPONENT) -> dict[str, Any]:
    """A core/v1 Event about `body`, shaped as `kubectl describe` and `kubectl get events` expect."""
    metadata = body["metadata"]
    stamp = now.isoformat()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"namespace": metadata["namespace"], "generateName": f"{metadata['name']}."},
        "involvedObject": {
            "apiVersion": body.get("apiVersion"),
            "kind": body.get("kind"),
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "uid": metadata.get("uid"),
            "resourceVersion": metadata.get("resourceVersion"),
        },
        "type": event.type,
        "reason": event.reason,
        "message": shorten(event.message),
        "action": event.reason,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": component,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "count": 1,
    }


class EventSink(Protocol):
    """What the poster needs of the API: `KubeApi.create_event`."""

    async def create_event(self, namespace: str, manifest: Mapping[str, Any]) -> None: ...


class EventPoster:
    """A queue of Events and `workers` tasks posting them; `post` never blocks or raises."""

    def __init__(
        self,
        sink: EventSink,
        *,
        clock: Callable[[], datetime],
        workers: int = 4,
        retry_delays: Sequence[float] = (1.0, 3.0),
        logger: logging.Logger | None = None,
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._workers = workers
        self._retry_delays = tuple(retry_delays)
        self._logger = logger or logging.getLogger("tendlc.events")
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_QUEUED)
        self._tasks: list[asyncio.Task[None]] = []
        self.posted = 0
        self.dropped = 0

    def post(self, body: Mapping[str, Any], event: Event) -> None:
        """Queues the Event (timestamped now, so `kubectl get events` shows when it happened)."""
        try:
            self._queue.put_nowait(event_manifest(body, event, self._clock()))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped % 1000 == 1:  # an outage: say so, but not ten thousand times
                self._logger.warning("%d Events waiting to be posted; dropping new ones (%d so far)",
                                     self._queue.qsize(), self.dropped)
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._work(), name=f"tendlc event poster {i}") for i in range(self._workers)
            ]

    async def _work(self) -> None:
        while True:
            manifest = await self._queue.get()
            try:
                await self._post(manifest)
            finally:
                self._queue.task_done()

    async def _post(self, manifest: dict[str, Any]) -> None:
        namespace = manifest["metadata"]["namespace"]
        delays = iter(self._retry_delays)
        while True:
            try:
                await self._sink.create_event(namespace, manifest)
                self.posted += 1
                return
            except Exception as error:  # anything: a worker must outlive every failure
                status = error.status if isinstance(error, KubeApiError) else None
                refused = status is not None and 400 <= status < 500 and status != 429
                delay = None if refused else next(delays, None)
                if delay is None:
                    self.dropped += 1
                    self._logger.warning(
                        "Event %s for %s/%s not posted: %s", manifest["reason"], namespace,
                        manifest["involvedObject"]["name"], error,
                    )
                    return
            await asyncio.sleep(delay)  # a background worker's backoff, not a handler's wait

    async def close(self, grace: float = 5.0) -> None:
        """Posts what is queued for up to `grace` seconds, then stops the workers."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
