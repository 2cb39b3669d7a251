"""The connection to the API server that `tendlc.kube.KubeApi` speaks over, and its errors.

One `tendlc.http_transport` exchange (aiohttp) with the credentials Kopf uses (its own kubeconfig /
service-account login functions), re-read once when the server answers 401 (rotated
service-account tokens); request slots of three kinds, so Events and the Lease never queue
behind status writes.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import kopf

from tendlc.http_transport import Answer, Exchange, exchange_for, with_query

CONFLICT = 409
"""The server's answer to a write whose resourceVersion precondition failed (or a create of an existing object)."""


class ResourceGone(Exception):
    """The resource was deleted while we were working on it: stop quietly."""


class KubeApiError(Exception):
    """The API server refused a request, or could not be reached (`status` None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class StatusConflict(KubeApiError):
    """A fenced status write lost: the object changed since the resourceVersion it was based on.

    The writer must read the object again and decide anew; it never retries the same patch.
    """


Login = Callable[[], kopf.ConnectionInfo]
RELOGIN_INTERVAL = 5.0  # seconds between two reads of the credentials after 401s


def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """$KUBECONFIG (or ~/.kube/config) read now, not at import, else the Pod's service account."""
    kwargs.setdefault("settings", kopf.OperatorSettings())
    info: kopf.ConnectionInfo | None = kopf.login_with_kubeconfig(**kwargs) or kopf.login_with_service_account(
        **kwargs
    )
    return info


def _required_login() -> kopf.ConnectionInfo:
    info = login()
    if info is None:
        raise KubeApiError("no Kubernetes credentials: neither $KUBECONFIG, ~/.kube/config nor a service account")
    return info


def _authorization(info: kopf.ConnectionInfo) -> dict[str, str]:
    """The header Kopf itself would send for these credentials."""
    if info.token:
        return {"Authorization": f"{info.scheme or 'Bearer'} {info.token}"}
    if info.username and info.password:
        pair = base64.b64encode(f"{info.username}:{info.password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {}


@dataclass(frozen=True)
class _Session:
    """One login's worth of connection: where, with which headers, over which exchange."""

    base_url: str
    headers: tuple[tuple[str, str], ...]
    exchange: Exchange


class KubeConnection:
    """The exchange, its credentials and its request slots (see `KubeApi` for why three kinds).

    Callers queue on a semaphore *before* the exchange, so a cancelled caller (a deleted
    resource, shutdown) never waits inside a connection pool, where a cancellation can leak a
    connection slot (docs/performance.md, F1).
    """

    def __init__(
        self,
        login: Login = _required_login,
        connections: int = 8,
        event_connections: int = 4,
        lease_connections: int = 2,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._login = login
        self._connections = connections + event_connections + lease_connections
        self._timeout = timeout
        self._transport = transport
        self._slots = asyncio.Semaphore(connections)
        self._event_slots = asyncio.Semaphore(event_connections)
        self._lease_slots = asyncio.Semaphore(lease_connections)
        self._session: _Session | None = None
        self._relogin_at = -RELOGIN_INTERVAL
        self._retired: list[_Session] = []
        self._closers: set[asyncio.Task[None]] = set()
        self._client_lock = asyncio.Lock()

    def _build(self) -> _Session:
        info = self._login()
        verify = info.as_ssl_context()  # honours insecure-skip-tls-verify and keeps the client certificate
        # The API server keeps idle connections far longer than httpx's 5 s: 30 s spares a new TLS
        # handshake after every short pause between bursts of writes. No proxy from the
        # environment: the API server is reached directly, as Kopf reaches it.
        exchange = exchange_for(self._transport, verify=verify, max_connections=self._connections,
                                keepalive=30.0, trust_env=False)
        headers = (("Accept", "application/json"), *_authorization(info).items())
        return _Session(info.server.rstrip("/"), headers, exchange)

    async def _current(self, stale: _Session | None = None) -> _Session:
        """The session; a new one (credentials read again) when `stale` is still the current one.

        After a 401 the credentials are read at most every RELOGIN_INTERVAL seconds. The replaced
        session is closed `timeout` seconds later: requests still running on it end normally (a
        closed one would fail them with a transport error instead of their own 401 and retry).
        """
        if stale is None and self._session is not None:
            return self._session  # the hot path: no lock
        async with self._client_lock:
            relogin = stale is not None and self._session is stale
            if relogin and time.monotonic() - self._relogin_at < RELOGIN_INTERVAL:
                relogin = False  # just read them: a permanent 401 must not rebuild per request
            if self._session is None or relogin:
                try:
                    session = await asyncio.to_thread(self._build)  # reads kubeconfig / token files
                except Exception as error:
                    raise KubeApiError(f"Kubernetes credentials: {type(error).__name__}: {error}") from None
                old, self._session = self._session, session
                if relogin:
                    self._relogin_at = time.monotonic()
                if old is not None:
                    self._retired.append(old)
                    closer = asyncio.create_task(self._close_later(old))
                    self._closers.add(closer)
                    closer.add_done_callback(self._closers.discard)
            assert self._session is not None
            return self._session

    async def _close_later(self, session: _Session) -> None:
        await asyncio.sleep(self._timeout)  # the longest a request on it can still run
        if session in self._retired:
            self._retired.remove(session)
            await session.exchange.aclose()

    async def _request(
        self, method: str, path: str, *, slots: asyncio.Semaphore | None = None,
        params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Answer:
        """One request; a 401 reads the credentials again and tries once more."""
        async with slots or self._slots:
            session = await self._current()
            for attempt in (1, 2):
                url = with_query(session.base_url + path, params)
                sent = session.headers if not headers else tuple({**dict(session.headers), **headers}.items())
                try:
                    response = await session.exchange.send(method, url, headers=sent, body=content,
                                                           phase_timeout=self._timeout)
                except httpx.HTTPError as error:
                    raise KubeApiError(f"{method} {path}: {type(error).__name__}: {error}") from None
                if response.status_code != 401 or attempt == 2:
                    return response
                session = await self._current(stale=session)
            raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        async with self._client_lock:
            for task in self._closers:
                task.cancel()
            await asyncio.gather(*self._closers, return_exceptions=True)
            self._closers.clear()
            for old in self._retired:
                await old.exchange.aclose()
            self._retired.clear()
            if self._session is not None:
                await self._session.exchange.aclose()
                self._session = None


def raise_for_status(method: str, path: str, response: Answer) -> None:
    """A Kubernetes `Status` answer as a KubeApiError with the server's own message (never a body we sent)."""
    if 200 <= response.status_code < 300:
        return
    try:
        answer = response.json()
    except ValueError:
        answer = None
    message = str(answer.get("message") or "") if isinstance(answer, dict) else ""
    detail = message or response.reason_phrase
    raise KubeApiError(f"{method} {path}: HTTP {response.status_code}: {detail}", status=response.status_code)
