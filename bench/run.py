"""`python -m bench.run`: the issue-8 benchmark — the operator against the sandbox's rate limits.

Starts its own control plane (tendlc_dev.devcluster, in a temp dir), the sandbox as a process (limits ×
--rate-limit-scale, time × --time-scale), installs the CRD, creates the partner Secrets and one
shared LOA Secret, starts the operator (`python -m tendlc`, same rate-limit scale, short backoff,
watching one namespace), creates N CampaignMigrations at once and measures:

  happy  rate-limit efficiency per endpoint class, 429s, failures; apiserver requests per migration;
         operator peak RSS / CPU; apply → first partner call; apply → all Registered (wall time);
         with --baseline also the no-operator floor (bench/baseline.py) and the ratio.
  idle   N stuck campaigns (IDs `CST…`, Infobip keeps them IN_MIGRATION) with no check due: operator
         CPU over --idle-seconds once all are InMigration.

Writes bench/results/<timestamp>-n<N>[-idle].json. Stops everything it started on exit, Ctrl-C or
SIGTERM. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench.analyze import (
    TARGET_CLASSES,
    api_cost,
    calls_per_migration,
    calls_per_route,
    per_second,
    rate_efficiency,
    request_delta,
    scheduler_efficiency,
    summary_stats,
)
from bench import cpu_budget
from bench.baseline import BASELINE_NAMESPACE, LEAN_NAMESPACE, run_baseline
from bench.stack import (
    FINAL_PHASES,
    PhaseWatch,
    Sampler,
    SandboxAdmin,
    Stack,
    run_and_save,
    log,
    machine,
    migration,
    operator_python,
)
from bench.storm_wrapper import RUN_WHAT_IFS

RESULTS = Path(__file__).resolve().parent / "results"

WEBHOOK_PLACEHOLDER = {
    "p50": None, "p99": None,
    "reason": "measured separately by `python -m bench.webhook_latency` (webhooks through the real receiver; "
              "this run has no webhook subscription, so every Registered here comes from a poll)",
}


def settle_writes(kube: Any, quiet: float = 3.0, limit: float = 180.0) -> float:
    """Waits until the API server has seen no write for `quiet` seconds (Events are posted from a
    queue and may trail the status); returns how long that took."""
    start = time.time()
    last = kube.request_totals()
    quiet_since = time.time()
    while time.time() - start < limit:
        time.sleep(1.0)
        now = kube.request_totals()
        writes = {k: v for k, v in request_delta(last, now).items() if k.split("|")[-1] in ("POST", "PATCH", "PUT")}
        if writes:
            last, quiet_since = now, time.time()
        elif time.time() - quiet_since >= quiet:
            break
    return round(time.time() - start, 1)


def code_version(where: Path | None = None) -> str:
    """The commit the operator runs from, '+dirty' when the working tree differs from it.

    `where`: the operator package directory when the operator runs other code than the harness
    (`--operator-env PYTHONPATH=<worktree>/operator`, a before/after comparison)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=False,
                              cwd=where or Path(__file__).resolve().parent).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain", "--", "operator") else "")


def sandbox_args(args: argparse.Namespace, scenario: str) -> list[str]:
    return ["--time-scale", f"{args.time_scale:g}", "--rate-limit-scale", f"{args.rate_limit_scale:g}",
            "--sharing-decision-after", f"{decision_after(args, scenario):g}"]


def decision_after(args: argparse.Namespace, scenario: str) -> float:
    """Sandbox seconds from migrateCnp to TCR's ACCEPTED (idle: at once, straight to migrate)."""
    return 0.0 if scenario == "idle" else args.sharing_decision_after


def operator_settings(args: argparse.Namespace, scenario: str) -> dict[str, str]:
    if scenario == "idle":
        # first poll after submission is due in [idle_backoff/2, idle_backoff]: nothing due in the window
        backoff = max(args.idle_seconds * 4, 600.0)
        return {"TENDLC_BACKOFF_INITIAL_SECONDS": f"{backoff:g}", "TENDLC_BACKOFF_MAX_SECONDS": f"{backoff:g}"}
    return {"TENDLC_BACKOFF_INITIAL_SECONDS": f"{args.backoff_initial:g}",
            "TENDLC_BACKOFF_MAX_SECONDS": f"{args.backoff_max:g}"}


