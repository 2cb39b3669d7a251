"""Decide the next step of a migration from the spec, the status and this round's facts.

`decide(spec, status, facts, policy) -> Decision` is the whole reconcile logic as a pure function:
same input, same output (the clock is `facts.now`; jitter comes from `policy.random`). The
executor loops: `decide` → perform `Act.action` (persisting the status first when the action is
non-idempotent) → `record` → `decide` …, until a `Wait`, `Park`, `Done` or `Fail`, then writes the
status and emits each decision's `event`. Phases and conditions are derived here, every round, from
the facts in the status (timestamps, UUID, stage, marker, problem), so resuming after a restart,
a suspension or a fixed Secret continues where the migration stopped.

Order of the steps: validate (LOA, credentials) → ImportNumbers → ObserveElection / ElectCnp → wait
for ACCEPTED → SubmitMigration → PollCampaign until a final stage. A pending marker is always resolved
by observing first. No I/O, no Kopf, no sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from enum import IntEnum

from tendlc.api.constants import WARNING_REASONS, ConditionType, Reason, Sharing, Stage, event_type
from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.status import Condition, ConditionStatus, MigrationStatus, PendingOperation, Phase
from tendlc.workflow.actions import (
    Action,
    ElectCnp,
    ImportNumbers,
    NonIdempotentAction,
    ObserveElection,
    ObserveMigration,
    PollCampaign,
    SubmitMigration,
)
from tendlc.workflow.conditions import get_condition, set_condition
from tendlc.workflow.decisions import Act, Decision, Done, Event, Fail, Park, Wait
from tendlc.workflow.errors import election_unknown_hint, new_problem, outcome_unknown_hint
from tendlc.workflow.facts import Facts, Policy
from tendlc.workflow.record import numbers_digest

# Ready reasons that get an Event on the way in and on the way out even within one phase (D21):
# every problem, plus the states a user put the resource in and must see confirmed or lifted.
EVENTFUL_REASONS = WARNING_REASONS | {Reason.DRY_RUN, Reason.INVALID_SPEC}


class Step(IntEnum):
    """The step the migration is at, derived from the status."""

    IMPORT = 1
    ELECT = 2
    SUBMIT = 3
    MONITOR = 4


_STEP_CONDITION = {
    Step.IMPORT: ConditionType.NUMBERS_IMPORTED,
    Step.ELECT: ConditionType.CNP_ELECTED,
    Step.SUBMIT: ConditionType.MIGRATION_SUBMITTED,
    Step.MONITOR: ConditionType.REGISTERED,
}


def current_step(spec: CampaignMigrationSpec, status: MigrationStatus) -> Step:
    """Where the migration is: an open exactly-once marker pins its step; otherwise the first step not done."""
    marker = status.pending_operation
    if marker is not None:
        return Step.ELECT if marker.operation == ElectCnp.operation else Step.SUBMIT
    if status.infobip_campaign_id is not None:
        return Step.MONITOR
    if status.numbers_imported_digest != numbers_digest(spec):
        return Step.IMPORT
    if status.cnp_elected_at is None:
        return Step.ELECT
    return Step.SUBMIT


@dataclass
class _Round:
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


def decide(spec: CampaignMigrationSpec, status: MigrationStatus, facts: Facts, policy: Policy) -> Decision:
    """The next decision for this resource (see the module docstring)."""
    before = get_condition(status.conditions, ConditionType.READY)
    before_phase = status.phase
    r = _Round(spec, status.model_copy(deep=True), facts, policy)
    r.status.observed_generation = facts.generation
    r.status.number_count = len(spec.numbers)
    if not facts.dry_run:
        r.status.planned_calls = None
    _apply_controls(r)
    decision = _decide(r)
    return _with_event(decision, before, before_phase, r)


def _apply_controls(r: _Round) -> None:
    """Retry token, spec changes and recheck times clear what waits for them."""
    s, facts = r.status, r.facts
    token = facts.annotations.retry
    retried = token is not None and token != s.last_handled_retry
    if retried:
        s.last_handled_retry = token
        s.next_check_at = None
    problem = s.problem
    if problem is not None and not problem.permanent:
        newer_spec = facts.generation > problem.generation
        recheck = problem.recheck_at is not None and facts.now >= problem.recheck_at
        if retried or newer_spec or recheck:
            s.problem = None
            s.next_check_at = None
            if s.pending_operation is not None and (retried or newer_spec):
                s.pending_operation.observe_attempts = 0


def _decide(r: _Round) -> Decision:
    s, spec, facts = r.status, r.spec, r.facts
    if s.infobip_campaign_id is not None and s.infobip_stage == Stage.REGISTERED:
        return _registered(r)
    step = current_step(spec, s)
    _mark_done_steps(r, step)
    if s.problem is not None and s.problem.permanent:
        return _failed(r, step)

    if spec.suspend or facts.annotations.suspend:
        s.phase = Phase.SUSPENDED
        why = "spec.suspend is true" if spec.suspend else "the tendlc.io/suspend annotation is set"
        message = f"Suspended because {why}: no call is made to TCR or Infobip until it is removed."
        r.condition(ConditionType.SUSPENDED, "True", Reason.SUSPENDED, message)
        r.ready("False", Reason.SUSPENDED, message)
        return Park(s)
    suspended = get_condition(s.conditions, ConditionType.SUSPENDED)
    if suspended is not None and suspended.status == "True":
        r.condition(ConditionType.SUSPENDED, "False", Reason.RESUMED, "Resumed where the migration stopped.")

    if step < Step.MONITOR:
        loa_reason, loa_message = _check_loa(r)
        r.condition(
            ConditionType.LOA_VALID, "True" if loa_reason == Reason.LOA_VALID else "False", loa_reason, loa_message
        )
        if loa_reason != Reason.LOA_VALID:
            return _park(r, step, loa_reason, loa_message, r.policy.park_recheck, step_condition=False)
    if facts.credentials_problem is not None:
        message = f"{facts.credentials_problem}. Create or fix the Secret; the migration continues by itself."
        return _park(r, step, Reason.CREDENTIALS_MISSING, message, r.policy.park_recheck, step_condition=False)
    if s.problem is not None:
        recheck = s.problem.recheck_at - facts.now if s.problem.recheck_at is not None else None
        return _park(r, step, s.problem.reason, s.problem.message, recheck)

    if facts.dry_run and s.tcr_sharing_status is None and s.cnp_elected_at is None and step < Step.MONITOR:
        s.phase = _step_phase(r, step)
        return _act_when_due(r, step, ObserveElection(spec.campaign_id, spec.upstream_cnp_id))
    if step is Step.IMPORT:
        return _import(r)
    if step is Step.ELECT:
        return _elect(r)
    if step is Step.SUBMIT:
        return _submit(r)
    return _monitor(r)


# --- the steps ---------------------------------------------------------------------------------------


def _import(r: _Round) -> Decision:
    spec = r.spec
    r.status.phase = Phase.IMPORTING_NUMBERS
    message = f"Importing {len(spec.numbers)} numbers into the Infobip account."
    r.condition(ConditionType.NUMBERS_IMPORTED, "False", Reason.IMPORTING_NUMBERS, message)
    r.ready("False", Reason.IMPORTING_NUMBERS, message)
    action = ImportNumbers(spec.numbers, spec.skip_osr_update, r.policy.import_batch_size)
    return _act_when_due(r, Step.IMPORT, action)


def _elect(r: _Round) -> Decision:
    s, spec, policy = r.status, r.spec, r.policy
    s.phase = Phase.ELECTING_CNP
    observe = ObserveElection(spec.campaign_id, spec.upstream_cnp_id)
    marker = s.pending_operation
    if marker is not None:
        if marker.observe_attempts >= policy.max_observe_attempts:
            return _outcome_unknown(
                r,
                Step.ELECT,
                f"The outcome of the CNP election for campaign {spec.campaign_id} is unknown: "
                f"{marker.observe_attempts} attempts to read TCR's sharing record failed "
                f"(last error: {s.last_error or 'none recorded'}). {election_unknown_hint(spec)}",
            )
        message = f"Checking at TCR whether the election of {spec.upstream_cnp_id} was received."
        r.condition(ConditionType.CNP_ELECTED, "False", Reason.OBSERVING_OUTCOME, message)
        r.ready("False", Reason.ELECTING_CNP, message)
        return _act_when_due(r, Step.ELECT, observe)
    sharing = s.tcr_sharing_status
    if sharing is None:
        message = f"Reading campaign {spec.campaign_id}'s CNP election at TCR."
        r.condition(ConditionType.CNP_ELECTED, "False", Reason.ELECTING_CNP, message)
        r.ready("False", Reason.ELECTING_CNP, message)
        return _act_when_due(r, Step.ELECT, observe)
    if sharing not in (Sharing.NONE, Sharing.DECLINED):
        message = (
            f"TCR shows the election of {spec.upstream_cnp_id} for campaign {spec.campaign_id} as {sharing}; "
            "waiting for ACCEPTED."
        )
        r.condition(ConditionType.CNP_ELECTED, "False", Reason.ELECTION_PENDING, message)
        r.ready("False", Reason.ELECTION_PENDING, message)
        return _act_when_due(r, Step.ELECT, observe)
    message = f"Electing {spec.upstream_cnp_id} as upstream CNP of campaign {spec.campaign_id} at TCR."
    r.condition(ConditionType.CNP_ELECTED, "False", Reason.ELECTING_CNP, message)
    r.ready("False", Reason.ELECTING_CNP, message)
    return _act_when_due(r, Step.ELECT, ElectCnp(spec.campaign_id, spec.upstream_cnp_id))


def _submit(r: _Round) -> Decision:
    s, spec, policy = r.status, r.spec, r.policy
    s.phase = Phase.SUBMITTING_MIGRATION
    name = spec.campaign_name_or_default
    marker = s.pending_operation
    if marker is not None:
        if marker.observe_attempts >= policy.max_observe_attempts:
            return _outcome_unknown(
                r,
                Step.SUBMIT,
                f"The outcome of the Infobip migration of campaign {spec.campaign_id} is unknown: "
                f"{marker.observe_attempts} attempts to search Infobip's campaigns failed "
                f"(last error: {s.last_error or 'none recorded'}). {outcome_unknown_hint(spec)}",
            )
        message = f"Checking at Infobip whether the migration of {spec.campaign_id} ({name!r}) was received."
        r.condition(ConditionType.MIGRATION_SUBMITTED, "False", Reason.OBSERVING_OUTCOME, message)
        r.ready("False", Reason.SUBMITTING_MIGRATION, message)
        return _act_when_due(r, Step.SUBMIT, ObserveMigration(spec.campaign_id, name, spec.numbers[0]))
    message = f"Submitting the Infobip migration of campaign {spec.campaign_id} as {name!r}."
    r.condition(ConditionType.MIGRATION_SUBMITTED, "False", Reason.SUBMITTING_MIGRATION, message)
    r.ready("False", Reason.SUBMITTING_MIGRATION, message)
    action = SubmitMigration(
        campaign_id=spec.campaign_id,
        name=name,
        numbers=spec.numbers,
        number_pool_id=spec.number_pool_id,
        is_client_manage_nnid=spec.client_manages_nnid,
    )
    return _act_when_due(r, Step.SUBMIT, action)


def _monitor(r: _Round) -> Decision:
    s, spec, facts, policy = r.status, r.spec, r.facts, r.policy
    confirmation = facts.annotations.osr_updated
    stage = s.infobip_stage or "unknown"
    campaign = s.infobip_campaign_id or ""
    if spec.client_manages_nnid and confirmation is None:
        s.phase = Phase.AWAITING_OSR_CONFIRMATION
        reason = Reason.AWAITING_OSR_CONFIRMATION
        message = (
            f"Infobip campaign {campaign} is {stage}. Update the OSR records of the numbers to Infobip's NNID, "
            "then annotate the resource with tendlc.io/osr-updated=<RFC 3339 time of the update>."
        )
    else:
        s.phase = Phase.IN_MIGRATION
        reason = Reason.IN_MIGRATION
        message = f"Infobip campaign {campaign} is {stage}; waiting for REGISTERED."
        if confirmation is not None and s.downtime_started_at is None:
            s.downtime_started_at = confirmation.at or facts.now
    r.condition(ConditionType.REGISTERED, "False", reason, message)
    ready_reason, ready_message = reason, message
    submitted = s.migration_submitted_at
    if submitted is not None and facts.now - submitted > policy.stall_after:
        hours = int((facts.now - submitted).total_seconds() // 3600)
        stalled = (
            f"Infobip campaign {campaign} (TCR {spec.campaign_id}) has been {stage} for {hours} hours since "
            "submission. Contact the Infobip Registrations team with the campaign ID; the operator keeps polling."
        )
        r.condition(ConditionType.STALLED, "True", Reason.STALLED, stalled)
        ready_reason, ready_message = Reason.STALLED, stalled
    else:
        _clear_stalled(r)
    r.ready("False", ready_reason, ready_message)
    return _act_when_due(r, Step.MONITOR, PollCampaign(campaign))


# --- shared pieces -----------------------------------------------------------------------------------


def _act_when_due(r: _Round, step: Step, action: Action) -> Decision:
    s, facts = r.status, r.facts
    if not r.due:
        return Wait(r.remaining(), s)
    if action.mutating and facts.dry_run:
        s.planned_calls = _plan(r, step)
        message = (
            f"Dry run: {len(s.planned_calls)} call(s) to TCR/Infobip planned, listed in status.plannedCalls; "
            "nothing was changed. Turn dry run off to perform them."
        )
        s.phase = _step_phase(r, step)
        r.ready("False", Reason.DRY_RUN, message)
        return Park(s)
    if isinstance(action, NonIdempotentAction):
        s.pending_operation = PendingOperation(operation=action.operation, started_at=facts.now)
    return Act(action, s)


def _plan(r: _Round, step: Step) -> list[str]:
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
            numbers=spec.numbers,
            number_pool_id=spec.number_pool_id,
            is_client_manage_nnid=spec.client_manages_nnid,
        ).planned_calls()
    return calls


def _step_phase(r: _Round, step: Step) -> Phase:
    if step is Step.IMPORT:
        return Phase.PENDING if r.status.numbers_imported_at is None else Phase.IMPORTING_NUMBERS
    if step is Step.ELECT:
        return Phase.ELECTING_CNP
    if step is Step.SUBMIT:
        return Phase.SUBMITTING_MIGRATION
    if r.spec.client_manages_nnid and r.facts.annotations.osr_updated is None:
        return Phase.AWAITING_OSR_CONFIRMATION
    return Phase.IN_MIGRATION


def _park(
    r: _Round,
    step: Step,
    reason: str,
    message: str,
    recheck_after: timedelta | None,
    *,
    step_condition: bool = True,
) -> Park:
    r.status.phase = _step_phase(r, step)
    if step_condition:
        r.condition(_STEP_CONDITION[step], "False", reason, message)
    r.ready("False", reason, message)
    if recheck_after is not None:
        recheck_after = max(recheck_after, timedelta(0))
    return Park(r.status, recheck_after=recheck_after)


def _outcome_unknown(r: _Round, step: Step, message: str) -> Park:
    r.status.problem = new_problem(Reason.OUTCOME_UNKNOWN, message, r.facts)
    return _park(r, step, Reason.OUTCOME_UNKNOWN, message, None)


def _check_loa(r: _Round) -> tuple[str, str]:
    loa, ref, policy = r.facts.loa, r.spec.loa_secret_ref, r.policy
    fix = (
        f"Update Secret {ref.name!r} (keys {ref.document_key!r}, {ref.signed_date_key!r}); "
        "the migration continues by itself."
    )
    if loa.problem is not None:
        return loa.problem.value, f"{loa.detail}. {fix}"
    if loa.signed_date is None:
        return Reason.LOA_SIGNED_DATE_MISSING, f"The LOA signing date is unknown. {fix}"
    today = r.facts.now.date()
    signed = loa.signed_date
    if signed > today:
        return (
            Reason.LOA_DATED_IN_FUTURE,
            f"The LOA is dated {signed.isoformat()}, after today ({today.isoformat()}, UTC). "
            f"Put the date it was signed. {fix}",
        )
    age = today - signed
    max_days = policy.loa_max_age.days
    if age > policy.loa_max_age:
        return (
            Reason.LOA_EXPIRED,
            f"The LOA signed on {signed.isoformat()} is {age.days} days old; Infobip needs an LOA no older than "
            f"{max_days} days when the migration is submitted. Have it signed again. {fix}",
        )
    valid_until = signed + policy.loa_max_age
    return (
        Reason.LOA_VALID,
        f"LOA signed on {signed.isoformat()}; valid for submission until {valid_until.isoformat()}.",
    )


def _mark_done_steps(r: _Round, step: Step) -> None:
    s, spec = r.status, r.spec
    if step > Step.IMPORT and s.numbers_imported_at is not None:
        r.condition(
            ConditionType.NUMBERS_IMPORTED,
            "True",
            Reason.NUMBERS_IMPORTED,
            f"{len(spec.numbers)} numbers imported into the Infobip account.",
        )
    if step > Step.ELECT and s.cnp_elected_at is not None:
        r.condition(
            ConditionType.CNP_ELECTED,
            "True",
            Reason.CNP_ELECTED,
            f"TCR accepted {spec.upstream_cnp_id} as upstream CNP of campaign {spec.campaign_id}.",
        )
    if step > Step.SUBMIT and s.infobip_campaign_id is not None:
        current = get_condition(s.conditions, ConditionType.MIGRATION_SUBMITTED)
        adopted = current is not None and current.reason == Reason.OBSERVING_OUTCOME
        if current is None or current.status != "True":
            r.condition(
                ConditionType.MIGRATION_SUBMITTED,
                "True",
                Reason.MIGRATION_ADOPTED if adopted else Reason.MIGRATION_SUBMITTED,
                f"Infobip campaign {s.infobip_campaign_id} "
                + ("found after an interrupted submission." if adopted else "created by the migration."),
            )


def _clear_stalled(r: _Round) -> None:
    stalled = get_condition(r.status.conditions, ConditionType.STALLED)
    if stalled is not None and stalled.status == "True":
        r.condition(ConditionType.STALLED, "False", Reason.NOT_STALLED, "The campaign moved on.")


def _registered(r: _Round) -> Done:
    s, spec, now = r.status, r.spec, r.facts.now
    _mark_done_steps(r, Step.MONITOR)
    s.phase = Phase.REGISTERED
    s.registered_at = s.registered_at or now
    s.downtime_ended_at = s.downtime_ended_at or now
    s.pending_operation = None
    s.problem = None
    s.next_check_at = None
    s.attempts = 0
    s.last_error = None
    message = (
        f"Infobip campaign {s.infobip_campaign_id} (TCR {spec.campaign_id}) is REGISTERED: switch the "
        "campaign's traffic to Infobip now."
    )
    r.condition(ConditionType.REGISTERED, "True", Reason.REGISTERED, message)
    _clear_stalled(r)
    suspended = get_condition(s.conditions, ConditionType.SUSPENDED)
    if suspended is not None and suspended.status == "True":
        r.condition(ConditionType.SUSPENDED, "False", Reason.RESUMED, "Nothing left to suspend: registered.")
    r.ready("True", Reason.REGISTERED, message)
    return Done(s)


def _failed(r: _Round, step: Step) -> Fail:
    s = r.status
    assert s.problem is not None
    s.phase = Phase.FAILED
    s.failed_at = s.failed_at or r.facts.now
    s.next_check_at = None
    r.condition(_STEP_CONDITION[step], "False", s.problem.reason, s.problem.message)
    _clear_stalled(r)
    r.ready("False", s.problem.reason, s.problem.message)
    return Fail(s)


def _with_event(decision: Decision, before: Condition | None, before_phase: Phase | None, r: _Round) -> Decision:
    """An Event when the phase changes, on entering and leaving a problem or dry run, and on Ready=True.

    A Ready reason that changes within a phase (ElectingCnp → ElectionPending) is visible in the
    conditions and gets no Event of its own: each Event is a Kubernetes write, and the benchmark
    budgets ten writes per migration (five status patches, five Events on the happy path; D21).
    """
    after = get_condition(r.status.conditions, ConditionType.READY)
    if after is None:
        return decision
    if before is not None and (before.status, before.reason) == (after.status, after.reason):
        return decision
    leaving = before is not None and before.reason in EVENTFUL_REASONS
    if after.status != "True" and after.reason not in EVENTFUL_REASONS and not leaving \
            and before_phase == r.status.phase:
        return decision
    if after.status == "True":
        event = Event("Normal", Reason.SWITCH_TRAFFIC, after.message)
    else:
        event = Event(event_type(after.reason), after.reason, after.message)
    return replace(decision, event=event)
