"""The one helper that writes Kubernetes conditions.

`set_condition` replaces or adds a condition of a type, moving `lastTransitionTime` only when the
status value (True/False/Unknown) changes, and stamping `observedGeneration`. Reasons are the
CamelCase constants of `tendlc.api.constants.Reason`. Pure: returns a new list, never mutates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tendlc.api.status import Condition, ConditionStatus


def set_condition(
    conditions: Sequence[Condition],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """Return `conditions` with the condition `type_` set; order kept, a new type appended."""
    result: list[Condition] = []
    found = False
    for condition in conditions:
        if condition.type != type_:
            result.append(condition)
            continue
        found = True
        transition = now if condition.status != status else condition.last_transition_time
        result.append(
            Condition(
                type=type_,
                status=status,
                reason=reason,
                message=message,
                observed_generation=generation,
                last_transition_time=transition,
            )
        )
    if not found:
        result.append(
            Condition(
                type=type_,
                status=status,
                reason=reason,
                message=message,
                observed_generation=generation,
                last_transition_time=now,
            )
        )
    return result


def get_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    """The condition of that type, or None."""
    return next((c for c in conditions if c.type == type_), None)
