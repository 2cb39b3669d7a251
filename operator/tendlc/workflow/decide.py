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

from dataclasses import replace

from tendlc.api.constants import WARNING_REASONS, ConditionType, Reason, Stage, event_type
from tendlc.api.spec import CampaignMigrationSpec, Mode
from tendlc.api.status import Condition, MigrationStatus, Phase, WaveRelease
from tendlc.workflow.actions import AddNumbers, ElectCnp, ObserveElection, SubmitMigration, SwitchTraffic
from tendlc.workflow.add_numbers import add_numbers_step, mark_numbers_added
from tendlc.workflow.conditions import get_condition
from tendlc.workflow.decisions import Decision, Done, Event, Fail, Park
from tendlc.workflow.facts import Facts, Policy
from tendlc.workflow.holds import not_before_hold, numbers_hold
from tendlc.workflow.preflight import leave_preflight, preflight_step
from tendlc.workflow.progress import Step, adds_pending, current_step
from tendlc.workflow.round import (
    STEP_CONDITION,
    Round,
    act_when_due,
    clear_stalled,
    cutover_of,
    park,
    step_phase,
)
from tendlc.workflow.secrets import secret_opt_in
from tendlc.workflow.steps import elect_step, import_step, monitor_step, submit_step
from tendlc.workflow.switch import describe_cutover, precheck, switch_step

# Ready reasons that get an Event on the way in and on the way out even within one phase (D21):
# every problem, plus the states a user put the resource in and must see confirmed or lifted.
EVENTFUL_REASONS = WARNING_REASONS | {Reason.DRY_RUN, Reason.INVALID_SPEC}


def decide(spec: CampaignMigrationSpec, status: MigrationStatus, facts: Facts, policy: Policy) -> Decision:
    """The next decision for this resource (see the module docstring)."""
    before = get_condition(status.conditions, ConditionType.READY)
    before_phase = status.phase
    r = Round(spec, status.clone(), facts, policy)
    r.status.observed_generation = facts.generation
    r.status.secret_opt_in = secret_opt_in(r.status, facts.generation)
    if spec.numbers or spec.numbers_from is None:  # an unread numbersFrom keeps the last count
        r.status.number_count = len(spec.numbers)
    if not facts.dry_run:
        r.status.planned_calls = None
    _apply_controls(r)
    _status_readability(r)
    decision = _decide(r)
    return _with_event(decision, before, before_phase, r)


KNOWN_OPERATIONS = frozenset(
    {ElectCnp.operation, SubmitMigration.operation, SwitchTraffic.operation, AddNumbers.operation}
)


def _status_readability(r: Round) -> None:
    """StatusReadable=False while fields another version wrote could not be read; True once rewritten."""
    unreadable = r.facts.unreadable_status
    if unreadable:
        r.condition(
            ConditionType.STATUS_READABLE, "False", Reason.UNREADABLE_STATUS,
            f"status field(s) {', '.join(unreadable)} hold values this operator version cannot read (written by "
            "another version?); they were ignored and are rebuilt from the partners' answers. An exactly-once "
            "marker, if any, was kept.",
        )
        return
    current = get_condition(r.status.conditions, ConditionType.STATUS_READABLE)
    if current is not None and current.status != "True":
        r.condition(ConditionType.STATUS_READABLE, "True", Reason.STATUS_READABLE, "Every status field is readable.")


def _apply_controls(r: Round) -> None:
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


