"""Hostile clients against the real webhook receiver (WebhookServer over loopback, a recording dispatch).

test_webhook_receiver.py covers each refusal by example; this file adds the properties: for any
body and any headers (hypothesis), the answer is never a 500 and nothing unauthenticated or
malformed ever reaches `dispatch`; an authenticated body reaches `dispatch` exactly when the
parser accepts it. Then the security cases end to end on one socket each: no auth, wrong
password, wrong HMAC key, a replayed signature of another body, oversized (declared and
streamed), and slow-loris clients (head, then the body trickled; the head itself trickled),
which must be cut off within the receiver's bounds — measured loosely, this is not a perf test.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhook_samples import WEBHOOK_HMAC_KEY, WEBHOOK_PASSWORD, WEBHOOK_USERNAME, body, network_message, status_message

from tendlc.webhooks.auth import SIGNATURE_HEADER, WebhookAuth, WebhookAuthError
from tendlc.webhooks.payload import WebhookEvent, WebhookPayloadError, parse_delivery
from tendlc.webhooks.receiver import WEBHOOK_PATH, DispatchResult, ReceiverLimits, WebhookServer

BASIC = WebhookAuth.basic(WEBHOOK_USERNAME, WEBHOOK_PASSWORD)
HMAC = WebhookAuth.hmac(WEBHOOK_HMAC_KEY)
READ_TIMEOUT = 1.0
LIMITS = ReceiverLimits(body_read_timeout=READ_TIMEOUT, dispatch_timeout=1.0, header_timeout=READ_TIMEOUT)


@dataclass
class Recording:
    events: list[WebhookEvent] = field(default_factory=list)

    async def __call__(self, event: WebhookEvent) -> DispatchResult:
        self.events.append(event)
        return "applied"


@dataclass
class Receiver:
    url: str
    auth: WebhookAuth
    dispatch: Recording

    @property
    def endpoint(self) -> str:
        return self.url + WEBHOOK_PATH


class ServerThread:
    """A WebhookServer on its own event loop in a thread, so sync hypothesis tests can hit it."""

    def __init__(self, auth: WebhookAuth) -> None:
        self.dispatch = Recording()
        self.server = WebhookServer.for_receiver(auth, self.dispatch, limits=LIMITS)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self.server.start("127.0.0.1", 0), self.loop).result(10)
        self.receiver = Receiver(self.url, auth, self.dispatch)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module", params=["BASIC", "HMAC"])
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    running = ServerThread(BASIC if request.param == "BASIC" else HMAC)
    try:
        yield running.receiver
    finally:
        running.close()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    # One connection per request: a refused body is not drained, so the receiver closes the connection
    # after answering (by design, see receiver.py) and a pooled connection would be stale.
    with httpx.Client(timeout=5.0, headers={"Connection": "close"}) as session:
        yield session


# Headers a client may set freely; framing headers (Content-Length, Transfer-Encoding, Host) are
# left to the HTTP client so each example stays one well-framed request.
header_names = st.sampled_from(["Authorization", SIGNATURE_HEADER, "Content-Type", "X-Forwarded-For",
                                "Content-Encoding", "Expect", "X-Infobip-Signature-256", "Cookie"])
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120).map(str.strip)
auth_like = st.one_of(
    st.builds(lambda u, p: "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode(),
              st.sampled_from([WEBHOOK_USERNAME, "", "admin"]), st.text(max_size=30)),
    st.builds(lambda p: "Basic " + base64.b64encode(p.encode()).decode(), st.text(max_size=30)),
    st.builds(lambda h: f"sha256={h}", st.text("0123456789abcdef", min_size=0, max_size=64)),
    header_values,
)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=10), inner, max_size=4), max_leaves=12)
message_like = st.fixed_dictionaries({}, optional={
    "event": st.sampled_from(["CAMPAIGN_STATUS_UPDATE", "CAMPAIGN_NETWORK_STATUS_UPDATE", "BRAND_STATUS_UPDATE"])
    | json_leaf,
    "receivedAt": st.sampled_from(["2026-11-26T10:00:00.000+0000", "2026-11-26T10:00:00Z", "yesterday"]) | json_leaf,
    "content": st.fixed_dictionaries({}, optional={
        "campaignId": st.uuids().map(str) | json_leaf,
        "campaignStatus": st.sampled_from(["REGISTERED", "REJECTED", "SOME_FUTURE_STAGE"]) | json_leaf,
        "campaignNetwork": st.sampled_from(["ATT", "VERIZON"]) | json_leaf,
        "campaignNetworkStatus": st.sampled_from(["ACTIVE"]) | json_leaf,
        "tcrId": st.text(max_size=8),
    }) | json_values,
})
bodies = st.one_of(
    st.binary(max_size=400),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(message_like, max_size=3).map(lambda ms: json.dumps({"results": ms}).encode()),
    st.just(body(status_message())),  # a perfect body, but without valid credentials below
)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(raw=bodies,
       headers=st.dictionaries(header_names, st.one_of(auth_like, header_values).map(str.strip), max_size=4))
def test_unauthenticated_anything_is_refused_never_500_never_dispatched(
    receiver: Receiver, client: httpx.Client, raw: bytes, headers: dict[str, str]
) -> None:
    before = len(receiver.dispatch.events)
    try:
        receiver.auth.verify(headers, raw)
    except WebhookAuthError:
        pass
    else:  # hypothesis guessed the credentials: impossible in practice, but then it is not this property
        return
    answer = client.post(receiver.endpoint, content=raw, headers=headers)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)  # never a 5xx
    if "Expect" not in headers:  # (aiohttp answers an unknown Expect with 417 before the receiver runs)
        assert answer.status_code == 401, (answer.status_code, answer.text)  # authentication before parsing
    assert len(receiver.dispatch.events) == before
    assert WEBHOOK_PASSWORD not in answer.text
    assert WEBHOOK_HMAC_KEY not in answer.text


@FUZZ
@given(raw=bodies, extra=st.dictionaries(st.sampled_from(["Content-Type", "X-Forwarded-For"]), header_values,
                                         max_size=2))
def test_authenticated_bodies_are_dispatched_exactly_when_they_parse(
    receiver: Receiver, client: httpx.Client, raw: bytes, extra: dict[str, str]
) -> None:
    before = len(receiver.dispatch.events)
    try:
        expected = len(parse_delivery(raw).events)
        parses = True
    except WebhookPayloadError:
        expected, parses = 0, False
    answer = client.post(receiver.endpoint, content=raw, headers={**extra, **receiver.auth.sign(raw)})
    assert answer.status_code == (200 if parses else 400), (answer.status_code, answer.text)
    assert len(receiver.dispatch.events) - before == expected


# --------------------------------------------------------------------------- the security cases


def _post(receiver: Receiver, raw: bytes, headers: dict[str, str]) -> int:
    return httpx.post(receiver.endpoint, content=raw, headers=headers, timeout=5).status_code


def test_each_credential_failure_is_401_and_changes_nothing(receiver: Receiver) -> None:
    raw = body(status_message(), network_message())
    before = len(receiver.dispatch.events)
    other_body = body(status_message("REJECTED"))
    wrong = {
        "no auth": {},
        "wrong password": WebhookAuth.basic(WEBHOOK_USERNAME, "not-the-password-123").sign(raw),
        "wrong user": WebhookAuth.basic("someone-else", WEBHOOK_PASSWORD).sign(raw),
        "wrong HMAC key": WebhookAuth.hmac("another-key-0123456789abcdef").sign(raw),
        "HMAC of another body (replay)": HMAC.sign(other_body),
        "HMAC with another algorithm": WebhookAuth.hmac(WEBHOOK_HMAC_KEY, "HMAC_SHA_1").sign(raw),
        "signature in the wrong header": {"Authorization": HMAC.sign(raw)[SIGNATURE_HEADER]},
    }
    for what, headers in wrong.items():
        if receiver.auth.sign(raw) == headers:
            continue  # e.g. BASIC with the right signature of the other scheme: not a wrong credential
        assert _post(receiver, raw, headers) == 401, what
    assert len(receiver.dispatch.events) == before
    assert _post(receiver, raw, receiver.auth.sign(raw)) == 200  # the control: the right credentials work
    assert len(receiver.dispatch.events) == before + 2


def test_oversized_bodies_are_413_declared_or_streamed(receiver: Receiver) -> None:
    before = len(receiver.dispatch.events)
    big = b"{" + b" " * (1024 * 1024) + b"}"
    assert _post(receiver, big, receiver.auth.sign(big)) == 413

    def stream() -> Iterator[bytes]:  # chunked: no Content-Length to refuse up front
        for _ in range(20):
            yield b" " * 65536

    answer = httpx.post(receiver.endpoint, content=stream(), headers=receiver.auth.sign(b""), timeout=10)
    assert answer.status_code == 413
    assert len(receiver.dispatch.events) == before


def _connect(receiver: Receiver) -> socket.socket:
    parts = urlsplit(receiver.url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _read_until_closed(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    received = b""
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received, True
        if not chunk:
            return received, True
        received += chunk
    return received, False


def test_slow_loris_body_is_cut_off_within_the_read_timeout(receiver: Receiver) -> None:
    """Head at once, then the body one byte every 0.2 s: a 408 and a closed socket after ~READ_TIMEOUT."""
    raw = body(status_message())
    head = (f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(raw)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in receiver.auth.sign(raw).items()) + "\r\n").encode()
    before = len(receiver.dispatch.events)
    with _connect(receiver) as sock:
        sock.sendall(head)
        started = time.monotonic()
        closed, answer = False, b""
        for byte in raw:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
            if time.monotonic() - started > READ_TIMEOUT + 3:
                break
            sock.setblocking(False)
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if answer:
                break
        rest, closed_after = _read_until_closed(sock, time.monotonic() + 3)
        elapsed = time.monotonic() - started
    answer += rest
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert closed or closed_after, "the connection must be closed after the 408"
    assert READ_TIMEOUT * 0.8 <= elapsed <= READ_TIMEOUT + 3, elapsed  # loosely: bounded by the read timeout
    assert len(receiver.dispatch.events) == before


def test_slow_loris_head_is_closed_within_the_header_timeout(receiver: Receiver) -> None:
    """The request head itself trickled a byte every 0.2 s never completes: the socket is closed, no answer."""
    head = f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nX-Padding: {'a' * 200}\r\n".encode()
    before = len(receiver.dispatch.events)
    with _connect(receiver) as sock:
        started = time.monotonic()
        closed = False
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
            sock.setblocking(False)
            try:
                if sock.recv(65536) == b"":
                    closed = True
                    break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed = True
                break
            finally:
                sock.setblocking(True)
            if time.monotonic() - started > LIMITS.header_timeout + 5:
                break
        elapsed = time.monotonic() - started
    assert closed, f"a trickled request head kept the connection open for {elapsed:.1f} s"
    assert elapsed <= LIMITS.header_timeout + 5, elapsed
    assert len(receiver.dispatch.events) == before
