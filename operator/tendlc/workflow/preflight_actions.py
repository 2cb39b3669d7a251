"""The preflight's one action and what it reports back: documented GETs only (D64, D65).

`RunPreflight` asks the performer for every read a preflight makes — TCR's campaign, its per-MNO
operation status and its sharing; Infobip's owned numbers, the campaigns holding any of the
numbers, and the D4 search for a campaign of this externalCampaignId — and `PreflightObserved`
carries each answer, or `ReadFailed` with the partner's words when that read failed, so one failed
read makes one check "not checked" instead of failing the preflight. It is neither mutating nor
non-idempotent: no marker, nothing written at a partner. Values only; no I/O here, and nothing of
`tendlc.workflow.actions` is imported (that module lists these in its unions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class RunPreflight:
    """Every documented read of a preflight, for one campaign and its numbers."""

    campaign_id: str
    upstream_cnp_id: str
    name: str
    search_number: str | None
    numbers: tuple[str, ...]
    mutating: ClassVar[bool] = False
    idempotent: ClassVar[bool] = True

    def planned_calls(self) -> list[str]:
        calls = [
            f"GET /v2/campaign/{self.campaign_id}",
            f"GET /v2/campaign/{self.campaign_id}/operationStatus",
            f"GET /v2/campaign/{self.campaign_id}/sharing",
        ]
        if self.numbers:
            calls += [
                f"GET /numbers/1/numbers ({len(self.numbers)} numbers looked up)",
                f"GET /number-registration/1/campaigns?number=… ({len(self.numbers)} numbers, in chunks)",
            ]
        if self.search_number is not None:
            calls.append(
                f"GET /number-registration/1/campaigns?nameLike={self.name}&number={self.search_number}"
                "&type=EXTERNAL_TEN_DIGIT_LONG_CODE"
            )
        return calls


@dataclass(frozen=True)
class ReadFailed:
    """A read of the preflight that got no usable answer: the partner's words (never a credential)."""

    message: str


@dataclass(frozen=True)
class TcrCampaignSeen:
    """TCR's campaign record: its `status` (ACTIVE, EXPIRED, …); `found` False for a 404."""

    status: str | None
    found: bool = True


@dataclass(frozen=True)
class ElectionSeen:
    """TCR's `sharedByMe`: the CNP the campaign is (being) elected to, and the sharing status."""

    upstream_cnp_id: str | None
    sharing_status: str | None


@dataclass(frozen=True)
class OwnedSeen:
    """How many of the numbers the account owns; `problem` when the list could not be read in full."""

    owned: int
    problem: str | None = None


@dataclass(frozen=True)
class CampaignHolding:
    """An Infobip campaign holding some of the numbers (its own externalCampaignId, if any)."""

    infobip_campaign_id: str
    external_campaign_id: str | None
    stage: str | None
    numbers: tuple[str, ...]


@dataclass(frozen=True)
class ExistingMigration:
    """The newest Infobip campaign of this externalCampaignId the D4 search found."""

    infobip_campaign_id: str
    stage: str | None


@dataclass(frozen=True)
class PreflightObserved:
    """Each read's answer, or why it has none (`None` for a read that was not asked for)."""

    tcr_campaign: TcrCampaignSeen | ReadFailed
    operation_status: tuple[tuple[str, str], ...] | ReadFailed
    election: ElectionSeen | ReadFailed
    owned: OwnedSeen | ReadFailed | None
    holding: tuple[CampaignHolding, ...] | ReadFailed | None
    existing: ExistingMigration | ReadFailed | None
