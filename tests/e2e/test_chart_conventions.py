"""The chart's conventions (cert-manager style) and its tenant-safety values, rendered and applied.

Each value is rendered with `helm template` and checked for what it promises; the API server then
validates the objects (server-side dry run, strict field validation), and the CRD-through-the-chart
path is installed, upgraded and uninstalled for real. What cannot happen here: the `helm test` Pod
never runs and no NetworkPolicy is enforced (this control plane has no kubelet and no network
plugin); the Pod is admitted by a server-side dry run and its script runs locally instead.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import yaml

from support.cluster import Cluster
from support.helm import CHART_DIR, REPO_ROOT, Helm, helm_binary, kube_version
from tendlc.config import Settings
from tendlc.metrics import Metrics, MetricsServer

NAMESPACE = "tendlc-system"
DIGEST = "sha256:" + "ab" * 32
CRD_FILE = REPO_ROOT / "crds" / "campaignmigrations.tendlc.io.yaml"


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = helm_binary()
    if binary is None:
        pytest.skip("no helm binary: run `make controlplane`")
    return Helm(binary, tmp_path_factory.mktemp("helm"))


def _kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def _pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [deployment] = _kind(objects, "Deployment")
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def _env(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {v["name"]: v.get("value", "") for v in _pod(objects)["containers"][0]["env"]}


def _fails(helm: Helm, values: dict[str, Any], expected: str) -> None:
    result = helm.template(values, check=False)
    assert result.returncode != 0, f"accepted {values}"
    assert expected in result.stderr, result.stderr


# --- image, security contexts, scheduling -------------------------------------------------------


def test_image_is_pulled_by_digest_when_one_is_given(helm: Helm) -> None:
    default = _pod(helm.render())["containers"][0]["image"]
    assert default == "tendlc/operator:0.1.0"
    pinned = _pod(helm.render({"image": {"tag": "9.9.9", "digest": DIGEST}}))["containers"][0]["image"]
    assert pinned == f"tendlc/operator@{DIGEST}"
    _fails(helm, {"image": {"digest": "sha256:short"}}, "at '/image/digest'")


def test_security_contexts_can_be_overridden_field_by_field(helm: Helm) -> None:
    pod = _pod(helm.render({
        "podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None},
        "containerSecurityContext": {"runAsUser": None, "runAsGroup": None, "procMount": "Default"},
    }))
    assert "runAsUser" not in pod["securityContext"]  # e.g. OpenShift assigns the UID
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]["securityContext"]
    assert "runAsUser" not in container
    assert container["procMount"] == "Default"
    assert container["readOnlyRootFilesystem"] is True
    _fails(helm, {"containerSecurityContext": {"readOnlyRootFilesytem": False}},
           "additional properties 'readOnlyRootFilesytem' not allowed")
    _fails(helm, {"podSecurityContext": {"runAsUsr": 1}}, "additional properties 'runAsUsr' not allowed")


def test_scheduling_values_reach_the_pod(helm: Helm) -> None:
    spread = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
               "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "tendlc"}}}]
    tolerations = [{"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}]
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}}
    pod = _pod(helm.render({"topologySpreadConstraints": spread, "tolerations": tolerations, "affinity": affinity,
                            "nodeSelector": {"pool": "ops"}, "priorityClassName": "system-cluster-critical"}))
    assert pod["topologySpreadConstraints"] == spread
    assert pod["tolerations"] == tolerations
    assert pod["affinity"] == affinity
    assert pod["nodeSelector"] == {"pool": "ops"}
    assert pod["priorityClassName"] == "system-cluster-critical"
    _fails(helm, {"tolerations": [{"key": "a", "efect": "NoSchedule"}]}, "additional properties 'efect' not allowed")
    _fails(helm, {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone"}]}, "whenUnsatisfiable")
    _fails(helm, {"affinity": {"nodeAfinity": {}}}, "additional properties 'nodeAfinity' not allowed")


def test_pod_disruption_budget_only_with_more_than_one_replica(helm: Helm) -> None:
    assert not _kind(helm.render(), "PodDisruptionBudget")
    [budget] = _kind(helm.render({"ha": {"enabled": True, "standbyReplicas": 2}}), "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    [deployment] = _kind(helm.render({"ha": {"enabled": True}}), "Deployment")
    assert budget["spec"]["selector"]["matchLabels"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items())
    off = helm.render({"ha": {"enabled": True}, "podDisruptionBudget": {"enabled": False}})
    assert not _kind(off, "PodDisruptionBudget")
    _fails(helm, {"podDisruptionBudget": {"minAvailable": "half"}}, "at '/podDisruptionBudget/minAvailable'")
    # Any Pod counts (an evicted leader hands the Lease over), but a budget that keeps every Pod
    # would block every node drain.
    for blocking in (2, "100%"):
        _fails(helm, {"ha": {"enabled": True}, "podDisruptionBudget": {"minAvailable": blocking}},
               f"podDisruptionBudget.minAvailable ({blocking}) must be below the 2 replicas")
    [half] = _kind(helm.render({"ha": {"enabled": True}, "podDisruptionBudget": {"minAvailable": "50%"}}),
                   "PodDisruptionBudget")
    assert half["spec"]["minAvailable"] == "50%"


# --- the CRD through the chart -----------------------------------------------------------------


def test_crds_enabled_renders_the_crds_folder_files_with_labels_and_keep_policy(helm: Helm) -> None:
    assert not _kind(helm.render(), "CustomResourceDefinition")
    rendered = {crd["metadata"]["name"]: crd for crd in _kind(helm.render({"crds": {"enabled": True}}),
                                                               "CustomResourceDefinition")}
    sources = [yaml.safe_load(path.read_text()) for path in sorted(CRD_FILE.parent.glob("*.yaml"))]
    assert set(rendered) == {source["metadata"]["name"] for source in sources} >= {
        "campaignmigrations.tendlc.io", "migrationwaves.tendlc.io"}
    for source in sources:
        crd = rendered[source["metadata"]["name"]]
        assert crd["spec"] == source["spec"]
        assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert crd["metadata"]["labels"]["app.kubernetes.io/part-of"] == "tendlc"
    unkept = _kind(helm.render({"crds": {"enabled": True, "keep": False}}), "CustomResourceDefinition")
    assert unkept
    assert all("annotations" not in crd["metadata"] for crd in unkept)
    _fails(helm, {"crds": {"enable": True}}, "additional properties 'enable' not allowed")


# --- tenant safety ------------------------------------------------------------------------------


def test_partner_urls_must_match_the_allow_list_at_install(helm: Helm) -> None:
    env = _env(helm.render({"infobip": {"baseUrl": "https://xyz.api.infobip.com"}}))
    assert json.loads(env["TENDLC_ALLOWED_PARTNER_HOSTS"]) == [
        "https://api.infobip.com", "https://*.api.infobip.com",
        "https://csp-api.campaignregistry.com", "https://csp-api-staging.campaignregistry.com",
    ]
    if "allowed_partner_hosts" in Settings.model_fields:  # the operator's own default, once it has one
        assert json.loads(env["TENDLC_ALLOWED_PARTNER_HOSTS"]) == Settings().allowed_partner_hosts
    for url in ("https://attacker.example.com", "https://a.b.api.infobip.com", "http://xyz.api.infobip.com",
                "https://xyz.api.infobip.com:8443", "https://api.infobip.com.attacker.example"):
        _fails(helm, {"infobip": {"baseUrl": url}}, f"infobip.baseUrl {url} matches no allowedPartnerHosts entry")
    _fails(helm, {"tcr": {"baseUrl": "https://csp-api.evil.example/v2"}}, "tcr.baseUrl")
    sandbox = {"allowedPartnerHosts": ["http://127.0.0.1:8085"],
               "infobip": {"baseUrl": "http://127.0.0.1:8085/infobip"}, "tcr": {"baseUrl": "http://127.0.0.1:8085/tcr/v2"}}
    assert _env(helm.render(sandbox))["TENDLC_INFOBIP_BASE_URL"] == "http://127.0.0.1:8085/infobip"
    for entry in ("https://api.infobip.com/path", "https://user@api.infobip.com", "ftp://api.infobip.com",
                  "https://api.infobip.com?x=1"):
        _fails(helm, {"allowedPartnerHosts": [entry]}, "at '/allowedPartnerHosts/0'")
    _fails(helm, {"allowedPartnerHosts": []}, "at '/allowedPartnerHosts'")


def test_webhook_public_url_must_be_https_unless_explicitly_allowed(helm: Helm) -> None:
    insecure = {"webhook": {"publicUrl": "http://hooks.example.com/webhooks/infobip"}}
    _fails(helm, insecure, "webhook.publicUrl must be https")
    allowed = _env(helm.render({"webhook": {**insecure["webhook"], "allowInsecurePublicUrl": True}}))
    assert allowed["TENDLC_WEBHOOK_ALLOW_HTTP"] == "true"
    assert "TENDLC_WEBHOOK_ALLOW_HTTP" not in _env(helm.render())


def test_bind_addresses_are_passed_only_when_set(helm: Helm) -> None:
    default = _env(helm.render())
    assert "TENDLC_METRICS_BIND_ADDRESS" not in default
    assert "TENDLC_WEBHOOK_BIND_ADDRESS" not in default
    env = _env(helm.render({"metrics": {"bindAddress": "127.0.0.1"}, "webhook": {"bindAddress": "::"}}))
    assert (env["TENDLC_METRICS_BIND_ADDRESS"], env["TENDLC_WEBHOOK_BIND_ADDRESS"]) == ("127.0.0.1", "::")
    _fails(helm, {"metrics": {"bindAddress": "localhost:9090"}}, "at '/metrics/bindAddress'")


def _peak_rss_mib_at_5000() -> float:
    runs = [json.loads(path.read_text()) for path in (REPO_ROOT / "bench" / "results").glob("*-n5000*.json")]
    peaks = [run["operator"]["peakRssMiB"] for run in runs if "peakRssMiB" in run.get("operator", {})]
    assert peaks, "no N=5,000 benchmark result in bench/results"
    return max(peaks)


def test_memory_limit_covers_the_measured_peak_at_5000_resources(helm: Helm) -> None:
    limit = _pod(helm.render())["containers"][0]["resources"]["limits"]["memory"]
    assert limit.endswith("Mi"), limit
    assert int(limit.removesuffix("Mi")) >= _peak_rss_mib_at_5000() * 1.2, "keep ≥ 20% headroom over the peak"
    sizing = (REPO_ROOT / "docs" / "install.md").read_text()
    assert f"{_peak_rss_mib_at_5000():.0f} MiB" in sizing, "docs/install.md's sizing table quotes the peak"


def test_network_policy_admits_only_the_webhook_metrics_and_the_test_pod(helm: Helm) -> None:
    assert not _kind(helm.render(), "NetworkPolicy")
    objects = helm.render({"networkPolicy": {"enabled": True}})
    [policy] = _kind(objects, "NetworkPolicy")
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    webhook, metrics = spec["ingress"]
    assert webhook["ports"] == [{"port": "webhook", "protocol": "TCP"}]
    assert webhook["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    [test_pod] = _kind(objects, "Pod")
    test_peer = metrics["from"][-1]["podSelector"]["matchLabels"]
    assert test_peer.items() <= test_pod["metadata"]["labels"].items()
    [deployment] = _kind(objects, "Deployment")
    assert spec["podSelector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    egress = [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 443, "protocol": "TCP"}]}]
    [restricted] = _kind(helm.render({"networkPolicy": {"enabled": True, "egress": egress}}), "NetworkPolicy")
    assert restricted["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert restricted["spec"]["egress"] == egress
    _fails(helm, {"networkPolicy": {"metricsFrom": [{"namespaceSelectr": {}}]}}, "'namespaceSelectr' not allowed")


# --- the helm test hook -------------------------------------------------------------------------


def _test_pod(helm: Helm, values: dict[str, Any] | None = None) -> dict[str, Any]:
    [pod] = _kind(helm.render(values), "Pod")
    return pod


def test_helm_test_pod_is_a_hook_asking_the_operator_through_its_service(helm: Helm) -> None:
    pod = _test_pod(helm, {"webhook": {"authSecret": "webhook-auth"}})
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    container = pod["spec"]["containers"][0]
    assert container["image"] == "tendlc/operator:0.1.0"
    assert container["args"][0] == f"http://tendlc.{NAMESPACE}.svc:9090/metrics"
    assert container["args"][2] == f"http://tendlc.{NAMESPACE}.svc:8081/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert len(_test_pod(helm)["spec"]["containers"][0]["args"]) == 2  # no receiver without its Secret


@pytest.fixture
async def operator_metrics() -> AsyncIterator[tuple[Metrics, str]]:
    """A metrics server shaped like the operator's once started (for_settings, a status source)."""
    metrics = Metrics.for_settings(Settings())
    server = MetricsServer(metrics)
    url = await server.start("127.0.0.1", 0)
    try:
        yield metrics, url
    finally:
        await server.stop()


