"""The plugin's only door to the cluster: the official, synchronous `kubernetes` client.

It finds the cluster the way kubectl does (`--kubeconfig`, else `$KUBECONFIG`, else
`~/.kube/config`; `--context`; the context's namespace unless `-n`; in a pod, the service
account), and turns every client or transport error into one of the plugin's errors so that a
command ends with a documented exit code and one readable line — an unreachable server is
`ClusterUnreachable` (3), a refusal `ClusterRefused`/`NotFound` (4), an object the server would
not take `ApiRejected` (a row problem, left to the caller). It decides nothing about migrations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from tendlc.api import GROUP, PLURAL, VERSION, WAVE_PLURAL
from tendlc_cli.errors import ClusterRefused, ClusterUnreachable, NotFound

FIELD_MANAGER = "kubectl-tendlc"
APPLY_PATCH = "application/apply-patch+yaml"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class Target:
    """Which cluster and namespace, as the user's flags say (None: what the kubeconfig says)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False


class ApiRejected(Exception):
    """The server understood the request and refused the object (400, 409, 422): the caller's problem to report."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class WatchExpired(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again and watch from there."""


# Parts of the client carry no or misleading types (`_preload_content=False` returns the raw response,
# custom objects are typed `object`): they are reached through these `Any` names and checked here.
# Every call reads the raw response: the generated deserialiser knows only some status codes (an
# apply that creates answers 201, for which it returns None).
_config: Any = config
_watch: Any = watch


def _json(response: Any) -> dict[str, Any]:
    """The body of a raw (`_preload_content=False`) response."""
    parsed = json.loads(response.data)
    return _object(parsed)


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ClusterRefused(f"the API server answered with {type(value).__name__}, not an object")
    return value


def _message(error: ApiException) -> str:
    try:
        body = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        body = {}
    text = body.get("message") if isinstance(body, dict) else None
    return str(text or error.reason or f"HTTP {error.status}")


