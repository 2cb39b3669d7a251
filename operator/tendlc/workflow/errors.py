"""The one place that maps partner errors to waiting, failing or stopping.

`apply_partner_error` folds a `PartnerError` raised by `tendlc.clients` while performing an action
into the status: a temporary problem schedules a retry with backoff (honouring `retry_after`) and
leaves any exactly-once marker in place so the outcome is observed before a resend; a permanent
refusal sets a permanent `problem` (phase Failed) carrying the partner's own words; a problem a
human can fix (credentials, account enablement, an outcome we cannot determine) sets a
non-permanent `problem` (Park). The documented observe-after-rejection cases (any 400 on
migrateCnp, "already in migration" on migrate) keep the marker and remember the refusal. Pure:
A request that was certainly never sent (`RequestNotSent`) clears its marker. Pure: no I/O, no
HTTP status codes (the clients already classified them).
"""

from __future__ import annotations

from datetime import datetime

from tendlc.api.constants import TCR_CODE_CAMPAIGN_EXPIRED, Reason
from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.status import MigrationStatus, Problem
from tendlc.partner_errors import (
    PartnerAuthFailed,
    PartnerError,
    PartnerForbidden,
    PartnerNotFound,
    PartnerRejected,
    PartnerResponseInvalid,
    PartnerUnavailable,
    RequestNotSent,
)
from tendlc.workflow.actions import (
    Action,
    AddNumbers,
    ElectCnp,
    ImportNumbers,
    NonIdempotentAction,
    ObserveCampaignNumbers,
    ObserveElection,
    ObserveMigration,
    PollCampaign,
    SubmitMigration,
)
from tendlc.workflow.backoff import next_delay
from tendlc.workflow.facts import Facts, Policy, human_duration
from tendlc.workflow.number_sets import search_number

RETRY_HINT = "annotate the resource with tendlc.io/retry=<a new value> to retry at once"


def partner_words(error: PartnerError) -> str:
    """The partner's own description of the error, for humans (never a credential or request body)."""
    details = "; ".join(
        f"{problem.code}{f' ({problem.field})' if problem.field else ''}: {problem.description}"
        for problem in error.problems
    )
    text = error.message.strip()
    if details and details not in text:
        text = f"{text} [{details}]" if text else details
    return text or type(error).__name__


def is_already_in_migration(error: PartnerError) -> bool:
    """Infobip's answer to a second migrate for the same externalCampaignId (docs/decisions.md D2)."""
    texts = [error.message, *(problem.description for problem in error.problems)]
    return any("already in migration" in text.lower() for text in texts) or any(
        problem.field == "externalCampaignId" for problem in error.problems
    )


def schedule_retry(
    status: MigrationStatus, policy: Policy, now: datetime, retry_after: float | None = None
) -> None:
    """Count one more attempt of the current wait and set `nextCheckAt` by the backoff."""
    status.next_check_at = now + next_delay(status.attempts, policy, retry_after)
    status.attempts += 1


def new_problem(
    reason: str,
    message: str,
    facts: Facts,
    *,
    permanent: bool = False,
    recheck_after: Policy | None = None,
) -> Problem:
    """A problem stamped with the current time and generation (recheck after `park_recheck` if given)."""
    recheck_at = facts.now + recheck_after.park_recheck if recheck_after is not None else None
    return Problem(
        reason=reason,
        message=message,
        permanent=permanent,
        since=facts.now,
        generation=facts.generation,
        recheck_at=None if permanent else recheck_at,
    )


