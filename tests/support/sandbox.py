"""The Infobip/TCR sandbox as a real process on loopback, and a thin client for its admin API."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tendlc_dev.devcluster import free_port

INFOBIP_API_KEY = "sandbox-infobip-key"
TCR_API_KEY = "sandbox-tcr-key"
TCR_API_SECRET = "sandbox-tcr-secret"


def campaign_id(prefix: str = "CH") -> str:
    """A fresh TCR campaign ID; the prefix picks the sandbox scenario (docs/sandbox.md)."""
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(random.choices(alphabet, k=7 - len(prefix)))


def phone_numbers(count: int) -> list[str]:
    """Fresh, unique 10DLC numbers (`^1\\d{10}$`)."""
    numbers: set[str] = set()
    while len(numbers) < count:
        numbers.add("1" + "".join(random.choices(string.digits, k=10)))
    return sorted(numbers)


@dataclass
class Sandbox:
    """A running `python -m tendlc_dev.sandbox`; `url` is its base (partners under /infobip, /tcr/v2)."""

    args: Sequence[str] = ()
    log_path: Path | None = None
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    @property
    def infobip_url(self) -> str:
        return f"{self.url}/infobip"

    @property
    def tcr_url(self) -> str:
        return f"{self.url}/tcr/v2"

    def start(self, timeout: float = 30) -> Sandbox:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tendlc_dev.sandbox", "--port", str(port), *self.args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=os.environ.copy(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sandbox exited with {self.process.returncode}; see {self.log_path}")
            try:
                if self._client.get(f"{self.url}/_admin/health").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("sandbox did not become healthy in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._client.close()

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, f"{self.url}/_admin{path}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def counters(self, tcr_id: str) -> dict[str, Any]:
        """Attempts and successes of the non-idempotent POSTs for one campaign."""
        every: dict[str, dict[str, Any]] = self.admin("GET", "/counters")
        return {operation: by_campaign.get(tcr_id, {}) for operation, by_campaign in every.items()}

    def ledger(self, **params: Any) -> list[dict[str, Any]]:
        result = self.admin("GET", "/ledger", params=params)
        entries: list[dict[str, Any]] = result["entries"] if isinstance(result, dict) else result
        return entries

    def last_seq(self) -> int:
        """The ledger's newest sequence number; pass it as `since` to see only later requests."""
        result: dict[str, Any] = self.admin("GET", "/ledger", params={"since": 0, "limit": 100_000})
        return int(result["lastSeq"])

    def campaign(self, tcr_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", f"/campaigns/{tcr_id}")
        return result
