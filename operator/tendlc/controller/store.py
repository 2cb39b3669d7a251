"""The status store: how a resource's status reaches the API server.

`StatusStore.write(resource)` sends the merge patch from what was last written to what the pass
holds, and nothing when they agree. A patch that would only move `lastCheckedAt`, `nextCheckAt` or
`attempts` — what every poll of a still-waiting campaign changes — is held back until
`refresh_seconds` have passed since the last write (D18); `force=True` sends it anyway (the
exactly-once marker is never held back). After a write it tells `on_written(resource, before)`,
so the webhook index and the metrics learn what was written without this room knowing them.
Talks to the API through a two-method protocol, so tests can hold the server in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from tendlc.api.status import MigrationStatus
from tendlc.controller.resource import Resource

VOLATILE_STATUS_KEYS = frozenset({"lastCheckedAt", "nextCheckAt", "attempts"})

OnWritten = Callable[[Resource, MigrationStatus], None]
"""Told after every accepted write: the resource (its `written` already updated) and the status before."""


class StatusApi(Protocol):
    """What the store needs of the API server (`tendlc.kube.KubeApi` is one)."""

    async def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]: ...


class StatusStore:
    """Writes statuses (see the module docstring)."""

    def __init__(
        self,
        api: StatusApi,
        *,
        refresh_seconds: float,
        on_written: OnWritten | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._refresh_seconds = refresh_seconds
        self._on_written = on_written
        self._monotonic = monotonic

    async def write(self, resource: Resource, *, force: bool = False) -> bool:
        """Writes what changed; returns whether a request was sent."""
        patch = resource.status.to_patch(resource.written)
        if not patch:
            return False
        if not force and set(patch) <= VOLATILE_STATUS_KEYS and (
            self._monotonic() - resource.written_at < self._refresh_seconds
        ):
            return False  # only "when did we last/next look" changed, and it was shown recently enough
        await self._api.patch_status(resource.namespace, resource.name, patch)
        before, resource.written = resource.written, resource.status
        resource.written_at = self._monotonic()
        if self._on_written is not None:
            self._on_written(resource, before)
        return True
