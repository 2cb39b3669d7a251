"""What the partner-rule rooms share: the records they queue or return, and the state they read.

`SandboxState` (state.py) is assembled from rule mixins (`lifecycle.py` for Infobip campaigns,
`tcr_rules.py` for TCR); this base declares the attributes and the few methods each mixin relies on,
so that every mixin type-checks on its own and none imports another. It holds no state and
performs no I/O itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tendlc_dev.sandbox.clock import SandboxClock
from tendlc_dev.sandbox.config import BehaviourConfig, SandboxConfig
from tendlc_dev.sandbox.model import ImportedNumber, InfobipCampaign, Scenario, TcrCampaign


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


def temporary_problem(code: int) -> TcrProblem:
    return TcrProblem(code, None, "Temporary error, please retry in about 30 seconds")


class StateBase:
    """Attributes and hooks `SandboxState` provides to its rule mixins."""

    config: SandboxConfig
    clock: SandboxClock
    behaviour: BehaviourConfig
    campaigns: dict[str, InfobipCampaign]
    numbers: dict[str, ImportedNumber]
    tcr_campaigns: dict[str, TcrCampaign]
    outbox: list[Notification]

    def touch(self) -> None:
        raise NotImplementedError

    def _schedule(self, due: float, kind: str, key: str) -> None:
        raise NotImplementedError

    def scenario_for(self, tcr_id: str) -> Scenario:
        raise NotImplementedError

    def campaigns_for(self, tcr_id: str) -> list[InfobipCampaign]:
        return [c for c in self.campaigns.values() if c.tcr_id == tcr_id]

    def _progress_campaign(self, campaign: InfobipCampaign) -> None:
        raise NotImplementedError

    def is_owned(self, number: str) -> bool:
        """The number is in the account now (an asynchronous import may not have finished)."""
        found = self.numbers.get(number)
        return found is not None and found.owned(self.clock.now())