def _run_test_script(pod: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    container = pod["spec"]["containers"][0]
    assert container["command"][:2] == ["python", "-c"]
    return subprocess.run([sys.executable, "-c", container["command"][2], *args],
                          capture_output=True, text=True, timeout=60, check=False)


async def test_helm_test_script_passes_only_once_the_operator_has_started(
    helm: Helm, operator_metrics: tuple[Metrics, str],
) -> None:
    metrics, url = operator_metrics
    pod = _test_pod(helm)
    expected = pod["spec"]["containers"][0]["args"][1]
    # Before the reconciler is wired (the operator still starting), the fleet gauges are missing.
    starting = await _in_thread(_run_test_script, pod, f"{url}/metrics", expected)
    assert starting.returncode == 1, starting.stdout
    assert "tendlc_campaign_migrations_stalled" in starting.stdout
    metrics.set_status_source(list)
    started = await _in_thread(_run_test_script, pod, f"{url}/metrics", expected)
    assert started.returncode == 0, started.stdout + started.stderr
    unreachable = await _in_thread(_run_test_script, pod, "http://127.0.0.1:9/metrics", expected)
    assert unreachable.returncode == 1


async def _in_thread(function: Any, *args: Any) -> Any:
    return await asyncio.to_thread(function, *args)


# --- against the real API server ----------------------------------------------------------------

EVERYTHING = {
    "image": {"digest": DIGEST},
    "ha": {"enabled": True},
    "networkPolicy": {"enabled": True, "egress": [{"ports": [{"port": 443, "protocol": "TCP"}]}]},
    "grafanaDashboard": {"enabled": True},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                   "whenUnsatisfiable": "ScheduleAnyway"}],
    "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
    "webhook": {"authSecret": "webhook-auth", "bindAddress": "0.0.0.0"},
    "metrics": {"bindAddress": "0.0.0.0"},
}


