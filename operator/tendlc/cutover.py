"""The cut-over: switches a REGISTERED campaign's traffic to Infobip (docs/decisions.md D58).

A CampaignMigration (or its MigrationWave, for every member naming none) may say what switches
its traffic: one key of a ConfigMap in its own namespace (a routing table the messaging service
reads), and/or an HTTPS endpoint of the platform team's. The downtime that started when Infobip
updated the OSR records ends when this succeeds, so it runs in the pass that sees REGISTERED.

Both targets are written by a tenant, so both pass the same gates as a partner endpoint:
- the ConfigMap must carry the opt-in label `tendlc.io/usage: cutover` (set by someone allowed to
  write it, so a tenant who may only write CampaignMigrations cannot make the operator write a
  ConfigMap they could not write themselves); the write is a JSON patch whose first operation
  tests the label, so check and write are atomic and the members of a wave writing their keys
  into one routing table never conflict (an empty ConfigMap gets its first key by a merge patch
  fenced by the version whose label was read);
- the webhook URL must match `TENDLC_ALLOWED_CUTOVER_HOSTS` (empty by default), https only,
  redirects are not followed, and its HMAC key's Secret must carry `tendlc.io/usage: cutover`.

The webhook body is JSON; `X-Tendlc-Signature: sha256=<hex>` is HMAC-SHA256 over
`<X-Tendlc-Timestamp>.<body>`, and `Idempotency-Key` is the same for every attempt for one
campaign (also after a restart or a re-created resource), so the endpoint recognises a resend:
after an interrupted call the operator cannot know whether the endpoint acted, and sends again.

`readiness()` runs the same checks before the migration is submitted, so a cut-over that could
not succeed stops the migration *before* the downtime starts. No message here quotes the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import httpx

from tendlc.api.constants import LABEL_USAGE, USAGE_CUTOVER, Reason
from tendlc.api.spec import CutOver, CutOverConfigMap, CutOverWebhook
from tendlc.clients.allowlist import EndpointNotAllowed, PartnerAllowList
from tendlc.kube import KubeApi, KubeApiError, StatusConflict
from tendlc.logs import register_secret
from tendlc.workflow.actions import CutOverFailed, SwitchTraffic, TrafficSwitchedOutcome
from tendlc.workflow.facts import CutOverProblem
from tendlc.workflow.secrets import label_command

SIGNATURE_HEADER: Final = "X-Tendlc-Signature"
TIMESTAMP_HEADER: Final = "X-Tendlc-Timestamp"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
EVENT_TYPE: Final = "tendlc.io/traffic-switch"
CONFIG_MAP_ATTEMPTS: Final = 3
"""Conditional writes lost to another writer of the ConfigMap before this attempt gives up (it is retried)."""
TENANT_FIX: Final = "Use an allowed endpoint, or ask the platform team to add this one to the allow-list."


@dataclass(frozen=True)
class ResourceRef:
    """The CampaignMigration a cut-over is for (its namespace holds the ConfigMap and the Secret)."""

    namespace: str
    name: str
    uid: str


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Tendlc-Signature` value: HMAC-SHA256 over `<timestamp>.<body>`, as `sha256=<hex>`."""
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def body_of(action: SwitchTraffic, target: ResourceRef, registered_at: datetime | None) -> bytes:
    """The webhook's JSON body (compact, keys sorted: what is signed is exactly what is sent)."""
    document: dict[str, Any] = {
        "type": EVENT_TYPE,
        "idempotencyKey": action.idempotency_key,
        "campaignId": action.campaign_id,
        "infobipCampaignId": action.infobip_campaign_id,
        "numbers": list(action.numbers),
        "registeredAt": registered_at.isoformat().replace("+00:00", "Z") if registered_at else None,
        "resource": {"namespace": target.namespace, "name": target.name, "uid": target.uid},
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class CutOverRunner:
    """Checks and performs cut-overs against the API server and the platform team's endpoints."""

    def __init__(
        self, kube: KubeApi, allow_list: PartnerAllowList, *, timeout: float, ca_file: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._kube = kube
        self._allow_list = allow_list
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False, verify=verify,
            transport=transport, headers={"User-Agent": "tendlc-cutover"},
        )

    async def readiness(self, cutover: CutOver, namespace: str) -> CutOverProblem | None:
        """What would stop this cut-over now (checked before the migration is submitted), or None."""
        try:
            if cutover.config_map is not None:
                await self._opted_in(cutover.config_map, namespace)
            if cutover.webhook is not None:
                await self._signing_key(cutover.webhook, namespace)
        except _Refused as refused:
            return refused.problem
        return None

    async def switch(self, action: SwitchTraffic, target: ResourceRef) -> TrafficSwitchedOutcome | CutOverFailed:
        """Performs every configured part; the first that fails ends the attempt (the rest run on the next)."""
        try:
            if action.cutover.config_map is not None:
                await self._set_key(action.cutover.config_map, action.campaign_id, target.namespace)
            if action.cutover.webhook is not None:
                await self._call(action, action.cutover.webhook, target)
        except _Refused as refused:
            return CutOverFailed(refused.problem.message)
        return TrafficSwitchedOutcome()

    async def close(self) -> None:
        await self._http.aclose()

    # --- the ConfigMap ------------------------------------------------------------------------

    async def _opted_in(self, ref: CutOverConfigMap, namespace: str) -> None:
        """The routing table exists and opts in: its labels only, shared for a few seconds (D58)."""
        try:
            labels = await self._kube.config_map_labels(namespace, ref.name)
        except KubeApiError as error:
            raise _Refused(Reason.CUT_OVER_NOT_READY,
                           f"{_where(ref)} could not be read: {_kube_detail(error)}") from None
        self._check_labels(ref, namespace, labels)

    async def _routing_table(self, ref: CutOverConfigMap, namespace: str) -> dict[str, Any]:
        try:
            document = await self._kube.read_config_map(namespace, ref.name)
        except KubeApiError as error:
            raise _Refused(Reason.CUT_OVER_NOT_READY,
                           f"{_where(ref)} could not be read: {_kube_detail(error)}") from None
        self._check_labels(ref, namespace, None if document is None else
                           (document.get("metadata") or {}).get("labels") or {})
        assert document is not None
        return document

    @staticmethod
    def _check_labels(ref: CutOverConfigMap, namespace: str, labels: Mapping[str, str] | None) -> None:
        where = _where(ref)
        if labels is None:
            raise _Refused(Reason.CUT_OVER_NOT_READY, f"{where} does not exist in namespace {namespace!r}; create it.")
        if labels.get(LABEL_USAGE) != USAGE_CUTOVER:
            command = label_command(namespace, ref.name, USAGE_CUTOVER, kind="configmap")
            raise _Refused(
                Reason.CUT_OVER_NOT_ALLOWED,
                f"{where} is not labeled {LABEL_USAGE}={USAGE_CUTOVER}, so the operator does not write it. If it is "
                f"the routing table to switch, opt it in: {command}",
            )

    async def _set_key(self, ref: CutOverConfigMap, campaign_id: str, namespace: str) -> None:
        """Sets the campaign's key with one atomic "label still there? set the key" JSON patch.

        Setting a key to the value it has is no change, so the patch is sent without reading the
        table first (a thousand-key table is read only when a patch is refused). Other keys'
        writers never conflict with it. Refused (422: the label test failed, the table has no
        `data` yet; 404: it is gone), the table is read: a missing label or table is reported, an
        empty table gets a merge patch fenced by the version whose label was read.
        """
        key = ref.key_for(campaign_id)
        for _ in range(CONFIG_MAP_ATTEMPTS):
            try:
                await self._kube.set_config_map_key(namespace, ref.name, key, ref.value,
                                                    label=(LABEL_USAGE, USAGE_CUTOVER))
                return
            except KubeApiError as error:
                if error.status not in (400, 404, 422):
                    raise _Refused(Reason.CUT_OVER_FAILING,
                                   f"setting {key!r} in ConfigMap {ref.name!r} failed: {_kube_detail(error)}") from None
                refused = error
            document = await self._routing_table(ref, namespace)  # reports a missing table or label
            data = document.get("data")
            if (data or {}).get(key) == ref.value:
                return  # already switched (by an earlier attempt whose answer was lost, or by a human)
            if data is not None:  # labeled, with data, and still refused: the server says why
                raise _Refused(Reason.CUT_OVER_FAILING,
                               f"setting {key!r} in ConfigMap {ref.name!r} failed: {_kube_detail(refused)}")
            version = str((document.get("metadata") or {}).get("resourceVersion") or "")
            try:
                await self._kube.set_config_map_key(namespace, ref.name, key, ref.value,
                                                    label=(LABEL_USAGE, USAGE_CUTOVER), resource_version=version)
                return
            except StatusConflict:
                continue  # written meanwhile: try the JSON patch again
            except KubeApiError as error:
                raise _Refused(Reason.CUT_OVER_FAILING,
                               f"setting {key!r} in ConfigMap {ref.name!r} failed: {_kube_detail(error)}") from None
        raise _Refused(Reason.CUT_OVER_FAILING, f"ConfigMap {ref.name!r} changed under every write; trying again later")

    # --- the webhook --------------------------------------------------------------------------

    async def _signing_key(self, ref: CutOverWebhook, namespace: str) -> bytes:
        try:
            self._allow_list.check(ref.url, "spec.cutover.webhook.url", fix=TENANT_FIX)
        except EndpointNotAllowed as refused:
            raise _Refused(Reason.CUT_OVER_NOT_ALLOWED, str(refused)) from None
        name, key = ref.secret_ref.name, ref.secret_key
        where = f"Secret {name!r} (spec.cutover.webhook.secretRef)"
        try:
            secret = await self._kube.read_secret(namespace, name)
        except KubeApiError as error:
            raise _Refused(
                Reason.CUT_OVER_NOT_READY, f"{where} could not be read: {_kube_detail(error, config_map=False)}"
            ) from None
        if secret is None:
            raise _Refused(Reason.CUT_OVER_NOT_READY, f"{where} does not exist in namespace {namespace!r}.")
        if secret.labels.get(LABEL_USAGE) != USAGE_CUTOVER:
            command = label_command(namespace, name, USAGE_CUTOVER)
            raise _Refused(
                Reason.CUT_OVER_NOT_ALLOWED,
                f"{where} is not labeled {LABEL_USAGE}={USAGE_CUTOVER}, so the operator does not use it. If it holds "
                f"the cut-over's signing key, opt it in: {command}",
            )
        value = secret.values.get(key)
        if not value:
            raise _Refused(Reason.CUT_OVER_NOT_READY, f"{where} has no key {key!r} (spec.cutover.webhook.secretKey).")
        register_secret(value.decode("utf-8", "replace"))
        return value

    async def _call(self, action: SwitchTraffic, ref: CutOverWebhook, target: ResourceRef) -> None:
        key = await self._signing_key(ref, target.namespace)
        body = body_of(action, target, action.registered_at)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: action.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(key, timestamp, body),
        }
        where = f"the cut-over endpoint {httpx.URL(ref.url).host}"
        try:
            response = await self._http.post(ref.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise _Refused(Reason.CUT_OVER_FAILING, f"{where} could not be reached ({type(error).__name__})") from None
        if not 200 <= response.status_code < 300:
            raise _Refused(
                Reason.CUT_OVER_FAILING,
                f"{where} answered HTTP {response.status_code} {response.reason_phrase}".rstrip()
                + (" (redirects are not followed)" if 300 <= response.status_code < 400 else ""),
            )


def _where(ref: CutOverConfigMap) -> str:
    return f"ConfigMap {ref.name!r} (spec.cutover.configMap)"


class _Refused(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.problem = CutOverProblem(reason, message)


def _kube_detail(error: KubeApiError, *, config_map: bool = True) -> str:
    if error.status == 403:
        grant = "ConfigMaps by name: value cutover.configMapNames" if config_map else "Secrets: value rbac"
        return f"the operator is not allowed to (the chart grants {grant})"
    return f"HTTP {error.status}" if error.status is not None else "the API server could not be reached"
