"""Who may migrate a campaign: one live CampaignMigration per campaign ID, and the namespace policy.

Two resources naming the same TCR campaign (in one namespace or two) would both import, elect and
submit it — and a tenant could start, steer or watch another team's campaign. So at most one live
CampaignMigration per `campaignId` claims it in an installation: the oldest one (by
`creationTimestamp`, then `uid`, which the API server assigns and nobody can choose). Every other
one parks with `CampaignClaimedElsewhere` and makes no partner call until the claimant is deleted.
`CampaignClaims` is the index the controller keeps from the watch (and a listing at start-up), so
the answer is the same after a restart; resources being deleted (`deletionTimestamp`) are not live.

Optionally the platform team also says which campaign IDs a namespace may migrate, with the
Namespace annotation `tendlc.io/allowed-campaigns` (docs/security.md): `namespace_policy` reads it.

Pure: no I/O, no clock, no Kopf.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tendlc.api.constants import ANNOTATION_ALLOWED_CAMPAIGNS

Key = tuple[str, str]
"""(namespace, name) of a CampaignMigration."""

_NEVER = datetime.max.replace(tzinfo=UTC)  # no timestamp (never from a real API server) sorts last
_ENTRY = re.compile(r"^(C[A-Z0-9]{6}|C[A-Z0-9]{0,5}\*|\*)$")


@dataclass(frozen=True)
class ClaimCandidate:
    """What the claim needs of one CampaignMigration, as the watch delivered it."""

    namespace: str
    name: str
    uid: str
    created_at: datetime | None
    campaign_id: str
    deleted: bool = False

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.created_at or _NEVER, self.uid)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ClaimCandidate | None:
        """From a watched object; None when it names no campaign (the CRD makes that impossible)."""
        metadata = body.get("metadata") or {}
        campaign_id = (body.get("spec") or {}).get("campaignId")
        if not isinstance(campaign_id, str) or not campaign_id:
            return None
        return cls(
            namespace=str(metadata.get("namespace") or ""),
            name=str(metadata.get("name") or ""),
            uid=str(metadata.get("uid") or ""),
            created_at=_timestamp(metadata.get("creationTimestamp")),
            campaign_id=campaign_id,
            deleted=bool(metadata.get("deletionTimestamp")),
        )


def _timestamp(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def claimant(candidates: Iterable[ClaimCandidate]) -> ClaimCandidate | None:
    """The live candidate that claims the campaign: the oldest, ties broken by uid."""
    live = [candidate for candidate in candidates if not candidate.deleted]
    return min(live, key=lambda candidate: candidate.order, default=None)


class CampaignClaims:
    """campaign ID → the live CampaignMigrations naming it, fed with every watch event.

    `observe` on every event (a changed `campaignId` cannot happen: the CRD makes it immutable; a
    deletion in progress makes the resource not live), `forget` on DELETED. Lookups are O(resources of
    that campaign), which is one in a healthy installation.
    """

    def __init__(self) -> None:
        self._by_campaign: dict[str, dict[Key, ClaimCandidate]] = {}
        self._campaign_of: dict[Key, str] = {}

    def observe(self, candidate: ClaimCandidate) -> None:
        previous = self._campaign_of.get(candidate.key)
        if previous is not None and previous != candidate.campaign_id:
            self.forget(candidate.key)
        self._by_campaign.setdefault(candidate.campaign_id, {})[candidate.key] = candidate
        self._campaign_of[candidate.key] = candidate.campaign_id

    def forget(self, key: Key) -> None:
        campaign_id = self._campaign_of.pop(key, None)
        if campaign_id is None:
            return
        holders = self._by_campaign.get(campaign_id, {})
        holders.pop(key, None)
        if not holders:
            self._by_campaign.pop(campaign_id, None)

    def claimant(self, campaign_id: str) -> ClaimCandidate | None:
        return claimant(self._by_campaign.get(campaign_id, {}).values())

    def claimed_elsewhere(self, key: Key) -> str | None:
        """`namespace/name` of the resource that claims the campaign of `key`, when it is not `key` itself."""
        campaign_id = self._campaign_of.get(key)
        if campaign_id is None:
            return None
        holder = self.claimant(campaign_id)
        if holder is None or holder.key == key:
            return None
        return str(holder)

    def is_claimant(self, key: Key, campaign_id: str) -> bool:
        holder = self.claimant(campaign_id)
        return holder is not None and holder.key == key

    def contenders(self, campaign_id: str) -> list[Key]:
        """Every live resource naming the campaign (the ones to wake when the claimant goes)."""
        return [key for key, candidate in self._by_campaign.get(campaign_id, {}).items() if not candidate.deleted]


# --- the namespace policy ---------------------------------------------------------------------------


def allowed_campaigns(annotation: str | None) -> tuple[str, ...]:
    """The entries of a `tendlc.io/allowed-campaigns` value: campaign IDs, `C…*` prefixes, or `*`.

    Entries are separated by commas and/or whitespace. Raises ValueError naming the first entry
    that is none of those (the policy then allows nothing: it fails closed).
    """
    entries = tuple(entry for entry in re.split(r"[,\s]+", annotation or "") if entry)
    for entry in entries:
        if not _ENTRY.fullmatch(entry):
            raise ValueError(
                f"entry {entry!r} is neither a campaign ID (COJD655), a prefix ending in '*' (CAB*) nor '*'"
            )
    return entries


def namespace_allows(annotation: str | None, campaign_id: str) -> bool:
    """Whether a namespace annotated `annotation` may migrate `campaign_id` (no or bad annotation: no)."""
    try:
        entries = allowed_campaigns(annotation)
    except ValueError:
        return False
    return any(entry == campaign_id or (entry.endswith("*") and campaign_id.startswith(entry[:-1]))
               for entry in entries)


def namespace_policy(namespace: str, annotations: Mapping[str, str] | None, campaign_id: str) -> str | None:
    """None when the namespace may migrate the campaign; otherwise the message saying why not and who fixes it."""
    value = (annotations or {}).get(ANNOTATION_ALLOWED_CAMPAIGNS)
    if namespace_allows(value, campaign_id):
        return None
    fix = (
        f"Cluster admins allow it with: kubectl annotate namespace {namespace} "
        f"{ANNOTATION_ALLOWED_CAMPAIGNS}={campaign_id} (comma-separated IDs, 'C…*' prefixes or '*'; add to the "
        "existing value)."
    )
    if value is None:
        return f"Namespace {namespace} has no {ANNOTATION_ALLOWED_CAMPAIGNS} annotation, so it may migrate no " \
               f"campaign under this operator's policy. {fix}"
    try:
        allowed_campaigns(value)
    except ValueError as problem:
        return f"Namespace {namespace}'s {ANNOTATION_ALLOWED_CAMPAIGNS} annotation is unreadable ({problem}), so " \
               f"it allows nothing. {fix}"
    return f"Namespace {namespace} may not migrate campaign {campaign_id}: its {ANNOTATION_ALLOWED_CAMPAIGNS} " \
           f"annotation does not list it. {fix}"
