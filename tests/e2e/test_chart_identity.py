"""The chart's RBAC is enough: the operator, running as the chart's ServiceAccount, finishes a migration."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.cluster import Cluster
from support.helm import Helm, helm_binary, install_chart, service_account_kubeconfig
from support.migration import apply, condition, loa_secret, migration, wait_for_phase
from support.operator import OperatorProcess
from support.sandbox import INFOBIP_API_KEY, TCR_API_KEY, TCR_API_SECRET, Sandbox, campaign_id, phone_numbers
from tendlc_dev.devcluster import free_port

pytestmark = pytest.mark.e2e


def test_operator_as_the_charts_service_account_completes_a_migration(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, tmp_path: Path
) -> None:
    binary = helm_binary()
    assert binary is not None, "run `make controlplane`"
    team = f"{namespace}-team"
    cluster.kubectl("create", "namespace", team)
    try:
        # The operator's own Secrets live in the release namespace; the migration in a watched one.
        cluster.kubectl("create", "secret", "generic", "infobip-credentials", "-n", namespace,
                        f"--from-literal=apiKey={INFOBIP_API_KEY}")
        cluster.kubectl("create", "secret", "generic", "tcr-credentials", "-n", namespace,
                        f"--from-literal=apiKey={TCR_API_KEY}", f"--from-literal=apiSecret={TCR_API_SECRET}")
        cluster.kubectl("create", "secret", "generic", "webhook-auth", "-n", namespace,
                        "--from-literal=username=hooks", "--from-literal=password=chart-hook-password")
        webhook_port = free_port()
        chart = install_chart(
            cluster, Helm(binary, tmp_path / "helm", cluster.kubeconfig), release="tendlc", namespace=namespace,
            values={
                "infobip": {"baseUrl": sandbox.infobip_url, "credentialsSecret": "infobip-credentials"},
                "tcr": {"baseUrl": sandbox.tcr_url, "credentialsSecret": "tcr-credentials"},
                "watchNamespaces": [team],
                # Exactly the sandbox: credentials go nowhere else.
                "allowedPartnerHosts": [sandbox.url],
                "webhook": {"port": webhook_port, "authSecret": "webhook-auth", "allowInsecurePublicUrl": True,
                            "publicUrl": f"http://127.0.0.1:{webhook_port}/webhooks/infobip"},
                "backoff": {"initialSeconds": 0.2, "maxSeconds": 1},
                "recheckParkedSeconds": 1,
                # The sandbox runs 600 times faster: the D24 search window too (60 s / 600).
                "extraEnv": [{"name": "TENDLC_ABSENCE_WINDOW_SECONDS", "value": "0.1"}],
                "log": {"level": "DEBUG", "format": "json"},
            },
        )
        kubeconfig = service_account_kubeconfig(cluster, namespace, chart.service_account, tmp_path / "sa")
        env = {**chart.operator_environment(), "KUBECONFIG": str(kubeconfig), "TENDLC_BIND_ADDRESS": "127.0.0.1",
               "TENDLC_METRICS_PORT": str(free_port()), "TENDLC_LIVENESS_PORT": str(free_port())}
        tcr_id = campaign_id()
        apply(cluster, team, loa_secret("chart-loa"), migration("chart", tcr_id, phone_numbers(2)))
        operator = OperatorProcess(env, tmp_path / "operator.log").start()
        try:
            status = wait_for_phase(cluster, team, "chart", "Registered", timeout=90)
        finally:
            operator.stop()
        log = operator.log()
    finally:
        cluster.kubectl("delete", "namespace", team, "--wait=false", check=False)
    assert condition(status, "Ready")["status"] == "True"
    assert sandbox.attempts("migrate", tcr_id) == 1  # requests received, not only the one that took effect
    assert "Forbidden" not in log
    assert 'HTTP/1.1" 403' not in log  # no Kubernetes API request of the operator was refused
    assert "Infobip webhook subscription" in log  # it read its webhook Secret with the chart's Role
