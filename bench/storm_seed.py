"""The restart storm's starting point: N migrations waiting in InMigration, as a running operator left them.

Three things must agree before the operator is started, or the storm would measure the seed
instead of the operator: the sandbox holds an Infobip campaign per resource (seeded through
`POST /_admin/infobip-campaigns`, stage IN_MIGRATION, TCR IDs `CST…` so Infobip keeps them there),
the cluster holds the CampaignMigrations, and each status is the one the operator itself would
have written (`bench.storm_status`: the operator's own workflow, then `nextCheckAt` moved to due or
some minutes ahead), written through the status subresource as the operator writes it.

No operator process here and no timing: the run (`bench.restart_storm`) does both.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bench.stack import GROUP, PLURAL, VERSION, Kube, migration
from bench.storm_status import HISTORY, operator_status, with_next_check
from tendlc.api.status import MigrationStatus
from tendlc.workflow import Policy

PREFIX = "CST"  # the sandbox's `stuck` scenario: Infobip keeps the campaign IN_MIGRATION for ever


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
    # The simulated history starts HISTORY before the restart: an LOA signed "today" would be dated
    # after it when the bench runs in the first hours of a UTC day. The day the history starts is
    # within the 30 days of the real Secret's date either way.
    loa_signed = (restart - HISTORY).date()
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


