"""The per-resource state of the controller: what it knows of one CampaignMigration between passes.

Every other room of the controller imports this one and nothing here imports them, so the state
has no circle to sit in: the registry creates a `Resource` per watched object, the pass reads and
updates its status, the status store records what was written, and the webhook inbox queues
events on it. Also the two pure views of a watched body the registry needs (`slim_body`,
`wake_key`). No I/O here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tendlc.api.constants import CONTROL_ANNOTATIONS
from tendlc.api.status import MigrationStatus
from tendlc.webhooks.payload import WebhookEvent
from tendlc.webhooks.receiver import DispatchResult

Clock = Callable[[], datetime]
Key = tuple[str, str]
"""(namespace, name) of a resource."""
InboxEntry = tuple[WebhookEvent, "asyncio.Future[DispatchResult]"]


def utc_now() -> datetime:
    return datetime.now(UTC)


KEPT_METADATA = (
    "name", "namespace", "uid", "generation", "resourceVersion", "labels", "annotations", "creationTimestamp",
)


def slim_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """What a pass and an Event need of a watched object: never its status or managedFields.

    The watch delivers the whole object (status and managedFields are most of it, growing with
    every write); holding it for each of thousands of resources was a third of the operator's
    memory per resource (docs/performance.md, F5). Status lives in `Resource.status` instead.
    """
    metadata = body.get("metadata") or {}
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {key: metadata[key] for key in KEPT_METADATA if key in metadata},
        "spec": body.get("spec"),
    }


def creation_time(body: Mapping[str, Any]) -> datetime:
    """`metadata.creationTimestamp` (the distant past when absent or unreadable: it sorts first)."""
    stamp = (body.get("metadata") or {}).get("creationTimestamp")
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def version_of(body: Mapping[str, Any]) -> str | None:
    value = (body.get("metadata") or {}).get("resourceVersion")
    return value if isinstance(value, str) and value else None


def wake_key(body: Mapping[str, Any]) -> tuple[Any, ...]:
    """What, when it changes, deserves an immediate new pass (status-only changes do not); the
    labels, because they decide which MigrationWave holds the resource."""
    metadata = body.get("metadata", {})
    annotations = metadata.get("annotations") or {}
    labels = metadata.get("labels") or {}
    return (
        metadata.get("generation"),
        *(annotations.get(name) for name in CONTROL_ANNOTATIONS),
        tuple(sorted(labels.items())) if isinstance(labels, Mapping) else (),
    )


@dataclass(slots=True)
class Resource:
    """One watched CampaignMigration: its latest (slimmed) body, its status as we know it, its task.

    `status` is the status the pass works on; `written` is the last status the API server
    accepted from us (the base of the next merge patch); `written_at` (monotonic seconds) is when.
    `resource_version` fences the next write: the version of the status we hold (from our writes,
    or a watch event whose status is ours); `own_versions` are the versions our own writes
    produced, so their watch echoes are recognised; `foreign` is a newer status someone else wrote
    (another replica, a restore) with its `foreign_version`, both adopted before the next pass
    decides anything. `unreadable` names status fields this version
    could not read when it loaded them.
    """

    namespace: str
    name: str
    uid: str
    body: Mapping[str, Any]
    status: MigrationStatus
    written: MigrationStatus
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    last_wake_key: tuple[Any, ...] = ()
    written_at: float = 0.0
    task: asyncio.Task[None] | None = None
    inbox: list[InboxEntry] = field(default_factory=list)
    resource_version: str | None = None
    own_versions: deque[str] = field(default_factory=lambda: deque(maxlen=8))
    foreign: MigrationStatus | None = None
    foreign_version: str | None = None
    unreadable: tuple[str, ...] = ()
    loa_signed: date | None = None
    """The LOA's signing date as the last pass read it (the member's wave weighs it against its windows)."""
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.getLogger("tendlc.controller")
    )

    def follow(self, body: Mapping[str, Any]) -> bool:
        """A watch event's body; returns whether it brought another writer's status.

        The echo of our own write is recognised by its version. An event whose status is the one
        we hold (a spec edit, an annotation, our write's echo overtaking its answer) moves the
        fence. A status that differs both from what we wrote and from what we hold is another
        writer's: it is kept with its version, and both are adopted together when the next pass
        starts. The fence never moves ahead of the status a pass decides on — a pass that began
        before the other writer's status arrived must lose its write, not land it on top.
        """
        version = version_of(body)
        if version is None or version in self.own_versions:
            return False
        seen, _ = MigrationStatus.from_body_lenient(body)
        if seen != self.written and seen != self.status:
            self.foreign, self.foreign_version = seen, version
            return True
        if self.foreign is None:
            self.resource_version = version
        return False

    def adopt_foreign(self) -> None:
        """Takes over a status someone else wrote since we last looked (see the class docstring)."""
        if self.foreign is not None:
            self.status = self.written = self.foreign
            self.resource_version = self.foreign_version
            self.foreign = self.foreign_version = None

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @property
    def labels(self) -> Mapping[str, str]:
        labels = (self.body.get("metadata") or {}).get("labels") or {}
        return labels if isinstance(labels, Mapping) else {}

    @property
    def created_at(self) -> datetime:
        return creation_time(self.body)

    @property
    def campaign_id(self) -> str | None:
        spec = self.body.get("spec") or {}
        value = spec.get("campaignId")
        return value if isinstance(value, str) else None
