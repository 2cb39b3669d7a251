"""tendlc.http_transport: the aiohttp exchange against a real HTTP server on loopback.

What callers rely on: the request arrives as built (method, encoded path and query, headers,
body), the answer reads as an httpx.Response did (status, reason, case-insensitive headers,
gzip decoded), and each failure is the httpx error of the same meaning — a refused connection
(nothing sent) is not confused with a timeout or a dropped answer.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tendlc.http_transport import PROXY_VARIABLES, AiohttpExchange, HttpxExchange, exchange_for, with_query


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def echo(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen.append({"method": request.method, "path": request.path_qs, "headers": dict(request.headers),
                     "body": body, "peer": peer})
        if request.path == "/gzip":
            return web.Response(body=gzip.compress(b'{"zipped": true}'),
                                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        if request.path == "/slow":
            await asyncio.sleep(1)
        if request.path == "/drop":
            assert request.transport is not None
            request.transport.close()
            await asyncio.sleep(1)
        if request.path == "/teapot":
            return web.Response(status=418, reason="I'm a teapot", text="no")
        return web.json_response({"ok": True}, headers={"X-Multi": "a"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


JSON = (("Content-Type", "application/json"),)


async def test_the_request_arrives_as_built(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, seen = server
    exchange = AiohttpExchange(max_connections=4)
    url = with_query(base_url + "/a%2Fb/c", [("q", "x y+z"), ("q", "é")])
    response = await exchange.send("POST", url, headers=(("Authorization", "Bearer t"), ("User-Agent", "tendlc"),
                                                         *JSON), body=b'{"n":1}', phase_timeout=5)
    await exchange.aclose()
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers["X-MULTI"] == "a"  # case-insensitive, as httpx.Headers
    assert response.reason_phrase == "OK"
    request = seen[0]
    assert request["method"] == "POST"
    assert request["path"] == "/a%2Fb/c?q=x+y%2Bz&q=%C3%A9"  # as encoded by the caller, not re-quoted
    assert json.loads(request["body"]) == {"n": 1}
    assert request["headers"]["Authorization"] == "Bearer t"
    assert request["headers"]["User-Agent"] == "tendlc"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Content-Length"] == str(len(request["body"]))


def test_the_query_is_encoded_as_httpx_encodes_params() -> None:
    params = [("q", "x y+z"), ("q", "é"), ("a&b", "c=d"), ("slash", "/~")]
    assert with_query("http://h/p", params) == str(httpx.URL("http://h/p", params=params))
    assert with_query("http://h/p", None) == "http://h/p"


async def test_a_body_less_request_has_no_content_type(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, seen = server
    exchange = AiohttpExchange()
    await exchange.send("GET", base_url + "/x", headers=(), body=None, phase_timeout=5)
    await exchange.aclose()
    assert "Content-Type" not in seen[0]["headers"]
    assert seen[0]["body"] == b""


async def test_an_answer_reads_as_through_httpx(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, _ = server
    exchange = AiohttpExchange()
    zipped = await exchange.send("GET", base_url + "/gzip", headers=(), body=None, phase_timeout=5)
    teapot = await exchange.send("GET", base_url + "/teapot", headers=(), body=None, phase_timeout=5)
    await exchange.aclose()
    assert zipped.json() == {"zipped": True}
    assert (teapot.status_code, teapot.reason_phrase, teapot.content) == (418, "I'm a teapot", b"no")


async def test_connections_are_reused(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, seen = server
    exchange = AiohttpExchange()
    for _ in range(5):
        await exchange.send("GET", base_url + "/x", headers=(), body=None, phase_timeout=5)
    await exchange.aclose()
    assert len({request["peer"] for request in seen}) == 1  # one TCP connection (one client port) for all five


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connect is refused
        exchange = AiohttpExchange()
        with pytest.raises(httpx.ConnectError):
            await exchange.send("POST", f"http://127.0.0.1:{port}/x", headers=(), body=b"x", phase_timeout=5)
        await exchange.aclose()


async def test_a_slow_answer_is_a_read_timeout(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, _ = server
    exchange = AiohttpExchange()
    with pytest.raises(httpx.ReadTimeout):
        await exchange.send("GET", base_url + "/slow", headers=(), body=None, phase_timeout=0.3)
    await exchange.aclose()


async def test_a_dropped_answer_is_a_remote_protocol_error(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, _ = server
    exchange = AiohttpExchange()
    with pytest.raises(httpx.RemoteProtocolError):
        await exchange.send("POST", base_url + "/drop", headers=(), body=b"x", phase_timeout=5)
    await exchange.aclose()


async def test_a_post_on_a_reused_connection_that_drops_is_sent_once(
    server: tuple[str, list[dict[str, Any]]],
) -> None:
    """aiohttp retries idempotent methods once on a dropped keep-alive connection; a POST (a migrate)
    must reach the partner exactly once: counted at the server, attempts not successes."""
    base_url, seen = server
    exchange = AiohttpExchange(max_connections=1)
    await exchange.send("GET", base_url + "/x", headers=(), body=None, phase_timeout=5)  # the connection to reuse
    with pytest.raises(httpx.RemoteProtocolError):
        await exchange.send("POST", base_url + "/drop", headers=(), body=b"x", phase_timeout=5)
    await exchange.aclose()
    assert len({request["peer"] for request in seen}) == 1  # the POST went out on the reused connection
    assert [request["method"] for request in seen if request["path"] == "/drop"] == ["POST"]


async def test_a_cancelled_caller_leaves_the_pool_usable(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, _ = server
    exchange = AiohttpExchange(max_connections=1)
    for _ in range(3):
        task = asyncio.ensure_future(exchange.send("GET", base_url + "/slow", headers=(), body=None, phase_timeout=5))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # one connection allowed: a slot leaked by a cancellation would make this wait out its timeout
    response = await exchange.send("GET", base_url + "/x", headers=(), body=None, phase_timeout=2)
    await exchange.aclose()
    assert response.status_code == 200


async def test_the_httpx_exchange_answers_the_same(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, seen = server
    exchange = exchange_for(httpx.AsyncHTTPTransport())
    assert isinstance(exchange, HttpxExchange)
    response = await exchange.send("POST", with_query(base_url + "/a", [("q", "x y")]), headers=JSON,
                                   body=b"{}", phase_timeout=5)
    await exchange.aclose()
    assert (response.status_code, response.json(), response.headers["X-MULTI"]) == (200, {"ok": True}, "a")
    assert seen[0]["path"] == "/a?q=x+y"
    assert seen[0]["body"] == b"{}"


async def test_a_configured_proxy_keeps_httpx_own_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert isinstance(exchange_for(), AiohttpExchange)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    proxied, direct = exchange_for(), exchange_for(trust_env=False)
    assert isinstance(proxied, HttpxExchange)
    assert isinstance(direct, AiohttpExchange)  # the API server: never through the environment's proxy
    await proxied.aclose()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tendlc test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


async def test_tls_trusts_what_httpx_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """certifi's bundle by default (a self-signed partner is refused), $SSL_CERT_FILE when the platform sets one."""
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/x", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    url = f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/x"  # type: ignore[union-attr]
    try:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        default = AiohttpExchange()
        with pytest.raises(httpx.ConnectError, match="certificate"):
            await default.send("GET", url, headers=(), body=None, phase_timeout=5)
        await default.aclose()
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
        trusting = AiohttpExchange()
        answer = await trusting.send("GET", url, headers=(), body=None, phase_timeout=5)
        await trusting.aclose()
        assert answer.json() == {"ok": True}
    finally:
        await runner.cleanup()
