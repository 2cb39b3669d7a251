"""The Helm chart as tests and the demo use it: render it, install it, and act as its ServiceAccount.

`install_chart` puts `helm/tendlc` into a cluster; `service_account_kubeconfig` turns the chart's
ServiceAccount into a kubeconfig (a short-lived token from the TokenRequest API), so the operator
can run *locally* with exactly the permissions the chart grants. `InstalledChart.operator_environment`
gives the `TENDLC_*` variables of the installed Deployment, so that local process is also configured
exactly as the Pod would be:

    chart = install_chart(cluster, helm, release="demo", namespace="tendlc-system",
                          values={"watchNamespaces": ["team-a"]})
    kubeconfig = service_account_kubeconfig(cluster, chart.namespace, chart.service_account, tmp / "sa")
    env = {**os.environ, **chart.operator_environment(), "KUBECONFIG": str(kubeconfig)}
    subprocess.Popen([sys.executable, "-m", "tendlc"], env=env)

Helm keeps its cache and configuration under `Helm.home`, never in the user's home directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from support.cluster import Cluster
from tendlc_dev import devcluster

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "helm" / "tendlc"


def kube_version() -> str:
    """The Kubernetes version the control plane is built at (hack/k8s/go.mod), for `helm template`.

    Offline, Helm assumes v1.20, which the chart's `kubeVersion` (>= 1.27) refuses.
    """
    for line in (REPO_ROOT / "hack" / "k8s" / "go.mod").read_text().splitlines():
        if line.startswith("require k8s.io/kubernetes "):
            return line.split()[-1]
    raise AssertionError("hack/k8s/go.mod names no k8s.io/kubernetes version")


def helm_binary() -> Path | None:
    """The helm built by `make controlplane`, else one on PATH, else None."""
    built = devcluster.bin_dir() / "helm"
    if built.exists():
        return built
    found = shutil.which("helm")
    return Path(found) if found else None


@dataclass(frozen=True)
class Helm:
    """Runs the helm binary with its state kept under `home` and, when given, a kubeconfig."""

    binary: Path
    home: Path
    kubeconfig: Path | None = None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
        env.update(
            HELM_CACHE_HOME=str(self.home / "cache"),
            HELM_CONFIG_HOME=str(self.home / "config"),
            HELM_DATA_HOME=str(self.home / "data"),
        )
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Runs helm; raises with helm's stderr when `check` and it fails."""
        command = [str(self.binary), *args]
        if self.kubeconfig is not None:
            command.append(f"--kubeconfig={self.kubeconfig}")
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, env=self.environment()
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def values_file(self, values: dict[str, Any] | None, name: str = "values") -> Path:
        """Writes `values` to a file under `home` for `-f`."""
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / f"{name}.yaml"
        path.write_text(yaml.safe_dump(values or {}, sort_keys=False))
        return path

    def template(
        self, values: dict[str, Any] | None = None, *, release: str = "tendlc",
        namespace: str = "tendlc-system", check: bool = True, extra: tuple[str, ...] = (),
    ) -> subprocess.CompletedProcess[str]:
        """`helm template` of the chart (offline: no kubeconfig is passed)."""
        offline = Helm(self.binary, self.home)
        return offline.run(
            "template", release, str(CHART_DIR), "--namespace", namespace, "--kube-version", kube_version(),
            "-f", str(self.values_file(values, "template-values")), *extra, check=check,
        )

    def render(self, values: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        """The rendered templates as a list of objects (empty documents dropped)."""
        rendered = self.template(values, **kwargs).stdout
        return [doc for doc in yaml.safe_load_all(rendered) if doc]


@dataclass
class InstalledChart:
    """A release of the chart in a cluster; `uninstall` is idempotent."""

    cluster: Cluster
    helm: Helm
    release: str
    namespace: str
    deployment_name: str
    service_account: str
    values: dict[str, Any] = field(default_factory=dict)

    def manifest(self) -> list[dict[str, Any]]:
        """The objects of the release's current revision, as Helm recorded them."""
        rendered = self.helm.run("get", "manifest", self.release, "--namespace", self.namespace).stdout
        return [doc for doc in yaml.safe_load_all(rendered) if doc]

    def deployment(self) -> dict[str, Any]:
        result: dict[str, Any] = self.cluster.get_json("deployment", self.deployment_name, "-n", self.namespace)
        return result

    def upgrade(self, values: dict[str, Any]) -> None:
        self.values = values
        self.helm.run(
            "upgrade", self.release, str(CHART_DIR), "--namespace", self.namespace,
            "-f", str(self.helm.values_file(values, f"{self.release}-values")),
        )

    def uninstall(self) -> None:
        self.helm.run("uninstall", self.release, "--namespace", self.namespace, "--ignore-not-found")

    def operator_environment(self, pod_name: str = "tendlc-local") -> dict[str, str]:
        """The operator container's environment as installed, for running the operator locally.

        Plain values are copied; `fieldRef`s to the Pod's name and namespace are resolved (the
        name becomes `pod_name`); any other `valueFrom` is left out.
        """
        container = self.deployment()["spec"]["template"]["spec"]["containers"][0]
        fields = {"metadata.name": pod_name, "metadata.namespace": self.namespace}
        env: dict[str, str] = {}
        for variable in container.get("env", []):
            if "value" in variable:
                env[variable["name"]] = variable["value"]
            elif "fieldRef" in variable.get("valueFrom", {}):
                path = variable["valueFrom"]["fieldRef"]["fieldPath"]
                if path in fields:
                    env[variable["name"]] = fields[path]
        return env


def install_chart(
    cluster: Cluster, helm: Helm, *, release: str, namespace: str, values: dict[str, Any] | None = None,
) -> InstalledChart:
    """`helm install` into an existing namespace, without waiting for the Pod (it may never run).

    The chart's CRDs are created only when absent (Helm never updates or deletes them), so this
    is safe next to tests that apply `crds/` themselves.
    """
    values = dict(values or {})
    helm.run(
        "install", release, str(CHART_DIR), "--namespace", namespace,
        "-f", str(helm.values_file(values, f"{release}-values")),
    )
    chart = InstalledChart(cluster, helm, release, namespace, deployment_name="", service_account="", values=values)
    deployment = next(obj for obj in chart.manifest() if obj["kind"] == "Deployment")
    chart.deployment_name = deployment["metadata"]["name"]
    chart.service_account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    return chart


def service_account_kubeconfig(
    cluster: Cluster, namespace: str, service_account: str, path: Path, *, duration: str = "2h",
) -> Path:
    """A kubeconfig that authenticates as `namespace/service_account` with a TokenRequest token.

    Server and CA are those of `cluster`; the default namespace is the ServiceAccount's.
    """
    token = cluster.kubectl(
        "create", "token", service_account, "-n", namespace, f"--duration={duration}"
    ).stdout.strip()
    admin = json.loads(cluster.kubectl("config", "view", "--minify", "--raw", "-o", "json").stdout)
    server = admin["clusters"][0]["cluster"]
    user = f"system:serviceaccount:{namespace}:{service_account}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "tendlc", "cluster": server}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "tendlc", "context": {"cluster": "tendlc", "user": user, "namespace": namespace}}],
        "current-context": "tendlc",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
