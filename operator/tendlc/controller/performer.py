"""The performer: makes the partner call(s) of one workflow action and reports the outcome as a value.

This is tendlc's counterpart of a Crossplane provider's ExternalClient: the workflow says *what*
(an `Action`), the performer does it through the partner clients and translates the answer into
an `Outcome` the workflow's `record` understands. The cut-over (`SwitchTraffic`) goes to the
`tendlc.cutover` runner instead, which talks to the API server and the platform team's endpoint.
A partner failure is returned, never raised, so the pass has a single path for every answer. It
keeps no state and decides nothing: what an outcome means is the workflow's job.
"""

from __future__ import annotations

from tendlc.clients.models import InfobipCampaign
from tendlc.controller.preflight_reads import read_preflight
from tendlc.controller.resource import utc_now
from tendlc.cutover import CutOverRunner, ResourceRef
from tendlc.partner_errors import PartnerError, RequestNotSent
from tendlc.partners import PartnerClients
from tendlc.workflow import (
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
    RunPreflight,
    SubmitMigration,
    SwitchTraffic,
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


class PartnerPerformer:
    """Performs actions against the real partner clients (see the module docstring), and the cut-over."""

    def __init__(self, cutover: CutOverRunner | None = None) -> None:
        self._cutover = cutover

    async def perform(self, action: Action, clients: PartnerClients | None, target: ResourceRef) -> Outcome:
        try:
            if isinstance(action, SwitchTraffic):
                return await self._switch(action, target)
            if clients is None:
                raise AssertionError(f"{type(action).__name__} needs the partner clients")
            return await self._perform(action, clients, target)
        except PartnerError as error:
            return error

    async def _switch(self, action: SwitchTraffic, target: ResourceRef) -> Outcome:
        if self._cutover is None:
            return CutOverFailed("this operator was started without a cut-over runner")
        return await self._cutover.switch(action, target)

    async def _perform(self, action: Action, clients: PartnerClients, target: ResourceRef) -> Outcome:
        match action:
            case ImportNumbers():
                # Refused numbers come back as PartnerRejected (the user fixes spec.numbers); numbers
                # whose outcome neither the answer nor the owned-numbers list shows, as
                # PartnerResponseInvalid (retried with backoff; D40-D42).
                confirmation = await clients.infobip.import_and_confirm(action.request)
                error = confirmation.error()
                if error is not None:
                    return error
                by_list = len(confirmation.confirmed_by_list)
                return ImportResult(count=len(confirmation.confirmed), confirmed_by_list=by_list)
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
                within = None if action.send_by is None else (action.send_by - utc_now()).total_seconds()
                if within is not None and within <= 0:
                    return RequestNotSent("Infobip", "campaigns.migrate", "not sent: the wave's window closed")
                campaign = await clients.infobip.submit_migration(action.request, send_within=within)
                return campaign_observed(campaign, created=True)
            case PollCampaign():
                return campaign_observed(await clients.infobip.get_campaign(action.infobip_campaign_id))
            case AddNumbers():
                await clients.infobip.add_numbers(action.request)
                return NumbersAccepted(len(action.numbers))
            case ObserveCampaignNumbers():
                numbers = await clients.infobip.get_campaign_numbers(action.infobip_campaign_id)
                return CampaignNumbersObserved(frozenset(numbers))
            case RunPreflight():
                return await read_preflight(action, clients)
        raise AssertionError(f"unknown action {action!r}")  # pragma: no cover - exhaustive match
