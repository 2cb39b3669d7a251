"""The harness is real: a stamped kube-apiserver, CRDs, RBAC, Kopf and the controller manager."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import kopf
from kopf.testing import KopfRunner

from support.cluster import Cluster
from tendlc_dev import devcluster

HERE = Path(__file__).parent
K8S_GO_MOD = HERE.parents[1] / "hack" / "k8s" / "go.mod"

WIDGET_CRD = textwrap.dedent("""
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: widgets.harness.tendlc.io
    spec:
      group: harness.tendlc.io
      scope: Namespaced
      names: {kind: Widget, plural: widgets, singular: widget}
      versions:
      - name: v1
        served: true
        storage: true
        subresources: {status: {}}
        additionalPrinterColumns:
        - {name: Target, type: string, jsonPath: .spec.name}
        - {name: Phase, type: string, jsonPath: .status.phase}
        - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                required: [name]
                properties: {name: {type: string}}
              status:
                type: object
                properties:
                  greeting: {type: string}
                  phase: {type: string}
""")


def _install_widget_crd(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=WIDGET_CRD)
    cluster.kubectl("wait", "--for=condition=Established", "crd/widgets.harness.tendlc.io", "--timeout=60s")


def _expected_version() -> str:
    for line in K8S_GO_MOD.read_text().splitlines():
        if line.startswith("require k8s.io/kubernetes "):
            return line.split()[-1]
    raise AssertionError("hack/k8s/go.mod names no k8s.io/kubernetes version")


def test_server_and_kubectl_report_the_stamped_version(cluster: Cluster) -> None:
    versions = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    expected = _expected_version()
    assert versions["serverVersion"]["gitVersion"] == expected
    assert versions["clientVersion"]["gitVersion"] == expected
    assert versions["serverVersion"]["minor"] == expected.split(".")[1]


def test_crd_with_status_subresource_prints_its_columns(cluster: Cluster, namespace: str) -> None:
    _install_widget_crd(cluster)
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=textwrap.dedent("""
        apiVersion: harness.tendlc.io/v1
        kind: Widget
        metadata: {name: gizmo}
        spec: {name: world}
    """))
    # The status subresource ignores status in the main resource and accepts it separately.
    cluster.kubectl("patch", "-n", namespace, "widget/gizmo", "--subresource=status", "--type=merge",
                    "-p", '{"status": {"phase": "Shiny"}}')
    table = cluster.kubectl("get", "-n", namespace, "widgets").stdout.splitlines()
    assert table[0].split() == ["NAME", "TARGET", "PHASE", "AGE"]
    assert table[1].split()[:3] == ["gizmo", "world", "Shiny"]


def test_rbac_denies_a_service_account_until_a_role_is_bound(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    cluster.kubectl("create", "serviceaccount", "reader", "-n", namespace)
    token = cluster.kubectl("create", "token", "reader", "-n", namespace, "--duration=10m").stdout.strip()
    assert token.count(".") == 2  # a signed JWT from TokenRequest
    config = json.loads(cluster.kubectl("config", "view", "--raw", "-o", "json").stdout)
    ca = config["clusters"][0]["cluster"]["certificate-authority-data"]
    as_reader = tmp_path / "reader.kubeconfig"
    as_reader.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": cluster.server, "certificate-authority-data": ca}}],
        "users": [{"name": "reader", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "reader"}}],
    }))
    denied = cluster.kubectl("get", "configmaps", "-n", namespace, kubeconfig=as_reader, check=False)
    assert denied.returncode != 0
    assert f'"system:serviceaccount:{namespace}:reader" cannot list resource "configmaps"' in denied.stderr

    cluster.kubectl("create", "role", "read-configmaps", "-n", namespace,
                    "--verb=get,list", "--resource=configmaps")
    cluster.kubectl("create", "rolebinding", "reader-reads", "-n", namespace, "--role=read-configmaps",
                    f"--serviceaccount={namespace}:reader")
    allowed = cluster.wait_for(
        lambda: cluster.kubectl("get", "configmaps", "-n", namespace, kubeconfig=as_reader, check=False)
        .returncode == 0,
        timeout=30, what="the RoleBinding to take effect",
    )
    assert allowed
    still_denied = cluster.kubectl("get", "secrets", "-n", namespace, kubeconfig=as_reader, check=False)
    assert "cannot list resource \"secrets\"" in still_denied.stderr


def test_kopf_operator_handles_an_object_and_patches_its_status(cluster: Cluster, namespace: str) -> None:
    _install_widget_crd(cluster)
    args = ["run", "--standalone", f"--namespace={namespace}", "--verbose", str(HERE / "harness_operator.py")]
    with KopfRunner(args, timeout=60, registry=kopf.OperatorRegistry()) as runner:
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=textwrap.dedent("""
            apiVersion: harness.tendlc.io/v1
            kind: Widget
            metadata: {name: doohickey}
            spec: {name: kopf}
        """))
        status = cluster.wait_for(
            lambda: cluster.get_json("-n", namespace, "widget/doohickey").get("status", {}).get("greeting"),
            timeout=30, what="Kopf to patch the status",
        )
        assert status == "hello kopf"
        cluster.kubectl("delete", "-n", namespace, "widget/doohickey", "--timeout=30s")
    assert runner.exit_code == 0, runner.output
    assert runner.exception is None
    assert "Handler 'greet' succeeded" in runner.output


def test_namespace_deletion_completes(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "doomed")
    cluster.kubectl("create", "configmap", "leftover", "-n", "doomed", "--from-literal=a=b")
    # Finishing a namespace deletion is the controller manager's job; without it this would hang.
    cluster.kubectl("delete", "namespace", "doomed", "--timeout=60s")
    gone = cluster.kubectl("get", "namespace", "doomed", check=False)
    assert "NotFound" in gone.stderr


def test_owner_references_are_garbage_collected(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "configmap", "owner", "-n", namespace)
    uid = cluster.get_json("-n", namespace, "configmap/owner")["metadata"]["uid"]
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "owned", "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]},
    }))
    cluster.kubectl("delete", "configmap", "owner", "-n", namespace)
    cluster.wait_for(
        lambda: cluster.kubectl("get", "configmap", "owned", "-n", namespace, check=False).returncode != 0,
        timeout=60, what="the garbage collector to delete the owned ConfigMap",
    )




def test_helm_reports_the_version_it_was_built_at() -> None:
    go_mod = (HERE.parents[1] / "hack" / "helm" / "go.mod").read_text()
    expected = next(line.split()[-1] for line in go_mod.splitlines() if line.startswith("require helm.sh/"))
    helm = devcluster.bin_dir() / "helm"
    version = subprocess.run([str(helm), "version", "--short"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith(expected)


def test_devcluster_cli_starts_and_stops_exactly_its_own_processes(tmp_path: Path) -> None:
    state_dir = tmp_path / "cli-cluster"
    command = [sys.executable, "-m", "tendlc_dev.devcluster"]
    up = subprocess.run([*command, "up", "--dir", str(state_dir)], capture_output=True, text=True, timeout=180)
    assert up.returncode == 0, up.stderr
    assert f"export KUBECONFIG={state_dir / 'kubeconfig'}" in up.stdout
    pids = json.loads((state_dir / "state.json").read_text())["pids"]
    assert set(pids) == {"etcd", "kube-apiserver", "kube-controller-manager"}
    try:
        kubectl = str(devcluster.bin_dir() / "kubectl")
        ready = subprocess.run([kubectl, f"--kubeconfig={state_dir / 'kubeconfig'}", "get", "--raw=/readyz"],
                               capture_output=True, text=True, timeout=30)
        assert ready.stdout == "ok"
    finally:
        down = subprocess.run([*command, "down", "--dir", str(state_dir)], capture_output=True, text=True,
                              timeout=60)
    assert down.returncode == 0, down.stderr
    for pid in pids.values():
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
