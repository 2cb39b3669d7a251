"""The four steps of a migration, each deciding its next action from a `Round`.

`import_step` imports the numbers, `elect_step` reads and makes the CNP election at TCR,
`submit_step` submits the Infobip migration — only after Infobip was searched for an existing
campaign of this externalCampaignId (docs/decisions.md D4, D24) — and `monitor_step` polls the
campaign until a final stage. Each sets its step condition and `Ready`, and returns the decision.
Pure: no I/O.
"""

from __future__ import annotations

from tendlc.api.constants import ConditionType, Reason, Sharing
from tendlc.api.status import MigrationSearch, PendingOperation, Phase
from tendlc.workflow import absence
from tendlc.workflow.actions import (
    ElectCnp,
    ImportNumbers,
    ObserveElection,
    ObserveMigration,
    PollCampaign,
    SubmitMigration,
)
from tendlc.workflow.decisions import Act, Decision, Park, Wait
from tendlc.workflow.errors import election_unknown_hint, outcome_unknown_hint
from tendlc.workflow.number_sets import migrated_numbers, search_number
from tendlc.workflow.progress import Step, numbers_digest
from tendlc.workflow.round import Round, act_when_due, clear_stalled, outcome_unknown

UNEXPECTED_AFTER = 3
"""Answers in a row neither readable nor confirmed before the import turns into a Warning (D40)."""


def import_step(r: Round) -> Decision:
    spec, s = r.spec, r.status
    s.phase = Phase.IMPORTING_NUMBERS
    reason, message = Reason.IMPORTING_NUMBERS, f"Importing {len(spec.numbers)} numbers into the Infobip account."
    if s.unexpected_answers >= UNEXPECTED_AFTER:
        reason = Reason.PARTNER_ANSWER_UNEXPECTED
        message = (
            f"{s.unexpected_answers} import answers in a row could not be read, and Infobip's owned-numbers list "
            f"did not confirm them either: {s.last_error}. The import is sent again with backoff (it is "
            "idempotent); if this lasts, ask Infobip whether the account's import is asynchronous or enabled."
        )
    r.condition(ConditionType.NUMBERS_IMPORTED, "False", reason, message)
    r.ready("False", reason, message)
    action = ImportNumbers(spec.numbers, spec.skip_osr_update, r.policy.import_batch_size)
    return act_when_due(r, Step.IMPORT, action)


def elect_step(r: Round) -> Decision:
    s, spec, policy = r.status, r.spec, r.policy
    s.phase = Phase.ELECTING_CNP
    observe = ObserveElection(spec.campaign_id, spec.upstream_cnp_id)
    marker = s.pending_operation
    if marker is not None:
        if marker.observe_attempts >= policy.max_observe_attempts:
            return outcome_unknown(
                r,
                Step.ELECT,
                f"The outcome of the CNP election for campaign {spec.campaign_id} is unknown: "
                f"{marker.observe_attempts} attempts to read TCR's sharing record failed "
                f"(last error: {s.last_error or 'none recorded'}). {election_unknown_hint(spec)}",
            )
        message = f"Checking at TCR whether the election of {spec.upstream_cnp_id} was received."
        r.condition(ConditionType.CNP_ELECTED, "False", Reason.OBSERVING_OUTCOME, message)
        r.ready("False", Reason.ELECTING_CNP, message)
        return act_when_due(r, Step.ELECT, observe)
    sharing = s.tcr_sharing_status
    if sharing is None:
        message = f"Reading campaign {spec.campaign_id}'s CNP election at TCR."
        r.condition(ConditionType.CNP_ELECTED, "False", Reason.ELECTING_CNP, message)
        r.ready("False", Reason.ELECTING_CNP, message)
        return act_when_due(r, Step.ELECT, observe)
    if sharing not in (Sharing.NONE, Sharing.DECLINED):
        message = (
            f"TCR shows the election of {spec.upstream_cnp_id} for campaign {spec.campaign_id} as {sharing}; "
            "waiting for ACCEPTED."
        )
        r.condition(ConditionType.CNP_ELECTED, "False", Reason.ELECTION_PENDING, message)
        r.ready("False", Reason.ELECTION_PENDING, message)
        if s.migration_search is None:
            # The first search for an existing Infobip campaign (D24) while TCR decides: by the time
            # the election is accepted the window has usually passed, so the submission is not delayed.
            return Act(ObserveMigration(spec.campaign_id, spec.campaign_name_or_default, search_number(spec)), s)
        submittable_at = absence.conclusion_at(s.migration_search, policy, interrupted=False)
        if submittable_at is not None and (s.next_check_at is None or s.next_check_at < submittable_at):
            # Nothing is submitted before the searches' window ends, so TCR is read again then, not
            # sooner: an ACCEPTED read earlier would only wait for the window — one pass, read and
            # status write more (D24). A DECLINED election is seen at most a window later.
            s.next_check_at = submittable_at
        return act_when_due(r, Step.ELECT, observe)
    message = f"Electing {spec.upstream_cnp_id} as upstream CNP of campaign {spec.campaign_id} at TCR."
    r.condition(ConditionType.CNP_ELECTED, "False", Reason.ELECTING_CNP, message)
    r.ready("False", Reason.ELECTING_CNP, message)
    return act_when_due(r, Step.ELECT, ElectCnp(spec.campaign_id, spec.upstream_cnp_id))


