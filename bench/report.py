"""`python -m bench.report`: docs/performance.md and docs/img/partner-calls.png from bench/results/*.json.

Takes the newest result per (scenario, N) — or the files given with --happy/--idle — and writes the
targets-vs-measured table, the per-N figures, the machine, how to reproduce, and the plot of partner
calls per second (sandbox ledger) against the ceilings. The hand-written analysis comes from
bench/findings.md and is copied under "Findings".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench import cpu_budget, report_storm
from bench.analyze import CLASSES

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DOCS = HERE.parent / "docs"
PLOT = DOCS / "img" / "partner-calls.png"  # the x10 run: the scheduler at the ceilings
PLOT_X100 = DOCS / "img" / "partner-calls-x100.png"  # the x100 run: the 2 cores are the limit


def load_all() -> list[dict[str, Any]]:
    runs = []
    for path in sorted(RESULTS.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and "scenario" in data and "rateLimits" in data:  # not memprobe files
            data["_file"] = path.name
            runs.append(data)
    return runs


def webhook_latency() -> dict[str, Any] | None:
    """The newest bench/webhook_latency.py result with the most resources."""
    found = []
    for path in sorted(RESULTS.glob("*-webhook-latency-*.json")):
        data = json.loads(path.read_text())
        data["_file"] = path.name
        found.append(data)
    return max(found, key=lambda r: (r["runs"] + r["background_resources"], r["_file"])) if found else None


def newest(
    runs: list[dict[str, Any]], scenario: str, n: int, scale: float = 100.0, *, with_baseline: bool = False
) -> dict[str, Any] | None:
    """The newest plain run of `scenario` with N = `n` at partner limits × `scale`: no profiler attached
    (py-spy slows the operator), not a comparison run (older code, a what-if) and, `with_baseline`, one
    that ran the baselines too (the ratios are taken within a run)."""
    found = [r for r in runs if r["scenario"] == scenario and r["n"] == n
             and r["settings"]["rateLimitScale"] == scale and not r.get("profile") and not comparison(r)
             and (not with_baseline or r.get("baseline"))]
    return max(found, key=lambda r: r["timestamp"]) if found else None


def comparison(run: dict[str, Any]) -> bool:
    """A run of older code (`older_code`) or of the operator with a what-if patched in (`bench.run
    --what-if`): never the figure of the code."""
    return older_code(run) or bool(run["settings"].get("whatIf"))


def older_code(run: dict[str, Any]) -> bool:
    """A run of older code kept for a before/after (issue 18: `<ts>-n1000-before-<commit>[-profile].json`)."""
    return "-before-" in run.get("_file", "")


def efficiency_cell(run: dict[str, Any] | None, name: str) -> str:
    """'raw R (a/s of c/s), pacing P' for one class of one run."""
    if run is None:
        return "not run"
    raw = run["rateLimits"][name]
    pacing = (run.get("schedulerEfficiency") or {}).get(name, {}).get("efficiency")
    return (f"{fmt(raw['efficiency'])} ({fmt(raw['achievedPerSecond'])}/s of {fmt(raw['ceilingPerSecond'])}/s), "
            f"pacing {fmt(pacing)}")


def plot(run: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = run["settings"]["rateLimitScale"]
    series = run["series"]["perSecond"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    colours = {"numbers.import": "tab:green", "registration.write": "tab:blue", "tcr.write": "tab:orange",
               "registration.read": "tab:purple", "tcr.read": "tab:brown"}
    for axis, names in ((top, ("registration.write", "tcr.write", "numbers.import")),
                        (bottom, ("registration.read", "tcr.read"))):
        for name in names:
            values = series.get(name, [])
            axis.step(range(len(values)), values, where="post", color=colours[name],
                      label=f"{CLASSES[name]['label']} ({name})")
            axis.axhline(CLASSES[name]["perSecond"] * scale, color=colours[name], linestyle="--", linewidth=1)
        axis.set_ylabel("calls per second")
        axis.legend(loc="upper right", fontsize=8)
        axis.grid(alpha=0.3)
    top.set_title(f"Partner calls per second, N={run['n']} migrations, limits ×{scale:g} "
                  f"(dashed: configured ceilings)")
    bottom.set_xlabel("seconds since the CampaignMigrations were applied")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}{suffix}" if abs(value) < 100 else f"{value:,.0f}{suffix}"
    return f"{value:,}{suffix}" if isinstance(value, int) else f"{value}{suffix}"


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**missed**")


def cpu_section(runs: list[dict[str, Any]], after: dict[str, Any] | None) -> list[str]:
    """Issue 18: CPU per migration before/after, the per-component budget and the profiles' top frames."""
    lines: list[str] = []
    add = lines.append
    if after is None or not after["operator"].get("cpuMsPerMigration"):
        return lines
    n, scale = after["n"], after["settings"]["rateLimitScale"]
    same = [r for r in runs if r["scenario"] == "happy" and r["n"] == n and r["settings"]["rateLimitScale"] == scale]
    befores = [r for r in same if older_code(r) and not r.get("profile")]
    before = max(befores, key=lambda r: r["timestamp"]) if befores else None
    profiled = [r for r in same if (r.get("profile") or {}).get("components")]
    profile_after = max((r for r in profiled if not comparison(r)), key=lambda r: r["timestamp"], default=None)
    profile_before = max((r for r in profiled if older_code(r)), key=lambda r: r["timestamp"], default=None)
    cpu = after["operator"]["cpuMsPerMigration"]
    add(f"## CPU per migration (issue 18) — N = {n:,}, limits ×{scale:g}")
    add("")
    add("CPU figures come from runs without a profiler; *before* is the code before issue 16's executor split "
        "(c184dc2), run on the same machine on the same day with the same harness and sandbox "
        "(`--operator-env PYTHONPATH=<its worktree>/operator`), since this machine's speed varies by tens of percent "
        "over a day (all of kube-apiserver, etcd and the sandbox use more or less CPU for the same work).")
    add("")
    add("| target | measured | verdict |")
    add("|---|---|---|")
    if before is not None:
        old = before["operator"]["cpuSecondsApplyToDone"] * 1000 / before["n"]
        ratio = cpu / old
        add(f"| operator CPU per migration ≤ ⅓ of c184dc2's (stretch ⅕), same machine, same day | before "
            f"{fmt(old)} ms (`{before['_file']}`), after {fmt(cpu)} ms (`{after['_file']}`): "
            f"{ratio:.2f} of before | {verdict(ratio <= 1 / 3)} (stretch {verdict(ratio <= 0.2).strip('*')}) |")
    else:
        add("| operator CPU per migration ≤ ⅓ of c184dc2's | no before run in bench/results | not measured |")
    for key, ratio_key, label in (("baseline", "ratioOperatorCpuToBaseline", "the baseline (kubernetes client + httpx)"),
                                  ("leanBaseline", "ratioOperatorCpuToLeanBaseline",
                                   "the lean baseline (the operator's own HTTP stack)")):
        base = after.get(key)
        if base:
            value = after.get(ratio_key)
            add(f"| ≤ 1.5× the CPU per migration of {label}, same run | {fmt(cpu)} ms vs "
                f"{fmt(base['cpuMsPerMigration'])} ms = {fmt(value, '×')} | "
                f"{verdict(None if value is None else value <= 1.5)} |")
    pacing = after.get("schedulerEfficiency") or {}
    values = {name: (pacing.get(name) or {}).get("efficiency") for name in ("numbers.import", "tcr.write",
                                                                             "registration.write")}
    add("| pacing ≥ 0.95 for every gating class | " + ", ".join(f"{CLASSES[k]['label']} {fmt(v)}"
                                                               for k, v in values.items())
        + f" | {verdict(None if None in values.values() else all(v >= 0.95 for v in values.values()))} |")
    wall = after.get("ratioOperatorToBaseline")
    add(f"| operator ÷ baseline wall time ≤ 1.05 | {fmt(wall, '×')} | {verdict(None if wall is None else wall <= 1.05)} |")
    refused = sum(c["429s"] for c in after["rateLimits"].values())
    add(f"| 0 429s | {refused} | {verdict(refused == 0)} |")
    writes = after["apiserver"]["writesPerMigration"]
    add(f"| ≤ 10 writes per migration | {fmt(writes)} | {verdict(writes <= 10)} |")
    start = next((r for r in runs if r["_file"] == ISSUE18_START), None)
    if start is not None:
        rss0, rss1 = start["operator"]["peakRssMiB"], after["operator"]["peakRssMiB"]
        since = f"; c184dc2 {fmt(before['operator']['peakRssMiB'])} MiB" if before is not None else ""
        add(f"| peak RSS does not grow | {fmt(rss0)} MiB before this work (`{ISSUE18_START}`, {start['code']}), "
            f"{fmt(rss1)} MiB after{since} | {verdict(rss1 <= rss0 * 1.05)} |")
    add("")
    if profile_after is not None:
        component_shares = profile_after["profile"]["components"]
        add(f"### CPU budget per component (`bench/cpu_budget.py`)")
        add("")
        lean_ms = (after.get("leanBaseline") or {}).get("cpuMsPerMigration")
        budget = cpu_budget.budgets(lean_ms)
        scaled = (f"scaled by this run's lean baseline ({fmt(lean_ms)} ms per migration; `BUDGET` is set for "
                  f"{fmt(cpu_budget.REFERENCE_LEAN_MS)} ms), so a verdict holds whatever the machine's speed"
                  if lean_ms else
                  f"as set for a lean baseline of {fmt(cpu_budget.REFERENCE_LEAN_MS)} ms (this run had none)")
        add(f"Shares of the CPU samples of `{profile_after['_file']}` (py-spy on the GIL holder, the same "
            f"run with the profiler attached) applied to the {fmt(cpu)} ms per migration measured without it "
            f"(`{after['_file']}`); the budgets are {scaled}. A change that takes a component over its "
            "budget fixes it or argues a new budget in the same commit.")
        add("")
        add("| component | share | ms per migration | budget (ms) | verdict |")
        add("|---|---|---|---|---|")
        for name, ms in cpu_budget.per_migration(component_shares, cpu).items():
            limit = budget.get(name)
            add(f"| {name} | {component_shares[name]:.1%} | {fmt(ms)} | {fmt(limit)} | "
                f"{'within' if limit is not None and ms <= limit else '**over**'} |")
        total = round(sum(budget.values()), 2)
        add(f"| total | 100% | {fmt(cpu)} | {fmt(total)} | {'within' if cpu <= total else '**over**'} |")
        lean = after.get("ratioOperatorCpuToLeanBaseline")
        if lean is not None:
            add(f"| operator CPU ÷ lean baseline CPU, same run (holds whatever the machine's speed) | | "
                f"{fmt(lean, '×')} | {fmt(cpu_budget.LEAN_RATIO_BUDGET, '×')} | "
                f"{'within' if lean <= cpu_budget.LEAN_RATIO_BUDGET else '**over**'} |")
        add("")
    for label, run in (("before (c184dc2)", profile_before), ("after", profile_after)):
        if run is None:
            continue
        frames = [(f, share) for f, share in run["profile"]["inclusive"]
                  if not f.split(" (")[0] in TRUNK_FRAMES][:12]
        add(f"Top frames {label}, inclusive share of CPU samples (`{run['_file']}`): "
            + "; ".join(f"`{f}` {share:.0%}" for f, share in frames) + ".")
        add("")
    return lines


