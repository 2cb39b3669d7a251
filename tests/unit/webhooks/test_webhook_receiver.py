"""The webhook receiver over real HTTP on loopback: status codes, limits, dispatch and logging."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from webhook_samples import (
    CAMPAIGN_UUID,
    WEBHOOK_HMAC_KEY,
    WEBHOOK_PASSWORD,
    WEBHOOK_USERNAME,
    body,
    network_message,
    status_message,
)

from tendlc.webhooks.auth import SIGNATURE_HEADER, WebhookAuth
from tendlc.webhooks.payload import WebhookEvent
from tendlc.webhooks.receiver import WEBHOOK_PATH, DispatchResult, ReceiverLimits, WebhookServer

BASIC = WebhookAuth.basic(WEBHOOK_USERNAME, WEBHOOK_PASSWORD)
HMAC = WebhookAuth.hmac(WEBHOOK_HMAC_KEY)
FAST_LIMITS = ReceiverLimits(body_read_timeout=0.3, dispatch_timeout=0.3, header_timeout=0.3)


@dataclass
class Recorder:
    """A dispatch that records events and answers `result` (or runs `behaviour`)."""

    result: DispatchResult = "applied"
    behaviour: Callable[[WebhookEvent], Awaitable[DispatchResult]] | None = None
    events: list[WebhookEvent] = field(default_factory=list)

    async def __call__(self, event: WebhookEvent) -> DispatchResult:
        self.events.append(event)
        if self.behaviour is not None:
            return await self.behaviour(event)
        return self.result


@dataclass
class Observer:
    deliveries: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)

    def webhook_delivery(self, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        self.deliveries.append(outcome)

    def webhook_event(self, kind: str, result: str) -> None:
        self.events.append((kind, result))


@dataclass
class Running:
    url: str
    dispatch: Recorder
    observer: Observer
    client: httpx.AsyncClient
    auth: WebhookAuth

    async def post(self, raw: bytes, headers: dict[str, str] | None = None, *, sign: bool = True) -> httpx.Response:
        sent = {"Content-Type": "application/json", **(self.auth.sign(raw) if sign else {}), **(headers or {})}
        return await self.client.post(self.url + WEBHOOK_PATH, content=raw, headers=sent)


async def start(auth: WebhookAuth, limits: ReceiverLimits | None = None) -> tuple[WebhookServer, Running]:
    dispatch, observer = Recorder(), Observer()
    server = WebhookServer.for_receiver(auth, dispatch, observer=observer, limits=limits)
    url = await server.start("127.0.0.1", 0)
    return server, Running(url, dispatch, observer, httpx.AsyncClient(timeout=5.0), auth)


@pytest.fixture(params=["BASIC", "HMAC"])
async def receiver(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    server, running = await start(BASIC if request.param == "BASIC" else HMAC, FAST_LIMITS)
    try:
        yield running
    finally:
        await running.client.aclose()
        await server.stop()


@pytest.fixture
async def basic_receiver() -> AsyncIterator[Running]:
    server, running = await start(BASIC, FAST_LIMITS)
    try:
        yield running
    finally:
        await running.client.aclose()
        await server.stop()


async def raw_exchange(url: str, data: bytes, *, until_closed: bool = False, deadline: float = 5.0) -> bytes:
    """Send raw bytes, then read until the server answers fully (or, `until_closed`, closes the
    connection); bounded by `deadline`."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(data)
        await writer.drain()
        received = b""
        async with asyncio.timeout(deadline):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return received
                received += chunk
                head, _, rest = received.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), None)
                if length is not None and len(rest) >= length and not until_closed:
                    return received
    finally:
        writer.close()


