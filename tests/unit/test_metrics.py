"""Operator metrics: a private registry per instance, the partner and webhook hooks, scraped over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tendlc.api.status import MigrationStatus, Phase
from tendlc.clients.credentials import InfobipCredentials
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.ratelimit import DEFAULT_LIMITS, RateLimiterRegistry
from tendlc.config import Settings
from tendlc.metrics import METRIC_NAMES, Metrics, MetricsServer, add_metrics_route, partner_endpoints
from tendlc.partner_errors import PartnerUnavailable
from tendlc.webhooks.auth import WebhookAuth
from tendlc.webhooks.payload import WebhookEvent
from tendlc.webhooks.receiver import WEBHOOK_PATH, DispatchResult, WebhookServer, create_webhook_app

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[set[str], Samples]:
    families = list(text_string_to_metric_families(text))
    samples: Samples = {}
    for family in families:
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return {family.name for family in families}, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Metrics, str, httpx.AsyncClient]]:
    metrics = Metrics()
    server = MetricsServer(metrics)
    url = await server.start("127.0.0.1", 0)
    client = httpx.AsyncClient(timeout=5.0)
    try:
        yield metrics, url, client
    finally:
        await client.aclose()
        await server.stop()


async def scrape(url: str, client: httpx.AsyncClient) -> tuple[set[str], Samples]:
    answer = await client.get(url + "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)


async def test_every_documented_metric_is_exposed(served: tuple[Metrics, str, httpx.AsyncClient]) -> None:
    metrics, url, client = served
    metrics.on_call("infobip", "campaigns.get", "2xx", 0.01)
    metrics.retry_scheduled("infobip", "campaigns.get", "rate_limited")
    metrics.webhook_delivery("accepted", 0.002)
    metrics.webhook_event("CAMPAIGN_STATUS_UPDATE", "applied")
    metrics.step_finished("import_numbers", 1.5)
    metrics.in_migration_finished("registered", 7200)
    metrics.downtime_observed(600)
    metrics.reconcile_pass(0.01, RuntimeError("boom"))
    metrics.set_status_source(list)
    metrics.set_leader(True)
    names, _ = await scrape(url, client)
    # The parser names counter families without their `_total` suffix.
    assert {name.removesuffix("_total") for name in METRIC_NAMES} <= names


async def test_resources_by_phase_are_read_from_the_source_at_scrape_time(
    served: tuple[Metrics, str, httpx.AsyncClient],
) -> None:
    metrics, url, client = served
    counts = {"InMigration": 3, "Registered": 1}
    metrics.set_phase_source(lambda: counts)
    _, samples = await scrape(url, client)
    assert value(samples, "tendlc_campaign_migrations", phase="InMigration") == 3
    assert value(samples, "tendlc_campaign_migrations", phase="Registered") == 1
    assert ("tendlc_campaign_migrations", frozenset({("phase", Phase.FAILED.value)})) in samples  # zero, present
    counts["InMigration"] = 1
    _, samples = await scrape(url, client)
    assert value(samples, "tendlc_campaign_migrations", phase="InMigration") == 1


async def test_a_failing_phase_source_does_not_break_the_scrape(
    served: tuple[Metrics, str, httpx.AsyncClient],
) -> None:
    metrics, url, client = served

    def broken() -> dict[str, int]:
        raise RuntimeError("index not ready")

    metrics.set_phase_source(broken)
    metrics.reconcile_pass(0.1)
    _, samples = await scrape(url, client)
    assert value(samples, "tendlc_reconcile_passes_total") == 1


async def test_partner_calls_are_counted_through_the_clients_on_call_hook(
    served: tuple[Metrics, str, httpx.AsyncClient],
) -> None:
    metrics, url, client = served
    answers = iter([httpx.Response(200, json={"id": "44e8c5fc", "stage": "IN_MIGRATION"}), httpx.Response(429)])

    async def no_wait(seconds: float) -> None:
        return None

    infobip = InfobipClient(
        "https://acme.api.infobip.test",
        InfobipCredentials.from_api_key("canary-metrics-key-1234"),
        limiter_registry=RateLimiterRegistry(sleep=no_wait),
        on_call=metrics.on_call,
        transport=httpx.MockTransport(lambda request: next(answers)),
    )
    async with infobip:
        await infobip.get_campaign("44e8c5fc")
        with pytest.raises(PartnerUnavailable):
            await infobip.get_campaign("44e8c5fc")
    _, samples = await scrape(url, client)
    labels = {"partner": "infobip", "endpoint": "campaigns.get"}
    assert value(samples, "tendlc_partner_calls_total", **labels, status_class="2xx") == 1
    assert value(samples, "tendlc_partner_calls_total", **labels, status_class="429") == 1
    assert value(samples, "tendlc_partner_rate_limited_total", **labels) == 1
    assert value(samples, "tendlc_partner_call_duration_seconds_count", **labels) == 2


async def test_webhook_deliveries_are_counted_by_outcome_through_the_receiver() -> None:
    metrics = Metrics()
    auth = WebhookAuth.basic("hooks", "canary-webhook-pass")

    async def dispatch(event: WebhookEvent) -> DispatchResult:
        return "duplicate"

    app = create_webhook_app(auth, dispatch, observer=metrics)
    add_metrics_route(app, metrics)  # metrics on the webhook port, the other way to serve them
    server = WebhookServer(app)
    url = await server.start()
    raw = (b'{"results":[{"event":"CAMPAIGN_STATUS_UPDATE","receivedAt":"2026-11-26T10:00:00Z",'
           b'"content":{"campaignId":"44e8c5fc","campaignStatus":"REGISTERED"}}]}')
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            assert (await client.post(url + WEBHOOK_PATH, content=raw, headers=auth.sign(raw))).status_code == 200
            assert (await client.post(url + WEBHOOK_PATH, content=raw)).status_code == 401
            assert (await client.post(url + WEBHOOK_PATH, content=b"{", headers=auth.sign(b""))).status_code == 400
            _, samples = await scrape(url, client)
    finally:
        await server.stop()
    for outcome in ("accepted", "unauthorized", "malformed"):
        assert value(samples, "tendlc_webhook_deliveries_total", outcome=outcome) == 1
    assert value(samples, "tendlc_webhook_events_total", kind="CAMPAIGN_STATUS_UPDATE", result="duplicate") == 1
    assert value(samples, "tendlc_webhook_delivery_duration_seconds_count") == 3


async def test_workflow_durations_and_reconcile_errors_are_recorded(
    served: tuple[Metrics, str, httpx.AsyncClient],
) -> None:
    metrics, url, client = served
    metrics.step_finished("elect_cnp", 12.0)
    metrics.in_migration_finished("registered", 3 * 3600)
    metrics.downtime_observed(900)
    metrics.reconcile_pass(0.02)
    metrics.reconcile_pass(0.03, "PartnerResponseInvalid")
    _, samples = await scrape(url, client)
    assert value(samples, "tendlc_step_duration_seconds_count", step="elect_cnp") == 1
    assert value(samples, "tendlc_step_duration_seconds_sum", step="elect_cnp") == 12.0
    assert value(samples, "tendlc_in_migration_duration_seconds_count", outcome="registered") == 1
    assert value(samples, "tendlc_downtime_duration_seconds_bucket", le="900.0") == 1
    assert value(samples, "tendlc_reconcile_passes_total") == 2
    assert value(samples, "tendlc_reconcile_errors_total", kind="PartnerResponseInvalid") == 1


async def test_two_instances_do_not_share_or_touch_the_global_registry() -> None:
    first, second = Metrics(), Metrics()
    first.on_call("tcr", "campaign.get", "5xx", 0.2)
    _, first_samples = parse(first.render().decode())
    _, second_samples = parse(second.render().decode())
    labels = {"partner": "tcr", "endpoint": "campaign.get", "status_class": "5xx"}
    assert value(first_samples, "tendlc_partner_calls_total", **labels) == 1
    assert value(second_samples, "tendlc_partner_calls_total", **labels) == 0
    assert not any(name.startswith("tendlc_") for name in REGISTRY._names_to_collectors)


async def test_metrics_server_stops_cleanly_and_frees_its_port() -> None:
    server = MetricsServer(Metrics())
    url = await server.start()
    await server.stop()
    await server.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(timeout=2.0) as client:
            await client.get(url + "/metrics")


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _status(**fields: object) -> MigrationStatus:
    return MigrationStatus.from_dict(fields)


def test_fleet_gauges_count_stalled_problems_and_downtime_in_progress_at_scrape_time() -> None:
    metrics = Metrics(clock=lambda: NOW)
    stalled = {"type": "Stalled", "status": "True", "reason": "Stalled", "lastTransitionTime": "2026-11-20T00:00:00Z"}
    not_stalled = {**stalled, "status": "False", "reason": "NotStalled"}
    problem = {"reason": "OutcomeUnknown", "message": "check the portal", "since": "2026-11-26T10:00:00Z"}
    statuses = [
        _status(conditions=[stalled], downtimeStartedAt=(NOW - timedelta(hours=2)).isoformat()),
        _status(conditions=[not_stalled], problem=problem),
        _status(problem={**problem, "reason": "CredentialsRejected"},
                downtimeStartedAt=(NOW - timedelta(minutes=5)).isoformat()),
        _status(downtimeStartedAt="2026-11-01T00:00:00Z", downtimeEndedAt="2026-11-01T01:00:00Z"),
        # Registered, cut-over failing for 10 minutes; and one whose cut-over succeeded.
        _status(registeredAt=(NOW - timedelta(minutes=10)).isoformat(), conditions=[
            {"type": "TrafficSwitched", "status": "False", "reason": "CutOverFailing",
             "lastTransitionTime": NOW.isoformat()}]),
        _status(registeredAt=(NOW - timedelta(hours=1)).isoformat(), trafficSwitchedAt=NOW.isoformat(), conditions=[
            {"type": "TrafficSwitched", "status": "True", "reason": "TrafficSwitched",
             "lastTransitionTime": NOW.isoformat()}]),
        # More than 200 numbers: registered 2 hours ago, every number added 5 minutes ago, switching since.
        _status(registeredAt=(NOW - timedelta(hours=2)).isoformat(),
                numbers={"total": 1200, "migrated": 200, "added": 1000,
                         "completedAt": (NOW - timedelta(minutes=5)).isoformat()},
                conditions=[{"type": "TrafficSwitched", "status": "False", "reason": "SwitchingTraffic",
                             "lastTransitionTime": NOW.isoformat()}]),
    ]
    metrics.set_status_source(lambda: statuses)
    _, samples = parse(metrics.render().decode())
    assert value(samples, "tendlc_campaign_migrations_stalled") == 1
    assert value(samples, "tendlc_campaign_migrations_with_problem", reason="OutcomeUnknown") == 1
    assert value(samples, "tendlc_campaign_migrations_with_problem", reason="CredentialsRejected") == 1
    assert value(samples, "tendlc_downtime_in_progress") == 2
    assert value(samples, "tendlc_downtime_in_progress_longest_seconds") == 7200
    assert value(samples, "tendlc_cutover_pending") == 2
    assert value(samples, "tendlc_cutover_pending_longest_seconds") == 600  # not the 2 h spent adding numbers
    statuses.clear()  # read again at the next scrape; OutcomeUnknown stays listed at 0 for its alert
    _, samples = parse(metrics.render().decode())
    assert ("tendlc_campaign_migrations_with_problem", frozenset({("reason", "OutcomeUnknown")})) in samples
    assert value(samples, "tendlc_downtime_in_progress") == 0
    assert value(samples, "tendlc_downtime_in_progress_longest_seconds") == 0
    assert value(samples, "tendlc_cutover_pending_longest_seconds") == 0


def test_a_failing_status_source_drops_only_the_fleet_gauges() -> None:
    metrics = Metrics()

    def broken() -> list[MigrationStatus]:
        raise RuntimeError("index not ready")

    metrics.set_status_source(broken)
    names, _ = parse(metrics.render().decode())
    assert "tendlc_campaign_migrations_stalled" not in names
    assert "tendlc_build_info" in names


def test_leader_gauge_is_absent_until_the_role_is_known() -> None:
    metrics = Metrics()
    assert "tendlc_leader" not in parse(metrics.render().decode())[0]
    metrics.set_leader(False)
    assert value(parse(metrics.render().decode())[1], "tendlc_leader") == 0
    metrics.set_leader(True)
    assert value(parse(metrics.render().decode())[1], "tendlc_leader") == 1


def test_for_settings_reports_the_ceilings_and_leadership_of_a_standalone_operator() -> None:
    settings = Settings(rate_limit_scale=2, rate_limits={"tcr.write": {"rate": 0.5, "burst": 1}})
    _, samples = parse(Metrics.for_settings(settings).render().decode())
    assert value(samples, "tendlc_leader") == 1
    ceiling = "tendlc_partner_rate_limit_requests_per_second"
    ceilings = {(dict(labels)["partner"], dict(labels)["endpoint_class"]): sample
                for (name, labels), sample in samples.items() if name == ceiling}
    assert set(ceilings) == set(DEFAULT_LIMITS)
    assert ceilings[("tcr", "write")] == 1.0  # the override, scaled
    assert ceilings[("infobip", "registration.read")] == 20.0  # 10/s documented, scaled
    peered = Settings(peering_name="tendlc")
    assert "tendlc_leader" not in parse(Metrics.for_settings(peered).render().decode())[0]


def test_every_client_endpoint_is_mapped_to_its_rate_limit_class() -> None:
    _, samples = parse(Metrics().render().decode())
    info = {(dict(labels)["partner"], dict(labels)["endpoint"]): dict(labels)["endpoint_class"]
            for (name, labels), _ in samples.items() if name == "tendlc_partner_endpoint_info"}
    assert info[("infobip", "campaigns.migrate")] == "registration.write"
    assert info[("tcr", "campaign.migrate_cnp")] == "write"
    assert len(info) == len(partner_endpoints())
    assert set(info.values()) <= {endpoint_class for _, endpoint_class in DEFAULT_LIMITS}


def test_last_success_moves_only_on_a_2xx_answer() -> None:
    clock = iter([1000.0, 2000.0])
    metrics = Metrics(wall_time=lambda: next(clock))
    _, samples = parse(metrics.render().decode())
    assert value(samples, "tendlc_partner_last_success_timestamp_seconds", partner="tcr") == 0
    metrics.on_call("infobip", "campaigns.get", "2xx", 0.01)
    metrics.on_call("infobip", "campaigns.get", "5xx", 0.01)
    metrics.on_call("infobip", "campaigns.get", "2xx", 0.01)
    _, samples = parse(metrics.render().decode())
    assert value(samples, "tendlc_partner_last_success_timestamp_seconds", partner="infobip") == 2000.0
    assert value(samples, "tendlc_partner_last_success_timestamp_seconds", partner="tcr") == 0


def test_build_info_and_process_metrics_are_on_the_private_registry() -> None:
    from tendlc import __version__

    names, samples = parse(Metrics().render().decode())
    build = [labels for (name, labels) in samples if name == "tendlc_build_info"]
    assert len(build) == 1
    assert dict(build[0])["version"] == __version__
    assert {"process_resident_memory_bytes", "process_cpu_seconds", "process_start_time_seconds"} <= names
