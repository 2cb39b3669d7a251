"""`report`: one audit record per campaign, as CSV or JSON.

A record holds what an auditor asks after a migration: each step's time from the status, the
Infobip UUID, downtime start and end, the LOA's signing date and the SHA-256 of the LOA document
as stored in its Secret — a fingerprint that proves which document was used without showing it.
The document's bytes are hashed and dropped here; no field ever carries Secret content. Pure: the
command reads the objects and Secrets and passes them in.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tendlc.api import CampaignMigrationSpec, ConditionType, MigrationStatus, format_time
from tendlc_cli.manifests import LOA_USAGE, USAGE_LABEL, WAVE_LABEL

FIELDS = (
    "namespace", "name", "campaignId", "wave", "nnid", "numberCount", "phase", "readyReason",
    "infobipCampaignId", "infobipStage", "createdAt", "numbersImportedAt", "cnpElectedAt", "migrationSubmittedAt",
    "registeredAt", "failedAt", "downtimeStartedAt", "downtimeEndedAt", "downtimeSeconds",
    "loaSecret", "loaSignedDate", "loaSha256", "loaNote",
)


@dataclass(frozen=True)
class LoaFingerprint:
    signed_date: str | None = None
    sha256: str | None = None
    note: str = ""


def _decoded(data: Mapping[str, str], key: str) -> bytes | None:
    if key not in data:
        return None
    try:
        return base64.b64decode(data[key], validate=True)
    except (binascii.Error, ValueError):
        return None


def fingerprint(secret: Mapping[str, Any] | None, document_key: str, signed_date_key: str) -> LoaFingerprint:
    """Signing date and document digest of an LOA Secret (None: it does not exist)."""
    if secret is None:
        return LoaFingerprint(note="Secret not found")
    data = secret.get("data") or {}
    document = _decoded(data, document_key)
    signed = _decoded(data, signed_date_key)
    notes = []
    if document is None:
        notes.append(f"no document under key {document_key}")
    if signed is None:
        notes.append(f"no signing date under key {signed_date_key}")
    if ((secret.get("metadata") or {}).get("labels") or {}).get(USAGE_LABEL) != LOA_USAGE:
        notes.append(f"Secret not labelled {USAGE_LABEL}={LOA_USAGE}")
    return LoaFingerprint(
        signed_date=signed.decode("utf-8", "replace").strip() if signed is not None else None,
        sha256=hashlib.sha256(document).hexdigest() if document is not None else None,
        note="; ".join(notes),
    )


def loa_keys(obj: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(Secret name, document key, signing-date key) of a CampaignMigration, if its spec parses."""
    try:
        ref = CampaignMigrationSpec.model_validate(obj.get("spec") or {}).loa_secret_ref
    except ValidationError:
        return None
    return ref.name, ref.document_key, ref.signed_date_key


def record(obj: Mapping[str, Any], loa: LoaFingerprint) -> dict[str, Any]:
    metadata, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    try:
        status = MigrationStatus.from_dict(obj.get("status"))
    except ValidationError:
        status = MigrationStatus()
    ready = status.condition(ConditionType.READY)

    def at(value: Any) -> str | None:
        return format_time(value) if value is not None else None

    downtime = None
    if status.downtime_started_at is not None and status.downtime_ended_at is not None:
        downtime = int((status.downtime_ended_at - status.downtime_started_at).total_seconds())
    keys = loa_keys(obj)
    return {
        "namespace": metadata.get("namespace"),
        "name": metadata.get("name"),
        "campaignId": spec.get("campaignId"),
        "wave": (metadata.get("labels") or {}).get(WAVE_LABEL),
        "nnid": spec.get("nnid", "Infobip"),
        "numberCount": len(spec.get("numbers") or []),
        "phase": (obj.get("status") or {}).get("phase"),
        "readyReason": ready.reason if ready is not None else None,
        "infobipCampaignId": status.infobip_campaign_id,
        "infobipStage": status.infobip_stage,
        "createdAt": metadata.get("creationTimestamp"),
        "numbersImportedAt": at(status.numbers_imported_at),
        "cnpElectedAt": at(status.cnp_elected_at),
        "migrationSubmittedAt": at(status.migration_submitted_at),
        "registeredAt": at(status.registered_at),
        "failedAt": at(status.failed_at),
        "downtimeStartedAt": at(status.downtime_started_at),
        "downtimeEndedAt": at(status.downtime_ended_at),
        "downtimeSeconds": downtime,
        "loaSecret": keys[0] if keys else None,
        "loaSignedDate": loa.signed_date,
        "loaSha256": loa.sha256,
        "loaNote": loa.note,
    }


def render_csv(records: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for item in records:
        writer.writerow({key: "" if item.get(key) is None else item[key] for key in FIELDS})
    return out.getvalue()


def render_json(records: Iterable[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    return json.dumps({**meta, "campaigns": list(records)}, indent=2) + "\n"
