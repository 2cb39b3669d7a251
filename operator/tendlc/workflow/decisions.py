"""The values `decide` returns: what the executor should do next, with the status to write.

Every decision carries the complete new status and, optionally, one Kubernetes Event to emit.
- `Act(action, status)`: perform the action, then call `record`. For a non-idempotent action the
  status already holds `pendingOperation`: persist it BEFORE making the call.
- `Wait(delay, status)`: nothing is due; run `decide` again after `delay` (or earlier on a change).
- `Done(status)`: registered; nothing more to do.
- `Fail(status)`: failed permanently; nothing more to do.
- `Park(status, recheck_after)`: stopped until a human acts (status.problem / LoaValid / Suspended /
  dry run say what); run `decide` again on any change of the resource or its Secrets, and after
  `recheck_after` when set.
Plain data, no behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from tendlc.api.status import MigrationStatus
from tendlc.workflow.actions import Action


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to post on the resource."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Act:
    action: Action
    status: MigrationStatus
    event: Event | None = None


@dataclass(frozen=True)
class Wait:
    delay: timedelta
    status: MigrationStatus
    event: Event | None = None


@dataclass(frozen=True)
class Done:
    status: MigrationStatus
    event: Event | None = None


@dataclass(frozen=True)
class Fail:
    status: MigrationStatus
    event: Event | None = None


@dataclass(frozen=True)
class Park:
    status: MigrationStatus
    event: Event | None = None
    recheck_after: timedelta | None = None


Decision = Act | Wait | Done | Fail | Park
