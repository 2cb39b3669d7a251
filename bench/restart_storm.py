"""`python -m bench.restart_storm`: the issue-13 restart storm — N waiting migrations, the operator restarted.

Starts its own control plane and sandbox (limits × --rate-limit-scale, default ×1: the partners'
real limits), seeds N CampaignMigrations waiting in InMigration exactly as a running operator
leaves them (bench/storm_seed.py: a stuck Infobip campaign per resource; bench/storm_status.py: the
status the operator's own workflow reaches, written through the status subresource), half of them due
(`nextCheckAt` in the past) and half not (--future-seconds ahead), and only then starts the
operator (`python -m tendlc` from the runtime venv, same rate-limit scale, default backoff and
D18 refresh): a restart, it has never seen them. It measures, until every due one was polled
and --after-seconds more:

  early polls   not-due resources polled before their nextCheckAt (sandbox ledger)  target 0
  due polls     first polls of the due ones: calls/s ÷ the documented GET ceiling  target ≥ 0.90
                (10/s per account × scale), 429s (target 0), time until all were observed
  writes        status PATCHes and Event POSTs (kube-apiserver metrics), attributed per resource
                (resourceVersion and status keys vs the seed)     target 0 where only poll
                bookkeeping changed (D18 holds lastCheckedAt/nextCheckAt/attempts back); counted
                once the storm is over or when D18's refresh interval (300 s) has passed since
                the start, whichever is first: after that a refresh write is D18's rule, not the restart's
  resources     operator peak RSS (target ≤ 400 MiB at 5,000, issue 8) and CPU

Writes bench/results/<timestamp>-restart-storm-n<N>.json (with --profile py-spy also the
collapsed stacks; with --what-if a candidate operator change from bench/storm_wrapper.py is patched
in and the file is named …-whatif-<name>.json; --probe-loop-lag records the event loop's lag).
Stops everything it started on exit, Ctrl-C or SIGTERM. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.run import code_version, settle_writes, stop_profiler, top_frames
from bench.stack import NAMESPACE, Sampler, SandboxAdmin, Stack, run_and_save, log, machine, operator_python
from bench.storm_analyze import arrival_pacing, due_polls, early_polls, ledger_summary, per_second_polls
from bench.storm_observe import LedgerFollower, loop_lag, start_profiler, writes_snapshot
from bench.storm_seed import seed
from bench.storm_status import operator_settings
from bench.storm_wrapper import WHAT_IFS
from tendlc_dev.devcluster import free_port

RESULTS = Path(__file__).resolve().parent / "results"
RSS_TARGET_MIB = {1000: 150, 5000: 400}  # issue 8's targets, per resources watched


def verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each figure beside its target; `met` None when it could not be measured."""
    polls, early, writes = result["duePolls"], result["earlyPolls"], result["writes"]
    efficiency, sent = polls["efficiency"], polls["firstRequests"]
    unchanged_writes = writes["perResource"]["writtenOnlyPollBookkeeping"]
    rss = result["operator"]["peakRssMiB"]
    rss_target = next((limit for n, limit in sorted(RSS_TARGET_MIB.items()) if result["n"] <= n), None)
    return [
        {"target": "not-due resources polled before their nextCheckAt", "goal": "0",
         "measured": f"{early['earlyPolls']} polls of {early['resourcesPolledEarly']} resources "
                     f"(of {early['notDue']} not due; {early['cameDueInWindow']} came due in the window, "
                     f"{early['polledOnceDue']} of them polled since)", "met": early["earlyPolls"] == 0},
        {"target": "due polls at ≥ 0.90 of the documented GET ceiling", "goal": "≥ 0.90",
         "measured": f"{efficiency} ({polls['achievedPerSecond']}/s of {polls['ceilingPerSecond']:g}/s) over the "
                     f"first answered polls; {sent['efficiency']} over the first requests",
         "met": None if efficiency is None else efficiency >= 0.90},
        {"target": "429s during the storm", "goal": "0", "measured": str(result["partners"]["429s"]),
         "met": result["partners"]["429s"] == 0},
        {"target": "every due resource observed", "goal": f"{polls['due']}",
         "measured": f"{polls['observed']} in {polls['allObservedAfterStartSeconds']} s after the start "
                     f"(ideal at the ceiling {polls['idealSeconds']:g} s)", "met": polls["allObserved"]},
        {"target": "Kubernetes writes for resources whose status did not change (only poll bookkeeping moved)",
         "goal": "0", "measured": f"{unchanged_writes} resources written; {writes['statusPatches']} status PATCHes "
                                  f"and {writes['eventPosts']} Events in all ({writes['takenAt']}, "
                                  f"{writes['secondsAfterStart']:g} s after the start)",
         "met": unchanged_writes == 0 and writes["eventPosts"] == 0},
        {"target": f"operator peak RSS ≤ {rss_target} MiB" if rss_target else "operator peak RSS",
         "goal": f"≤ {rss_target} MiB" if rss_target else "—", "measured": f"{rss} MiB",
         "met": None if rss_target is None else rss <= rss_target},
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    n, scale = args.n, args.rate_limit_scale
    stamp = time.strftime("%Y%m%dT%H%M%S")
    result: dict[str, Any] = {
        "benchmark": "restart-storm", "timestamp": stamp, "n": n, "code": code_version(),
        "settings": {"rateLimitScale": scale, "limitsWord": "the sandbox's real limits (×1)" if scale == 1
                     else f"partner limits ×{scale:g} on both sides", "futureSeconds": args.future_seconds,
                     "followNotDue": args.follow_not_due, "numbersPerMigration": args.numbers,
                     "operatorPython": operator_python(), "whatIf": args.what_if,
                     "probeLoopLag": args.probe_loop_lag, "profile": args.profile,
                     "profileSeconds": args.profile_seconds},
    }
    stack = Stack(keep_dir=args.keep)
    try:
        stack.start_cluster()
        assert stack.kube is not None
        assert stack.cluster is not None
        kube = stack.kube
        result["machine"] = machine(kube)
        stack.start_sandbox(["--time-scale", "1", "--rate-limit-scale", f"{scale:g}"])
        env = stack.operator_env(scale, {"TENDLC_METRICS_PORT": str(free_port()),
                                         "TENDLC_WEBHOOK_PORT": str(free_port())})
        result["settings"]["operatorEnv"] = {k: v for k, v in env.items() if k.startswith("TENDLC_")
                                             and "URL" not in k and "PORT" not in k}
        settings = operator_settings(env)
        refresh = settings.status_refresh_seconds
        result["settings"]["statusRefreshSeconds"] = refresh
        t_seed = time.time()
        seeded = seed(kube, stack.sandbox_url, n, args.numbers, settings.policy(), args.future_seconds,
                      NAMESPACE, log)
        result["seedSeconds"] = round(time.time() - t_seed, 1)
        time.sleep(2.0)
        before = kube.request_totals()
        own_before = dict(kube.own_requests)
        log(f"starting the operator: {sum(seeded.due.values())} due, {n - sum(seeded.due.values())} not due")
        t_start = time.time()
        lag_file = stack.directory / "loop-lag.jsonl"
        wrapper = [operator_python(), "-m", "bench.storm_wrapper",
                   *(["--what-if", args.what_if] if args.what_if else []),
                   *(["--lag-file", str(lag_file)] if args.probe_loop_lag else [])]
        stack.start_operator(env, wrapper=wrapper if len(wrapper) > 3 else None)
        t_ready = time.time()
        pid = stack.operator_pid()
        sampler = Sampler({"operator": pid, "sandbox": stack.processes["sandbox"].pid,
                           **{k: v for k, v in stack.cluster.pids.items() if k != "kube-controller-manager"}}).start()
        profile_out = RESULTS / f"{stamp}-restart-storm-n{n}.pyspy.txt"
        if args.profile == "py-spy":
            RESULTS.mkdir(parents=True, exist_ok=True)
            start_profiler(stack, pid, profile_out, args.profile_seconds)
        admin = SandboxAdmin(stack.sandbox_url)
        ledger = LedgerFollower(
            admin, {seeded.uuid[k] for k, due in seeded.due.items() if due},
            {seeded.uuid[k]: seeded.next_check_epoch[k] for k, due in seeded.due.items() if not due})
        # The restart's writes are counted before D18 may refresh poll bookkeeping anyway (refresh s after
        # the start), or once the storm is over and the writes have settled, whichever comes first.
        writes: dict[str, Any] | None = None
        t_all = t_done = None
        last_log = 0.0
        while time.time() < t_start + args.timeout:
            ledger.read()
            if t_all is None and ledger.all_due_observed:
                t_all = time.time()
                log(f"every due resource observed after {t_all - t_start:.1f} s")
            if writes is None and time.time() >= t_start + refresh - 5:
                log(f"{refresh:g} s since the start: counting the restart's writes now (D18 may refresh from here)")
                writes = writes_snapshot(kube, before, own_before, seeded, n, t_start, "refresh window")
            if t_all is not None and t_done is None and (ledger.all_not_due_polled or not args.follow_not_due):
                t_done = time.time()
            if t_done is not None and time.time() - t_done >= args.after_seconds:
                break
            if time.time() - last_log > 10:
                last_log = time.time()
                rss = sampler.samples["operator"][-1][2] / 2**20 if sampler.samples["operator"] else 0
                log(f"{time.time() - t_start:6.1f} s  {ledger.progress()}, operator RSS {rss:.0f} MiB")
            time.sleep(2.0)
        if t_all is None:
            log("TIMED OUT before every due resource was observed")
        if writes is None:
            settle = settle_writes(kube, limit=max(10.0, t_start + refresh - 5 - time.time()))
            writes = writes_snapshot(kube, before, own_before, seeded, n, t_start, f"storm end (+{settle:g} s settle)")
        ledger.read()
        t_end = time.time()
        whole = writes_snapshot(kube, before, own_before, seeded, n, t_start, "end of the run")
        sampler.stop()
        stop_profiler(stack)
        admin.close()
        storm_end = t_all or t_end
        entries = ledger.entries
        writes["wholeRun"] = {key: whole[key] for key in ("statusPatches", "eventPosts", "perResource",
                                                           "secondsAfterStart")}
        result.update({
            "windowSeconds": round(t_end - t_start, 1),
            "operatorStartToHealthySeconds": round(t_ready - t_start, 2),
            "earlyPolls": early_polls(entries, seeded.uuid, seeded.due, seeded.next_check_epoch, t_end),
            "duePolls": due_polls(entries, seeded.uuid, seeded.due, t_start, t_ready, scale),
            "partners": {**ledger_summary(entries, scale), "pollPacing": arrival_pacing(entries, scale, t_start)},
            "writes": writes,
            "operator": {
                "peakRssMiB": round(sampler.peak_rss("operator") / 2**20, 1),
                "cpuSecondsStorm": round(sampler.cpu_between("operator", t_start, storm_end), 2),
                "cpuPercentOfOneCoreStorm": round(
                    100 * sampler.cpu_between("operator", t_start, storm_end) / max(storm_end - t_start, 1e-9), 1),
                "cpuSecondsWindow": round(sampler.cpu_between("operator", t_start, t_end), 2),
            },
            "processes": sampler.summary(t_start, storm_end),
            "series": {"t0": t_start, "pollsPerSecond": per_second_polls(entries, t_start)},
            "cpuTimeline": thin([(round(t - t_start, 1), round(cpu, 2)) for t, cpu, _ in sampler.samples["operator"]]),
            "rssTimeline": thin([(round(t - t_start, 1), round(rss / 2**20, 1))
                                 for t, _, rss in sampler.samples["operator"]]),
        })
        if args.probe_loop_lag:
            result["loopLag"] = loop_lag(lag_file, t_start)
        if args.profile == "py-spy" and profile_out.exists():
            result["profile"] = {"file": profile_out.name, **top_frames(profile_out)}
        result["machine"]["loadAverage1mAtEnd"] = round(os.getloadavg()[0], 2)
        result["targets"] = verdicts(result)
    finally:
        stack.close()
    return result


def thin(points: list[tuple[float, float]], most: int = 600) -> list[tuple[float, float]]:
    return points[:: max(1, len(points) // most)]


def headline(result: dict[str, Any]) -> str:
    what_if = result["settings"].get("whatIf")
    lines = [f"restart storm n={result['n']} ({result['settings']['limitsWord']}), code {result['code']}"
             + (f", WHAT-IF {what_if}" if what_if else "")]
    for row in result["targets"]:
        word = {True: "met", False: "MISSED", None: "not measured"}[row["met"]]
        lines.append(f"  {row['target']}: {row['measured']} (goal {row['goal']}) → {word}")
    op = result["operator"]
    lines.append(f"  operator CPU {op['cpuSecondsStorm']} s over the storm "
                 f"({op['cpuPercentOfOneCoreStorm']}% of a core)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.restart_storm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="CampaignMigrations waiting in InMigration (half due)")
    parser.add_argument("--rate-limit-scale", type=float, default=1.0,
                        help="partner limits × this, for both the sandbox and the operator (1: the real limits)")
    parser.add_argument("--future-seconds", type=float, default=600.0,
                        help="how far ahead the not-due resources' nextCheckAt is (plus 0-60 s of jitter)")
    parser.add_argument("--numbers", type=int, default=2, help="phone numbers per migration")
    parser.add_argument("--after-seconds", type=float, default=20.0,
                        help="how long to keep observing once every due resource was polled")
    parser.add_argument("--follow-not-due", action="store_true",
                        help="keep observing until every not-due resource was polled once due (pair with a "
                             "--future-seconds shorter than the storm, e.g. 300)")
    parser.add_argument("--timeout", type=float, default=1500.0, help="deadline for every due one to be polled")
    parser.add_argument("--profile", choices=("none", "py-spy"), default="none")
    parser.add_argument("--profile-seconds", type=float, default=0.0,
                        help="py-spy only for the first this many seconds after the start (0: the whole run)")
    parser.add_argument("--what-if", choices=WHAT_IFS, default=None,
                        help="run the operator with a candidate change patched in (bench/storm_wrapper.py)")
    parser.add_argument("--probe-loop-lag", action="store_true",
                        help="record the operator's event-loop lag once a second (bench/storm_wrapper.py)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) after the run")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/<ts>-restart-storm-n<N>.json)")
    args = parser.parse_args(argv)
    suffix = f"-whatif-{args.what_if}" if args.what_if else ""
    result = run_and_save(lambda: run(args),
                          lambda r: args.out or f"{r['timestamp']}-restart-storm-n{args.n}{suffix}.json", headline)
    if result is None:
        return 130
    return 0 if result["duePolls"]["allObserved"] else 1


if __name__ == "__main__":
    sys.exit(main())