def _decide(r: Round) -> Decision:
    s, spec, facts = r.status, r.spec, r.facts
    registered = s.infobip_campaign_id is not None and s.infobip_stage == Stage.REGISTERED
    if registered and not adds_pending(spec, s):  # hook (D60): a larger campaign adds numbers first
        return _registered(r)
    marker = s.pending_operation
    if marker is not None and marker.operation not in KNOWN_OPERATIONS:
        message = (
            f"status.pendingOperation names {marker.operation!r}, an operation this operator version does not know "
            "(written by a newer version?). It is kept and nothing is sent until an operator that knows it runs, "
            "or a human who checked the partners removes it from the status."
        )
        r.ready("False", Reason.UNKNOWN_PENDING_OPERATION, message)
        return Park(s)
    step = current_step(spec, s)
    _mark_done_steps(r, step)
    if s.problem is not None and s.problem.permanent:
        return _failed(r, step)

    if facts.claimed_by is not None:
        message = (
            f"Campaign {spec.campaign_id} is claimed by CampaignMigration {facts.claimed_by}, created earlier: one "
            "campaign is migrated by one resource. Nothing is sent to TCR or Infobip for this one; delete it, or "
            f"delete {facts.claimed_by} if this one should migrate the campaign (it then continues by itself)."
        )
        return park(r, step, Reason.CAMPAIGN_CLAIMED_ELSEWHERE, message, None, step_condition=False)
    if facts.campaign_not_allowed is not None:
        message = f"{facts.campaign_not_allowed} Nothing is sent to TCR or Infobip."
        return park(r, step, Reason.CAMPAIGN_NOT_ALLOWED_IN_NAMESPACE, message, r.policy.park_recheck,
                    step_condition=False)

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
    # Hook (D64): Preflight reads only, so it runs whatever a wave holds back.
    if spec.mode is Mode.PREFLIGHT:
        return preflight_step(r)
    leave_preflight(r)
    held = _wave_hold(r, step)
    if held is not None:
        return held
    # Hooks (D62, D66): an unreadable number source and spec.notBefore hold every step.
    held = numbers_hold(r, step) or not_before_hold(r, step)
    if held is not None:
        return held

    if step < Step.MONITOR:
        loa_reason, loa_message = _check_loa(r)
        r.condition(
            ConditionType.LOA_VALID, "True" if loa_reason == Reason.LOA_VALID else "False", loa_reason, loa_message
        )
        if loa_reason != Reason.LOA_VALID:
            return park(r, step, loa_reason, loa_message, r.policy.park_recheck, step_condition=False)
    if facts.credentials_problem is not None:
        reason = facts.credentials_reason or Reason.CREDENTIALS_MISSING
        fix = {
            Reason.CREDENTIALS_MISSING: " Create or fix the Secret; the migration continues by itself.",
            Reason.CREDENTIALS_SECRET_NOT_LABELED: " The migration continues by itself once it is labeled.",
        }.get(reason, "")
        message = facts.credentials_problem.rstrip(".") + "." + fix
        return park(r, step, reason, message, r.policy.park_recheck, step_condition=False)
    held_for_cutover = precheck(r, step)
    if held_for_cutover is not None:
        return held_for_cutover
    if s.problem is not None:
        recheck = s.problem.recheck_at - facts.now if s.problem.recheck_at is not None else None
        return park(r, step, s.problem.reason, s.problem.message, recheck)

    if facts.dry_run and s.tcr_sharing_status is None and s.cnp_elected_at is None and step < Step.MONITOR:
        s.phase = step_phase(r, step)
        return act_when_due(r, step, ObserveElection(spec.campaign_id, spec.upstream_cnp_id))
    if step is Step.ADD_NUMBERS:  # hook (D60)
        return add_numbers_step(r)
    if step is Step.IMPORT:
        return import_step(r)
    if step is Step.ELECT:
        return elect_step(r)
    if step is Step.SUBMIT:
        return submit_step(r)
    return monitor_step(r)


def _wave_hold(r: Round, step: Step) -> Park | None:
    """A wave's member waits for its release before any partner call; once released it keeps going.

    A member that had already started when its wave appeared counts as released (it is in flight).
    """
    s, wave = r.status, r.facts.wave
    if wave is None or s.release is not None:
        return None
    started = step > Step.IMPORT or s.numbers_imported_at is not None or s.tcr_sharing_status is not None
    if wave.released or started:
        s.release = WaveRelease(wave=wave.wave, at=r.facts.now)
        return None
    s.phase = Phase.PENDING
    message = (
        f"Held by MigrationWave {wave.wave!r} until it releases this campaign (canary first, then as members "
        "finish within maxInFlight): no call is made to TCR or Infobip until then."
    )
    r.ready("False", Reason.HELD_BY_WAVE, message)
    return Park(s)


def _check_loa(r: Round) -> tuple[str, str]:
    reason, message = _check_loa_content(r)
    loa, ref = r.facts.loa, r.spec.loa_secret_ref
    if loa.unlabeled_fix is None:
        return reason, message
    if not r.status.secret_opt_in or not r.status.secret_opt_in.exempt:
        return (
            Reason.LOA_SECRET_NOT_LABELED,
            f"Secret {ref.name!r} (loaSecretRef) is not labeled tendlc.io/usage=loa, so the operator does not use "
            f"it. If it holds this migration's signed LOA, opt it in: {loa.unlabeled_fix} "
            "(the migration continues by itself).",
        )
    hint = f" Secret {ref.name!r} is not labeled tendlc.io/usage=loa; label it: {loa.unlabeled_fix}"
    return reason, message + hint  # passed the gate before the label was required: keeps going


