"""From an inventory row to the objects a user applies: a CampaignMigration and its LOA Secret.

The two are built apart and written apart on purpose: the manifests are what a GitOps user
commits, the Secret holds a signed document that must never land in Git. Names are derived from
the campaign ID (`COJD655` → `cmig/cojd655`, Secret `cojd655-loa`), so running `plan` again on the
same inventory gives the same objects. Pure: values in, dicts out.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from tendlc.api import ANNOTATION_SUSPEND, GROUP, KIND, SECRET_KEY_PATTERN, VERSION, Nnid
from tendlc_cli.inventory import InventoryRow

WAVE_LABEL = "tendlc.io/wave"
"""Groups migrations into a wave (the wave kind will select on it)."""
USAGE_LABEL = "tendlc.io/usage"
"""The Secret opt-in: the operator reads only Secrets that say what they are for."""
LOA_USAGE = "loa"
DEFAULT_DOCUMENT_KEY = "loa.pdf"
SIGNED_DATE_KEY = "signedDate"
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def valid_label_value(value: str) -> bool:
    """A Kubernetes label value: at most 63 characters, alphanumerics with `-_.` inside."""
    return len(value) <= 63 and bool(_LABEL_VALUE.match(value))


def resource_name(campaign_id: str) -> str:
    return campaign_id.lower()


def loa_secret_name(campaign_id: str) -> str:
    return f"{resource_name(campaign_id)}-loa"


def document_key(row: InventoryRow) -> str:
    """`loa` plus the file's extension (`loa.pdf`, `loa.png`), so the key says what the bytes are."""
    key = "loa" + row.loa_file.suffix.lower()
    return key if row.loa_file.suffix and re.match(SECRET_KEY_PATTERN, key) else DEFAULT_DOCUMENT_KEY


def _metadata(name: str, namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = labels
    return metadata


def migration_manifest(
    row: InventoryRow, *, namespace: str | None = None, wave: str | None = None, suspend: bool = False,
    preflight: bool = False,
) -> dict[str, Any]:
    """The CampaignMigration for a row; `suspend` adds `tendlc.io/suspend: "true"` (lifted by `resume`),
    `preflight` sets `spec.mode: Preflight` (read-only checks until it is set to Migrate)."""
    metadata = _metadata(resource_name(row.campaign_id), namespace, {WAVE_LABEL: wave} if wave else {})
    if suspend:
        metadata["annotations"] = {ANNOTATION_SUSPEND: "true"}
    loa_ref: dict[str, str] = {"name": loa_secret_name(row.campaign_id)}
    if document_key(row) != DEFAULT_DOCUMENT_KEY:
        loa_ref["documentKey"] = document_key(row)
    spec: dict[str, Any] = {"campaignId": row.campaign_id, "numbers": list(row.numbers), "loaSecretRef": loa_ref}
    if row.campaign_name:
        spec["campaignName"] = row.campaign_name
    if row.number_pool_id:
        spec["numberPoolId"] = row.number_pool_id
    if row.nnid is not Nnid.INFOBIP:
        spec["nnid"] = row.nnid.value
    if preflight:
        spec["mode"] = "Preflight"
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": metadata, "spec": spec}


def loa_secret_manifest(
    row: InventoryRow, document: bytes, *, namespace: str | None = None, wave: str | None = None
) -> dict[str, Any]:
    """The LOA Secret for a row, labelled `tendlc.io/usage: loa`; `document` is the signed LOA's bytes."""
    labels = {USAGE_LABEL: LOA_USAGE} | ({WAVE_LABEL: wave} if wave else {})
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(loa_secret_name(row.campaign_id), namespace, labels),
        "type": "Opaque",
        "data": {
            document_key(row): base64.b64encode(document).decode("ascii"),
            SIGNED_DATE_KEY: base64.b64encode(row.loa_signed_date.isoformat().encode()).decode("ascii"),
        },
    }
