"""`bench.restart_storm --what-if loaded-status-shown`: the operator with one candidate change, for evidence.

Started by the storm as a wrapper around the operator (`python -m bench.storm_whatif`, under the
runtime venv's interpreter; the `python -m tendlc` the stack appends is ignored). It patches one
function in memory, then runs the `tendlc` module exactly as `python -m tendlc` would:

  loaded-status-shown  `Registry._start` stamps the new resource's `written_at` with the store's
                       clock (`time.monotonic`), i.e. the status just read from the API server
                       counts as shown to users now, so D18 holds back a poll-bookkeeping-only
                       patch for `status_refresh_seconds` after a restart as it does after a write.

This is a measurement aid, never shipped: the change itself belongs in operator/ (the lead's).
It imports nothing from the operator before the patch is applied but the module it patches.
"""

from __future__ import annotations

import runpy
import sys
import time
from typing import Any

WHAT_IFS = ("loaded-status-shown",)


def _loaded_status_shown() -> None:
    from tendlc.controller import registry

    original = registry.Registry._start

    def _start(self: Any, key: tuple[str, str], body: Any) -> None:
        original(self, key, body)
        resource = self.resources.get(key)
        if resource is not None:
            resource.written_at = time.monotonic()  # the clock StatusStore compares with (its default)

    registry.Registry._start = _start  # type: ignore[method-assign]


def main() -> None:
    what_if = sys.argv[1] if len(sys.argv) > 1 else ""
    if what_if != "loaded-status-shown":
        raise SystemExit(f"unknown what-if {what_if!r}; known: {', '.join(WHAT_IFS)}")
    _loaded_status_shown()
    sys.argv = ["tendlc"]
    runpy.run_module("tendlc", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
