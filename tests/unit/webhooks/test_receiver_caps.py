"""The receiver's caps, over real HTTP on loopback: concurrent requests, bytes in flight, events per delivery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from test_webhook_receiver import BASIC, HMAC, Running, raw_exchange, request_head, start
from webhook_samples import body, status_message

from tendlc.webhooks.auth import WebhookAuth
from tendlc.webhooks.receiver import ReceiverLimits

LIMITS: dict[str, float] = {"body_read_timeout": 1.0, "dispatch_timeout": 1.0, "header_timeout": 2.0}
# The holders must still hold their slots after all of them are opened, even on a loaded machine.
HOLDING = {**LIMITS, "body_read_timeout": 4.0, "header_timeout": 6.0}


async def hold(url: str, head: bytes, partial: bytes = b"{") -> asyncio.Task[bytes]:
    """A request whose body never completes, holding its slot until the read deadline."""
    task = asyncio.create_task(raw_exchange(url, head + partial, deadline=10.0))
    await asyncio.sleep(0.2)  # admitted by now
    return task


@pytest.fixture
async def capped() -> AsyncIterator[Running]:
    """Four slots, 2,000 body bytes; requests over 500 bytes (or undeclared) get two slots and 1,000 bytes."""
    server, running = await start(BASIC, ReceiverLimits(max_concurrent_requests=4, max_body_bytes=1000,
                                                        max_bytes_in_flight=2000, small_body_bytes=500, **HOLDING))
    try:
        yield running
    finally:
        await running.client.aclose()
        await server.stop()


async def test_above_the_concurrency_cap_the_answer_is_503_with_retry_after_and_then_it_recovers(
    capped: Running,
) -> None:
    head = request_head(capped.url, {**BASIC.sign(b""), "Content-Length": "100"})
    slow = [await hold(capped.url, head) for _ in range(4)]
    busy = await capped.post(body(status_message()))
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "5"
    assert capped.dispatch.events == []
    answers = await asyncio.gather(*slow)
    assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers)  # the holders time out
    assert (await capped.post(body(status_message()))).status_code == 200
    assert capped.observer.deliveries.count("busy") == 1


async def test_large_uploads_get_half_the_budget_and_never_crowd_out_a_delivery(capped: Running) -> None:
    large = request_head(capped.url, {**BASIC.sign(b""), "Content-Length": "600"})
    holders = [await hold(capped.url, large)]
    # 600 more would exceed the large half of the bytes (1,000): refused before its body is sent
    assert (await raw_exchange(capped.url, large)).startswith(b"HTTP/1.1 503")
    delivered = await capped.post(body(status_message()))  # ~270 bytes: small, and there is room
    assert delivered.status_code == 200
    assert len(capped.dispatch.events) == 1
    assert all(answer.startswith(b"HTTP/1.1 408") for answer in await asyncio.gather(*holders))


async def test_a_body_without_a_declared_length_reserves_the_whole_limit(capped: Running) -> None:
    chunked = request_head(capped.url, {**BASIC.sign(b""), "Transfer-Encoding": "chunked"})
    holder = await hold(capped.url, chunked, b"5\r\n{\"res\r\n")  # reserves 1,000: all a large request may
    answer = await raw_exchange(capped.url, chunked + b"5\r\n{\"res\r\n")
    assert answer.startswith(b"HTTP/1.1 503")
    assert (await capped.post(body(status_message()))).status_code == 200
    await holder


async def test_more_campaign_events_than_the_cap_is_400_and_nothing_is_dispatched() -> None:
    server, running = await start(BASIC, ReceiverLimits(max_events_per_delivery=3, **LIMITS))
    try:
        answer = await running.post(body(*[status_message()] * 4))
        assert answer.status_code == 400
        assert "more than 3 campaign events" in answer.json()["message"]
        assert running.dispatch.events == []
        assert (await running.post(body(*[status_message()] * 3))).status_code == 200
    finally:
        await running.client.aclose()
        await server.stop()


@pytest.mark.parametrize("auth", [BASIC, HMAC], ids=["BASIC", "HMAC"])
async def test_a_401_says_nothing_about_why_but_the_log_does(
    auth: WebhookAuth, caplog: pytest.LogCaptureFixture
) -> None:
    server, running = await start(auth, ReceiverLimits(**LIMITS))
    try:
        raw = body(status_message())
        forged = {"Authorization": "Basic Zm9vOmJhcg=="} if auth is BASIC else {"X-Infobip-Signature": "sha256=00"}
        with caplog.at_level(logging.WARNING, logger="tendlc.webhooks"):
            answers = [await running.post(raw, sign=False), await running.post(raw, forged, sign=False)]
    finally:
        await running.client.aclose()
        await server.stop()
    assert [answer.status_code for answer in answers] == [401, 401]
    assert {answer.text for answer in answers} == {'{"error": "unauthorized", "message": "authentication failed"}'}
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert ("missing_credentials" if auth is BASIC else "missing_signature") in logged
    assert ("bad_credentials" if auth is BASIC else "bad_signature") in logged


async def test_hmac_without_a_signature_is_refused_before_the_body_is_read() -> None:
    server, running = await start(HMAC, ReceiverLimits(**LIMITS))
    try:
        head = request_head(running.url, {"Content-Length": "1000"})
        answer = await raw_exchange(running.url, head)  # no body sent at all: the answer comes anyway
        assert answer.startswith(b"HTTP/1.1 401")
    finally:
        await running.client.aclose()
        await server.stop()


def test_limits_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="max_bytes_in_flight"):
        ReceiverLimits(max_body_bytes=2000, max_bytes_in_flight=3000)
    with pytest.raises(ValueError, match="max_events_per_delivery"):
        ReceiverLimits(max_events_per_delivery=5000)
    with pytest.raises(ValueError, match="max_concurrent_requests"):
        ReceiverLimits(max_concurrent_requests=1)


async def test_a_connection_over_the_cap_is_closed_as_it_is_accepted() -> None:
    server, running = await start(BASIC, ReceiverLimits(max_connections=3, **LIMITS))
    port = int(running.url.rsplit(":", 1)[1])
    try:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        for _, writer in held:
            writer.write(b"POST /webhooks/infobip HTTP/1.1\r\n")  # a head that never ends
            await writer.drain()
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request_head(running.url, {**BASIC.sign(b""), "Content-Length": "2"}) + b"{}")
        assert await asyncio.wait_for(reader.read(), 2) == b""  # closed, nothing answered
        writer.close()
        for _, held_writer in held:
            held_writer.close()
        await asyncio.sleep(0.1)
        assert (await running.post(body(status_message()))).status_code == 200  # room again
    finally:
        await running.client.aclose()
        await server.stop()
