"""The status a running operator leaves on a migration waiting in InMigration, from its own workflow.

`operator_status` drives the operator's pure workflow (`decide`/`record`, with the `Policy` the
operator builds from its own environment: `operator_settings`) through import, election, the D24
searches, the submission and the polls of a campaign Infobip keeps IN_MIGRATION, with partner
answers made up here; `with_next_check` then moves `nextCheckAt` to the instant a benchmark wants.
Because nothing is composed by hand, a restarted operator's pass over such a status changes
nothing while it is not due, and only the poll bookkeeping once it is. Pure: no I/O, no clock but
the `restart` instant it is given (the environment is read only inside `operator_settings`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from tendlc.api.status import MigrationStatus
from tendlc.config import Settings
from tendlc.controller.reconcile import spec_of
from tendlc.workflow import (
    Act,
    CampaignObserved,
    ElectCnp,
    ElectionObserved,
    Facts,
    ImportNumbers,
    ImportResult,
    LoaFacts,
    MigrationNotFound,
    ObserveElection,
    ObserveMigration,
    Outcome,
    Policy,
    PollCampaign,
    SubmitMigration,
    Wait,
    decide,
    record,
)

HISTORY = dt.timedelta(hours=3)
"""How long before the restart each simulated migration started (well under the 72 h Stalled threshold)."""
WAITING_FOR = dt.timedelta(minutes=15)
"""The simulated polling stops once its next check would fall this close to the restart."""


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def operator_settings(env: Mapping[str, str]) -> Settings:
    """The settings the operator builds from exactly the environment it is started with."""
    with _environment(env):
        return Settings()


@dataclass
class _Partners:
    """Made-up partner answers for one campaign that Infobip keeps IN_MIGRATION."""

    uuid: str
    upstream: str
    elected: bool = False
    sharing_reads: int = 0

    def answer(self, action: object) -> Outcome:
        match action:
            case ImportNumbers():
                return ImportResult(count=len(action.numbers))
            case ElectCnp():
                self.elected = True
                return ElectionObserved(self.upstream, "PENDING")
            case ObserveElection():
                if not self.elected:
                    return ElectionObserved(None, None)
                self.sharing_reads += 1  # TCR accepts at the second read after the election
                return ElectionObserved(self.upstream, "ACCEPTED" if self.sharing_reads >= 2 else "PENDING")
            case ObserveMigration():
                return MigrationNotFound()
            case SubmitMigration():
                return CampaignObserved(self.uuid, "IN_MIGRATION", created=True)
            case PollCampaign():
                return CampaignObserved(self.uuid, "IN_MIGRATION")
        raise AssertionError(f"no made-up answer for {action!r}")


def operator_status(body: Mapping[str, Any], uuid: str, restart: dt.datetime, policy: Policy,
                    loa_signed: dt.date, upstream_cnp_id: str = "OPMKT") -> MigrationStatus:
    """The status the operator's workflow reaches for `body` by `restart`, waiting in InMigration.

    Every step is the operator's own `decide`/`record`; a `Wait` advances the simulated clock by
    its delay, an action by 0.2 s. Ends at the first `Wait` in InMigration whose next check is
    within WAITING_FOR of `restart`.
    """
    spec = spec_of(body, upstream_cnp_id)
    partners = _Partners(uuid, spec.upstream_cnp_id or upstream_cnp_id)
    status = MigrationStatus()
    now = restart - HISTORY
    generation = int(body["metadata"].get("generation") or 1)
    for _ in range(1_000):
        facts = Facts(now=now, loa=LoaFacts.ok(loa_signed), generation=generation)
        decision = decide(spec, status, facts, policy)
        if isinstance(decision, Act):
            now += dt.timedelta(milliseconds=200)
            outcome = partners.answer(decision.action)
            status = record(spec, decision.status, decision.action, outcome, replace(facts, now=now), policy)
            continue
        if not isinstance(decision, Wait):
            raise RuntimeError(f"the simulated migration stopped with {type(decision).__name__}: {decision.status}")
        status = decision.status
        waiting = status.phase == "InMigration" and status.next_check_at is not None
        if waiting and status.next_check_at is not None and status.next_check_at >= restart - WAITING_FOR:
            return status
        now += decision.delay + dt.timedelta(milliseconds=1)
    raise RuntimeError("the simulated migration never settled in InMigration")


def with_next_check(status: MigrationStatus, next_check: dt.datetime) -> MigrationStatus:
    """The same status with its next check moved (the last check stays before it)."""
    moved = status.model_copy(deep=True)
    moved.next_check_at = next_check
    if moved.last_checked_at is not None and moved.last_checked_at > next_check:
        moved.last_checked_at = next_check - dt.timedelta(seconds=1)
    return moved
