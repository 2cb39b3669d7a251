"""The operator's CPU per migration by component, from a py-spy profile of the GIL holder.

`python -m bench.run --profile py-spy-gil` samples only the thread holding the GIL, so a sample
is Python CPU time, not a thread waiting on a socket or descheduled on the shared 2 cores (what a
wall-clock profile mixes in). Each collapsed stack is put in the first component whose marker it
contains; a component's share of the samples times the CPU per migration of a run *without* the
profiler (py-spy itself slows the process) is its cost in ms per migration.

`BUDGET` is what each component may cost at N = 1,000, limits ×10, on this project's 2-core
machine class (docs/performance.md, "CPU budget"): the figures measured when issue 18 landed,
with ~20% headroom, on a machine where the lean baseline (the same requests over the operator's own
HTTP stack, nothing else) cost `REFERENCE_LEAN_MS` per migration. Machines of the class differ by
1.7× in speed (c184dc2 measured 60 ms on one and 113 ms on another), so a run's budgets are
`BUDGET` scaled by its own lean baseline (`budgets`): a verdict holds whatever the machine's speed,
and their sum is `LEAN_RATIO_BUDGET` times the lean baseline. A change that pushes a component over
its budget shows as "over" in the report and needs either a fix or a reasoned new budget in the same
commit; a verdict near the line wants a second run (two runs of the same code an hour apart differ
by up to ~10%).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Kopf: watch stream and per-event processing", ("kopf/",)),
    ("partner HTTP (client, exchange, answers)", ("PartnerHttp.", "tendlc/clients/")),
    ("Kubernetes HTTP (status patches, Events, reads)", ("KubeConnection.", "KubeApi.", "EventPoster.")),
    ("logging", ("logging/", "tendlc/logs.py")),
    ("metrics", ("prometheus_client/", "tendlc/metrics.py")),
    ("status models (parse, clone, dump, patch)", ("tendlc/api/", "pydantic/")),
    ("decisions (decide, record)", ("tendlc/workflow/",)),
    ("JSON", ("json/",)),
    ("pass plumbing (facts, store, registry, waves)", ("tendlc/controller/", "tendlc/partners.py")),
    ("HTTP I/O callbacks (aiohttp's writers and readers, TLS; every connection, Kopf's watches too)",
     ("aiohttp/", "ssl.py", "sslproto.py")),
)
EVENT_LOOP = "event loop and the rest"

BUDGET: dict[str, float] = {  # measured when issue 18 landed (20261202T040404-n1000.json) × ~1.2, in steps of 0.5
    "Kopf: watch stream and per-event processing": 7.0,  # 5.6
    "partner HTTP (client, exchange, answers)": 9.0,  # 7.3
    "Kubernetes HTTP (status patches, Events, reads)": 5.0,  # 4.1
    "logging": 1.0,  # 0.8
    "metrics": 0.5,  # 0.2
    "status models (parse, clone, dump, patch)": 4.5,  # 3.7
    "decisions (decide, record)": 2.5,  # 1.9
    "JSON": 0.5,  # 0.2
    "pass plumbing (facts, store, registry, waves)": 3.0,  # 2.2
    "HTTP I/O callbacks (aiohttp's writers and readers, TLS; every connection, Kopf's watches too)": 9.0,  # 7.3
    EVENT_LOOP: 3.0,  # 2.2
}
"""ms of operator CPU per migration each component may use (N = 1,000, limits ×10, 2 cores), on the
machine where the lean baseline costs `REFERENCE_LEAN_MS`."""

REFERENCE_LEAN_MS = 18.0
"""The lean baseline's CPU per migration when `BUDGET` was set (17.9 ms, `20261202T080301-n1000.json`)."""

LEAN_RATIO_BUDGET = 2.5
"""The operator's CPU per migration at most this many times the lean baseline's, same run (= sum of BUDGET
÷ REFERENCE_LEAN_MS)."""


def budgets(lean_ms_per_migration: float | None) -> dict[str, float]:
    """Each component's budget in ms per migration for a run whose lean baseline cost `lean_ms_per_migration`
    (the reference machine's, `BUDGET` as it is, when the run had no lean baseline)."""
    scale = (lean_ms_per_migration or REFERENCE_LEAN_MS) / REFERENCE_LEAN_MS
    return {name: round(ms * scale, 2) for name, ms in BUDGET.items()}


def component_of(stack: str) -> str:
    for name, markers in COMPONENTS:
        if any(marker in stack for marker in markers):
            return name
    return EVENT_LOOP


def collapsed_stacks(collapsed: Path) -> Iterator[tuple[str, int]]:
    """(stack, samples) of each line of py-spy's collapsed ('raw') output; frames joined by `;`."""
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        try:
            yield stack, int(count_text)
        except ValueError:
            continue


def shares(collapsed: Path) -> dict[str, float]:
    """Each component's share of the samples in py-spy's collapsed ('raw') output."""
    counts: Counter[str] = Counter()
    for stack, count in collapsed_stacks(collapsed):
        counts[component_of(stack)] += count
    total = sum(counts.values())
    if not total:
        return {}
    return {name: round(counts[name] / total, 4) for name in [*(c for c, _ in COMPONENTS), EVENT_LOOP]}


def per_migration(component_shares: dict[str, float], cpu_ms_per_migration: float) -> dict[str, float]:
    """ms per migration per component: the profile's shares of an unprofiled run's CPU."""
    return {name: round(share * cpu_ms_per_migration, 2) for name, share in component_shares.items()}
