"""`spec.mode: Preflight`: a read-only pass that lists what would stop the migration (D64-D67).

`preflight_step` is decide's early branch for the mode: it asks for `RunPreflight` (documented GETs
only, never a write) when the last partner reads are missing, of an older generation, older than
`policy.preflight_refresh` or retried, and otherwise merges them with the local checks of this
round (credentials, number source, count, the LOA at the planned submission time) into
`status.preflight`, sets `Eligible`, and parks until the reads are due again. `fold_preflight`
records a `PreflightObserved`. `Ready` stays False: its reason is the first problem's (a Warning
Event), or `Preflight` when there is none. Switching `spec.mode` to `Migrate` starts the migration;
the last preflight stays in the status for reference. Pure: no I/O.
"""

from __future__ import annotations

from datetime import timedelta

from tendlc.api.constants import ConditionType, Reason
from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.status import MigrationStatus, Phase, PreflightItem, PreflightResult
from tendlc.workflow.decisions import Act, Decision, Park
from tendlc.workflow.facts import Facts, Policy
from tendlc.workflow.number_sets import search_number
from tendlc.workflow.preflight_actions import PreflightObserved, RunPreflight
from tendlc.workflow.preflight_checks import (
    LOCAL_CHECKS,
    NOT_READ,
    PARTNER_CHECKS,
    always_not_checked,
    local_findings,
    ordered,
    partner_findings,
    planned_submission,
)
from tendlc.workflow.round import Round

_TO_MIGRATE = "Set spec.mode to Migrate to start the migration."


def preflight_step(r: Round) -> Decision:
    """The preflight mode's decision (see the module docstring)."""
    s, spec, facts, policy = r.status, r.spec, r.facts, r.policy
    s.phase = Phase.PREFLIGHT
    result = s.preflight
    fresh = (
        result is not None and result.generation == facts.generation
        and s.next_check_at is not None and facts.now < s.next_check_at
    )
    if not fresh and facts.credentials_problem is None:
        if result is None:
            message = "Reading TCR and Infobip (GET only) to find what would stop this migration."
            r.condition(ConditionType.ELIGIBLE, "Unknown", Reason.PREFLIGHT_PENDING, message)
            r.ready("False", Reason.PREFLIGHT, f"{message} {_TO_MIGRATE}")
        return Act(_reads(spec), s)
    if result is None or not fresh:
        result = s.preflight = _without_reads(spec, facts)
        s.next_check_at = facts.now + policy.park_recheck  # read the partners once the credentials are there
    _merge_local(result, spec, facts, policy)
    _report(r, result)
    recheck = s.next_check_at - facts.now if s.next_check_at is not None else policy.preflight_refresh
    return Park(s, recheck_after=max(recheck, timedelta(0)))


def leave_preflight(r: Round) -> None:
    """The first round in Migrate after Preflight: the preflight's refresh time is not a wait of the migration."""
    if r.status.phase is Phase.PREFLIGHT:
        r.status.next_check_at = None
        r.status.attempts = 0


def _reads(spec: CampaignMigrationSpec) -> RunPreflight:
    return RunPreflight(
        campaign_id=spec.campaign_id,
        upstream_cnp_id=spec.upstream_cnp_id,
        name=spec.campaign_name_or_default,
        search_number=search_number(spec) if spec.numbers else None,
        numbers=spec.numbers,
    )


def _without_reads(spec: CampaignMigrationSpec, facts: Facts) -> PreflightResult:
    """A result whose partner checks could not run (no usable credentials)."""
    skipped = [
        PreflightItem(check=check, reason=NOT_READ, message="Not read: the partner credentials are not usable.")
        for check in PARTNER_CHECKS
    ]
    return PreflightResult(
        checked_at=facts.now, generation=facts.generation, planned_submission_at=facts.now,
        not_checked=[*skipped, *always_not_checked(spec)],
    )


def _merge_local(result: PreflightResult, spec: CampaignMigrationSpec, facts: Facts, policy: Policy) -> None:
    planned = planned_submission(spec, facts)
    problems, notes, missing = local_findings(spec, facts, policy, planned)

    def keep(items: list[PreflightItem]) -> list[PreflightItem]:
        return [item for item in items if item.check not in LOCAL_CHECKS]

    result.planned_submission_at = planned
    result.problems = ordered([*keep(result.problems), *problems])
    result.notes = ordered([*keep(result.notes), *notes])
    result.not_checked = [*keep(result.not_checked), *missing]
    result.eligible = not result.problems


def _report(r: Round, result: PreflightResult) -> None:
    shown = result.planned_submission_at.isoformat().replace("+00:00", "Z")
    unchecked = ", ".join(item.check for item in result.not_checked)
    if result.problems:
        listed = "; ".join(f"{item.reason}: {item.message}" for item in result.problems)
        message = f"Preflight for a submission at {shown}: {len(result.problems)} problem(s): {listed}"
        r.condition(ConditionType.ELIGIBLE, "False", result.problems[0].reason, message)
        r.ready("False", result.problems[0].reason, f"{message} Fix them first. {_TO_MIGRATE}")
        return
    message = (
        f"Preflight for a submission at {shown}: no problem found by the documented reads"
        + (f"; not checked: {unchecked}" if unchecked else "") + "."
    )
    r.condition(ConditionType.ELIGIBLE, "True", Reason.ELIGIBLE, message)
    r.ready("False", Reason.PREFLIGHT, f"{message} {_TO_MIGRATE}")


def fold_preflight(
    spec: CampaignMigrationSpec,
    s: MigrationStatus,
    action: RunPreflight,
    seen: PreflightObserved,
    facts: Facts,
    policy: Policy,
) -> None:
    """Records what the reads showed; the next decide adds the local checks and reports."""
    problems, notes, missing = partner_findings(spec, seen)
    s.preflight = PreflightResult(
        checked_at=facts.now,
        generation=facts.generation,
        planned_submission_at=planned_submission(spec, facts),
        problems=ordered(problems),
        notes=ordered(notes),
        not_checked=[*missing, *always_not_checked(spec)],
        eligible=not problems,
    )
    s.next_check_at = facts.now + policy.preflight_refresh
    s.attempts = 0
    s.last_error = None
