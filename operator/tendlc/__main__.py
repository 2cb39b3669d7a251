"""`python -m tendlc` (or the `tendlc` console script): run the operator.

Settings come from `TENDLC_*` variables and are validated before Kopf starts, so a bad setting
stops the process with a message naming it. Equivalent to `kopf run -m tendlc.handlers` with the
namespaces, liveness endpoint and peering taken from those settings.
"""

from __future__ import annotations

import asyncio
import sys

import kopf
from pydantic import ValidationError

from tendlc.config import Settings


def main() -> int:
    try:
        config = Settings()
    except ValidationError as error:
        print(f"tendlc: invalid configuration:\n{error}", file=sys.stderr)
        return 2
    import tendlc.handlers  # noqa: F401  (registers the handlers)

    kopf.configure(verbose=False)
    liveness = f"http://0.0.0.0:{config.liveness_port}/healthz" if config.liveness_port else None
    asyncio.run(
        kopf.operator(
            standalone=True,
            clusterwide=not config.watch_namespaces,
            namespaces=config.watch_namespaces,
            liveness_endpoint=liveness,
            memo=kopf.Memo(config=config),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