ISSUE18_START = "20261202T013832-n1000.json"
"""The last N = 1,000 ×10 run before issue 18's changes (the code they started from): the RSS reference."""

TRUNK_FRAMES = frozenset({
    "<module>", "main", "run", "Runner.run", "_run_module_as_main", "_run_code", "BaseEventLoop.run_until_complete",
    "BaseEventLoop.run_forever", "BaseEventLoop._run_once", "Handle._run",
})
"""Frames every sample runs through (the interpreter and event loop's trunk): left out of the top frames."""


def build(runs: list[dict[str, Any]], findings: str) -> str:
    happy = {n: newest(runs, "happy", n) for n in (100, 1000, 5000)}
    # Limits x10: the scheduler, not the CPU, is what is measured.
    slow = newest(runs, "happy", 1000, 10.0, with_baseline=True)
    idle = newest(runs, "idle", 1000)
    if not (idle and idle.get("idle")):
        idle_small = [r for r in runs if r["scenario"] == "idle" and r.get("idle")]
        idle = max(idle_small, key=lambda r: r["n"]) if idle_small else idle
    main = happy[1000] if happy[1000] and happy[1000].get("reached") else happy[100]
    if main is None:
        raise SystemExit("no happy-path result for N=1000 or N=100 in bench/results/")
    rl = main["rateLimits"]
    total_calls = main["partnerCalls"]
    total_429 = sum(c["429s"] for c in rl.values())
    api = main["apiserver"]
    lines: list[str] = []
    add = lines.append
    add("# Performance: rate limits, cluster cost, scale")
    add("")
    add("Generated by `python -m bench.report` from `bench/results/*.json` (the benchmark is "
        "`make bench`; see *Reproduce*). Every figure below was measured on the machine described "
        "under *Machine*; nothing is extrapolated. Hand-written analysis is under *Findings*.")
    add("")
    add(f"## Targets vs measured (issue 8) — main run: N = {main['n']:,}, limits ×{main['settings']['rateLimitScale']:g}")
    add("")
    add("Rate-limit efficiency is given two ways (see *What is measured*): **raw** = calls/s between the "
        "class's first and last call ÷ ceiling, and **pacing** = the earliest the class could have finished "
        "its calls given the ceiling and when each migration became ready for it ÷ when it did finish.")
    add("")
    add("| target | measured | verdict |")
    add("|---|---|---|")
    for run, label in ((slow, "limits ×10"), (main, f"limits ×{main['settings']['rateLimitScale']:g}, "
                                                    "CPU-bound (see *Why limits ×10* under Findings)")):
        if run is None:
            add(f"| rate-limit efficiency ≥ 0.90 for migrate and migrateCnp ({label}) | not run | not measured |")
            continue
        pacing = run.get("schedulerEfficiency") or {}
        values = [(pacing.get(name) or {}).get("efficiency") for name in ("registration.write", "tcr.write")]
        raw = [run["rateLimits"][name]["efficiency"] for name in ("registration.write", "tcr.write")]
        ok = None if None in values else all(v >= 0.90 for v in values)
        def raw_word(name: str, value: float | None) -> str:
            bound = (pacing.get(name) or {}).get("upstreamBoundShare")
            paced = (pacing.get(name) or {}).get("efficiency")
            if (name == "tcr.write" and value is not None and value < 0.90 and bound is not None and bound >= 0.45
                    and paced is not None and paced >= 0.90):
                return f"{value:.2f}, as fast as the imports it follows (D22)"
            return verdict(value is not None and value >= 0.90).strip("*")

        note = " (raw: " + ", ".join(
            f"{label} {raw_word(name, r)}"
            for label, name, r in zip(("migrate", "migrateCnp"), ("registration.write", "tcr.write"), raw, strict=True)
        ) + ")"
        add(f"| rate-limit efficiency ≥ 0.90 for migrate and migrateCnp, N = {run['n']:,}, {label} | migrate "
            f"{efficiency_cell(run, 'registration.write')}; migrateCnp {efficiency_cell(run, 'tcr.write')} "
            f"| pacing {verdict(ok)}{note} |")
    add(f"| 0 failed migrations | {main['failedMigrations']} failed of {main['n']:,} | "
        f"{verdict(main['failedMigrations'] == 0)} |")
    add(f"| 429s ≤ 1% of calls | {total_429} of {total_calls:,} ({100 * total_429 / max(total_calls, 1):.2f}%) | "
        f"{verdict(total_429 <= 0.01 * total_calls)} |")
    add(f"| ≤ 10 kube-apiserver writes per migration | {fmt(api['writesPerMigration'])} "
        f"(status PATCH {fmt(api['statusPatchesPerMigration'])} + Event POST {fmt(api['eventWritesPerMigration'])}) "
        f"| {verdict(api['writesPerMigration'] <= 10)} |")
    for n, limit in ((1000, 150), (5000, 400)):
        at_n = [r for r in (newest(runs, "happy", n), newest(runs, "idle", n)) if r is not None]
        rss = max((r["operator"]["peakRssMiB"] for r in at_n), default=None)
        files = ", ".join(f"`{r['_file']}`" for r in at_n)
        add(f"| peak RSS ≤ {limit} MiB at {n:,} resources | {fmt(rss, ' MiB')}"
            + (f" (highest of {files})" if files else "") + f" | {verdict(None if rss is None else rss <= limit)} |")
    idle_pct = idle["idle"]["operatorCpuPercentOfOneCore"] if idle and idle.get("idle") else None
    idle_n = idle["idle"].get("waitingInMigration", idle["n"]) if idle and idle.get("idle") else None
    if idle_pct is not None and idle_n is not None and idle_n < 1000:
        add(f"| idle CPU ≤ 3% of one core with 1,000 waiting | {fmt(idle_pct, '%')} with {idle_n:,} waiting; "
            "1,000 waiting never reached (F1) | not measured at 1,000 (met at the N measured) |")
    else:
        add(f"| idle CPU ≤ 3% of one core with 1,000 waiting | {fmt(idle_pct, '%')} | "
            f"{verdict(None if idle_pct is None else idle_pct <= 3)} |")
    latency = webhook_latency()
    if latency is None:
        add("| webhook → Ready p99 ≤ 1 s at 1,000 | not measured (run `python -m bench.webhook_latency`) "
            "| not measured |")
    else:
        waiting = latency["runs"] + latency["background_resources"]
        add(f"| webhook → Ready p99 ≤ 1 s at 1,000 | p99 {fmt(latency['p99_seconds'])} s, median "
            f"{fmt(latency['median_seconds'])} s, max {fmt(latency['max_seconds'])} s over {latency['runs']} runs "
            f"with {waiting:,} resources (`{latency['_file']}`) | "
            f"{verdict(latency['p99_seconds'] <= 1) if waiting >= 1000 else 'measured below 1,000 resources'} |")
    ratio = main.get("ratioOperatorToBaseline")
    base = main.get("baseline")
    add(f"| operator ÷ baseline wall time ≤ 1.25× | {fmt(ratio, '×')}"
        + (f" ({fmt(main['wallSeconds'])} s vs {fmt(base['wallSeconds'])} s)" if base else "")
        + f" | {verdict(None if ratio is None else ratio <= 1.25)} |")
    add("")
    add("## Figures per run")
    add("")
    add("| | " + " | ".join(f"N = {n:,}" for n, r in happy.items() if r) + " |")
    add("|---|" + "---|" * sum(1 for r in happy.values() if r))
    cols = [r for r in happy.values() if r]
    if slow is not None:
        add("| " + " | ".join(["", *(f"N = {r['n']:,}, ×{r['settings']['rateLimitScale']:g}" for r in [*cols, slow])])
            + " |")
        lines.pop(-3)  # the header without the ×10 column
        add("|---|" + "---|" * (len(cols) + 1))
        lines.pop(-3)
        cols = [*cols, slow]

    def row(label: str, getter: Any) -> None:
        add(f"| {label} | " + " | ".join(fmt(getter(r)) for r in cols) + " |")

    row("results file", lambda r: f"`{r['_file']}`")
    row("completed (all final before the deadline)", lambda r: "yes" if r.get("reached") else
        f"**no** — {r['phases'].get('Registered', 0):,} Registered at the deadline")
    row("apply → all Registered (s)", lambda r: r["wallSeconds"] if r.get("reached") else
        f"> {r['wallSeconds']:g} (deadline)")
    row("baseline, same calls and writes, no operator (s)", lambda r: (r.get("baseline") or {}).get("wallSeconds"))
    row("ratio operator ÷ baseline", lambda r: r.get("ratioOperatorToBaseline") if r.get("reached") else
        f"> {r.get('ratioOperatorToBaseline')}")
    row("creating the N resources (s)", lambda r: r["createSeconds"])
    row("apply → first partner call (s)", lambda r: r["latency"]["applyToFirstPartnerCallSeconds"])
    row("apply → Registered p50 / p99 (s)", lambda r: f"{fmt(r['latency']['applyToRegisteredSeconds']['p50'])} / "
        f"{fmt(r['latency']['applyToRegisteredSeconds']['p99'])}")
    for name in ("registration.write", "tcr.write", "numbers.import", "registration.read", "tcr.read"):
        row(f"{CLASSES[name]['label']}: calls/s ÷ ceiling",
            lambda r, name=name: f"{fmt(r['rateLimits'][name]['achievedPerSecond'])} ÷ "
            f"{fmt(r['rateLimits'][name]['ceilingPerSecond'])} = {fmt(r['rateLimits'][name]['efficiency'])}")
    for name in ("registration.write", "tcr.write", "numbers.import"):
        row(f"{CLASSES[name]['label']}: pacing efficiency",
            lambda r, name=name: (r.get("schedulerEfficiency") or {}).get(name, {}).get("efficiency"))
    row("429s", lambda r: sum(c["429s"] for c in r["rateLimits"].values()))
    row("failed migrations", lambda r: r["failedMigrations"])
    row("partner calls per migration", lambda r: round(r["partnerCalls"] / r["n"], 2))
    row("status PATCH per migration", lambda r: r["apiserver"]["statusPatchesPerMigration"])
    row("Event POST per migration", lambda r: r["apiserver"]["eventWritesPerMigration"])
    row("Secret GET per migration", lambda r: r["apiserver"]["secretReadsPerMigration"])
    row("operator peak RSS (MiB)", lambda r: r["operator"]["peakRssMiB"])
    row("operator CPU, apply → done (s)", lambda r: r["operator"]["cpuSecondsApplyToDone"])
    row("operator CPU per migration (ms)", lambda r: r["operator"].get("cpuMsPerMigration"))
    row("kube-apiserver CPU per migration (ms)", lambda r: r.get("apiserverCpuMsPerMigration"))
    row("baseline CPU per migration (ms; the harness doing the same calls and writes)",
        lambda r: (r.get("baseline") or {}).get("cpuMsPerMigration"))
    row("ratio operator CPU ÷ baseline CPU", lambda r: r.get("ratioOperatorCpuToBaseline"))
    row("lean baseline CPU per migration (ms; the same over the operator's own HTTP stack)",
        lambda r: (r.get("leanBaseline") or {}).get("cpuMsPerMigration"))
    row("ratio operator CPU ÷ lean baseline CPU", lambda r: r.get("ratioOperatorCpuToLeanBaseline"))
    row("operator system (kernel) CPU per migration (ms)", lambda r: r["operator"].get("systemCpuMsPerMigration"))
    row("kube-apiserver CPU, apply → done (s)", lambda r: r["processes"]["kube-apiserver"]["cpuSeconds"])
    row("etcd CPU, apply → done (s)", lambda r: r["processes"]["etcd"]["cpuSeconds"])
    row("sandbox CPU, apply → done (s)", lambda r: r["processes"]["sandbox"]["cpuSeconds"])
    row("operator CPU, 0 resources, 5 s right after start (% of a core)", lambda r: r["operator"]["idleCpuPercentNoResources"])
    row("load average (1 min) at start / end", lambda r: f"{r['machine']['loadAverage1m']} / "
        f"{r['machine'].get('loadAverage1mAtEnd')}")
    add("")
    for idle_run in (idle, newest(runs, "idle", 5000)):
        if not (idle_run and idle_run.get("idle")):
            continue
        i = idle_run["idle"]
        settle = f" (after {i['settleSeconds']:g} s for queued Events to drain)" if i.get("settleSeconds") else ""
        add(f"Idle run (`{idle_run['_file']}`): {idle_run['n']:,} campaigns held IN_MIGRATION by the sandbox "
            f"(IDs `CST…`), no check due; over {i['windowSeconds']:g} s{settle} the operator used "
            f"{i['operatorCpuSeconds']:g} CPU s = **{i['operatorCpuPercentOfOneCore']:g}% of one core**, "
            f"{i['partnerCallsInWindow']} partner calls; peak RSS {idle_run['operator']['peakRssMiB']:g} MiB "
            f"(operator CPU to get all {idle_run['n']:,} there: {idle_run['operator']['cpuSecondsApplyToDone']:g} s).")
        add("")
    for plotted, image in ((slow, PLOT), (happy[1000] or happy[100], PLOT_X100)):
        if plotted is None:
            continue
        add(f"![partner calls per second against the ceilings](img/{image.name})")
        add("")
        add(f"*Partner calls per second over time, N = {plotted['n']:,}, limits ×{plotted['settings']['rateLimitScale']:g} "
            f"(`{plotted['_file']}`; sandbox ledger, wall clock); dashed lines are the configured ceilings "
            "(documented limit × scale).*")
        add("")
    lines.extend(cpu_section(runs, slow))
    lines.extend(report_storm.section())
    add("## What is measured, and how")
    add("")
    add("""- **Rate-limit efficiency, raw**: for each endpoint class, from the sandbox ledger, (successful calls − 1) ÷
  (last − first call), divided by the ceiling (documented limit × scale). With the client's burst-1
  token bucket, a scheduler running exactly at the ceiling scores 1.00. A class fed more slowly than
  its ceiling by the step before it cannot score more than feed rate ÷ ceiling: migrateCnp follows the
  numbers import (1/s against its own 2/s), so its raw score is at most 0.5 however good the scheduler.
- **Rate-limit efficiency, pacing** (`bench/analyze.py: pacing_efficiency`): per class, the k-th call
  cannot come before the k-th migration became ready for it — its resource created (import), its
  import answered (migrateCnp), TCR's acceptance of its election (migrate: migrateCnp + the sandbox's
  decision delay). The ideal scheduler calls at max(ready_k, previous call + 1/ceiling). Pacing =
  (ideal − first ready) ÷ (actual last call − first ready). For a class with work always waiting this
  equals the raw score; for a class fed by a slower step it says whether the operator kept pace.
- **Kubernetes API cost**: `apiserver_request_total` scraped before the apply and after the last
  `Registered`, differenced, for `campaignmigrations`, `events` and `secrets`; the harness's own
  creates (N POSTs) are subtracted. Writes = POST/PUT/PATCH/DELETE.
- **Operator RSS / CPU**: psutil on the operator's PID every 0.5 s (peak RSS; user+system CPU).
  `bench/memprobe.py` explains RSS: tracemalloc (optional), glibc `mallinfo2`, pymalloc statistics,
  live TLS connections and the deep size of each field the reconciler keeps per resource.
- **Idle CPU**: N campaigns that Infobip (the sandbox) keeps IN_MIGRATION, operator backoff so long
  that no check falls due in the window; the window starts once the API server has seen no write
  for 3 s (queued Events drained); CPU over the window.
- **Latency**: apply (start of the creates) → the first partner call in the ledger; apply →
  `Registered` per resource as seen by the harness's watch. Webhook → Ready: `bench/webhook_latency.py`
  (webhooks delivered by the sandbox through the operator's real receiver).
- **Baseline** (`bench/baseline.py`): the same N resources created the same way, then per migration
  the same partner calls in the same order through the same client token buckets and the same
  backoff, a status merge patch at each point the operator writes one and an Event at each phase
  change (5 + 5); no watch, no Secret reads. Same cluster, a fresh sandbox with the same flags, run
  right after the operator. Its Kubernetes writes go through the official (synchronous) client in
  8 threads, which the operator no longer uses, and its partner calls through httpx's own transport.
  **Lean baseline** (`LeanBaseline`, same file): the same again over the operator's own HTTP stack
  (`tendlc.http_transport` for the partners, `tendlc.kube.KubeApi` for the writes), in a namespace
  of its own: operator CPU ÷ lean baseline CPU is what the operator's own work costs on top of the
  requests (the watch, decisions, models, logging, metrics).
- **CPU per migration**: process user + system CPU (psutil) from apply to the last Registered, ÷ N;
  the baselines' is the harness process's over their run. **Per component**: a run with
  `--profile py-spy-gil` (samples only the thread holding the GIL, so a sample is CPU, not a wait),
  each stack put in the first component whose marker it holds (`bench/cpu_budget.py`); the shares
  are applied to the CPU per migration of a run without the profiler.
- **Restart storm** (`bench/restart_storm.py`; the seed in `bench/storm_seed.py` and
  `bench/storm_status.py`, the figures in `bench/storm_analyze.py`): the seed is made before the
  operator starts — a stuck Infobip campaign per resource through the sandbox's admin API, the
  CampaignMigrations, and each status as the operator's own pure workflow (`decide`/`record`, the
  operator's `Policy` from its own environment) reaches it after three hours of a campaign that
  stays IN_MIGRATION, written through the status subresource; only `nextCheckAt` is then moved.
  Early polls: sandbox-ledger `GET …/campaigns/{uuid}` of a not-due resource before its seeded
  `nextCheckAt`. Due polls: the first answered GET of each due resource; rate = (polls − 1) ÷ their
  span ÷ the documented 10/s × scale (also over the first requests, answered or not, and against
  the ideal finish from the operator's start, `pacing_efficiency`). Writes:
  `apiserver_request_total` from just before the operator starts to the end of the storm (3 s
  without a write) or to 295 s after the start, whichever is first — from 300 s D18 may refresh the
  bookkeeping by its own rule — and per resource the final object against the seed (a moved
  `resourceVersion` is a write; the status keys that differ say what it changed). Event-loop lag
  and GC pauses (`--probe-loop-lag`) come from a wrapper around the same operator process
  (`bench/storm_wrapper.py`), and only in runs marked so.
- **Operator environment**: the operator runs from `.cache/venv-runtime`, a venv with the runtime
  dependencies only (what the container image installs): Kopf imports the `kubernetes` package
  whenever it is installed, and the harness's venv has it.
""")
    add("## Machine")
    add("")
    m = main["machine"]
    add(f"{m['nproc']} CPUs ({m['cpuModel']}), {m['memoryGiB']} GiB RAM, Python {m['python']}, "
        f"kube-apiserver {m['kubeVersion']} (built from Go modules, etcd with `--unsafe-no-fsync`), "
        f"{m['platform']}. Control plane, sandbox, operator and harness share the 2 cores; other work "
        "(the e2e suite) may run at the same time — the load average at start/end of each run is recorded above.")
    add("")
    add("## Reproduce")
    add("")
    add("""```sh
make bench      # N=100, N=1000 (x100 and x10) + baselines, a CPU profile at x10, N=5000, idle N=1000 and N=5000,
                # webhook latency at 1,000, the restart storm at 5,000, then this report (about an hour)
.venv/bin/python -m bench.run --n 1000 --baseline            # one run → bench/results/<ts>-n1000.json
.venv/bin/python -m bench.run --n 1000 --scenario idle       # idle CPU with 1,000 waiting
.venv/bin/python -m bench.run --n 1000 --rate-limit-scale 10 --baseline   # efficiency, not CPU-bound
.venv/bin/python -m bench.run --n 5000 --scenario idle --timeout 1200     # scale
.venv/bin/python -m bench.run --n 1000 --profile py-spy      # + collapsed stacks (needs ptrace, e.g. root)
.venv/bin/python -m bench.run --n 1000 --rate-limit-scale 10 --profile py-spy-gil   # CPU samples: the budget
.venv/bin/python -m bench.run --n 1000 --rate-limit-scale 10 --operator-env PYTHONPATH=<worktree>/operator \
    --out bench/results/<ts>-n1000-before-<commit>.json     # older operator code, same harness (before/after)
.venv/bin/python -m bench.run --n 1000 --rate-limit-scale 10 --what-if no-events   # the same without Events (F14)
.venv/bin/python -m bench.memprobe --n 1000 --frames 0       # where the memory goes (allocator, per-field sizes)
.venv/bin/python -m bench.restart_storm --n 5000             # restart storm at the real limits (about 8 minutes)
.venv/bin/python -m bench.restart_storm --n 5000 --what-if loaded-status-shown   # ... with F9's fix patched in
.venv/bin/python -m bench.restart_storm --n 5000 --future-seconds 300 --follow-not-due  # not-due ones until polled
.venv/bin/python -m bench.report                             # rewrite this page and the plots
```

Defaults: partner limits ×100 on both sides (`--rate-limit-scale`), sandbox time ×100
(`--time-scale`: TCR decides an election in 0.6 s, the OSR update 6 s after that, REGISTERED 6 s
later), operator backoff 1 s doubling to 8 s (`--backoff-initial/--backoff-max`), 2 numbers per
migration, one namespace, one shared LOA Secret. `--keep` keeps the temp dir with every log.
""")
    add("## Findings")
    add("")
    add(findings.strip())
    add("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DOCS / "performance.md")
    args = parser.parse_args(argv)
    runs = load_all()
    findings_file = HERE / "findings.md"
    findings = findings_file.read_text() if findings_file.exists() else "(none recorded)"
    storm_plot = report_storm.plot()  # before build: the section links the image only once it exists
    text = build(runs, findings)
    for run, image in ((newest(runs, "happy", 1000, 10.0, with_baseline=True), PLOT),
                       (newest(runs, "happy", 1000) or newest(runs, "happy", 100), PLOT_X100)):
        if run is not None:
            plot(run, image)
    args.out.write_text(text)
    print(f"wrote {args.out}, {PLOT.name} and {PLOT_X100.name}" + (f", {storm_plot.name}" if storm_plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
