"""Fault injection: the ways real partners fail, drawn from one seeded random stream.

HTTP faults are decided per partner request after authentication and rate limiting:
`error` (500/503, nothing happened), `tcr_temporary` (TCR 400 with code 591/630, nothing happened),
`drop_before` (connection closed, nothing happened), `drop_after` (the request took effect, then
the connection was closed: the client cannot know), `slow` (took effect, the answer is held back
past a client's timeout). Webhook faults are loss, duplication and reordering. With a `seed`, the
same sequence of requests meets the same faults, so a failing chaos run can be replayed.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from tendlc_dev.sandbox.config import FaultConfig


@dataclass(frozen=True)
class FaultDecision:
    kind: str | None = None
    """None, "error", "tcr_temporary", "drop_before", "drop_after" or "slow"."""
    status: int | None = None
    code: int | None = None


NO_FAULT = FaultDecision()


class FaultInjector:
    def __init__(self, config: FaultConfig) -> None:
        self.configure(config)

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self._random = random.Random(config.seed)
        self._paths = [re.compile(p) for p in config.paths]
        self.injected: dict[str, int] = {}

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def decide(self, partner: str, path: str) -> FaultDecision:
        config = self.config
        if self._paths and not any(p.search(path) for p in self._paths):
            return NO_FAULT
        roll = self._random.random()
        threshold = config.error_probability
        if roll < threshold:
            self._count("error")
            return FaultDecision("error", status=self._random.choice((500, 503)))
        if partner == "tcr":
            threshold += config.tcr_temporary_probability
            if roll < threshold:
                self._count("tcr_temporary")
                return FaultDecision("tcr_temporary", status=400, code=self._random.choice((591, 630)))
        threshold += config.drop_probability
        if roll < threshold:
            kind = "drop_after" if self._random.random() < config.drop_after_effect_share else "drop_before"
            self._count(kind)
            return FaultDecision(kind)
        threshold += config.slow_probability
        if roll < threshold:
            self._count("slow")
            return FaultDecision("slow")
        return NO_FAULT

    def lose_webhook(self) -> bool:
        return self._chance(self.config.webhook_loss_probability, "webhook_loss")

    def duplicate_webhook(self) -> bool:
        return self._chance(self.config.webhook_duplicate_probability, "webhook_duplicate")

    def reorder_webhook(self) -> bool:
        return self._chance(self.config.webhook_reorder_probability, "webhook_reorder")

    def _chance(self, probability: float, kind: str) -> bool:
        if probability <= 0:
            return False
        hit = self._random.random() < probability
        if hit:
            self._count(kind)
        return hit
