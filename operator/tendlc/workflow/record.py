"""Fold the outcome of an action into the status.

`record(spec, status, action, outcome, facts, policy)` is called by the executor after it performed
the action `decide` asked for, with either a success value (`ImportResult`, `ElectionObserved`,
`CampaignObserved`, `MigrationNotFound`) or the `PartnerError` the client raised. It writes what was
learnt (timestamps, the Infobip UUID and stage, TCR's sharing status, the exactly-once marker's fate,
the next check time, a `problem`) and nothing else: phases, conditions and events are derived by the
next `decide`. Errors go through `tendlc.workflow.errors`, the one place that maps them. Pure.
"""

from __future__ import annotations

from tendlc.api.constants import FAILURE_STAGES, Reason, Sharing, Stage
from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.status import MigrationStatus
from tendlc.partner_errors import PartnerError
from tendlc.workflow import absence
from tendlc.workflow.actions import (
    Action,
    AddNumbers,
    CampaignNumbersObserved,
    CampaignObserved,
    CutOverFailed,
    ElectCnp,
    ElectionObserved,
    ImportNumbers,
    ImportResult,
    MigrationNotFound,
    NumbersAccepted,
    ObserveCampaignNumbers,
    ObserveElection,
    ObserveMigration,
    Outcome,
    PollCampaign,
    PreflightObserved,
    RunPreflight,
    SubmitMigration,
    SwitchTraffic,
    TrafficSwitchedOutcome,
)
from tendlc.workflow.add_numbers import fold_add_numbers
from tendlc.workflow.errors import apply_partner_error, new_problem, outcome_unknown_hint, schedule_retry
from tendlc.workflow.facts import Facts, Policy
from tendlc.workflow.preflight import fold_preflight
from tendlc.workflow.progress import Step, current_step, numbers_digest


def record(
    spec: CampaignMigrationSpec,
    status: MigrationStatus,
    action: Action,
    outcome: Outcome,
    facts: Facts,
    policy: Policy,
) -> MigrationStatus:
    """The status after `action` ended in `outcome` (see the module docstring)."""
    if isinstance(outcome, PartnerError):
        return apply_partner_error(spec, status, action, outcome, facts, policy)
    s = status.clone()
    s.last_checked_at = facts.now
    s.last_error = None
    if isinstance(action, ImportNumbers) and isinstance(outcome, ImportResult):
        s.numbers_imported_at = facts.now
        s.numbers_imported_digest = numbers_digest(spec)
        _progress(s)
    elif isinstance(action, ObserveElection | ElectCnp) and isinstance(outcome, ElectionObserved):
        _fold_election(spec, s, outcome, facts, policy)
    elif isinstance(action, ObserveMigration | SubmitMigration) and isinstance(
        outcome, CampaignObserved | MigrationNotFound
    ):
        _fold_migration(spec, s, action, outcome, facts, policy)
    elif isinstance(action, PollCampaign) and isinstance(outcome, CampaignObserved):
        _fold_stage(s, outcome, facts, policy)
    elif isinstance(action, SwitchTraffic) and isinstance(outcome, TrafficSwitchedOutcome):
        s.pending_operation = None
        s.traffic_switched_at = facts.now
        s.downtime_ended_at = s.downtime_ended_at or facts.now  # no service on the old path until now
        _progress(s)
    elif isinstance(action, SwitchTraffic) and isinstance(outcome, CutOverFailed):
        # A resend carries the same idempotency key (D58): the marker has done its job.
        s.pending_operation = None
        s.last_error = outcome.message
        schedule_retry(s, policy, facts.now)
    # Hooks of the large-campaign and preflight rooms (D60-D67): their outcomes are folded there.
    elif isinstance(action, AddNumbers | ObserveCampaignNumbers) and isinstance(
        outcome, NumbersAccepted | CampaignNumbersObserved
    ):
        fold_add_numbers(spec, s, action, outcome, facts, policy)
    elif isinstance(action, RunPreflight) and isinstance(outcome, PreflightObserved):
        fold_preflight(spec, s, action, outcome, facts, policy)
    else:
        raise TypeError(f"{type(outcome).__name__} is not an outcome of {type(action).__name__}")
    return s


def _progress(s: MigrationStatus) -> None:
    s.attempts = 0
    s.unexpected_answers = 0
    s.next_check_at = None
    s.last_error = None


