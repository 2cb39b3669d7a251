"""`python -m bench.bucket_stall`: what the client's token bucket sends after the event loop stalls.

The restart storm saw bursts of 15–17 Infobip GETs within one second, and 429s, right after the
operator's event loop could not run for 0.3–1.6 s (start-up work, a gen-2 garbage collection).
This reproduces the mechanism with the operator's own `TokenBucket` (`tendlc.clients.ratelimit`,
the GET class at 10/s less the 3 % margin): `--waiters` callers queue for tokens, then the loop
is blocked for `--stall` seconds (a `time.sleep` in a callback, as a long GC pause or a long run of
ready callbacks does), and the moments each caller is released are recorded. It prints the most
releases in any 1 s window and in any 0.2 s window, against the partner's 10 per second.

Since F10 was fixed the bucket spaces its releases (a caller that slept goes only once an interval
has passed since the previous release, measured when it runs): with a 1.6 s stall, 10 in any second
and 3 in any 0.2 s (25 and 18 before). Measurement aid only; nothing here is shipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from tendlc.clients.ratelimit import INFOBIP, REGISTRATION_READ, RateLimiterRegistry


def most_within(times: list[float], window: float) -> int:
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


async def measure(waiters: int, stall: float, stall_after: float) -> dict[str, object]:
    bucket = RateLimiterRegistry().limiter(INFOBIP, "https://api.example", REGISTRATION_READ)
    acquire = bucket.acquire
    released: list[float] = []

    async def caller() -> None:
        await acquire()
        released.append(time.monotonic())

    start = time.monotonic()
    tasks = [asyncio.create_task(caller()) for _ in range(waiters)]
    asyncio.get_running_loop().call_later(stall_after, time.sleep, stall)  # the loop cannot run meanwhile
    await asyncio.gather(*tasks)
    times = sorted(t - start for t in released)
    return {
        "bucket": "tendlc TokenBucket",
        "ratePerSecond": round(bucket.limit.rate, 3),
        "waiters": waiters, "stallSeconds": stall, "stallAfterSeconds": stall_after,
        "mostInAnyOneSecond": most_within(times, 1.0),
        "mostInAny200ms": most_within(times, 0.2),
        "lastReleaseSeconds": round(times[-1], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bucket_stall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiters", type=int, default=60)
    parser.add_argument("--stall", type=float, default=1.6, help="seconds the event loop is blocked")
    parser.add_argument("--stall-after", type=float, default=1.0, help="when the stall starts")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.waiters, args.stall, args.stall_after))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
