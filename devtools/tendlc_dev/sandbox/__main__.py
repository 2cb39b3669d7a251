"""Command line: `python -m tendlc_dev.sandbox --port 8085 [--time-scale 60] …` (or `tendlc-sandbox`).

Builds a `SandboxConfig` from, in increasing precedence: defaults, an optional JSON config file
(`--config`, the same camelCase shape the admin API speaks), `TENDLC_SANDBOX_*` environment variables
for credentials, and flags. Prints `SANDBOX_URL=<base url>` on stdout once listening, so a parent
process can wait for that line, then logs one line per request until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tendlc_dev.sandbox.app import SandboxServer
from tendlc_dev.sandbox.config import SandboxConfig

ENV_CREDENTIALS = {
    "TENDLC_SANDBOX_INFOBIP_API_KEY": "infobipApiKey",
    "TENDLC_SANDBOX_INFOBIP_USERNAME": "infobipUsername",
    "TENDLC_SANDBOX_INFOBIP_PASSWORD": "infobipPassword",
    "TENDLC_SANDBOX_TCR_API_KEY": "tcrApiKey",
    "TENDLC_SANDBOX_TCR_API_SECRET": "tcrApiSecret",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tendlc-sandbox", description="Infobip + TCR sandbox (see docs/sandbox.md)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument("--port", type=int, default=8085, help="0 picks a free port")
    p.add_argument("--config", type=Path, help="JSON file with a SandboxConfig (camelCase keys)")
    p.add_argument("--time-scale", type=float, help="sandbox seconds per real second; 0 freezes time")
    p.add_argument("--rate-limit-scale", type=float, help="multiply every rate limit")
    p.add_argument("--no-rate-limits", action="store_true", help="disable rate limiting")
    p.add_argument("--retry-after", action="store_true", help="send Retry-After on 429 (Infobip documents none)")
    p.add_argument("--state-file", type=Path, help="JSON file the state survives restarts in")
    p.add_argument("--infobip-api-key")
    p.add_argument("--infobip-username")
    p.add_argument("--infobip-password")
    p.add_argument("--tcr-api-key")
    p.add_argument("--tcr-api-secret")
    p.add_argument("--import-disabled", action="store_true", help="every number import answers 403")
    p.add_argument("--allow-unimported-numbers", action="store_true", help="migrate without importing first")
    p.add_argument("--sharing-decision-after", type=float, help="sandbox seconds, TCR PENDING → decision")
    p.add_argument("--osr-update-after", type=float, help="sandbox seconds, migrate → OSR updated")
    p.add_argument("--registration-after-osr", type=float, help="sandbox seconds, OSR updated → REGISTERED")
    p.add_argument("--rejection-after", type=float, help="sandbox seconds, migrate → REJECTED")
    p.add_argument("--seed", type=int, help="seed for fault injection")
    p.add_argument("--error-probability", type=float)
    p.add_argument("--slow-probability", type=float)
    p.add_argument("--slow-seconds", type=float)
    p.add_argument("--drop-probability", type=float)
    p.add_argument("--tcr-temporary-probability", type=float)
    p.add_argument("--webhook-loss-probability", type=float)
    p.add_argument("--webhook-duplicate-probability", type=float)
    p.add_argument("--webhook-reorder-probability", type=float)
    p.add_argument("--webhook-max-attempts", type=int)
    p.add_argument("--webhook-retry-backoff", type=float, help="sandbox seconds before the first retry")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return p


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    if value is None:
        return
    *parents, leaf = path.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def build_config(args: argparse.Namespace, environ: dict[str, str]) -> SandboxConfig:
    data: dict[str, Any] = json.loads(args.config.read_text()) if args.config else {}
    for variable, field in ENV_CREDENTIALS.items():
        if variable in environ:
            data[field] = environ[variable]
    flags = {
        "infobipApiKey": args.infobip_api_key,
        "infobipUsername": args.infobip_username,
        "infobipPassword": args.infobip_password,
        "tcrApiKey": args.tcr_api_key,
        "tcrApiSecret": args.tcr_api_secret,
        "timeScale": args.time_scale,
        "stateFile": str(args.state_file) if args.state_file else None,
        "rateLimits.scale": args.rate_limit_scale,
        "rateLimits.enabled": False if args.no_rate_limits else None,
        "rateLimits.sendRetryAfter": True if args.retry_after else None,
        "importEnabled": False if args.import_disabled else None,
        "requireImportedNumbers": False if args.allow_unimported_numbers else None,
        "schedule.sharingDecisionAfter": args.sharing_decision_after,
        "schedule.osrUpdateAfter": args.osr_update_after,
        "schedule.registrationAfterOsr": args.registration_after_osr,
        "schedule.rejectionAfter": args.rejection_after,
        "faults.seed": args.seed,
        "faults.errorProbability": args.error_probability,
        "faults.slowProbability": args.slow_probability,
        "faults.slowSeconds": args.slow_seconds,
        "faults.dropProbability": args.drop_probability,
        "faults.tcrTemporaryProbability": args.tcr_temporary_probability,
        "faults.webhookLossProbability": args.webhook_loss_probability,
        "faults.webhookDuplicateProbability": args.webhook_duplicate_probability,
        "faults.webhookReorderProbability": args.webhook_reorder_probability,
        "webhooks.maxAttempts": args.webhook_max_attempts,
        "webhooks.retryBackoffSeconds": args.webhook_retry_backoff,
        "logRequests": False if args.quiet else None,
    }
    for path, value in flags.items():
        _set(data, path, value)
    return SandboxConfig.model_validate(data)


async def serve(config: SandboxConfig, host: str, port: int) -> None:
    server = SandboxServer(config)
    url = await server.start(host=host, port=port)
    print(f"SANDBOX_URL={url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        config = build_config(args, dict(os.environ))
    except (ValueError, OSError) as error:
        print(f"tendlc-sandbox: invalid configuration: {error}", file=sys.stderr)
        return 2
    asyncio.run(serve(config, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
