"""MigrationWaves end to end: the wave releases its members, the members make the partner calls.

Against the real API server, a sandbox process of their own (so its ledger is the test's alone)
and the operator: the canary goes first and alone, no more than `maxInFlight` members are ever
between their first partner request and a final phase (from the ledger's request times), an
exhausted failure budget halts the wave and nothing is released after, a closed window lets no
migrate reach the sandbox, and an approval gate holds the rest until `tendlc.io/approve`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.cluster import Cluster
from support.migration import apply, create_partner_secrets, loa_secret, migration, status_of, wait_for_phase
from support.operator import operator_env, operator_in_process
from support.sandbox import Sandbox, campaign_id, phone_numbers

pytestmark = pytest.mark.e2e
FINAL = {"Registered", "Failed"}


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    running = Sandbox(args=["--time-scale", "600"], log_path=tmp_path / "sandbox.log").start()
    try:
        yield running
    finally:
        running.stop()


def wave(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "tendlc.io/v1alpha1", "kind": "MigrationWave", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"tendlc.io/wave": name}}, **spec}}


def members(wave_name: str, count: int, prefix: str = "CH") -> list[tuple[str, str, dict[str, Any]]]:
    """(name, campaign ID, manifest) of `count` members labelled for the wave, in name order."""
    found = []
    for index in range(count):
        name, tcr_id = f"{wave_name}-m{index}", campaign_id(prefix)
        manifest = migration(name, tcr_id, phone_numbers(1))
        manifest["metadata"]["labels"] = {"tendlc.io/wave": wave_name}
        found.append((name, tcr_id, manifest))
    return found


def _member(wave_name: str, name: str, prefix: str = "CH") -> tuple[str, str, dict[str, Any]]:
    tcr_id = campaign_id(prefix)
    manifest = migration(name, tcr_id, phone_numbers(1))
    manifest["metadata"]["labels"] = {"tendlc.io/wave": wave_name}
    return name, tcr_id, manifest


def apply_members(cluster: Cluster, namespace: str, plan: list[tuple[str, str, dict[str, Any]]]) -> None:
    apply(cluster, namespace, *[doc for name, _, manifest in plan for doc in (loa_secret(f"{name}-loa"), manifest)])


def wave_status(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    status: dict[str, Any] = cluster.get_json("-n", namespace, f"mwave/{name}").get("status") or {}
    return status


def phases(cluster: Cluster, namespace: str) -> dict[str, str | None]:
    items = json.loads(cluster.kubectl("get", "cmig", "-n", namespace, "-o", "json").stdout)["items"]
    return {item["metadata"]["name"]: (item.get("status") or {}).get("phase") for item in items}


def first_requests(sandbox: Sandbox) -> dict[str, float]:
    """Campaign ID → wall time of the first partner request that concerned it."""
    first: dict[str, float] = {}
    for entry in sandbox.ledger(since=0, limit=100_000):
        if entry["partner"] in {"infobip", "tcr"}:
            for campaign in entry.get("campaigns") or ():
                first.setdefault(campaign, entry["wallTime"])
    return first


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def test_the_canary_goes_first_and_no_more_than_max_in_flight_ever_run(
    cluster: Cluster, crd: str, wave_crd: str, namespace: str, own_sandbox: Sandbox
) -> None:
    create_partner_secrets(cluster, namespace)
    plan = members("w1", 5)
    apply_members(cluster, namespace, plan)
    apply(cluster, namespace, wave("w1", canary=1, maxInFlight=2))
    with operator_in_process(namespace, operator_env(own_sandbox, namespace)):
        canary_name = plan[0][0]
        wait_for_phase(cluster, namespace, canary_name, "Registered", timeout=90)
        done = subprocess.run(
            [cluster.kubectl_path, f"--kubeconfig={cluster.kubeconfig}", "wait", "-n", namespace,
             "--for=condition=Complete", "mwave/w1", "--timeout=120s"],
            capture_output=True, text=True, check=False,
        )
        assert done.returncode == 0, done.stderr + json.dumps(wave_status(cluster, namespace, "w1"))
        statuses = {name: status_of(cluster, namespace, name) for name, _, _ in plan}
    first = first_requests(own_sandbox)
    canary_registered = dt.datetime.fromisoformat(statuses[canary_name]["registeredAt"].replace("Z", "+00:00"))
    for name, tcr_id, _ in plan[1:]:
        assert first[tcr_id] > canary_registered.timestamp() - 1, f"{name} called a partner before the canary passed"
    # In flight: from a member's first partner request to its registration.
    spans = [(first[tcr_id], dt.datetime.fromisoformat(statuses[name]["registeredAt"].replace("Z", "+00:00"))
              .timestamp()) for name, tcr_id, _ in plan]
    most = max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)
    assert most <= 2, spans
    for name, tcr_id, _ in plan:
        assert statuses[name]["release"]["wave"] == "w1"
        assert own_sandbox.attempts("migrate", tcr_id) == 1
    final = wave_status(cluster, namespace, "w1")
    assert final["counts"]["registered"] == 5
    assert final["phase"] == "Complete"


def test_an_exhausted_failure_budget_halts_the_wave_and_releases_nothing_after(
    cluster: Cluster, crd: str, wave_crd: str, namespace: str, own_sandbox: Sandbox
) -> None:
    create_partner_secrets(cluster, namespace)
    # By name: w2-a0 goes first, alone (maxInFlight 1); Infobip rejects it (prefix CRJ, docs/sandbox.md).
    plan = [(name, tcr_id, manifest) for name, tcr_id, manifest in (
        _member("w2", "w2-a0", "CRJ"), _member("w2", "w2-b0"), _member("w2", "w2-b1"), _member("w2", "w2-b2"))]
    apply_members(cluster, namespace, plan)
    apply(cluster, namespace, wave("w2", maxInFlight=1, maxFailed=1))

    def halted() -> dict[str, Any] | None:
        status = wave_status(cluster, namespace, "w2")
        return status if any(c["type"] == "Halted" and c["status"] == "True" for c in status.get("conditions", [])) \
            else None

    with operator_in_process(namespace, operator_env(own_sandbox, namespace)):
        stopped = cluster.wait_for(halted, timeout=120, what="the wave to halt")
        halted_at = dt.datetime.now(dt.UTC).timestamp()
        time.sleep(8)  # absence can only be shown by waiting: several wave passes, no release
        after = phases(cluster, namespace)
    assert after["w2-a0"] == "Failed"
    assert all(after[name] in {None, "Pending"} for name in ("w2-b0", "w2-b1", "w2-b2")), after
    first = first_requests(own_sandbox)
    assert [name for name, tcr_id, _ in plan[1:] if tcr_id in first] == []
    assert all(moment < halted_at for moment in first.values())
    condition = next(c for c in stopped["conditions"] if c["type"] == "Halted")
    assert condition["reason"] == "FailureBudgetExhausted"
    assert "w2-a0" in condition["message"]


def test_a_closed_window_lets_no_migrate_reach_the_partner_until_it_opens(
    cluster: Cluster, crd: str, wave_crd: str, namespace: str, own_sandbox: Sandbox
) -> None:
    create_partner_secrets(cluster, namespace)
    plan = members("w3", 2)
    apply_members(cluster, namespace, plan)
    opens = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    window = {"start": rfc3339(opens), "end": rfc3339(opens + dt.timedelta(minutes=5))}
    apply(cluster, namespace, wave("w3", maxInFlight=2, windows=[window]))
    with operator_in_process(namespace, operator_env(own_sandbox, namespace)):
        waiting = cluster.wait_for(
            lambda: (s if (s := status_of(cluster, namespace, plan[0][0])).get("conditions") and any(
                c["type"] == "Ready" and c["reason"] == "WaitingForWindow" for c in s["conditions"]) else None),
            timeout=60, what="WaitingForWindow",
        )
        assert waiting["phase"] == "SubmittingMigration"
        for name, _, _ in plan:
            wait_for_phase(cluster, namespace, name, "Registered", timeout=120)
    migrates = [e for e in own_sandbox.ledger(since=0, limit=100_000) if e["endpoint"] == "infobip.migrate"]
    assert migrates
    assert min(e["wallTime"] for e in migrates) >= opens.timestamp()
    imports = [e for e in own_sandbox.ledger(since=0, limit=100_000) if e["endpoint"] == "infobip.import_numbers"]
    assert min(e["wallTime"] for e in imports) < opens.timestamp()  # import and election ran ahead


def test_the_rest_waits_for_approval_after_the_canary(
    cluster: Cluster, crd: str, wave_crd: str, namespace: str, own_sandbox: Sandbox
) -> None:
    create_partner_secrets(cluster, namespace)
    plan = members("w4", 3)
    apply_members(cluster, namespace, plan)
    apply(cluster, namespace, wave("w4", canary=1, maxInFlight=3, approval={"afterCanary": True}))
    with operator_in_process(namespace, operator_env(own_sandbox, namespace)):
        wait_for_phase(cluster, namespace, plan[0][0], "Registered", timeout=90)
        cluster.wait_for(lambda: wave_status(cluster, namespace, "w4").get("phase") == "AwaitingApproval",
                         timeout=60, what="AwaitingApproval")
        held = phases(cluster, namespace)
        assert held[plan[1][0]] in {None, "Pending"}
        assert plan[1][1] not in first_requests(own_sandbox)
        cluster.kubectl("annotate", "-n", namespace, "mwave/w4", "tendlc.io/approve=looks-good")
        for name, _, _ in plan[1:]:
            wait_for_phase(cluster, namespace, name, "Registered", timeout=120)
    final = wave_status(cluster, namespace, "w4")
    assert final["lastHandledApproval"] == "looks-good"
