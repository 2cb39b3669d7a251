"""Prometheus metrics of the operator, in a registry of their own, and the `/metrics` endpoint.

`Metrics` owns a private `CollectorRegistry` (never the process-global one, so several operators
or tests in one process do not collide) and offers one method per thing worth counting. Its
methods are the observers the other rooms already call: `on_call` matches the partner clients'
`OnCall` hook, `webhook_delivery`/`webhook_event` match the webhook receiver's `WebhookObserver`.
Resources by phase are read at scrape time from a callback (`phase_source`), and so is the fleet
summary the alerts need (stalled, problems by reason, downtime in progress: `status_source`), so
those gauges are never stale. Label values come from small fixed sets (phases, steps, endpoint
names, outcomes, condition reasons); callers must not pass resource names or ids as labels.
`Metrics.for_settings` adds what only the configuration knows (the client-side rate-limit ceilings,
whether this process is the only worker). `MetricsServer`/`add_metrics_route` expose the text format
over aiohttp. This room decides nothing and imports no Kopf.

Metric names (all prefixed `tendlc_`; the registry also carries prometheus_client's `process_*` and
`python_info`) are listed in `METRIC_NAMES` and documented in docs/operations.md; the chart's alerts
and dashboard use only names from that list (tests/unit/test_observability.py checks).
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from tendlc import __version__
from tendlc.api.constants import ConditionType, Reason
from tendlc.api.status import MigrationStatus, Phase
from tendlc.clients import infobip as infobip_client
from tendlc.clients import tcr as tcr_client
from tendlc.clients.http import Endpoint
from tendlc.clients.ratelimit import DEFAULT_LIMITS, INFOBIP, TCR, RateLimit, RateLimiterRegistry
from tendlc.serving import AppServer

if TYPE_CHECKING:
    from tendlc.config import Settings

logger = logging.getLogger(__name__)

PhaseSource = Callable[[], Mapping[str, int]]
"""Returns how many CampaignMigrations are in each phase right now (missing phases count 0)."""
StatusSource = Callable[[], Iterable[MigrationStatus]]
"""Returns the current status of every watched CampaignMigration (read once per scrape)."""
WallClock = Callable[[], datetime]

#: Problem reasons always reported (0 included), so an alert on them has a series to evaluate.
ALWAYS_REPORTED_PROBLEMS: Final = (Reason.OUTCOME_UNKNOWN,)
PARTNERS: Final = (INFOBIP, TCR)

METRICS_PATH: Final = "/metrics"

#: Partner HTTP latency: from a few milliseconds to the 30 s client timeout.
CALL_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Workflow steps: sub-second (the cut-over) to days (waiting on a partner).
STEP_BUCKETS: Final = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0, 3 * 86400.0,
                       7 * 86400.0)
#: Time in IN_MIGRATION and downtime: minutes to weeks.
LONG_BUCKETS: Final = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 2 * 86400.0,
                       3 * 86400.0, 7 * 86400.0, 14 * 86400.0)
#: Webhook handling and reconcile passes: sub-second targets.
FAST_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

METRIC_NAMES: Final = (
    # fleet (read at scrape time)
    "tendlc_campaign_migrations", "tendlc_campaign_migrations_stalled", "tendlc_campaign_migrations_with_problem",
    "tendlc_downtime_in_progress", "tendlc_downtime_in_progress_longest_seconds",
    "tendlc_cutover_pending", "tendlc_cutover_pending_longest_seconds",
    # workflow
    "tendlc_step_duration_seconds", "tendlc_in_migration_duration_seconds", "tendlc_downtime_duration_seconds",
    "tendlc_reconcile_passes_total", "tendlc_reconcile_errors_total", "tendlc_reconcile_duration_seconds",
    # partners
    "tendlc_partner_calls_total", "tendlc_partner_call_duration_seconds", "tendlc_partner_rate_limited_total",
    "tendlc_partner_retries_total", "tendlc_partner_last_success_timestamp_seconds",
    "tendlc_partner_rate_limit_requests_per_second", "tendlc_partner_endpoint_info",
    # webhooks
    "tendlc_webhook_deliveries_total", "tendlc_webhook_delivery_duration_seconds", "tendlc_webhook_events_total",
    # the process
    "tendlc_build_info", "tendlc_leader",
)


def partner_endpoints() -> list[tuple[str, Endpoint]]:
    """Every endpoint the partner clients define, as (partner, endpoint): read from the client modules."""

    def defined(module: ModuleType) -> list[Endpoint]:
        return sorted((value for value in vars(module).values() if isinstance(value, Endpoint)), key=lambda e: e.name)

    return [(INFOBIP, e) for e in defined(infobip_client)] + [(TCR, e) for e in defined(tcr_client)]


class _PhaseCollector(Collector):
    """`tendlc_campaign_migrations{phase}`, read from the phase source at every scrape."""

    def __init__(self) -> None:
        self.source: PhaseSource | None = None

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "tendlc_campaign_migrations", "CampaignMigration resources by status.phase.", labels=["phase"]
        )
        counts: Mapping[str, int] = {}
        if self.source is not None:
            try:
                counts = self.source()
            except Exception:
                logger.warning("the phase source failed; tendlc_campaign_migrations not reported", exc_info=True)
                return
        known = [phase.value for phase in Phase]
        for phase in known:
            family.add_metric([phase], float(counts.get(phase, 0)))
        for phase, count in sorted(counts.items()):
            if phase not in known:
                family.add_metric([phase], float(count))
        yield family


class _FleetCollector(Collector):
    """The alerting summary of every status, computed at each scrape from the status source.

    `tendlc_campaign_migrations_stalled` (Stalled=True), `..._with_problem{reason}` (status.problem,
    the condition reason a human must act on), `tendlc_downtime_in_progress` and its longest age in
    seconds (downtime started, not ended), `tendlc_cutover_pending` and its longest age (registered,
    the configured cut-over not yet succeeded: the old path is down, the new one not switched on).
    Without a source nothing is reported.
    """

    def __init__(self, clock: WallClock) -> None:
        self.source: StatusSource | None = None
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        if self.source is None:
            return
        try:
            statuses = list(self.source())
        except Exception:
            logger.warning("the status source failed; the fleet gauges are not reported", exc_info=True)
            return
        now = self.clock()
        stalled = 0
        problems: dict[str, int] = dict.fromkeys(ALWAYS_REPORTED_PROBLEMS, 0)
        downtime_starts: list[datetime] = []
        cutover_waits: list[datetime] = []
        for status in statuses:
            condition = status.condition(ConditionType.STALLED)
            stalled += condition is not None and condition.status == "True"
            if status.problem is not None:
                problems[status.problem.reason] = problems.get(status.problem.reason, 0) + 1
            if status.downtime_started_at is not None and status.downtime_ended_at is None:
                downtime_starts.append(status.downtime_started_at)
            switched = status.condition(ConditionType.TRAFFIC_SWITCHED)
            if switched is not None and switched.status == "False" and status.registered_at is not None \
                    and status.traffic_switched_at is None:
                # More than 200 numbers: the cut-over could start only once every number was added (D60).
                added = status.numbers.completed_at if status.numbers is not None else None
                cutover_waits.append(max(status.registered_at, added) if added is not None else status.registered_at)
        yield GaugeMetricFamily("tendlc_campaign_migrations_stalled",
                                "CampaignMigrations whose Stalled condition is True.", value=stalled)
        family = GaugeMetricFamily(
            "tendlc_campaign_migrations_with_problem",
            "CampaignMigrations by status.problem reason (what stops them; e.g. OutcomeUnknown).", labels=["reason"],
        )
        for reason, count in sorted(problems.items()):
            family.add_metric([reason], float(count))
        yield family
        yield GaugeMetricFamily("tendlc_downtime_in_progress",
                                "CampaignMigrations whose downtime started and has not ended.",
                                value=len(downtime_starts))
        longest = max(((now - start).total_seconds() for start in downtime_starts), default=0.0)
        yield GaugeMetricFamily("tendlc_downtime_in_progress_longest_seconds",
                                "Age of the oldest downtime in progress (0 when none).", value=max(longest, 0.0))
        yield GaugeMetricFamily("tendlc_cutover_pending",
                                "Registered CampaignMigrations whose cut-over has not succeeded yet.",
                                value=len(cutover_waits))
        waiting = max(((now - start).total_seconds() for start in cutover_waits), default=0.0)
        yield GaugeMetricFamily("tendlc_cutover_pending_longest_seconds",
                                "Time since REGISTERED (more than 200 numbers: since all were added) of the oldest "
                                "cut-over not yet succeeded (0 when none).",
                                value=max(waiting, 0.0))


class _LeaderCollector(Collector):
    """`tendlc_leader`: 1 while this process handles resources, 0 on standby; absent while unknown."""

    def __init__(self) -> None:
        self.leader: bool | None = None

    def collect(self) -> Iterator[Metric]:
        if self.leader is not None:
            yield GaugeMetricFamily("tendlc_leader", "1 while this operator process handles resources, 0 on standby.",
                                    value=float(self.leader))


class Metrics:
    """The operator's metrics; one instance per operator, each with its own registry."""

    def __init__(
        self, *, phase_source: PhaseSource | None = None, clock: WallClock = lambda: datetime.now(UTC),
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._wall_time = wall_time
        self._phases = _PhaseCollector()
        self._phases.source = phase_source
        registry.register(self._phases)
        self._fleet = _FleetCollector(clock)
        registry.register(self._fleet)
        self._leader = _LeaderCollector()
        registry.register(self._leader)
        # CPU, memory, file descriptors and start time of this process, on this registry only.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        Gauge("tendlc_build_info", "The running tendlc version (always 1).", ["version", "python_version"],
              registry=registry).labels(version=__version__, python_version=platform.python_version()).set(1)
        self.partner_last_success = Gauge(
            "tendlc_partner_last_success_timestamp_seconds",
            "Unix time of the last 2xx answer from each partner (0: none since the operator started).",
            ["partner"], registry=registry)
        for partner in PARTNERS:
            self.partner_last_success.labels(partner=partner).set(0)
        self.partner_rate_limit = Gauge(
            "tendlc_partner_rate_limit_requests_per_second",
            "The client-side ceiling per partner account and endpoint class (documented limit x scale).",
            ["partner", "endpoint_class"], registry=registry)
        endpoint_info = Gauge(
            "tendlc_partner_endpoint_info",
            "Which endpoint class (and so which ceiling) each partner endpoint counts against (always 1).",
            ["partner", "endpoint", "endpoint_class"], registry=registry)
        for partner, endpoint in partner_endpoints():
            endpoint_info.labels(partner=partner, endpoint=endpoint.name, endpoint_class=endpoint.limit_class).set(1)
        self.step_duration = Histogram(
            "tendlc_step_duration_seconds",
            "Time a workflow step took, from its start to its completion (step: import_numbers, elect_cnp, "
            "submit_migration, switch_traffic: REGISTERED to the cut-over's success).", ["step"],
            buckets=STEP_BUCKETS, registry=registry)
        self.in_migration_duration = Histogram(
            "tendlc_in_migration_duration_seconds",
            "Time from the Infobip migration submission to a final stage (REGISTERED or a failure).",
            ["outcome"], buckets=LONG_BUCKETS, registry=registry)
        self.downtime_duration = Histogram(
            "tendlc_downtime_duration_seconds",
            "Downtime window where known: OSR update (numbers stop working) to the traffic switched by the "
            "cut-over (to REGISTERED when none is configured).",
            buckets=LONG_BUCKETS, registry=registry)
        self.partner_calls = Counter(
            "tendlc_partner_calls",
            "HTTP calls to partners by partner, endpoint and status class "
            "(2xx, 3xx, 4xx, 429, 5xx, timeout, connection_error, other).",
            ["partner", "endpoint", "status_class"], registry=registry)
        self.partner_call_duration = Histogram(
            "tendlc_partner_call_duration_seconds",
            "Latency of partner HTTP calls (time on the wire, rate-limiter wait excluded).",
            ["partner", "endpoint"], buckets=CALL_BUCKETS, registry=registry)
        self.partner_rate_limited = Counter(
            "tendlc_partner_rate_limited", "HTTP 429 answers received from partners.",
            ["partner", "endpoint"], registry=registry)
        self.partner_retries = Counter(
            "tendlc_partner_retries",
            "Partner calls scheduled to be retried after a temporary failure (reason: rate_limited, "
            "unavailable, timeout, temporary_code).", ["partner", "endpoint", "reason"], registry=registry)
        self.webhook_deliveries = Counter(
            "tendlc_webhook_deliveries",
            "Webhook HTTP deliveries by outcome (accepted, unauthorized, malformed, too_large, timeout, "
            "dispatch_failed).", ["outcome"], registry=registry)
        self.webhook_delivery_duration = Histogram(
            "tendlc_webhook_delivery_duration_seconds", "Time to handle one webhook delivery, from request to answer.",
            buckets=FAST_BUCKETS, registry=registry)
        self.webhook_events = Counter(
            "tendlc_webhook_events",
            "Campaign events in accepted deliveries by kind and result (applied, duplicate, stale, "
            "unknown_campaign, error).", ["kind", "result"], registry=registry)
        self.reconcile_passes = Counter(
            "tendlc_reconcile_passes", "Reconcile passes run (each observe → decide → act → record round).",
            registry=registry)
        self.reconcile_errors = Counter(
            "tendlc_reconcile_errors",
            "Reconcile passes that ended in an unexpected error, by error kind (exception class name).",
            ["kind"], registry=registry)
        self.reconcile_duration = Histogram(
            "tendlc_reconcile_duration_seconds", "Duration of one reconcile pass.", buckets=FAST_BUCKETS,
            registry=registry)

    @classmethod
    def for_settings(cls, settings: Settings) -> Metrics:
        """The operator's metrics: the partners' ceilings its rate limiters pace under, and its role.

        Running alone (no leader election), this process is the only worker: `tendlc_leader` is 1.
        With leader election the role follows the Lease (`set_leader`, from the elector).
        """
        metrics = cls()
        limiters = RateLimiterRegistry(settings.limiter_overrides(), scale=settings.rate_limit_scale)
        metrics.set_rate_limits({key: limiters.partner_limit(*key) for key in DEFAULT_LIMITS})
        if not settings.elects_leader:
            metrics.set_leader(True)
        return metrics

    # ------------------------------------------------------------------ scrape-time sources

    def set_phase_source(self, source: PhaseSource | None) -> None:
        """Where `tendlc_campaign_migrations` reads its counts at scrape time."""
        self._phases.source = source

    def set_status_source(self, source: StatusSource | None) -> None:
        """Where the fleet gauges (stalled, problems, downtime in progress) read the statuses."""
        self._fleet.source = source

    # ------------------------------------------------------------------ configuration and role

    def set_leader(self, leader: bool | None) -> None:
        """`tendlc_leader`: True while handling resources, False on standby, None to withdraw it."""
        self._leader.leader = leader

    def set_rate_limits(self, limits: Mapping[tuple[str, str], RateLimit]) -> None:
        """`tendlc_partner_rate_limit_requests_per_second` for each (partner, endpoint class)."""
        for (partner, endpoint_class), limit in limits.items():
            self.partner_rate_limit.labels(partner=partner, endpoint_class=endpoint_class).set(limit.rate)

    # ------------------------------------------------------------------- workflow

    def step_finished(self, step: str, seconds: float) -> None:
        self.step_duration.labels(step=step).observe(max(seconds, 0.0))

    def in_migration_finished(self, outcome: str, seconds: float) -> None:
        """`outcome`: "registered" or "failed"."""
        self.in_migration_duration.labels(outcome=outcome).observe(max(seconds, 0.0))

    def downtime_observed(self, seconds: float) -> None:
        self.downtime_duration.observe(max(seconds, 0.0))

    def reconcile_pass(self, seconds: float, error: BaseException | str | None = None) -> None:
        """Count one pass; `error` (an exception or its kind) also counts it as an error."""
        self.reconcile_passes.inc()
        self.reconcile_duration.observe(max(seconds, 0.0))
        if error is not None:
            kind = error if isinstance(error, str) else type(error).__name__
            self.reconcile_errors.labels(kind=kind).inc()

    # ------------------------------------------------------------------- partners

    def on_call(self, partner: str, endpoint: str, status_class: str, seconds: float) -> None:
        """The partner clients' `on_call` observer (`tendlc.clients.http.OnCall`)."""
        self.partner_calls.labels(partner=partner, endpoint=endpoint, status_class=status_class).inc()
        self.partner_call_duration.labels(partner=partner, endpoint=endpoint).observe(max(seconds, 0.0))
        if status_class == "429":
            self.partner_rate_limited.labels(partner=partner, endpoint=endpoint).inc()
        elif status_class == "2xx":
            self.partner_last_success.labels(partner=partner).set(self._wall_time())

    def retry_scheduled(self, partner: str, endpoint: str, reason: str) -> None:
        self.partner_retries.labels(partner=partner, endpoint=endpoint, reason=reason).inc()

    # ------------------------------------------------------------------- webhooks

    def webhook_delivery(self, outcome: str, seconds: float) -> None:
        """The webhook receiver's `WebhookObserver.webhook_delivery`."""
        self.webhook_deliveries.labels(outcome=outcome).inc()
        self.webhook_delivery_duration.observe(max(seconds, 0.0))

    def webhook_event(self, kind: str, result: str) -> None:
        """The webhook receiver's `WebhookObserver.webhook_event`."""
        self.webhook_events.labels(kind=kind, result=result).inc()

    # ------------------------------------------------------------------- exposition

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


def add_metrics_route(app: web.Application, metrics: Metrics, path: str = METRICS_PATH) -> None:
    """Serve `GET {path}` on an existing aiohttp application (before it starts)."""

    async def scrape(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get(path, scrape)


class MetricsServer(AppServer):
    """`GET /metrics` on a port of its own: `start(host, port)` returns the base URL; `stop()`."""

    def __init__(self, metrics: Metrics, *, keepalive_timeout: float = 15.0, shutdown_timeout: float = 5.0) -> None:
        app = web.Application()
        add_metrics_route(app, metrics)
        super().__init__(app, keepalive_timeout=keepalive_timeout, shutdown_timeout=shutdown_timeout,
                         name="metrics server")
