"""The last step of a campaign of more than 200 numbers: add the rest once it is REGISTERED (D60, D61).

A migrate carries at most 200 numbers; the others (up to 35,000 with a number pool) are added with
`POST …/campaigns/{id}/add-numbers` in batches of `policy.add_numbers_batch_size`, each exactly once:
the `AddNumbers` marker (first number, count and digest of the batch) is written before the POST,
and after a crash, an unknown answer or a refusal the campaign's numbers are read
(`GET …/campaigns/{id}/numbers`) before anything is sent again. Infobip applies a batch
asynchronously (202), so numbers that do not show yet are no proof it failed: absence is concluded
by the D24 rule over `status.numbers.search`, with a window of its own. One batch per pass, so
the cursor (`status.numbers.added`) is written after every batch. Once every batch was accepted,
the campaign's numbers are read with backoff until all show; then `NumbersAdded` turns True and
`Ready` with it — numbers not yet added have no service, so that wait is downtime
(`downtimeEndedAt` waits for it). Pure: `add_numbers_step` decides, `fold_add_numbers` records.
"""

from __future__ import annotations

from datetime import timedelta

from tendlc.api.constants import ConditionType, Reason
from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.status import MigrationStatus, NumbersProgress, NumbersSearch, PendingOperation, Phase
from tendlc.workflow import absence
from tendlc.workflow.decisions import Act, Decision, Wait
from tendlc.workflow.errors import RETRY_HINT, new_problem, schedule_retry
from tendlc.workflow.facts import Facts, Policy
from tendlc.workflow.number_actions import AddNumbers, CampaignNumbersObserved, NumbersAccepted, ObserveCampaignNumbers
from tendlc.workflow.number_sets import (
    batch_at,
    digest_of,
    migrated_numbers,
    next_batch,
    numbers_to_add,
    visible_prefix,
)
from tendlc.workflow.progress import Step, numbers_digest
from tendlc.workflow.round import Round, act_when_due, clear_stalled, outcome_unknown, park


def add_numbers_step(r: Round) -> Decision:
    """The next decision of a registered campaign that still has numbers to add."""
    s, spec, facts = r.status, r.spec, r.facts
    s.phase = Phase.ADDING_NUMBERS
    s.registered_at = s.registered_at or facts.now
    campaign = s.infobip_campaign_id or ""
    r.condition(
        ConditionType.REGISTERED, "True", Reason.REGISTERED,
        f"Infobip campaign {campaign} (TCR {spec.campaign_id}) is REGISTERED with the numbers the migration "
        "carried; the others are being added.",
    )
    if facts.numbers_problem is not None:
        problem = facts.numbers_problem
        return park(r, Step.ADD_NUMBERS, problem.reason, problem.message, r.policy.park_recheck)
    if s.numbers_imported_digest is not None and s.numbers_imported_digest != numbers_digest(spec):
        return park(r, Step.ADD_NUMBERS, Reason.NUMBERS_CHANGED, _changed_message(spec), r.policy.park_recheck)
    progress = s.numbers
    if progress is None:
        message = (
            f"Reading the numbers Infobip campaign {campaign} holds before adding the "
            f"{len(numbers_to_add(spec))} the migration could not carry."
        )
        _adding(r, Reason.ADDING_NUMBERS, message)
        return act_when_due(r, Step.ADD_NUMBERS, ObserveCampaignNumbers(campaign))
    _count(progress, spec)
    marker = s.pending_operation
    if marker is not None:
        return _recover(r, marker, campaign)
    to_add = numbers_to_add(spec)
    if progress.added < len(to_add):
        if progress.last_batch_at == facts.now:
            return Wait(timedelta(0), s)  # one batch per pass: the cursor is written before the next
        batch = next_batch(spec, progress.added, r.policy.add_numbers_batch_size)
        message = (
            f"Adding numbers to Infobip campaign {campaign}: batch {progress.batches + 1} of "
            f"{progress.batches + _batches_left(progress, r.policy)} ({len(batch)} numbers from {batch[0]}); "
            f"{progress.migrated + progress.added} of {progress.total} numbers are on the campaign, "
            f"{progress.pending} have no service until added."
        )
        _adding(r, Reason.ADDING_NUMBERS, message)
        decision = act_when_due(r, Step.ADD_NUMBERS, AddNumbers(campaign, batch))
        if isinstance(decision, Act) and s.pending_operation is not None:
            s.pending_operation.first_number = batch[0]
            s.pending_operation.count = len(batch)
            s.pending_operation.numbers_digest = digest_of(batch)
        return decision
    shown = progress.visible if progress.visible is not None else 0
    message = (
        f"Every batch was accepted; Infobip shows {shown} of {progress.total} numbers on campaign {campaign} "
        "(it adds them asynchronously). Waiting for the rest; the others have no service yet."
    )
    _adding(r, Reason.AWAITING_NUMBERS, message)
    return act_when_due(r, Step.ADD_NUMBERS, ObserveCampaignNumbers(campaign))