def submit_step(r: Round) -> Decision:
    s, spec, policy = r.status, r.spec, r.policy
    s.phase = Phase.SUBMITTING_MIGRATION
    marker = s.pending_operation
    if marker is not None:
        return _recover_submission(r, marker)
    wave = r.facts.wave
    closes = wave.submission_closes_at if wave is not None else None
    if wave is not None and closes is not None and r.facts.now >= closes:
        # The window closed after the wave last looked: the wave looks again at its end and wakes us.
        message = (f"Ready to submit the Infobip migration of {spec.campaign_id}; the window of MigrationWave "
                   f"{wave.wave!r} closed at {closes.isoformat()}; waiting for the next one.")
        r.condition(ConditionType.MIGRATION_SUBMITTED, "False", Reason.WAITING_FOR_WINDOW, message)
        r.ready("False", Reason.WAITING_FOR_WINDOW, message)
        return Park(s)
    if wave is not None and not wave.submission_open:
        when = f"opens at {wave.next_window.isoformat()}" if wave.next_window else "is not scheduled yet"
        message = (
            f"Ready to submit the Infobip migration of {spec.campaign_id}; MigrationWave {wave.wave!r} submits only "
            f"inside its maintenance windows, and the next one {when}."
        )
        r.condition(ConditionType.MIGRATION_SUBMITTED, "False", Reason.WAITING_FOR_WINDOW, message)
        r.ready("False", Reason.WAITING_FOR_WINDOW, message)
        if wave.next_window is None or wave.next_window <= r.facts.now:
            return Park(s)  # the wave wakes its members when it opens the window
        return Wait(wave.next_window - r.facts.now, s)
    name, number = spec.campaign_name_or_default, search_number(spec)
    search = s.migration_search
    if search is not None and (search.name, search.number) != (name, number):
        search = s.migration_search = None  # the spec changed since: search with what will be sent
    if not absence.concluded(search, policy, interrupted=False):
        done = search.negative if search is not None else 0
        message = (
            f"Searching Infobip for an existing campaign of {spec.campaign_id} before submitting "
            f"({done} of {policy.absence_searches} searches done, none found; docs/decisions.md D24)."
        )
        r.condition(ConditionType.MIGRATION_SUBMITTED, "False", Reason.CHECKING_EXISTING_CAMPAIGN, message)
        r.ready("False", Reason.SUBMITTING_MIGRATION, message)
        return _search_when_due(r, search, ObserveMigration(spec.campaign_id, name, number))
    message = f"Submitting the Infobip migration of campaign {spec.campaign_id} as {name!r}."
    r.condition(ConditionType.MIGRATION_SUBMITTED, "False", Reason.SUBMITTING_MIGRATION, message)
    r.ready("False", Reason.SUBMITTING_MIGRATION, message)
    action = SubmitMigration(
        campaign_id=spec.campaign_id,
        name=name,
        numbers=migrated_numbers(spec),  # D60: at most 200; a larger campaign adds the rest once registered
        number_pool_id=spec.number_pool_id,
        is_client_manage_nnid=spec.client_manages_nnid,
        send_by=wave.submission_closes_at if wave is not None else None,
    )
    decision = act_when_due(r, Step.SUBMIT, action)
    if isinstance(decision, Act) and s.pending_operation is not None:
        # The marker says what was sent, so a recovery searches for exactly that.
        s.pending_operation.name = name
        s.pending_operation.first_number = number
        s.pending_operation.numbers_digest = numbers_digest(spec)
        s.migration_search = None
    return decision


def _recover_submission(r: Round, marker: PendingOperation) -> Decision:
    """After an interrupted or refused submission: search for what was sent until found or absent."""
    s, spec, policy = r.status, r.spec, r.policy
    if marker.observe_attempts >= policy.max_observe_attempts:
        return outcome_unknown(
            r,
            Step.SUBMIT,
            f"The outcome of the Infobip migration of campaign {spec.campaign_id} is unknown: "
            f"{marker.observe_attempts} attempts to search Infobip's campaigns failed "
            f"(last error: {s.last_error or 'none recorded'}). {outcome_unknown_hint(spec)}",
        )
    name = marker.name or spec.campaign_name_or_default
    number = marker.first_number or search_number(spec)
    message = f"Checking at Infobip whether the migration of {spec.campaign_id} ({name!r}) was received."
    r.condition(ConditionType.MIGRATION_SUBMITTED, "False", Reason.OBSERVING_OUTCOME, message)
    r.ready("False", Reason.SUBMITTING_MIGRATION, message)
    return act_when_due(r, Step.SUBMIT, ObserveMigration(spec.campaign_id, name, number))


def _search_when_due(r: Round, search: MigrationSearch | None, action: ObserveMigration) -> Decision:
    due = absence.next_search_at(search, r.policy, interrupted=False)
    if due is not None and r.facts.now < due:
        return Wait(due - r.facts.now, r.status)
    return Act(action, r.status)


def monitor_step(r: Round) -> Decision:
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
        wave = facts.wave
        if wave is not None and not wave.osr_allowed:
            when = f" (from {wave.next_window.isoformat()})" if wave.next_window else ""
            message = (
                f"Infobip campaign {campaign} is {stage}. Do not update the OSR records yet: MigrationWave "
                f"{wave.wave!r} allows it in its next maintenance window{when}. Then update them to Infobip's NNID "
                "and annotate the resource with tendlc.io/osr-updated=<RFC 3339 time of the update>."
            )
        elif wave is not None:
            message += f" MigrationWave {wave.wave!r}: the OSR update is allowed now."
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
        clear_stalled(r)
    r.ready("False", ready_reason, ready_message)
    return act_when_due(r, Step.MONITOR, PollCampaign(campaign))
