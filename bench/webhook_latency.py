"""Webhook → Ready latency: how long after Infobip says REGISTERED the resource shows Ready=True.

`python -m bench.webhook_latency --runs 20 [--background 0]` starts the stack (control plane,
sandbox, operator with its webhook receiver and subscription), brings `--runs` campaigns that the
sandbox keeps IN_MIGRATION (ID prefix CST) to phase InMigration — plus `--background` more that
just wait there, to measure under load — and then, one campaign at a time, forces REGISTERED at
the sandbox (which sends the signed CAMPAIGN_STATUS_UPDATE at once). The latency of a run is the
`Ready` condition's lastTransitionTime minus the wall time just before the sandbox was told. The
operator's poll backoff is made long (first poll after 30 s), and a sample counts only if the
resource's nextCheckAt was still ahead when Ready flipped: every sample is the webhook path.
Writes bench/results/<ts>-webhook-latency.json and prints median, p99 and max.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.stack import (
    LOA_SECRET,
    NAMESPACE,
    Stack,
    campaign_id,
    install_signal_handlers,
    log,
    migration,
    migration_name,
)
from tendlc_dev.devcluster import free_port

RESULTS = Path(__file__).parent / "results"
WEBHOOK_SECRET = "webhook-auth"


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _ready(item: dict[str, Any]) -> dict[str, Any] | None:
    conditions = (item.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready" and c["status"] == "True"), None)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with Stack(keep_dir=args.keep) as stack:
        stack.start_cluster()
        assert stack.kube is not None
        # Partner limits ×100 on both sides, so a thousand campaigns get to InMigration in a minute or two.
        stack.start_sandbox(["--time-scale", "600", "--rate-limit-scale", "100"])
        stack.kube.secret(WEBHOOK_SECRET, {"username": "bench-hooks", "password": "bench-hook-password"})
        port = free_port()
        env = stack.operator_env(100.0, {
            "TENDLC_BIND_ADDRESS": "127.0.0.1",
            "TENDLC_METRICS_PORT": str(free_port()),
            "TENDLC_WEBHOOK_PORT": str(port),
            "TENDLC_WEBHOOK_PUBLIC_URL": f"http://127.0.0.1:{port}/webhooks/infobip",
            "TENDLC_WEBHOOK_ALLOW_HTTP": "true",
            "TENDLC_WEBHOOK_AUTH_SECRET__NAME": WEBHOOK_SECRET,
            "TENDLC_BACKOFF_INITIAL_SECONDS": "30",
            "TENDLC_BACKOFF_MAX_SECONDS": "900",
            "TENDLC_STATUS_REFRESH_SECONDS": "0",
            "TENDLC_RECHECK_PARKED_SECONDS": "1",
        })
        stack.start_operator(env)
        total = args.runs + args.background
        objects = [migration(i, "CST", 1) for i in range(total)]
        for obj in objects:
            obj["spec"]["loaSecretRef"] = {"name": LOA_SECRET}
        stack.kube.create_all(objects)
        # The election is read back after the first backoff (30 s); then every campaign sits in
        # InMigration with its next poll ≥ 30 s away.
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            items, _ = stack.kube.list_migrations()
            in_migration = [i for i in items if (i.get("status") or {}).get("phase") == "InMigration"]
            if len(in_migration) == total:
                break
            time.sleep(1)
        else:
            raise RuntimeError(f"only {len(in_migration)}/{total} reached InMigration")
        log(f"{total} campaigns InMigration; forcing REGISTERED one at a time")
        samples: list[float] = []
        excluded = 0
        with httpx.Client(timeout=10) as client:
            for index in range(args.runs):
                name, tcr_id = migration_name(index), campaign_id(index, "CST")
                before = dt.datetime.now(dt.UTC)
                client.post(f"{stack.sandbox_url}/_admin/campaigns/{tcr_id}/stage",
                            json={"stage": "REGISTERED", "emitWebhook": True}).raise_for_status()
                ready = None
                until = time.monotonic() + 30
                while ready is None and time.monotonic() < until:
                    item = json.loads(stack.kubectl("get", "cmig", name, "-n", NAMESPACE, "-o", "json"))
                    ready = _ready(item)
                    if ready is None:
                        time.sleep(0.05)
                if ready is None:
                    raise RuntimeError(f"{name} not Ready 30 s after its webhook")
                flipped = _time(ready["lastTransitionTime"])
                next_check = (item.get("status") or {}).get("nextCheckAt")
                if next_check and _time(next_check) <= flipped:
                    excluded += 1  # a poll was due anyway: not a webhook sample
                    continue
                samples.append((flipped - before).total_seconds())
        samples.sort()
        result = {
            "measured": "webhook -> Ready=True (lastTransitionTime - moment the sandbox was told)",
            "runs": args.runs, "background_resources": args.background, "excluded_poll_due": excluded,
            "samples_seconds": samples,
            "median_seconds": statistics.median(samples),
            "p99_seconds": samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))],
            "max_seconds": samples[-1],
        }
        log(f"webhook → Ready over {len(samples)} runs: median {result['median_seconds']:.3f} s, "
            f"p99 {result['p99_seconds']:.3f} s, max {result['max_seconds']:.3f} s")
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--background", type=int, default=0, help="extra campaigns waiting in InMigration")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    install_signal_handlers()
    result = run(args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{time.strftime('%Y%m%dT%H%M%S')}-webhook-latency-n{args.runs + args.background}.json"
    out.write_text(json.dumps(result, indent=2))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
