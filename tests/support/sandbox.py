"""The Infobip/TCR sandbox as a real process on loopback, and a thin client for its admin API.

Exactly-once assertions count **attempts** (requests the sandbox received, whatever their fate:
refused, rate-limited, faulted), not only successes, so a resend fails them: `attempts(endpoint,
campaign)`. Endpoint names are the ledger's (`infobip.migrate`, `tcr.migrate_cnp`,
`subscriptions.create`, `infobip.add_numbers`, `infobip.import_numbers`, …) or the short aliases in
`ENDPOINT_ALIASES`. Behaviour alternatives (docs/sandbox.md) are switched with `behaviour(...)`.
"""

from __future__ import annotations

import contextlib
import os
import random
import string
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tendlc_dev.devcluster import free_port

INFOBIP_API_KEY = "sandbox-infobip-key"
TCR_API_KEY = "sandbox-tcr-key"
TCR_API_SECRET = "sandbox-tcr-secret"

ENDPOINT_ALIASES = {
    "migrate": "infobip.migrate",
    "migrateCnp": "tcr.migrate_cnp",
    "subscriptionCreate": "subscriptions.create",
    "addNumbers": "infobip.add_numbers",
    "import": "infobip.import_numbers",
    "ownedNumbers": "infobip.owned_numbers",
}


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

    def tally(
        self, endpoint: str, campaign: str | None = None, since: int = 0, number: str | None = None
    ) -> dict[str, Any]:
        """`{attempts, successes, attemptsAfterSuccess, byStatus}` of one endpoint, for one TCR campaign
        (resolved from path, body or numbers: docs/sandbox.md, *Ledger*) or all of them; `number`
        keeps the requests naming that number (an import sent before any migrate names no campaign
        unless the campaign's scenario was seeded with its numbers)."""
        name = ENDPOINT_ALIASES.get(endpoint, endpoint)
        params: dict[str, Any] = {"since": since, "endpoint": name}
        if campaign is not None:
            params["campaign"] = campaign
        if number is not None:
            params["number"] = number
        view: dict[str, Any] = self.admin("GET", "/attempts", params=params)
        group = view["byCampaign"].get(campaign, {}) if campaign is not None else view["byEndpoint"]
        found: dict[str, Any] = group.get(name, {"attempts": 0, "successes": 0, "attemptsAfterSuccess": 0,
                                                  "byStatus": {}})
        return found

    def attempts(self, endpoint: str, campaign: str | None = None, since: int = 0, number: str | None = None) -> int:
        """Requests received for `endpoint` (and `campaign`): what an exactly-once test counts."""
        return int(self.tally(endpoint, campaign, since, number)["attempts"])

    def successes(self, endpoint: str, campaign: str | None = None, since: int = 0, number: str | None = None) -> int:
        """Requests that took effect (a created campaign, an opened election, …)."""
        return int(self.tally(endpoint, campaign, since, number)["successes"])

    def set_behaviour(self, **switches: Any) -> dict[str, Any]:
        """Change the given behaviour switches (camelCase or snake_case names), keep the others."""
        found: dict[str, Any] = self.admin("PATCH", "/behaviour", json=switches)
        return found

    def reset_behaviour(self) -> dict[str, Any]:
        found: dict[str, Any] = self.admin("POST", "/behaviour/reset")
        return found

    @contextlib.contextmanager
    def behaviour(self, **switches: Any) -> Iterator[dict[str, Any]]:
        """The sandbox behaves as `switches` say inside the block, as it was started with after it."""
        try:
            yield self.set_behaviour(**switches)
        finally:
            self.reset_behaviour()

    def seed_scenario(self, tcr_id: str, **scenario: Any) -> dict[str, Any]:
        """`PUT /_admin/campaigns/{tcrId}/scenario`: kind, numbers, suspendedMnos, election, numberPool…"""
        found: dict[str, Any] = self.admin("PUT", f"/campaigns/{tcr_id}/scenario", json=scenario)
        return found

    def seed_existing_campaign(
        self, external_campaign_id: str, numbers: Sequence[str], **fields: Any
    ) -> dict[str, Any]:
        """An Infobip campaign already in the account holding `numbers` (default REGISTERED)."""
        body = {"externalCampaignId": external_campaign_id, "numbers": list(numbers), **fields}
        found: dict[str, Any] = self.admin("POST", "/infobip-campaigns", json=body)
        return found

    def last_seq(self) -> int:
        """The ledger's newest sequence number; pass it as `since` to see only later requests."""
        result: dict[str, Any] = self.admin("GET", "/ledger", params={"since": 0, "limit": 100_000})
        return int(result["lastSeq"])

    def campaign(self, tcr_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", f"/campaigns/{tcr_id}")
        return result