def mark_numbers_added(r: Round) -> None:
    """On a registered campaign with nothing left to add: NumbersAdded True, if it had numbers to add."""
    progress = r.status.numbers
    if progress is None:
        return
    r.condition(
        ConditionType.NUMBERS_ADDED, "True", Reason.NUMBERS_ADDED,
        f"All {progress.total} numbers are on Infobip campaign {r.status.infobip_campaign_id}: {progress.migrated} "
        f"migrated, {progress.added} added in {progress.batches} request(s).",
    )


def _recover(r: Round, marker: PendingOperation, campaign: str) -> Decision:
    """After an interrupted, unknown or refused batch: read the campaign's numbers before any resend."""
    spec, policy = r.spec, r.policy
    located = batch_at(spec, marker.first_number or "", marker.count or 0)
    if located is None or digest_of(located[1]) != marker.numbers_digest:
        return park(r, Step.ADD_NUMBERS, Reason.NUMBERS_CHANGED, _changed_message(spec), policy.park_recheck)
    if marker.observe_attempts >= policy.max_observe_attempts:
        return outcome_unknown(
            r,
            Step.ADD_NUMBERS,
            f"Whether Infobip added the batch of {marker.count} numbers from {marker.first_number} to campaign "
            f"{campaign} is unknown: {marker.observe_attempts} reads of its numbers failed (last error: "
            f"{r.status.last_error or 'none recorded'}). Check GET /number-registration/1/campaigns/{campaign}/"
            f"numbers; then {RETRY_HINT}. The operator never resends a batch while in doubt.",
        )
    message = (
        f"Checking whether Infobip received the batch of {marker.count} numbers from {marker.first_number} "
        f"(campaign {campaign}) before anything is sent again."
    )
    _adding(r, Reason.ADDING_NUMBERS, message)
    return act_when_due(r, Step.ADD_NUMBERS, ObserveCampaignNumbers(campaign))