def request_head(url: str, headers: dict[str, str]) -> bytes:
    host = urlsplit(url).netloc
    lines = [f"POST {WEBHOOK_PATH} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ------------------------------------------------------------------------------ happy paths


async def test_authentic_delivery_is_dispatched_and_answered_200(receiver: Running) -> None:
    answer = await receiver.post(body(status_message("REGISTERED")))
    assert answer.status_code == 200
    assert [event.status for event in receiver.dispatch.events] == ["REGISTERED"]
    assert receiver.dispatch.events[0].infobip_campaign_id == CAMPAIGN_UUID
    assert answer.json()["results"] == [{"eventId": receiver.dispatch.events[0].event_id, "result": "applied"}]
    assert receiver.observer.deliveries == ["accepted"]
    assert receiver.observer.events == [("CAMPAIGN_STATUS_UPDATE", "applied")]


async def test_every_event_of_a_delivery_is_dispatched_in_order(basic_receiver: Running) -> None:
    answer = await basic_receiver.post(body(status_message("SUBMITTED"), network_message("ATT"),
                                            status_message("REGISTERED")))
    assert answer.status_code == 200
    assert [(e.kind, e.status) for e in basic_receiver.dispatch.events] == [
        ("CAMPAIGN_STATUS_UPDATE", "SUBMITTED"),
        ("CAMPAIGN_NETWORK_STATUS_UPDATE", "ACTIVE"),
        ("CAMPAIGN_STATUS_UPDATE", "REGISTERED"),
    ]


@pytest.mark.parametrize("result", ["duplicate", "stale", "unknown_campaign"])
async def test_duplicates_stale_and_unknown_campaigns_still_answer_200(
    basic_receiver: Running, result: DispatchResult
) -> None:
    basic_receiver.dispatch.result = result
    answer = await basic_receiver.post(body(status_message()))
    assert answer.status_code == 200
    assert answer.json()["results"][0]["result"] == result


async def test_the_same_event_delivered_twice_reaches_dispatch_with_the_same_id(basic_receiver: Running) -> None:
    raw = body(status_message())
    assert (await basic_receiver.post(raw)).status_code == 200
    assert (await basic_receiver.post(raw)).status_code == 200
    first, second = basic_receiver.dispatch.events
    assert first.event_id == second.event_id


async def test_unknown_campaign_is_logged(basic_receiver: Running, caplog: pytest.LogCaptureFixture) -> None:
    basic_receiver.dispatch.result = "unknown_campaign"
    with caplog.at_level(logging.INFO, logger="tendlc.webhooks"):
        await basic_receiver.post(body(status_message()))
    assert any("unknown Infobip campaign" in r.getMessage() and CAMPAIGN_UUID in r.getMessage()
               for r in caplog.records)


async def test_other_event_kinds_are_ignored_with_200(basic_receiver: Running) -> None:
    answer = await basic_receiver.post(body({"event": "BRAND_VET_UPDATE", "content": {}}))
    assert answer.status_code == 200
    assert answer.json() == {"results": [], "skipped": 1}
    assert basic_receiver.dispatch.events == []


async def test_health_endpoint_answers_200(basic_receiver: Running) -> None:
    answer = await basic_receiver.client.get(basic_receiver.url + "/healthz")
    assert answer.status_code == 200


# ------------------------------------------------------------------------------ refusals


async def test_unauthenticated_delivery_is_401_and_dispatches_nothing(receiver: Running) -> None:
    answer = await receiver.post(body(status_message()), sign=False)
    assert answer.status_code == 401
    assert receiver.dispatch.events == []
    assert receiver.observer.deliveries == ["unauthorized"]
    if receiver.auth.type == "BASIC":
        assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")


async def test_wrong_password_is_401(basic_receiver: Running) -> None:
    forged = WebhookAuth.basic(WEBHOOK_USERNAME, "not-the-password").sign(b"")
    answer = await basic_receiver.post(body(status_message()), forged, sign=False)
    assert answer.status_code == 401
    assert basic_receiver.dispatch.events == []


async def test_forged_hmac_signature_is_401() -> None:
    server, running = await start(HMAC)
    try:
        raw = body(status_message())
        forged = WebhookAuth.hmac("an-attacker-key-of-length").sign(raw)
        assert (await running.post(raw, forged, sign=False)).status_code == 401
        tampered = HMAC.sign(raw)
        assert (await running.post(body(status_message("REJECTED")), tampered, sign=False)).status_code == 401
        assert running.dispatch.events == []
    finally:
        await running.client.aclose()
        await server.stop()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"not json", "not valid JSON"), (b'{"results": 3}', "`results` must be an array"), (b"", "empty")],
)
async def test_malformed_body_is_400_with_the_reason(receiver: Running, raw: bytes, reason: str) -> None:
    answer = await receiver.post(raw)
    assert answer.status_code == 400
    assert reason in answer.json()["message"]
    assert receiver.dispatch.events == []
    assert receiver.observer.deliveries == ["malformed"]


