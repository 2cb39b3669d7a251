"""`python -m bench.restart_storm`: the issue-13 restart storm — N waiting migrations, the operator restarted.

Starts its own control plane and sandbox (limits × --rate-limit-scale, default ×1: the partners'
real limits), seeds N CampaignMigrations waiting in InMigration exactly as a running operator
leaves them (bench/storm_seed.py: a stuck Infobip campaign per resource, the status the
operator's own workflow reaches, written through the status subresource), half of them due
(`nextCheckAt` in the past) and half not (--future-seconds ahead), and only then starts the
operator (`python -m tendlc` from the runtime venv, same rate-limit scale, default backoff and
D18 refresh): a restart, it has never seen them. It measures, until every due one was polled
and --after-seconds more:

  early polls   not-due resources polled before their nextCheckAt (sandbox ledger)  target 0
  due polls     first polls of the due ones: calls/s ÷ the documented GET ceiling  target ≥ 0.90
                (10/s per account × scale), 429s (target 0), time until all were observed
  writes        status PATCHes and Event POSTs (kube-apiserver metrics), attributed per resource
                (resourceVersion and status keys vs the seed)     target 0 where only poll
                bookkeeping changed (D18 holds lastCheckedAt/nextCheckAt/attempts back)
  resources     operator peak RSS (target ≤ 400 MiB at 5,000, issue 8) and CPU

Writes bench/results/<timestamp>-restart-storm-n<N>.json (with --profile py-spy also the
collapsed stacks; with --what-if a candidate operator change from bench/storm_whatif.py is patched
in and the file is named …-whatif-<name>.json). Stops everything it started on exit, Ctrl-C or
SIGTERM. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.analyze import api_cost, request_delta
from bench.run import code_version, settle_writes, start_profiler, stop_profiler, top_frames
from bench.stack import NAMESPACE, Sampler, SandboxAdmin, Stack, install_signal_handlers, log, machine, operator_python
from bench.storm_analyze import (
    due_polls,
    early_polls,
    events_summary,
    ledger_summary,
    per_second_polls,
    writes_by_resource,
)
from bench.storm_seed import operator_policy, seed
from bench.storm_whatif import WHAT_IFS
from tendlc_dev.devcluster import free_port

RESULTS = Path(__file__).resolve().parent / "results"
RSS_TARGET_MIB = {1000: 150, 5000: 400}  # issue 8's targets, per resources watched


def verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each figure beside its target; `met` None when it could not be measured."""
    polls, early, writes = result["duePolls"], result["earlyPolls"], result["writes"]
    efficiency = polls["efficiency"]
    unchanged_writes = writes["perResource"]["writtenOnlyPollBookkeeping"]
    rss = result["operator"]["peakRssMiB"]
    rss_target = next((limit for n, limit in sorted(RSS_TARGET_MIB.items()) if result["n"] <= n), None)
    return [
        {"target": "not-due resources polled before their nextCheckAt", "goal": "0",
         "measured": f"{early['earlyPolls']} polls of {early['resourcesPolledEarly']} resources "
                     f"(of {early['notDue']} not due; {early['cameDueInWindow']} came due in the window, "
                     f"{early['polledOnceDue']} of them polled since)", "met": early["earlyPolls"] == 0},
        {"target": "due polls at ≥ 0.90 of the documented GET ceiling", "goal": "≥ 0.90",
         "measured": f"{efficiency} ({polls['achievedPerSecond']}/s of {polls['ceilingPerSecond']:g}/s)",
         "met": None if efficiency is None else efficiency >= 0.90},
        {"target": "429s during the storm", "goal": "0", "measured": str(result["partners"]["429s"]),
         "met": result["partners"]["429s"] == 0},
        {"target": "every due resource observed", "goal": f"{polls['due']}",
         "measured": f"{polls['observed']} in {polls['allObservedAfterStartSeconds']} s after the start "
                     f"(ideal at the ceiling {polls['idealSeconds']:g} s)", "met": polls["allObserved"]},
        {"target": "Kubernetes writes for resources whose status did not change (only poll bookkeeping moved)",
         "goal": "0", "measured": f"{unchanged_writes} resources written "
                                  f"({writes['statusPatches']} status PATCHes, {writes['eventPosts']} Events in all)",
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
                     "followNotDue": args.follow_not_due,
                     "numbersPerMigration": args.numbers, "operatorPython": operator_python(),
                     "whatIf": args.what_if},
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
        t_seed = time.time()
        seeded = seed(kube, stack.sandbox_url, n, args.numbers, operator_policy(env), args.future_seconds,
                      NAMESPACE, log)
        result["seedSeconds"] = round(time.time() - t_seed, 1)
        time.sleep(2.0)
        before = kube.request_totals()
        own_before = dict(kube.own_requests)
        log(f"starting the operator: {sum(seeded.due.values())} due, {n - sum(seeded.due.values())} not due")
        t_start = time.time()
        wrapper = [operator_python(), "-m", "bench.storm_whatif", args.what_if] if args.what_if else None
        stack.start_operator(env, wrapper=wrapper)
        t_ready = time.time()
        pid = stack.operator_pid()
        sampler = Sampler({"operator": pid, "sandbox": stack.processes["sandbox"].pid,
                           **{k: v for k, v in stack.cluster.pids.items() if k != "kube-controller-manager"}}).start()
        profile_out = RESULTS / f"{stamp}-restart-storm-n{n}.pyspy.txt"
        if args.profile == "py-spy":
            RESULTS.mkdir(parents=True, exist_ok=True)
            start_profiler(stack, "py-spy", pid, profile_out)
        admin = SandboxAdmin(stack.sandbox_url)
        ledger: list[dict[str, Any]] = []
        due_uuids = {seeded.uuid[name] for name, is_due in seeded.due.items() if is_due}
        not_due = {seeded.uuid[name]: seeded.next_check_epoch[name] for name, is_due in seeded.due.items()
                   if not is_due}
        seen: set[str] = set()
        on_time: set[str] = set()  # not-due resources polled at or after their nextCheckAt
        t_all = t_follow = None
        deadline = t_start + args.timeout
        last_log = 0.0
        since = 0
        while time.time() < deadline:
            page = admin.get("/ledger", since=since, limit=100_000)
            ledger += page["entries"]
            since = page.get("lastSeq") or since
            seen |= {e["infobipCampaignId"] for e in page["entries"] if e.get("infobipCampaignId") in due_uuids
                     and isinstance(e.get("status"), int) and 200 <= e["status"] < 300}
            on_time |= {e["infobipCampaignId"] for e in page["entries"] if e.get("infobipCampaignId") in not_due
                        and float(e["wallTime"]) >= not_due[e["infobipCampaignId"]]}
            if t_all is None and len(seen) == len(due_uuids):
                t_all = time.time()
                log(f"every due resource observed after {t_all - t_start:.1f} s"
                    + ("; following the not-due ones" if args.follow_not_due else ""))
            followed = not args.follow_not_due or len(on_time) == len(not_due)
            if t_all is not None and followed and t_follow is None:
                t_follow = time.time()
            if t_follow is not None and time.time() - t_follow >= args.after_seconds:
                break
            if time.time() - last_log > 10:
                last_log = time.time()
                rss = sampler.samples["operator"][-1][2] / 2**20 if sampler.samples["operator"] else 0
                log(f"{time.time() - t_start:6.1f} s  due observed {len(seen)}/{len(due_uuids)}, "
                    f"not-due polled once due {len(on_time)}/{len(not_due)}, "
                    f"partner calls {len(ledger)}, operator RSS {rss:.0f} MiB")
            time.sleep(2.0)
        if t_all is None:
            log("TIMED OUT before every due resource was observed")
        writes_settle = settle_writes(kube)
        page = admin.get("/ledger", since=since, limit=100_000)
        ledger += page["entries"]
        t_end = time.time()
        after = kube.request_totals()
        own = {k: v - own_before.get(k, 0) for k, v in kube.own_requests.items()}
        sampler.stop()
        stop_profiler(stack)
        admin.close()
        final, _ = kube.list_migrations()
        events: list[dict[str, Any]] = kube.api.sanitize_for_serialization(  # type: ignore[no-untyped-call]
            kube.core.list_namespaced_event(NAMESPACE).items)
        delta = request_delta(before, after)
        cost = api_cost(delta, own, n)
        table = cost["byResourceVerb"]
        storm_end = t_all or t_end
        result.update({
            "windowSeconds": round(t_end - t_start, 1),
            "operatorStartToHealthySeconds": round(t_ready - t_start, 2),
            "earlyPolls": early_polls(ledger, seeded.uuid, seeded.due, seeded.next_check_epoch, t_end),
            "duePolls": due_polls(ledger, seeded.uuid, seeded.due, t_start, t_ready, scale),
            "partners": ledger_summary(ledger, scale),
            "writes": {
                "statusPatches": table.get("campaignmigrations", {}).get("PATCH/status", 0),
                "eventPosts": sum(c for v, c in table.get("events", {}).items() if v.startswith("POST")),
                "operatorWrites": cost["operatorWrites"],
                "byResourceVerb": table,
                "perResource": writes_by_resource(seeded.status, seeded.version, final),
                "events": events_summary(events, seeded.uuid),
                "writesSettleSeconds": writes_settle,
                "note": cost["note"],
            },
            "apiserverRaw": delta,
            "operator": {
                "peakRssMiB": round(sampler.peak_rss("operator") / 2**20, 1),
                "cpuSecondsStorm": round(sampler.cpu_between("operator", t_start, storm_end), 2),
                "cpuPercentOfOneCoreStorm": round(
                    100 * sampler.cpu_between("operator", t_start, storm_end) / max(storm_end - t_start, 1e-9), 1),
                "cpuSecondsWindow": round(sampler.cpu_between("operator", t_start, t_end), 2),
            },
            "processes": sampler.summary(t_start, storm_end),
            "series": {"t0": t_start, "pollsPerSecond": per_second_polls(ledger, t_start)},
            "cpuTimeline": [(round(t - t_start, 1), round(cpu, 2)) for t, cpu, _ in
                            sampler.samples["operator"]][:: max(1, len(sampler.samples["operator"]) // 400)],
            "rssTimeline": [(round(t - t_start, 1), round(rss / 2**20, 1)) for t, _, rss in
                            sampler.samples["operator"]][:: max(1, len(sampler.samples["operator"]) // 400)],
        })
        if args.profile == "py-spy" and profile_out.exists():
            result["profile"] = {"file": profile_out.name, **top_frames(profile_out)}
        result["machine"]["loadAverage1mAtEnd"] = round(os.getloadavg()[0], 2)
        result["targets"] = verdicts(result)
    finally:
        stack.close()
    return result


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
    parser.add_argument("--what-if", choices=WHAT_IFS, default=None,
                        help="run the operator with a candidate change patched in (bench/storm_whatif.py)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) after the run")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/<ts>-restart-storm-n<N>.json)")
    args = parser.parse_args(argv)
    install_signal_handlers()
    try:
        result = run(args)
    except KeyboardInterrupt:
        log("interrupted: everything started was stopped")
        return 130
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = f"-whatif-{args.what_if}" if args.what_if else ""
    out = args.out or RESULTS / f"{result['timestamp']}-restart-storm-n{args.n}{suffix}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(headline(result))
    print(f"results: {out}")
    return 0 if result["duePolls"]["allObserved"] else 1


if __name__ == "__main__":
    sys.exit(main())
