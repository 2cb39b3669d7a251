"""What the sandbox remembers: Infobip campaigns, imported numbers, TCR campaigns and elections,
webhook subscriptions, and the scenario each TCR campaign plays.

Plain pydantic records with no behaviour beyond small helpers, so that the whole state can be
written to and read from the JSON state file as is. The rules that move these records forward live
in `state.py`; their wire shapes (what Infobip and TCR answer) live in `views.py`.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

TCR_CAMPAIGN_ID = re.compile(r"^C[A-Z0-9]{6}$")
US_NUMBER = re.compile(r"^1\d{10}$")
IMPORT_FORBIDDEN_PREFIX = "1555403"
"""A number starting with this prefix makes its whole import answer 403 (import not enabled)."""

IN_MIGRATION = "IN_MIGRATION"
REGISTERED = "REGISTERED"
REJECTED = "REJECTED"
FINAL_STAGES = frozenset({"REJECTED", "REJECTED_EXTERNALLY", "DEREGISTERED", "ARCHIVED"})
"""Stages after which a new migrate for the same externalCampaignId is accepted again (D2)."""
WEBHOOK_STAGES = frozenset({"REGISTERED", "REJECTED", "DEREGISTERED", "SUBMITTED", "APPROVED_BY_INTERNAL_REVIEWER"})
"""Stages the published CAMPAIGN_STATUS_UPDATE payload can carry (`WebhookCampaignStage`)."""
REGISTERED_NETWORKS = ("ATT", "T_MOBILE", "VERIZON")
TCR_MNOS = {"10017": "AT&T", "10035": "T-Mobile", "10037": "Verizon Wireless"}
"""TCR's MNO IDs as other providers' public material shows them; keys of `operationStatus` (D32)."""


class _Record(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ScenarioKind(StrEnum):
    HAPPY = "happy"
    REJECTED = "rejected"
    TCR_DECLINED = "tcr_declined"
    TCR_EXPIRED = "tcr_expired"
    STUCK = "stuck"
    OWN_NNID = "own_nnid"


class RejectionDetail(_Record):
    error_code: str
    description: str
    recommended_action: str | None = None


DEFAULT_REJECTION = [
    RejectionDetail(
        error_code="1001",
        description="Campaign appears to be for an age-gated content type but age gate attribute is not selected.",
        recommended_action="Verify if the Age Gate attribute is selected for the campaign registration.",
    )
]
DEFAULT_DECLINE = "Campaign declined by the upstream CNP: use case not supported."


class ElectionSeed(_Record):
    """An election that already exists at TCR when the campaign is first seen (e.g. towards another
    CNP); it is held as seeded, never decided by the schedule."""

    upstream_cnp_id: str = Field(min_length=1, max_length=20)
    sharing_status: str = Field("PENDING", pattern="^(PENDING|ACCEPTED|DECLINED)$")
    explanation: str | None = None


class Scenario(_Record):
    """How one TCR campaign behaves at both partners; chosen by the admin API or by the ID rule."""

    kind: ScenarioKind = ScenarioKind.HAPPY
    tcr_temporary_errors: int = Field(0, ge=0, description="The first N migrateCnp calls answer 591/630.")
    rejection_details: list[RejectionDetail] = Field(default_factory=lambda: list(DEFAULT_REJECTION))
    decline_explanation: str = DEFAULT_DECLINE
    numbers: list[str] = Field(
        default_factory=list, description="Numbers known to belong to this campaign (ledger attribution)."
    )
    suspended_mnos: list[str] = Field(
        default_factory=list, description="TCR MNO IDs (10017 AT&T, 10035 T-Mobile, 10037 Verizon) suspending it."
    )
    election: ElectionSeed | None = Field(None, description="An election already open at TCR (D32).")
    number_pool: bool = Field(False, description="TCR's numberPool flag on the campaign record.")


SCENARIO_PREFIXES: dict[str, Scenario] = {
    "CRJ": Scenario(kind=ScenarioKind.REJECTED),
    "CDC": Scenario(kind=ScenarioKind.TCR_DECLINED),
    "CEX": Scenario(kind=ScenarioKind.TCR_EXPIRED),
    "CST": Scenario(kind=ScenarioKind.STUCK),
    "CON": Scenario(kind=ScenarioKind.OWN_NNID),
    "CTF": Scenario(kind=ScenarioKind.HAPPY, tcr_temporary_errors=2),
}
"""The campaign-ID rule: the first three characters pick a scenario; anything else is happy."""


def scenario_from_id(campaign_id: str) -> Scenario:
    rule = SCENARIO_PREFIXES.get(campaign_id[:3])
    return rule.model_copy(deep=True) if rule is not None else Scenario()


def number_key(number: str) -> str:
    """Infobip's numberKey is an opaque 32-hex-digit ID; derive it stably from the number."""
    return hashlib.md5(number.encode(), usedforsecurity=False).hexdigest().upper()


class ImportedNumber(_Record):
    number: str
    number_key: str
    country: str
    type: str
    capabilities: list[str]
    skip_osr_update: bool
    imported_at: float
    owned_from: float | None = None
    """When the number becomes owned by the account (asynchronous import); None: at `imported_at`."""

    def owned(self, now: float) -> bool:
        return (self.owned_from if self.owned_from is not None else self.imported_at) <= now


class PendingAddition(_Record):
    """An accepted add-numbers request (202) whose numbers appear on the campaign at `due`."""

    requested: float
    due: float
    numbers: list[str]


class Rejection(_Record):
    reasons: list[str]
    details: list[RejectionDetail]
    date: float


class InfobipCampaign(_Record):
    id: str
    tcr_id: str
    name: str
    numbers: list[str]
    number_pool_id: str | None
    client_manages_nnid: bool
    stage: str
    created: float
    modified: float
    application_id: str = "default"
    entity_id: str = ""
    osr_updated_at: float | None = None
    """Downtime starts here: the moment the numbers' OSR records were pointed at the new NNID."""
    registered_at: float | None = None
    rejection: Rejection | None = None
    network_statuses: list[str] = Field(default_factory=list)
    pending_additions: list[PendingAddition] = Field(default_factory=list)
    interim_stages: list[str] = Field(default_factory=list)
    """Unusual stages this campaign passes through before REGISTERED (snapshot of the behaviour)."""
    interim_seconds: float = 0.0
    interim_started_at: float | None = None

    def in_interim(self) -> bool:
        return self.interim_started_at is not None and self.stage in self.interim_stages


class Sharing(_Record):
    upstream_cnp_id: str
    status: str
    """PENDING, ACCEPTED or DECLINED."""
    explanation: str | None = None
    requested_at: float
    status_date: float
    held: bool = False
    """A seeded election: the schedule never decides it."""


class TcrCampaign(_Record):
    campaign_id: str
    status: str
    """ACTIVE or EXPIRED."""
    created: float
    sharing: Sharing | None = None
    temporary_errors_left: int = 0
    migrate_cnp_calls: int = 0
    suspended_mnos: list[str] = Field(default_factory=list)
    number_pool: bool = False
    previous_elections: list[Sharing] = Field(default_factory=list)
    """Elections replaced by a later one (after a decline, or a duplicate in accept-duplicates mode)."""


class Security(_Record):
    auth_id: str
    type: str | None = None
    credentials: dict[str, Any] = Field(default_factory=dict)


class Profile(_Record):
    profile_id: str
    notify_url: str
    content_type: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    auth_id: str | None = None


class Subscription(_Record):
    channel: str
    subscription_id: str
    name: str | None = None
    events: list[str]
    criteria: list[dict[str, str]] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    profile_id: str
    created: float
