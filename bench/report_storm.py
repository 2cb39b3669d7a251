"""The restart-storm section of docs/performance.md and its plot, from bench/results/*-restart-storm-*.json.

`bench.report` calls `section()` and `plot()`; this room only formats what `bench.restart_storm`
measured (the newest plain run at the largest N for the verdicts; the newest `--what-if` run and the
newest `--follow-not-due` run beside it as evidence). It measures nothing and judges nothing the
results file does not already say.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PLOT = HERE.parent / "docs" / "img" / "restart-storm.png"


def load() -> list[dict[str, Any]]:
    runs = []
    for path in sorted(RESULTS.glob("*-restart-storm-*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and data.get("benchmark") == "restart-storm" and "targets" in data:
            data["_file"] = path.name
            runs.append(data)
    return runs


def _instrumented(run: dict[str, Any]) -> bool:
    settings = run["settings"]
    return bool(settings.get("probeLoopLag")) or settings.get("profile", "none") != "none"


def _newest(runs: list[dict[str, Any]], *, what_if: bool, follow: bool,
            instrumented: bool | None = False) -> dict[str, Any] | None:
    """The newest run of that kind at the largest N; uninstrumented (no probe, no py-spy) unless asked."""
    found = [r for r in runs if bool(r["settings"].get("whatIf")) == what_if
             and bool(r["settings"].get("followNotDue")) == follow
             and (instrumented is None or _instrumented(r) == instrumented)]
    return max(found, key=lambda r: (r["n"], r["timestamp"])) if found else None


def _word(met: bool | None) -> str:
    return "not measured" if met is None else ("**met**" if met else "**missed**")


def _n(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _summary(run: dict[str, Any]) -> list[str]:
    polls, writes, op = run["duePolls"], run["writes"], run["operator"]
    per = writes["perResource"]
    pacing = polls["fromStart"]
    procs = run["processes"]
    keys = ", ".join(f"`{k}`" for k in sorted(per["changedKeys"])) or "none changed"
    return [
        f"| due resources observed | {polls['observed']:,} of {polls['due']:,}, the last "
        f"{_n(polls['allObservedAfterStartSeconds'])} s after the operator was started "
        f"(first poll after {_n(polls['firstPollAfterStartSeconds'])} s; "
        f"median {_n(polls['observedAfterStart']['p50'])} s; "
        f"{polls['due']:,} at the documented ceiling: {_n(polls['idealSeconds'])} s) |",
        f"| due polls: calls/s ÷ documented ceiling | {_n(polls['achievedPerSecond'])} ÷ "
        f"{_n(polls['ceilingPerSecond'])} = {_n(polls['efficiency'])} over the polls' span; from the operator's "
        f"start (start-up charged) {_n(pacing.get('efficiency'))} |",
        f"| partner calls in the window | {run['partners']['calls']:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in run['partners']['byRoute'].items())}); by status "
        f"{', '.join(f'{k}: {v:,}' for k, v in run['partners']['byStatus'].items())} |",
        f"| Kubernetes writes in the window | {writes['operatorWrites']:,}: status PATCH {writes['statusPatches']:,}, "
        f"Event POST {writes['eventPosts']:,} (kube-apiserver `apiserver_request_total`) |",
        f"| writes per resource (final object vs the seed) | not written {per['notWritten']:,}; written with only "
        f"the poll bookkeeping ({keys}) changed {per['writtenOnlyPollBookkeeping']:,}; "
        f"written with other changes {per['writtenWithOtherChanges']:,} |",
        f"| operator peak RSS | {_n(op['peakRssMiB'])} MiB |",
        f"| operator CPU, start → last due poll | {_n(op['cpuSecondsStorm'])} s "
        f"({_n(op['cpuPercentOfOneCoreStorm'])}% of one core) |",
        f"| kube-apiserver / etcd / sandbox CPU, same span | {_n(procs['kube-apiserver']['cpuSeconds'])} / "
        f"{_n(procs['etcd']['cpuSeconds'])} / {_n(procs['sandbox']['cpuSeconds'])} s |",
        f"| seeding (sandbox, creates, the operator's workflow per resource, status writes) | "
        f"{_n(run['seedSeconds'])} s, before the operator starts |",
        f"| load average (1 min) at start / end | {run['machine']['loadAverage1m']} / "
        f"{run['machine'].get('loadAverage1mAtEnd')} |",
    ]


def section() -> list[str]:
    runs = load()
    main = _newest(runs, what_if=False, follow=False)
    lines = ["## Restart storm (issue 13)", ""]
    if main is None:
        return [*lines, "Not run yet: `.venv/bin/python -m bench.restart_storm` (see *Reproduce*).", ""]
    s = main["settings"]
    lines += [
        f"`{main['_file']}` (commit `{main['code']}`): {main['n']:,} CampaignMigrations waiting in `InMigration`, "
        f"each with a stuck Infobip campaign in the sandbox and the status the operator's own workflow writes "
        f"(`bench/storm_seed.py`, `bench/storm_status.py`); every second one due (`nextCheckAt` 0–120 s in "
        f"the past), the others not "
        f"(`nextCheckAt` {s['futureSeconds']:g}–{s['futureSeconds'] + 60:g} s ahead). Then the operator is started "
        f"for the first time on them (a restart). Partner limits: **{s['limitsWord']}**, the operator's "
        f"client at the same scale; default backoff and D18 refresh (300 s). The machine has 2 cores shared "
        f"with the control plane, the sandbox, the harness and other work.",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *(f"| {t['target']} (goal {t['goal']}) | {t['measured']} | {_word(t['met'])} |" for t in main["targets"]),
        "",
        "| figure | value |",
        "|---|---|",
        *_summary(main),
        "",
    ]
    what_if = _newest(runs, what_if=True, follow=False, instrumented=None)
    if what_if is not None:
        per = what_if["writes"]["perResource"]
        lines += [
            f"Before F9 was fixed, the evidence for its fix (*Findings*, F9): the same storm with the candidate change "
            f"patched into the operator process (`--what-if {what_if['settings']['whatIf']}`, "
            f"`bench/storm_wrapper.py`; `{what_if['_file']}`): {what_if['writes']['statusPatches']:,} status PATCHes, "
            f"{what_if['writes']['eventPosts']:,} Events, {per['writtenOnlyPollBookkeeping']:,} resources written "
            f"with only poll bookkeeping changed; due polls {_n(what_if['duePolls']['efficiency'])} of the ceiling, "
            f"{what_if['partners']['429s']} × 429, early polls {what_if['earlyPolls']['earlyPolls']}, peak RSS "
            f"{_n(what_if['operator']['peakRssMiB'])} MiB.",
            "",
        ]
    follow = _newest(runs, what_if=False, follow=True, instrumented=None)
    if follow is not None:
        early = follow["earlyPolls"]
        late = early["firstPollAfterNextCheckAtSeconds"]
        lines += [
            f"The not-due ones, followed until they fell due (`--follow-not-due --future-seconds "
            f"{follow['settings']['futureSeconds']:g}`, `{follow['_file']}`, N = {follow['n']:,}): "
            f"{early['earlyPolls']} polled before their `nextCheckAt`; {early['polledOnceDue']:,} of "
            f"{early['notDue']:,} polled once due, the first poll {_n(late['p50'])} s (median) / "
            f"{_n(late['max'])} s (max) after `nextCheckAt` — they queue behind the due ones at the GET ceiling. "
            f"Writes in that run: {follow['writes']['statusPatches']:,} status PATCHes "
            f"({follow['writes']['perResource']['writtenOnlyPollBookkeeping']:,} resources with only poll "
            f"bookkeeping changed).",
            "",
        ]
    probe = _newest(runs, what_if=False, follow=False, instrumented=True)
    if probe is not None and probe.get("loopLag"):
        lag, pacing = probe["loopLag"], probe["partners"].get("pollPacing") or {}
        lines += [
            f"Inside the operator (`{probe['_file']}`, the same storm with `--probe-loop-lag`"
            + (f" and py-spy for the first {probe['settings']['profileSeconds']:g} s" if probe.get("profile") else "")
            + f"): the event loop could not run a due timer for up to {_n(lag['max'])} s "
            f"({lag['secondsOver100ms']} seconds with more than 0.1 s, the GET interval); the cyclic GC ran "
            f"{lag['gen2Collections']} full (gen-2) collections, the longest second holding "
            f"{_n(lag['longestGen2SecondsInASecond'])} s of them, {_n(lag['gcSeconds'])} s of GC in all. "
            f"The polls reached the partner with up to "
            f"{pacing.get('mostInAnyOneSecond')} in one second (its limit {_n(pacing.get('partnerPerSecondLimit'))}/s) "
            f"right after such a stall (*Findings*, F10).",
            "",
        ]
    lines += ["All restart-storm runs:", "",
              "| file | variant | 429s | due observed after (s) | due polls ÷ ceiling | restart's writes |",
              "|---|---|---|---|---|---|"]
    for run in sorted(runs, key=lambda r: r["timestamp"]):
        st = run["settings"]
        variant = ", ".join(filter(None, [
            f"what-if {st['whatIf']}" if st.get("whatIf") else "", "follow not-due" if st.get("followNotDue") else "",
            "loop-lag probe" if st.get("probeLoopLag") else "",
            "py-spy" if st.get("profile", "none") != "none" else ""])) or "plain"
        w = run["writes"]
        taken = f" (at {w['secondsAfterStart']:g} s)" if "secondsAfterStart" in w else " (whole run)"
        lines.append(f"| `{run['_file']}` | N = {run['n']:,}, {variant} | {run['partners']['429s']} | "
                     f"{_n(run['duePolls']['allObservedAfterStartSeconds'])} | {_n(run['duePolls']['efficiency'])} | "
                     f"{w['statusPatches']:,} PATCH + {w['eventPosts']:,} Events{taken} |")
    if any("secondsAfterStart" not in run["writes"] for run in runs):
        lines += ["", "*(whole run)*: result files of the first version of the storm counted writes to the end of "
                      "the run, which includes the refresh writes D18 allows 300 s after the start when a run lasts "
                      "longer (the run with 429s lasted 946 s: its 429'd polls waited out their backoff)."]
    lines.append("")
    if PLOT.exists():
        lines += [f"![restart storm: polls per second and the operator's CPU and RSS](img/{PLOT.name})", "",
                  f"*Restart storm, `{main['_file']}`: Infobip campaign GETs per second (sandbox ledger) against "
                  "the documented ceiling, and the operator's CPU (% of one core) and RSS, from the moment it was "
                  "started.*", ""]
    return lines


def plot() -> Path | None:
    main = _newest(load(), what_if=False, follow=False)
    if main is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    polls = main["series"]["pollsPerSecond"]
    ceiling = main["duePolls"]["ceilingPerSecond"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.step(range(len(polls)), polls, where="post", color="tab:purple", label="GET campaign/{uuid} per second")
    top.axhline(ceiling, color="tab:purple", linestyle="--", linewidth=1, label=f"documented ceiling {ceiling:g}/s")
    top.set_ylabel("calls per second")
    top.legend(loc="lower right", fontsize=8)
    top.grid(alpha=0.3)
    cpu = main.get("cpuTimeline") or []
    coarse = [point for k, point in enumerate(cpu) if k % 4 == 0]  # ~2 s steps: 0.5 s samples are noisy
    pct = [(t1, 100 * (c1 - c0) / (t1 - t0)) for (t0, c0), (t1, c1) in itertools.pairwise(coarse) if t1 > t0]
    bottom.plot([t for t, _ in pct], [p for _, p in pct], color="tab:red", linewidth=1,
                label="operator CPU (% of a core)")
    bottom.set_ylabel("% of one core")
    bottom.grid(alpha=0.3)
    rss_axis = bottom.twinx()
    rss = main.get("rssTimeline") or []
    rss_axis.plot([t for t, _ in rss], [m for _, m in rss], color="tab:blue", linewidth=1, label="operator RSS (MiB)")
    rss_axis.set_ylabel("MiB")
    bottom.legend(loc="upper right", fontsize=8)
    rss_axis.legend(loc="center right", fontsize=8)
    bottom.set_xlabel("seconds since the operator was started")
    top.set_title(f"Restart storm: {main['n']:,} waiting, {main['duePolls']['due']:,} due, "
                  f"{main['settings']['limitsWord']}")
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)
    return PLOT
