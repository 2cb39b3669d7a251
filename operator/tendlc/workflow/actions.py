"""The partner calls the workflow can ask for (actions) and the results the executor reports back (outcomes).

An action is a frozen value carrying everything the executor needs to make the call(s); `mutating`
says whether it changes anything at a partner and `idempotent` whether it may be repeated blindly.
Only `ElectCnp`, `SubmitMigration` and `AddNumbers` (`tendlc.workflow.number_actions`) are
non-idempotent: the workflow hands them out with the exactly-once marker already in the status, and
the executor must persist that status before the call. The preflight's read-only action lives in
`tendlc.workflow.preflight_actions`. `planned_calls()` renders the exact request(s) for dry run
(method, path, body summary; never a credential). Outcomes are the success values the executor
builds from the clients' answers; a failure is reported as the `PartnerError` the client raised.
Nothing here performs I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from tendlc.api.spec import CutOver
from tendlc.partner_errors import PartnerError
from tendlc.partner_requests import IMPORT_PATH, MIGRATE_PATH, MigrationRequest, NumberImport
from tendlc.workflow.number_actions import AddNumbers, CampaignNumbersObserved, NumbersAccepted, ObserveCampaignNumbers
from tendlc.workflow.preflight_actions import PreflightObserved, RunPreflight

__all__ = [
    "Action",
    "AddNumbers",
    "CampaignNumbersObserved",
    "CampaignObserved",
    "ElectCnp",
    "ElectionObserved",
    "ImportNumbers",
    "ImportResult",
    "MigrationNotFound",
    "NonIdempotentAction",
    "NumbersAccepted",
    "ObserveCampaignNumbers",
    "ObserveElection",
    "ObserveMigration",
    "Outcome",
    "PollCampaign",
    "PreflightObserved",
    "RunPreflight",
    "SubmitMigration",
]

_SHOWN_NUMBERS = 3


def _numbers_summary(numbers: tuple[str, ...]) -> str | list[str]:
    if len(numbers) <= _SHOWN_NUMBERS:
        return list(numbers)
    return f"{len(numbers)} numbers: {numbers[0]} … {numbers[-1]}"


def _call(method: str, path: str, body: dict[str, object] | None = None) -> str:
    if body is None:
        return f"{method} {path}"
    return f"{method} {path} {json.dumps(body, ensure_ascii=False)}"


@dataclass(frozen=True)
class ImportNumbers:
    """Infobip `POST /numbers/2/numbers/import`, in batches of `batch_size`; already-imported is success."""

    numbers: tuple[str, ...]
    skip_osr_update: bool
    batch_size: int = 100
    mutating: ClassVar[bool] = True
    idempotent: ClassVar[bool] = True

    @property
    def request(self) -> NumberImport:
        return NumberImport(self.numbers, self.skip_osr_update)

    def planned_calls(self) -> list[str]:
        return [
            _call("POST", IMPORT_PATH, batch.body() | {"numbers": _numbers_summary(batch.numbers)})
            for batch in self.request.batches(self.batch_size)
        ]


@dataclass(frozen=True)
class ObserveElection:
    """TCR `GET /v2/campaign/{campaign_id}/sharing`: read the election (sharedByMe)."""

    campaign_id: str
    upstream_cnp_id: str
    mutating: ClassVar[bool] = False
    idempotent: ClassVar[bool] = True

    def planned_calls(self) -> list[str]:
        return [_call("GET", f"/v2/campaign/{self.campaign_id}/sharing")]


@dataclass(frozen=True)
class ElectCnp:
    """TCR `POST /v2/campaign/{campaign_id}/migrateCnp/{upstream_cnp_id}`. Not idempotent."""

    campaign_id: str
    upstream_cnp_id: str
    mutating: ClassVar[bool] = True
    idempotent: ClassVar[bool] = False
    operation: ClassVar[str] = "ElectCnp"

    def planned_calls(self) -> list[str]:
        return [_call("POST", f"/v2/campaign/{self.campaign_id}/migrateCnp/{self.upstream_cnp_id}")]


@dataclass(frozen=True)
class ObserveMigration:
    """Find an Infobip campaign after an uncertain migrate (docs/decisions.md D4).

    `GET /number-registration/1/campaigns?nameLike={name}&number={number}&type=EXTERNAL_TEN_DIGIT_LONG_CODE`,
    every page, matching `externalCampaignId == campaign_id` exactly; the newest `createdDate` wins.
    Report `CampaignObserved(created=False, …)` or `MigrationNotFound()`.
    """

    campaign_id: str
    name: str
    number: str
    mutating: ClassVar[bool] = False
    idempotent: ClassVar[bool] = True

    def planned_calls(self) -> list[str]:
        return [
            _call(
                "GET",
                f"/number-registration/1/campaigns?nameLike={self.name}&number={self.number}"
                "&type=EXTERNAL_TEN_DIGIT_LONG_CODE",
            )
        ]


@dataclass(frozen=True)
class SubmitMigration:
    """Infobip `POST /number-registration/1/campaigns/migrate`. Not idempotent.

    `send_by`: a wave's window closes then; a request whose rate-limit turn comes later is not
    sent (the performer answers `RequestNotSent`, and the member waits for the next window).
    """

    campaign_id: str
    name: str
    numbers: tuple[str, ...]
    number_pool_id: str | None
    is_client_manage_nnid: bool
    send_by: datetime | None = None
    mutating: ClassVar[bool] = True
    idempotent: ClassVar[bool] = False
    operation: ClassVar[str] = "SubmitMigration"

    @property
    def request(self) -> MigrationRequest:
        """The exact request sent (the client posts `request.body()`)."""
        return MigrationRequest(
            name=self.name,
            external_campaign_id=self.campaign_id,
            numbers=self.numbers,
            number_pool_id=self.number_pool_id,
            is_client_manage_nnid=self.is_client_manage_nnid,
        )

    def planned_calls(self) -> list[str]:
        body = self.request.body() | {"numbers": _numbers_summary(self.numbers)}
        return [_call("POST", MIGRATE_PATH, body)]


@dataclass(frozen=True)
class PollCampaign:
    """Infobip `GET /number-registration/1/campaigns/{infobip_campaign_id}`."""

    infobip_campaign_id: str
    mutating: ClassVar[bool] = False
    idempotent: ClassVar[bool] = True

    def planned_calls(self) -> list[str]:
        return [_call("GET", f"/number-registration/1/campaigns/{self.infobip_campaign_id}")]


@dataclass(frozen=True)
class SwitchTraffic:
    """The cut-over: set the ConfigMap key and/or call the platform team's endpoint (signed, keyed).

    Not idempotent for the endpoint, so the marker precedes it; a resend after an interrupted call
    carries the same `idempotency_key`, by which the endpoint recognises it (docs/decisions.md D58).
    Setting a ConfigMap key to the same value twice changes nothing.
    """

    cutover: CutOver
    campaign_id: str
    infobip_campaign_id: str
    idempotency_key: str
    numbers: tuple[str, ...] = ()
    registered_at: datetime | None = None
    mutating: ClassVar[bool] = True
    idempotent: ClassVar[bool] = False
    operation: ClassVar[str] = "SwitchTraffic"

    def planned_calls(self) -> list[str]:
        calls = []
        if self.cutover.config_map is not None:
            key = self.cutover.config_map.key_for(self.campaign_id)
            calls.append(f"PATCH configmap/{self.cutover.config_map.name} data.{key}={self.cutover.config_map.value}")
        if self.cutover.webhook is not None:
            calls.append(f"POST {self.cutover.webhook.url} (signed, Idempotency-Key {self.idempotency_key})")
        return calls


Action = (
    ImportNumbers | ObserveElection | ElectCnp | ObserveMigration | SubmitMigration | PollCampaign | SwitchTraffic
    | AddNumbers | ObserveCampaignNumbers | RunPreflight
)
NonIdempotentAction = ElectCnp | SubmitMigration | SwitchTraffic | AddNumbers


@dataclass(frozen=True)
class ImportResult:
    """Every number of the import is imported: `count` numbers, `confirmed_by_list` of them only by
    the owned-numbers list because the answer did not say so in words we know (D40-D42)."""

    count: int
    confirmed_by_list: int = 0


@dataclass(frozen=True)
class ElectionObserved:
    """TCR's `sharedByMe` record (from GET sharing or the migrateCnp answer); all None when absent."""

    upstream_cnp_id: str | None
    sharing_status: str | None
    explanation: str | None = None


@dataclass(frozen=True)
class CampaignObserved:
    """An Infobip campaign: from the migrate answer (`created=True`), GET campaign, or the D4 search."""

    infobip_campaign_id: str
    stage: str
    rejection_message: str | None = None
    """Infobip's rejection reasons/details rendered for humans, when the stage is a rejection."""
    created: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class MigrationNotFound:
    """The D4 search found no campaign with our externalCampaignId."""


@dataclass(frozen=True)
class TrafficSwitchedOutcome:
    """The cut-over succeeded (every configured part)."""


@dataclass(frozen=True)
class CutOverFailed:
    """The cut-over did not succeed this time: `message` for humans (never a secret); retried with backoff."""

    message: str


Outcome = (
    ImportResult | ElectionObserved | CampaignObserved | MigrationNotFound | TrafficSwitchedOutcome | CutOverFailed
    | NumbersAccepted | CampaignNumbersObserved | PreflightObserved | PartnerError
)
