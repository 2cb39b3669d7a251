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
aiohttp session (`tendlc.kube_connection`, `tendlc.http_transport`) speaks to the API server
with the same credentials Kopf uses, re-reading them once when the server answers 401 (rotated
service-account tokens).
Secret values pass through here as bytes and are never logged.
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

from tendlc.api.constants import GROUP, PLURAL, VERSION
from tendlc.kube_connection import (
    CONFLICT,
    KubeApiError,
    KubeConnection,
    Login,
    ResourceGone,
    StatusConflict,
    _required_login,
    login,
    raise_for_status,
)

__all__ = [
    "CONFLICT", "ConfigMapData", "KubeApi", "KubeApiError", "ResourceGone", "SecretData", "StatusConflict", "login",
]

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


T = TypeVar("T")
PARTIAL_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"
"""Asks for an object's metadata only (a server too old for it answers the whole object as JSON)."""


class KubeApi(KubeConnection):
    """Secret and Namespace reads (shared for `secret_max_age` s), a CampaignMigration listing and status
    merge patches over one async client.

    At most `connections` requests are in flight, plus `event_connections` Event POSTs on slots of
    their own, so a burst of Events never delays a status write (the exactly-once marker gates the
    next partner call; an Event gates nothing), and `lease_connections` for the leader-election
    Lease, so a storm of status writes cannot delay a renewal past its deadline (which would
    depose the only writer (the slots and the client: `tendlc.kube_connection`).
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
        super().__init__(login, connections, event_connections, lease_connections, timeout, transport)
        # Secrets are read on every reconcile pass (so a renewed LOA or rotated key is picked up),
        # but one read serves every resource asking within `secret_max_age` seconds: a thousand
        # migrations sharing the operator's credentials cost one GET, not a thousand.
        self._secret_max_age = secret_max_age
        self._secrets: dict[tuple[str, str], tuple[float, asyncio.Future[SecretData | None]]] = {}
        self._config_maps: dict[tuple[str, str], tuple[float, asyncio.Future[dict[str, str] | None]]] = {}
        self._namespaces: dict[str, tuple[float, dict[str, str] | None]] = {}

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
        raise_for_status("GET", path, response)
        return dict((response.json().get("metadata") or {}).get("labels") or {})

    async def _fetch_secret(self, namespace: str, name: str) -> SecretData | None:
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets/{quote(name, safe='')}"
        response = await self._request("GET", path)
        if response.status_code == 404:
            return None
        raise_for_status("GET", path, response)
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
            raise_for_status("GET", path, response)
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
            raise_for_status("GET", path, response)
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
        raise_for_status("GET", path, response)
        body = response.json()
        labels = (body.get("metadata") or {}).get("labels") or {}
        data = body.get("data") or {}
        return ConfigMapData(name=name, labels=dict(labels), data={k: v for k, v in data.items() if isinstance(v, str)})

    async def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], *, resource_version: str | None = None,
        plural: str = PLURAL,
    ) -> dict[str, Any]:
        """Merge-patches `.status` of a CampaignMigration (or a MigrationWave: `plural`); returns the stored
        object's metadata (its new resourceVersion is all a writer needs).

        The answer is asked for as PartialObjectMetadata: without the spec and the status the
        server need not encode, nor this process decode, what it was just sent (a server too old
        for it answers the whole object, which has the same `metadata`).

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
            headers={"Content-Type": "application/merge-patch+json", "Accept": PARTIAL_METADATA},
        )
        if response.status_code == 404:
            raise ResourceGone(f"{namespace}/{name}")
        if response.status_code == 409:
            raise StatusConflict(f"PATCH {path}: the object changed since version {resource_version}", status=409)
        raise_for_status("PATCH", path, response)
        result: dict[str, Any] = response.json()
        return result

    async def read_object(self, namespace: str, name: str, plural: str = PLURAL) -> dict[str, Any]:
        """The object as stored now (after a lost fenced write); ResourceGone when deleted."""
        path = _object_path(namespace, name, plural)
        response = await self._request("GET", path)
        if response.status_code == 404:
            raise ResourceGone(f"{namespace}/{name}")
        raise_for_status("GET", path, response)
        result: dict[str, Any] = response.json()
        return result

    async def read_config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A ConfigMap (a cut-over's routing table) as stored now, or None when it does not exist."""
        path = _config_map_path(namespace, name)
        response = await self._request("GET", path)
        if response.status_code == 404:
            return None
        raise_for_status("GET", path, response)
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
        raise_for_status("PATCH", path, response)

    async def create_event(self, namespace: str, manifest: Mapping[str, Any]) -> None:
        """Creates a core/v1 Event (tendlc.events builds and queues them)."""
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/events"
        response = await self._request(
            "POST", path, slots=self._event_slots, content=json.dumps(manifest, separators=(",", ":")).encode(),
            headers={"Content-Type": "application/json"},
        )
        raise_for_status("POST", path, response)

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
        raise_for_status("GET", path, response)
        lease: dict[str, Any] = response.json()
        return lease

    async def create_lease(self, namespace: str, lease: Mapping[str, Any]) -> dict[str, Any]:
        """Creates a Lease; KubeApiError with status 409 when one of that name exists already."""
        path = self._lease_path(namespace)
        response = await self._request(
            "POST", path, slots=self._lease_slots, content=json.dumps(lease, separators=(",", ":")).encode(),
            headers={"Content-Type": "application/json"},
        )
        raise_for_status("POST", path, response)
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
        raise_for_status("PUT", path, response)
        stored: dict[str, Any] = response.json()
        return stored


def _object_path(namespace: str, name: str, plural: str = PLURAL) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{plural}/{quote(name, safe='')}"


def _pointer(segment: str) -> str:
    """One JSON Pointer segment (RFC 6901): `~` and `/` escaped."""
    return segment.replace("~", "~0").replace("/", "~1")


def _config_map_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/configmaps/{quote(name, safe='')}"


