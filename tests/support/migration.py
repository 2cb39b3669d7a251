"""Building blocks of end-to-end migration tests: Secrets, manifests and waiting on conditions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import yaml

from support.cluster import Cluster
from support.operator import INFOBIP_SECRET, TCR_SECRET
from support.sandbox import INFOBIP_API_KEY, TCR_API_KEY, TCR_API_SECRET


def create_partner_secrets(
    cluster: Cluster, namespace: str, *, infobip_key: str = INFOBIP_API_KEY, tcr_key: str = TCR_API_KEY,
    tcr_secret: str = TCR_API_SECRET,
) -> None:
    cluster.kubectl("create", "secret", "generic", INFOBIP_SECRET, "-n", namespace,
                    f"--from-literal=apiKey={infobip_key}")
    cluster.kubectl("create", "secret", "generic", TCR_SECRET, "-n", namespace,
                    f"--from-literal=apiKey={tcr_key}", f"--from-literal=apiSecret={tcr_secret}")


USAGE_LABEL = "tendlc.io/usage"


def loa_secret(name: str, signed: dt.date | None = None, *, labeled: bool = True) -> dict[str, Any]:
    """An LOA Secret signed `signed` (today), opted in with `tendlc.io/usage=loa` unless `labeled` is False."""
    signed = signed or dt.date.today()
    return {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, **({"labels": {USAGE_LABEL: "loa"}} if labeled else {})},
        "stringData": {"loa.pdf": "%PDF-1.7 signed letter of authorization", "signedDate": signed.isoformat()},
    }


def migration(name: str, campaign_id: str, numbers: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration", "metadata": {"name": name},
        "spec": {"campaignId": campaign_id, "numbers": numbers, "loaSecretRef": {"name": f"{name}-loa"}, **spec},
    }


def apply(cluster: Cluster, namespace: str, *objects: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(objects))


def status_of(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    status: dict[str, Any] = cluster.get_json("-n", namespace, f"cmig/{name}").get("status") or {}
    return status


def condition(status: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions", []) if c["type"] == type_), None)


def wait_for_phase(cluster: Cluster, namespace: str, name: str, phase: str, timeout: float = 60) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        status = status_of(cluster, namespace, name)
        return status if status.get("phase") == phase else None

    try:
        result: dict[str, Any] = cluster.wait_for(reached, timeout=timeout, what=f"{name} to reach phase {phase}")
    except AssertionError as error:
        raise AssertionError(f"{error}\nstatus: {json.dumps(status_of(cluster, namespace, name), indent=1)}") from None
    return result


def events_of(cluster: Cluster, namespace: str, name: str) -> list[dict[str, Any]]:
    events = cluster.get_json("events", "-n", namespace, f"--field-selector=involvedObject.name={name}")
    items: list[dict[str, Any]] = events["items"]
    return items
