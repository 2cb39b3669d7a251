"""The partners' behaviour: how campaigns, elections and numbers move through their lifecycle.

This room owns the sandbox's memory and the rules that change it: importing numbers, submitting a
migration, electing a CNP at TCR, confirming an OSR update, and the schedule that moves a
campaign IN_MIGRATION → (OSR updated, downtime starts) → REGISTERED, or a TCR election PENDING →
ACCEPTED/DECLINED. It performs no I/O: changes that partners announce by webhook are queued in
`outbox` for `webhooks.py` to deliver, and HTTP shapes are left to `views.py` and the routes.
Times are sandbox seconds from `clock.py`; a step that fell due at moment T is recorded at T, even
when the clock jumped past it, so an advanced clock yields the same history as a waited one.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from tendlc_dev.sandbox.clock import SandboxClock, isoformat
from tendlc_dev.sandbox.config import SandboxConfig
from tendlc_dev.sandbox.model import (
    FINAL_STAGES,
    IN_MIGRATION,
    REGISTERED,
    REGISTERED_NETWORKS,
    REJECTED,
    TCR_CAMPAIGN_ID,
    WEBHOOK_STAGES,
    ImportedNumber,
    InfobipCampaign,
    Profile,
    Rejection,
    RejectionDetail,
    Scenario,
    ScenarioKind,
    Security,
    Sharing,
    Subscription,
    TcrCampaign,
    number_key,
    scenario_from_id,
)

INFOBIP_CNP_ID = "OPMKT"
TCR_EXPIRED_AGE = 400 * 86400.0
"""How old an implicit TCR campaign is made to look (sandbox seconds before it is first seen)."""


@dataclass(frozen=True)
class TcrProblem:
    """One entry of TCR's error array (D8)."""

    code: int
    field: str | None
    description: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "description": self.description}


@dataclass(frozen=True)
class Notification:
    """A change Infobip announces by webhook; `message` is one element of the payload's `results`."""

    event: str
    campaign_id: str
    tcr_id: str
    application_id: str
    entity_id: str
    message: dict[str, Any]


