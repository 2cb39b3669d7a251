"""A live view of a set of CampaignMigrations: list once, then follow the watch, re-rendering.

A background thread reads the watch (and lists again when the server says its resourceVersion is
too old, or after a dropped connection) and hands events to the caller's thread through a queue;
the caller's thread keeps the objects and renders at most once per `interval` however fast events
come, and at least every `refresh` seconds so that durations stay current. Only the watcher thread
calls the API after the first list. Ctrl-C ends it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tendlc_cli.errors import ClusterRefused, ClusterUnreachable
from tendlc_cli.kube import Kube, WatchExpired

Key = tuple[str, str]
RECONNECT_SECONDS = 2.0


@dataclass(frozen=True)
class _Reset:
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class _Event:
    kind: str
    obj: dict[str, Any]


@dataclass(frozen=True)
class _Trouble:
    message: str


def _key(obj: Mapping[str, Any]) -> Key:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


class Watcher:
    def __init__(self, kube: Kube, namespace: str | None, selector: str | None) -> None:
        self.kube, self.namespace, self.selector = kube, namespace, selector
        self.events: queue.Queue[_Reset | _Event | _Trouble] = queue.Queue()
        self.stopped = threading.Event()

    def _follow(self, resource_version: str) -> None:
        version = resource_version
        while not self.stopped.is_set():
            try:
                for kind, obj in self.kube.watch_migrations(self.namespace, self.selector, version):
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if kind != "BOOKMARK":
                        self.events.put(_Event(kind, obj))
                    if self.stopped.is_set():
                        return
            except (WatchExpired, ClusterUnreachable, ClusterRefused) as error:
                if not isinstance(error, WatchExpired):
                    self.events.put(_Trouble(str(error)))
                    self.stopped.wait(RECONNECT_SECONDS)
                version = self._relist()

    def _relist(self) -> str:
        while not self.stopped.is_set():
            try:
                items, version = self.kube.list_migrations(self.namespace, self.selector)
            except (ClusterUnreachable, ClusterRefused) as error:
                self.events.put(_Trouble(str(error)))
                self.stopped.wait(RECONNECT_SECONDS)
                continue
            self.events.put(_Reset(items))
            return version
        return ""

    def run(
        self, render: Callable[[list[dict[str, Any]], str | None], None], *, interval: float, refresh: float,
    ) -> None:
        """Render on every change (bounded by `interval`) until KeyboardInterrupt; `render(objects, trouble)`."""
        items, version = self.kube.list_migrations(self.namespace, self.selector)
        objects: dict[Key, dict[str, Any]] = {_key(obj): obj for obj in items}
        thread = threading.Thread(target=self._follow, args=(version,), name="watch", daemon=True)
        thread.start()
        trouble: str | None = None
        render(list(objects.values()), trouble)
        rendered, dirty = time.monotonic(), False
        try:
            while True:
                now = time.monotonic()
                due = rendered + (interval if dirty else refresh)
                try:
                    message = self.events.get(timeout=max(0.0, due - now))
                except queue.Empty:
                    render(list(objects.values()), trouble)
                    rendered, dirty = time.monotonic(), False
                    continue
                if isinstance(message, _Reset):
                    objects, trouble, dirty = {_key(obj): obj for obj in message.items}, None, True
                elif isinstance(message, _Trouble):
                    trouble, dirty = message.message, True
                elif message.kind == "DELETED":
                    objects.pop(_key(message.obj), None)
                    trouble, dirty = None, True
                else:
                    objects[_key(message.obj)] = message.obj
                    trouble, dirty = None, True
        finally:
            self.stopped.set()
