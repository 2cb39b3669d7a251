"""The controller: runs the workflow's decisions against the cluster and the partners, one resource at a time.

Rooms, each with one job and imports that only point down this list:
- `resource` — the per-resource state every other room shares (no imports of the others);
- `facts` — gathers what a pass observes outside the status (Secrets, annotations, clients);
- `performer` — makes the partner call of one action and returns its outcome as a value;
- `store` — writes the status (merge patch, D18 throttle) and reports each accepted write;
- `inbox` — routes webhooks to resources and answers only once they are recorded;
- `reconcile` — one pass, observe → decide → act → record, against the ports above;
- `transitions` — duration metrics from what a write changed;
- `leadership` — whether this replica may act now (always alone; while it holds the Lease otherwise);
- `registry` — one task per resource, driven by the watch; uses the pass, the inbox and the store;
- `waves` — one task per MigrationWave: plans it, releases its members, tells them what it allows.

`build_controller` wires them for the operator; tests wire their own fakes into `Pass`.
No Kopf here: `tendlc.handlers` hands every watch event to `Registry.on_watch_event`.
"""

from __future__ import annotations

import logging
from typing import Any

from tendlc.api.constants import WAVE_PLURAL
from tendlc.api.status import MigrationStatus
from tendlc.config import Settings
from tendlc.controller.facts import FactGatherer
from tendlc.controller.inbox import WebhookInbox
from tendlc.controller.leadership import Gate
from tendlc.controller.performer import PartnerPerformer
from tendlc.controller.reconcile import EventSink, Pass, PassResult
from tendlc.controller.registry import Registry
from tendlc.controller.resource import Clock, Resource, utc_now
from tendlc.controller.store import StatusStore
from tendlc.controller.transitions import record_transition
from tendlc.controller.waves import WaveController, wave_sees_change
from tendlc.cutover import CutOverRunner
from tendlc.kube import KubeApi, KubeApiError
from tendlc.metrics import Metrics
from tendlc.partner_errors import PartnerUnavailable
from tendlc.partners import Partners
from tendlc.workflow.claims import CampaignClaims


async def seed_claims(registry: Registry, kube: KubeApi, settings: Settings) -> int:
    """Seeds the campaign claims from a listing of the watched namespaces; returns how many were seen."""
    items: list[dict[str, Any]] = []
    for namespace in _scopes(settings):
        items += await kube.list_campaign_migrations(namespace)
    registry.seed(items)
    return len(items)


async def seed_waves(waves: WaveController, kube: KubeApi, settings: Settings) -> int:
    """Hands every MigrationWave of the watched namespaces to the wave controller before the watches start.

    Kopf's two watches deliver in no set order: without this, a member whose first event came before
    its wave's would pass ungoverned (submitting ahead of its canary, outside the wave's windows).
    Returns how many waves were seen.
    """
    items: list[dict[str, Any]] = []
    for namespace in _scopes(settings):
        try:
            items += await kube.list_objects(WAVE_PLURAL, namespace)
        except KubeApiError as error:
            if error.status != 404:
                raise
            return 0  # the MigrationWave CRD is not installed: there is nothing to govern members
    for item in items:
        waves.on_watch_event(None, item)
    return len(items)


def _scopes(settings: Settings) -> list[str | None]:
    return list(settings.watch_namespaces) or [None]  # None: every namespace


def cutover_runner(settings: Settings, kube: KubeApi) -> CutOverRunner:
    """The cut-over runner of the operator's settings (its allow-list, timeout and CA bundle); close it at exit."""
    return CutOverRunner(kube, settings.cutover_allow_list, timeout=settings.request_timeout_seconds,
                         ca_file=settings.cutover_ca_file)


def build_controller(
    settings: Settings,
    kube: KubeApi,
    partners: Partners,
    *,
    post_event: EventSink,
    metrics: Metrics | None = None,
    clock: Clock = utc_now,
    logger: logging.Logger | None = None,
    gate: Gate | None = None,
    cutover: CutOverRunner | None = None,
) -> tuple[Registry, WebhookInbox, WaveController]:
    """The operator's registry, webhook inbox and wave controller, wired to the API server and the partners."""
    claims = CampaignClaims()
    inbox = WebhookInbox(clock=clock, logger=logger, claims=claims)
    registry: Registry | None = None

    def members(namespace: str) -> list[Resource]:
        return registry.in_namespace(namespace) if registry is not None else []

    def members_pending(namespace: str) -> bool:
        return registry.listing_pending(namespace) if registry is not None else True

    waves = WaveController(kube, members, lambda resource: resource.wake.set(), post_event, clock=clock,
                           loa_max_age=settings.loa_max_age, gate=gate, members_pending=members_pending,
                           logger=logger)

    def written(resource: Resource, before: MigrationStatus) -> None:
        inbox.index(resource)
        if wave_sees_change(before, resource.status):
            waves.member_changed(resource)
        if metrics is not None:
            record_transition(metrics, before, resource.status)

    def retried(error: PartnerUnavailable) -> None:
        if metrics is not None:
            reason = "rate_limited" if error.rate_limited else "unavailable"
            metrics.retry_scheduled(error.partner, error.endpoint, reason)

    store = StatusStore(kube, refresh_seconds=settings.status_refresh_seconds, on_written=written)
    reconcile = Pass(
        facts=FactGatherer(kube, partners, dry_run=settings.dry_run, clock=clock, claims=claims,
                           namespace_policy=settings.campaign_policy == "namespace-annotation", cutover=cutover),
        performer=PartnerPerformer(cutover),
        store=store,
        events=post_event,
        clock=clock,
        policy=settings.policy(),
        default_upstream_cnp_id=settings.upstream_cnp_id,
        on_retry=retried,
        gate=gate,
        waves=waves,
    )
    registry = Registry(reconcile, store, inbox, post_event, metrics=metrics, logger=logger, gate=gate,
                        claims=claims, on_change=waves.member_changed)
    if metrics is not None:
        metrics.set_phase_source(registry.phase_counts)
        metrics.set_status_source(lambda: [resource.status for resource in registry.resources.values()])
    return registry, inbox, waves


__all__ = [
    "Pass", "PassResult", "Registry", "Resource", "StatusStore", "WebhookInbox", "build_controller", "cutover_runner",
    "seed_claims", "seed_waves",
    "utc_now",
]