def _check_loa_content(r: Round) -> tuple[str, str]:
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
    wave = r.facts.wave
    if wave is not None and not wave.submission_open and wave.next_window is not None:
        planned = wave.next_window.date()
        if planned > valid_until:
            return (
                Reason.LOA_EXPIRES_BEFORE_SUBMISSION,
                f"The LOA signed on {signed.isoformat()} is valid for submission until {valid_until.isoformat()}, "
                f"but MigrationWave {wave.wave!r} submits it in its next window, from {planned.isoformat()}. "
                f"Have it signed again before then. {fix}",
            )
    return (
        Reason.LOA_VALID,
        f"LOA signed on {signed.isoformat()}; valid for submission until {valid_until.isoformat()}.",
    )


def _mark_done_steps(r: Round, step: Step) -> None:
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


def _registered(r: Round) -> Decision:
    s, spec, now = r.status, r.spec, r.facts.now
    _mark_done_steps(r, Step.MONITOR)
    s.phase = Phase.REGISTERED
    if s.registered_at is None:
        s.registered_at = now
        # The poll's backoff is over: a cut-over starts at once, counting its own attempts.
        s.next_check_at = None
        s.attempts = 0
        s.last_error = None
    s.problem = None
    clear_stalled(r)
    mark_numbers_added(r)  # hook (D60): every number is on the campaign before the cut-over runs
    cutover = cutover_of(r)
    registered = f"Infobip campaign {s.infobip_campaign_id} (TCR {spec.campaign_id}) is REGISTERED"
    if cutover is not None and s.traffic_switched_at is None:
        r.condition(ConditionType.REGISTERED, "True", Reason.REGISTERED, f"{registered}.")
        return switch_step(r, cutover, registered)
    suspended = get_condition(s.conditions, ConditionType.SUSPENDED)
    if suspended is not None and suspended.status == "True":
        r.condition(ConditionType.SUSPENDED, "False", Reason.RESUMED, "Nothing left to suspend: registered.")
    s.pending_operation = None  # an observation found the campaign registered: nothing is in doubt
    s.downtime_ended_at = s.downtime_ended_at or s.traffic_switched_at or now
    s.next_check_at = None
    s.attempts = 0
    s.last_error = None
    if cutover is not None:
        message = f"{registered}; the cut-over switched its traffic to Infobip ({describe_cutover(cutover)})."
        r.condition(ConditionType.TRAFFIC_SWITCHED, "True", Reason.TRAFFIC_SWITCHED, message)
    else:
        message = f"{registered}: switch the campaign's traffic to Infobip now."
        # The cut-over was removed from the spec (or the wave) before it succeeded: its condition
        # no longer describes anything, and a TrafficSwitched=False left behind would keep
        # TendlcCutOverPending firing for a switch nobody asks for any more.
        s.conditions = [c for c in s.conditions
                        if c.type != ConditionType.TRAFFIC_SWITCHED or c.status == "True"]
    r.condition(ConditionType.REGISTERED, "True", Reason.REGISTERED, message)
    r.ready("True", Reason.REGISTERED, message)
    return Done(s)


def _failed(r: Round, step: Step) -> Fail:
    s = r.status
    assert s.problem is not None
    s.phase = Phase.FAILED
    s.failed_at = s.failed_at or r.facts.now
    s.next_check_at = None
    r.condition(STEP_CONDITION[step], "False", s.problem.reason, s.problem.message)
    clear_stalled(r)
    r.ready("False", s.problem.reason, s.problem.message)
    return Fail(s)


def _with_event(decision: Decision, before: Condition | None, before_phase: Phase | None, r: Round) -> Decision:
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
        done = Reason.TRAFFIC_SWITCHED if r.status.traffic_switched_at is not None else Reason.SWITCH_TRAFFIC
        event = Event("Normal", done, after.message)
    else:
        event = Event(event_type(after.reason), after.reason, after.message)
    return replace(decision, event=event)
