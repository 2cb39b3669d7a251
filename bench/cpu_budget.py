"""The operator's CPU per migration by component, from a py-spy profile of the GIL holder.

`python -m bench.run --profile py-spy-gil` samples only the thread holding the GIL, so a sample
is Python CPU time, not a thread waiting on a socket or descheduled on the shared 2 cores (what a
wall-clock profile mixes in). Each collapsed stack is put in the first component whose marker it
contains; a component's share of the samples times the CPU per migration of a run *without* the
profiler (py-spy itself slows the process) is its cost in ms per migration.

`BUDGET` is what each component may cost at N = 1,000, limits ×10, on this project's 2-core
machine class (docs/performance.md, "CPU budget"): the figures measured when issue 18 landed,
with headroom for noise. A change that pushes a component over its budget shows as "over" in the
report and needs either a fix or a reasoned new budget in the same commit.
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

BUDGET: dict[str, float] = {
    "Kopf: watch stream and per-event processing": 6.0,
    "partner HTTP (client, exchange, answers)": 7.0,
    "Kubernetes HTTP (status patches, Events, reads)": 5.0,
    "logging": 1.5,
    "metrics": 0.6,
    "status models (parse, clone, dump, patch)": 3.0,
    "decisions (decide, record)": 2.5,
    "JSON": 1.0,
    "pass plumbing (facts, store, registry, waves)": 2.5,
    EVENT_LOOP: 7.0,
}
"""ms of operator CPU per migration each component may use (N = 1,000, limits ×10, 2 cores)."""


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
