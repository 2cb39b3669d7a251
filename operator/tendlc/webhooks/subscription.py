"""The Infobip subscription the operator must hold so that campaign events reach its receiver.

`desired_subscription(public_url, auth)` builds the `SubscriptionRequest` (channel
`REGISTRATION`, events `CAMPAIGN_STATUS_UPDATE` and `CAMPAIGN_NETWORK_STATUS_UPDATE`, an inline
profile with the receiver's URL and BASIC/HMAC security) with deterministic ids, and
`plan_subscription(existing, desired)` compares it with what Infobip lists and returns what to do:
`Keep`, `Create` or `Replace`. Run at every start-up, the pair never creates a duplicate.

Ids: `subscriptionId` is `tendlc-<16 hex of sha256(url)>`, so one URL is one subscription;
`profileId`/`authId` add a fingerprint of the security settings, so rotating the webhook password
or key (Infobip keeps profiles and securities as account-wide objects that cannot be changed in
place) yields new ids and a `Replace`. The fingerprint is a salted, slow (PBKDF2), truncated
digest: it detects change; it is not a usable verifier of the secret. `name` is
`tendlc:<owner>`: subscriptions of the same owner with another URL (an old `publicUrl`) are stale
and deleted; subscriptions of other owners (another cluster on the same account) are never touched.

Pure: no I/O, no Kopf. The executor (operator start-up) lists subscriptions, calls
`plan_subscription`, deletes `plan.delete` (404 counts as done), then creates `plan.request`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from tendlc.clients.models import Subscription, SubscriptionRequest, WebhookProfile
from tendlc.webhooks.auth import WebhookAuth
from tendlc.webhooks.payload import NETWORK_STATUS_UPDATE, STATUS_UPDATE

CHANNEL: Final = "REGISTRATION"
SUBSCRIPTION_EVENTS: Final = (STATUS_UPDATE, NETWORK_STATUS_UPDATE)
ID_PREFIX: Final = "tendlc-"
_OWNER = re.compile(r"^[A-Za-z0-9._-]{1,63}$")
_FINGERPRINT_ITERATIONS: Final = 100_000


@dataclass(frozen=True)
class Keep:
    """The desired subscription exists as wanted; `delete` lists stale ones of the same owner."""

    subscription_id: str
    delete: tuple[str, ...] = ()


@dataclass(frozen=True)
class Create:
    """No subscription of ours exists: create `request`."""

    request: SubscriptionRequest


@dataclass(frozen=True)
class Replace:
    """Delete `delete` (ours, outdated: other URL, credentials or events), then create `request`."""

    delete: tuple[str, ...]
    request: SubscriptionRequest


SubscriptionPlan = Keep | Create | Replace


def normalize_url(public_url: str) -> str:
    """The receiver's public URL, checked: absolute http(s), no credentials, no fragment."""
    parts = urlsplit(public_url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("webhook public URL must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("webhook public URL must not carry credentials; configure webhook auth instead")
    if parts.fragment:
        raise ValueError("webhook public URL must not have a fragment")
    return parts.geturl()


def subscription_id_for(public_url: str) -> str:
    """`tendlc-<16 hex>`: the same URL always gives the same id."""
    digest = hashlib.sha256(normalize_url(public_url).encode()).hexdigest()
    return f"{ID_PREFIX}{digest[:16]}"


def security_fingerprint(public_url: str, auth: WebhookAuth) -> str:
    """12 hex characters that change whenever the URL or any security setting changes."""
    public = "\x1f".join((normalize_url(public_url), auth.type, auth.username or "", auth.algorithm))
    salt = b"tendlc-webhook-security-v1\x00" + public.encode()
    secret = "\x1f".join(auth.secret_values()).encode("utf-8", "surrogateescape")
    return hashlib.pbkdf2_hmac("sha256", secret, salt, _FINGERPRINT_ITERATIONS, dklen=6).hex()


def desired_subscription(public_url: str, auth: WebhookAuth, *, owner: str = "default") -> SubscriptionRequest:
    """The subscription request for the receiver at `public_url` (which must end with the path,
    e.g. `https://tendlc.example.com/webhooks/infobip`). `owner` tells this operator's
    subscriptions from other operators' on the same Infobip account (e.g. the cluster name)."""
    if not _OWNER.match(owner):
        raise ValueError("owner must be 1-63 characters of letters, digits, '.', '_' or '-'")
    url = normalize_url(public_url)
    subscription_id = subscription_id_for(url)
    profile_id = f"{subscription_id}-{security_fingerprint(url, auth)}"
    return SubscriptionRequest(
        subscription_id=subscription_id,
        name=f"tendlc:{owner}",
        events=SUBSCRIPTION_EVENTS,
        profile=WebhookProfile(profile_id=profile_id, notify_url=url, security=auth.to_security(profile_id)),
    )


def _matches(existing: Subscription, desired: SubscriptionRequest) -> bool:
    profile = existing.profile
    if profile is None or profile.profile_id != desired.profile.profile_id:
        return False
    wanted = desired.profile.security
    if wanted is not None and (profile.security is None or profile.security.auth_id != wanted.auth_id):
        return False
    return set(desired.events) <= set(existing.events)


def plan_subscription(existing: Iterable[Subscription], desired: SubscriptionRequest) -> SubscriptionPlan:
    """What to do so that exactly `desired` exists among this owner's subscriptions.

    A subscription with the desired id whose profile, security id or events differ (or are not
    reported) is replaced; subscriptions named like `desired` with another `tendlc-` id are stale
    and deleted; everything else is left alone.
    """
    existing = tuple(existing)
    current = [item for item in existing if item.subscription_id == desired.subscription_id]
    stale = tuple(
        sorted(
            {
                item.subscription_id
                for item in existing
                if item.subscription_id != desired.subscription_id
                and item.subscription_id.startswith(ID_PREFIX)
                and item.name == desired.name
            }
        )
    )
    if current and all(_matches(item, desired) for item in current):
        return Keep(subscription_id=desired.subscription_id, delete=stale)
    if current:
        return Replace(delete=(desired.subscription_id, *stale), request=desired)
    if stale:
        return Replace(delete=stale, request=desired)
    return Create(request=desired)
