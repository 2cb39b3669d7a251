"""Reading an Infobip REGISTRATION webhook body into plain, immutable events.

This room turns the raw bytes Infobip POSTs (`{"results": [message, …]}`, numbers OpenAPI
`webhooks`: `CAMPAIGN_STATUS_UPDATE` and `CAMPAIGN_NETWORK_STATUS_UPDATE`) into `WebhookEvent`
values. It is tolerant where Infobip may grow (any status string is accepted, unknown fields are
ignored, messages of other event kinds — and network updates for a network outside the spec's
`CampaignRegistrar`/`Network` enums — are skipped and reported, so the per-network status a
resource keeps has a fixed maximum size) and strict where the operator needs facts (campaign id,
status and `receivedAt` must be there). Every malformed body
raises `WebhookPayloadError` — never anything else — with a message naming the JSON path, never
quoting the body's values. No I/O, no logging, no Kopf, no decisions about resources.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from tendlc.api.constants import KNOWN_NETWORKS

STATUS_UPDATE: Final = "CAMPAIGN_STATUS_UPDATE"
NETWORK_STATUS_UPDATE: Final = "CAMPAIGN_NETWORK_STATUS_UPDATE"
EVENT_KINDS: Final = frozenset({STATUS_UPDATE, NETWORK_STATUS_UPDATE})

EventKind = Literal["CAMPAIGN_STATUS_UPDATE", "CAMPAIGN_NETWORK_STATUS_UPDATE"]

#: More messages than this in one delivery is not something Infobip sends: refuse it before reading
#: them (the receiver's own cap on campaign events, `ReceiverLimits.max_events_per_delivery`, is lower).
MAX_EVENTS_PER_DELIVERY: Final = 1000
#: Identifiers and statuses longer than this are refused (they end up in status and logs).
MAX_IDENTIFIER_LENGTH: Final = 128
#: The rendered rejection message is cut to this length (it is written to the resource's status).
MAX_REJECTION_MESSAGE_LENGTH: Final = 2000


class WebhookPayloadError(ValueError):
    """The body is not a webhook this operator can read; the message says where and why."""


@dataclass(frozen=True)
class WebhookEvent:
    """One campaign event from Infobip.

    `status` is `content.campaignStatus` for status updates and `content.campaignNetworkStatus`
    for network updates (then `network` holds `content.campaignNetwork`). `received_at` is an
    aware UTC datetime. `event_id` is a stable digest of kind, campaign, network, status and
    `receivedAt`: two deliveries of the same event share it, so it is the deduplication key.
    """

    kind: EventKind
    infobip_campaign_id: str
    status: str
    received_at: datetime
    event_id: str
    tcr_id: str | None = None
    network: str | None = None
    rejection_message: str | None = None
    rejection_date: datetime | None = None

    @property
    def is_network_update(self) -> bool:
        return self.kind == NETWORK_STATUS_UPDATE


@dataclass(frozen=True)
class WebhookDelivery:
    """Everything one body carried: the events this operator reads, and the kinds it skipped."""

    events: tuple[WebhookEvent, ...]
    skipped_kinds: tuple[str, ...] = ()


def parse_webhook(body: bytes) -> tuple[WebhookEvent, ...]:
    """The campaign events in a webhook body; raises `WebhookPayloadError` if it is malformed."""
    return parse_delivery(body).events


def parse_delivery(body: bytes) -> WebhookDelivery:
    """Parse a webhook body; messages of event kinds other than the two campaign kinds are skipped.

    Raises `WebhookPayloadError` (and nothing else) for a body that is not UTF-8 JSON of the shape
    `{"results": [message, …]}` or whose campaign messages lack a usable campaign id, status or
    `receivedAt`.
    """
    document = _decode(body)
    if not isinstance(document, dict):
        raise WebhookPayloadError(f"body must be a JSON object with `results`, not {_kind(document)}")
    results = document.get("results")
    if not isinstance(results, list):
        raise WebhookPayloadError(f"`results` must be an array, not {_kind(results)}")
    if len(results) > MAX_EVENTS_PER_DELIVERY:
        raise WebhookPayloadError(f"`results` holds more than {MAX_EVENTS_PER_DELIVERY} messages")
    events: list[WebhookEvent] = []
    skipped: list[str] = []
    for index, message in enumerate(results):
        where = f"results[{index}]"
        if not isinstance(message, dict):
            raise WebhookPayloadError(f"{where} must be an object, not {_kind(message)}")
        kind = message.get("event")
        if not isinstance(kind, str) or not kind:
            raise WebhookPayloadError(f"{where}.event must be a non-empty string")
        if kind not in EVENT_KINDS:
            skipped.append(_identifier(kind, f"{where}.event"))
            continue
        event = _event(kind, message, where)  # type: ignore[arg-type]  # kind ∈ EVENT_KINDS
        if event.network is not None and event.network not in KNOWN_NETWORKS:
            skipped.append(f"{kind} for unknown network {event.network}")
            continue
        events.append(event)
    return WebhookDelivery(events=tuple(events), skipped_kinds=tuple(skipped))


def _decode(body: bytes) -> Any:
    if not isinstance(body, bytes | bytearray | memoryview):
        raise WebhookPayloadError("body must be bytes")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookPayloadError("body is not UTF-8") from None
    if not text.strip():
        raise WebhookPayloadError("body is empty")
    try:
        return json.loads(text)
    except RecursionError:
        raise WebhookPayloadError("body is nested too deeply") from None
    except ValueError as error:
        position = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise WebhookPayloadError(f"body is not valid JSON{position}") from None


def _event(kind: EventKind, message: Mapping[str, Any], where: str) -> WebhookEvent:
    content = message.get("content")
    if not isinstance(content, dict):
        raise WebhookPayloadError(f"{where}.content must be an object, not {_kind(content)}")
    received_at = _timestamp(message.get("receivedAt"), f"{where}.receivedAt", required=True)
    assert received_at is not None
    campaign_id = _identifier(content.get("campaignId"), f"{where}.content.campaignId")
    tcr_id = _optional_identifier(content.get("tcrId"), f"{where}.content.tcrId")
    network: str | None = None
    rejection_message: str | None = None
    rejection_date: datetime | None = None
    if kind == NETWORK_STATUS_UPDATE:
        network = _identifier(content.get("campaignNetwork"), f"{where}.content.campaignNetwork")
        status = _identifier(content.get("campaignNetworkStatus"), f"{where}.content.campaignNetworkStatus")
    else:
        status = _identifier(content.get("campaignStatus"), f"{where}.content.campaignStatus")
        rejection_message = render_rejection(content.get("rejectionReasons"), content.get("rejectionDetails"))
        rejection_date = _timestamp(content.get("rejectionDate"), f"{where}.content.rejectionDate", required=False)
    return WebhookEvent(
        kind=kind,
        infobip_campaign_id=campaign_id,
        tcr_id=tcr_id,
        status=status,
        network=network,
        received_at=received_at,
        rejection_message=rejection_message,
        rejection_date=rejection_date,
        event_id=event_id(kind, campaign_id, status, received_at, network),
    )


def event_id(
    kind: str, infobip_campaign_id: str, status: str, received_at: datetime, network: str | None = None
) -> str:
    """The deduplication key of an event: the same facts always give the same 32 hex characters."""
    moment = received_at.astimezone(UTC).isoformat() if received_at.tzinfo else received_at.isoformat()
    canonical = "\x1f".join((kind, infobip_campaign_id, network or "", status, moment))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def render_rejection(reasons: object, details: object) -> str | None:
    """Infobip's rejection reasons and details as one human sentence, for a condition message.

    `reasons` is a string (the spec) or a list of strings (as in `campaignFeedback`); `details` is
    a list of `{errorCode, description, recommendedAction}`. Anything else is ignored.
    """
    parts: list[str] = []
    if isinstance(reasons, str):
        reasons = [reasons]
    if isinstance(reasons, list):
        parts.extend(reason.strip() for reason in reasons if isinstance(reason, str) and reason.strip())
    if isinstance(details, list):
        for detail in details:
            if not isinstance(detail, dict):
                continue
            code, description, action = (
                _text(detail.get(key)) for key in ("errorCode", "description", "recommendedAction")
            )
            text = ": ".join(part for part in (code, description) if part)
            if action:
                text = f"{text} (recommended action: {action})" if text else f"recommended action: {action}"
            if text and text not in parts:
                parts.append(text)
    if not parts:
        return None
    message = "; ".join(parts)
    if len(message) > MAX_REJECTION_MESSAGE_LENGTH:
        message = message[: MAX_REJECTION_MESSAGE_LENGTH - 1] + "…"
    return message


def _text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _identifier(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WebhookPayloadError(f"{where} must be a non-empty string")
    value = value.strip()
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise WebhookPayloadError(f"{where} is longer than {MAX_IDENTIFIER_LENGTH} characters")
    if not value.isprintable():
        raise WebhookPayloadError(f"{where} holds control characters")
    return value


def _optional_identifier(value: object, where: str) -> str | None:
    if value is None or value == "":
        return None
    return _identifier(value, where)


def _timestamp(value: object, where: str, *, required: bool) -> datetime | None:
    if value is None or value == "":
        if required:
            raise WebhookPayloadError(f"{where} is missing")
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise WebhookPayloadError(f"{where} must be an ISO 8601 date-time string")
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise WebhookPayloadError(f"{where} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise WebhookPayloadError(f"{where} is out of range") from None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)
