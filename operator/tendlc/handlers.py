"""Kopf glue: start-up wiring, and every watch event handed to the controller.

Handlers stay a few lines: the logic lives in `tendlc.workflow` (decisions) and
`tendlc.controller` (the executor, one loop per resource). Only `@kopf.on.event` is used, so Kopf
writes nothing to the resources: no finalizer that could block a deletion, no progress annotations.
Kopf's habit of posting every log line as an Event is off: the operator posts only meaningful
Events with stable reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import kopf

from tendlc.api.constants import GROUP, PLURAL, VERSION, WAVE_PLURAL
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.config import Settings
from tendlc.controller import build_controller, cutover_runner, seed_claims, seed_waves, utc_now
from tendlc.controller.leadership import Gate
from tendlc.events import EventPoster
from tendlc.kube import KubeApi
from tendlc.kube import login as kube_login
from tendlc.leader import LeaderElector, process_identity
from tendlc.metrics import Metrics
from tendlc.partners import Partners
from tendlc.services import Services

RESOURCE = (GROUP, VERSION, PLURAL)
WAVE_RESOURCE = (GROUP, VERSION, WAVE_PLURAL)
POSTING_OFF = 1000  # above every logging level: no Kopf log line becomes an Event (tendlc.events posts ours)


class NoDiffBase(kopf.DiffBaseStorage):
    """The diff base of an operator without change-detecting handlers: nothing, at no cost.

    Kopf builds the "essence" of every watch event's object (a deep copy of the whole body,
    status included) to diff it against the last handled one, whether or not a handler asks for
    changes; with only `@kopf.on.event` here that was ~3% of the operator's CPU for nothing
    (docs/performance.md, F13). tests/unit/test_kopf_usage.py fails if a change-detecting
    handler is ever registered, which would need the real storage back.
    """

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """The same credentials as `KubeApi` (tendlc.kube.login)."""
    return kube_login(**kwargs)


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    config: Settings = memo.get("config") or Settings()
    settings.posting.level = POSTING_OFF
    # No handler here needs Kopf's persistence, but keep Kopf's names under our prefix if it ever writes.
    # Change detection (on.create/update/...) is not used: no diff base to build for every event.
    settings.persistence.finalizer = "tendlc.io/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="tendlc.io")
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.watching.server_timeout = 300
    settings.scanning.disabled = True  # the chart grants no CRD/namespace listing; nothing here needs it
    kube = KubeApi(secret_max_age=config.secret_max_age_seconds)
    metrics = Metrics.for_settings(config)  # ceilings, and tendlc_leader=1 when standalone
    limiters = RateLimiterRegistry(config.limiter_overrides(), scale=config.rate_limit_scale)
    memo.config = config
    memo.kube = kube
    memo.metrics = metrics
    memo.partners = Partners(config, kube, limiters, on_call=metrics.on_call)
    memo.events = EventPoster(kube, clock=utc_now)
    memo.elector, memo.elector_task, gate = start_leader_election(config, kube, metrics, logger)
    memo.cutover = cutover_runner(config, kube)
    memo.registry, inbox, memo.waves = build_controller(
        config, kube, memo.partners, post_event=memo.events.post, metrics=metrics, gate=gate, cutover=memo.cutover
    )
    # Before the watch starts: which resource claims each campaign must be known before any pass runs.
    seen = await seed_claims(memo.registry, kube, config)
    waves = await seed_waves(memo.waves, kube, config)
    logger.info("campaign claims seeded from %d CampaignMigration(s); %d MigrationWave(s) known", seen, waves)
    memo.services = Services(config, metrics)
    await memo.services.start(kube, memo.partners, inbox.deliver, gate)
    logger.info("tendlc started: infobip=%s tcr=%s dry_run=%s", config.infobip_base_url, config.tcr_base_url,
                config.dry_run)


def start_leader_election(
    config: Settings, kube: KubeApi, metrics: Metrics, logger: kopf.Logger
) -> tuple[LeaderElector | None, asyncio.Task[None] | None, Gate]:
    """With leader election on, campaign for the Lease in the background; the gate follows it."""
    if not config.elects_leader:
        return None, None, Gate()
    if config.peering_name is not None:
        logger.warning("TENDLC_PEERING_NAME is deprecated: leader election by a Lease is on (TENDLC_LEADER_ELECTION)")
    elector = LeaderElector(
        kube, config.operator_namespace, config.peering_name or config.leader_election_lease_name,
        config.leader_election_identity or process_identity(), timings=config.lease_timings(),
        on_started_leading=lambda: metrics.set_leader(True), on_stopped_leading=lambda: metrics.set_leader(False),
    )
    metrics.set_leader(False)
    return elector, asyncio.create_task(elector.run(), name="leader election"), Gate(elector)


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    # In order (webhooks, loops, the Lease, queued Events, clients); a failing step must not skip the rest.
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(memo.kube.close)
        stack.push_async_callback(memo.partners.aclose)
        stack.push_async_callback(memo.cutover.close)
        stack.push_async_callback(memo.events.close, 5.0)
        if memo.elector is not None:
            stack.push_async_callback(memo.elector.release)  # the successor need not wait out the lease
        stack.push_async_callback(memo.registry.shutdown, 5.0)
        stack.push_async_callback(memo.waves.shutdown, 5.0)
        await memo.services.stop()


@kopf.on.event(*RESOURCE)
async def changed(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Every watch event: starts, wakes or stops the resource's reconcile loop (see the Registry)."""
    memo.registry.on_watch_event(type, body)


@kopf.on.event(*WAVE_RESOURCE)
async def wave_changed(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Every watch event of a MigrationWave: starts, wakes or stops its loop (see the WaveController)."""
    memo.waves.on_watch_event(type, body)
