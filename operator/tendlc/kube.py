"""The few Kubernetes API calls the reconciler makes itself, off the event loop.

Kopf watches the resources and posts Events; this room covers what Kopf does not: reading the
Secrets a migration references and writing the status subresource *in the middle* of a reconcile
pass (the exactly-once marker must be stored before a partner POST, not when a handler returns).
The official client is synchronous, so every call runs in a small dedicated thread pool and the
event loop never blocks. Secret values pass through here as bytes and are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import kubernetes.client
import kubernetes.config
from kubernetes.client.exceptions import ApiException

GROUP = "tendlc.io"
VERSION = "v1alpha1"
PLURAL = "campaignmigrations"


class ResourceGone(Exception):
    """The resource was deleted while we were working on it: stop quietly."""


@dataclass(frozen=True)
class SecretData:
    """The decoded data of a Secret. `repr` never shows values."""

    name: str
    values: dict[str, bytes]

    def __repr__(self) -> str:
        return f"SecretData(name={self.name!r}, keys={sorted(self.values)!r})"


def load_client_configuration() -> kubernetes.client.Configuration:
    """In-cluster credentials when running in a Pod, else $KUBECONFIG read at call time."""
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    return configuration


class KubeApi:
    """Async facade over the synchronous client, with its own bounded thread pool."""

    def __init__(
        self,
        configuration: kubernetes.client.Configuration | None = None,
        threads: int = 8,
        secret_max_age: float = 10.0,
    ) -> None:
        configuration = configuration or load_client_configuration()
        # Secrets are read on every reconcile pass (so a renewed LOA or rotated key is picked up),
        # but one read serves every resource asking within `secret_max_age` seconds: a thousand
        # migrations sharing the operator's credentials cost one GET, not a thousand.
        self._secret_max_age = secret_max_age
        self._secrets: dict[tuple[str, str], tuple[float, asyncio.Future[SecretData | None]]] = {}
        configuration.connection_pool_maxsize = threads
        self._api_client = kubernetes.client.ApiClient(configuration)
        self._core = kubernetes.client.CoreV1Api(self._api_client)
        self._custom = kubernetes.client.CustomObjectsApi(self._api_client)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tendlc-kube")

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        """The Secret's data, or None when it does not exist (at most `secret_max_age` seconds old)."""
        key = (namespace, name)
        now = time.monotonic()
        cached = self._secrets.get(key)
        if cached is not None and now - cached[0] < self._secret_max_age:
            future = cached[1]
        else:
            future = asyncio.ensure_future(self._fetch_secret(namespace, name))
            if len(self._secrets) > 4096:  # forget Secrets nobody asked for lately
                self._secrets = {k: v for k, v in self._secrets.items() if now - v[0] < self._secret_max_age}
            self._secrets[key] = (now, future)
        try:
            return await asyncio.shield(future)
        except Exception:
            if self._secrets.get(key, (0, None))[1] is future:
                del self._secrets[key]  # never cache a failure
            raise

    async def _fetch_secret(self, namespace: str, name: str) -> SecretData | None:
        try:
            secret = await self._call(self._core.read_namespaced_secret, name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        data = secret.data or {}
        return SecretData(name=name, values={k: base64.b64decode(v) for k, v in data.items()})

    async def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        """Merge-patches `.status` of a CampaignMigration; returns the stored object."""
        try:
            result: dict[str, Any] = await self._call(
                self._custom.patch_namespaced_custom_object_status,
                GROUP, VERSION, namespace, PLURAL, name, {"status": status},
            )
        except ApiException as error:
            if error.status == 404:
                raise ResourceGone(f"{namespace}/{name}") from None
            raise
        return result

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._api_client.close)
