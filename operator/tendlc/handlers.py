"""Kopf glue: start-up wiring, and one daemon per CampaignMigration that runs the reconciler.

Handlers stay a few lines: the logic lives in `tendlc.workflow` (decisions) and
`tendlc.reconciler` (the executor). Kopf's own persistence (finalizer, progress) lives under the
`tendlc.io` prefix, and Kopf's habit of posting every log line as an Event is off: the operator
posts only meaningful Events with stable reasons.
"""

from __future__ import annotations

from typing import Any

import kopf

from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.config import Settings
from tendlc.kube import GROUP, VERSION, KubeApi
from tendlc.partners import Partners
from tendlc.reconciler import Reconciler
from tendlc.workflow import Event

RESOURCE = (GROUP, VERSION, "campaignmigrations")
POSTING_OFF = 1000  # above every logging level: no log line becomes an Event; kopf.event() still posts


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """$KUBECONFIG when set (read now, not at import), else the Pod's service account."""
    info: kopf.ConnectionInfo | None = kopf.login_with_kubeconfig(**kwargs) or kopf.login_with_service_account(
        **kwargs
    )
    return info


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    config: Settings = memo.get("config") or Settings()
    settings.posting.level = POSTING_OFF
    settings.persistence.finalizer = "tendlc.io/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="tendlc.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="tendlc.io", key="last-handled-configuration"
    )
    settings.watching.server_timeout = 300
    kube = KubeApi()
    limiters = RateLimiterRegistry(config.limiter_overrides(), scale=config.rate_limit_scale)
    memo.config = config
    memo.kube = kube
    memo.partners = Partners(config, kube, limiters)
    memo.reconciler = Reconciler(config, kube, memo.partners)
    logger.info("tendlc started: infobip=%s tcr=%s dry_run=%s", config.infobip_base_url, config.tcr_base_url,
                config.dry_run)


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    await memo.partners.aclose()
    await memo.kube.close()


@kopf.daemon(*RESOURCE, cancellation_backoff=5.0, cancellation_timeout=10.0)
async def migrate(body: kopf.Body, stopped: kopf.DaemonStopped, memo: kopf.Memo, **_: Any) -> None:
    def emit(event: Event) -> None:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)

    await memo.reconciler.run(body, stopped, emit)


@kopf.on.event(*RESOURCE)
def changed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    reconciler: Reconciler | None = memo.get("reconciler")
    if reconciler is not None:
        reconciler.notify_changed(body)
