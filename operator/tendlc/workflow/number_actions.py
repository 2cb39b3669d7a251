"""The partner calls of a large campaign's second half: adding numbers, and reading them back (D60, D61).

`AddNumbers` is non-idempotent like the migrate (a resend is a second batch whose fate Infobip does
not document), so the workflow hands it out with an `AddNumbers` marker already in the status and
observes `ObserveCampaignNumbers` before any resend. Outcomes: `NumbersAccepted` (the 202) and
`CampaignNumbersObserved` (what `GET …/numbers` shows). Values only; nothing here performs I/O, and
nothing of `tendlc.workflow.actions` is imported, so that module can list these in its unions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from tendlc.partner_requests import CAMPAIGN_NUMBERS_PATH, AddNumbersRequest


@dataclass(frozen=True)
class AddNumbers:
    """Infobip `POST /number-registration/1/campaigns/{id}/add-numbers` with one batch. Not idempotent."""

    infobip_campaign_id: str
    numbers: tuple[str, ...]
    mutating: ClassVar[bool] = True
    idempotent: ClassVar[bool] = False
    operation: ClassVar[str] = "AddNumbers"

    @property
    def request(self) -> AddNumbersRequest:
        return AddNumbersRequest(self.infobip_campaign_id, self.numbers)

    def planned_calls(self) -> list[str]:
        shown = (
            list(self.numbers) if len(self.numbers) <= 3
            else f"{len(self.numbers)} numbers: {self.numbers[0]} … {self.numbers[-1]}"
        )
        return [f"POST {self.request.path} {json.dumps({'numbers': shown}, ensure_ascii=False)}"]


@dataclass(frozen=True)
class ObserveCampaignNumbers:
    """Infobip `GET /number-registration/1/campaigns/{id}/numbers`: every number the campaign holds."""

    infobip_campaign_id: str
    mutating: ClassVar[bool] = False
    idempotent: ClassVar[bool] = True

    def planned_calls(self) -> list[str]:
        return [f"GET {CAMPAIGN_NUMBERS_PATH.format(campaign_id=self.infobip_campaign_id)}"]


@dataclass(frozen=True)
class NumbersAccepted:
    """Infobip accepted the batch (202): its numbers join the campaign later (asynchronous, D34)."""

    count: int


@dataclass(frozen=True)
class CampaignNumbersObserved:
    """The numbers `GET …/campaigns/{id}/numbers` showed."""

    numbers: frozenset[str]
