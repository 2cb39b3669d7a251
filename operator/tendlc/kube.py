"""The few Kubernetes API calls the controller makes itself, async on the event loop.

Kopf watches the resources; this room covers the rest: reading the Secrets a migration
references (with their labels: the `tendlc.io/usage` opt-in), the annotations of a Namespace (the
campaign policy), one listing of the CampaignMigrations at start-up (the campaign claims), writing
the status subresource *in the middle* of a reconcile pass (the exactly-once marker must be stored
before a partner POST, not when a handler returns), creating Events (queued by tendlc.events), and
setting one key of a tenant's ConfigMap (a cut-over, tendlc.cutover), and
reading and writing the `coordination.k8s.io/v1` Lease that tendlc.leader elects the active replica
with (every update conditional on the resourceVersion read).

Two calls do not justify the official client: it is synchronous (a thread pool, one glibc malloc
arena per thread), validates every call with pydantic, and its import alone costs ~35 MiB. The
benchmark (docs/performance.md, F7) measured it at a fifth of the operator's CPU. Here one
`httpx.AsyncClient` speaks to the API server with the same credentials Kopf uses (its own
kubeconfig / service-account login functions), re-reading them once when the server answers 401
(rotated service-account tokens). Secret values pass through here as bytes and are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import kopf

from tendlc.api.constants import GROUP, PLURAL, VERSION

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


@dataclass(frozen=True)
class SecretData:
    """The decoded data of a Secret and its labels (the `tendlc.io/usage` opt-in). `repr` never shows values."""

    name: str
    values: dict[str, bytes]
    labels: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"SecretData(name={self.name!r}, keys={sorted(self.values)!r}, labels={dict(self.labels)!r})"


@dataclass(frozen=True)
class ConfigMapData:
    """A ConfigMap's labels and `data` (a number list for `spec.numbersFrom`, D62)."""

    name: str
    labels: dict[str, str]
    data: dict[str, str]

    def __repr__(self) -> str:
        return f"ConfigMapData(name={self.name!r}, keys={sorted(self.data)!r})"


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


T = TypeVar("T")
PARTIAL_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"
"""Asks for an object's metadata only (a server too old for it answers the whole object as JSON)."""


