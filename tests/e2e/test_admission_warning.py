"""The chart's ValidatingAdmissionPolicy, applied to the real API server: `kubectl apply` warns —
never refuses — when a CampaignMigration lists more than 49 numbers without a number pool (D68)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from support.cluster import Cluster
from support.helm import Helm, helm_binary
from support.migration import migration

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = helm_binary()
    if binary is None:
        pytest.skip("no helm binary: run `make controlplane`")
    return Helm(binary, tmp_path_factory.mktemp("helm"))


@pytest.fixture
def policy(cluster: Cluster, crd: str, helm: Helm, namespace: str) -> Iterator[list[dict[str, Any]]]:
    """The chart's policy and binding for a release watching only this test's namespace."""
    objects = helm.render({"watchNamespaces": [namespace]}, release=f"vap-{uuid.uuid4().hex[:5]}")
    admission = [obj for obj in objects if obj["apiVersion"].startswith("admissionregistration.k8s.io/")]
    assert sorted(obj["kind"] for obj in admission) == ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(admission))
    yield admission
    for obj in admission:
        cluster.kubectl("delete", obj["kind"].lower(), obj["metadata"]["name"], "--ignore-not-found", check=False)


def _numbers(count: int, seed: int) -> list[str]:
    return [f"1{seed:03d}{i:07d}" for i in range(count)]


def _apply(cluster: Cluster, namespace: str, obj: dict[str, Any]) -> tuple[int, str]:
    result = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(obj), check=False)
    return result.returncode, result.stderr


def test_more_than_49_numbers_without_a_pool_is_warned_but_accepted(
    cluster: Cluster, namespace: str, policy: list[dict[str, Any]]
) -> None:
    warned = migration("fifty", "CWRN050", _numbers(50, 501))

    def warning_shown() -> str | None:
        # The API server loads a new policy asynchronously: a server-side dry run until it warns.
        stderr = cluster.kubectl("apply", "-n", namespace, "--dry-run=server", "-f", "-",
                                 input=json.dumps(warned)).stderr
        return stderr if "Warning:" in stderr else None

    cluster.wait_for(warning_shown, timeout=60, interval=0.5, what="the policy to take effect")
    code, stderr = _apply(cluster, namespace, warned)
    assert code == 0, stderr
    assert stderr.startswith("Warning: Validation failed for ValidatingAdmissionPolicy"), stderr
    assert "spec.numbers lists 50 numbers without spec.numberPoolId" in stderr
    assert "T-Mobile caps a campaign without a number pool at 49 numbers" in stderr
    assert "set spec.numberPoolId" in stderr
    assert cluster.get_json("-n", namespace, "cmig/fifty")["spec"]["numbers"] == warned["spec"]["numbers"]

    for name, campaign, spec in (
        ("forty-nine", "CWRN049", {"numbers": _numbers(49, 502)}),
        ("pooled", "CWRN200", {"numbers": _numbers(200, 503), "numberPoolId": "pool-7"}),
    ):
        quiet = migration(name, campaign, spec.pop("numbers"), **spec)
        code, stderr = _apply(cluster, namespace, quiet)
        assert code == 0, stderr
        assert "Warning" not in stderr, (name, stderr)


def test_a_namespace_the_operator_does_not_watch_gets_no_warning(
    cluster: Cluster, namespace: str, policy: list[dict[str, Any]]
) -> None:
    other = f"{namespace[:50]}-other"
    cluster.kubectl("create", "namespace", other)
    try:
        probe = migration("fifty", "CWRN051", _numbers(50, 504))
        cluster.wait_for(
            lambda: "Warning:" in cluster.kubectl("apply", "-n", namespace, "--dry-run=server", "-f", "-",
                                                  input=json.dumps(probe)).stderr,
            timeout=60, interval=0.5, what="the policy to take effect",
        )
        code, stderr = _apply(cluster, other, probe)
        assert code == 0, stderr
        assert "Warning" not in stderr
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)
