"""The operator process with a candidate change or a probe in it (`python -m bench.storm_wrapper`).

`bench.restart_storm --what-if …` or `--probe-loop-lag`, and `bench.run --what-if …`, start the
operator through this wrapper, under the runtime venv's interpreter (the `python -m tendlc` the
stack appends is ignored). It applies what it was asked for, then runs the `tendlc` module exactly
as `python -m tendlc` does:

  --what-if loaded-status-shown  `Registry._start` stamps the new resource's `written_at` with the
        store's clock (`time.monotonic`): the status just read from the API server counts as
        shown to users now, so D18 holds back a poll-bookkeeping-only patch for
        `status_refresh_seconds` after a restart, as it does after a write (F9's fix).
  --what-if no-events  (bench.run) `EventPoster.post` does nothing: no Event is built, queued or
        posted, so a run measures what the Events cost (sizing "fewer Events", issue 18). The log
        line each Event's message also goes to stays.
  --lag-file PATH  a Kopf startup handler adds one task that sleeps 50 ms in a loop and writes,
        once a second, the largest lateness of its wake-ups (how long the event loop could not run
        a due timer: the rate limiter's timers wait the same way) as a JSON line to PATH, with the
        time the cyclic garbage collector spent in that second (`gc.callbacks`), which stops the
        loop as well.

A measurement aid, never shipped: a change belongs in operator/ (the lead's). Without either
option it is the operator unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import runpy
import sys
import time
from pathlib import Path
from typing import Any

WHAT_IFS = ("loaded-status-shown",)
"""What-ifs of a restart storm (`bench.restart_storm --what-if`)."""
RUN_WHAT_IFS = ("no-events",)
"""What-ifs of a migration run (`bench.run --what-if`)."""
TICK = 0.05


def _loaded_status_shown() -> None:
    from tendlc.controller import registry

    original = registry.Registry._start

    def _start(self: Any, key: tuple[str, str], body: Any) -> None:
        original(self, key, body)
        resource = self.resources.get(key)
        if resource is not None:
            resource.written_at = time.monotonic()  # the clock StatusStore compares with (its default)

    registry.Registry._start = _start  # type: ignore[method-assign]


def _no_events() -> None:
    from tendlc import events

    def post(self: Any, body: Any, event: Any) -> None:
        return None

    events.EventPoster.post = post  # type: ignore[method-assign]


def _probe_loop_lag(path: Path) -> None:
    import kopf

    collecting: dict[int, float] = {}
    pauses: list[tuple[int, float]] = []  # (generation, seconds) of the collections in this second

    def on_gc(phase: str, info: dict[str, int]) -> None:  # the cyclic GC stops the loop too
        if phase == "start":
            collecting[info["generation"]] = time.perf_counter()
        elif info["generation"] in collecting:
            pauses.append((info["generation"], time.perf_counter() - collecting.pop(info["generation"])))

    gc.callbacks.append(on_gc)

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        with path.open("a") as out:
            second, worst = int(time.time()), 0.0
            while True:
                before = loop.time()
                await asyncio.sleep(TICK)
                worst = max(worst, loop.time() - before - TICK)
                if int(time.time()) != second:
                    gen2 = [seconds for generation, seconds in pauses if generation == 2]
                    out.write(json.dumps({
                        "wallTime": second, "maxLagSeconds": round(worst, 4),
                        "gcSeconds": round(sum(seconds for _, seconds in pauses), 4),
                        "gen2Collections": len(gen2), "gen2Seconds": round(sum(gen2), 4),
                    }) + "\n")
                    out.flush()
                    pauses.clear()
                    second, worst = int(time.time()), 0.0

    @kopf.on.startup()
    async def start_loop_lag_probe(**_: Any) -> None:
        asyncio.get_running_loop().create_task(probe(), name="bench loop-lag probe")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.storm_wrapper", allow_abbrev=False)
    parser.add_argument("--what-if", choices=(*WHAT_IFS, *RUN_WHAT_IFS))
    parser.add_argument("--lag-file", type=Path)
    args, _ = parser.parse_known_args()  # the trailing `python -m tendlc` is ignored
    import tendlc.handlers  # noqa: F401 - tendlc's handlers register first, as under `python -m tendlc`

    if args.what_if == "loaded-status-shown":
        _loaded_status_shown()
    if args.what_if == "no-events":
        _no_events()
    if args.lag_file is not None:
        _probe_loop_lag(args.lag_file)
    sys.argv = ["tendlc"]
    runpy.run_module("tendlc", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