@pytest.fixture
def cluster_helm(helm: Helm, cluster: Cluster) -> Helm:
    return Helm(helm.binary, helm.home, cluster.kubeconfig)


def test_api_server_accepts_every_new_object_and_admits_both_pods_as_restricted(
    cluster: Cluster, crd: str, helm: Helm, namespace: str,
) -> None:
    cluster.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted",
                    "pod-security.kubernetes.io/enforce-version=latest")
    objects = helm.render({**EVERYTHING, "crds": {"enabled": True}}, release=f"conv-{uuid.uuid4().hex[:5]}",
                          namespace=namespace)
    kinds = {obj["kind"] for obj in objects}
    assert {"NetworkPolicy", "PodDisruptionBudget", "ConfigMap", "CustomResourceDefinition", "Pod", "Role"} <= kinds
    result = cluster.kubectl("apply", "--dry-run=server", "--validate=strict", "-f", "-",
                             input=yaml.safe_dump_all(objects), check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(server dry run)") == len(objects), result.stdout
    # The Deployment's Pod and the helm test Pod, as the restricted Pod Security admission sees them.
    [service_account] = _kind(objects, "ServiceAccount")
    cluster.kubectl("apply", "-f", "-", input=json.dumps(service_account))
    [deployment] = _kind(objects, "Deployment")
    operator_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "operator", "namespace": namespace},
                    "spec": deployment["spec"]["template"]["spec"]}
    for pod in (operator_pod, *_kind(objects, "Pod")):
        admitted = cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
        assert admitted.returncode == 0, admitted.stderr
        assert "violate" not in admitted.stderr, admitted.stderr


