"""The restart storm's starting point: N migrations waiting in InMigration, as a running operator left them.

Three things must agree before the operator is started, or the storm would measure the seed
instead of the operator: the sandbox holds an Infobip campaign per resource (seeded through
`POST /_admin/infobip-campaigns`, stage IN_MIGRATION, TCR IDs `CST…` so Infobip keeps them there),
the cluster holds the CampaignMigrations, and each status is the one the operator itself would
have written. The status is not composed by hand: `operator_status` drives the operator's own
pure workflow (`decide`/`record`, the same `Policy` the operator gets from its settings) through
import, election, the D24 searches, the submission and the polls of a campaign that stays
IN_MIGRATION, with partner answers made up here, and only then moves `nextCheckAt` to the instant
the benchmark wants (due, or some minutes ahead). A pass of the restarted operator over a
not-due resource therefore changes nothing, and one over a due resource only the poll
bookkeeping (`lastCheckedAt`, `nextCheckAt`, `attempts`) — which is what the storm asks about.

No operator process here and no timing: the run (`bench.restart_storm`) does both.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import os
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from bench.stack import GROUP, PLURAL, VERSION, Kube, migration
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

PREFIX = "CST"  # the sandbox's `stuck` scenario: Infobip keeps the campaign IN_MIGRATION for ever
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


# --- putting it in place ---------------------------------------------------------------------------------


def seed_sandbox(sandbox_url: str, indexes: list[int], numbers: int, threads: int = 4) -> dict[int, str]:
    """One Infobip campaign per index, stage IN_MIGRATION, named as the operator names it; index → UUID."""
    def seed(chunk: list[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        with httpx.Client(base_url=sandbox_url, timeout=30) as client:
            for index in chunk:
                spec = migration(index, PREFIX, numbers)["spec"]
                response = client.post("/_admin/infobip-campaigns", json={
                    "externalCampaignId": spec["campaignId"], "numbers": spec["numbers"],
                    "name": f"migrateCampaign{spec['campaignId']}", "stage": "IN_MIGRATION"})
                response.raise_for_status()
                answer = response.json()
                if answer["stage"] != "IN_MIGRATION" or answer["scenario"] != "stuck":
                    raise RuntimeError(f"seeded {spec['campaignId']} is {answer['stage']}/{answer['scenario']}")
                found[index] = answer["id"]
        return found

    chunks = [indexes[k::threads] for k in range(threads)]
    uuids: dict[int, str] = {}
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for part in pool.map(seed, chunks):
            uuids.update(part)
    return uuids


def write_statuses(kube: Kube, namespace: str, statuses: Mapping[str, MigrationStatus]) -> dict[str, str]:
    """Writes each status through the status subresource, as the operator does; name → resourceVersion."""
    def write(item: tuple[str, MigrationStatus]) -> tuple[str, str]:
        name, status = item
        stored: dict[str, Any] = kube.custom.patch_namespaced_custom_object_status(  # type: ignore[assignment]
            GROUP, VERSION, namespace, PLURAL, name, {"status": status.to_dict()})
        return name, str(stored["metadata"]["resourceVersion"])

    with concurrent.futures.ThreadPoolExecutor(kube.threads) as pool:
        return dict(pool.map(write, statuses.items()))


@dataclass(frozen=True)
class Seeded:
    """What was put in place: per resource name its UUID, whether it is due, its status and version."""

    uuid: dict[str, str]
    due: dict[str, bool]
    status: dict[str, dict[str, Any]]
    version: dict[str, str]
    next_check_epoch: dict[str, float]


def seed(kube: Kube, sandbox_url: str, n: int, numbers: int, policy: Policy, future_seconds: float,
         namespace: str, log: Any) -> Seeded:
    """Sandbox campaigns, CampaignMigrations and their statuses; every even index due, every odd one not.

    Due ones have `nextCheckAt` 0–120 s before the seeding, the others `future_seconds` + 0–60 s
    after it (the jitter a running operator's backoff spreads them by).
    """
    indexes = list(range(n))
    log(f"seeding {n} Infobip campaigns (IN_MIGRATION, scenario stuck) in the sandbox")
    uuids = seed_sandbox(sandbox_url, indexes, numbers)
    objects = [migration(i, PREFIX, numbers, namespace) for i in indexes]
    log(f"creating {n} CampaignMigrations")
    kube.create_all(objects)
    restart = dt.datetime.now(dt.UTC)
    loa_signed = dt.date.today()  # the LOA Secret bench.stack creates is signed today
    jitter = random.Random(13)
    statuses: dict[str, MigrationStatus] = {}
    due: dict[str, bool] = {}
    log(f"running the operator's workflow to InMigration for each of the {n} (as it would have written them)")
    for index, obj in zip(indexes, objects, strict=True):
        name = obj["metadata"]["name"]
        body = {**obj, "metadata": {**obj["metadata"], "generation": 1}}
        status = operator_status(body, uuids[index], restart, policy, loa_signed)
        due[name] = index % 2 == 0
        offset = -jitter.uniform(0, 120) if due[name] else future_seconds + jitter.uniform(0, 60)
        statuses[name] = with_next_check(status, restart + dt.timedelta(seconds=offset))
    log(f"writing {n} statuses through the status subresource")
    versions = write_statuses(kube, namespace, statuses)
    names = [obj["metadata"]["name"] for obj in objects]
    return Seeded(
        uuid={name: uuids[index] for index, name in zip(indexes, names, strict=True)},
        due=due,
        status={name: status.to_dict() for name, status in statuses.items()},
        version=versions,
        next_check_epoch={name: status.next_check_at.timestamp() for name, status in statuses.items()
                          if status.next_check_at is not None},
    )