@dataclass
class SandboxState:
    """All partner-side state of one sandbox, plus the schedule of what falls due next."""

    config: SandboxConfig
    clock: SandboxClock
    campaigns: dict[str, InfobipCampaign] = field(default_factory=dict)
    numbers: dict[str, ImportedNumber] = field(default_factory=dict)
    tcr_campaigns: dict[str, TcrCampaign] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    securities: dict[str, Security] = field(default_factory=dict)
    import_enabled: bool = True
    outbox: list[Notification] = field(default_factory=list)
    revision: int = 0
    _heap: list[tuple[float, int, str, str]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.import_enabled = self.config.import_enabled

    # -- bookkeeping ---------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget everything (admin reset); the clock and the configuration stay."""
        self.campaigns.clear()
        self.numbers.clear()
        self.tcr_campaigns.clear()
        self.scenarios.clear()
        self.subscriptions.clear()
        self.profiles.clear()
        self.securities.clear()
        self.import_enabled = self.config.import_enabled
        self.outbox.clear()
        self._heap.clear()
        self.touch()

    def touch(self) -> None:
        """Mark the state changed, so the state file is rewritten."""
        self.revision += 1

    def _schedule(self, due: float, kind: str, key: str) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), kind, key))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def process_due(self) -> int:
        """Apply every step whose moment has come; returns how many schedule entries were handled."""
        now = self.clock.now()
        handled = 0
        while self._heap and self._heap[0][0] <= now:
            _, _, kind, key = heapq.heappop(self._heap)
            handled += 1
            if kind == "campaign" and key in self.campaigns:
                self._progress_campaign(self.campaigns[key])
            elif kind == "tcr" and key in self.tcr_campaigns:
                self._progress_tcr(self.tcr_campaigns[key])
        return handled

    def reschedule_all(self) -> None:
        """Rebuild the schedule from the records (after loading a state file)."""
        self._heap.clear()
        for tcr in list(self.tcr_campaigns.values()):
            self._progress_tcr(tcr)
        for campaign in list(self.campaigns.values()):
            self._progress_campaign(campaign)

    # -- scenarios -----------------------------------------------------------------------------

    def scenario_for(self, tcr_id: str) -> Scenario:
        scenario = self.scenarios.get(tcr_id)
        return scenario if scenario is not None else scenario_from_id(tcr_id)

    def set_scenario(self, tcr_id: str, scenario: Scenario) -> None:
        self.scenarios[tcr_id] = scenario
        tcr = self.tcr_campaigns.get(tcr_id)
        if tcr is not None:
            tcr.status = "EXPIRED" if scenario.kind is ScenarioKind.TCR_EXPIRED else "ACTIVE"
            tcr.temporary_errors_left = scenario.tcr_temporary_errors
            self._progress_tcr(tcr)
        for campaign in self.campaigns_for(tcr_id):
            self._progress_campaign(campaign)
        self.touch()

    # -- Infobip: numbers ----------------------------------------------------------------------

    def import_numbers(
        self, numbers: list[str], country: str, number_type: str, capabilities: list[str], skip_osr_update: bool
    ) -> list[tuple[str, str]]:
        """Import is idempotent (D1): a number already in the account is ALREADY_IMPORTED."""
        now = self.clock.now()
        results: list[tuple[str, str]] = []
        for number in numbers:
            if number in self.numbers:
                results.append((number, "ALREADY_IMPORTED"))
                continue
            self.numbers[number] = ImportedNumber(
                number=number,
                number_key=number_key(number),
                country=country,
                type=number_type,
                capabilities=list(capabilities),
                skip_osr_update=skip_osr_update,
                imported_at=now,
            )
            results.append((number, "IMPORTED"))
        self.touch()
        return results

    # -- Infobip: campaigns --------------------------------------------------------------------

    def campaigns_for(self, tcr_id: str) -> list[InfobipCampaign]:
        return [c for c in self.campaigns.values() if c.tcr_id == tcr_id]

    def open_migration(self, tcr_id: str) -> InfobipCampaign | None:
        """The campaign that blocks a second migrate (D2): newest one not in a final stage."""
        open_ones = [c for c in self.campaigns_for(tcr_id) if c.stage not in FINAL_STAGES]
        return max(open_ones, key=lambda c: c.created) if open_ones else None

    def latest_campaign(self, tcr_id: str) -> InfobipCampaign | None:
        found = self.campaigns_for(tcr_id)
        return max(found, key=lambda c: c.created) if found else None

    def create_migration(
        self, name: str, tcr_id: str, numbers: list[str], number_pool_id: str | None, client_manages_nnid: bool
    ) -> InfobipCampaign:
        now = self.clock.now()
        campaign = InfobipCampaign(
            id=str(uuid.uuid4()),
            tcr_id=tcr_id,
            name=name,
            numbers=list(numbers),
            number_pool_id=number_pool_id,
            client_manages_nnid=client_manages_nnid,
            stage=IN_MIGRATION,
            created=now,
            modified=now,
        )
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
        if campaign.stage != IN_MIGRATION:
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
        self._register(campaign, due)

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
                            "platform": _platform(campaign),
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
                    "platform": _platform(campaign),
                },
            )
        )

    # -- TCR ---------------------------------------------------------------------------------

    def tcr_campaign(self, campaign_id: str) -> TcrCampaign | None:
        """Any well-formed TCR ID exists implicitly; its scenario decides ACTIVE or EXPIRED."""
        found = self.tcr_campaigns.get(campaign_id)
        if found is not None or not TCR_CAMPAIGN_ID.match(campaign_id):
            return found
        scenario = self.scenario_for(campaign_id)
        created = self.clock.now() - TCR_EXPIRED_AGE
        found = TcrCampaign(
            campaign_id=campaign_id,
            status="EXPIRED" if scenario.kind is ScenarioKind.TCR_EXPIRED else "ACTIVE",
            created=created,
            temporary_errors_left=scenario.tcr_temporary_errors,
        )
        self.tcr_campaigns[campaign_id] = found
        self.touch()
        return found

    def elect_cnp(self, tcr: TcrCampaign, upstream_cnp_id: str) -> Sharing | list[TcrProblem]:
        """`migrateCnp` (D6): a new PENDING election, or TCR's reasons why not."""
        tcr.migrate_cnp_calls += 1
        self.touch()
        if tcr.temporary_errors_left > 0:
            tcr.temporary_errors_left -= 1
            code = 591 if tcr.migrate_cnp_calls % 2 == 1 else 630
            return [temporary_problem(code)]
        if upstream_cnp_id not in self.config.known_cnp_ids:
            return [TcrProblem(501, "upstreamCnpId", f"Invalid upstream CNP ID: {upstream_cnp_id}")]
        if tcr.status == "EXPIRED":
            return [TcrProblem(518, "campaignId", f"Campaign {tcr.campaign_id} is expired")]
        current = tcr.sharing
        if current is not None and current.status in ("PENDING", "ACCEPTED"):
            return [
                TcrProblem(
                    525,
                    "upstreamCnpId",
                    f"Campaign already has a pending or accepted CNP migration to {current.upstream_cnp_id}",
                )
            ]
        now = self.clock.now()
        tcr.sharing = Sharing(upstream_cnp_id=upstream_cnp_id, status="PENDING", requested_at=now, status_date=now)
        self._progress_tcr(tcr)
        return tcr.sharing

    def _progress_tcr(self, tcr: TcrCampaign) -> None:
        sharing = tcr.sharing
        if sharing is None or sharing.status != "PENDING":
            return
        due = sharing.requested_at + self.config.schedule.sharing_decision_after
        if self.clock.now() < due:
            self._schedule(due, "tcr", tcr.campaign_id)
            return
        scenario = self.scenario_for(tcr.campaign_id)
        if scenario.kind is ScenarioKind.TCR_DECLINED:
            sharing.status = "DECLINED"
            sharing.explanation = scenario.decline_explanation
        else:
            sharing.status = "ACCEPTED"
        sharing.status_date = due
        self.touch()
        for campaign in self.campaigns_for(tcr.campaign_id):
            self._progress_campaign(campaign)

    # -- subscriptions -------------------------------------------------------------------------

    def matching_subscriptions(self, note: Notification) -> list[tuple[Subscription, Profile, Security | None]]:
        matches: list[tuple[Subscription, Profile, Security | None]] = []
        for subscription in self.subscriptions.values():
            if subscription.channel != "REGISTRATION" or note.event not in subscription.events:
                continue
            if subscription.criteria and not any(
                pair.get("applicationId", note.application_id) == note.application_id
                and pair.get("entityId", note.entity_id) == note.entity_id
                for pair in subscription.criteria
            ):
                continue
            profile = self.profiles.get(subscription.profile_id)
            if profile is None:
                continue
            security = self.securities.get(profile.auth_id) if profile.auth_id else None
            matches.append((subscription, profile, security))
        return matches

    # -- persistence ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.clock.now(),
            "importEnabled": self.import_enabled,
            "campaigns": [c.model_dump(mode="json", by_alias=True) for c in self.campaigns.values()],
            "numbers": [n.model_dump(mode="json", by_alias=True) for n in self.numbers.values()],
            "tcrCampaigns": [t.model_dump(mode="json", by_alias=True) for t in self.tcr_campaigns.values()],
            "scenarios": {k: s.model_dump(mode="json", by_alias=True) for k, s in self.scenarios.items()},
            "subscriptions": [s.model_dump(mode="json", by_alias=True) for s in self.subscriptions.values()],
            "profiles": [p.model_dump(mode="json", by_alias=True) for p in self.profiles.values()],
            "securities": [s.model_dump(mode="json", by_alias=True) for s in self.securities.values()],
        }

    def load_json(self, data: dict[str, Any]) -> None:
        self.clock.resume_at_least(float(data.get("now", 0.0)))
        self.import_enabled = bool(data.get("importEnabled", True))
        self.campaigns = {c.id: c for c in (InfobipCampaign.model_validate(x) for x in data.get("campaigns", []))}
        self.numbers = {n.number: n for n in (ImportedNumber.model_validate(x) for x in data.get("numbers", []))}
        self.tcr_campaigns = {
            t.campaign_id: t for t in (TcrCampaign.model_validate(x) for x in data.get("tcrCampaigns", []))
        }
        self.scenarios = {k: Scenario.model_validate(v) for k, v in data.get("scenarios", {}).items()}
        self.subscriptions = {
            subscription_key(s.channel, s.subscription_id): s
            for s in (Subscription.model_validate(x) for x in data.get("subscriptions", []))
        }
        self.profiles = {p.profile_id: p for p in (Profile.model_validate(x) for x in data.get("profiles", []))}
        self.securities = {s.auth_id: s for s in (Security.model_validate(x) for x in data.get("securities", []))}
        self.reschedule_all()


def subscription_key(channel: str, subscription_id: str) -> str:
    return f"{channel}/{subscription_id}"


def temporary_problem(code: int) -> TcrProblem:
    return TcrProblem(code, None, "Temporary error, please retry in about 30 seconds")


def _platform(campaign: InfobipCampaign) -> dict[str, str]:
    platform = {"applicationId": campaign.application_id}
    if campaign.entity_id:
        platform["entityId"] = campaign.entity_id
    return platform
