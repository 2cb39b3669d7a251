"""The chaos run: many migrations through faults, SIGKILLs and a kube-apiserver restart; nothing lost,
duplicated or leaked.

Set-up: the real control plane; the chart installed with Helm; the operator as a separate process
(`python -m tendlc`) configured with the installed Deployment's environment and authenticated as
the chart's ServiceAccount (TokenRequest), receiving Infobip webhooks (BASIC auth) through the
subscription it creates; a sandbox of its own whose credentials are canary values, time x600,
rate limits tighter than the operator's client-side limits (→ 429s), and faults on: 5xx, TCR
591/630, dropped connections (half of them after the request took effect), answers held past the
client timeout, lost, duplicated and reordered webhooks.

During the run campaigns of every scenario are applied in waves; the operator is SIGKILLed — the
first three kills (at least) while a migrate/migrateCnp POST is held in flight by a slow fault
(the request took effect, the operator never hears the answer), the rest at random moments — and
restarted; once, kube-apiserver is restarted under the running operator (asserted, not assumed).
The sandbox accepts duplicates, so a resent POST shows up as a second campaign or election, and
the verdict counts requests *received*. Own-NNID campaigns are confirmed by the test (sandbox OSR
update + `tendlc.io/osr-updated`) when they wait for it.

A second run has **two operator processes active at once** (no leader election: both watch and
act on the same resources), one of them SIGKILLed and restarted midway: fenced status writes and
the search before every submit must keep every POST single.

Size and seed (printed, and in the figures line of the terminal summary):

    TENDLC_CHAOS_CAMPAIGNS (default 12)   TENDLC_CHAOS_KILLS (default 5, of which 3 with a POST in flight)
    TENDLC_CHAOS_SEED (default: random)   TENDLC_CHAOS_APISERVER_RESTARTS (default 1; 0 skips it)
    TENDLC_CHAOS_DUAL_CAMPAIGNS (default 8) TENDLC_CHAOS_REPORT=path.json (also write the figures there)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from support.chaos import (
    ApiServerRestarter,
    CampaignPlan,
    FaultTally,
    canary_leaks,
    check_invariants,
    plan_campaigns,
)
from support.cluster import Cluster
from support.helm import Helm, helm_binary, install_chart, service_account_kubeconfig
from support.migration import apply, create_partner_secrets
from support.operator import OperatorProcess, operator_env
from support.sandbox import Sandbox
from tendlc_dev.devcluster import free_port

CAMPAIGNS = int(os.environ.get("TENDLC_CHAOS_CAMPAIGNS", "12"))
KILLS = int(os.environ.get("TENDLC_CHAOS_KILLS", "5"))
IN_FLIGHT_KILLS = min(3, KILLS)
DUAL_CAMPAIGNS = int(os.environ.get("TENDLC_CHAOS_DUAL_CAMPAIGNS", "8"))
APISERVER_RESTARTS = int(os.environ.get("TENDLC_CHAOS_APISERVER_RESTARTS", "1"))
SEED = int(os.environ["TENDLC_CHAOS_SEED"]) if os.environ.get("TENDLC_CHAOS_SEED") else random.SystemRandom().randrange(
    1, 2**31)
FINAL_PHASES = {"Registered", "Failed"}
IN_FLIGHT_ENDPOINTS = {"infobip.migrate", "tcr.migrate_cnp"}
BEFORE_SUBMISSION = {None, "Pending", "ImportingNumbers", "ElectingCnp", "SubmittingMigration"}

pytestmark = [pytest.mark.e2e, pytest.mark.chaos,
              pytest.mark.timeout(600 + 12 * CAMPAIGNS + 40 * KILLS)]

CANARIES = {
    "infobip_api_key": "CANARY-ib-key-4f1c9a7e",
    "infobip_password": "CANARY-ib-pass-0b7d",
    "tcr_api_key": "CANARY-tcr-key-93ad",
    "tcr_api_secret": "CANARY-tcr-secret-e51f",
    "webhook_password": "CANARY-hook-pass-77c2",
    "loa_document": "CANARY-loa-document-2b8e",
}


def general_faults(seed: int) -> dict[str, Any]:
    """≥ 10 % of partner requests fail somehow; webhooks get lost, duplicated and reordered."""
    return {
        "seed": seed,
        "errorProbability": 0.05,
        "dropProbability": 0.04,
        "dropAfterEffectShare": 0.5,
        "slowProbability": 0.02,
        "slowSeconds": 3.5,  # past the operator's 2 s request timeout
        "tcrTemporaryProbability": 0.04,
        "webhookLossProbability": 0.15,
        "webhookDuplicateProbability": 0.25,
        "webhookReorderProbability": 0.25,
        "webhookReorderMaxHoldSeconds": 0.5,
    }


def in_flight_faults(seed: int) -> dict[str, Any]:
    """Every migrate/migrateCnp takes effect and its answer is held back: the kill lands in between."""
    return {**general_faults(seed), "errorProbability": 0, "dropProbability": 0, "tcrTemporaryProbability": 0,
            "slowProbability": 1.0, "slowSeconds": 6, "paths": ["/campaigns/migrate$", "/migrateCnp/"]}


def manifests(plan: CampaignPlan) -> list[dict[str, Any]]:
    loa = {"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": f"{plan.name}-loa", "labels": {"tendlc.io/usage": "loa"}},
           "stringData": {"loa.pdf": f"%PDF-1.7 {CANARIES['loa_document']}",
                          "signedDate": dt.date.today().isoformat()}}
    spec: dict[str, Any] = {"campaignId": plan.campaign_id, "numbers": list(plan.numbers),
                            "loaSecretRef": {"name": f"{plan.name}-loa"}}
    if plan.own_nnid:
        spec["nnid"] = "Own"
    resource = {"apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration", "metadata": {"name": plan.name},
                "spec": spec}
    return [loa, resource]


class Run:
    """The moving parts of one chaos run and the bookkeeping of what happened."""

    def __init__(self, cluster: Cluster, sandbox: Sandbox, namespace: str, env: dict[str, str], logs: Path,
                 rng: random.Random) -> None:
        self.cluster, self.sandbox, self.namespace, self.env, self.logs, self.rng = (
            cluster, sandbox, namespace, env, logs, rng)
        self.operator: OperatorProcess | None = None
        self.starts = 0
        self.kills = 0
        self.in_flight_kills = 0
        self.unexpected_exits = 0
        self.confirmed: set[str] = set()
        self.plans: dict[str, CampaignPlan] = {}

    # --- the operator ----------------------------------------------------------------------------

    def start_operator(self) -> None:
        self.starts += 1
        self.operator = OperatorProcess(self.env, self.logs / f"operator-{self.starts:02d}.log").start()

    def kill_operator(self) -> None:
        assert self.operator is not None
        self.operator.kill()
        self.operator = None
        self.kills += 1

    def check_operator(self) -> None:
        """An operator that died by itself is a finding: counted, and restarted so the run can finish."""
        if self.operator is not None and self.operator.process is not None and self.operator.process.poll() is not None:
            self.unexpected_exits += 1
            self.start_operator()

    # --- the cluster -----------------------------------------------------------------------------

    def resources(self) -> dict[str, dict[str, Any]]:
        result = self.cluster.kubectl("get", "cmig", "-n", self.namespace, "-o", "json", check=False, timeout=30)
        if result.returncode != 0:
            return {}
        return {item["metadata"]["name"]: item for item in json.loads(result.stdout)["items"]}

    def phases(self) -> dict[str, str | None]:
        return {name: (body.get("status") or {}).get("phase") for name, body in self.resources().items()}

    def apply(self, plans: list[CampaignPlan]) -> None:
        for plan in plans:
            self.plans[plan.name] = plan
        apply(self.cluster, self.namespace, *[doc for plan in plans for doc in manifests(plan)])

    def confirm_own_nnid(self, phases: dict[str, str | None] | None = None) -> None:
        """What the customer does: update OSR (the sandbox stands in for NetNumber), then annotate."""
        phases = self.phases() if phases is None else phases
        for name, phase in phases.items():
            plan = self.plans.get(name)
            if plan is None or not plan.own_nnid or name in self.confirmed or phase != "AwaitingOsrConfirmation":
                continue
            answer = httpx.post(f"{self.sandbox.url}/_admin/campaigns/{plan.campaign_id}/osr-updated", timeout=10)
            if answer.status_code != 200:
                continue  # not waiting for it yet; next time
            now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
            self.cluster.kubectl("annotate", "-n", self.namespace, f"cmig/{name}", f"tendlc.io/osr-updated={now}",
                                 "--overwrite")
            self.confirmed.add(name)

    def pause(self, seconds: float) -> None:
        """Waits while doing what a user would (confirming own-NNID campaigns)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.confirm_own_nnid()
            self.check_operator()
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0)))

    def wait_for_in_flight_post(self, since: int, timeout: float) -> bool:
        """True once a migrate/migrateCnp POST took effect and its (slow) answer is still held back."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.sandbox.ledger(since=since, limit=100_000, method="POST"):
                if entry["endpoint"] in IN_FLIGHT_ENDPOINTS and entry["fault"] == "slow" and entry["status"] is None:
                    return True
            self.confirm_own_nnid()
            time.sleep(0.1)
        return False

    def wait_until_final(self, timeout: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        resources: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            resources = self.resources()
            phases = {name: (body.get("status") or {}).get("phase") for name, body in resources.items()}
            if len(phases) == len(self.plans) and all(phase in FINAL_PHASES for phase in phases.values()):
                return resources
            self.confirm_own_nnid(phases)
            self.check_operator()
            time.sleep(1.0)
        return resources


@pytest.fixture
def chaos_sandbox(tmp_path: Path) -> Any:
    own = Sandbox(args=[
        "--time-scale", "600", "--rate-limit-scale", "3", "--seed", str(SEED), "--accept-duplicates",
        "--infobip-api-key", CANARIES["infobip_api_key"], "--infobip-password", CANARIES["infobip_password"],
        "--tcr-api-key", CANARIES["tcr_api_key"], "--tcr-api-secret", CANARIES["tcr_api_secret"],
    ], log_path=tmp_path / "sandbox.log").start()
    try:
        yield own
    finally:
        own.stop()


def test_chaos_run_loses_duplicates_and_leaks_nothing(
    cluster: Cluster, crd: str, namespace: str, apiserver: ApiServerRestarter, chaos_sandbox: Sandbox,
    figures: list[dict[str, Any]], tmp_path: Path,
) -> None:
    print(f"\nchaos seed: {SEED} (TENDLC_CHAOS_SEED={SEED} reproduces the draws)")
    started = time.monotonic()
    rng = random.Random(SEED)
    sandbox = chaos_sandbox
    binary = helm_binary()
    if binary is None:
        pytest.skip("no helm binary: run `make controlplane`")

    # The chart, installed for real; the operator runs as its ServiceAccount with its environment.
    create_partner_secrets(cluster, namespace, infobip_key=CANARIES["infobip_api_key"],
                           tcr_key=CANARIES["tcr_api_key"], tcr_secret=CANARIES["tcr_api_secret"])
    cluster.kubectl("create", "secret", "generic", "webhook-auth", "-n", namespace,
                    "--from-literal=username=infobip-hooks", f"--from-literal=password={CANARIES['webhook_password']}")
    webhook_port = free_port()
    helm = Helm(binary, tmp_path / "helm", cluster.kubeconfig)
    chart = install_chart(cluster, helm, release="chaos", namespace=namespace, values={
        "infobip": {"baseUrl": sandbox.infobip_url, "credentialsSecret": "partner-infobip"},
        "tcr": {"baseUrl": sandbox.tcr_url, "credentialsSecret": "partner-tcr"},
        "watchNamespaces": [namespace],
        "allowedPartnerHosts": [sandbox.url],  # exactly the sandbox: the credentials go nowhere else
        "webhook": {"port": webhook_port, "publicUrl": f"http://127.0.0.1:{webhook_port}/webhooks/infobip",
                    "authSecret": "webhook-auth", "allowInsecurePublicUrl": True},
        "log": {"level": "DEBUG", "format": "json"},
        "rateLimits": {"scale": 10},  # above the sandbox x3: bursts meet real 429s
        "backoff": {"initialSeconds": 0.3, "maxSeconds": 2},
        "requestTimeoutSeconds": 2,
        "recheckParkedSeconds": 1,
        # The sandbox runs 600 times faster: the D24 search window too (60 s / 600).
        "extraEnv": [{"name": "TENDLC_ABSENCE_WINDOW_SECONDS", "value": "0.1"}],
    })
    try:
        kubeconfig = service_account_kubeconfig(cluster, namespace, chart.service_account, tmp_path / "sa.kubeconfig")
        env = {**chart.operator_environment(), "KUBECONFIG": str(kubeconfig), "TENDLC_BIND_ADDRESS": "127.0.0.1",
               "TENDLC_METRICS_PORT": str(free_port()), "TENDLC_LIVENESS_PORT": "0"}
        assert env["TENDLC_WEBHOOK_PORT"] == str(webhook_port)
        assert "system:serviceaccount" in (kubeconfig.read_text())
        run = Run(cluster, sandbox, namespace, env, tmp_path, rng)
        tally = FaultTally(sandbox)
        tally.configure(general_faults(SEED))

        plans = plan_campaigns(CAMPAIGNS, rng)
        waves = max(1, min(len(plans), KILLS))
        batches = [plans[i::waves] for i in range(waves)]
        restart_at = KILLS // 2 if APISERVER_RESTARTS else -1
        if APISERVER_RESTARTS:
            assert apiserver.supported(), ("this cluster cannot restart its kube-apiserver "
                                           "(TENDLC_TEST_KUBECONFIG? set TENDLC_CHAOS_APISERVER_RESTARTS=0)")
        apiserver_seconds: float | None = None
        run.start_operator()
        run.apply(batches[0])
        for kill in range(KILLS):
            run.check_operator()
            if 0 < kill < len(batches):
                run.apply(batches[kill])
            if kill < IN_FLIGHT_KILLS:  # each wave brings fresh campaigns, so a POST is coming
                since = sandbox.last_seq()
                tally.configure(in_flight_faults(SEED + kill))
                caught = run.wait_for_in_flight_post(since, timeout=20)
                run.kill_operator()
                run.in_flight_kills += int(caught)
                tally.configure(general_faults(SEED + kill))
            else:
                run.pause(rng.uniform(0.5, 6.0))
                run.kill_operator()
            run.pause(rng.uniform(0.0, 1.0))
            run.start_operator()
            if kill == restart_at:
                run.pause(2.0)
                apiserver_seconds = apiserver.restart()
        for batch in batches[max(KILLS, 1):]:
            run.apply(batch)

        resources = run.wait_until_final(timeout=180 + 4 * CAMPAIGNS)
        if run.operator is not None:
            run.operator.stop()
        injected = tally.finish()
        ledger = sandbox.ledger(since=0, limit=100_000)
        deliveries = sandbox.admin("GET", "/webhooks")["deliveries"]
        verdict = check_invariants(plans, resources, sandbox)
        seen = {
            "operator logs": "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("operator-*.log"))),
            "events": cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout,
            "resources (status, annotations, metadata)": cluster.kubectl(
                "get", "cmig", "-n", namespace, "-o", "json").stdout,
        }
        leaks = canary_leaks(CANARIES, seen)
        partner_requests = [e for e in ledger if e["partner"] in {"infobip", "tcr"}]
        faulted = [e for e in partner_requests if e["fault"]]
        result = {
            "seed": SEED,
            "campaigns": len(plans),
            "scenarios": {s: sum(p.scenario == s for p in plans) for s in sorted({p.scenario for p in plans})},
            "final_phases": verdict.final,
            "kills": run.kills,
            "kills_with_post_in_flight": run.in_flight_kills,
            "operator_starts": run.starts,
            "unexpected_operator_exits": run.unexpected_exits,
            "apiserver_restarts": int(apiserver_seconds is not None),
            "apiserver_restart_seconds": round(apiserver_seconds, 1) if apiserver_seconds is not None else None,
            "partner_requests": len(partner_requests),
            "faulted_requests": len(faulted),
            "faulted_share": round(len(faulted) / max(len(partner_requests), 1), 3),
            "injected_share_without_429": round(sum(e["fault"] != "rate_limited" for e in faulted)
                                                / max(len(partner_requests), 1), 3),
            "faults_injected": {**injected,
                                "rate_limited_429": sum(e["fault"] == "rate_limited" for e in partner_requests)},
            "webhook_deliveries": {
                "attempts": len(deliveries),
                "duplicated": sum(bool(d.get("duplicate")) for d in deliveries),
                "reordered": sum(bool(d.get("reordered")) for d in deliveries),
                "lost": sum(d.get("outcome") == "lost" for d in deliveries),
                "answered_200": sum(d.get("httpStatus") == 200 for d in deliveries),
                "by_outcome": dict(sorted(Counter(
                    f"{d.get('outcome')}:{d.get('httpStatus') or 'no-answer'}" for d in deliveries).items())),
            },
            "duplicates_found": verdict.duplicates,
            "lost": verdict.lost,
            "leaks": len(leaks),
            "invariant_problems": len(verdict.problems),
            "seconds": round(time.monotonic() - started, 1),
        }
    finally:
        chart.uninstall()
    figures.append(result)
    print("CHAOS FIGURES " + json.dumps(result))
    if os.environ.get("TENDLC_CHAOS_REPORT"):
        Path(os.environ["TENDLC_CHAOS_REPORT"]).write_text(json.dumps(result, indent=2) + "\n")

    assert not verdict.problems, f"seed {SEED}:\n" + "\n".join(verdict.problems)
    assert (verdict.duplicates, verdict.lost) == (0, 0)
    assert leaks == [], leaks
    assert run.unexpected_exits == 0, "the operator exited by itself; see operator-*.log in " + str(tmp_path)
    assert run.kills == KILLS
    assert run.in_flight_kills >= IN_FLIGHT_KILLS, "kills with a migrate/migrateCnp POST held in flight"
    if APISERVER_RESTARTS:
        assert result["apiserver_restarts"] == 1, "kube-apiserver was not restarted under the operator"
    configured = general_faults(SEED)
    assert configured["errorProbability"] + configured["dropProbability"] + configured["slowProbability"] >= 0.10
    assert "Infobip webhook subscription" in seen["operator logs"]  # the webhook secret was in use


def test_two_active_operators_never_send_a_post_twice(
    cluster: Cluster, crd: str, namespace: str, chaos_sandbox: Sandbox, figures: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """Two operator processes, both active (no leader election), on the same resources, with faults."""
    print(f"\ndual-writer seed: {SEED}")
    started = time.monotonic()
    rng = random.Random(SEED + 1)
    sandbox = chaos_sandbox
    create_partner_secrets(cluster, namespace, infobip_key=CANARIES["infobip_api_key"],
                           tcr_key=CANARIES["tcr_api_key"], tcr_secret=CANARIES["tcr_api_secret"])
    tally = FaultTally(sandbox)
    tally.configure(general_faults(SEED + 1))

    def env() -> dict[str, str]:
        return operator_env(sandbox, namespace, TENDLC_REQUEST_TIMEOUT_SECONDS="2",
                            TENDLC_BACKOFF_INITIAL_SECONDS="0.3", TENDLC_BACKOFF_MAX_SECONDS="2")

    runs = [Run(cluster, sandbox, namespace, env(), tmp_path / name, rng) for name in ("a", "b")]
    for run in runs:
        run.logs.mkdir()
        run.start_operator()
    plans = plan_campaigns(DUAL_CAMPAIGNS, rng)
    for run in runs:
        run.plans = {plan.name: plan for plan in plans}
    runs[0].apply(plans[: len(plans) // 2])
    runs[0].pause(rng.uniform(2.0, 5.0))
    runs[0].kill_operator()  # one writer dies mid-flight; the other keeps going meanwhile
    runs[1].apply(plans[len(plans) // 2 :])
    runs[1].pause(rng.uniform(1.0, 3.0))
    runs[0].start_operator()
    resources = runs[1].wait_until_final(timeout=180 + 6 * DUAL_CAMPAIGNS)
    for run in runs:
        if run.operator is not None:
            run.operator.stop()
    injected = tally.finish()
    verdict = check_invariants(plans, resources, sandbox)
    logs = "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("*/operator-*.log")))
    result = {
        "run": "two active operators",
        "seed": SEED,
        "campaigns": len(plans),
        "final_phases": verdict.final,
        "kills": runs[0].kills,
        "status_conflicts_seen": logs.count("status changed by another writer"),
        "faults_injected": injected,
        "duplicates_found": verdict.duplicates,
        "lost": verdict.lost,
        "invariant_problems": len(verdict.problems),
        "seconds": round(time.monotonic() - started, 1),
    }
    figures.append(result)
    print("CHAOS FIGURES " + json.dumps(result))
    assert not verdict.problems, f"seed {SEED}:\n" + "\n".join(verdict.problems)
    assert (verdict.duplicates, verdict.lost) == (0, 0)
    assert all(run.unexpected_exits == 0 for run in runs)


def test_plans_are_reproducible_from_the_seed() -> None:
    first, second = plan_campaigns(20, random.Random(SEED)), plan_campaigns(20, random.Random(SEED))
    assert first == second
    assert {p.scenario for p in first} == {"happy", "tcr_temporary", "own_nnid", "rejected", "declined", "expired"}
    assert yaml.safe_dump([manifests(p) for p in first])  # serialisable as applied