async def test_declared_oversized_body_is_413_without_reading_it(basic_receiver: Running) -> None:
    head = request_head(basic_receiver.url, {**BASIC.sign(b""), "Content-Length": str(1024 * 1024 + 1)})
    answer = await raw_exchange(basic_receiver.url, head)  # the body is never sent: the answer comes anyway
    assert answer.startswith(b"HTTP/1.1 413")
    assert basic_receiver.observer.deliveries == ["too_large"]


async def test_declared_oversized_body_is_413_even_before_authentication(receiver: Running) -> None:
    head = request_head(receiver.url, {"Content-Length": str(2 * 1024 * 1024)})
    assert (await raw_exchange(receiver.url, head)).startswith(b"HTTP/1.1 413")
    assert receiver.dispatch.events == []


async def test_body_of_exactly_one_mebibyte_is_read_and_one_byte_more_is_refused(basic_receiver: Running) -> None:
    padding = b" " * (1024 * 1024 - len(body(status_message())))
    fits = body(status_message()) + padding
    assert len(fits) == 1024 * 1024
    assert (await basic_receiver.post(fits)).status_code == 200
    answer = await raw_exchange(
        basic_receiver.url, request_head(basic_receiver.url, {**BASIC.sign(b""), "Content-Length": str(len(fits) + 1)})
    )
    assert answer.startswith(b"HTTP/1.1 413")


async def test_streamed_body_past_the_limit_is_413_and_reading_stops() -> None:
    server, running = await start(BASIC, ReceiverLimits(max_body_bytes=1000, body_read_timeout=5.0))
    try:
        head = request_head(running.url, {**BASIC.sign(b""), "Transfer-Encoding": "chunked"})
        chunk = b"%x\r\n%s\r\n" % (600, b"x" * 600)
        # 1200 bytes of a body that never ends: the answer comes and the server closes the connection
        answer = await raw_exchange(running.url, head + chunk + chunk, until_closed=True, deadline=2.0)
        assert answer.startswith(b"HTTP/1.1 413")
        assert running.observer.deliveries == ["too_large"]
    finally:
        await running.client.aclose()
        await server.stop()


async def test_slow_body_is_cut_off_with_408(basic_receiver: Running) -> None:
    head = request_head(basic_receiver.url, {**BASIC.sign(b""), "Content-Length": "100"})
    started = time.monotonic()
    answer = await raw_exchange(basic_receiver.url, head + b'{"results"')  # 90 bytes never come
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 3
    assert basic_receiver.observer.deliveries == ["timeout"]


