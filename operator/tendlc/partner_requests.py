"""The partner requests whose bodies the operator builds, each built in exactly one place.

The Infobip client sends these bodies and the workflow's dry-run plan shows them, so both build
them here rather than each spelling the JSON again (a plan that showed another body than the one
sent would be worse than none). Values only: no I/O, no validation of partner limits (the clients
guard those), and nothing of tendlc is imported, so the pure workflow and the clients can both
depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

IMPORT_PATH: Final = "/numbers/2/numbers/import"
MIGRATE_PATH: Final = "/number-registration/1/campaigns/migrate"
ADD_NUMBERS_PATH: Final = "/number-registration/1/campaigns/{campaign_id}/add-numbers"
CAMPAIGN_NUMBERS_PATH: Final = "/number-registration/1/campaigns/{campaign_id}/numbers"
ADD_NUMBERS_MAX: Final = 5_000
"""Numbers one add-numbers request carries at most (published `UpdateCampaignRegistrationRequest`)."""


@dataclass(frozen=True)
class NumberImport:
    """Infobip `POST /numbers/2/numbers/import` (docs/decisions.md D1), before batching."""

    numbers: tuple[str, ...]
    skip_osr_update: bool

    def batches(self, size: int) -> list[NumberImport]:
        """The requests actually sent: at most `size` numbers each, duplicates dropped, order kept."""
        unique = tuple(dict.fromkeys(self.numbers))
        step = max(size, 1)
        return [NumberImport(unique[i : i + step], self.skip_osr_update) for i in range(0, len(unique), step)]

    def body(self) -> dict[str, object]:
        return {
            "numbers": list(self.numbers),
            "country": "US",
            "type": "VIRTUAL_LONG_NUMBER",
            "capabilities": ["SMS", "MMS"],
            "skipOsrUpdate": self.skip_osr_update,
        }


@dataclass(frozen=True)
class MigrationRequest:
    """Infobip `POST /number-registration/1/campaigns/migrate`: the body of the guide's example."""

    name: str
    external_campaign_id: str
    numbers: tuple[str, ...]
    number_pool_id: str | None
    is_client_manage_nnid: bool

    def body(self) -> dict[str, object]:
        return {
            "name": self.name,
            "externalCampaignId": self.external_campaign_id,
            "numberPoolID": self.number_pool_id,
            "numbers": list(self.numbers),
            "isClientManageNnid": self.is_client_manage_nnid,
        }



@dataclass(frozen=True)
class AddNumbersRequest:
    """Infobip `POST /number-registration/1/campaigns/{id}/add-numbers` (published; D34, D61).

    Numbers are sent as `numbers` (not `numberKeys`): the operator knows them, not their keys.
    """

    infobip_campaign_id: str
    numbers: tuple[str, ...]

    @property
    def path(self) -> str:
        return ADD_NUMBERS_PATH.format(campaign_id=self.infobip_campaign_id)

    def body(self) -> dict[str, object]:
        return {"numbers": list(self.numbers)}