def apply_partner_error(
    spec: CampaignMigrationSpec,
    status: MigrationStatus,
    action: Action,
    error: PartnerError,
    facts: Facts,
    policy: Policy,
) -> MigrationStatus:
    """Fold `error`, raised while performing `action`, into a copy of `status`."""
    s = status.clone()
    s.last_checked_at = facts.now
    words = partner_words(error)
    marker = s.pending_operation
    non_idempotent = isinstance(action, NonIdempotentAction)

    if isinstance(error, RequestNotSent):
        # Certain: nothing left. A submission whose window closed before its turn waits for the
        # window's end (the wave then says when the next one opens); no attempt is counted.
        if non_idempotent:
            s.pending_operation = None
        s.last_error = words
        send_by = action.send_by if isinstance(action, SubmitMigration) else None
        s.next_check_at = max(send_by, facts.now) if send_by is not None else facts.now + policy.backoff_initial
    elif isinstance(error, PartnerAuthFailed):
        if non_idempotent:
            s.pending_operation = None  # refused before anything happened
        s.problem = new_problem(
            Reason.CREDENTIALS_REJECTED,
            f"{error.partner} rejected the operator's credentials ({words}). Fix the credentials Secret "
            f"({'spec.' + ('infobip' if error.partner.lower() == 'infobip' else 'tcr') + '.credentialsSecretRef'}"
            " or the operator's configuration); the operator tries again every "
            f"{human_duration(policy.park_recheck)}, or {RETRY_HINT}.",
            facts,
            recheck_after=policy,
        )
    elif isinstance(error, PartnerForbidden):
        if non_idempotent:
            s.pending_operation = None
        if isinstance(action, ImportNumbers):
            s.problem = new_problem(
                Reason.IMPORT_NOT_ENABLED,
                f"Infobip refused the number import ({words}): the account is not enabled for self-service "
                f"number import. Ask your Infobip account manager to enable it, then {RETRY_HINT}.",
                facts,
                recheck_after=policy,
            )
        else:
            s.problem = new_problem(
                Reason.PARTNER_FORBIDDEN,
                f"{error.partner} refused {error.endpoint} ({words}): the account is not enabled for this API. "
                f"Ask your account manager to enable it, then {RETRY_HINT}.",
                facts,
                recheck_after=policy,
            )
    elif isinstance(error, PartnerRejected):
        _apply_rejection(spec, s, action, error, words, facts, policy)
    else:
        # PartnerUnavailable, PartnerResponseInvalid, or anything unclassified: the outcome of a POST is
        # unknown, so the marker stays and the next round observes before any resend.
        s.last_error = words
        if isinstance(error, PartnerResponseInvalid):
            s.unexpected_answers += 1
        if marker is not None and isinstance(action, ObserveElection | ObserveMigration | ObserveCampaignNumbers):
            marker.observe_attempts += 1
        retry_after = error.retry_after if isinstance(error, PartnerUnavailable) else None
        if isinstance(error, PartnerUnavailable) and error.rate_limited:
            # The partner never served the request: it is not an attempt of the wait, and the wait's
            # backoff (450-900 s after hours InMigration) would delay a due poll for nothing (bench
            # F11). One initial step, or the partner's Retry-After; the client's bucket, emptied by
            # the 429, paces the resend.
            s.next_check_at = facts.now + next_delay(0, policy, retry_after)
        else:
            schedule_retry(s, policy, facts.now, retry_after)
    return s


