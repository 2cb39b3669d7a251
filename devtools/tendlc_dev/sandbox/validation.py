"""Request bodies: parse and check them the way the partners do, with field-level messages.

Every check happens before any change to the state, so a 400 never leaves anything behind.
Messages follow Infobip's `validationErrors` style (`{"numbers[3]": ["must match …"]}`); the
limits are the ones in `docs/decisions.md` (D1, D3) and in the Subscriptions OpenAPI document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tendlc_dev.sandbox.model import TCR_CAMPAIGN_ID, US_NUMBER

Errors = dict[str, list[str]]

IMPORT_MAX_NUMBERS = 100
MIGRATE_MAX_NUMBERS = 200
ADD_NUMBERS_MAX_PER_CALL = 5000
CAMPAIGN_MAX_NUMBERS_WITHOUT_POOL = 49
CAMPAIGN_MAX_NUMBERS_WITH_POOL = 35_000
NUMBER_KEY = re.compile(r"^[0-9A-F]{32}$")
NUMBER_PATTERN_MESSAGE = 'must match "^1\\d{10}$"'
CAPABILITIES = ("SMS", "MMS", "VOICE")
REGISTRATION_EVENTS = frozenset(
    {
        "AI_CAMPAIGN_BUILDER",
        "AI_CAMPAIGN_FEEDBACK",
        "BRAND_AUTH_UPDATE",
        "BRAND_STATUS_UPDATE",
        "BRAND_VET_UPDATE",
        "CAMPAIGN_NETWORK_STATUS_UPDATE",
        "CAMPAIGN_STATUS_UPDATE",
        "RESOURCE_REQUEST_FOC_DATE_CHANGE",
        "RESOURCE_REQUEST_REMINDER",
        "RESOURCE_REQUEST_STATUS_UPDATE",
    }
)
CHANNELS = frozenset(
    {
        "AGENT_OS", "APPLE_MESSAGES_FOR_BUSINESS", "BLOCKLIST", "CUSTOMER_ENGAGEMENT", "EMAIL", "FACEBOOK",
        "KAKAO_ALIM", "KAKAO_BRAND_MESSAGE", "LINE", "MMS", "MOBILE_IDENTITY", "MOBILE_PUSH", "NUMBER_LOOKUP",
        "OPEN_CHANNEL", "RCS", "REGISTRATION", "SMS", "VIBER", "VOICE_VIDEO", "WEB_PUSH", "WHATSAPP", "ZALO",
    }
)  # fmt: skip
HMAC_ALGORITHMS = frozenset({"HMAC_MD5", "HMAC_SHA_1", "HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"})
URL_SAFE_ID = re.compile(r"^[A-Za-z0-9._~-]{1,255}$")


class BadJson(ValueError):
    """The body is not JSON at all."""


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadJson(str(error)) from error


def _add(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _numbers(errors: Errors, value: Any, limit: int) -> list[str]:
    if value is None:
        _add(errors, "numbers", "must not be null")
        return []
    if not isinstance(value, list):
        _add(errors, "numbers", "must be an array of strings")
        return []
    if not 1 <= len(value) <= limit:
        _add(errors, "numbers", f"size must be between 1 and {limit}")
    seen: set[str] = set()
    for index, number in enumerate(value):
        if not isinstance(number, str):
            _add(errors, f"numbers[{index}]", "must be a string")
        elif not US_NUMBER.match(number):
            _add(errors, f"numbers[{index}]", NUMBER_PATTERN_MESSAGE)
        elif number in seen:
            _add(errors, f"numbers[{index}]", f"duplicate number {number}")
        else:
            seen.add(number)
    return [n for n in value if isinstance(n, str)]


def _optional_bool(errors: Errors, body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        _add(errors, name, "must be a boolean")
        return default
    return value


@dataclass(frozen=True)
class ImportRequest:
    numbers: list[str]
    country: str
    type: str
    capabilities: list[str]
    skip_osr_update: bool


def validate_import(body: Any) -> ImportRequest | Errors:
    """D1: up to 100 numbers, each `^1\\d{10}$`; country US; a long-number type; SMS/MMS/VOICE."""
    if not isinstance(body, dict):
        return {"body": ["must be a JSON object"]}
    errors: Errors = {}
    numbers = _numbers(errors, body.get("numbers"), IMPORT_MAX_NUMBERS)
    country = body.get("country", "US")
    if country != "US":
        _add(errors, "country", 'must be "US"')
    number_type = body.get("type", "VIRTUAL_LONG_NUMBER")
    if number_type != "VIRTUAL_LONG_NUMBER":
        _add(errors, "type", 'must be "VIRTUAL_LONG_NUMBER"')
    capabilities = body.get("capabilities", ["SMS", "MMS"])
    if not isinstance(capabilities, list) or not capabilities:
        _add(errors, "capabilities", "must be a non-empty array")
        capabilities = []
    else:
        for index, capability in enumerate(capabilities):
            if capability not in CAPABILITIES:
                _add(errors, f"capabilities[{index}]", f"must be one of {', '.join(CAPABILITIES)}")
    skip = _optional_bool(errors, body, "skipOsrUpdate", False)
    if errors:
        return errors
    return ImportRequest(numbers, "US", "VIRTUAL_LONG_NUMBER", [str(c) for c in capabilities], skip)


@dataclass(frozen=True)
class MigrateRequest:
    name: str
    external_campaign_id: str
    number_pool_id: str | None
    numbers: list[str]
    client_manages_nnid: bool


def validate_migrate(body: Any) -> MigrateRequest | Errors:
    """D3: name 1..255, externalCampaignId `^C[A-Z0-9]{6}$`, numbers 1..200, numberPoolID string/null."""
    if not isinstance(body, dict):
        return {"body": ["must be a JSON object"]}
    errors: Errors = {}
    name = body.get("name")
    if name is None:
        _add(errors, "name", "must not be null")
    elif not isinstance(name, str):
        _add(errors, "name", "must be a string")
    elif not 1 <= len(name) <= 255:
        _add(errors, "name", "size must be between 1 and 255")
    external = body.get("externalCampaignId")
    if external is None:
        _add(errors, "externalCampaignId", "must not be null")
    elif not isinstance(external, str):
        _add(errors, "externalCampaignId", "must be a string")
    elif not TCR_CAMPAIGN_ID.match(external):
        _add(errors, "externalCampaignId", 'must match "^C[A-Z0-9]{6}$"')
    pool = body.get("numberPoolID")
    if pool is not None and not isinstance(pool, str):
        _add(errors, "numberPoolID", "must be a string or null")
    numbers = _numbers(errors, body.get("numbers"), MIGRATE_MAX_NUMBERS)
    own_nnid = _optional_bool(errors, body, "isClientManageNnid", False)
    if errors:
        return errors
    assert isinstance(name, str)
    assert isinstance(external, str)
    return MigrateRequest(name, external, pool if isinstance(pool, str) else None, numbers, own_nnid)


@dataclass(frozen=True)
class AddNumbersRequest:
    numbers: list[str]
    number_keys: list[str]
    """When given, these take precedence over `numbers` (UpdateCampaignRegistrationRequest)."""


def _list_of(errors: Errors, name: str, value: Any, pattern: re.Pattern[str], message: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        _add(errors, name, "must be an array of strings")
        return []
    if len(value) > ADD_NUMBERS_MAX_PER_CALL:
        _add(errors, name, f"size must be at most {ADD_NUMBERS_MAX_PER_CALL}")
    seen: set[str] = set()
    for index, item in enumerate(value):
        if not isinstance(item, str) or not pattern.match(item):
            _add(errors, f"{name}[{index}]", message)
        elif item in seen:
            _add(errors, f"{name}[{index}]", f"duplicate {item}")
        else:
            seen.add(item)
    return [v for v in value if isinstance(v, str)]


def validate_add_numbers(body: Any) -> AddNumbersRequest | Errors:
    """`UpdateCampaignRegistrationRequest`: `numberKeys` or `numbers`, each at most 5,000, unique."""
    if not isinstance(body, dict):
        return {"body": ["must be a JSON object"]}
    errors: Errors = {}
    keys = _list_of(errors, "numberKeys", body.get("numberKeys"), NUMBER_KEY, "must be a 32-hex-digit numberKey")
    numbers: list[str] = []
    if not body.get("numberKeys"):  # numberKeys take precedence: numbers beside them are ignored
        numbers = _list_of(errors, "numbers", body.get("numbers"), US_NUMBER, NUMBER_PATTERN_MESSAGE)
    if not errors and not keys and not numbers:
        _add(errors, "numbers", "numbers or numberKeys must name at least one number")
    if errors:
        return errors
    return AddNumbersRequest(numbers, keys)


@dataclass(frozen=True)
class SecurityRequest:
    auth_id: str
    type: str | None
    credentials: dict[str, Any]


@dataclass(frozen=True)
class ProfileRequest:
    profile_id: str
    notify_url: str | None
    content_type: str | None
    headers: dict[str, str]
    security: SecurityRequest | None


@dataclass(frozen=True)
class SubscriptionRequest:
    subscription_id: str | None
    name: str | None
    events: list[str]
    criteria: list[dict[str, str]]
    resources: list[str]
    users: list[str]
    profile: ProfileRequest | None
    fields_given: frozenset[str] = field(default_factory=frozenset)


def _id(errors: Errors, name: str, value: Any, required: bool) -> str | None:
    if value is None:
        if required:
            _add(errors, name, "must not be null")
        return None
    if not isinstance(value, str) or not URL_SAFE_ID.match(value):
        _add(errors, name, "must be 1..255 URL-safe characters")
        return None
    return value


def _string_list(errors: Errors, name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 255 or not all(isinstance(v, str) and len(v) <= 255 for v in value):
        _add(errors, name, "must be an array of at most 255 strings")
        return []
    return list(value)


def _security(errors: Errors, value: Any) -> SecurityRequest | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        _add(errors, "profile.security", "must be an object")
        return None
    auth_id = _id(errors, "profile.security.authId", value.get("authId"), required=True)
    kind = value.get("type")
    credentials = value.get("credentials")
    if kind is not None and kind not in ("BASIC", "HMAC", "OAUTH", "CUSTOM"):
        _add(errors, "profile.security.type", "must be one of BASIC, HMAC, OAUTH, CUSTOM")
    if credentials is not None and not isinstance(credentials, dict):
        _add(errors, "profile.security.credentials", "must be an object")
        credentials = None
    creds: dict[str, Any] = dict(credentials or {})
    if kind == "BASIC":
        for key in ("username", "password"):
            item = creds.get(key)
            if not isinstance(item, str) or not 1 <= len(item) <= 255:
                _add(errors, f"profile.security.credentials.{key}", "must be 1..255 characters")
    elif kind == "HMAC":
        secret = creds.get("secretKey")
        if not isinstance(secret, str) or not 1 <= len(secret) <= 255:
            _add(errors, "profile.security.credentials.secretKey", "must be 1..255 characters")
        if creds.get("algorithm") not in HMAC_ALGORITHMS:
            _add(errors, "profile.security.credentials.algorithm", f"must be one of {sorted(HMAC_ALGORITHMS)}")
    if auth_id is None:
        return None
    return SecurityRequest(auth_id, kind if isinstance(kind, str) else None, creds)


def _profile(errors: Errors, value: Any) -> ProfileRequest | None:
    if not isinstance(value, dict):
        _add(errors, "profile", "must be an object")
        return None
    profile_id = _id(errors, "profile.profileId", value.get("profileId"), required=True)
    webhook = value.get("webhook")
    notify_url: str | None = None
    content_type: str | None = None
    if webhook is not None:
        if not isinstance(webhook, dict):
            _add(errors, "profile.webhook", "must be an object")
        else:
            url = webhook.get("notifyUrl")
            if not isinstance(url, str) or not url:
                _add(errors, "profile.webhook.notifyUrl", "must not be null")
            elif len(url) > 512 or not url.startswith(("http://", "https://")):
                _add(errors, "profile.webhook.notifyUrl", "must be an http(s) URL of at most 512 characters")
            else:
                notify_url = url
            kind = webhook.get("contentType")
            if kind is not None and not isinstance(kind, str):
                _add(errors, "profile.webhook.contentType", "must be a string")
            content_type = kind if isinstance(kind, str) else None
    headers = value.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        _add(errors, "profile.headers", "must be an object of strings")
        headers = {}
    security = _security(errors, value.get("security"))
    if profile_id is None:
        return None
    return ProfileRequest(profile_id, notify_url, content_type, dict(headers), security)


def validate_subscription(body: Any, *, with_id: bool) -> SubscriptionRequest | Errors:
    """`RegistrationSubscriptionRequest` (create) or `NoIdSubscriptionRequest` (update)."""
    if not isinstance(body, dict):
        return {"body": ["must be a JSON object"]}
    errors: Errors = {}
    subscription_id = _id(errors, "subscriptionId", body.get("subscriptionId"), required=with_id) if with_id else None
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 255):
        _add(errors, "name", "must be 1..255 characters")
        name = None
    events_value = body.get("events")
    events: list[str] = []
    if events_value is None:
        if with_id:
            _add(errors, "events", "must not be null")
    elif not isinstance(events_value, list) or len(events_value) > 255:
        _add(errors, "events", "must be an array of at most 255 events")
    else:
        for index, event in enumerate(events_value):
            if event not in REGISTRATION_EVENTS:
                _add(errors, f"events[{index}]", "must be a REGISTRATION event")
            else:
                events.append(event)
    criteria_value = body.get("criteria")
    criteria: list[dict[str, str]] = []
    if criteria_value is not None:
        if not isinstance(criteria_value, list) or len(criteria_value) > 255:
            _add(errors, "criteria", "must be an array of at most 255 pairs")
        else:
            for index, pair in enumerate(criteria_value):
                if not isinstance(pair, dict) or not all(
                    k in ("applicationId", "entityId", "callsConfigurationId") and isinstance(v, str) and len(v) <= 255
                    for k, v in pair.items()
                ):
                    _add(errors, f"criteria[{index}]", "must hold applicationId/entityId strings")
                else:
                    criteria.append(dict(pair))
    resources = _string_list(errors, "resources", body.get("resources"))
    users = _string_list(errors, "users", body.get("users"))
    profile: ProfileRequest | None = None
    if body.get("profile") is None:
        if with_id:
            _add(errors, "profile", "must not be null")
    else:
        profile = _profile(errors, body.get("profile"))
    if errors:
        return errors
    return SubscriptionRequest(
        subscription_id,
        name if isinstance(name, str) else None,
        events,
        criteria,
        resources,
        users,
        profile,
        frozenset(body.keys()),
    )
