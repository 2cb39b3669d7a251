"""Pydantic models of what the operator reads from (and sends to) Infobip and TCR.

This room describes partner payloads, and only the parts the operator uses. Models are tolerant:
unknown fields are ignored, enumerations the partners may extend (campaign `stage`, `type`, TCR
`status`, `sharingStatus`, import status) are plain strings, `null` lists read as empty, and a
timestamp we cannot parse reads as `None` rather than failing the whole answer. Nothing here does
I/O or imports Kopf; secrets sent to partners (webhook credentials) are `SecretStr` so that no
`repr`, `str` or log line shows them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

_DATETIME = TypeAdapter(datetime)


def _lenient_datetime(value: object) -> datetime | None:
    """A partner timestamp as an aware UTC datetime; None when absent or unreadable."""
    if value is None or value == "":
        return None
    try:
        parsed = _DATETIME.validate_python(value)
    except ValidationError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _none_as_empty(value: object) -> object:
    return () if value is None else value


def _optional_text(value: object) -> object:
    """Numbers and strings are text; anything else (objects, lists) reads as absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) else None


def _optional_flag(value: object) -> object:
    """Booleans (and "true"/"false") are flags; anything else reads as absent."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


Timestamp = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]
Text = Annotated[str | None, BeforeValidator(_optional_text)]
Flag = Annotated[bool | None, BeforeValidator(_optional_flag)]
TextList = Annotated[tuple[str, ...], BeforeValidator(_none_as_empty)]


class PartnerModel(BaseModel):
    """Base: camelCase on the wire, snake_case in Python, extra fields ignored, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


# --------------------------------------------------------------------------------------- Infobip


class RejectionDetail(PartnerModel):
    """One entry of `campaignFeedback.rejectionDetails`."""

    error_code: Text = None
    description: Text = None
    recommended_action: Text = None


class CampaignFeedback(PartnerModel):
    """`campaignFeedback`: why a campaign was rejected, and when."""

    rejection_reasons: TextList = ()
    rejection_details: Annotated[tuple[RejectionDetail, ...], BeforeValidator(_none_as_empty)] = ()
    rejection_date: Timestamp = None


class NumberPreview(PartnerModel):
    number_key: Text = None
    number: Text = None
    country_code: Text = None


class InfobipCampaign(PartnerModel):
    """A number-registration campaign (`GET /number-registration/1/campaigns/{id}`, migrate answer).

    `stage` and `type` are plain strings: Infobip adds values between API versions.
    """

    id: str
    name: Text = None
    stage: Text = None
    type: Text = None
    external_campaign_id: Text = None
    created_date: Timestamp = None
    last_modified_date: Timestamp = None
    application_id: Text = None
    reference_id: Text = None
    campaign_feedback: CampaignFeedback | None = None
    number_previews: Annotated[tuple[NumberPreview, ...], BeforeValidator(_none_as_empty)] = ()

    @property
    def rejection_reasons(self) -> tuple[str, ...]:
        return self.campaign_feedback.rejection_reasons if self.campaign_feedback else ()

    @property
    def rejection_details(self) -> tuple[RejectionDetail, ...]:
        return self.campaign_feedback.rejection_details if self.campaign_feedback else ()

    @property
    def numbers(self) -> tuple[str, ...]:
        """The campaign's numbers as Infobip previews them (may be empty)."""
        return tuple(preview.number for preview in self.number_previews if preview.number)


class PageInfo(PartnerModel):
    page: int = 0
    size: int = 0
    total_pages: int = 0
    total_results: int = 0


class CampaignPage(PartnerModel):
    """One page of `GET /number-registration/1/campaigns`."""

    results: Annotated[tuple[InfobipCampaign, ...], BeforeValidator(_none_as_empty)] = ()
    paging: PageInfo | None = None


class CampaignNumbers(PartnerModel):
    """`GET /number-registration/1/campaigns/{id}/numbers`."""

    number_previews: Annotated[tuple[NumberPreview, ...], BeforeValidator(_none_as_empty)] = ()

    @property
    def numbers(self) -> tuple[str, ...]:
        return tuple(preview.number for preview in self.number_previews if preview.number)


def _count_or_none(value: object) -> object:
    """A count as a number or a numeric string; anything else (negative, text, bool) reads as absent."""
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    return int(text) if text.isdigit() else None


class OwnedNumber(PartnerModel):
    """One entry of the published `NumbersResponse.numbers` (`GET /numbers/1/numbers`): only what we read."""

    number: Text = None
    number_key: Text = None
    country: Text = None
    type: Text = None


class OwnedNumbersPage(PartnerModel):
    """One page of `GET /numbers/1/numbers` (published `NumbersResponse`): `numberCount` is the total."""

    numbers: Annotated[tuple[OwnedNumber, ...], BeforeValidator(_none_as_empty)] = ()
    number_count: Annotated[int | None, BeforeValidator(_count_or_none)] = None


# ---------------------------------------------------------------------------------- Subscriptions


class BasicWebhookCredentials(PartnerModel):
    username: str
    password: SecretStr


