"""TCR's side: campaign records, CNP elections and their decision.

Any well-formed TCR ID exists implicitly the first time it is seen, shaped by its scenario (ACTIVE
or EXPIRED, suspended at some MNOs, an election already open towards another CNP: D32). A
`migrateCnp` opens a PENDING election that the schedule turns ACCEPTED or DECLINED; a seeded
election is held as seeded. Refusals are TCR's error array entries (D6, D8, D15). In
accept-duplicates mode a second election for the same CNP is accepted as a new PENDING record
(D30). Nothing here performs I/O; a decision re-checks the Infobip campaigns waiting for it.
"""

from __future__ import annotations

from tendlc_dev.sandbox.model import TCR_CAMPAIGN_ID, TCR_MNOS, Scenario, ScenarioKind, Sharing, TcrCampaign
from tendlc_dev.sandbox.state_base import StateBase, TcrProblem, temporary_problem

TCR_EXPIRED_AGE = 400 * 86400.0
"""How old an implicit TCR campaign is made to look (sandbox seconds before it is first seen)."""
SUSPENDED_CODE = 526
"""The sandbox's code for "campaign suspended" (TCR publishes no code for it; D32)."""


class TcrRules(StateBase):
    """Rules for TCR campaign records and elections; mixed into `SandboxState`."""

    def tcr_campaign(self, campaign_id: str) -> TcrCampaign | None:
        """Any well-formed TCR ID exists implicitly; its scenario decides how it looks."""
        found = self.tcr_campaigns.get(campaign_id)
        if found is not None or not TCR_CAMPAIGN_ID.match(campaign_id):
            return found
        found = TcrCampaign(campaign_id=campaign_id, status="ACTIVE", created=self.clock.now() - TCR_EXPIRED_AGE)
        self.apply_scenario_to_tcr(found, self.scenario_for(campaign_id))
        self.tcr_campaigns[campaign_id] = found
        self.touch()
        return found

    def apply_scenario_to_tcr(self, tcr: TcrCampaign, scenario: Scenario) -> None:
        """Make the record look as the scenario says (status, suspension, a seeded election)."""
        tcr.status = "EXPIRED" if scenario.kind is ScenarioKind.TCR_EXPIRED else "ACTIVE"
        tcr.temporary_errors_left = scenario.tcr_temporary_errors
        tcr.suspended_mnos = [m for m in scenario.suspended_mnos]
        tcr.number_pool = scenario.number_pool
        seed = scenario.election
        if seed is None:
            return
        current = tcr.sharing
        if current is not None and current.upstream_cnp_id == seed.upstream_cnp_id and current.held:
            return
        if current is not None:
            tcr.previous_elections.append(current)
        now = self.clock.now()
        tcr.sharing = Sharing(
            upstream_cnp_id=seed.upstream_cnp_id,
            status=seed.sharing_status,
            explanation=seed.explanation,
            requested_at=now,
            status_date=now,
            held=True,
        )

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
        if tcr.suspended_mnos:
            networks = ", ".join(f"{TCR_MNOS.get(m, m)} ({m})" for m in tcr.suspended_mnos)
            return [TcrProblem(SUSPENDED_CODE, "campaignId", f"Campaign {tcr.campaign_id} is suspended at {networks}")]
        current = tcr.sharing
        if current is not None and current.status in ("PENDING", "ACCEPTED"):
            resend = current.upstream_cnp_id == upstream_cnp_id and self.behaviour.accept_duplicates
            if not resend:
                return [
                    TcrProblem(
                        525,
                        "upstreamCnpId",
                        f"Campaign already has a pending or accepted CNP migration to {current.upstream_cnp_id}",
                    )
                ]
        if current is not None:
            tcr.previous_elections.append(current)
        now = self.clock.now()
        tcr.sharing = Sharing(upstream_cnp_id=upstream_cnp_id, status="PENDING", requested_at=now, status_date=now)
        self._progress_tcr(tcr)
        return tcr.sharing

    def operation_status(self, tcr: TcrCampaign) -> dict[str, str]:
        """TCR's per-MNO operation status: APPROVED, or SUSPENDED where the scenario says (D32)."""
        if tcr.status == "EXPIRED":
            return {}
        return {mno: "SUSPENDED" if mno in tcr.suspended_mnos else "APPROVED" for mno in TCR_MNOS}

    def _progress_tcr(self, tcr: TcrCampaign) -> None:
        sharing = tcr.sharing
        if sharing is None or sharing.status != "PENDING" or sharing.held:
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
