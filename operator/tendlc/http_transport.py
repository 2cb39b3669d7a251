"""How the operator's HTTP requests reach the wire: one `Exchange` per client, aiohttp by default.

The partner clients and `KubeApi` build their requests themselves (a URL string, a header list,
a body) and hand them to an `Exchange`. In production that is `AiohttpExchange`: one
`aiohttp.ClientSession` (aiohttp is in the process already, Kopf's watches use it). httpx's own
client and transport (request models, URL merging, cookies, httpcore, h11, anyio) cost ~1.5 ms of
CPU per request on this project's 2-core machine class against ~0.2 ms for aiohttp (measured,
docs/performance.md F13): at ~22 requests per migration that was half the operator's CPU.

`HttpxExchange` sends through an `httpx.AsyncClient` instead: for tests (`httpx.MockTransport`)
and for a platform whose egress goes through a proxy from the environment (HTTP(S)_PROXY,
ALL_PROXY, NO_PROXY), which only httpx's transport honours (`exchange_for`).

Either way the caller sees the same answer (`Answer`: status, reason, headers, body, `json()`;
an `httpx.Response` is one) and the same errors: aiohttp's are raised as the httpx error of the
same meaning, so a refused connection (`httpx.ConnectError`, nothing was sent) is still told from
a timeout or a dropped answer.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
import httpx
import yarl

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
Headers = Sequence[tuple[str, str]]


class Answer(Protocol):
    """What a caller reads of an HTTP answer (an `httpx.Response` has all of it)."""

    @property
    def status_code(self) -> int: ...

    @property
    def reason_phrase(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...

    def json(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """An answer read whole from aiohttp; `headers` is case-insensitive (aiohttp's CIMultiDictProxy)."""

    status_code: int
    reason_phrase: str
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class Exchange(Protocol):
    async def send(self, method: str, url: str, *, headers: Headers, body: bytes | None,
                   phase_timeout: float) -> Answer:
        """One request, its answer read whole; `phase_timeout` bounds connecting and each read (as httpx's)."""
        ...

    async def aclose(self) -> None: ...


class AiohttpExchange:
    """One aiohttp session (created on the first request, on the running loop).

    `max_connections` bounds the pool; idle connections are kept `keepalive` seconds (httpx's
    default was 5 s). Compressed answers are decoded by aiohttp, as httpx did.
    """

    def __init__(self, *, verify: ssl.SSLContext | bool = True, max_connections: int = 20,
                 keepalive: float = 5.0) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        # The same trust as httpx's: `True` is certifi's bundle, or $SSL_CERT_FILE / $SSL_CERT_DIR
        # when set (a platform's own CA); a context (the API server's, from the kubeconfig) as given.
        self._ssl = httpx.create_ssl_context(verify=verify, trust_env=True)
        self._max_connections = max_connections
        self._keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None

    def _current(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, ssl=self._ssl, keepalive_timeout=self._keepalive,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Content-Type"),
            )
        return self._session

    async def send(self, method: str, url: str, *, headers: Headers, body: bytes | None,
                   phase_timeout: float) -> Answer:
        try:
            async with self._current().request(
                method, yarl.URL(url, encoded=True), data=body, headers=headers, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, connect=phase_timeout, sock_connect=phase_timeout,
                                            sock_read=phase_timeout),
            ) as answer:
                return RawAnswer(answer.status, answer.reason or "", answer.headers, await answer.read())
        except aiohttp.ClientError as error:
            raise _httpx_error(error, method, url) from None
        except TimeoutError as error:  # aiohttp's own deadline; a caller's cancellation is not caught here
            raise httpx.ReadTimeout(f"{type(error).__name__}: {error}", request=httpx.Request(method, url)) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpxExchange:
    """Through an httpx client (a test's `MockTransport`, or httpx's own transport for proxies)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, method: str, url: str, *, headers: Headers, body: bytes | None,
                   phase_timeout: float) -> Answer:
        request = self._client.build_request(method, url, headers=list(headers), content=body,
                                             timeout=httpx.Timeout(phase_timeout))
        return await self._client.send(request)

    async def aclose(self) -> None:
        await self._client.aclose()


def _httpx_error(error: aiohttp.ClientError, method: str, url: str) -> httpx.TransportError:
    """aiohttp's error as the httpx error of the same meaning (sent or not, timed out or dropped)."""
    message = f"{type(error).__name__}: {error}"
    request = httpx.Request(method, url)
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)  # no connection: nothing was sent
    if isinstance(error, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(error, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)  # refused, unresolvable, TLS failed: nothing was sent
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ClientOSError):
        return httpx.ReadError(message, request=request)
    if isinstance(error, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    return httpx.TransportError(message, request=request)


def exchange_for(
    transport: httpx.AsyncBaseTransport | None = None, *, verify: ssl.SSLContext | bool = True,
    max_connections: int = 20, keepalive: float = 5.0, trust_env: bool = True,
) -> Exchange:
    """A client's exchange: through `transport` when given (tests), httpx's own when the environment
    names a proxy (and `trust_env`), else aiohttp."""
    if transport is not None or (trust_env and any(os.environ.get(name) for name in PROXY_VARIABLES)):
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return HttpxExchange(httpx.AsyncClient(transport=transport, verify=verify, limits=limits,
                                               trust_env=trust_env, follow_redirects=False))
    return AiohttpExchange(verify=verify, max_connections=max_connections, keepalive=keepalive)


def with_query(url: str, params: Sequence[tuple[str, str]] | Mapping[str, str] | None) -> str:
    """`url` with `params` as its query, encoded as httpx encodes them (application/x-www-form-urlencoded)."""
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
