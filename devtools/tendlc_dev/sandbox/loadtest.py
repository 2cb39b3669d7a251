"""How many requests per second a running sandbox sustains: `python -m tendlc_dev.sandbox.loadtest`.

Creates one migrated campaign through the partner API, then sends `GET campaign` from N
concurrent keep-alive connections for a bounded time and prints the rate. Start the sandbox with
`--no-rate-limits --quiet` first (rate limits would cap the figure at 10/s, per-request logging
measures the terminal). A measuring tool for docs/sandbox.md, not part of the server.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from tendlc_dev.sandbox.config import DEFAULT_INFOBIP_API_KEY


async def measure(url: str, seconds: float, concurrency: int) -> tuple[int, float, int]:
    headers = {"Authorization": f"App {DEFAULT_INFOBIP_API_KEY}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        number = f"1{int(time.time() * 1000) % 10**10:010d}"
        tcr_id = "CLT" + f"{int(time.time()) % 10**4:04d}"
        async with session.post(f"{url}/infobip/numbers/2/numbers/import", json={"numbers": [number]}) as imported:
            imported.raise_for_status()
        async with session.post(
            f"{url}/infobip/number-registration/1/campaigns/migrate",
            json={"name": "loadtest", "externalCampaignId": tcr_id, "numbers": [number]},
        ) as created:
            campaign_id = (await created.json())["id"]
        target = f"{url}/infobip/number-registration/1/campaigns/{campaign_id}"
        done = 0
        failures = 0
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done, failures
            while time.monotonic() < deadline:
                async with session.get(target) as answer:
                    await answer.read()
                    if answer.status == 200:
                        done += 1
                    else:
                        failures += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done, time.monotonic() - started, failures


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m tendlc_dev.sandbox.loadtest")
    p.add_argument("--url", default="http://127.0.0.1:8085")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--concurrency", type=int, default=16)
    args = p.parse_args()
    done, elapsed, failures = asyncio.run(measure(args.url, args.seconds, args.concurrency))
    print(f"{done} requests in {elapsed:.1f}s = {done / elapsed:.0f} req/s ({failures} non-200)")


if __name__ == "__main__":
    main()
