"""The Helm chart: clean, least-privilege, locked down, and installable on the real control plane.

The first half renders the chart offline (`helm lint`, `helm template`) and checks what it
promises: the CRD is the repository's own, RBAC holds exactly the operator's verbs and no
wildcard, the Pod runs non-root on a read-only filesystem, every value reaches the operator as a
`TENDLC_*` setting and bad values fail at install. The second half uses the test cluster: the
API server validates every rendered object (server-side dry run), the chart installs, upgrades
and uninstalls (leaving the CRD and the CampaignMigrations), and the chart's ServiceAccount can
do what the operator does and nothing it must not. The Deployment's Pod never runs here (this
control plane has no nodes); nothing waits for it.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes.client
import kubernetes.config
import pytest
import yaml

from support.cluster import Cluster
from support.helm import (
    CHART_DIR,
    REPO_ROOT,
    Helm,
    InstalledChart,
    helm_binary,
    install_chart,
    service_account_kubeconfig,
)
from tendlc.clients.ratelimit import DEFAULT_LIMITS
from tendlc.config import Settings
from tendlc.leader import LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD, LeaseTimings

TOP_LEVEL_CRDS = REPO_ROOT / "crds"
CHART_CRDS = CHART_DIR / "crds"
RELEASE_NAMESPACE = "tendlc-system"
WATCHED = ["team-a", "team-b"]

BASE_RULES = [
    {"apiGroups": ["tendlc.io"], "resources": ["campaignmigrations"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["tendlc.io"], "resources": ["campaignmigrations/status"], "verbs": ["patch"]},
    {"apiGroups": ["tendlc.io"], "resources": ["migrationwaves"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["tendlc.io"], "resources": ["migrationwaves/status"], "verbs": ["patch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
]


TIMING_FIELDS = {"leaseDurationSeconds": "lease_duration", "renewDeadlineSeconds": "renew_deadline",
                 "retryPeriodSeconds": "retry_period"}
CHART_TIMINGS = {key: yaml.safe_load((CHART_DIR / "values.yaml").read_text())["ha"][key] for key in TIMING_FIELDS}


def lease_rules(lease: str) -> list[dict[str, Any]]:
    """The leader elector's calls (tendlc.leader): get+update of its Lease by name, create apart."""
    return [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [lease],
         "verbs": ["get", "update"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    ]

# Settings the chart passes that tendlc.config.Settings may not define yet (the tenant-safety work
# adds them; until then the operator ignores them). Once Settings has one, its value is checked below.
PENDING_SETTINGS = {"TENDLC_ALLOWED_PARTNER_HOSTS", "TENDLC_METRICS_BIND_ADDRESS", "TENDLC_WEBHOOK_BIND_ADDRESS",
                    "TENDLC_WEBHOOK_ALLOW_HTTP"}


def scenario_values(scenario: str, watched: list[str] | None = None) -> dict[str, Any]:
    """The value sets every static and server-side check runs with."""
    watched = watched or WATCHED
    if scenario == "all-namespaces":
        return {}
    if scenario == "namespaces-list":
        return {
            "watchNamespaces": watched,
            "infobip": {"credentialsSecret": "infobip-credentials"},
            "tcr": {"credentialsSecret": "tcr-credentials"},
            "webhook": {"authSecret": "webhook-auth"},
        }
    if scenario == "ha-ingress-service-monitor":
        return {
            "ha": {"enabled": True, "standbyReplicas": 2},
            "webhook": {
                "publicUrl": "https://tendlc.example.com/webhooks/infobip",
                "authSecret": "webhook-auth",
                "ingress": {"enabled": True, "className": "nginx", "host": "tendlc.example.com",
                            "tls": [{"secretName": "tendlc-webhook-tls", "hosts": ["tendlc.example.com"]}]},
            },
            "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
        }
    if scenario == "ha-namespaces-list":
        return {"watchNamespaces": watched, "ha": {"enabled": True}}
    raise ValueError(scenario)


SCENARIOS = ["all-namespaces", "namespaces-list", "ha-ingress-service-monitor", "ha-namespaces-list"]


def _objects(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = _objects(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = _one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def _env(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {variable["name"]: variable for variable in _container(objects)["env"]}


def _nested(dotted: str, value: Any) -> dict[str, Any]:
    result: Any = value
    for key in reversed(dotted.split(".")):
        result = {key: result}
    return dict(result)


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = helm_binary()
    if binary is None:
        pytest.skip("no helm binary: run `make controlplane`")
    return Helm(binary, tmp_path_factory.mktemp("helm"))


@pytest.fixture(scope="module")
def rendered(helm: Helm) -> dict[str, list[dict[str, Any]]]:
    return {scenario: helm.render(scenario_values(scenario), namespace=RELEASE_NAMESPACE) for scenario in SCENARIOS}


# --- the chart on its own ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(path.name for path in TOP_LEVEL_CRDS.glob("*.yaml")))
def test_chart_ships_the_top_level_crd_byte_for_byte(name: str) -> None:
    source, copy_in_chart = TOP_LEVEL_CRDS / name, CHART_CRDS / name
    fix = f"cp crds/{name} helm/tendlc/crds/{name}"
    assert copy_in_chart.exists(), f"helm/tendlc/crds/{name} is missing; fix with: {fix}"
    assert copy_in_chart.read_bytes() == source.read_bytes(), (
        f"helm/tendlc/crds/{name} drifted from crds/{name} (the single source of truth); fix with: {fix}"
    )


def test_chart_crds_are_exactly_the_top_level_ones() -> None:
    # Kopf's peering CRDs are gone: leader election uses a coordination.k8s.io Lease (D43).
    assert {path.name for path in CHART_CRDS.iterdir()} == {path.name for path in TOP_LEVEL_CRDS.glob("*.yaml")}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_helm_lint_is_clean_even_when_strict(helm: Helm, scenario: str) -> None:
    values = str(helm.values_file(scenario_values(scenario), f"lint-{scenario}"))
    for strict in ([], ["--strict"]):
        result = helm.run("lint", str(CHART_DIR), "-f", values, *strict, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "[WARNING]" not in result.stdout, result.stdout
        assert "[ERROR]" not in result.stdout, result.stdout


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rbac_rules_name_exact_verbs_and_never_a_wildcard(
    rendered: dict[str, list[dict[str, Any]]], scenario: str
) -> None:
    allowed_verbs = {"get", "list", "watch", "patch", "create", "update"}
    roles = _objects(rendered[scenario], "ClusterRole") + _objects(rendered[scenario], "Role")
    assert roles
    for role in roles:
        for rule in role["rules"]:
            assert "nonResourceURLs" not in rule
            for key in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert not any("*" in item for item in rule.get(key, [])), f"wildcard in {role['kind']}: {rule}"
            assert set(rule["verbs"]) <= allowed_verbs, rule
            assert "kopf.dev" not in rule["apiGroups"], "Kopf peering is not used any more"
            if "secrets" in rule["resources"]:
                assert rule["verbs"] == ["get"], "Secrets are read one by one, never listed or written"
            if "update" in rule["verbs"]:
                assert rule["resources"] == ["leases"], "update is for the leader-election Lease only"
                assert len(rule.get("resourceNames", [])) == 1, "update of the Lease by its name only"


def test_all_namespaces_grants_one_cluster_role_with_the_operators_calls(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["all-namespaces"]
    assert _one(objects, "ClusterRole")["rules"] == BASE_RULES
    binding = _one(objects, "ClusterRoleBinding")
    service_account = _one(objects, "ServiceAccount")["metadata"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": service_account["name"], "namespace": RELEASE_NAMESPACE}
    ]
    assert not _objects(objects, "Role")
    assert not _objects(objects, "RoleBinding")


def test_namespaces_list_grants_roles_only_there_and_own_secrets_by_name(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["namespaces-list"]
    assert not _objects(objects, "ClusterRole")
    assert not _objects(objects, "ClusterRoleBinding")
    roles = {(role["metadata"]["namespace"], role["metadata"]["name"]): role for role in _objects(objects, "Role")}
    watched_roles = {namespace: role for (namespace, _), role in roles.items() if namespace in WATCHED}
    assert sorted(watched_roles) == WATCHED
    assert all(role["rules"] == BASE_RULES for role in watched_roles.values())
    own = [role for (namespace, _), role in roles.items() if namespace == RELEASE_NAMESPACE]
    assert len(own) == 1
    assert own[0]["rules"] == [{
        "apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
        "resourceNames": ["infobip-credentials", "tcr-credentials", "webhook-auth"],
    }]
    bound = {(b["metadata"]["namespace"], b["roleRef"]["name"]) for b in _objects(objects, "RoleBinding")}
    assert bound == set(roles)


def _lease_role(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [role] = [role for role in _objects(objects, "Role") if role["metadata"]["name"].endswith("-leader-election")]
    return role


def test_ha_runs_standby_replicas_that_elect_a_leader_by_a_lease(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["ha-ingress-service-monitor"]
    deployment = _one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    # A new Pod starts as a standby; the old one releases the Lease when it stops.
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    env = _env(objects)
    fullname = deployment["metadata"]["name"]
    assert env["TENDLC_LEADER_ELECTION"]["value"] == "true"
    assert env["TENDLC_LEADER_ELECTION_LEASE_NAME"]["value"] == fullname
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "POD_ID" not in env  # Kopf's peering identity
    assert "TENDLC_PEERING_NAME" not in env
    # Readiness is Kopf's health, never leadership: a standby must become ready for a rollout to go on.
    container = _container(objects)
    assert container["readinessProbe"]["httpGet"] == container["livenessProbe"]["httpGet"]
    # RBAC: the resource rules are unchanged cluster-wide; the Lease only in the release namespace.
    assert _one(objects, "ClusterRole")["rules"] == BASE_RULES
    role = _lease_role(objects)
    assert role["metadata"]["namespace"] == RELEASE_NAMESPACE
    assert role["rules"] == lease_rules(fullname)
    [binding] = [b for b in _objects(objects, "RoleBinding") if b["roleRef"]["name"] == role["metadata"]["name"]]
    assert binding["metadata"]["namespace"] == RELEASE_NAMESPACE
    service_account = _one(objects, "ServiceAccount")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": service_account, "namespace": RELEASE_NAMESPACE}]
    # With a namespaces list the watched Roles carry the resource rules only; the Lease stays home.
    namespaced = rendered["ha-namespaces-list"]
    for watched in _objects(namespaced, "Role"):
        if watched["metadata"]["namespace"] in WATCHED:
            assert watched["rules"] == BASE_RULES
    assert _lease_role(namespaced)["metadata"]["namespace"] == RELEASE_NAMESPACE


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_kopf_peering_objects_in_any_scenario(rendered: dict[str, list[dict[str, Any]]], scenario: str) -> None:
    kinds = {obj["kind"] for obj in rendered[scenario]}
    assert not kinds & {"KopfPeering", "ClusterKopfPeering"}


@pytest.mark.parametrize(
    ("ha", "lease"),
    [
        ({}, "tendlc"),  # the release's full name
        ({"leaseName": "tendlc-leader"}, "tendlc-leader"),
        ({"peeringName": "tendlc-peering"}, "tendlc-peering"),  # deprecated, still the Lease's name
        ({"leaseName": "tendlc-leader", "peeringName": "tendlc-peering"}, "tendlc-leader"),
    ],
    ids=["default", "leaseName", "peeringName-fallback", "leaseName-wins"],
)
def test_lease_name_is_one_name_for_the_operator_and_its_role(helm: Helm, ha: dict[str, Any], lease: str) -> None:
    objects = helm.render({"ha": {"enabled": True, **ha}}, namespace=RELEASE_NAMESPACE)
    assert _env(objects)["TENDLC_LEADER_ELECTION_LEASE_NAME"]["value"] == lease
    assert _lease_role(objects)["rules"] == lease_rules(lease)


def test_lease_timings_reach_the_operator_and_default_to_its_own(helm: Helm, monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = _env(helm.render({"ha": {"enabled": True}}, namespace=RELEASE_NAMESPACE))
    assert [float(defaults[f"TENDLC_LEADER_ELECTION_{name}_SECONDS"]["value"])
            for name in ("LEASE_DURATION", "RENEW_DEADLINE", "RETRY_PERIOD")] == [
        LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD]
    env = _env(helm.render({"ha": {"enabled": True, "leaseDurationSeconds": 5, "renewDeadlineSeconds": 3,
                                   "retryPeriodSeconds": 0.5}}, namespace=RELEASE_NAMESPACE))
    for name in list(os.environ):
        if name.startswith("TENDLC_"):
            monkeypatch.delenv(name)
    for name, variable in env.items():
        if name.startswith("TENDLC_") and "value" in variable:
            monkeypatch.setenv(name, variable["value"])
    monkeypatch.setenv("TENDLC_OPERATOR_NAMESPACE", RELEASE_NAMESPACE)
    settings = Settings()  # the operator accepts what the chart accepted
    assert settings.elects_leader
    assert settings.leader_election_lease_name == "tendlc"
    timings = settings.lease_timings()
    assert (timings.lease_duration, timings.renew_deadline, timings.retry_period) == (5, 3, 0.5)


@pytest.mark.parametrize(
    ("ha", "expected"),
    [
        ({"leaseDurationSeconds": 10},
         "ha.leaseDurationSeconds (10) must be greater than ha.renewDeadlineSeconds (10)"),
        ({"leaseDurationSeconds": 8, "renewDeadlineSeconds": 9}, "must be greater than ha.renewDeadlineSeconds"),
        ({"renewDeadlineSeconds": 2.4}, "ha.renewDeadlineSeconds (2.4) must be greater than 1.2 times "
                                        "ha.retryPeriodSeconds (2)"),
        ({"retryPeriodSeconds": 9}, "must be greater than 1.2 times ha.retryPeriodSeconds (9)"),
        ({"leaseDurationSeconds": 15.5}, "at '/ha/leaseDurationSeconds'"),  # whole seconds (leaseDurationSeconds)
        ({"leaseDurationSeconds": 0}, "at '/ha/leaseDurationSeconds'"),
        ({"retryPeriodSeconds": 0}, "at '/ha/retryPeriodSeconds'"),
        ({"renewDeadlineSeconds": -1}, "at '/ha/renewDeadlineSeconds'"),
        ({"leaseName": "Tendlc_Leader"}, "at '/ha/leaseName'"),
        ({"peeringName": "Bad_Name"}, "at '/ha/peeringName'"),
    ],
    ids=lambda item: json.dumps(item, separators=(",", ":")) if isinstance(item, dict) else None,
)
def test_lease_values_the_operator_would_refuse_fail_the_install(
    helm: Helm, ha: dict[str, Any], expected: str
) -> None:
    result = helm.template({"ha": {"enabled": True, **ha}}, check=False)
    assert result.returncode != 0, f"accepted {ha}"
    assert expected in result.stderr, result.stderr
    # The chart's rule is the operator's (LeaseTimings): each timing it refuses would stop the operator.
    if set(ha) <= set(TIMING_FIELDS):
        timings = {TIMING_FIELDS[key]: value for key, value in {**CHART_TIMINGS, **ha}.items()}
        with pytest.raises(ValueError, match=r"must be (greater than|positive|a whole number)"):
            LeaseTimings(**timings)


def test_without_ha_one_replica_recreated_and_no_leader_election(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["all-namespaces"]
    deployment = _one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    env = _env(objects)
    assert not [name for name in env if name.startswith(("TENDLC_LEADER_ELECTION", "TENDLC_PEERING"))]
    assert not [role for role in _objects(objects, "Role") if role["metadata"]["name"].endswith("-leader-election")]
    assert not _objects(objects, "PodDisruptionBudget")
    assert not _objects(objects, "Ingress")
    assert not _objects(objects, "ServiceMonitor")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pod_runs_non_root_read_only_without_capabilities(
    rendered: dict[str, list[dict[str, Any]]], scenario: str
) -> None:
    objects = rendered[scenario]
    pod = _one(objects, "Deployment")["spec"]["template"]["spec"]
    container = _container(objects)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == 10001
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    # The token goes to the operator's Pod only: the ServiceAccount itself does not automount.
    assert pod["automountServiceAccountToken"] is True
    assert _one(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    # The one writable place is an emptyDir on /tmp.
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"][0]["emptyDir"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"webhook": 8081, "metrics": 9090, "health": 8080}
    assert container["resources"]["limits"]["memory"]


def test_pod_user_is_the_images_user(rendered: dict[str, list[dict[str, Any]]]) -> None:
    users = [line.split()[1] for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
             if line.startswith("USER ")]
    pod = _one(rendered["all-namespaces"], "Deployment")["spec"]["template"]["spec"]
    assert users[-1] == f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}"


def test_service_exposes_the_webhook_and_metrics_and_the_ingress_only_the_webhook_path(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["ha-ingress-service-monitor"]
    service = _one(objects, "Service")
    assert {(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        ("webhook", 8081, "webhook"), ("metrics", 9090, "metrics"),
    }
    pod_labels = _one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    ingress = _one(objects, "Ingress")
    [rule] = ingress["spec"]["rules"]
    assert rule["http"]["paths"] == [{
        "path": "/webhooks/infobip", "pathType": "Exact",
        "backend": {"service": {"name": service["metadata"]["name"], "port": {"name": "webhook"}}},
    }]
    monitor = _one(objects, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"


def test_every_value_reaches_the_operator_as_its_tendlc_setting(
    helm: Helm, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {
        "infobip": {"baseUrl": "https://xyz.api.infobip.com", "credentialsSecret": "infobip-credentials"},
        "tcr": {"baseUrl": "https://csp-api-staging.campaignregistry.com/v2", "credentialsSecret": "tcr-credentials"},
        "upstreamCnpId": "OTHER1",
        "watchNamespaces": WATCHED,
        "webhook": {"port": 8181, "publicUrl": "https://hooks.example.com/webhooks/infobip",
                    "authSecret": "webhook-auth", "bindAddress": "10.0.0.7"},
        "metrics": {"port": 9191, "bindAddress": "127.0.0.1"},
        "allowedPartnerHosts": ["https://*.api.infobip.com", "https://csp-api-staging.campaignregistry.com"],
        "livenessPort": 8180,
        "log": {"level": "DEBUG", "format": "text"},
        "dryRun": True,
        "rateLimits": {"scale": 2.5, "overrides": {"infobip.registration.write": {"rate": 0.5, "burst": 2}}},
        "backoff": {"initialSeconds": 5, "maxSeconds": 60},
        "requestTimeoutSeconds": 12,
        "stallAfterHours": 24,
        "loaMaxAgeDays": 20,
        "recheckParkedSeconds": 15,
        "maxObserveAttempts": 4,
        "ha": {"enabled": True, "leaseName": "tendlc-leader", "leaseDurationSeconds": 20,
               "renewDeadlineSeconds": 12, "retryPeriodSeconds": 3},
    }
    env = _env(helm.render(values, namespace=RELEASE_NAMESPACE))
    assert env["TENDLC_OPERATOR_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    plain = {name: variable["value"] for name, variable in env.items() if "value" in variable}
    plain["TENDLC_OPERATOR_NAMESPACE"] = RELEASE_NAMESPACE

    tendlc_names = {name for name in plain if name.startswith("TENDLC_")}
    known = {name for name in tendlc_names
             if name.removeprefix("TENDLC_").split("__")[0].lower() in Settings.model_fields}
    assert tendlc_names - PENDING_SETTINGS == known - PENDING_SETTINGS, (
        f"not a setting of tendlc.config: {tendlc_names - known - PENDING_SETTINGS}"
    )

    for name in list(os.environ):
        if name.startswith("TENDLC_"):
            monkeypatch.delenv(name)
    for name in tendlc_names:
        monkeypatch.setenv(name, plain[name])
    settings = Settings()
    assert settings.infobip_base_url == "https://xyz.api.infobip.com"
    assert settings.infobip_credentials_secret is not None
    assert settings.infobip_credentials_secret.name == "infobip-credentials"
    assert settings.tcr_base_url == "https://csp-api-staging.campaignregistry.com/v2"
    assert settings.tcr_credentials_secret is not None
    assert settings.tcr_credentials_secret.name == "tcr-credentials"
    assert settings.operator_namespace == RELEASE_NAMESPACE
    assert settings.upstream_cnp_id == "OTHER1"
    assert settings.watch_namespaces == WATCHED
    assert settings.liveness_port == 8180
    assert settings.log_format == "text"
    assert settings.dry_run is True
    assert settings.rate_limit_scale == 2.5
    assert settings.rate_limits["infobip.registration.write"].rate == 0.5
    assert settings.rate_limits["infobip.registration.write"].burst == 2
    assert (settings.backoff_initial_seconds, settings.backoff_max_seconds) == (5, 60)
    assert settings.request_timeout_seconds == 12
    assert settings.stall_after_hours == 24
    assert settings.loa_max_age_days == 20
    assert settings.recheck_parked_seconds == 15
    assert settings.max_observe_attempts == 4
    assert settings.webhook_port == 8181
    assert settings.webhook_public_url == "https://hooks.example.com/webhooks/infobip"
    assert settings.webhook_auth_secret is not None
    assert settings.webhook_auth_secret.name == "webhook-auth"
    assert settings.metrics_port == 9191
    assert settings.log_level == "DEBUG"
    assert settings.leader_election is True
    assert settings.peering_name is None
    assert settings.leader_election_lease_name == "tendlc-leader"
    assert settings.lease_timings() == LeaseTimings(lease_duration=20, renew_deadline=12, retry_period=3)
    fields = Settings.model_fields
    if "allowed_partner_hosts" in fields:
        assert settings.allowed_partner_hosts == values["allowedPartnerHosts"]
    if "metrics_bind_address" in fields:
        assert (settings.metrics_bind_address, settings.webhook_bind_address) == ("127.0.0.1", "10.0.0.7")
    # Credentials travel as Secret names only, never as values.
    assert not any("secretKeyRef" in variable.get("valueFrom", {}) for variable in env.values())


def test_default_values_are_the_operators_defaults(helm: Helm, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env(helm.render(namespace=RELEASE_NAMESPACE))
    for name in list(os.environ):
        if name.startswith("TENDLC_"):
            monkeypatch.delenv(name)
    defaults = Settings()
    for name, variable in env.items():
        if name.startswith("TENDLC_") and "value" in variable:
            monkeypatch.setenv(name, variable["value"])
    monkeypatch.setenv("TENDLC_OPERATOR_NAMESPACE", defaults.operator_namespace)
    assert Settings() == defaults


def test_schema_accepts_exactly_the_operators_rate_limit_classes() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    classes = set(schema["properties"]["rateLimits"]["properties"]["overrides"]["properties"])
    assert classes == {f"{partner}.{endpoint_class}" for partner, endpoint_class in DEFAULT_LIMITS}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"infobip": {"baseUrl": "not-a-url"}}, "at '/infobip/baseUrl'"),
        ({"tcr": {"baseUrl": "ftp://csp-api.campaignregistry.com"}}, "at '/tcr/baseUrl'"),
        ({"webhook": {"publicUrl": "hooks.example.com/webhooks/infobip"}}, "at '/webhook/publicUrl'"),
        ({"rateLimits": {"scale": -1}}, "at '/rateLimits/scale'"),
        ({"rateLimits": {"overrides": {"infobip.registration.write": {"rate": 0}}}},
         "at '/rateLimits/overrides/infobip.registration.write/rate'"),
        ({"rateLimits": {"overrides": {"infobip.registration.wirte": {"rate": 1}}}},
         "additional properties 'infobip.registration.wirte' not allowed"),
        ({"backoff": {"initialSeconds": -5}}, "at '/backoff/initialSeconds'"),
        ({"backoff": {"initialSeconds": 60, "maxSeconds": 30}},
         "backoff.maxSeconds must be greater than or equal to backoff.initialSeconds"),
        ({"replicaCount": 2}, "additional properties 'replicaCount' not allowed"),
        ({"infobip": {"apiKey": "s3cr3t"}}, "additional properties 'apiKey' not allowed"),
        ({"watchNamespaces": ["Team_A"]}, "at '/watchNamespaces/0'"),
        ({"watchNamespaces": "team-a"}, "at '/watchNamespaces'"),
        ({"log": {"level": "verbose"}}, "at '/log/level'"),
        ({"webhook": {"port": 70000}}, "at '/webhook/port'"),
        ({"upstreamCnpId": "opmkt"}, "at '/upstreamCnpId'"),
        ({"ha": {"enabled": True, "standbyReplicas": 0}}, "at '/ha/standbyReplicas'"),
    ],
    ids=lambda item: json.dumps(item, separators=(",", ":")) if isinstance(item, dict) else None,
)
def test_bad_values_fail_at_install_with_a_clear_message(helm: Helm, value: dict[str, Any], expected: str) -> None:
    result = helm.template(value, check=False)
    assert result.returncode != 0, f"accepted bad values {value}"
    assert expected in result.stderr, result.stderr


# --- the chart on the real control plane --------------------------------------------------------


@pytest.fixture
def cluster_helm(helm: Helm, cluster: Cluster) -> Helm:
    return Helm(helm.binary, helm.home, cluster.kubeconfig)


@pytest.fixture
def make_namespace(cluster: Cluster, namespace: str) -> Iterator[Any]:
    """Creates extra namespaces named after the test's; deletes them (without waiting) afterwards."""
    created: list[str] = []

    def create(suffix: str) -> str:
        name = f"{namespace}-{suffix}"
        cluster.kubectl("create", "namespace", name)
        created.append(name)
        return name

    yield create
    for name in created:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def release_name() -> str:
    return f"tendlc-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def installs(cluster: Cluster, cluster_helm: Helm) -> Iterator[list[InstalledChart]]:
    """Releases a test installs; uninstalled afterwards, since cluster-scoped RBAC outlives namespaces."""
    releases: list[InstalledChart] = []
    yield releases
    for release in releases:
        release.uninstall()


def _campaign_migration_crd(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", str(TOP_LEVEL_CRDS / "campaignmigrations.tendlc.io.yaml"))
    cluster.kubectl("wait", "--for=condition=Established", "crd/campaignmigrations.tendlc.io", "--timeout=60s")


def _campaign_migration(name: str) -> str:
    manifest = yaml.safe_load((REPO_ROOT / "tests" / "data" / "valid" / "basic.yaml").read_text())
    manifest["metadata"] = {"name": name}
    return yaml.safe_dump(manifest)


def _can(cluster: Cluster, kubeconfig: Path, *args: str) -> bool:
    answer = cluster.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False)
    assert answer.stdout.strip() in {"yes", "no"}, answer.stderr
    return answer.stdout.strip() == "yes"


def _forbidden(cluster: Cluster, kubeconfig: Path, *args: str) -> None:
    result = cluster.kubectl(*args, kubeconfig=kubeconfig, check=False)
    message = f"expected Forbidden for kubectl {' '.join(args)}: rc={result.returncode} {result.stdout}{result.stderr}"
    assert result.returncode != 0, message
    assert "forbidden" in result.stderr.lower(), message


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_api_server_accepts_every_rendered_object(
    cluster: Cluster, cluster_helm: Helm, namespace: str, make_namespace: Any, scenario: str,
) -> None:
    watched = [make_namespace("a"), make_namespace("b")] if "namespaces-list" in scenario else None
    objects = cluster_helm.render(scenario_values(scenario, watched), release=f"tendlc-{scenario}",
                                  namespace=namespace)
    # The ServiceMonitor's CRD (Prometheus Operator) is not in this cluster; it is checked above.
    checked = [obj for obj in objects if obj["kind"] != "ServiceMonitor"]
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy",
                      "ValidatingAdmissionPolicyBinding"}
    for obj in checked:
        assert obj["kind"] in cluster_scoped or obj["metadata"].get("namespace"), f"no namespace: {obj['kind']}"
    crds = [doc for path in sorted(CHART_CRDS.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]
    documents = yaml.safe_dump_all([*crds, *checked])
    result = cluster.kubectl("apply", "--dry-run=server", "--validate=strict", "-f", "-",
                             input=documents, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(server dry run)") == len(crds) + len(checked), result.stdout


def test_install_upgrade_and_uninstall_keep_the_crd_and_campaign_migrations(
    cluster: Cluster, cluster_helm: Helm, namespace: str, release_name: str, installs: list[InstalledChart],
) -> None:
    chart = install_chart(cluster, cluster_helm, release=release_name, namespace=namespace,
                          values={"log": {"level": "INFO"}})
    installs.append(chart)
    cluster.kubectl("wait", "--for=condition=Established", "crd/campaignmigrations.tendlc.io", "--timeout=60s")
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=_campaign_migration("survivor"))
    before = chart.deployment()
    notes = cluster_helm.run("get", "notes", release_name, "-n", namespace).stdout
    assert f"rollout status deployment/{chart.deployment_name}" in notes
    assert "keeps the CampaignMigration CRD" in notes.replace("\n", " ")
    assert chart.operator_environment()["TENDLC_LOG_LEVEL"] == "INFO"
    assert chart.operator_environment()["TENDLC_OPERATOR_NAMESPACE"] == namespace

    chart.upgrade({"log": {"level": "DEBUG"}, "dryRun": True})
    after = chart.deployment()
    assert after["metadata"]["generation"] > before["metadata"]["generation"]
    assert chart.operator_environment()["TENDLC_LOG_LEVEL"] == "DEBUG"
    assert chart.operator_environment()["TENDLC_DRY_RUN"] == "true"
    history = json.loads(cluster_helm.run("history", release_name, "-n", namespace, "-o", "json").stdout)
    assert [entry["revision"] for entry in history] == [1, 2]
    assert history[-1]["status"] == "deployed"

    failed = cluster_helm.run("upgrade", release_name, str(CHART_DIR), "-n", namespace,
                              "--set", "rateLimits.scale=-1", check=False)
    assert failed.returncode != 0
    assert "/rateLimits/scale" in failed.stderr
    assert chart.deployment()["metadata"]["generation"] == after["metadata"]["generation"]

    chart.uninstall()
    assert cluster.kubectl("get", "deployment", chart.deployment_name, "-n", namespace,
                           check=False).returncode != 0
    assert cluster.kubectl("get", "clusterrole", chart.deployment_name, check=False).returncode != 0
    crd = cluster.get_json("crd", "campaignmigrations.tendlc.io")
    assert crd["metadata"].get("deletionTimestamp") is None
    survivor = cluster.get_json("campaignmigration", "survivor", "-n", namespace)
    assert survivor["spec"]["campaignId"] == "COJD655"


def test_chart_identity_performs_every_call_the_operator_makes(
    cluster: Cluster, cluster_helm: Helm, namespace: str, make_namespace: Any, release_name: str,
    installs: list[InstalledChart], tmp_path: Path,
) -> None:
    _campaign_migration_crd(cluster)
    tenant = make_namespace("tenant")
    chart = install_chart(cluster, cluster_helm, release=release_name, namespace=namespace)
    installs.append(chart)
    cluster.kubectl("apply", "-n", tenant, "-f", "-", input=_campaign_migration("cojd655"))
    cluster.kubectl("create", "secret", "generic", "cojd655-loa", "-n", tenant,
                    "--from-literal=signedDate=2026-01-01")
    kubeconfig = service_account_kubeconfig(cluster, namespace, chart.service_account, tmp_path / "sa.kubeconfig")
    as_operator = {"kubeconfig": kubeconfig}

    assert cluster.kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}", **as_operator).stdout == (
        f"system:serviceaccount:{namespace}:{chart.service_account}"
    )
    for verb in ("list", "watch"):
        assert _can(cluster, kubeconfig, verb, "campaignmigrations.tendlc.io", "--all-namespaces")
    listed = json.loads(cluster.kubectl("get", "campaignmigrations", "-A", "-o", "json", **as_operator).stdout)
    assert any(item["metadata"]["name"] == "cojd655" for item in listed["items"])
    # The two patches exactly as the operator sends them (Kopf's merge patch of the body, the
    # reconciler's merge patch of the status subresource): no GET before, unlike `kubectl patch`.
    client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    api = kubernetes.client.CustomObjectsApi(client)
    api.patch_namespaced_custom_object(
        "tendlc.io", "v1alpha1", tenant, "campaignmigrations", "cojd655",
        {"metadata": {"annotations": {"tendlc.io/rbac-check": "done"}, "finalizers": ["tendlc.io/finalizer"]}},
    )
    api.patch_namespaced_custom_object_status(
        "tendlc.io", "v1alpha1", tenant, "campaignmigrations", "cojd655", {"status": {"phase": "Pending"}},
    )
    event = {
        "apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "cojd655-", "namespace": tenant},
        "involvedObject": {"apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration",
                           "name": "cojd655", "namespace": tenant},
        "reason": "RbacCheck", "message": "posted as the chart's ServiceAccount", "type": "Normal",
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(event), **as_operator)
    secret = json.loads(cluster.kubectl("get", "secret", "cojd655-loa", "-n", tenant, "-o", "json",
                                        **as_operator).stdout)
    assert "signedDate" in secret["data"]
    stored = cluster.get_json("campaignmigration", "cojd655", "-n", tenant)
    assert stored["status"]["phase"] == "Pending"
    assert stored["metadata"]["annotations"]["tendlc.io/rbac-check"] == "done"
    api.patch_namespaced_custom_object(
        "tendlc.io", "v1alpha1", tenant, "campaignmigrations", "cojd655", {"metadata": {"finalizers": None}},
    )
    client.close()


def test_chart_identity_reads_secrets_only_in_watched_namespaces_and_its_own_by_name(
    cluster: Cluster, cluster_helm: Helm, namespace: str, make_namespace: Any, release_name: str,
    installs: list[InstalledChart], tmp_path: Path,
) -> None:
    watched, outside = make_namespace("watched"), make_namespace("outside")
    for secret_namespace, name in [(watched, "loa"), (outside, "canary"), (namespace, "infobip-credentials"),
                                   (namespace, "unrelated")]:
        cluster.kubectl("create", "secret", "generic", name, "-n", secret_namespace, "--from-literal=key=value")
    chart = install_chart(cluster, cluster_helm, release=release_name, namespace=namespace, values={
        "watchNamespaces": [watched], "infobip": {"credentialsSecret": "infobip-credentials"},
    })
    installs.append(chart)
    kubeconfig = service_account_kubeconfig(cluster, namespace, chart.service_account, tmp_path / "sa.kubeconfig")

    assert _can(cluster, kubeconfig, "get", "secrets", "-n", watched)
    assert _can(cluster, kubeconfig, "get", "secret/infobip-credentials", "-n", namespace)
    assert not _can(cluster, kubeconfig, "get", "secrets", "-n", outside)
    assert not _can(cluster, kubeconfig, "get", "secret/unrelated", "-n", namespace)
    assert not _can(cluster, kubeconfig, "list", "secrets", "-n", watched)
    assert not _can(cluster, kubeconfig, "list", "campaignmigrations.tendlc.io", "-n", outside)
    assert not _can(cluster, kubeconfig, "list", "campaignmigrations.tendlc.io", "--all-namespaces")
    cluster.kubectl("get", "secret", "loa", "-n", watched, kubeconfig=kubeconfig)
    cluster.kubectl("get", "secret", "infobip-credentials", "-n", namespace, kubeconfig=kubeconfig)
    _forbidden(cluster, kubeconfig, "get", "secret", "canary", "-n", outside)
    _forbidden(cluster, kubeconfig, "get", "secret", "unrelated", "-n", namespace)


def test_chart_identity_cannot_modify_crds_delete_namespaces_or_write_secrets(
    cluster: Cluster, cluster_helm: Helm, namespace: str, release_name: str, installs: list[InstalledChart],
    tmp_path: Path,
) -> None:
    _campaign_migration_crd(cluster)
    # Watching all namespaces is the widest grant the chart makes.
    chart = install_chart(cluster, cluster_helm, release=release_name, namespace=namespace)
    installs.append(chart)
    kubeconfig = service_account_kubeconfig(cluster, namespace, chart.service_account, tmp_path / "sa.kubeconfig")

    for verb in ("create", "update", "patch", "delete"):
        assert not _can(cluster, kubeconfig, verb, "customresourcedefinitions.apiextensions.k8s.io")
    for verb in ("delete", "create", "patch"):
        assert not _can(cluster, kubeconfig, verb, "namespaces")
    for verb in ("list", "watch", "create", "update", "patch", "delete"):
        assert not _can(cluster, kubeconfig, verb, "secrets", "--all-namespaces")
    for verb in ("create", "update", "delete"):
        assert not _can(cluster, kubeconfig, verb, "campaignmigrations.tendlc.io", "--all-namespaces")
    assert not _can(cluster, kubeconfig, "create", "clusterrolebindings.rbac.authorization.k8s.io")
    assert not _can(cluster, kubeconfig, "create", "pods", "-n", namespace)
    # Real requests; dry-run so that a wrongly granted one still changes nothing.
    _forbidden(cluster, kubeconfig, "delete", "namespace", namespace, "--dry-run=server")
    _forbidden(cluster, kubeconfig, "label", "crd", "campaignmigrations.tendlc.io", "tendlc.io/tampered=yes",
               "--dry-run=server")
    _forbidden(cluster, kubeconfig, "get", "secrets", "-n", namespace)


def test_installed_release_renders_what_helm_template_renders(
    cluster: Cluster, cluster_helm: Helm, namespace: str, release_name: str, installs: list[InstalledChart],
) -> None:
    values = scenario_values("namespaces-list", [namespace])
    chart = install_chart(cluster, cluster_helm, release=release_name, namespace=namespace, values=values)
    installs.append(chart)
    offline = cluster_helm.render(copy.deepcopy(values), release=release_name, namespace=namespace)

    def identity(objects: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects}

    # `helm get manifest` leaves out hooks: the `helm test` Pod, which `helm get hooks` lists.
    hooks = [o for o in offline if "helm.sh/hook" in o["metadata"].get("annotations", {})]
    offline = [o for o in offline if o not in hooks]
    assert [(o["kind"], o["metadata"]["annotations"]["helm.sh/hook"]) for o in hooks] == [("Pod", "test")]
    recorded_hooks = [doc for doc in yaml.safe_load_all(cluster_helm.run(
        "get", "hooks", release_name, "-n", namespace).stdout) if doc]
    assert identity(recorded_hooks) == identity(hooks)
    assert identity(chart.manifest()) == identity(offline)
    for kind, object_namespace, name in identity(offline):
        scope = ["-n", object_namespace] if object_namespace else []
        cluster.kubectl("get", kind.lower(), name, *scope)


def test_operator_pod_is_admitted_under_the_restricted_pod_security_standard(
    cluster: Cluster, cluster_helm: Helm, namespace: str,
) -> None:
    cluster.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted",
                    "pod-security.kubernetes.io/enforce-version=latest")
    objects = cluster_helm.render(namespace=namespace)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_one(objects, "ServiceAccount")))
    deployment = _one(objects, "Deployment")
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "tendlc-operator-pss", "namespace": namespace},
        "spec": deployment["spec"]["template"]["spec"],
    }
    result = cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
    assert result.returncode == 0, result.stderr
    assert "violate" not in result.stderr, result.stderr


def test_ha_chart_identity_may_elect_with_its_own_lease_only(
    cluster: Cluster, cluster_helm: Helm, namespace: str, make_namespace: Any, release_name: str,
    installs: list[InstalledChart], tmp_path: Path,
) -> None:
    other = make_namespace("other")
    chart = install_chart(cluster, cluster_helm, release=release_name, namespace=namespace,
                          values={"ha": {"enabled": True, "leaseName": "tendlc-leader"}})
    installs.append(chart)
    kubeconfig = service_account_kubeconfig(cluster, namespace, chart.service_account, tmp_path / "sa.kubeconfig")
    lease = "leases.coordination.k8s.io"

    for verb in ("get", "update"):
        assert _can(cluster, kubeconfig, verb, f"{lease}/tendlc-leader", "-n", namespace)
        assert not _can(cluster, kubeconfig, verb, f"{lease}/kube-scheduler", "-n", namespace)
    assert _can(cluster, kubeconfig, "create", lease, "-n", namespace)
    for verb in ("list", "watch", "patch", "delete", "deletecollection"):
        assert not _can(cluster, kubeconfig, verb, f"{lease}/tendlc-leader", "-n", namespace), verb
    for verb in ("get", "create", "update"):
        assert not _can(cluster, kubeconfig, verb, f"{lease}/tendlc-leader", "-n", other), verb
        assert not _can(cluster, kubeconfig, verb, f"{lease}/tendlc-leader", "-n", "kube-system"), verb
    assert not _can(cluster, kubeconfig, "list", "kopfpeerings.kopf.dev", "--all-namespaces")
    # For real: the create the first replica makes, and the update a renewal makes.
    created = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "tendlc-leader", "namespace": namespace},
               "spec": {"holderIdentity": "rbac-check", "leaseDurationSeconds": 15}}
    cluster.kubectl("create", "-f", "-", input=json.dumps(created), kubeconfig=kubeconfig)
    stored = json.loads(cluster.kubectl("get", "lease", "tendlc-leader", "-n", namespace, "-o", "json",
                                        kubeconfig=kubeconfig).stdout)
    stored["spec"]["holderIdentity"] = ""
    cluster.kubectl("replace", "-f", "-", input=json.dumps(stored), kubeconfig=kubeconfig)
    _forbidden(cluster, kubeconfig, "delete", "lease", "tendlc-leader", "-n", namespace, "--dry-run=server")
    _forbidden(cluster, kubeconfig, "get", "leases", "-n", namespace)


@pytest.mark.parametrize(
    ("ha", "warned", "lease"),
    [
        ({"enabled": True}, False, None),
        ({"enabled": True, "peeringName": "tendlc-peering"}, True, "tendlc-peering"),
        ({"enabled": True, "leaseName": "tendlc-leader", "peeringName": "tendlc-peering"}, True, "tendlc-leader"),
        ({"enabled": False, "peeringName": "tendlc-peering"}, True, None),
    ],
    ids=["ha", "peeringName-fallback", "both-set", "peeringName-without-ha"],
)
def test_install_notes_name_the_lease_and_warn_about_peering_name(
    cluster_helm: Helm, namespace: str, release_name: str, ha: dict[str, Any], warned: bool, lease: str | None,
) -> None:
    """NOTES.txt is rendered only by install/upgrade (not `helm template`): a server-side dry run."""
    values = cluster_helm.values_file({"ha": ha}, f"notes-{release_name}")
    notes = cluster_helm.run("install", release_name, str(CHART_DIR), "-n", namespace, "-f", str(values),
                             "--dry-run=server").stdout
    notes = notes[notes.index("NOTES:"):]
    assert ("ha.peeringName is deprecated" in notes) is warned, notes
    if ha["enabled"]:
        expected = lease or release_name
        assert f'only the holder of Lease "{expected}" acts' in notes, notes
        assert f"get lease {expected} " in notes, notes
    else:
        assert "High availability" not in notes, notes


def test_turning_ha_on_recreates_once_then_rolls(
    cluster: Cluster, cluster_helm: Helm, namespace: str, release_name: str, installs: list[InstalledChart],
) -> None:
    """A rolling update is safe only if the Pods it replaces elect too: the upgrade that turns HA on
    replaces a Pod that acts without a Lease, so it is a Recreate; later upgrades roll."""
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    chart = install_chart(cluster, cluster_helm, release=release_name, namespace=namespace)
    installs.append(chart)
    assert chart.deployment()["spec"]["strategy"]["type"] == "Recreate"
    chart.upgrade({"ha": {"enabled": True}})
    deployment = chart.deployment()
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # the old Pod did not elect
    assert chart.operator_environment()["TENDLC_LEADER_ELECTION"] == "true"
    chart.upgrade({"ha": {"enabled": True}, "log": {"level": "DEBUG"}})
    assert chart.deployment()["spec"]["strategy"] == rolling
    chart.upgrade({"ha": {"enabled": False}})  # (an empty values file would make Helm reuse the last values)
    assert chart.deployment()["spec"]["strategy"] == {"type": "Recreate"}
    assert "TENDLC_LEADER_ELECTION" not in chart.operator_environment()
    # A first install with HA has nothing to overlap with: it rolls from the start.
    fresh = install_chart(cluster, cluster_helm, release=f"{release_name}-ha", namespace=namespace,
                          values={"ha": {"enabled": True}})
    installs.append(fresh)
    assert fresh.deployment()["spec"]["strategy"] == rolling