class HmacWebhookCredentials(PartnerModel):
    secret_key: SecretStr
    algorithm: str = "HMAC_SHA_256"


class WebhookSecurity(PartnerModel):
    """`profile.security` of a subscription request: BASIC or HMAC with inline credentials."""

    auth_id: str
    type: Literal["BASIC", "HMAC"]
    credentials: BasicWebhookCredentials | HmacWebhookCredentials

    @classmethod
    def basic(cls, auth_id: str, username: str, password: str | SecretStr) -> WebhookSecurity:
        secret = password if isinstance(password, SecretStr) else SecretStr(password)
        return cls(
            auth_id=auth_id,
            type="BASIC",
            credentials=BasicWebhookCredentials(username=username, password=secret),
        )

    @classmethod
    def hmac(cls, auth_id: str, secret_key: str | SecretStr, algorithm: str = "HMAC_SHA_256") -> WebhookSecurity:
        secret = secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key)
        return cls(
            auth_id=auth_id,
            type="HMAC",
            credentials=HmacWebhookCredentials(secret_key=secret, algorithm=algorithm),
        )

    def secret_values(self) -> tuple[str, ...]:
        credentials = self.credentials
        if isinstance(credentials, BasicWebhookCredentials):
            return (credentials.password.get_secret_value(),)
        return (credentials.secret_key.get_secret_value(),)

    def to_body(self) -> dict[str, Any]:
        credentials = self.credentials
        body: dict[str, Any]
        if isinstance(credentials, BasicWebhookCredentials):
            body = {"username": credentials.username, "password": credentials.password.get_secret_value()}
        else:
            body = {
                "secretKey": credentials.secret_key.get_secret_value(),
                "algorithm": credentials.algorithm,
            }
        return {"authId": self.auth_id, "type": self.type, "credentials": body}


class WebhookProfile(PartnerModel):
    """`profile` of a subscription request: an inline notification profile."""

    profile_id: str
    notify_url: str
    security: WebhookSecurity | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"profileId": self.profile_id, "webhook": {"notifyUrl": self.notify_url}}
        if self.security is not None:
            body["security"] = self.security.to_body()
        if self.headers:
            body["headers"] = dict(self.headers)
        return body


class SubscriptionRequest(PartnerModel):
    """Body of `POST /subscriptions/1/subscription/{channel}` (RegistrationSubscriptionRequest)."""

    subscription_id: str
    name: str | None = None
    events: tuple[str, ...] = ("CAMPAIGN_STATUS_UPDATE",)
    profile: WebhookProfile

    def secret_values(self) -> tuple[str, ...]:
        security = self.profile.security
        return security.secret_values() if security is not None else ()

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "subscriptionId": self.subscription_id,
            "events": list(self.events),
            "profile": self.profile.to_body(),
        }
        if self.name is not None:
            body["name"] = self.name
        return body


def _event_name(value: object) -> object:
    """Events come as names or as ``{"event": name, "format": …}``; keep the name."""
    if isinstance(value, dict):
        return value.get("event")
    return value


def _event_names(value: object) -> object:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        names = [_event_name(item) for item in value]
        return tuple(name for name in names if isinstance(name, str))
    return value


class SubscriptionSecurityRef(PartnerModel):
    auth_id: Text = None


class SubscriptionProfileRef(PartnerModel):
    profile_id: Text = None
    security: SubscriptionSecurityRef | None = None


class Subscription(PartnerModel):
    """A subscription as Infobip returns it (list/get/create/delete; create returns ids only)."""

    subscription_id: str
    name: Text = None
    profile: SubscriptionProfileRef | None = None
    events: Annotated[tuple[str, ...], BeforeValidator(_event_names)] = ()


class SubscriptionPage(PartnerModel):
    results: Annotated[tuple[Subscription, ...], BeforeValidator(_none_as_empty)] = ()
    paging: PageInfo | None = None


# ------------------------------------------------------------------------------------------- TCR


class CnpElection(PartnerModel):
    """Answer of `POST /campaign/{campaignId}/migrateCnp/{upstreamCnpId}` (decisions.md D6)."""

    campaign_id: Text = None
    upstream_cnp_id: Text = None
    sharing_status: Text = None
    cnp_migration: Flag = None


class SharingRecord(PartnerModel):
    """One side of a campaign's sharing (D7). `sharing_status`: PENDING, ACCEPTED, DECLINED, …"""

    upstream_cnp_id: Text = None
    downstream_cnp_id: Text = None
    sharing_status: Text = None
    explanation: Text = None
    status_date: Timestamp = None
    cnp_migration: Flag = None


class CampaignSharing(PartnerModel):
    """`GET /campaign/{campaignId}/sharing` (D7); `shared_by_me` is None before any election."""

    shared_by_me: SharingRecord | None = None
    shared_with_me: SharingRecord | None = None


class TcrCampaign(PartnerModel):
    """`GET /campaign/{campaignId}`; `status` is ACTIVE or EXPIRED (kept as a string)."""

    campaign_id: str
    status: Text = None
    brand_id: Text = None
    usecase: Text = None
    create_date: Timestamp = None
    auto_renewal: Flag = None
