"""Infobip's side of a migration: a campaign's life from migrate to REGISTERED or REJECTED.

Owns the rules that move an Infobip campaign: IN_MIGRATION → (TCR acceptance) → OSR updated
(downtime starts) → optional unusual interim stages (PAUSED, …; a behaviour alternative) →
REGISTERED, or REJECTED; the own-NNID confirmation; forced stages; and numbers added to a
registered campaign (add-numbers, 202, applied after a delay: D34). Changes Infobip announces by
webhook are appended to `outbox`; nothing here performs I/O or knows HTTP shapes. A step that fell
due at T is recorded at T even when the clock jumped past it.
"""

from __future__ import annotations

import uuid
from typing import Any

from tendlc_dev.sandbox.clock import isoformat
from tendlc_dev.sandbox.model import (
    FINAL_STAGES,
    IN_MIGRATION,
    REGISTERED,
    REGISTERED_NETWORKS,
    REJECTED,
    WEBHOOK_STAGES,
    InfobipCampaign,
    PendingAddition,
    Rejection,
    RejectionDetail,
    ScenarioKind,
)
from tendlc_dev.sandbox.state_base import Notification, StateBase

INFOBIP_CNP_ID = "OPMKT"


class CampaignLifecycle(StateBase):
    """Rules for Infobip campaigns; mixed into `SandboxState`."""

    def open_migration(self, tcr_id: str) -> InfobipCampaign | None:
        """The campaign that blocks a second migrate (D2): newest one not in a final stage."""
        open_ones = [c for c in self.campaigns_for(tcr_id) if c.stage not in FINAL_STAGES]
        return max(open_ones, key=lambda c: c.created) if open_ones else None

    def latest_campaign(self, tcr_id: str) -> InfobipCampaign | None:
        found = self.campaigns_for(tcr_id)
        return max(found, key=lambda c: c.created) if found else None

    def create_migration(
        self,
        name: str,
        tcr_id: str,
        numbers: list[str],
        number_pool_id: str | None,
        client_manages_nnid: bool,
        *,
        stage: str = IN_MIGRATION,
    ) -> InfobipCampaign:
        """A new campaign; `stage` other than IN_MIGRATION seeds a campaign that already exists."""
        now = self.clock.now()
        campaign = InfobipCampaign(
            id=str(uuid.uuid4()),
            tcr_id=tcr_id,
            name=name,
            numbers=list(numbers),
            number_pool_id=number_pool_id,
            client_manages_nnid=client_manages_nnid,
            stage=stage,
            created=now,
            modified=now,
        )
        if stage == REGISTERED:
            campaign.registered_at = campaign.osr_updated_at = now
            campaign.network_statuses = list(REGISTERED_NETWORKS)
        self.campaigns[campaign.id] = campaign
        self._progress_campaign(campaign)
        self.touch()
        return campaign

    def waits_for_customer_osr(self, campaign: InfobipCampaign) -> bool:
        return campaign.client_manages_nnid or self.scenario_for(campaign.tcr_id).kind is ScenarioKind.OWN_NNID

    def confirm_osr_update(self, tcr_id: str) -> InfobipCampaign | str:
        """The customer (own NNID) reports its OSR records point at Infobip: downtime starts now."""
        campaign = self.open_migration(tcr_id)
        if campaign is None:
            return f"No open Infobip migration for {tcr_id}"
        if campaign.stage != IN_MIGRATION:
            return f"Campaign {campaign.id} is {campaign.stage}, not IN_MIGRATION"
        if campaign.osr_updated_at is not None:
            return campaign  # confirming twice is harmless, the first moment stands
        if not self.waits_for_customer_osr(campaign):
            return f"Campaign {campaign.id} uses Infobip's NNID; Infobip updates the OSR itself"
        campaign.osr_updated_at = self.clock.now()
        campaign.modified = campaign.osr_updated_at
        self._progress_campaign(campaign)
        self.touch()
        return campaign

    def force_stage(
        self,
        campaign: InfobipCampaign,
        stage: str,
        rejection_details: list[RejectionDetail] | None = None,
        emit_webhook: bool | None = None,
    ) -> None:
        """Admin override: put a campaign in any stage (unknown ones included) and announce it."""
        now = self.clock.now()
        campaign.interim_started_at = None  # a forced stage ends any interim passage
        if stage == REJECTED:
            self._reject(campaign, now, rejection_details or self.scenario_for(campaign.tcr_id).rejection_details)
            return
        if stage == REGISTERED:
            self._register(campaign, now)
            return
        campaign.stage = stage
        campaign.modified = now
        if emit_webhook if emit_webhook is not None else stage in WEBHOOK_STAGES:
            self._announce_status(campaign, now)
        self.touch()

    def _progress_campaign(self, campaign: InfobipCampaign) -> None:
        """Move one campaign as far as the clock allows, and schedule its next step."""
        self._apply_additions(campaign)
        if campaign.stage != IN_MIGRATION and not campaign.in_interim():
            return
        now = self.clock.now()
        schedule = self.config.schedule
        scenario = self.scenario_for(campaign.tcr_id)
        if scenario.kind is ScenarioKind.STUCK:
            return
        if scenario.kind is ScenarioKind.REJECTED:
            due = campaign.created + schedule.rejection_after
            if now < due:
                self._schedule(due, "campaign", campaign.id)
            else:
                self._reject(campaign, due, scenario.rejection_details)
            return
        accepted_at = campaign.created
        if self.config.require_tcr_acceptance:
            tcr = self.tcr_campaigns.get(campaign.tcr_id)
            sharing = tcr.sharing if tcr is not None else None
            if sharing is None or sharing.upstream_cnp_id != INFOBIP_CNP_ID or sharing.status != "ACCEPTED":
                return  # Infobip has not received the campaign from TCR; the TCR decision re-checks.
            accepted_at = max(campaign.created, sharing.status_date)
        if campaign.osr_updated_at is None:
            if self.waits_for_customer_osr(campaign):
                return  # own NNID: waits for POST /_admin/campaigns/{tcrId}/osr-updated
            due = accepted_at + schedule.osr_update_after
            if now < due:
                self._schedule(due, "campaign", campaign.id)
                return
            campaign.osr_updated_at = due
            campaign.modified = due
            self.touch()
        due = max(campaign.osr_updated_at, accepted_at) + schedule.registration_after_osr
        if now < due:
            self._schedule(due, "campaign", campaign.id)
            return
        if campaign.interim_started_at is None and self.behaviour.interim_stages:
            campaign.interim_stages = list(self.behaviour.interim_stages)
            campaign.interim_seconds = self.behaviour.interim_stage_seconds
            campaign.interim_started_at = due
        if campaign.interim_started_at is not None:
            self._pass_interim_stages(campaign, campaign.interim_started_at)
            return
        self._register(campaign, due)

    def _pass_interim_stages(self, campaign: InfobipCampaign, start: float) -> None:
        """Unusual stages between the registration moment and REGISTERED, each for a while (D31)."""
        now = self.clock.now()
        for index, stage in enumerate(campaign.interim_stages):
            begins = start + index * campaign.interim_seconds
            ends = begins + campaign.interim_seconds
            if now < ends:
                if campaign.stage != stage:
                    campaign.stage = stage
                    campaign.modified = begins
                    if stage in WEBHOOK_STAGES:
                        self._announce_status(campaign, begins)
                    self.touch()
                self._schedule(ends, "campaign", campaign.id)
                return
        self._register(campaign, start + len(campaign.interim_stages) * campaign.interim_seconds)

    # -- add-numbers (D34) -------------------------------------------------------------------

    def add_numbers(self, campaign: InfobipCampaign, numbers: list[str]) -> PendingAddition:
        """Accept an add-numbers batch; its numbers join the campaign `numbers_added_after` later."""
        now = self.clock.now()
        addition = PendingAddition(
            requested=now, due=now + self.config.schedule.numbers_added_after, numbers=list(numbers)
        )
        campaign.pending_additions.append(addition)
        self._apply_additions(campaign)
        self.touch()
        return addition

    def _apply_additions(self, campaign: InfobipCampaign) -> None:
        if not campaign.pending_additions:
            return
        now = self.clock.now()
        still: list[PendingAddition] = []
        for addition in campaign.pending_additions:
            if addition.due > now:
                still.append(addition)
                continue
            present = set(campaign.numbers)
            campaign.numbers.extend(n for n in addition.numbers if n not in present)
            campaign.modified = max(campaign.modified, addition.due)
        if len(still) != len(campaign.pending_additions):
            campaign.pending_additions = still
            self.touch()
        if still:
            self._schedule(min(a.due for a in still), "campaign", campaign.id)

    def numbers_with_pending(self, campaign: InfobipCampaign) -> set[str]:
        """Every number the campaign holds or will hold once its accepted batches are applied."""
        found = set(campaign.numbers)
        for addition in campaign.pending_additions:
            found.update(addition.numbers)
        return found

    # -- announcements ---------------------------------------------------------------------

    def _register(self, campaign: InfobipCampaign, moment: float) -> None:
        campaign.stage = REGISTERED
        campaign.registered_at = moment
        campaign.modified = moment
        if campaign.osr_updated_at is None:
            campaign.osr_updated_at = moment
        for network in REGISTERED_NETWORKS:
            if network not in campaign.network_statuses:
                campaign.network_statuses.append(network)
                self.outbox.append(
                    Notification(
                        event="CAMPAIGN_NETWORK_STATUS_UPDATE",
                        campaign_id=campaign.id,
                        tcr_id=campaign.tcr_id,
                        application_id=campaign.application_id,
                        entity_id=campaign.entity_id,
                        message={
                            "event": "CAMPAIGN_NETWORK_STATUS_UPDATE",
                            "receivedAt": isoformat(moment),
                            "content": {
                                "campaignId": campaign.id,
                                "campaignNetwork": network,
                                "campaignNetworkStatus": "ACTIVE",
                            },
                            "platform": platform(campaign),
                        },
                    )
                )
        self._announce_status(campaign, moment)
        self.touch()

    def _reject(self, campaign: InfobipCampaign, moment: float, details: list[RejectionDetail]) -> None:
        campaign.stage = REJECTED
        campaign.modified = moment
        campaign.rejection = Rejection(
            reasons=[d.description for d in details], details=[d.model_copy() for d in details], date=moment
        )
        self._announce_status(campaign, moment)
        self.touch()

    def _announce_status(self, campaign: InfobipCampaign, moment: float) -> None:
        content: dict[str, Any] = {
            "campaignId": campaign.id,
            "tcrId": campaign.tcr_id,
            "campaignStatus": campaign.stage,
        }
        if campaign.stage == REJECTED and campaign.rejection is not None:
            content["rejectionReasons"] = "; ".join(campaign.rejection.reasons)
            content["rejectionDetails"] = [
                {"errorCode": d.error_code, "description": d.description} for d in campaign.rejection.details
            ]
            content["rejectionDate"] = isoformat(campaign.rejection.date)
        self.outbox.append(
            Notification(
                event="CAMPAIGN_STATUS_UPDATE",
                campaign_id=campaign.id,
                tcr_id=campaign.tcr_id,
                application_id=campaign.application_id,
                entity_id=campaign.entity_id,
                message={
                    "event": "CAMPAIGN_STATUS_UPDATE",
                    "receivedAt": isoformat(moment),
                    "content": content,
                    "platform": platform(campaign),
                },
            )
        )


def platform(campaign: InfobipCampaign) -> dict[str, str]:
    found = {"applicationId": campaign.application_id}
    if campaign.entity_id:
        found["entityId"] = campaign.entity_id
    return found
