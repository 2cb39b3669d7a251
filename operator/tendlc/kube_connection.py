"""The connection to the API server that `tendlc.kube.KubeApi` speaks over, and its errors.

One `httpx.AsyncClient` with the credentials Kopf uses (its own kubeconfig / service-account login
functions), re-read once when the server answers 401 (rotated service-account tokens); request
slots of three kinds, so Events and the Lease never queue behind status writes.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from typing import Any

import httpx
import kopf

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


class KubeConnection:
    """The client, its credentials and its request slots (see `KubeApi` for why three kinds).

    Callers queue on a semaphore *before* httpx, so a cancelled caller (a deleted resource,
    shutdown) never waits inside httpcore's pool, where a cancellation can leak a connection slot
    (docs/performance.md, F1).
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
        self._client: httpx.AsyncClient | None = None
        self._relogin_at = -RELOGIN_INTERVAL
        self._retired: list[httpx.AsyncClient] = []
        self._closers: set[asyncio.Task[None]] = set()
        self._client_lock = asyncio.Lock()

    def _build(self) -> httpx.AsyncClient:
        info = self._login()
        limits = httpx.Limits(max_connections=self._connections, max_keepalive_connections=self._connections)
        return httpx.AsyncClient(
            base_url=info.server.rstrip("/"),
            headers={"Accept": "application/json", **_authorization(info)},
            verify=info.as_ssl_context(),  # honours insecure-skip-tls-verify and keeps the client certificate
            limits=limits,
            timeout=httpx.Timeout(self._timeout),
            transport=self._transport,
            trust_env=False,
        )

    async def _current(self, stale: httpx.AsyncClient | None = None) -> httpx.AsyncClient:
        """The client; a new one (credentials read again) when `stale` is still the current one.

        After a 401 the credentials are read at most every RELOGIN_INTERVAL seconds. The replaced
        client is closed `timeout` seconds later: requests still running on it end normally (a
        closed client would fail them with a transport error instead of their own 401 and retry).
        """
        if stale is None and self._client is not None:
            return self._client  # the hot path: no lock
        async with self._client_lock:
            relogin = stale is not None and self._client is stale
            if relogin and time.monotonic() - self._relogin_at < RELOGIN_INTERVAL:
                relogin = False  # just read them: a permanent 401 must not rebuild per request
            if self._client is None or relogin:
                try:
                    client = await asyncio.to_thread(self._build)  # reads kubeconfig / token files
                except Exception as error:
                    raise KubeApiError(f"Kubernetes credentials: {type(error).__name__}: {error}") from None
                old, self._client = self._client, client
                if relogin:
                    self._relogin_at = time.monotonic()
                if old is not None:
                    self._retired.append(old)
                    closer = asyncio.create_task(self._close_later(old))
                    self._closers.add(closer)
                    closer.add_done_callback(self._closers.discard)
            assert self._client is not None
            return self._client

    async def _close_later(self, client: httpx.AsyncClient) -> None:
        await asyncio.sleep(self._timeout)  # the longest a request on it can still run
        if client in self._retired:
            self._retired.remove(client)
            await client.aclose()

    async def _request(
        self, method: str, path: str, *, slots: asyncio.Semaphore | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request; a 401 reads the credentials again and tries once more."""
        async with slots or self._slots:
            client = await self._current()
            for attempt in (1, 2):
                try:
                    response = await client.request(method, path, **kwargs)
                except httpx.HTTPError as error:
                    raise KubeApiError(f"{method} {path}: {type(error).__name__}: {error}") from None
                if response.status_code != 401 or attempt == 2:
                    return response
                client = await self._current(stale=client)
            raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        async with self._client_lock:
            for task in self._closers:
                task.cancel()
            await asyncio.gather(*self._closers, return_exceptions=True)
            self._closers.clear()
            for old in self._retired:
                await old.aclose()
            self._retired.clear()
            if self._client is not None:
                await self._client.aclose()
                self._client = None



def raise_for_status(method: str, path: str, response: httpx.Response) -> None:
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
