"""The status store: how a resource's status reaches the API server, fenced against other writers.

`StatusStore.write(resource)` sends the merge patch from what was last written to what the pass
holds, and nothing when they agree. Every write is fenced by the newest resourceVersion we know:
if anyone else changed the object since (another replica, a restore, a re-created resource under
the same name), the server refuses it and `StatusConflict` tells the pass to `reload` and decide
again — a pass never acts on a status older than the server's. A patch that would only move
`lastCheckedAt`, `nextCheckAt` or `attempts` — what every poll of a still-waiting campaign
changes — is held back until `refresh_seconds` have passed since the last write (D18); `force=True`
sends it anyway (the exactly-once marker is never held back). After a write it tells
`on_written(resource, before)`, so the webhook index and the metrics learn what was written without
this room knowing them. Talks to the API through a small protocol, so tests can hold the server
in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from tendlc.api.status import MigrationStatus
from tendlc.controller.resource import Resource, slim_body, version_of, wake_key
from tendlc.kube import ResourceGone, StatusConflict

VOLATILE_STATUS_KEYS = frozenset({"lastCheckedAt", "nextCheckAt", "attempts"})
MAX_CONFLICTS = 3
"""Lost fenced writes in a row before `update` gives up (the caller retries later)."""

OnWritten = Callable[[Resource, MigrationStatus], None]
"""Told after every accepted write: the resource (its `written` already updated) and the status before."""
Fold = Callable[[MigrationStatus], MigrationStatus]


class StatusApi(Protocol):
    """What the store needs of the API server (`tendlc.kube.KubeApi` is one)."""

    async def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]: ...

    async def read_object(self, namespace: str, name: str) -> dict[str, Any]: ...


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
        """Writes what changed; returns whether a request was sent. Raises `StatusConflict`."""
        patch = resource.status.to_patch(resource.written)
        if resource.unreadable:  # overwrite what this version could not read, even with its default
            current = resource.status.to_dict()
            patch |= {key: current.get(key) for key in resource.unreadable}
        if not patch:
            return False
        if not force and set(patch) <= VOLATILE_STATUS_KEYS and (
            self._monotonic() - resource.written_at < self._refresh_seconds
        ):
            return False  # only "when did we last/next look" changed, and it was shown recently enough
        stored = await self._api.patch_status(
            resource.namespace, resource.name, patch, resource_version=resource.resource_version
        )
        version = version_of(stored)
        if version is not None:
            resource.resource_version = version
            resource.own_versions.append(version)
        before, resource.written = resource.written, resource.status
        resource.written_at = self._monotonic()
        resource.unreadable = ()
        if self._on_written is not None:
            self._on_written(resource, before)
        return True

    def loaded(self, resource: Resource) -> None:
        """A status just read from the server counts as just written (D18): it is what users see now.

        Without this, a restart would write every resource's poll bookkeeping at its first poll —
        5,000 PATCHes that change nothing but `lastCheckedAt`/`nextCheckAt`/`attempts` (bench F9).
        """
        resource.written_at = self._monotonic()

    async def reload(self, resource: Resource) -> None:
        """After a lost write: the object as stored now becomes what the resource knows.

        A different uid under the same name is a re-created resource, not ours: `ResourceGone`.
        """
        body = await self._api.read_object(resource.namespace, resource.name)
        metadata = body.get("metadata") or {}
        if resource.uid and metadata.get("uid") != resource.uid:
            raise ResourceGone(f"{resource.namespace}/{resource.name} was re-created")
        status, unreadable = MigrationStatus.from_body_lenient(body)
        resource.body = slim_body(body)
        resource.last_wake_key = wake_key(body)
        resource.status = resource.written = status
        resource.foreign = resource.foreign_version = None
        resource.unreadable = unreadable
        resource.resource_version = version_of(body)
        self.loaded(resource)

    async def update(self, resource: Resource, fold: Fold) -> None:
        """`fold` the status and write it; on a lost write reload and fold again (webhooks use this)."""
        for _ in range(MAX_CONFLICTS):
            resource.adopt_foreign()
            resource.status = fold(resource.status)
            try:
                await self.write(resource)
                return
            except StatusConflict:
                await self.reload(resource)
        raise StatusConflict(f"{resource.namespace}/{resource.name}: {MAX_CONFLICTS} writes in a row lost",
                             status=409)