def _apply_rejection(
    spec: CampaignMigrationSpec,
    s: MigrationStatus,
    action: Action,
    error: PartnerRejected,
    words: str,
    facts: Facts,
    policy: Policy,
) -> None:
    expired = any(problem.code == TCR_CODE_CAMPAIGN_EXPIRED for problem in error.problems)
    marker = s.pending_operation
    if isinstance(action, ElectCnp) and marker is not None:
        # D6: any refusal of migrateCnp is followed by reading the election; the refusal stands only if
        # TCR shows no election to our CNP.
        marker.rejection_reason = Reason.CAMPAIGN_EXPIRED if expired else Reason.ELECTION_REJECTED
        marker.rejection_message = f"TCR refused the CNP election to {action.upstream_cnp_id}: {words}"
        s.next_check_at = None
    elif isinstance(action, SubmitMigration) and marker is not None and is_already_in_migration(error):
        marker.rejection_reason = Reason.MIGRATION_REJECTED
        marker.rejection_message = f"Infobip refused the migration: {words}"
        s.next_check_at = None
    elif isinstance(action, AddNumbers) and marker is not None:
        # D61: a refusal is taken to have added nothing, but an earlier attempt of the same batch
        # may still be applied asynchronously: the campaign's numbers are read before it stands.
        marker.rejection_reason = Reason.ADD_NUMBERS_REJECTED
        marker.rejection_message = f"Infobip refused to add {len(action.numbers)} numbers to the campaign: {words}"
        s.next_check_at = None
    elif isinstance(action, ObserveCampaignNumbers):
        s.problem = new_problem(
            Reason.CAMPAIGN_NOT_FOUND if isinstance(error, PartnerNotFound) else Reason.PARTNER_REJECTED,
            f"Infobip refused to show the numbers of campaign {action.infobip_campaign_id}: {words}. The operator "
            f"asks again every {human_duration(policy.park_recheck)}, or {RETRY_HINT}.",
            facts,
            recheck_after=policy,
        )
    elif isinstance(action, SubmitMigration):
        s.pending_operation = None
        s.problem = new_problem(
            Reason.MIGRATION_REJECTED, f"Infobip refused the migration: {words}", facts, permanent=True
        )
    elif isinstance(action, ElectCnp | ObserveElection):
        s.pending_operation = None
        reason = Reason.CAMPAIGN_EXPIRED if expired else Reason.ELECTION_REJECTED
        s.problem = new_problem(reason, f"TCR refused campaign {spec.campaign_id}: {words}", facts, permanent=True)
    elif isinstance(action, ImportNumbers):
        # Nothing irreversible happened yet: wait for the user to fix spec.numbers (a new generation).
        s.problem = new_problem(
            Reason.IMPORT_REJECTED,
            f"Infobip refused the number import: {words}. Fix spec.numbers; the migration continues on the change.",
            facts,
        )
    elif isinstance(action, ObserveMigration):
        s.problem = new_problem(
            Reason.OUTCOME_UNKNOWN,
            f"Infobip refused the search for campaign {spec.campaign_id} ({words}), so the outcome of the "
            f"migration is unknown. {outcome_unknown_hint(spec)}",
            facts,
        )
    elif isinstance(action, PollCampaign):
        if isinstance(error, PartnerNotFound):
            s.problem = new_problem(
                Reason.CAMPAIGN_NOT_FOUND,
                f"Infobip does not know campaign {action.infobip_campaign_id} ({words}). Check with the "
                f"Infobip Registrations team; the operator asks again every "
                f"{human_duration(policy.park_recheck)}.",
                facts,
                recheck_after=policy,
            )
        else:
            s.problem = new_problem(
                Reason.PARTNER_REJECTED,
                f"Infobip refused to show campaign {action.infobip_campaign_id}: {words}",
                facts,
                recheck_after=policy,
            )


def outcome_unknown_hint(spec: CampaignMigrationSpec) -> str:
    """What a human checks when the migrate outcome is unknown (docs/decisions.md D4)."""
    name, number = spec.campaign_name_or_default, search_number(spec)
    return (
        f"Check in Infobip for a campaign named {name!r} with number {number} and externalCampaignId "
        f"{spec.campaign_id} (GET /number-registration/1/campaigns?nameLike={name}&number={number}). "
        f"If it exists under another name, set spec.campaignName to that name; then {RETRY_HINT}. "
        "The operator never resends the migration while in doubt."
    )


def election_unknown_hint(spec: CampaignMigrationSpec) -> str:
    """What a human checks when the migrateCnp outcome is unknown."""
    return (
        f"Check at TCR whether campaign {spec.campaign_id} has a CNP election (sharing) to "
        f"{spec.upstream_cnp_id} (GET /v2/campaign/{spec.campaign_id}/sharing or the TCR portal); then "
        f"{RETRY_HINT}. The operator never resends the election while in doubt."
    )
