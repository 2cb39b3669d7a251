"""The working copy of one `decide` call and the pieces every step shares.

`Round` holds the spec, a copy of the status being decided, the facts and the policy, with the
condition helpers every step uses. `current_step` derives where a migration is from its status;
`act_when_due` turns an action into `Act` (carrying the exactly-once marker for a non-idempotent
one), `Wait` (not due yet) or a dry-run `Park`; `park` and `outcome_unknown` stop a step on a
problem. Pure: no I/O, no clock but `facts.now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tendlc.api.constants import ConditionType, Reason, Sharing
from tendlc.api.spec import CampaignMigrationSpec, CutOver
from tendlc.api.status import ConditionStatus, MigrationStatus, PendingOperation, Phase
from tendlc.workflow.actions import (
    Action,
    ElectCnp,
    ImportNumbers,
    NonIdempotentAction,
    SubmitMigration,
    SwitchTraffic,
)
from tendlc.workflow.conditions import get_condition, set_condition
from tendlc.workflow.decisions import Act, Decision, Park, Wait
from tendlc.workflow.errors import new_problem
from tendlc.workflow.facts import Facts, Policy
from tendlc.workflow.number_sets import migrated_numbers, planned_additions
from tendlc.workflow.progress import Step

STEP_CONDITION = {
    Step.IMPORT: ConditionType.NUMBERS_IMPORTED,
    Step.ELECT: ConditionType.CNP_ELECTED,
    Step.SUBMIT: ConditionType.MIGRATION_SUBMITTED,
    Step.MONITOR: ConditionType.REGISTERED,
    Step.ADD_NUMBERS: ConditionType.NUMBERS_ADDED,
}


@dataclass
class Round:
    """The mutable working copy of one `decide` call."""

    spec: CampaignMigrationSpec
    status: MigrationStatus
    facts: Facts
    policy: Policy

    def condition(self, type_: str, value: ConditionStatus, reason: str, message: str) -> None:
        self.status.conditions = set_condition(
            self.status.conditions, type_, value, reason, message, self.facts.generation, self.facts.now
        )

    def ready(self, value: ConditionStatus, reason: str, message: str) -> None:
        self.condition(ConditionType.READY, value, reason, message)

    @property
    def due(self) -> bool:
        s, now = self.status, self.facts.now
        webhook = s.webhook
        arrived = webhook and (webhook.arrived_at or webhook.received_at)
        if arrived and (s.last_checked_at is None or arrived > s.last_checked_at):
            return True
        return s.next_check_at is None or now >= s.next_check_at

    def remaining(self) -> timedelta:
        if self.status.next_check_at is None:
            return timedelta(0)
        return max(self.status.next_check_at - self.facts.now, timedelta(0))


def act_when_due(r: Round, step: Step, action: Action) -> Decision:
    s, facts = r.status, r.facts
    if not r.due:
        return Wait(r.remaining(), s)
    if action.mutating and facts.dry_run:
        s.planned_calls = plan_calls(r, step)
        message = (
            f"Dry run: {len(s.planned_calls)} call(s) to TCR/Infobip planned, listed in status.plannedCalls; "
            "nothing was changed. Turn dry run off to perform them."
        )
        s.phase = step_phase(r, step)
        r.ready("False", Reason.DRY_RUN, message)
        return Park(s)
    if isinstance(action, NonIdempotentAction):
        s.pending_operation = PendingOperation(operation=action.operation, started_at=facts.now)
    return Act(action, s)


def plan_calls(r: Round, step: Step) -> list[str]:
    spec, s = r.spec, r.status
    calls: list[str] = []
    if step <= Step.IMPORT:
        calls += ImportNumbers(spec.numbers, spec.skip_osr_update, r.policy.import_batch_size).planned_calls()
    if step <= Step.ELECT and s.tcr_sharing_status not in (Sharing.PENDING, Sharing.ACCEPTED):
        calls += ElectCnp(spec.campaign_id, spec.upstream_cnp_id).planned_calls()
    if step <= Step.SUBMIT:
        calls += SubmitMigration(
            campaign_id=spec.campaign_id,
            name=spec.campaign_name_or_default,
            numbers=migrated_numbers(spec),
            number_pool_id=spec.number_pool_id,
            is_client_manage_nnid=spec.client_manages_nnid,
        ).planned_calls()
    calls += planned_additions(spec, s, r.policy.add_numbers_batch_size)  # D60: after REGISTERED
    cutover = cutover_of(r)  # D58: after REGISTERED and, for more than 200 numbers, after the additions
    if cutover is not None and r.status.traffic_switched_at is None:
        calls += [f"after REGISTERED: {call}" if step < Step.MONITOR else call
                  for call in switch_action(r, cutover).planned_calls()]
    return calls


def cutover_of(r: Round) -> CutOver | None:
    """The resource's own cut-over, else its MigrationWave's default, else None."""
    wave = r.facts.wave
    return r.spec.cutover or (wave.cutover if wave is not None else None)


def switch_action(r: Round, cutover: CutOver) -> SwitchTraffic:
    """The cut-over for this campaign; its idempotency key is the same for every attempt, whoever sends it."""
    spec, s = r.spec, r.status
    return SwitchTraffic(
        cutover=cutover, campaign_id=spec.campaign_id, infobip_campaign_id=s.infobip_campaign_id or "",
        idempotency_key=f"tendlc-{spec.campaign_id}-{s.infobip_campaign_id or 'pending'}", numbers=spec.numbers,
        registered_at=s.registered_at,
    )


def step_phase(r: Round, step: Step) -> Phase:
    if step is Step.IMPORT:
        return Phase.PENDING if r.status.numbers_imported_at is None else Phase.IMPORTING_NUMBERS
    if step is Step.ELECT:
        return Phase.ELECTING_CNP
    if step is Step.SUBMIT:
        return Phase.SUBMITTING_MIGRATION
    if step is Step.ADD_NUMBERS:
        return Phase.ADDING_NUMBERS
    if r.spec.client_manages_nnid and r.facts.annotations.osr_updated is None:
        return Phase.AWAITING_OSR_CONFIRMATION
    return Phase.IN_MIGRATION


def park(
    r: Round,
    step: Step,
    reason: str,
    message: str,
    recheck_after: timedelta | None,
    *,
    step_condition: bool = True,
) -> Park:
    r.status.phase = step_phase(r, step)
    if step_condition:
        r.condition(STEP_CONDITION[step], "False", reason, message)
    r.ready("False", reason, message)
    if recheck_after is not None:
        recheck_after = max(recheck_after, timedelta(0))
    return Park(r.status, recheck_after=recheck_after)


def outcome_unknown(r: Round, step: Step, message: str) -> Park:
    r.status.problem = new_problem(Reason.OUTCOME_UNKNOWN, message, r.facts)
    return park(r, step, Reason.OUTCOME_UNKNOWN, message, None)


def clear_stalled(r: Round) -> None:
    stalled = get_condition(r.status.conditions, ConditionType.STALLED)
    if stalled is not None and stalled.status == "True":
        r.condition(ConditionType.STALLED, "False", Reason.NOT_STALLED, "The campaign moved on.")
