"""The floor: the same Kubernetes writes and partner calls as the operator, made directly, no operator.

For each of N CampaignMigrations (created the same way as the operator run creates them) one
coroutine does exactly the happy path the operator does, in the same order and through the same
client-side token buckets (`tendlc.clients.ratelimit`, same scale): import the numbers, write the
marker, migrateCnp, GET sharing until ACCEPTED, write the marker, migrate, GET the campaign until
REGISTERED — with the same backoff (equal jitter, initial doubling to max), a status merge patch
at the same points the operator writes one (docs/decisions.md D18: before each non-idempotent POST
and at the end of each pass that changed something other than poll bookkeeping) and an Event at
each phase change (D21): 5 patches and 5 Events per migration. Writes go through an 8-thread pool
like the operator's `KubeApi`. What it leaves out is the operator's own work: the watch, reading
Secrets, decide/record, logging, metrics.

`python -m bench.baseline --n 100` starts its own control plane and sandbox; `bench.run --baseline`
runs it in the same run as the operator (same cluster, a fresh sandbox with the same flags).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.analyze import calls_per_migration, rate_efficiency, request_delta, scheduler_efficiency, summary_stats
from bench.stack import (
    INFOBIP_API_KEY,
    TCR_API_KEY,
    TCR_API_SECRET,
    Kube,
    SandboxAdmin,
    Stack,
    install_signal_handlers,
    log,
    migration,
)
from tendlc.api.constants import GROUP, VERSION
from tendlc.clients.ratelimit import (
    INFOBIP,
    NUMBERS_IMPORT,
    REGISTRATION_READ,
    REGISTRATION_WRITE,
    TCR,
    TCR_READ,
    TCR_WRITE,
    RateLimiterRegistry,
)
from tendlc.events import event_manifest
from tendlc.http_transport import AiohttpExchange
from tendlc.kube import KubeApi
from tendlc.workflow import Event

BASELINE_NAMESPACE = "bench-baseline"
LEAN_NAMESPACE = "bench-baseline-lean"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Baseline:
    def __init__(self, kube: Kube, sandbox_url: str, scale: float, backoff_initial: float, backoff_max: float,
                 namespace: str = BASELINE_NAMESPACE) -> None:
        self.kube = kube
        self.namespace = namespace
        self.infobip = f"{sandbox_url}/infobip"
        self.tcr = f"{sandbox_url}/tcr/v2"
        self.limiters = RateLimiterRegistry(scale=scale)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.pool = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="baseline-kube")
        self.patches = 0
        self.events = 0
        self.calls = 0
        self.done_at: dict[str, float] = {}
        self.failed: dict[str, str] = {}
        self.tcr_auth = "Basic " + base64.b64encode(f"{TCR_API_KEY}:{TCR_API_SECRET}".encode()).decode()

    def delay(self, attempts: int) -> float:
        base = min(self.backoff_max, self.backoff_initial * 2 ** attempts)
        return base / 2 + random.random() * base / 2

    async def patch(self, name: str, status: dict[str, Any], event: str | None = None) -> None:
        """The status patch, then (like the operator, after the status) the phase's Event."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.pool, self.kube.patch_status, self.namespace, name, status)
        self.patches += 1
        if event is not None:
            await self.event(name, event)

    async def event(self, name: str, reason: str) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.pool, self.kube.post_event, self.namespace, name, reason,
                                   f"baseline: {reason}")
        self.events += 1

    async def call(self, client: Any, limit: tuple[str, str, str], method: str, url: str,
                   auth: str, body: Any = None) -> Any:
        """One partner call through the client token buckets; a 429 waits one initial backoff and goes again."""
        partner, account, endpoint_class = limit
        for _ in range(20):
            await self.limiters.acquire(partner, account, endpoint_class)
            self.calls += 1
            response = await self.send(client, method, url, auth, body)
            if response.status_code == 429:
                await asyncio.sleep(self.delay(0))
                continue
            if not 200 <= response.status_code < 300:
                raise RuntimeError(f"{method} {url}: HTTP {response.status_code}")
            return response.json()
        raise RuntimeError(f"{method} {url}: still 429 after 20 attempts")

    async def send(self, client: Any, method: str, url: str, auth: str, body: Any) -> Any:
        """The request itself, over httpx's own client and transport."""
        return await client.request(method, url, json=body, headers={"Authorization": auth})

    async def one(self, client: Any, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        spec = obj["spec"]
        cid = spec["campaignId"]
        ib_auth = f"App {INFOBIP_API_KEY}"
        try:
            await self.event(name, "ImportingNumbers")
            await self.call(client, (INFOBIP, self.infobip, NUMBERS_IMPORT), "POST",
                            f"{self.infobip}/numbers/2/numbers/import", ib_auth,
                            {"numbers": spec["numbers"], "country": "US", "type": "VIRTUAL_LONG_NUMBER",
                             "capabilities": ["SMS"], "skipOsrUpdate": True})
            await self.patch(name, {"phase": "ElectingCnp", "numbersImportedAt": _now(),
                                    "pendingOperation": {"operation": "ElectCnp", "startedAt": _now()}},
                             "ElectingCnp")
            await self.call(client, (TCR, self.tcr, TCR_WRITE), "POST",
                            f"{self.tcr}/campaign/{cid}/migrateCnp/OPMKT", self.tcr_auth)
            attempts = 0
            await self.patch(name, {"phase": "ElectingCnp", "pendingOperation": None, "lastCheckedAt": _now()})
            while True:  # wait for ACCEPTED like the operator: backoff, then GET sharing
                await asyncio.sleep(self.delay(attempts))
                attempts += 1
                sharing = await self.call(client, (TCR, self.tcr, TCR_READ), "GET",
                                          f"{self.tcr}/campaign/{cid}/sharing", self.tcr_auth)
                if (sharing.get("sharedByMe") or {}).get("sharingStatus") == "ACCEPTED":
                    break
            await self.patch(name, {"phase": "SubmittingMigration", "cnpElectedAt": _now(),
                                    "pendingOperation": {"operation": "SubmitMigration", "startedAt": _now()}},
                             "SubmittingMigration")
            campaign = await self.call(client, (INFOBIP, self.infobip, REGISTRATION_WRITE), "POST",
                                       f"{self.infobip}/number-registration/1/campaigns/migrate", ib_auth,
                                       {"name": f"migrateCampaign{cid}", "externalCampaignId": cid,
                                        "numberPoolID": None, "numbers": spec["numbers"],
                                        "isClientManageNnid": False})
            uuid = campaign["id"]
            attempts = 0
            await self.patch(name, {"phase": "InMigration", "infobipCampaignId": uuid, "pendingOperation": None,
                                    "infobipStage": campaign.get("stage")}, "InMigration")
            while True:
                await asyncio.sleep(self.delay(attempts))
                attempts += 1
                campaign = await self.call(client, (INFOBIP, self.infobip, REGISTRATION_READ), "GET",
                                           f"{self.infobip}/number-registration/1/campaigns/{uuid}", ib_auth)
                if campaign.get("stage") == "REGISTERED":
                    await self.patch(name, {"phase": "Registered", "infobipStage": "REGISTERED",
                                            "registeredAt": _now()}, "SwitchTraffic")
                    self.done_at[name] = time.time()
                    return
        except Exception as error:  # recorded, never hides the others
            self.failed[name] = f"{type(error).__name__}: {error}"

    async def run(self, objects: list[dict[str, Any]], timeout: float) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            await asyncio.wait_for(asyncio.gather(*(self.one(client, obj) for obj in objects)), timeout)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class LeanBaseline(Baseline):
    """The same calls and writes over the operator's own HTTP stack: the floor for its CPU.

    `Baseline` writes through the official `kubernetes` client (synchronous, a thread pool, every
    answer decoded) and calls the partners over httpx's own transport — what the operator used
    before issue 18, and much dearer than what it uses now. This one sends the partner calls
    through `tendlc.http_transport.AiohttpExchange` and the status patches and Events through
    `tendlc.kube.KubeApi`, as the operator does, so operator CPU ÷ lean baseline CPU is the cost
    of the operator's own work (watch events, decisions, models, logging, metrics) alone.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exchange = AiohttpExchange(max_connections=100)
        self.api = KubeApi()  # $KUBECONFIG: run_baseline points it at the bench cluster

    async def patch(self, name: str, status: dict[str, Any], event: str | None = None) -> None:
        await self.api.patch_status(self.namespace, name, status)
        self.patches += 1
        if event is not None:
            await self.event(name, event)

    async def event(self, name: str, reason: str) -> None:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CampaignMigration",
                "metadata": {"name": name, "namespace": self.namespace}}
        manifest = event_manifest(body, Event("Normal", reason, f"baseline: {reason}"), dt.datetime.now(dt.UTC),
                                  component="bench-baseline")
        await self.api.create_event(self.namespace, manifest)
        self.events += 1

    async def send(self, client: Any, method: str, url: str, auth: str, body: Any) -> Any:
        """The request itself, over the operator's exchange (`client` is unused: there is one exchange)."""
        headers = [("Accept", "application/json"), ("Authorization", auth)]
        content = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            headers.append(("Content-Type", "application/json"))
        return await self.exchange.send(method, url, headers=headers, body=content, phase_timeout=30)

    async def run(self, objects: list[dict[str, Any]], timeout: float) -> None:
        try:
            await asyncio.wait_for(asyncio.gather(*(self.one(None, obj) for obj in objects)), timeout)
        finally:
            await self.exchange.aclose()
            await self.api.close()


def run_baseline(stack: Stack, n: int, prefix: str, numbers: int, scale: float, backoff_initial: float,
                 backoff_max: float, timeout: float, decision_delay: float, *, lean: bool = False,
                 namespace: str = BASELINE_NAMESPACE) -> dict[str, Any]:
    """Runs the baseline on `stack` (cluster and a fresh sandbox already up, no operator); `lean`: `LeanBaseline`."""
    assert stack.kube is not None and stack.cluster is not None
    kube = stack.kube
    admin = SandboxAdmin(stack.sandbox_url)
    kube.ensure_namespace(namespace)
    objects = [migration(i, prefix, numbers, namespace) for i in range(n)]
    before = kube.request_totals()
    own_before = dict(kube.own_requests)
    if lean:
        os.environ["KUBECONFIG"] = str(stack.cluster.kubeconfig)
    kind = LeanBaseline if lean else Baseline
    baseline = kind(kube, stack.sandbox_url, scale, backoff_initial, backoff_max, namespace)
    t_apply = time.time()
    try:
        created_at = kube.create_all(objects)
        t_created = time.time()
        asyncio.run(baseline.run(objects, timeout))
    finally:
        baseline.close()
    t_end = max(baseline.done_at.values(), default=time.time())
    after = kube.request_totals()
    ledger = admin.ledger()
    admin.close()
    own = {k: v - own_before.get(k, 0) for k, v in kube.own_requests.items()}
    delta = request_delta(before, after)
    done = [t - t_apply for t in baseline.done_at.values()]
    return {
        "n": n,
        "wallSeconds": round(t_end - t_apply, 2),
        "createSeconds": round(t_created - t_apply, 2),
        "registered": len(baseline.done_at),
        "failed": len(baseline.failed),
        "failures": dict(list(baseline.failed.items())[:5]),
        "statusPatches": baseline.patches,
        "statusPatchesPerMigration": round(baseline.patches / n, 2),
        "eventsPerMigration": round(baseline.events / n, 2),
        "partnerCalls": len(ledger),
        "callsPerMigration": calls_per_migration(ledger, n),
        "rateLimits": rate_efficiency(ledger, scale),
        "schedulerEfficiency": scheduler_efficiency(ledger, created_at, decision_delay, scale),
        "applyToRegisteredSeconds": summary_stats(done),
        "apiserverDelta": {k: v for k, v in delta.items() if k.split("|")[0] == "campaignmigrations"},
        "harnessOwn": own,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--rate-limit-scale", type=float, default=100.0)
    parser.add_argument("--time-scale", type=float, default=100.0)
    parser.add_argument("--numbers", type=int, default=2)
    parser.add_argument("--backoff-initial", type=float, default=1.0)
    parser.add_argument("--backoff-max", type=float, default=8.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    install_signal_handlers()
    stack = Stack()
    try:
        stack.start_cluster()
        stack.start_sandbox(["--time-scale", f"{args.time_scale:g}", "--rate-limit-scale", f"{args.rate_limit_scale:g}",
                             "--sharing-decision-after", "60"])
        result = run_baseline(stack, args.n, "CB", args.numbers, args.rate_limit_scale, args.backoff_initial,
                              args.backoff_max, args.timeout, 60 / args.time_scale)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stack.close()
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
