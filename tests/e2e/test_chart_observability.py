"""The chart's alerts and dashboard: valid, firing when they should, and about series that exist.

The PrometheusRule is rendered with `helm template` and handed to the real `promtool`: `check
rules` on the whole rule file (expressions and annotation templates), and `test rules` with
`tests/data/alerts/tendlc-alerts.test.yaml`, where every alert fires on synthetic series and stays
silent in the healthy case beside it. Every metric an alert or a panel names must be one the
operator's registry really exposes (read from a live `Metrics` render), and every alert must have
its runbook section in docs/operations.md. promtool comes from `make tools` (Debian's prometheus
package); without it the promtool tests skip and say how to get it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.helm import CHART_DIR, REPO_ROOT, Helm, helm_binary
from tendlc.config import Settings
from tendlc.metrics import Metrics
from tendlc_dev import devcluster

ALERT_TESTS = REPO_ROOT / "tests" / "data" / "alerts" / "tendlc-alerts.test.yaml"
DASHBOARD = CHART_DIR / "dashboards" / "tendlc.json"
OPERATIONS = REPO_ROOT / "docs" / "operations.md"
SERIES_NAME = re.compile(r"\b((?:tendlc|process|python)_[a-z_]+|up)\b(?!\s*\()")
# Words in PromQL expressions that look like series names but are not.
NOT_SERIES = {"up"}  # Prometheus' own scrape series, always present for a scraped target


def promtool() -> str | None:
    for candidate in (devcluster.bin_dir() / "promtool", REPO_ROOT / ".cache" / "bin" / "promtool"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("promtool")


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = helm_binary()
    if binary is None:
        pytest.skip("no helm binary: run `make controlplane`")
    return Helm(binary, tmp_path_factory.mktemp("helm"))


@pytest.fixture(scope="module")
def promtool_path() -> str:
    found = promtool()
    if found is None:
        pytest.skip("no promtool: `make tools` installs it (from Debian's prometheus package); "
                    "or put any promtool on PATH")
    return found


def _rule(helm: Helm, values: dict[str, Any] | None = None) -> dict[str, Any]:
    rendered = helm.render({"prometheusRule": {"enabled": True, **(values or {})}})
    [rule] = [obj for obj in rendered if obj["kind"] == "PrometheusRule"]
    return rule


def _rules(rule: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for group in rule["spec"]["groups"] for item in group["rules"]]


def _promtool(path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([path, *args], capture_output=True, text=True, timeout=120, check=False)


def _exposed_sample_names() -> set[str]:
    """Every sample name of a fully exercised operator registry (counters' _total, histograms' _bucket…)."""
    metrics = Metrics.for_settings(Settings())
    metrics.set_status_source(list)
    metrics.on_call("infobip", "campaigns.get", "2xx", 0.1)
    metrics.retry_scheduled("infobip", "campaigns.get", "unavailable")
    metrics.webhook_delivery("accepted", 0.01)
    metrics.webhook_event("CAMPAIGN_STATUS_UPDATE", "applied")
    metrics.step_finished("import_numbers", 1)
    metrics.in_migration_finished("registered", 60)
    metrics.downtime_observed(60)
    metrics.reconcile_pass(0.1, "Boom")
    return {line.split("{")[0].split(" ")[0] for line in metrics.render().decode().splitlines()
            if line and not line.startswith("#")}


def _referenced_series(expression: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', expression)
    return {name for name in SERIES_NAME.findall(without_strings) if name not in NOT_SERIES}


# --- alerts -------------------------------------------------------------------------------------


def test_prometheus_rule_is_off_by_default_and_labelled_when_on(helm: Helm) -> None:
    assert not [obj for obj in helm.render() if obj["kind"] == "PrometheusRule"]
    rule = _rule(helm, {"labels": {"release": "prometheus"}, "alertLabels": {"team": "messaging"}})
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    assert all(item["labels"]["team"] == "messaging" for item in _rules(rule))
    assert {item["labels"]["severity"] for item in _rules(rule)} == {"critical", "warning"}


@pytest.mark.parametrize("values", [{}, {"seriesSelector": 'kubernetes_namespace="ops",app=~"tendlc.*"',
                                         "alertLabels": {"team": "messaging"}, "noPartnerSuccessMinutes": 120}],
                         ids=["default", "custom-selector"])
def test_rules_pass_promtool_check(helm: Helm, promtool_path: str, tmp_path: Path, values: dict[str, Any]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": _rule(helm, values)["spec"]["groups"]}))
    result = _promtool(promtool_path, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules(_rule(helm, values)))} rules found" in result.stdout


def test_every_alert_fires_on_synthetic_series(helm: Helm, promtool_path: str, tmp_path: Path) -> None:
    rule = _rule(helm)
    # Annotations are checked by `check rules` above and by the runbook test below; the unit tests
    # compare firing and labels only.
    groups = [{**group, "rules": [{k: v for k, v in item.items() if k != "annotations"} for item in group["rules"]]}
              for group in rule["spec"]["groups"]]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    shutil.copy(ALERT_TESTS, tmp_path / ALERT_TESTS.name)
    result = _promtool(promtool_path, "test", "rules", str(tmp_path / ALERT_TESTS.name))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    cases = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    fired = {check["alertname"] for case in cases for check in case["alert_rule_test"] if check["exp_alerts"]}
    silent = {check["alertname"] for case in cases for check in case["alert_rule_test"] if not check["exp_alerts"]}
    alerts = {item["alert"] for item in _rules(rule)}
    assert fired == alerts, f"alerts without a firing case: {alerts - fired}"
    assert silent == alerts, f"alerts without a silent case: {alerts - silent}"


def test_the_no_partner_success_window_must_outlast_the_poll_backoff(helm: Helm) -> None:
    result = helm.template({"prometheusRule": {"enabled": True, "noPartnerSuccessMinutes": 10}}, check=False)
    assert result.returncode != 0
    assert "noPartnerSuccessMinutes must be longer than backoff.maxSeconds" in result.stderr


def test_alerts_name_only_series_the_operator_exposes(helm: Helm) -> None:
    exposed = _exposed_sample_names()
    for item in _rules(_rule(helm)):
        missing = _referenced_series(item["expr"]) - exposed
        assert not missing, f"{item['alert']} names series the operator does not expose: {missing}"


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the headings: lower case, punctuation dropped, spaces to dashes."""
    headings = [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")]
    return {re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_alert_has_a_runbook_section(helm: Helm) -> None:
    anchors = _anchors(OPERATIONS.read_text())
    for item in _rules(_rule(helm)):
        annotations = item["annotations"]
        assert annotations["summary"]
        assert annotations["description"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "docs/operations.md"
        assert anchor == item["alert"].lower()
        assert anchor in anchors, f"docs/operations.md has no section '{item['alert']}'"
    hosted = _rule(helm, {"runbookBaseUrl": "https://wiki.example.com/tendlc"})
    assert _rules(hosted)[0]["annotations"]["runbook_url"].startswith("https://wiki.example.com/tendlc#tendlc")


# --- the dashboard ------------------------------------------------------------------------------


def _dashboard() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return result


def _panels() -> list[dict[str, Any]]:
    return [panel for panel in _dashboard()["panels"] if panel["type"] != "row"]


def test_dashboard_has_the_shape_grafana_loads() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"]
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "namespace", "job"}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert grid["h"] > 0, panel["title"]
    for panel in _panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = set(re.findall(r"\$(\w+)", target["expr"]))
            assert used <= variables, f"{panel['title']}: unknown variables {used - variables}"
            assert '$namespace' in target["expr"] or "time()" in target["expr"], panel["title"]


def test_dashboard_shows_what_the_platform_team_asked_for() -> None:
    expressions = " ".join(target["expr"] for panel in _panels() for target in panel["targets"])
    for series in ("tendlc_campaign_migrations{", "tendlc_downtime_in_progress",
                   "tendlc_partner_rate_limit_requests_per_second", "tendlc_partner_calls_total",
                   "tendlc_webhook_delivery_duration_seconds_bucket"):
        assert series in expressions, f"no panel shows {series}"


def test_dashboard_panels_name_only_series_the_operator_exposes() -> None:
    exposed = _exposed_sample_names()
    for panel in _panels():
        for target in panel["targets"]:
            missing = _referenced_series(target["expr"]) - exposed
            assert not missing, f"panel {panel['title']!r} names series the operator does not expose: {missing}"


def test_dashboard_queries_are_valid_promql(promtool_path: str, tmp_path: Path) -> None:
    rules = [{"record": f"tendlc:dashboard:panel{panel['id']}:{target['refId'].lower()}",
              "expr": target["expr"].replace("$namespace", ".*").replace("$job", ".*")}
             for panel in _panels() for target in panel["targets"]]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = _promtool(promtool_path, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_config_map_carries_the_file_and_the_sidecar_label(helm: Helm) -> None:
    assert not [obj for obj in helm.render() if obj["kind"] == "ConfigMap"]
    [config_map] = [obj for obj in helm.render({"grafanaDashboard": {"enabled": True}}) if obj["kind"] == "ConfigMap"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["tendlc.json"]) == _dashboard()
    [elsewhere] = [obj for obj in helm.render({"grafanaDashboard": {
        "enabled": True, "namespace": "monitoring", "labels": {"grafana_dashboard": "tendlc"},
        "annotations": {"grafana_folder": "Messaging"}}}) if obj["kind"] == "ConfigMap"]
    assert elsewhere["metadata"]["namespace"] == "monitoring"
    assert elsewhere["metadata"]["labels"]["grafana_dashboard"] == "tendlc"
    assert elsewhere["metadata"]["annotations"] == {"grafana_folder": "Messaging"}

