"""Webhook bodies as Infobip sends them (numbers OpenAPI `webhooks`), built for tests."""

from __future__ import annotations

import json
from typing import Any

CAMPAIGN_UUID = "44e8c5fc-3c55-4d5e-9a6e-0d7c3b1b2f10"
TCR_ID = "COJD655"
RECEIVED_AT = "2026-11-26T10:00:00.000Z"

# Canary credentials: no log line, answer or repr may ever show them.
WEBHOOK_USERNAME = "infobip-hooks"
WEBHOOK_PASSWORD = "canaryHookPass-5e5e5e"
WEBHOOK_HMAC_KEY = "canaryHmacKey-abcdef1234567890"


def status_message(
    status: str = "REGISTERED",
    *,
    campaign_id: str = CAMPAIGN_UUID,
    tcr_id: str | None = TCR_ID,
    received_at: str = RECEIVED_AT,
    **content: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"campaignId": campaign_id, "campaignStatus": status}
    if tcr_id is not None:
        body["tcrId"] = tcr_id
    body.update(content)
    return {
        "event": "CAMPAIGN_STATUS_UPDATE",
        "receivedAt": received_at,
        "content": body,
        "platform": {"applicationId": "application-id", "entityId": "entity-id"},
    }


def network_message(
    network: str = "VERIZON",
    status: str = "ACTIVE",
    *,
    campaign_id: str = CAMPAIGN_UUID,
    received_at: str = RECEIVED_AT,
) -> dict[str, Any]:
    return {
        "event": "CAMPAIGN_NETWORK_STATUS_UPDATE",
        "receivedAt": received_at,
        "content": {"campaignId": campaign_id, "campaignNetwork": network, "campaignNetworkStatus": status},
        "platform": {"applicationId": "application-id"},
    }


def body(*messages: dict[str, Any]) -> bytes:
    return json.dumps({"results": list(messages)}, separators=(",", ":")).encode()