def start_profiler(stack: Stack, kind: str, pid: int, out: Path) -> None:
    if kind in ("py-spy", "py-spy-gil"):
        # py-spy-gil samples only the thread holding the GIL: Python CPU time, not threads waiting on
        # a socket or descheduled on a busy machine (what a wall-clock profile mixes in)
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        stack.spawn("py-spy", [py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "50",
                               "--output", str(out), "--nonblocking", *(["--gil"] if kind == "py-spy-gil" else [])])
        time.sleep(1.0)


def stop_profiler(stack: Stack) -> None:
    process = stack.processes.pop("py-spy", None)
    if process is None:
        return
    process.send_signal(2)  # SIGINT: py-spy writes its output and exits
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def top_frames(collapsed: Path, limit: int = 25) -> dict[str, Any]:
    """Inclusive share of samples per function from py-spy's collapsed ('raw') output."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for stack, count in cpu_budget.collapsed_stacks(collapsed):
        frames = [frame.split(" (")[0] + " (" + frame.split(" (")[1].split(":")[0] + ")" if " (" in frame else frame
                  for frame in stack.split(";")]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    return {
        "samples": total,
        "inclusive": [(f, round(c / total, 3)) for f, c in inclusive.most_common(limit)] if total else [],
        "self": [(f, round(c / total, 3)) for f, c in own.most_common(limit)] if total else [],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    scenario, n = args.scenario, args.n
    stamp = time.strftime("%Y%m%dT%H%M%S")
    result: dict[str, Any] = {
        "timestamp": stamp, "scenario": scenario, "n": n, "code": code_version(),
        "settings": {
            "rateLimitScale": args.rate_limit_scale, "timeScale": args.time_scale,
            "numbersPerMigration": args.numbers,
            "operatorPython": operator_python(),
        },
    }
    stack = Stack(keep_dir=args.keep)
    try:
        stack.start_cluster()
        assert stack.kube is not None and stack.cluster is not None
        kube = stack.kube
        result["machine"] = machine(kube)
        stack.start_sandbox(sandbox_args(args, scenario))
        extra = {**operator_settings(args, scenario), **dict(item.split("=", 1) for item in args.operator_env)}
        if "PYTHONPATH" in extra:  # the operator runs other code (a before/after comparison): say which
            result["code"] = code_version(Path(extra["PYTHONPATH"].split(":")[0]))
            result["settings"]["harnessCode"] = code_version()
        env = stack.operator_env(args.rate_limit_scale, extra, time_scale=args.time_scale)
        result["settings"]["operatorEnv"] = {k: v for k, v in env.items() if k.startswith("TENDLC_") and
                                             "URL" not in k and "PORT" not in k}
        result["settings"]["whatIf"] = args.what_if
        stack.start_operator(env, wrapper=[operator_python(), "-m", "bench.storm_wrapper", "--what-if", args.what_if]
                             if args.what_if else None)
        pid = stack.operator_pid()
        pids = {"operator": pid, "sandbox": stack.processes["sandbox"].pid, **stack.cluster.pids}
        sampler = Sampler({k: v for k, v in pids.items() if k != "kube-controller-manager"}, interval=0.5).start()
        profile_out = RESULTS / f"{stamp}-n{n}-{scenario}.pyspy.txt"
        if args.profile != "none":
            RESULTS.mkdir(parents=True, exist_ok=True)
            start_profiler(stack, args.profile, pid, profile_out)
        admin = SandboxAdmin(stack.sandbox_url)
        watch = PhaseWatch(kube).start()
        time.sleep(3.0)  # let start-up (initial listing, imports) finish
        t_idle0 = time.time()
        time.sleep(args.pre_idle)  # operator idle with zero resources (baseline CPU of Kopf itself)
        t_idle1 = time.time()
        before = kube.request_totals()
        own_before = dict(kube.own_requests)
        objects = [migration(i, "CST" if scenario == "idle" else "CB", args.numbers) for i in range(n)]
        log(f"creating {n} CampaignMigrations ({scenario})")
        t_apply = time.time()
        created_at = kube.create_all(objects)
        t_created = time.time()
        log(f"created in {t_created - t_apply:.1f} s")

        def progress(phases: dict[str, str]) -> None:
            counts = collections.Counter(phases.values())
            log(f"{time.time() - t_apply:6.1f} s  " + ", ".join(f"{k or '-'}={v}" for k, v in sorted(counts.items())))

        target = {"InMigration"} if scenario == "idle" else FINAL_PHASES
        reached = watch.wait_until(
            lambda phases: len(phases) >= n and all(p in target or p == "Failed" for p in phases.values()),
            timeout=args.timeout, progress=progress)
        t_done = time.time()
        progress(dict(watch.phases))
        if not reached:
            log("TIMED OUT waiting for the final phases")
        # Events trail the status (a queue, D23): count the writes once they have stopped.
        writes_settle = settle_writes(kube)
        after = kube.request_totals()
        own = {k: v - own_before.get(k, 0) for k, v in kube.own_requests.items()}
        idle: dict[str, Any] | None = None
        waiting = watch.count(lambda phase: phase == "InMigration")
        if scenario == "idle" and waiting:  # measured even when some never got there (recorded as such)
            settled = settle_writes(kube)
            calls_before = len(admin.ledger())
            t0 = time.time()
            log(f"all {n} InMigration; measuring idle CPU for {args.idle_seconds:g} s")
            time.sleep(args.idle_seconds)
            t1 = time.time()
            cpu = sampler.cpu_between("operator", t0, t1)
            idle = {
                "windowSeconds": round(t1 - t0, 1),
                "operatorCpuSeconds": round(cpu, 3),
                "operatorCpuPercentOfOneCore": round(100 * cpu / (t1 - t0), 2),
                "partnerCallsInWindow": len(admin.ledger()) - calls_before,
                "waitingInMigration": waiting,
                "settleSeconds": settled,
                "note": "no check is due in the window (first poll after [backoff/2, backoff]); the window "
                        "starts once the operator's Kubernetes writes (queued Events) have stopped; "
                        "this is the O(N) part of waiting",
            }
        sampler.stop()
        watch.stop()
        stop_profiler(stack)
        ledger = admin.ledger()
        counters = admin.get("/counters")
        admin.close()

        phases = dict(watch.phases)
        final_counts = dict(collections.Counter(phases.values()))
        first_call = min((float(e["wallTime"]) for e in ledger), default=None)
        registered_at = [times["Registered"] - t_apply for times in watch.first_seen.values() if "Registered" in times]
        delta = request_delta(before, after)
        result.update({
            "phases": final_counts,
            "reached": reached,
            "failedMigrations": final_counts.get("Failed", 0),
            "createSeconds": round(t_created - t_apply, 2),
            "wallSeconds": round(t_done - t_apply, 2),
            "partnerCalls": len(ledger),
            "callsPerMigration": calls_per_migration(ledger, n),
            "callsPerMigrationByRoute": calls_per_route(ledger, n),
            "rateLimits": rate_efficiency(ledger, args.rate_limit_scale),
            "schedulerEfficiency": scheduler_efficiency(
                ledger, created_at, decision_after(args, scenario) / args.time_scale, args.rate_limit_scale),
            "exactlyOnce": {
                op: {"campaigns": len(by), "maxSuccesses": max((c["successes"] for c in by.values()), default=0)}
                for op, by in counters.items() if op in ("migrate", "migrateCnp")
            },
            "apiserver": {**api_cost(delta, own, n), "writesSettleSeconds": writes_settle},
            "apiserverRaw": delta,
            "operator": {
                "peakRssMiB": round(sampler.peak_rss("operator") / 2**20, 1),
                "cpuSecondsApplyToDone": round(sampler.cpu_between("operator", t_apply, t_done), 2),
                "idleCpuPercentNoResources": round(
                    100 * sampler.cpu_between("operator", t_idle0, t_idle1) / max(t_idle1 - t_idle0, 1e-9), 2),
                "cpuSecondsPerPartnerCall": round(sampler.cpu_between("operator", t_apply, t_done) / len(ledger), 5)
                if ledger else None,
                "cpuMsPerMigration": round(1000 * sampler.cpu_between("operator", t_apply, t_done) / n, 1),
                "systemCpuMsPerMigration": round(1000 * sampler.system_between("operator", t_apply, t_done) / n, 1),
            },
            "apiserverCpuMsPerMigration": round(1000 * sampler.cpu_between("kube-apiserver", t_apply, t_done) / n, 1)
            if "kube-apiserver" in sampler.procs else None,
            "processes": sampler.summary(t_apply, t_done),
            "latency": {
                "applyToFirstPartnerCallSeconds": None if first_call is None else round(first_call - t_apply, 3),
                "applyToRegisteredSeconds": summary_stats(registered_at),
                "webhookToReadySeconds": WEBHOOK_PLACEHOLDER,
            },
            "idle": idle,
            "series": {"t0": t_apply, "perSecond": per_second(ledger, t_apply)},
            "rssTimeline": [(round(t - t_apply, 1), round(rss / 2**20, 1))
                            for t, _, rss in sampler.samples["operator"]][:: max(1, len(sampler.samples["operator"]) // 400)],
        })
        if args.profile != "none" and profile_out.exists():
            result["profile"] = {"file": profile_out.name, "kind": args.profile, **top_frames(profile_out)}
            if args.profile == "py-spy-gil":  # CPU samples: their split is the per-component CPU budget's input
                result["profile"]["components"] = cpu_budget.shares(profile_out)
        if args.baseline and scenario == "happy":
            log("baseline: stopping the operator, fresh sandbox with the same flags")
            stack.stop_process("operator")
            for key, lean in (("baseline", False), ("leanBaseline", True)):
                base = measured_baseline(stack, args, scenario, lean=lean)
                result[key] = base
                ratio_key = "ratioOperatorCpuToBaseline" if not lean else "ratioOperatorCpuToLeanBaseline"
                result[ratio_key] = round(result["operator"]["cpuMsPerMigration"] / base["cpuMsPerMigration"], 2) \
                    if base["cpuMsPerMigration"] else None
            base = result["baseline"]
            result["ratioOperatorToBaseline"] = round(result["wallSeconds"] / base["wallSeconds"], 3) \
                if base["wallSeconds"] else None
        result["machine"]["loadAverage1mAtEnd"] = round(__import__("os").getloadavg()[0], 2)
    finally:
        stack.close()
    return result


def measured_baseline(stack: Stack, args: argparse.Namespace, scenario: str, *, lean: bool) -> dict[str, Any]:
    """One baseline run (a fresh sandbox with the same flags) with its CPU: the harness process's own.

    The classic baseline writes through the `kubernetes` client and calls the partners over
    httpx; the lean one over the operator's own stack (bench.baseline.LeanBaseline), in a
    namespace of its own. The operator's CPU per migration is compared with both (issue 18).
    """
    assert stack.cluster is not None
    stack.stop_process("sandbox")
    stack.start_sandbox(sandbox_args(args, scenario))
    harness, apiserver = psutil.Process(), stack.cluster.pids.get("kube-apiserver")
    cpu0, api0 = cpu_seconds(harness), cpu_seconds(psutil.Process(apiserver)) if apiserver else None
    n = args.n
    log(f"{'lean ' if lean else ''}baseline: {n} migrations")
    base = run_baseline(stack, n, "CB", args.numbers, args.rate_limit_scale, args.backoff_initial,
                        args.backoff_max, args.timeout, decision_after(args, scenario) / args.time_scale,
                        lean=lean, namespace=LEAN_NAMESPACE if lean else BASELINE_NAMESPACE)
    base["client"] = "tendlc.http_transport + tendlc.kube.KubeApi" if lean else "kubernetes client + httpx"
    base["cpuSeconds"] = round(cpu_seconds(harness) - cpu0, 2)
    base["cpuMsPerMigration"] = round(1000 * base["cpuSeconds"] / n, 1)
    if apiserver and api0 is not None:
        base["apiserverCpuMsPerMigration"] = round(1000 * (cpu_seconds(psutil.Process(apiserver)) - api0) / n, 1)
    return base


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def headline(result: dict[str, Any]) -> str:
    lines = [f"scenario={result['scenario']} n={result['n']} wall={result.get('wallSeconds')} s "
             f"phases={result.get('phases')}"]
    for name in TARGET_CLASSES:
        r = result["rateLimits"][name]
        lines.append(f"  {name}: {r['calls']} calls, {r['achievedPerSecond']}/s of {r['ceilingPerSecond']}/s "
                     f"= {r['efficiency']}, 429s={r['429s']}")
    for name, r in result.get("schedulerEfficiency", {}).items():
        lines.append(f"  {name} pacing efficiency: {r.get('efficiency')} (span {r.get('actualSpanSeconds')} s, "
                     f"ideal {r.get('idealSpanSeconds')} s, upstream-bound share {r.get('upstreamBoundShare')})")
    api = result["apiserver"]
    lines.append(f"  apiserver writes/migration={api['writesPerMigration']} "
                 f"(status patches {api['statusPatchesPerMigration']}, events {api['eventWritesPerMigration']})")
    op = result["operator"]
    lines.append(f"  operator peak RSS={op['peakRssMiB']} MiB cpu={op['cpuSecondsApplyToDone']} s "
                 f"({op.get('cpuMsPerMigration')} ms/migration; API server "
                 f"{result.get('apiserverCpuMsPerMigration')} ms/migration)")
    if result.get("idle"):
        lines.append(f"  idle CPU={result['idle']['operatorCpuPercentOfOneCore']}% of one core")
    if result.get("baseline"):
        lines.append(f"  baseline wall={result['baseline']['wallSeconds']} s "
                     f"ratio={result['ratioOperatorToBaseline']}; baseline cpu "
                     f"{result['baseline'].get('cpuMsPerMigration')} ms/migration, operator/baseline cpu "
                     f"{result.get('ratioOperatorCpuToBaseline')}")
    if result.get("leanBaseline"):
        lines.append(f"  lean baseline (the operator's HTTP stack) cpu {result['leanBaseline'].get('cpuMsPerMigration')}"
                     f" ms/migration, operator/lean baseline cpu {result.get('ratioOperatorCpuToLeanBaseline')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="CampaignMigrations applied at once")
    parser.add_argument("--scenario", choices=("happy", "idle"), default="happy")
    parser.add_argument("--rate-limit-scale", type=float, default=100.0, help="partner limits × this (both sides)")
    parser.add_argument("--time-scale", type=float, default=100.0, help="sandbox seconds per real second")
    parser.add_argument("--sharing-decision-after", type=float, default=60.0,
                        help="sandbox seconds from migrateCnp to TCR's decision (happy)")
    parser.add_argument("--numbers", type=int, default=2, help="phone numbers per migration")
    parser.add_argument("--backoff-initial", type=float, default=1.0, help="operator backoff (happy)")
    parser.add_argument("--backoff-max", type=float, default=8.0, help="operator backoff cap (happy)")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="idle window (idle scenario)")
    parser.add_argument("--pre-idle", type=float, default=5.0, help="seconds the operator idles with 0 resources")
    parser.add_argument("--timeout", type=float, default=900.0, help="deadline for all to reach the target phase")
    parser.add_argument("--baseline", action="store_true", help="also run bench/baseline.py (happy) and report the ratio")
    parser.add_argument("--profile", choices=("none", "py-spy", "py-spy-gil"), default="none")
    parser.add_argument("--operator-env", action="append", default=[], metavar="TENDLC_X=value",
                        help="an extra operator setting (repeatable), e.g. TENDLC_EVENT_LOOP=asyncio for an A/B run")
    parser.add_argument("--what-if", choices=RUN_WHAT_IFS, default=None,
                        help="a candidate change patched into the operator process (bench/storm_wrapper.py)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) after the run")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/<ts>-n<N>[-idle].json)")
    args = parser.parse_args(argv)
    suffix = "" if args.scenario == "happy" else "-" + args.scenario
    suffix += f"-whatif-{args.what_if}" if args.what_if else ""
    result = run_and_save(lambda: run(args), lambda r: args.out or f"{r['timestamp']}-n{args.n}{suffix}.json", headline)
    if result is None:
        return 130
    return 0 if result.get("reached") else 1


if __name__ == "__main__":
    sys.exit(main())
