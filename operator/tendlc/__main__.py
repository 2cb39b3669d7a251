"""`python -m tendlc` (or the `tendlc` console script): run the operator.

Settings come from `TENDLC_*` variables and are validated before Kopf starts, so a bad setting
stops the process with a message naming it. Equivalent to `kopf run -m tendlc.handlers` with the
namespaces and liveness endpoint taken from those settings; logs are JSON lines (or
text) with every known credential redacted. The command line takes no settings (one source of
configuration, the environment): only `--help` and `--version`, which exit without starting.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

import kopf
from pydantic import ValidationError

from tendlc import __version__
from tendlc.config import Settings
from tendlc.logs import configure_logging

DESCRIPTION = """\
Run the tendlc operator: it watches CampaignMigration resources and migrates each 10DLC campaign
to Infobip (number import, CNP election at TCR, Infobip migration, then REGISTERED).

Every setting is a TENDLC_* environment variable, validated at start-up (a bad one stops the
operator with a message naming it); the Helm chart sets them from its values. The main ones:
  TENDLC_INFOBIP_BASE_URL, TENDLC_INFOBIP_CREDENTIALS_SECRET__NAME
  TENDLC_TCR_BASE_URL, TENDLC_TCR_CREDENTIALS_SECRET__NAME
  TENDLC_OPERATOR_NAMESPACE, TENDLC_WATCH_NAMESPACES (JSON list; empty: all namespaces)
  TENDLC_WEBHOOK_PUBLIC_URL, TENDLC_WEBHOOK_AUTH_SECRET__NAME, TENDLC_DRY_RUN
The Kubernetes API is reached through the in-cluster ServiceAccount or KUBECONFIG."""

EPILOG = "Full reference: README.md (Configuration reference), docs/install.md and docs/operations.md."


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line: `--help` and `--version` only; anything else is an error (exit 2)."""
    parser = argparse.ArgumentParser(
        prog="tendlc", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"tendlc {__version__}")
    return parser.parse_args(argv)


def _loop_factory(config: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop (libuv, and TLS of its own) unless TENDLC_EVENT_LOOP=asyncio.

    The loop itself (sockets, TLS, callbacks) was a fifth of the operator's CPU on asyncio's;
    uvloop's takes less (docs/performance.md, F13). uvloop is a dependency; an install without it
    runs asyncio's.
    """
    if config.event_loop == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        config = Settings()
    except ValidationError as error:
        print(f"tendlc: invalid configuration:\n{error}", file=sys.stderr)
        return 2
    import tendlc.handlers  # noqa: F401  (registers the handlers)

    kopf.configure(verbose=False)
    configure_logging(config.log_format, config.log_level)
    liveness = f"http://{config.bind_address}:{config.liveness_port}/healthz" if config.liveness_port else None
    with asyncio.Runner(loop_factory=_loop_factory(config)) as runner:
        runner.run(kopf.operator(
            # Every replica watches (a standby stays warm); which one acts is the Lease's answer
            # (tendlc.leader), not Kopf peering, whose pause stops Kopf's watch but not our loops.
            standalone=True,
            clusterwide=not config.watch_namespaces,
            namespaces=config.watch_namespaces,
            liveness_endpoint=liveness,
            memo=kopf.Memo(config=config),
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