def _adding(r: Round, reason: str, message: str) -> None:
    """NumbersAdded and Ready False with `reason`, or Stalled once registration is long past."""
    s, facts = r.status, r.facts
    r.condition(ConditionType.NUMBERS_ADDED, "False", reason, message)
    since = s.registered_at
    if since is not None and facts.now - since > r.policy.stall_after:
        hours = int((facts.now - since).total_seconds() // 3600)
        stalled = (
            f"Numbers are still being added to Infobip campaign {s.infobip_campaign_id} {hours} hours after it was "
            f"registered: {message} Contact the Infobip Registrations team; the operator keeps trying."
        )
        r.condition(ConditionType.STALLED, "True", Reason.STALLED, stalled)
        r.ready("False", Reason.STALLED, stalled)
        return
    clear_stalled(r)
    r.ready("False", reason, message)


def _changed_message(spec: CampaignMigrationSpec) -> str:
    source = (
        f"ConfigMap {spec.numbers_from.config_map_key_ref.name!r} key {spec.numbers_from.config_map_key_ref.key!r}"
        if spec.numbers_from is not None else "spec.numbers"
    )
    return (
        f"The numbers in {source} are not the ones this migration imported and submitted. Restore the list it "
        "was started with (numbers are fixed once the migration is submitted); to move other numbers, create "
        "another CampaignMigration. Nothing is added until then."
    )


def _batches_left(progress: NumbersProgress, policy: Policy) -> int:
    size = max(policy.add_numbers_batch_size, 1)
    left = progress.total - progress.migrated - progress.added
    return -(-left // size)


def _count(progress: NumbersProgress, spec: CampaignMigrationSpec) -> None:
    progress.total = len(spec.numbers)
    progress.migrated = len(migrated_numbers(spec))
    progress.pending = max(progress.total - progress.migrated - progress.added, 0)


# ------------------------------------------------------------------------------------------ record


def fold_add_numbers(
    spec: CampaignMigrationSpec,
    s: MigrationStatus,
    action: AddNumbers | ObserveCampaignNumbers,
    outcome: NumbersAccepted | CampaignNumbersObserved,
    facts: Facts,
    policy: Policy,
) -> None:
    """What a batch's 202 or a read of the campaign's numbers teaches (see the module docstring)."""
    if isinstance(action, AddNumbers) and isinstance(outcome, NumbersAccepted):
        progress = _progress_of(spec, s, frozenset())
        located = batch_at(spec, action.numbers[0], len(action.numbers))
        offset = located[0] if located is not None else progress.added
        _landed(progress, s, offset + len(action.numbers), facts)
        _count(progress, spec)
        return
    if not isinstance(outcome, CampaignNumbersObserved):  # pragma: no cover - record() pairs them
        raise TypeError(f"{type(outcome).__name__} is not an outcome of {type(action).__name__}")
    shown = outcome.numbers & frozenset(spec.numbers)
    first_look = s.numbers is None
    progress = _progress_of(spec, s, shown)
    before = progress.visible
    progress.visible = len(shown)
    marker = s.pending_operation
    if marker is not None and marker.operation == AddNumbers.operation:
        _observed_batch(spec, s, progress, marker, outcome.numbers, facts, policy)
    elif first_look or progress.visible == progress.total:
        _reset_wait(s)
    else:
        if before is not None and progress.visible > before:
            s.attempts = 0  # they are coming: look again soon rather than after a long backoff
        schedule_retry(s, policy, facts.now)
    _count(progress, spec)
    every_batch_sent = progress.added >= len(numbers_to_add(spec))
    if s.pending_operation is None and every_batch_sent and progress.visible == progress.total:
        progress.completed_at = progress.completed_at or facts.now


def _progress_of(spec: CampaignMigrationSpec, s: MigrationStatus, shown: frozenset[str]) -> NumbersProgress:
    if s.numbers is None:
        s.numbers = NumbersProgress(
            total=len(spec.numbers),
            migrated=len(migrated_numbers(spec)),
            added=visible_prefix(spec, shown),  # added before (another resource, a human): not sent again
        )
    return s.numbers


def _observed_batch(
    spec: CampaignMigrationSpec,
    s: MigrationStatus,
    progress: NumbersProgress,
    marker: PendingOperation,
    shown: frozenset[str],
    facts: Facts,
    policy: Policy,
) -> None:
    located = batch_at(spec, marker.first_number or "", marker.count or 0)
    if located is None:
        return  # the list changed: the next decide parks with NumbersChanged, keeping the marker
    offset, batch = located
    if any(number in shown for number in batch):
        _landed(progress, s, offset + len(batch), facts)  # some of it shows: the POST took effect
        return
    progress.search = _negative(progress.search, facts, marker)
    window = policy.add_numbers_absence_window
    if not absence.concluded(progress.search, policy, interrupted=True, base=window):
        due = absence.next_search_at(progress.search, policy, interrupted=True, base=window)
        s.next_check_at = max(due or facts.now, facts.now)
        return  # keep the marker: the batch may still be applied, or the read may lag it
    s.pending_operation = None
    progress.search = None
    if marker.rejection_reason is not None:
        s.problem = new_problem(
            marker.rejection_reason,
            f"{marker.rejection_message or 'Infobip refused the batch'}; and the campaign does not show its "
            f"numbers. Fix what Infobip names, then {RETRY_HINT}; the batch is sent again then.",
            facts,
            recheck_after=policy,
        )
        return
    _reset_wait(s)  # the POST never landed, by the D24 rule: sending the batch again is allowed


def _negative(search: NumbersSearch | None, facts: Facts, marker: PendingOperation) -> NumbersSearch:
    first = marker.first_number or ""
    if search is None or search.first_number != first:
        return NumbersSearch(negative=1, since=marker.started_at, last_at=facts.now, first_number=first)
    return search.model_copy(update={"negative": search.negative + 1, "last_at": facts.now})


def _landed(progress: NumbersProgress, s: MigrationStatus, added: int, facts: Facts) -> None:
    marker = s.pending_operation
    progress.added = max(progress.added, added)
    progress.batches += 1
    progress.last_batch_at = facts.now
    progress.add_started_at = progress.add_started_at or (marker.started_at if marker is not None else facts.now)
    progress.search = None
    s.pending_operation = None
    _reset_wait(s)


def _reset_wait(s: MigrationStatus) -> None:
    s.attempts = 0
    s.unexpected_answers = 0
    s.next_check_at = None
    s.last_error = None
