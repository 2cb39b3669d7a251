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
    p.add_argument("--accept-duplicates", action="store_true", help="accept a resent migrate/migrateCnp/… as new")
    p.add_argument(
        "--import-answer",
        choices=["results", "numbers", "empty", "accepted", "accepted_request_id"],
        help="shape of the number import answer (default results, D1)",
    )
    p.add_argument("--import-delay", type=float, help="sandbox seconds until imported numbers are owned")
    p.add_argument("--import-already-status", help="word for a re-imported number (e.g. ALREADY_OWNED)")
    p.add_argument("--migrate-status", type=int, choices=[200, 201], help="status of a successful migrate")
    p.add_argument("--extra-campaign-fields", action="store_true", help="campaign objects carry unknown fields")
    p.add_argument("--error-shape", choices=["service_exception", "api_error"], help="Infobip error body shape")
    p.add_argument("--list-lag", type=float, help="sandbox seconds the campaign list lags a new campaign")
    p.add_argument("--interim-stage", action="append", help="stage passed through before REGISTERED (repeatable)")
    p.add_argument("--interim-stage-seconds", type=float, help="sandbox seconds in each interim stage")
    p.add_argument("--webhook-duplicates", action="store_true", help="send every webhook twice")
    p.add_argument("--webhook-reverse", action="store_true", help="deliver a campaign's events in reverse order")
    p.add_argument("--numbers-added-after", type=float, help="sandbox seconds, add-numbers → numbers on campaign")
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
        "behaviour.sendRetryAfter": True if args.retry_after else None,
        "behaviour.acceptDuplicates": True if args.accept_duplicates else None,
        "behaviour.importAnswer": args.import_answer,
        "behaviour.importDelaySeconds": args.import_delay,
        "behaviour.importAlreadyStatus": args.import_already_status,
        "behaviour.migrateStatus": args.migrate_status,
        "behaviour.extraCampaignFields": True if args.extra_campaign_fields else None,
        "behaviour.errorShape": args.error_shape,
        "behaviour.listLagSeconds": args.list_lag,
        "behaviour.interimStages": args.interim_stage,
        "behaviour.interimStageSeconds": args.interim_stage_seconds,
        "behaviour.webhookDuplicates": True if args.webhook_duplicates else None,
        "behaviour.webhookReverse": True if args.webhook_reverse else None,
        "schedule.numbersAddedAfter": args.numbers_added_after,
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
