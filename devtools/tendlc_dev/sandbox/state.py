"""The partners' memory: Infobip campaigns, owned numbers, TCR records, scenarios, subscriptions.

`SandboxState` holds everything the partners remember and the schedule of what falls due next; the
rules that move campaigns and elections forward are its mixins (`lifecycle.py`, `tcr_rules.py`).
This room adds the number import, scenarios, subscription matching and persistence. It performs
no I/O: changes partners announce by webhook are queued in `outbox` for `webhooks.py`, and HTTP
shapes are left to `views.py` and the routes. Times are sandbox seconds from `clock.py`.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any

from tendlc_dev.sandbox.clock import SandboxClock
from tendlc_dev.sandbox.config import BehaviourConfig, SandboxConfig
from tendlc_dev.sandbox.lifecycle import INFOBIP_CNP_ID, CampaignLifecycle
from tendlc_dev.sandbox.model import (
    ImportedNumber,
    InfobipCampaign,
    Profile,
    Scenario,
    Security,
    Subscription,
    TcrCampaign,
    number_key,
    scenario_from_id,
)
from tendlc_dev.sandbox.state_base import Notification, TcrProblem, temporary_problem
from tendlc_dev.sandbox.tcr_rules import TCR_EXPIRED_AGE, TcrRules

__all__ = [
    "INFOBIP_CNP_ID",
    "TCR_EXPIRED_AGE",
    "Notification",
    "SandboxState",
    "TcrProblem",
    "subscription_key",
    "temporary_problem",
]


@dataclass
class SandboxState(CampaignLifecycle, TcrRules):
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
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    """The behaviour alternatives in force (docs/sandbox.md); changed at runtime by the admin API."""
    key_index: dict[str, str] = field(default_factory=dict)
    """numberKey → number for every imported number (add-numbers names numbers by key)."""
    _heap: list[tuple[float, int, str, str]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.import_enabled = self.config.import_enabled
        self.behaviour = self.config.behaviour.model_copy(deep=True)

    # -- bookkeeping ---------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget everything (admin reset); the clock and the configuration stay."""
        self.campaigns.clear()
        self.numbers.clear()
        self.key_index.clear()
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
            self.apply_scenario_to_tcr(tcr, scenario)
            self._progress_tcr(tcr)
        for campaign in self.campaigns_for(tcr_id):
            self._progress_campaign(campaign)
        self.touch()

    # -- Infobip: numbers ----------------------------------------------------------------------

    def import_numbers(
        self,
        numbers: list[str],
        country: str = "US",
        number_type: str = "VIRTUAL_LONG_NUMBER",
        capabilities: list[str] | None = None,
        skip_osr_update: bool = True,
        *,
        delay: float = 0.0,
    ) -> list[tuple[str, bool]]:
        """Import is idempotent (D1): (number, newly imported?) for each; a number asked for before
        (owned, or still on its way after an asynchronous import) is not imported again. With
        `delay` the numbers become owned that many sandbox seconds later (D31)."""
        now = self.clock.now()
        results: list[tuple[str, bool]] = []
        for number in numbers:
            if number in self.numbers:
                results.append((number, False))
                continue
            self.numbers[number] = ImportedNumber(
                number=number,
                number_key=number_key(number),
                country=country,
                type=number_type,
                capabilities=list(capabilities or ["SMS", "MMS"]),
                skip_osr_update=skip_osr_update,
                imported_at=now,
                owned_from=now + delay if delay > 0 else None,
            )
            self.key_index[self.numbers[number].number_key] = number
            results.append((number, True))
        self.touch()
        return results

    def owned_numbers(self) -> list[ImportedNumber]:
        """The account's owned numbers in import order (the Numbers API list)."""
        now = self.clock.now()
        return [n for n in self.numbers.values() if n.owned(now)]

    def number_by_key(self, key: str) -> ImportedNumber | None:
        number = self.key_index.get(key)
        return self.numbers.get(number) if number is not None else None

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
        self.key_index = {n.number_key: n.number for n in self.numbers.values()}
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
