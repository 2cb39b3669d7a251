"""The performer: makes the partner call(s) of one workflow action and reports the outcome as a value.

This is tendlc's counterpart of a Crossplane provider's ExternalClient: the workflow says *what*
(an `Action`), the performer does it through the partner clients and translates the answer into
an `Outcome` the workflow's `record` understands. A partner failure is returned, never raised, so
the pass has a single path for every answer. It keeps no state and decides nothing: what an
outcome means is the workflow's job.
"""

from __future__ import annotations

from tendlc.clients.models import InfobipCampaign, NumberImportResult
from tendlc.partner_errors import PartnerError, PartnerProblem, PartnerRejected
from tendlc.partners import PartnerClients
from tendlc.workflow import (
    Action,
    CampaignObserved,
    ElectCnp,
    ElectionObserved,
    ImportNumbers,
    ImportResult,
    MigrationNotFound,
    ObserveElection,
    ObserveMigration,
    Outcome,
    PollCampaign,
    SubmitMigration,
)


def rejection_message(campaign: InfobipCampaign) -> str | None:
    feedback = campaign.campaign_feedback
    if feedback is None:
        return None
    parts = [reason for reason in feedback.rejection_reasons if reason]
    for detail in feedback.rejection_details:
        text = ": ".join(p for p in (detail.error_code, detail.description) if p)
        if detail.recommended_action:
            text += f" (recommended action: {detail.recommended_action})"
        if text:
            parts.append(text)
    return "; ".join(parts) or None


def campaign_observed(campaign: InfobipCampaign, *, created: bool = False) -> CampaignObserved:
    return CampaignObserved(
        infobip_campaign_id=campaign.id,
        stage=campaign.stage or "UNKNOWN",
        rejection_message=rejection_message(campaign),
        created=created,
        created_at=campaign.created_date,
    )


def import_incomplete(result: NumberImportResult, requested: tuple[str, ...]) -> PartnerRejected:
    """A 2xx import that did not take every number is a refusal the user must see, number by number."""
    problems = [PartnerProblem(code=entry.status, description=f"{entry.number}: {entry.status}", field="numbers")
                for entry in result.failed]
    problems += [PartnerProblem(code="NOT_REPORTED", description=f"{number}: not in Infobip's answer",
                                field="numbers") for number in result.missing(requested)]
    shown = "; ".join(problem.description for problem in problems[:5])
    more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    return PartnerRejected("Infobip", "numbers.import", f"numbers not imported: {shown}{more}",
                           problems=tuple(problems))


class PartnerPerformer:
    """Performs actions against the real partner clients (see the module docstring)."""

    async def perform(self, action: Action, clients: PartnerClients) -> Outcome:
        try:
            return await self._perform(action, clients)
        except PartnerError as error:
            return error

    async def _perform(self, action: Action, clients: PartnerClients) -> Outcome:
        match action:
            case ImportNumbers():
                result = await clients.infobip.import_numbers(action.request)
                if not result.all_succeeded(action.numbers):
                    return import_incomplete(result, action.numbers)
                return ImportResult(count=len(result.succeeded))
            case ObserveElection():
                sharing = await clients.tcr.get_sharing(action.campaign_id)
                mine = sharing.shared_by_me
                if mine is None:
                    return ElectionObserved(upstream_cnp_id=None, sharing_status=None)
                return ElectionObserved(mine.upstream_cnp_id, mine.sharing_status, mine.explanation)
            case ElectCnp():
                election = await clients.tcr.elect_cnp(action.campaign_id, action.upstream_cnp_id)
                return ElectionObserved(election.upstream_cnp_id or action.upstream_cnp_id, election.sharing_status)
            case ObserveMigration():
                found = await clients.infobip.find_migrated_campaign(
                    action.campaign_id, name=action.name, number=action.number
                )
                return MigrationNotFound() if found is None else campaign_observed(found)
            case SubmitMigration():
                campaign = await clients.infobip.submit_migration(action.request)
                return campaign_observed(campaign, created=True)
            case PollCampaign():
                return campaign_observed(await clients.infobip.get_campaign(action.infobip_campaign_id))
        raise AssertionError(f"unknown action {action!r}")  # pragma: no cover - exhaustive match
