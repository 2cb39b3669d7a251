"""A flood of unauthenticated uploads against the real operator process: memory stays bounded, Infobip gets through.

The operator runs as `python -m tendlc` (tests/support/operator.py) with an HMAC webhook Secret —
the mode in which the receiver must read a body before it can tell who sent it. For FLOOD_SECONDS,
SLOW_UPLOADS connections each declare a 1 MiB body with a forged signature and drip it (64 KiB
every half second, so each upload stays inside the 10 s read deadline), reconnecting whenever the
operator answers or hangs up; IDLE_CONNECTIONS more open a request head and never finish it. Half
way through, a correctly signed delivery (a CAMPAIGN_NETWORK_STATUS_UPDATE for a campaign that is
InMigration) is sent the way Infobip would: retried after `Retry-After` while the answer is not
200. The operator's RSS (from /proc) is sampled throughout.

Asserted: the peak RSS stays under the chart's memory limit (read from helm/tendlc/values.yaml),
the legitimate delivery is answered 200 `applied` and lands in the resource's status, and no
forged upload is ever accepted. Recorded (FLOOD_REPORT, printed): connections, answers by status,
peak and baseline RSS, the legitimate delivery's attempts and latency — figures, not assertions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from support.cluster import Cluster
from support.migration import apply, create_partner_secrets, loa_secret, migration, status_of, wait_for_phase
from support.operator import OperatorProcess, operator_env
from support.sandbox import Sandbox, campaign_id, phone_numbers
from tendlc.webhooks.auth import WebhookAuth
from tendlc_dev.devcluster import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HMAC_KEY = "flood-test-hmac-key-0123456789"
# The sizes of the flood; larger runs for docs/security.md set these variables (the defaults keep `make test` short).
SLOW_UPLOADS = int(os.environ.get("TENDLC_FLOOD_SLOW_UPLOADS", "200"))
IDLE_CONNECTIONS = int(os.environ.get("TENDLC_FLOOD_IDLE_CONNECTIONS", "200"))
FLOOD_SECONDS = float(os.environ.get("TENDLC_FLOOD_SECONDS", "20"))
DECLARED = 1024 * 1024
CHUNK = 64 * 1024
CHUNK_INTERVAL = 0.5
REPORT = os.environ.get("TENDLC_FLOOD_REPORT")


def chart_memory_limit() -> int:
    """The chart's default memory limit in bytes (resources.limits.memory, e.g. 256Mi)."""
    values = yaml.safe_load((ROOT / "helm" / "tendlc" / "values.yaml").read_text())
    text = str(values["resources"]["limits"]["memory"])
    number, unit = re.fullmatch(r"([0-9]+)([KMG]i)?", text).groups()  # type: ignore[union-attr]
    return int(number) * {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}[unit]


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@dataclass
class RssSampler:
    """Samples a process's RSS every `interval` seconds on a thread until stopped."""

    pid: int
    interval: float = 0.05
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), rss(self.pid)))
            self._stop.wait(self.interval)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int:
        return max(value for _, value in self.samples)


@dataclass
class FloodStats:
    connections: int = 0
    connect_errors: int = 0
    answers: Counter[str] = field(default_factory=Counter)


async def _answer(reader: asyncio.StreamReader) -> str:
    line = await reader.readline()
    return line.split(b" ")[1].decode() if line.startswith(b"HTTP/") else "closed"


async def slow_upload(port: int, stop: asyncio.Event, stats: FloodStats) -> None:
    """Forged 1 MiB uploads, dripped; a new connection whenever the operator answers or hangs up."""
    head = (f"POST /webhooks/infobip HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {DECLARED}\r\nX-Infobip-Signature: sha256={'0' * 64}\r\n\r\n").encode()
    chunk = b" " * CHUNK
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            stats.connect_errors += 1
            await asyncio.sleep(0.05)
            continue
        stats.connections += 1
        answered = asyncio.ensure_future(_answer(reader))
        try:
            writer.write(head)
            sent = 0
            while sent < DECLARED and not stop.is_set() and not answered.done():
                writer.write(chunk)
                await writer.drain()
                sent += CHUNK
                await asyncio.wait([answered], timeout=CHUNK_INTERVAL)
            stats.answers[await asyncio.wait_for(answered, 15)] += 1
        except (OSError, TimeoutError):
            stats.answers["reset"] += 1
        finally:
            answered.cancel()
            writer.close()


