"""The preflight's reads: every documented GET of `RunPreflight`, each failure kept apart (D64, D65).

`read_preflight(action, clients)` asks TCR for the campaign, its per-MNO operation status and its
sharing, and Infobip for which numbers the account owns, which campaigns hold any of them and
whether a campaign of this externalCampaignId exists (the D4 search). A read that fails becomes
`ReadFailed` with the partner's words, so the workflow lists that one check as "not checked"
while the others still count. Only GETs: nothing here can write at a partner. It decides nothing;
the verdicts are `tendlc.workflow.preflight_checks`'.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from tendlc.partner_errors import PartnerError, PartnerNotFound
from tendlc.partners import PartnerClients
from tendlc.workflow.errors import partner_words
from tendlc.workflow.preflight_actions import (
    CampaignHolding,
    ElectionSeen,
    ExistingMigration,
    OwnedSeen,
    PreflightObserved,
    ReadFailed,
    RunPreflight,
    TcrCampaignSeen,
)

T = TypeVar("T")


async def _read(call: Awaitable[T]) -> T | ReadFailed:
    try:
        return await call
    except PartnerError as error:
        return ReadFailed(partner_words(error))


async def read_preflight(action: RunPreflight, clients: PartnerClients) -> PreflightObserved:
    """Every read of a preflight, one after the other (each waits for its own rate limiter)."""
    tcr, infobip = clients.tcr, clients.infobip
    try:
        record = await tcr.get_campaign(action.campaign_id)
        campaign: TcrCampaignSeen | ReadFailed = TcrCampaignSeen(status=record.status)
    except PartnerNotFound:
        campaign = TcrCampaignSeen(status=None, found=False)
    except PartnerError as error:
        campaign = ReadFailed(partner_words(error))
    statuses = await _read(tcr.get_operation_status(action.campaign_id))
    operation_status = statuses if isinstance(statuses, ReadFailed) else tuple(sorted(statuses.items()))
    sharing = await _read(tcr.get_sharing(action.campaign_id))
    election: ElectionSeen | ReadFailed
    if isinstance(sharing, ReadFailed):
        election = sharing
    else:
        mine = sharing.shared_by_me
        election = ElectionSeen(mine.upstream_cnp_id if mine else None, mine.sharing_status if mine else None)
    owned: OwnedSeen | ReadFailed | None = None
    holding: tuple[CampaignHolding, ...] | ReadFailed | None = None
    if action.numbers:
        found = await _read(infobip.owned_among(action.numbers))
        owned = found if isinstance(found, ReadFailed) else OwnedSeen(len(found[0]), found[1])
        held = await _read(infobip.find_campaigns_holding(action.numbers))
        holding = held if isinstance(held, ReadFailed) else tuple(
            CampaignHolding(c.id, c.external_campaign_id, c.stage, numbers) for c, numbers in held.values()
        )
    existing: ExistingMigration | ReadFailed | None = None
    if action.search_number is not None:
        matches = await _read(
            infobip.find_migrated_campaigns(action.campaign_id, name=action.name, number=action.search_number)
        )
        if isinstance(matches, ReadFailed):
            existing = matches
        elif matches:
            existing = ExistingMigration(matches[0].id, matches[0].stage)
    return PreflightObserved(
        tcr_campaign=campaign, operation_status=operation_status, election=election, owned=owned,
        holding=holding, existing=existing,
    )
