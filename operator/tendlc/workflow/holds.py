"""What holds a migration before its steps: an unreadable number source, and `spec.notBefore` (D62, D66).

Both are early branches of `decide`, after suspension and the preflight gate: `numbers_hold` parks
a resource whose `numbersFrom` gave no usable list this round (the step's condition and `Ready`
name the ConfigMap and what to fix; nothing is sent to a partner while the list is unknown), and
`not_before_hold` parks one whose `spec.notBefore` lies ahead, until that moment — no partner
write, and no read either, before it. A campaign already submitted is not held by `notBefore`
(there is nothing left to plan), nor by the number source while Infobip only needs to be polled.
Pure: no I/O.
"""

from __future__ import annotations

from tendlc.api.constants import Reason
from tendlc.api.status import format_time
from tendlc.workflow.decisions import Park
from tendlc.workflow.progress import Step
from tendlc.workflow.round import Round, park


def numbers_hold(r: Round, step: Step) -> Park | None:
    """Park while `numbersFrom` gave no list (not while only polling a submitted campaign)."""
    problem = r.facts.numbers_problem
    if problem is None or step is Step.MONITOR:
        return None
    return park(r, step, problem.reason, problem.message, r.policy.park_recheck)


def not_before_hold(r: Round, step: Step) -> Park | None:
    """Park until `spec.notBefore` while the migration has not been submitted."""
    not_before = r.spec.not_before
    if not_before is None or r.facts.now >= not_before or step >= Step.MONITOR:
        return None
    if r.status.pending_operation is not None:
        return None  # a call may be in flight: its outcome is observed now, whatever the plan says
    message = (
        f"spec.notBefore is {format_time(not_before)}: nothing is sent to TCR or Infobip before then; the "
        "migration starts by itself at that time."
    )
    return park(r, step, Reason.NOT_BEFORE, message, not_before - r.facts.now, step_condition=False)
