"""Whether a webhook event may change a resource: the rule that keeps late events from going backwards.

Infobip may deliver events twice, late, or out of order. Every event and every recorded state is
placed on one total order, and an event is applied only when it sits strictly above what the
resource already holds:

    order key = (stage rank, receivedAt, stage name)

1. **Stage rank** first: no stage (nothing recorded yet) < any intermediate stage (SUBMITTED,
   APPROVED_BY_INTERNAL_REVIEWER, IN_MIGRATION, any unknown string…) < final stages (REGISTERED,
   REJECTED, REJECTED_EXTERNALLY, DEREGISTERED). An intermediate event never undoes a final
   stage, however recent its `receivedAt` claims to be.
2. **receivedAt** next: within the same rank a newer event wins (REJECTED then a later
   REGISTERED after an appeal applies; an older REJECTED after REGISTERED does not). A recorded
   state with no known time is older than every event if it is intermediate, and newer than every
   event if it is final (a final stage is only left on evidence with a time; polling corrects the
   rest). Callers that observed a stage by polling should pass the poll's time.
3. **Stage name** breaks an exact tie, so the outcome never depends on delivery order.

Because the key is a total order, folding any permutation of the same events through
`should_apply` ends on the same state (the maximum), and a duplicate is never applied twice.
Network updates are ordered per network on their own (pass that network's last status and time).
Pure: no I/O, no clock, no Kopf.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Protocol

from tendlc.api.constants import FINAL_STAGES

RANK_NONE: Final = 0
RANK_INTERMEDIATE: Final = 1
RANK_FINAL: Final = 2

_BEFORE_ALL: Final = datetime.min.replace(tzinfo=UTC)
_AFTER_ALL: Final = datetime.max.replace(tzinfo=UTC)

OrderKey = tuple[int, datetime, str]


class StageEvent(Protocol):
    """What the rule needs of an incoming event (`tendlc.webhooks.payload.WebhookEvent` is one)."""

    @property
    def status(self) -> str: ...

    @property
    def received_at(self) -> datetime: ...


def stage_rank(stage: str | None) -> int:
    """0 for no stage, 2 for a final stage, 1 for anything else (known or not)."""
    if not stage:
        return RANK_NONE
    return RANK_FINAL if stage in FINAL_STAGES else RANK_INTERMEDIATE


def order_key(stage: str | None, received_at: datetime | None) -> OrderKey:
    """Where a (stage, receivedAt) pair sits on the total order described in the module docstring."""
    rank = stage_rank(stage)
    if received_at is None:
        moment = _AFTER_ALL if rank == RANK_FINAL else _BEFORE_ALL
    elif received_at.tzinfo is None:
        moment = received_at.replace(tzinfo=UTC)
    else:
        moment = received_at
    return (rank, moment, stage or "")


def should_apply(current_stage: str | None, current_received_at: datetime | None, event: StageEvent) -> bool:
    """True when `event` moves the resource forward from (`current_stage`, `current_received_at`).

    `current_stage` is the stage the resource holds (`status.infobipStage`, or for a network update
    that network's last status); `current_received_at` is the `receivedAt` of the event that set it
    (`status.webhook.receivedAt`), the time of the poll that observed it (`status.lastCheckedAt`),
    or None when unknown.
    """
    return order_key(event.status, event.received_at) > order_key(current_stage, current_received_at)
