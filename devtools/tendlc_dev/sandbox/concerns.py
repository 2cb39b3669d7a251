"""Which campaigns a partner request concerns: read from its path or body, resolved when asked.

Exactly-once tests ask "how many migrate / add-numbers / migrateCnp requests did campaign C
receive?", but several requests name their campaign indirectly: a migrate carries the TCR ID in
its body, GET campaign and add-numbers carry Infobip's UUID, and a number import carries only
numbers. `extract` reads what a request names (leniently: a broken body names nothing) when it
arrives, whatever its fate; `Resolver` turns that into TCR campaign IDs at query time, so a number
imported before its migrate was ever sent still counts for that campaign once the migrate (or a
seeded scenario naming the numbers) is known. Nothing here changes partner state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from multidict import MultiMapping

if TYPE_CHECKING:
    from tendlc_dev.sandbox.ledger import Ledger, LedgerEntry
    from tendlc_dev.sandbox.state import SandboxState

TCR_PATH = re.compile(r"^/tcr/v2/campaign/(C[A-Z0-9]{6})(?:/|$)")
INFOBIP_CAMPAIGN_PATH = re.compile(
    r"^/infobip/number-registration/1/campaigns/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?:/|$)"
)
BODY_NUMBERS = frozenset({"infobip.import_numbers", "infobip.migrate", "infobip.add_numbers"})
QUERY_NUMBERS = frozenset({"infobip.campaigns", "infobip.owned_numbers"})


@dataclass(frozen=True)
class Concern:
    """What a request names directly."""

    campaigns: tuple[str, ...] = ()
    """TCR campaign IDs from the path or the body."""
    infobip_campaign_id: str | None = None
    numbers: tuple[str, ...] = ()
    number_keys: tuple[str, ...] = ()


NOTHING = Concern()


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def extract(endpoint: str, path: str, query: MultiMapping[str], body: bytes) -> Concern:
    campaigns: tuple[str, ...] = ()
    if (match := TCR_PATH.match(path)) is not None:
        campaigns = (match.group(1),)
    uuid_match = INFOBIP_CAMPAIGN_PATH.match(path)
    infobip_id = uuid_match.group(1).lower() if uuid_match is not None else None
    numbers: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    if endpoint in BODY_NUMBERS and body:
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, dict):
            keys = _strings(parsed.get("numberKeys"))
            numbers = () if keys else _strings(parsed.get("numbers"))  # numberKeys take precedence
            external = parsed.get("externalCampaignId") if endpoint == "infobip.migrate" else None
            if isinstance(external, str):
                campaigns = (external,)
    elif endpoint in QUERY_NUMBERS:
        values = query.getall("number", []) + query.getall("number[]", [])
        numbers = tuple(part for value in values for part in value.split(",") if part)
    if not (campaigns or infobip_id or numbers or keys):
        return NOTHING
    return Concern(campaigns, infobip_id, numbers, keys)


@dataclass
class Resolver:
    """Resolves ledger entries to TCR campaign IDs against what the sandbox knows now.

    Numbers belong to a campaign when a migrate or add-numbers request named them for it (the
    ledger's index, refused requests included), when an Infobip campaign holds them, or when the
    campaign's scenario was seeded with them. Build one per query: it indexes once.
    """

    state: SandboxState
    ledger: Ledger
    _owners: dict[str, set[str]] | None = field(default=None, init=False)
    _uuids: dict[str, str] | None = field(default=None, init=False)

    def _number_owners(self) -> dict[str, set[str]]:
        if self._owners is None:
            owners: dict[str, set[str]] = {n: set(t) for n, t in self.ledger.number_owners.items()}
            for campaign in self.state.campaigns.values():
                for number in self.state.numbers_with_pending(campaign):
                    owners.setdefault(number, set()).add(campaign.tcr_id)
            for tcr_id, scenario in self.state.scenarios.items():
                for number in scenario.numbers:
                    owners.setdefault(number, set()).add(tcr_id)
            self._owners = owners
        return self._owners

    def tcr_for_uuid(self, infobip_id: str) -> str | None:
        if self._uuids is None:
            self._uuids = {c.id.lower(): c.tcr_id for c in self.state.campaigns.values()}
        return self._uuids.get(infobip_id.lower())

    def number_for_key(self, key: str) -> str | None:
        return self.state.key_index.get(key)

    def numbers(self, entry: LedgerEntry) -> list[str]:
        found = list(entry.numbers)
        for key in entry.number_keys:
            number = self.number_for_key(key)
            if number is not None and number not in found:
                found.append(number)
        return found

    def campaigns(self, entry: LedgerEntry) -> list[str]:
        found: list[str] = list(entry.campaigns)
        if entry.infobip_campaign_id is not None:
            owner = self.tcr_for_uuid(entry.infobip_campaign_id)
            if owner is not None and owner not in found:
                found.append(owner)
        if entry.numbers or entry.number_keys:
            owners = self._number_owners()
            for number in self.numbers(entry):
                for owner in sorted(owners.get(number, ())):
                    if owner not in found:
                        found.append(owner)
        return found


def owners_named(endpoint: str, concern: Concern, state: SandboxState) -> Iterable[tuple[str, str]]:
    """(number, TCR ID) pairs a request itself asserts: a migrate's numbers belong to its
    externalCampaignId, an add-numbers batch's to the campaign its UUID names."""
    if endpoint == "infobip.migrate" and concern.campaigns:
        return [(n, concern.campaigns[0]) for n in concern.numbers]
    if endpoint == "infobip.add_numbers" and concern.infobip_campaign_id is not None:
        campaign = state.campaigns.get(concern.infobip_campaign_id)
        if campaign is None:
            return []
        numbers = list(concern.numbers)
        for key in concern.number_keys:
            found = state.number_by_key(key)
            if found is not None:
                numbers.append(found.number)
        return [(n, campaign.tcr_id) for n in numbers]
    return []
