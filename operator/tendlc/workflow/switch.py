"""The cut-over step: once REGISTERED, switch the campaign's traffic (docs/decisions.md D58).

A campaign of more than 200 numbers reaches it only once every number was added (`NumbersAdded`,
D60): `decide` routes a registered campaign with numbers still to add to `add_numbers_step` first.

With a cut-over configured (the resource's `spec.cutover`, else its MigrationWave's), Ready waits
for it: the step asks for `SwitchTraffic` until one attempt succeeded, counting failed attempts
(`CutOverFailing` after three, still retried with backoff). Before the migration is submitted,
`precheck` parks a migration whose cut-over could not succeed (`CutOverNotReady`,
`CutOverNotAllowed`), so the downtime never starts without a way to end it.
"""

from __future__ import annotations

from tendlc.api.constants import ConditionType, Reason
from tendlc.api.spec import CutOver
from tendlc.workflow.actions import SubmitMigration
from tendlc.workflow.conditions import get_condition
from tendlc.workflow.decisions import Decision, Park
from tendlc.workflow.progress import Step
from tendlc.workflow.round import Round, act_when_due, cutover_of, park, switch_action

CUT_OVER_FAILING_AFTER = 3
"""Failed cut-over attempts in a row before Ready says CutOverFailing (it is still retried)."""


def switch_step(r: Round, cutover: CutOver, registered: str) -> Decision:
    """Runs the cut-over until it succeeded once; Ready waits for it (docs/decisions.md D58).

    Suspension holds it (the tenant may want to switch by hand); a resend after an interrupted
    attempt is allowed, since every attempt carries the same idempotency key.
    """
    s, spec, facts = r.status, r.spec, r.facts
    if spec.suspend or facts.annotations.suspend:
        message = f"{registered}; the cut-over waits while the migration is suspended (remove the suspension)."
        r.condition(ConditionType.SUSPENDED, "True", Reason.SUSPENDED, message)
        r.condition(ConditionType.TRAFFIC_SWITCHED, "False", Reason.SUSPENDED, message)
        r.ready("False", Reason.SUSPENDED, message)
        return Park(s)
    suspended = get_condition(s.conditions, ConditionType.SUSPENDED)
    if suspended is not None and suspended.status == "True":
        r.condition(ConditionType.SUSPENDED, "False", Reason.RESUMED, "Resumed: switching the traffic.")
    if s.attempts >= CUT_OVER_FAILING_AFTER:
        reason = Reason.CUT_OVER_FAILING
        message = (f"{registered}, but the cut-over ({describe_cutover(cutover)}) failed {s.attempts} times in a "
                   f"row: {s.last_error or 'no detail'}. It is retried with backoff; fix the cause, or switch the "
                   "traffic yourself and remove spec.cutover.")
    else:
        reason = Reason.SWITCHING_TRAFFIC
        message = f"{registered}: switching its traffic to Infobip ({describe_cutover(cutover)})."
    r.condition(ConditionType.TRAFFIC_SWITCHED, "False", reason, message)
    r.ready("False", reason, message)
    return act_when_due(r, Step.MONITOR, switch_action(r, cutover))


def precheck(r: Round, step: Step) -> Decision | None:
    """Parks before submission while the cut-over's prerequisites fail; None when there is nothing to hold."""
    problem = r.facts.cutover_problem
    if problem is None or step > Step.SUBMIT or cutover_of(r) is None:
        return None
    marker = r.status.pending_operation
    if marker is not None and marker.operation == SubmitMigration.operation:
        # A migrate may have been sent: what it did must be observed now (the downtime may have
        # started); holding the submission is moot. The cut-over's problem shows when it runs.
        return None
    message = (f"{problem.message.rstrip('.')}. Nothing is submitted until the cut-over can run "
               "(it is what ends the downtime).")
    r.condition(ConditionType.TRAFFIC_SWITCHED, "False", problem.reason, message)
    return park(r, step, problem.reason, message, r.policy.park_recheck, step_condition=False)


def describe_cutover(cutover: CutOver) -> str:
    parts = []
    if cutover.config_map is not None:
        parts.append(f"ConfigMap {cutover.config_map.name}")
    if cutover.webhook is not None:
        parts.append(f"endpoint {cutover.webhook.url}")
    return " and ".join(parts)