class KubeApi:
    """Secret and Namespace reads (shared for `secret_max_age` s), a CampaignMigration listing and status
    merge patches over one async client.

    At most `connections` requests are in flight, plus `event_connections` Event POSTs on slots of
    their own, so a burst of Events never delays a status write (the exactly-once marker gates the
    next partner call; an Event gates nothing), and `lease_connections` for the leader-election
    Lease, so a storm of status writes cannot delay a renewal past its deadline (which would
    depose the only writer). Callers queue on a semaphore *before* httpx, so a
    cancelled caller (a deleted resource, shutdown) never waits inside httpcore's pool, where a
    cancellation can leak a connection slot (docs/performance.md, F1).
    """

    def __init__(
        self,
        login: Login = _required_login,
        connections: int = 8,
        event_connections: int = 4,
        lease_connections: int = 2,
        secret_max_age: float = 10.0,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # Secrets are read on every reconcile pass (so a renewed LOA or rotated key is picked up),
        # but one read serves every resource asking within `secret_max_age` seconds: a thousand
        # migrations sharing the operator's credentials cost one GET, not a thousand.
        self._secret_max_age = secret_max_age
        self._secrets: dict[tuple[str, str], tuple[float, asyncio.Future[SecretData | None]]] = {}
        self._config_maps: dict[tuple[str, str], tuple[float, asyncio.Future[dict[str, str] | None]]] = {}
        self._namespaces: dict[str, tuple[float, dict[str, str] | None]] = {}
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

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        """The Secret's data, or None when it does not exist (at most `secret_max_age` seconds old)."""
        return await self._shared(self._secrets, (namespace, name), lambda: self._fetch_secret(namespace, name))

    async def config_map_labels(self, namespace: str, name: str) -> dict[str, str] | None:
        """A ConfigMap's labels, or None when it does not exist (at most `secret_max_age` seconds old).

        Only the metadata is fetched (PartialObjectMetadata): a routing table that a thousand
        members switch through grows to a thousand keys, and the cut-over's readiness, checked on
        every pass before a submission, needs only to know it exists and opts in.
        """
        return await self._shared(self._config_maps, (namespace, name), lambda: self._fetch_labels(namespace, name))

    async def _shared(
        self, cache: dict[tuple[str, str], tuple[float, asyncio.Future[T]]], key: tuple[str, str],
        fetch: Callable[[], Awaitable[T]],
    ) -> T:
        """One read serves every caller within `secret_max_age` seconds; a failure is never cached."""
        now = time.monotonic()
        cached = cache.get(key)
        if cached is not None and now - cached[0] < self._secret_max_age:
            future = cached[1]
        else:
            future = asyncio.ensure_future(fetch())
            if len(cache) > 4096:  # forget what nobody asked for lately
                for stale in [k for k, v in cache.items() if now - v[0] >= self._secret_max_age]:
                    del cache[stale]
            cache[key] = (now, future)
        try:
            return await asyncio.shield(future)
        except Exception:
            if cache.get(key, (0, None))[1] is future:
                del cache[key]
            raise

    async def _fetch_labels(self, namespace: str, name: str) -> dict[str, str] | None:
        path = _config_map_path(namespace, name)
        response = await self._request("GET", path, headers={"Accept": PARTIAL_METADATA})
        if response.status_code == 404:
            return None
        _raise_for_status("GET", path, response)
        return dict((response.json().get("metadata") or {}).get("labels") or {})

    async def _fetch_secret(self, namespace: str, name: str) -> SecretData | None:
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets/{quote(name, safe='')}"
        response = await self._request("GET", path)
        if response.status_code == 404:
            return None
        _raise_for_status("GET", path, response)
        document = response.json()
        data = document.get("data") or {}
        labels = (document.get("metadata") or {}).get("labels") or {}
        return SecretData(name=name, values={k: base64.b64decode(v) for k, v in data.items()}, labels=dict(labels))

    async def list_campaign_migrations(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every CampaignMigration (in `namespace`, or in all): what the claims are seeded from.

        Only metadata and spec are kept of each item (the claims need no more, and statuses are big).
        """
        return await self.list_objects(PLURAL, namespace, keep=("metadata", "spec"))

    async def list_objects(
        self, plural: str, namespace: str | None = None, *, keep: tuple[str, ...] = ("metadata", "spec", "status"),
    ) -> list[dict[str, Any]]:
        """Every object of one of our kinds (in `namespace`, or in all), page by page, keeping the `keep` fields."""
        scope = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
        path = f"/apis/{GROUP}/{VERSION}{scope}/{plural}"
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"limit": "500", **({"continue": token} if token else {})}
            response = await self._request("GET", path, params=params)
            _raise_for_status("GET", path, response)
            document = response.json()
            items += [{field: item.get(field) or {} for field in keep} for item in document.get("items") or []]
            token = (document.get("metadata") or {}).get("continue")
            if not token:
                return items

    async def namespace_annotations(self, namespace: str) -> dict[str, str] | None:
        """A Namespace's annotations (None: no such namespace), at most `secret_max_age` seconds old."""
        now = time.monotonic()
        cached = self._namespaces.get(namespace)
        if cached is not None and now - cached[0] < self._secret_max_age:
            return cached[1]
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}"
        response = await self._request("GET", path)
        if response.status_code == 404:
            annotations = None
        else:
            _raise_for_status("GET", path, response)
            annotations = dict((response.json().get("metadata") or {}).get("annotations") or {})
        if len(self._namespaces) > 4096:
            self._namespaces.clear()
        self._namespaces[namespace] = (now, annotations)
        return annotations

    async def read_numbers_config_map(self, namespace: str, name: str) -> ConfigMapData | None:
        """A `numbersFrom` ConfigMap, or None when it does not exist. Read by name every pass, never watched (D62)."""
        path = _config_map_path(namespace, name)
        response = await self._request("GET", path)
        if response.status_code == 404:
            return None
        _raise_for_status("GET", path, response)
        body = response.json()
        labels = (body.get("metadata") or {}).get("labels") or {}
        data = body.get("data") or {}
        return ConfigMapData(name=name, labels=dict(labels), data={k: v for k, v in data.items() if isinstance(v, str)})

    async def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], *, resource_version: str | None = None,
        plural: str = PLURAL,
    ) -> dict[str, Any]:
        """Merge-patches `.status` of a CampaignMigration (or a MigrationWave: `plural`); returns the stored object.

        With `resource_version` the write is fenced: the API server applies it only if the object
        is still at that version, else answers 409 (`StatusConflict`). The version also stands for
        the object's identity: a resource deleted and created again under the same name has
        another version, so a write meant for the old one can never land on the new one (a `uid`
        in a status patch is silently ignored by the server; the version is not).
        """
        path = _object_path(namespace, name, plural) + "/status"
        patch: dict[str, Any] = {"status": status}
        if resource_version is not None:
            patch["metadata"] = {"resourceVersion": resource_version}
        response = await self._request(
            "PATCH",
            path,
            content=json.dumps(patch, separators=(",", ":")).encode(),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if response.status_code == 404:
            raise ResourceGone(f"{namespace}/{name}")
        if response.status_code == 409:
            raise StatusConflict(f"PATCH {path}: the object changed since version {resource_version}", status=409)
        _raise_for_status("PATCH", path, response)
        result: dict[str, Any] = response.json()
        return result

    async def read_object(self, namespace: str, name: str, plural: str = PLURAL) -> dict[str, Any]:
        """The object as stored now (after a lost fenced write); ResourceGone when deleted."""
        path = _object_path(namespace, name, plural)
        response = await self._request("GET", path)
        if response.status_code == 404:
            raise ResourceGone(f"{namespace}/{name}")
        _raise_for_status("GET", path, response)
        result: dict[str, Any] = response.json()
        return result

    async def read_config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A ConfigMap (a cut-over's routing table) as stored now, or None when it does not exist."""
        path = _config_map_path(namespace, name)
        response = await self._request("GET", path)
        if response.status_code == 404:
            return None
        _raise_for_status("GET", path, response)
        result: dict[str, Any] = response.json()
        return result

    async def set_config_map_key(
        self, namespace: str, name: str, key: str, value: str, *, label: tuple[str, str],
        resource_version: str | None = None,
    ) -> None:
        """Sets `data[key]` of a ConfigMap, on condition that it still carries `label` (key, value).

        A JSON patch whose first operation tests the label, so the check and the write are one
        atomic step and writers of different keys never conflict (a thousand members switching
        through one routing table). A ConfigMap without `data` yet cannot be added to key by key:
        then `resource_version` is required and the write is a merge patch fenced by it (409:
        `StatusConflict`, read it again). A failed test is a 422: KubeApiError.
        """
        path = _config_map_path(namespace, name)
        label_path = "/metadata/labels/" + _pointer(label[0])
        if resource_version is None:
            operations: Any = [{"op": "test", "path": label_path, "value": label[1]},
                               {"op": "add", "path": "/data/" + _pointer(key), "value": value}]
            content_type = "application/json-patch+json"
        else:
            operations = {"metadata": {"resourceVersion": resource_version}, "data": {key: value}}
            content_type = "application/merge-patch+json"
        response = await self._request(
            "PATCH", path, content=json.dumps(operations, separators=(",", ":")).encode(),
            headers={"Content-Type": content_type},
        )
        if response.status_code == 409:
            raise StatusConflict(f"PATCH {path}: the ConfigMap changed since version {resource_version}", status=409)
        _raise_for_status("PATCH", path, response)

    async def create_event(self, namespace: str, manifest: Mapping[str, Any]) -> None:
        """Creates a core/v1 Event (tendlc.events builds and queues them)."""
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/events"
        response = await self._request(
            "POST", path, slots=self._event_slots, content=json.dumps(manifest, separators=(",", ":")).encode(),
            headers={"Content-Type": "application/json"},
        )
        _raise_for_status("POST", path, response)

    # --------------------------------------------------------------------------- Leases

    @staticmethod
    def _lease_path(namespace: str, name: str | None = None) -> str:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{quote(namespace, safe='')}/leases"
        return path if name is None else f"{path}/{quote(name, safe='')}"

    async def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Lease object (with its resourceVersion), or None when it does not exist."""
        path = self._lease_path(namespace, name)
        response = await self._request("GET", path, slots=self._lease_slots)
        if response.status_code == 404:
            return None
        _raise_for_status("GET", path, response)
        lease: dict[str, Any] = response.json()
        return lease

    async def create_lease(self, namespace: str, lease: Mapping[str, Any]) -> dict[str, Any]:
        """Creates a Lease; KubeApiError with status 409 when one of that name exists already."""
        path = self._lease_path(namespace)
        response = await self._request(
            "POST", path, slots=self._lease_slots, content=json.dumps(lease, separators=(",", ":")).encode(),
            headers={"Content-Type": "application/json"},
        )
        _raise_for_status("POST", path, response)
        stored: dict[str, Any] = response.json()
        return stored

    async def replace_lease(self, namespace: str, name: str, lease: Mapping[str, Any]) -> dict[str, Any]:
        """Replaces a Lease (PUT) on condition that it is still at `metadata.resourceVersion`.

        KubeApiError with status 409 when someone wrote it since it was read (re-read, never
        overwrite), 404 when it was deleted. A lease without a resourceVersion is refused here: an
        unconditional replace could overwrite another replica's leadership.
        """
        metadata = lease.get("metadata")
        if not isinstance(metadata, Mapping) or not metadata.get("resourceVersion"):
            raise ValueError("replace_lease needs metadata.resourceVersion (the version that was read)")
        path = self._lease_path(namespace, name)
        response = await self._request(
            "PUT", path, slots=self._lease_slots, content=json.dumps(lease, separators=(",", ":")).encode(),
            headers={"Content-Type": "application/json"},
        )
        _raise_for_status("PUT", path, response)
        stored: dict[str, Any] = response.json()
        return stored

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


def _object_path(namespace: str, name: str, plural: str = PLURAL) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{plural}/{quote(name, safe='')}"


def _pointer(segment: str) -> str:
    """One JSON Pointer segment (RFC 6901): `~` and `/` escaped."""
    return segment.replace("~", "~0").replace("/", "~1")


def _config_map_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/configmaps/{quote(name, safe='')}"


def _raise_for_status(method: str, path: str, response: httpx.Response) -> None:
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