async def idle_head(port: int, stop: asyncio.Event, stats: FloodStats) -> None:
    """A request head that never ends; reopened when the operator closes it."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            stats.connect_errors += 1
            await asyncio.sleep(0.05)
            continue
        stats.connections += 1
        try:
            writer.write(b"POST /webhooks/infobip HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            await writer.drain()
            closed = asyncio.ensure_future(reader.read())
            await asyncio.wait([closed], timeout=max(0.0, FLOOD_SECONDS))
            stats.answers["idle closed" if closed.done() else "idle held"] += 1
            closed.cancel()
        except OSError:
            stats.answers["reset"] += 1
        finally:
            writer.close()


@dataclass
class Legit:
    attempts: list[int] = field(default_factory=list)
    answer: dict[str, Any] | None = None
    seconds: float | None = None


async def legit_delivery(url: str, infobip_campaign_id: str, legit: Legit, deadline: float = 60.0) -> None:
    """One signed delivery sent like Infobip sends it: retried after Retry-After until it is answered 200."""
    auth = WebhookAuth.hmac(HMAC_KEY)
    received = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    raw = json.dumps({"results": [{"event": "CAMPAIGN_NETWORK_STATUS_UPDATE", "receivedAt": received,
                                   "content": {"campaignId": infobip_campaign_id, "campaignNetwork": "ATT",
                                               "campaignNetworkStatus": "ACTIVE"}}]}).encode()
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=15) as client:
        while time.monotonic() - started < deadline:
            try:
                response = await client.post(url, content=raw,
                                             headers={"Content-Type": "application/json", **auth.sign(raw)})
            except httpx.TransportError:
                legit.attempts.append(0)
                await asyncio.sleep(1)
                continue
            legit.attempts.append(response.status_code)
            if response.status_code == 200:
                legit.answer = response.json()
                legit.seconds = time.monotonic() - started
                return
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))


async def flood(port: int, url: str, infobip_campaign_id: str) -> tuple[FloodStats, Legit]:
    stop, stats, legit = asyncio.Event(), FloodStats(), Legit()
    attackers = [asyncio.create_task(slow_upload(port, stop, stats)) for _ in range(SLOW_UPLOADS)]
    attackers += [asyncio.create_task(idle_head(port, stop, stats)) for _ in range(IDLE_CONNECTIONS)]
    await asyncio.sleep(FLOOD_SECONDS / 2)
    delivery = asyncio.create_task(legit_delivery(url, infobip_campaign_id, legit))
    await asyncio.sleep(FLOOD_SECONDS / 2)
    stop.set()
    await asyncio.wait(attackers, timeout=20)
    for task in attackers:
        task.cancel()
    await delivery
    return stats, legit


def test_a_flood_of_forged_uploads_keeps_memory_bounded_and_infobip_gets_through(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, tmp_path: Path
) -> None:
    create_partner_secrets(cluster, namespace)
    cluster.kubectl("create", "secret", "generic", "webhook-hmac", "-n", namespace,
                    f"--from-literal=secretKey={HMAC_KEY}")
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/infobip"
    env = operator_env(sandbox, namespace, TENDLC_WEBHOOK_PORT=str(port),
                       TENDLC_WEBHOOK_AUTH_SECRET__NAME="webhook-hmac")
    tcr_id = campaign_id("CST")  # stays IN_MIGRATION until a test moves it
    apply(cluster, namespace, loa_secret("flooded-loa"), migration("flooded", tcr_id, phone_numbers(2)))
    operator = OperatorProcess(env, tmp_path / "operator.log").start()
    assert operator.process is not None
    try:
        status = wait_for_phase(cluster, namespace, "flooded", "InMigration", timeout=90)
        time.sleep(2)  # let the start-up allocations settle before the baseline
        baseline = rss(operator.process.pid)
        with RssSampler(operator.process.pid) as sampler:
            started = time.monotonic()
            stats, legit = asyncio.run(flood(port, url, status["infobipCampaignId"]))
            elapsed = time.monotonic() - started
        recorded = status_of(cluster, namespace, "flooded").get("networkStatuses") or {}
    finally:
        operator.stop()
    limit = chart_memory_limit()
    figures = {
        "slow_uploads": SLOW_UPLOADS, "idle_connections": IDLE_CONNECTIONS, "flood_seconds": FLOOD_SECONDS,
        "elapsed_seconds": round(elapsed, 1), "connections_opened": stats.connections,
        "connect_errors": stats.connect_errors, "answers": dict(stats.answers),
        "rss_baseline_mib": round(baseline / 2**20, 1), "rss_peak_mib": round(sampler.peak / 2**20, 1),
        "chart_limit_mib": round(limit / 2**20), "legit_attempts": legit.attempts,
        "legit_latency_seconds": None if legit.seconds is None else round(legit.seconds, 3),
    }
    print("FLOOD_REPORT", json.dumps(figures))
    if REPORT:
        Path(REPORT).write_text(json.dumps(figures, indent=1) + "\n")
    assert sampler.peak < limit, figures
    assert legit.answer is not None, figures
    assert legit.answer["results"][0]["result"] == "applied", legit.answer
    assert recorded.get("ATT", {}).get("status") == "ACTIVE", recorded
    assert "200" not in stats.answers, "a forged upload was accepted"
    assert "webhook delivery refused (HTTP 503, busy)" in operator.log()
