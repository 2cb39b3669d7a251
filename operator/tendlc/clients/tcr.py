"""The TCR (The Campaign Registry) client: CNP election and the reads that verify it.

This room speaks TCR's CSP API v2 (base URL ends in `/v2`, HTTP Basic with API key and secret):
electing a new upstream CNP for a campaign, reading the campaign, its per-MNO operation status and
its sharing (the election's state). TCR answers errors with a JSON array of `{code, field(s), description}`; codes
590/591/630 are temporary (PartnerUnavailable, retry in about 30 s) and every other code is
permanent (PartnerRejected), see `docs/decisions.md` D6 to D8. Every request waits for the shared
rate limiter of its class (reads / writes). It never retries (the election is not idempotent: the
workflow observes `get_sharing` instead), never logs bodies or credentials, and imports no Kopf.
"""

from __future__ import annotations

from tendlc.clients.http import Endpoint, PartnerClient
from tendlc.clients.models import CampaignSharing, CnpElection, TcrCampaign
from tendlc.clients.problems import TCR_TEMPORARY_RETRY_AFTER, parse_tcr_error, tcr_problems_are_temporary
from tendlc.clients.ratelimit import TCR, TCR_READ, TCR_WRITE
from tendlc.clients.responses import PartnerDialect
from tendlc.partner_errors import PartnerResponseInvalid

TCR_DIALECT = PartnerDialect(
    partner=TCR,
    parse_error=parse_tcr_error,
    problems_are_temporary=tcr_problems_are_temporary,
    temporary_retry_after=TCR_TEMPORARY_RETRY_AFTER,
)

MIGRATE_CNP = Endpoint(
    "campaign.migrate_cnp", "POST", "/campaign/{campaign_id}/migrateCnp/{upstream_cnp_id}", TCR_WRITE
)
GET_CAMPAIGN = Endpoint("campaign.get", "GET", "/campaign/{campaign_id}", TCR_READ)
GET_SHARING = Endpoint("campaign.sharing", "GET", "/campaign/{campaign_id}/sharing", TCR_READ)
GET_OPERATION_STATUS = Endpoint(
    "campaign.operation_status", "GET", "/campaign/{campaign_id}/operationStatus", TCR_READ
)


class TcrClient(PartnerClient):
    """TCR for one CSP account. `base_url` already ends in `/v2` (e.g. the sandbox's `/tcr/v2`).

    `limiter_registry` is shared process-wide; `account` overrides the limiter key (default: the
    base URL, so all CSP accounts on one TCR endpoint share one budget unless told otherwise).
    """

    dialect = TCR_DIALECT

    async def elect_cnp(self, campaign_id: str, upstream_cnp_id: str) -> CnpElection:
        """`POST /campaign/{id}/migrateCnp/{cnp}`: NOT idempotent, never retried here.

        A 400 here may mean "already elected" (D6, code 525): the workflow reads `get_sharing`
        before deciding anything.
        """
        data = await self._http.call(
            MIGRATE_CNP,
            path_params={"campaign_id": campaign_id, "upstream_cnp_id": upstream_cnp_id},
            allow_empty=True,
        )
        if data is None:
            return CnpElection(campaign_id=campaign_id, upstream_cnp_id=upstream_cnp_id)
        return self._http.parse(MIGRATE_CNP, CnpElection, data)

    async def get_campaign(self, campaign_id: str) -> TcrCampaign:
        """`GET /campaign/{id}`: the campaign and its status (ACTIVE, EXPIRED, …)."""
        data = await self._http.call(GET_CAMPAIGN, path_params={"campaign_id": campaign_id})
        return self._http.parse(GET_CAMPAIGN, TcrCampaign, data)

    async def get_operation_status(self, campaign_id: str) -> dict[str, str]:
        """`GET /campaign/{id}/operationStatus`: per MNO ID, APPROVED, REVIEW, REJECTED or SUSPENDED (D65).

        TCR's CSP API documents it; MNOs are encouraged, not obliged, to report, so an empty map
        proves nothing. Entries that are not text are left out.
        """
        data = await self._http.call(GET_OPERATION_STATUS, path_params={"campaign_id": campaign_id})
        if not isinstance(data, dict):
            raise PartnerResponseInvalid(TCR, GET_OPERATION_STATUS.name, "operation status is not a JSON object")
        return {str(mno): value for mno, value in data.items() if isinstance(value, str)}

    async def get_sharing(self, campaign_id: str) -> CampaignSharing:
        """`GET /campaign/{id}/sharing`: the election's state (`shared_by_me` None before any)."""
        data = await self._http.call(GET_SHARING, path_params={"campaign_id": campaign_id})
        return self._http.parse(GET_SHARING, CampaignSharing, data)