def _fold_election(
    spec: CampaignMigrationSpec, s: MigrationStatus, seen: ElectionObserved, facts: Facts, policy: Policy
) -> None:
    marker = s.pending_operation
    previous = s.tcr_sharing_status
    ours = seen.sharing_status is not None and seen.upstream_cnp_id == spec.upstream_cnp_id
    sharing = (seen.sharing_status or "").upper() if ours else Sharing.NONE
    s.tcr_sharing_status = sharing
    if sharing == Sharing.ACCEPTED:
        s.pending_operation = None
        s.cnp_elected_at = facts.now
        _progress(s)
    elif sharing == Sharing.DECLINED:
        s.pending_operation = None
        if marker is not None or previous in (Sharing.PENDING, Sharing.ACCEPTED):
            s.problem = new_problem(
                Reason.ELECTION_DECLINED,
                f"TCR: the election of {spec.upstream_cnp_id} for campaign {spec.campaign_id} was DECLINED: "
                f"{seen.explanation or 'no explanation given'}",
                facts,
                permanent=True,
            )
        else:
            _progress(s)  # an old, declined election of someone else's attempt: electing again is allowed
    elif sharing == Sharing.NONE:
        if marker is not None and marker.rejection_reason is None and \
                facts.now < marker.started_at + absence.window(policy, interrupted=True):
            # No election yet, but the POST may still be taking effect: one in flight (ours after a
            # timeout, or another writer's whose marker we read) lands after this read. Absence is
            # concluded only a window after the POST was sent, as for a migrate (D24).
            s.next_check_at = marker.started_at + absence.window(policy, interrupted=True)
            return
        s.pending_operation = None
        if marker is not None and marker.rejection_reason is not None:
            s.problem = new_problem(
                marker.rejection_reason, marker.rejection_message or "TCR refused the election", facts, permanent=True
            )
        _progress(s)  # no election and no refusal: the POST never landed, so sending it is allowed
    else:
        # PENDING, or a status we do not know: the election exists; poll it with backoff.
        s.pending_operation = None
        if sharing != previous:
            s.attempts = 0
        schedule_retry(s, policy, facts.now)


def _fold_migration(
    spec: CampaignMigrationSpec,
    s: MigrationStatus,
    action: ObserveMigration | SubmitMigration,
    seen: CampaignObserved | MigrationNotFound,
    facts: Facts,
    policy: Policy,
) -> None:
    marker = s.pending_operation
    # A finished, failed campaign of an older attempt is not the outcome of ours: with a marker only
    # if it predates the marker; without one (a search before submitting) always, since Infobip
    # takes a new migrate once the old campaign is final (D2).
    if isinstance(seen, CampaignObserved) and not seen.created and seen.stage in FAILURE_STAGES:
        created = seen.created_at
        if marker is None or (created is not None and created < marker.started_at - policy.clock_skew):
            seen = MigrationNotFound()
    if isinstance(action, ObserveMigration) and isinstance(seen, MigrationNotFound):
        _no_campaign_found(spec, s, action, facts, policy)
        return
    if isinstance(seen, MigrationNotFound):  # pragma: no cover - a migrate answer is a campaign or an error
        return
    if isinstance(action, ObserveMigration) and marker is None and current_step(spec, s) is Step.ELECT:
        return  # found while TCR still decides: adopted by the search of the submit step, not before
    s.pending_operation = None
    s.migration_search = None
    s.infobip_campaign_id = seen.infobip_campaign_id
    s.migration_submitted_at = facts.now if seen.created or seen.created_at is None else seen.created_at
    s.infobip_stage = None
    _progress(s)
    _fold_stage(s, seen, facts, policy)


def _no_campaign_found(
    spec: CampaignMigrationSpec, s: MigrationStatus, action: ObserveMigration, facts: Facts, policy: Policy
) -> None:
    """A search found nothing: one more negative, and absence concluded only by the D24 rule."""
    marker = s.pending_operation
    if marker is None:  # a search before submitting; its schedule is the window's, not the backoff's
        s.migration_search = absence.record_negative(s.migration_search, facts.now, action.name, action.number)
        s.last_error = None
        return
    s.migration_search = absence.record_negative(
        s.migration_search, facts.now, action.name, action.number, since=marker.started_at
    )
    if not absence.concluded(s.migration_search, policy, interrupted=True):
        due = absence.next_search_at(s.migration_search, policy, interrupted=True)
        s.next_check_at = max(due or facts.now, facts.now)
        return  # keep the marker: the POST may still take effect, or the list may lag it
    if marker.rejection_reason is not None:
        s.problem = new_problem(
            Reason.OUTCOME_UNKNOWN,
            f"{marker.rejection_message or 'Infobip refused the migration'}; but no campaign with "
            f"externalCampaignId {spec.campaign_id} was found. {outcome_unknown_hint(spec)}",
            facts,
        )
        return  # keep the marker: a retry observes again, never resends
    s.pending_operation = None  # the POST never landed, by the D24 rule: sending it again is allowed
    _progress(s)


def _fold_stage(s: MigrationStatus, seen: CampaignObserved, facts: Facts, policy: Policy) -> None:
    previous = s.infobip_stage
    stage = seen.stage
    s.infobip_stage = stage
    if stage == Stage.REGISTERED:
        _progress(s)
    elif stage in FAILURE_STAGES:
        reason = Reason.CAMPAIGN_DEREGISTERED if stage == Stage.DEREGISTERED else Reason.CAMPAIGN_REJECTED
        s.problem = new_problem(
            reason,
            f"Infobip campaign {s.infobip_campaign_id} is {stage}: {seen.rejection_message or 'no reason given'}",
            facts,
            permanent=True,
        )
        _progress(s)
    else:
        if stage != previous:
            s.attempts = 0
        schedule_retry(s, policy, facts.now)
