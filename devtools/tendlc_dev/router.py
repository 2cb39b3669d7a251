"""A platform team's cut-over endpoint, for tests and the demo: HTTPS, signature-checking, once per key.

What a receiver of tendlc's cut-over webhook must do (docs/resource.md, "Cut-over"): verify
`X-Tendlc-Signature` over `<X-Tendlc-Timestamp>.<body>` in constant time, refuse stale timestamps,
and act once per `Idempotency-Key` — a resend (the operator was killed after the request left)
answers 200 without acting again. It counts every request *received* (`requests`), valid or not,
so a test of "exactly once" sees resends that the key-deduplication would otherwise hide.

Faults make it behave like the other endpoints a user may run: `fail_first` answers 503 to the
first n requests (without acting), `hold_seconds` acts on the first request and answers only
after a delay (the answer the operator's kill loses). It runs on its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class Received:
    """One request as it arrived: its key, whether its signature held, and its body."""

    idempotency_key: str | None
    signature_valid: bool
    body: dict[str, Any] | None
    at: float


@dataclass
class CutOverRouter:
    """The endpoint; `url` after `start()`. `switched` maps each key to the body it acted on, once."""

    key: bytes
    cert: Path
    cert_key: Path
    path: str = "/cutover"
    fail_first: int = 0
    hold_seconds: float = 0.0
    requests: list[Received] = field(default_factory=list)
    switched: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> CutOverRouter:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="cutover-router", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the cut-over router did not start")
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.cert_key)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"https://127.0.0.1:{port}{self.path}"

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop = None

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:  # a held answer whose caller is gone
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def attempts(self, key: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if key is None or r.idempotency_key == key)

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        key = request.headers.get("Idempotency-Key")
        valid = self._valid(request.headers.get("X-Tendlc-Timestamp"), request.headers.get("X-Tendlc-Signature"), raw)
        try:
            body: dict[str, Any] | None = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(Received(key, valid, body, time.time()))
            count = len(self.requests)
        if not valid or key is None or body is None or body.get("idempotencyKey") != key:
            return web.json_response({"error": "bad signature, key or body"}, status=401 if not valid else 400)
        if count <= self.fail_first:
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        with self._lock:
            first = key not in self.switched
            if first:
                self.switched[key] = body
        if first and self.hold_seconds and count == self.fail_first + 1:
            await asyncio.sleep(self.hold_seconds)  # acted; the answer is late (and lost if the caller dies)
        return web.json_response({"switched": True, "repeat": not first})

    def _valid(self, timestamp: str | None, signature: str | None, raw: bytes) -> bool:
        if not timestamp or not signature or not timestamp.isdigit():
            return False
        if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
            return False
        expected = "sha256=" + hmac.new(self.key, timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)