def test_network_policy_is_stored_as_rendered(cluster: Cluster, helm: Helm, namespace: str) -> None:
    """Applied for real and read back (not enforced here: the control plane has no network plugin)."""
    [policy] = _kind(helm.render({"networkPolicy": {"enabled": True}}, namespace=namespace), "NetworkPolicy")
    cluster.kubectl("apply", "-f", "-", input=json.dumps(policy))
    stored = cluster.get_json("networkpolicy", policy["metadata"]["name"], "-n", namespace)
    assert stored["spec"]["ingress"] == policy["spec"]["ingress"]


@pytest.fixture
def release(cluster_helm: Helm, namespace: str) -> Iterator[str]:
    name = f"crds-{uuid.uuid4().hex[:5]}"
    yield name
    cluster_helm.run("uninstall", name, "-n", namespace, "--ignore-not-found")


def test_crds_enabled_takes_the_crd_over_upgrades_it_and_keeps_it_on_uninstall(
    cluster: Cluster, crd: str, cluster_helm: Helm, namespace: str, release: str,
) -> None:
    def install(*args: str) -> subprocess.CompletedProcess[str]:
        return cluster_helm.run(*args, release, str(CHART_DIR), "-n", namespace, "--set", "crds.enabled=true",
                                check=False)

    # The CRD exists (crds/ or kubectl apply): Helm refuses to adopt it without --take-ownership.
    refused = install("install")
    assert refused.returncode != 0
    assert "cannot be imported into the current release" in refused.stderr
    cluster_helm.run("uninstall", release, "-n", namespace, "--ignore-not-found")
    taken = install("install", "--take-ownership")
    assert taken.returncode == 0, taken.stderr
    stored = cluster.get_json("crd", crd)
    assert stored["metadata"]["annotations"]["meta.helm.sh/release-name"] == release
    assert stored["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    upgraded = install("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    manifest = cluster_helm.run("get", "manifest", release, "-n", namespace).stdout
    assert "kind: CustomResourceDefinition" in manifest
    uninstalled = cluster_helm.run("uninstall", release, "-n", namespace)
    assert "campaignmigrations.tendlc.io" in uninstalled.stdout  # "These resources were kept"
    assert cluster.get_json("crd", crd)["metadata"].get("deletionTimestamp") is None


def test_schema_lists_exactly_the_api_servers_fields_for_each_kubernetes_type(cluster: Cluster) -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    typed = {name: d for name, d in schema["$defs"].items() if d.get("$comment", "").startswith("io.k8s.api.")}
    assert len(typed) >= 8
    documents: dict[str, Any] = {}
    for definition in typed.values():
        group = definition["$comment"].split(".")[3]
        path = "/openapi/v3/api/v1" if group == "core" else f"/openapi/v3/apis/{group}.k8s.io/v1"
        if path not in documents:
            documents[path] = json.loads(cluster.kubectl("get", "--raw", path).stdout)["components"]["schemas"]
        server = documents[path][definition["$comment"]]
        assert set(definition["properties"]) == set(server["properties"]), definition["$comment"]
        assert set(server.get("required", [])) <= set(definition.get("required", [])), definition["$comment"]


def test_kube_version_of_the_chart_admits_the_test_cluster(helm: Helm) -> None:
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == ">=1.27.0-0"
    too_old = helm.template(extra=("--kube-version", "v1.26.0"), check=False)
    assert too_old.returncode != 0
    assert "incompatible with Kubernetes v1.26.0" in too_old.stderr
    assert kube_version().startswith("v1.")