class Kube:
    """One cluster connection for one command run; the configuration is loaded on first use."""

    def __init__(self, target: Target, *, connect_timeout: float = 5.0, read_timeout: float = 30.0) -> None:
        self.target = target
        self.timeout = (connect_timeout, read_timeout)
        self._api: client.ApiClient | None = None
        self._context_namespace: str | None = None
        self.server = ""
        self.context_name = ""

    # --- configuration -----------------------------------------------------------------------------

    def _load(self) -> client.ApiClient:
        if self._api is not None:
            return self._api
        configuration = client.Configuration()
        paths = self.target.kubeconfig or os.environ.get("KUBECONFIG") or ""
        expanded = os.pathsep.join(str(Path(p).expanduser()) for p in paths.split(os.pathsep) if p)
        default = Path("~/.kube/config").expanduser()
        try:
            if expanded or default.exists():
                config_file = expanded or str(default)
                _config.load_kube_config(
                    config_file=config_file, context=self.target.context, client_configuration=configuration,
                    persist_config=False,
                )
                contexts, active = _config.list_kube_config_contexts(config_file)
                chosen = next((c for c in contexts if c["name"] == self.target.context), active)
                self.context_name = str(chosen.get("name") or "")
                self._context_namespace = (chosen.get("context") or {}).get("namespace")
            else:
                _config.load_incluster_config(client_configuration=configuration)
                self.context_name = "in-cluster"
                if SERVICE_ACCOUNT_NAMESPACE.exists():
                    self._context_namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
        except config.ConfigException as error:
            raise ClusterUnreachable(f"no usable cluster configuration: {error}") from None
        except OSError as error:
            raise ClusterUnreachable(f"cannot read the kubeconfig: {error}") from None
        configuration.retries = 1  # an unreachable server should fail in seconds, not after urllib3's 3 retries
        self.server = configuration.host
        self._api = client.ApiClient(configuration)
        return self._api

    @property
    def namespace(self) -> str:
        """`-n`, else the context's namespace, else `default` (as kubectl chooses)."""
        self._load()
        return self.target.namespace or self._context_namespace or "default"

    def list_namespace(self) -> str | None:
        """The namespace to list in: None for `-A` (all namespaces)."""
        return None if self.target.all_namespaces else self.namespace

    # --- error mapping -----------------------------------------------------------------------------

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except ApiException as error:
            status, message = error.status or 0, _message(error)
            if status == 0:
                raise ClusterUnreachable(f"{what}: no answer from the API server at {self.server}: {message}") from None
            if status == 401:
                raise ClusterRefused(f"{what}: the API server refused the credentials (401 Unauthorized)") from None
            if status == 403:
                raise ClusterRefused(f"{what}: forbidden: {message}") from None
            if status == 404:
                raise NotFound(f"{what}: {message}") from None
            if status == 410:
                raise WatchExpired(message) from None
            if status in (400, 409, 422):
                raise ApiRejected(status, message) from None
            raise ClusterRefused(f"{what}: {status} {message}") from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise ClusterUnreachable(f"{what}: cannot reach the API server at {self.server}: {error}") from None

    @contextmanager
    def _missing_crd(self) -> Iterator[None]:
        """A list answered 404 means the resource type is unknown (a missing namespace lists as empty)."""
        try:
            yield
        except NotFound:
            raise ClusterRefused(
                f"the cluster at {self.server} has no CampaignMigration CRD ({PLURAL}.{GROUP}): install it "
                "from crds/ or with the Helm chart"
            ) from None

    def _custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self._load())

    def _core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self._load())

    # --- calls -------------------------------------------------------------------------------------

    def probe(self, timeout: float = 3.0) -> str:
        """The server's version if it answers within `timeout`; raises ClusterUnreachable/ClusterRefused."""
        api = self._load()
        with self._calling("reading the server version"):
            info = client.VersionApi(api).get_code(_request_timeout=(timeout, timeout))
        return str(info.git_version)

    def list_migrations(self, namespace: str | None, selector: str | None = None) -> tuple[list[dict[str, Any]], str]:
        """CampaignMigrations in one namespace (None: all) and the list's resourceVersion (to watch from)."""
        custom = self._custom()
        with self._missing_crd(), self._calling("listing CampaignMigrations"):
            if namespace is None:
                result: Any = custom.list_cluster_custom_object(
                    GROUP, VERSION, PLURAL, label_selector=selector or None, _request_timeout=self.timeout,
                    _preload_content=False,
                )
            else:
                result = custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, label_selector=selector or None, _request_timeout=self.timeout,
                    _preload_content=False,
                )
        listed = _json(result)
        items: list[dict[str, Any]] = list(listed.get("items") or [])
        return items, str((listed.get("metadata") or {}).get("resourceVersion") or "")

    def get_migration(self, namespace: str, name: str, plural: str = PLURAL) -> dict[str, Any]:
        """A CampaignMigration (or, with `plural`, a MigrationWave)."""
        short = "cmig" if plural == PLURAL else "mwave"
        with self._calling(f"reading {short}/{name} in namespace {namespace}"):
            found: Any = self._custom().get_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name, _request_timeout=self.timeout, _preload_content=False
            )
        return _json(found)

    def patch_migration(self, namespace: str, name: str, patch: dict[str, Any], plural: str = PLURAL) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386); with `metadata.resourceVersion` in it a stale one is refused (409)."""
        short = "cmig" if plural == PLURAL else "mwave"
        with self._calling(f"updating {short}/{name} in namespace {namespace}"):
            patched: Any = self._custom().patch_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name, patch, field_manager=FIELD_MANAGER,
                _request_timeout=self.timeout, _preload_content=False,
            )
        return _json(patched)

    def find_waves(self, namespace: str | None, name: str) -> list[dict[str, Any]]:
        """The MigrationWaves called `name` in one namespace (None: all); [] when none or no wave CRD."""
        custom = self._custom()
        selector = f"metadata.name={name}"
        try:
            with self._calling("listing MigrationWaves"):
                if namespace is None:
                    result: Any = custom.list_cluster_custom_object(
                        GROUP, VERSION, WAVE_PLURAL, field_selector=selector, _request_timeout=self.timeout,
                        _preload_content=False)
                else:
                    result = custom.list_namespaced_custom_object(
                        GROUP, VERSION, namespace, WAVE_PLURAL, field_selector=selector,
                        _request_timeout=self.timeout, _preload_content=False)
        except NotFound:
            return []  # an operator version without waves: the members are shown alone
        return list(_json(result).get("items") or [])

    def apply(self, manifest: dict[str, Any], namespace: str, *, dry_run: bool) -> dict[str, Any]:
        """Server-side apply of a CampaignMigration or a Secret (forced: the inventory is the source of truth)."""
        name = manifest["metadata"]["name"]
        kind = manifest["kind"]
        dry = "All" if dry_run else None
        with self._calling(f"applying {kind} {name} in namespace {namespace}"):
            if kind == "Secret":
                response: Any = self._core().patch_namespaced_secret(
                    name, namespace, manifest, dry_run=dry, field_manager=FIELD_MANAGER, force=True,
                    _content_type=APPLY_PATCH, _request_timeout=self.timeout, _preload_content=False,
                )
                return _json(response)
            applied: Any = self._custom().patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, manifest, dry_run=dry, field_manager=FIELD_MANAGER,
                force=True, _content_type=APPLY_PATCH, _request_timeout=self.timeout, _preload_content=False,
            )
        return _json(applied)

    def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Secret as stored, or None if it does not exist. The caller must never print its data."""
        try:
            with self._calling(f"reading Secret {name} in namespace {namespace}"):
                response: Any = self._core().read_namespaced_secret(
                    name, namespace, _request_timeout=self.timeout, _preload_content=False
                )
        except NotFound:
            return None
        return _json(response)

    def watch_migrations(
        self, namespace: str | None, selector: str | None, resource_version: str, timeout_seconds: int = 300
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event type, object) from `resource_version` on; ends after `timeout_seconds`; raises WatchExpired on 410."""
        custom = self._custom()
        stream = _watch.Watch()
        kwargs: dict[str, Any] = {
            "label_selector": selector or None, "resource_version": resource_version,
            "timeout_seconds": timeout_seconds, "allow_watch_bookmarks": True,
        }
        with self._calling("watching CampaignMigrations"):
            if namespace is None:
                events = stream.stream(custom.list_cluster_custom_object, GROUP, VERSION, PLURAL, **kwargs)
            else:
                listing = custom.list_namespaced_custom_object
                events = stream.stream(listing, GROUP, VERSION, namespace, PLURAL, **kwargs)
            for event in events:
                kind, obj = str(event.get("type")), event.get("object")
                if kind == "ERROR":
                    code = obj.get("code") if isinstance(obj, dict) else None
                    if code == 410:
                        raise WatchExpired(str(obj.get("message")))
                    raise ClusterRefused(f"watching CampaignMigrations: {obj}")
                if isinstance(obj, dict):
                    yield kind, obj
