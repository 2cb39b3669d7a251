"""`python -m tendlc` (or the `tendlc` console script): run the operator.

Settings come from `TENDLC_*` variables and are validated before Kopf starts, so a bad setting
stops the process with a message naming it. Equivalent to `kopf run -m tendlc.handlers` with the
namespaces, liveness endpoint and peering taken from those settings; logs are JSON lines (or
text) with every known credential redacted.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys

import kopf
from pydantic import ValidationError

from tendlc.config import Settings
from tendlc.logs import configure_logging


def peering_priority() -> int:
    """Distinct per Pod (Kopf freezes peers of equal priority): derived from the Pod's name."""
    identity = os.environ.get("POD_ID") or os.environ.get("HOSTNAME") or str(os.getpid())
    return int(hashlib.sha256(identity.encode()).hexdigest()[:6], 16)


def main() -> int:
    try:
        config = Settings()
    except ValidationError as error:
        print(f"tendlc: invalid configuration:\n{error}", file=sys.stderr)
        return 2
    import tendlc.handlers  # noqa: F401  (registers the handlers)

    kopf.configure(verbose=False)
    configure_logging(config.log_format, config.log_level)
    liveness = f"http://{config.bind_address}:{config.liveness_port}/healthz" if config.liveness_port else None
    asyncio.run(
        kopf.operator(
            standalone=config.peering_name is None,
            peering_name=config.peering_name,
            priority=peering_priority(),
            clusterwide=not config.watch_namespaces,
            namespaces=config.watch_namespaces,
            liveness_endpoint=liveness,
            memo=kopf.Memo(config=config),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
