"""`python -m bench.wave`: a MigrationWave of 1,000 members, two windows, a cut-over — issue 14's benchmark.

Starts its own control plane, the sandbox (limits × --rate-limit-scale, time × --time-scale) and the
operator with its webhook receiver and Infobip subscription (the path users run), creates a routing
ConfigMap, a wave whose two explicit windows open --lead seconds after it is applied (each
--windows seconds long, --gap apart), and N members labelled for it, and measures until every
member is final and the wave Complete:

- every migrate request the sandbox *received* against the windows: none outside, and the rate
  while a window is open as a share of the migrate ceiling (bench/wave_analyze.py says how);
- failures (must be 0);
- REGISTERED at Infobip (the sandbox's own record) → traffic switched (the member's
  trafficSwitchedAt), and the operator's registeredAt → trafficSwitchedAt, p50/p99;
- the API server's write requests per member, by resource (the wave's status and Events, the
  members' status and Events, the ConfigMap), beside a plain run's from bench/results if present.

maxInFlight is derived from the sandbox's registration delay so the ceiling can be reached, unless
given: ceiling × (D24 search window + registration delay + slack) × 2; both are stated in the
results. The derivation leaves out the import and the election of members released into a
running window: at 1,000 members it gives 200, and the second window then reaches 0.88 of the
ceiling; `make bench` passes 300 (both windows ≥ 0.95, results 20261202T010050). The canary is 0 here (the canary's own wait is not what this measures).

Writes bench/results/<timestamp>-wave-n<N>.json. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import math
import sys
import time
from typing import Any

from bench.analyze import rate_efficiency, request_delta
from bench.run import RESULTS, code_version, settle_writes
from bench.stack import (
    FINAL_PHASES,
    LOA_SECRET,
    NAMESPACE,
    PhaseWatch,
    Sampler,
    SandboxAdmin,
    Stack,
    run_and_save,
    log,
    machine,
    migration,
)
from bench.wave_analyze import epoch, migrate_times, switch_latency, window_report, writes_by_resource
from tendlc_dev.devcluster import REPO_ROOT, free_port

WAVE_CRD = REPO_ROOT / "crds" / "migrationwaves.tendlc.io.yaml"
WAVE = "bench"
ROUTING = "bench-routing"
WEBHOOK_SECRET = "webhook-auth"
MIGRATE_PER_SECOND = 1.0  # Infobip's documented registration write limit (tendlc.clients.ratelimit)
# The sandbox's schedule (docs/sandbox.md): OSR update 600 s after the migrate, REGISTERED 600 s later.
REGISTRATION_SANDBOX_SECONDS = 1200.0
ABSENCE_WINDOW_SECONDS = 60.0  # D24's window at real speed; the bench scales it like the partners


def rfc3339(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def derived_max_in_flight(args: argparse.Namespace) -> dict[str, float]:
    ceiling = MIGRATE_PER_SECOND * args.rate_limit_scale
    registration = REGISTRATION_SANDBOX_SECONDS / args.time_scale
    search = ABSENCE_WINDOW_SECONDS / args.rate_limit_scale
    slack = 2.0
    return {"migrateCeilingPerSecond": ceiling, "registrationDelaySeconds": registration,
            "searchWindowSeconds": search, "slackSeconds": slack,
            "maxInFlight": math.ceil(ceiling * (search + registration + slack) * 2)}


def wave_manifest(windows: list[tuple[float, float]], max_in_flight: int) -> dict[str, Any]:
    return {
        "apiVersion": "tendlc.io/v1alpha1", "kind": "MigrationWave",
        "metadata": {"name": WAVE, "namespace": NAMESPACE},
        "spec": {
            "selector": {"matchLabels": {"tendlc.io/wave": WAVE}},
            "canary": 0, "maxInFlight": max_in_flight, "maxFailed": 5, "stuckAfter": "1h",
            "windows": [{"start": rfc3339(start), "end": rfc3339(end)} for start, end in windows],
            "cutover": {"configMap": {"name": ROUTING, "key": "{campaignId}", "value": "infobip"}},
        },
    }


def plain_run_writes(scale: float, n: int) -> dict[str, Any] | None:
    """The newest plain (no wave, no cut-over) happy run of the same size and scale, if any."""
    for path in sorted(RESULTS.glob(f"*-n{n}.json"), reverse=True):
        try:
            result = json.loads(path.read_text())
        except ValueError:
            continue
        if result.get("scenario") == "happy" and result.get("settings", {}).get("rateLimitScale") == scale:
            api = result.get("apiserver") or {}
            return {"file": path.name, "writesPerMigration": api.get("writesPerMigration"),
                    "statusPatchesPerMigration": api.get("statusPatchesPerMigration"),
                    "eventWritesPerMigration": api.get("eventWritesPerMigration")}
    return None


def sandbox_registered_wall(admin: SandboxAdmin) -> dict[str, float]:
    """TCR campaign ID → wall time at which the sandbox made its Infobip campaign REGISTERED."""
    wall_ref = time.time()
    state = admin.get("/state")
    now, scale = float(state["epochSeconds"]), float(state["timeScale"])
    found: dict[str, float] = {}
    for campaign in state["campaigns"]:
        moment = campaign.get("registeredAt", campaign.get("registered_at"))
        tcr = campaign.get("tcrId", campaign.get("tcr_id"))
        if moment is not None and tcr:
            found[tcr] = wall_ref - (now - float(moment)) / scale
    return found


def wave_status(stack: Stack) -> dict[str, Any]:
    out = stack.kubectl("get", "mwave", WAVE, "-n", NAMESPACE, "-o", "json")
    status: dict[str, Any] = json.loads(out).get("status") or {}
    return status


def run(args: argparse.Namespace) -> dict[str, Any]:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    sizing = derived_max_in_flight(args)
    max_in_flight = args.max_in_flight or int(sizing["maxInFlight"])
    result: dict[str, Any] = {"timestamp": stamp, "scenario": "wave", "n": args.n, "code": code_version(),
                              "settings": {"rateLimitScale": args.rate_limit_scale, "timeScale": args.time_scale,
                                           "maxInFlight": max_in_flight, "sizing": sizing,
                                           "leadSeconds": args.lead, "windowSeconds": args.windows,
                                           "gapSeconds": args.gap}}
    stack = Stack(keep_dir=args.keep)
    try:
        stack.start_cluster()
        assert stack.kube is not None
        assert stack.cluster is not None
        kube = stack.kube
        result["machine"] = machine(kube)
        stack.kubectl("apply", "--server-side", "-f", str(WAVE_CRD))
        stack.kubectl("wait", "--for=condition=Established", "crd/migrationwaves.tendlc.io", "--timeout=60s")
        routing = {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": ROUTING, "namespace": NAMESPACE, "labels": {"tendlc.io/usage": "cutover"}}}
        stack.kubectl("apply", "-f", "-", input=json.dumps(routing))
        stack.start_sandbox(["--time-scale", f"{args.time_scale:g}", "--rate-limit-scale",
                             f"{args.rate_limit_scale:g}", "--sharing-decision-after", "60"])
        kube.secret(WEBHOOK_SECRET, {"username": "bench-hooks", "password": "bench-hook-password"})
        port = free_port()
        env = stack.operator_env(args.rate_limit_scale, {
            "TENDLC_BACKOFF_INITIAL_SECONDS": "1", "TENDLC_BACKOFF_MAX_SECONDS": "8",
            "TENDLC_WEBHOOK_PORT": str(port), "TENDLC_BIND_ADDRESS": "127.0.0.1",
            "TENDLC_WEBHOOK_PUBLIC_URL": f"http://127.0.0.1:{port}/webhooks/infobip",
            "TENDLC_WEBHOOK_ALLOW_HTTP": "true", "TENDLC_WEBHOOK_AUTH_SECRET__NAME": WEBHOOK_SECRET,
            "TENDLC_METRICS_PORT": str(free_port()),
        }, time_scale=args.time_scale)
        stack.start_operator(env)
        pid = stack.operator_pid()
        sampler = Sampler({"operator": pid, "sandbox": stack.processes["sandbox"].pid,
                           **{k: v for k, v in stack.cluster.pids.items() if k != "kube-controller-manager"}},
                          interval=0.5).start()
        admin = SandboxAdmin(stack.sandbox_url)
        watch = PhaseWatch(kube).start()
        time.sleep(3.0)
        before = kube.request_totals()
        own_before = dict(kube.own_requests)

        t_apply = time.time()
        first = t_apply + args.lead
        windows: list[tuple[float, float]] = []
        start = first
        for length in args.windows:
            windows.append((start, start + length))
            start += length + args.gap
        stack.kubectl("apply", "-f", "-", input=json.dumps(wave_manifest(windows, max_in_flight)))
        objects = []
        for index in range(args.n):
            member = migration(index, "CW", 2)
            member["metadata"]["labels"] = {"tendlc.io/wave": WAVE}
            member["spec"]["loaSecretRef"] = {"name": LOA_SECRET}
            objects.append(member)
        log(f"wave {WAVE!r}: {args.n} members, maxInFlight {max_in_flight}, windows "
            + ", ".join(f"+{s - t_apply:.0f}..+{e - t_apply:.0f} s" for s, e in windows))
        kube.create_all(objects)
        log(f"created in {time.time() - t_apply:.1f} s")

        def progress(phases: dict[str, str]) -> None:
            counts = collections.Counter(phases.values())
            log(f"{time.time() - t_apply:6.1f} s  " + ", ".join(f"{k or '-'}={v}" for k, v in sorted(counts.items())))

        def all_final(phases: dict[str, str]) -> bool:
            return len(phases) >= args.n and all(p in FINAL_PHASES for p in phases.values())

        reached = watch.wait_until(all_final, timeout=args.timeout, progress=progress)
        t_done = time.time()
        complete = False
        for _ in range(30):
            conditions = {c["type"]: c["status"] for c in wave_status(stack).get("conditions") or []}
            complete = conditions.get("Complete") == "True"
            if complete:
                break
            time.sleep(1.0)
        settle = settle_writes(kube)
        after = kube.request_totals()
        harness = {"campaignmigrations POST": kube.own_requests.get("POST campaignmigrations", 0)
                   - own_before.get("POST campaignmigrations", 0),
                   "migrationwaves POST": 1, "configmaps PATCH": 0}
        sampler.stop()
        watch.stop()
        ledger = admin.ledger()
        registered_wall = sandbox_registered_wall(admin)
        admin.close()
        items, _ = kube.list_migrations()
        statuses = {item["spec"]["campaignId"]: item.get("status") or {} for item in items}
        routing_data = json.loads(stack.kubectl("get", "configmap", ROUTING, "-n", NAMESPACE, "-o", "json")).get(
            "data") or {}
        final_wave = wave_status(stack)

        phases = collections.Counter(watch.phases.values())
        migrates = migrate_times(ledger)
        ceiling = MIGRATE_PER_SECOND * args.rate_limit_scale
        plain = plain_run_writes(args.rate_limit_scale, args.n)
        writes = writes_by_resource(request_delta(before, after), args.n, harness)
        result.update({
            "reached": reached and complete,
            "waveComplete": complete,
            "phases": dict(phases),
            "failures": phases.get("Failed", 0),
            "wallSeconds": round(t_done - t_apply, 1),
            "windows": [{"start": round(s - t_apply, 2), "end": round(e - t_apply, 2)} for s, e in windows],
            "submissions": window_report(migrates, windows, ceiling),
            "migratesPerCampaign": max(collections.Counter(
                c for e in ledger if e.get("endpoint") == "infobip.migrate" for c in e.get("campaigns") or ()
            ).values(), default=0),
            "rateLimits": rate_efficiency(ledger, args.rate_limit_scale),
            "registeredToSwitched": {
                "atInfobipToSwitched": switch_latency(
                    (registered_wall.get(tcr), epoch(status.get("trafficSwitchedAt")))
                    for tcr, status in statuses.items()),
                "operatorSeenToSwitched": switch_latency(
                    (epoch(status.get("registeredAt")), epoch(status.get("trafficSwitchedAt")))
                    for status in statuses.values()),
                "note": "atInfobip: the sandbox's REGISTERED moment (its clock, converted to wall time) to the "
                        "member's trafficSwitchedAt, through the webhook; operatorSeen: the pass that saw REGISTERED "
                        "to the ConfigMap write's success",
            },
            "switchedInRoutingTable": sum(1 for value in routing_data.values() if value == "infobip"),
            "apiserverWrites": {**writes, "settleSeconds": settle, "plainRun": plain,
                                "note": "cluster-wide write requests minus the harness's creates; the wave's cost is "
                                        "the difference to a plain run of the same size and scale (plainRun)"},
            "wave": {"counts": final_wave.get("counts"), "phase": final_wave.get("phase")},
            "operator": {"peakRssMiB": round(sampler.peak_rss("operator") / 2**20, 1),
                         "cpuSeconds": round(sampler.cpu_between("operator", t_apply, t_done), 2)},
        })
    finally:
        stack.close()
    return result


def headline(result: dict[str, Any]) -> str:
    sub = result["submissions"]
    lines = [f"wave n={result['n']} maxInFlight={result['settings']['maxInFlight']} wall={result['wallSeconds']} s "
             f"phases={result['phases']} complete={result['waveComplete']}",
             f"  migrates received: {sub['requests']}, outside windows: {sub['outsideWindows']}"]
    for window in sub["windows"]:
        lines.append(f"  window {window['window']}: {window['migrates']} migrates, {window['achievedPerSecond']}/s of "
                     f"{window['ceilingPerSecond']}/s = {window['efficiency']} (first after "
                     f"{window['firstRequestLagSeconds']} s)")
    switched = result["registeredToSwitched"]
    lines.append(f"  REGISTERED at Infobip → switched: {switched['atInfobipToSwitched']}")
    lines.append(f"  operator saw REGISTERED → switched: {switched['operatorSeenToSwitched']}")
    writes = result["apiserverWrites"]
    plain = writes.get("plainRun") or {}
    lines.append(f"  writes/member {writes['perMember']} (plain run: {plain.get('writesPerMigration')}) "
                 f"{writes['perMemberByResource']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wave", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rate-limit-scale", type=float, default=10.0)
    parser.add_argument("--time-scale", type=float, default=600.0)
    parser.add_argument("--max-in-flight", type=int, default=0, help="0: derived (see the module docstring)")
    parser.add_argument("--lead", type=float, default=30.0, help="seconds from the apply to the first window")
    parser.add_argument("--windows", type=float, nargs="+", default=[40.0, 80.0], help="window lengths (s)")
    parser.add_argument("--gap", type=float, default=20.0, help="seconds between windows")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    result = run_and_save(lambda: run(args), lambda r: f"{r['timestamp']}-wave-n{args.n}.json", headline)
    if result is None:
        return 130
    return 0 if result.get("reached") and result["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