async def test_slow_headers_connection_is_closed(basic_receiver: Running) -> None:
    started = time.monotonic()
    answer = await raw_exchange(basic_receiver.url, f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\n".encode())
    assert answer == b""  # closed without an answer, well before the client's deadline
    assert time.monotonic() - started < 3
    assert basic_receiver.dispatch.events == []


async def test_dispatch_failure_is_500_so_infobip_retries(basic_receiver: Running) -> None:
    async def boom(event: WebhookEvent) -> DispatchResult:
        raise RuntimeError("kube api unavailable")

    basic_receiver.dispatch.behaviour = boom
    answer = await basic_receiver.post(body(status_message()))
    assert answer.status_code == 500
    assert basic_receiver.observer.deliveries == ["dispatch_failed"]
    assert basic_receiver.observer.events == [("CAMPAIGN_STATUS_UPDATE", "error")]


async def test_dispatch_stops_at_the_first_failure(basic_receiver: Running) -> None:
    async def fail_on_rejected(event: WebhookEvent) -> DispatchResult:
        if event.status == "REJECTED":
            raise RuntimeError("conflict")
        return "applied"

    basic_receiver.dispatch.behaviour = fail_on_rejected
    answer = await basic_receiver.post(body(status_message("SUBMITTED"), status_message("REJECTED"),
                                            status_message("REGISTERED")))
    assert answer.status_code == 500
    assert [event.status for event in basic_receiver.dispatch.events] == ["SUBMITTED", "REJECTED"]


async def test_stuck_dispatch_is_500_after_its_deadline(basic_receiver: Running) -> None:
    async def stuck(event: WebhookEvent) -> DispatchResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    basic_receiver.dispatch.behaviour = stuck
    answer = await basic_receiver.post(body(status_message()))
    assert answer.status_code == 500


async def test_dispatch_answering_nonsense_is_500(basic_receiver: Running) -> None:
    basic_receiver.dispatch.result = "maybe"  # type: ignore[assignment]
    assert (await basic_receiver.post(body(status_message()))).status_code == 500


async def test_server_can_be_stopped_twice_and_refuses_a_second_start() -> None:
    server, running = await start(BASIC)
    await running.client.aclose()
    with pytest.raises(RuntimeError):
        await server.start()
    await server.stop()
    await server.stop()
    with pytest.raises(RuntimeError):
        _ = server.url


# ------------------------------------------------------------------------------ hostile input


async def test_random_bodies_and_headers_never_cause_500_or_a_dispatch(receiver: Running) -> None:
    rng = random.Random(20261126)
    header_names = ["Authorization", SIGNATURE_HEADER, "Content-Type", "X-Other"]
    statuses = set()
    for _ in range(60):
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
        if rng.random() < 0.3:
            raw = json.dumps({"results": [{"event": "CAMPAIGN_STATUS_UPDATE", "content": rng.random()}]}).encode()
        headers = {name: "".join(chr(rng.randint(33, 126)) for _ in range(rng.randint(0, 40)))
                   for name in rng.sample(header_names, rng.randint(0, 3))}
        answer = await receiver.post(raw, headers, sign=False)
        statuses.add(answer.status_code)
    assert statuses <= {400, 401}
    assert receiver.dispatch.events == []


async def test_authenticated_random_bodies_are_400_never_500(basic_receiver: Running) -> None:
    rng = random.Random(7)
    for _ in range(40):
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
        assert (await basic_receiver.post(raw)).status_code == 400
    assert basic_receiver.dispatch.events == []


async def test_no_credential_or_body_reaches_the_logs(receiver: Running, caplog: pytest.LogCaptureFixture) -> None:
    canary_body = body(status_message(received_at="canary-body-value"))
    with caplog.at_level(logging.DEBUG):
        await receiver.post(body(status_message()))
        await receiver.post(canary_body)
        await receiver.post(body(status_message()), sign=False)
        await receiver.post(body(status_message()), WebhookAuth.basic(WEBHOOK_USERNAME, WEBHOOK_PASSWORD).sign(b""))
        await receiver.post(body(status_message()), HMAC.sign(body(status_message())))
    logged = "\n".join(record.getMessage() + str(vars(record)) for record in caplog.records)
    for secret in (WEBHOOK_PASSWORD, WEBHOOK_HMAC_KEY, "canary-body-value", BASIC.sign(b"")["Authorization"][6:]):
        assert secret not in logged
