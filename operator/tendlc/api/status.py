"""The CampaignMigration status as a pydantic model, and its merge patch.

`MigrationStatus` holds every status field the operator writes (camelCase aliases, snake_case
attributes). It parses leniently: a missing status, unknown keys (Kopf's own bookkeeping, fields of
a newer operator) and naive timestamps are accepted. `to_patch(original)` returns the JSON merge
patch (RFC 7386) that turns `original` into this status — only the changed keys, `None` for a
removed key; without an original it returns the whole status with `None` for every unset field, so
applying it replaces the stored status completely. No I/O, no Kopf, no decisions here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError

from tendlc.api.copying import Cloneable


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z` suffix (microseconds kept when present), as Kubernetes expects."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


Timestamp = Annotated[datetime, BeforeValidator(_parse_time), PlainSerializer(format_time, return_type=str)]
ConditionStatus = Literal["True", "False", "Unknown"]


class Phase(StrEnum):
    """Where the migration is (`status.phase`); see docs/resource.md."""

    PENDING = "Pending"
    IMPORTING_NUMBERS = "ImportingNumbers"
    ELECTING_CNP = "ElectingCnp"
    SUBMITTING_MIGRATION = "SubmittingMigration"
    IN_MIGRATION = "InMigration"
    AWAITING_OSR_CONFIRMATION = "AwaitingOsrConfirmation"
    ADDING_NUMBERS = "AddingNumbers"
    REGISTERED = "Registered"
    FAILED = "Failed"
    SUSPENDED = "Suspended"
    PREFLIGHT = "Preflight"


class _Model(Cloneable):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", validate_assignment=True)


class Condition(_Model):
    """A condition in the shape of Kubernetes' metav1.Condition."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""
    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    last_transition_time: Timestamp = Field(alias="lastTransitionTime")


class PendingOperation(_Model):
    """The exactly-once marker: a non-idempotent call may have happened and its outcome is not known yet."""

    operation: str
    started_at: Timestamp = Field(alias="startedAt")
    observe_attempts: int = Field(default=0, alias="observeAttempts")
    rejection_reason: str | None = Field(default=None, alias="rejectionReason")
    rejection_message: str | None = Field(default=None, alias="rejectionMessage")
    name: str | None = None
    """SubmitMigration: the campaign name sent, so recovery searches for what was sent, not the current spec."""
    first_number: str | None = Field(default=None, alias="firstNumber")
    numbers_digest: str | None = Field(default=None, alias="numbersDigest")
    """SubmitMigration: a digest of the numbers sent (`numbers_digest` of the workflow); AddNumbers: of the batch."""
    count: int | None = None
    """AddNumbers: how many numbers the batch sent, starting at `first_number` (D61)."""


class WaveRelease(_Model):
    """The MigrationWave that let this resource start, and when: once set, the resource keeps going."""

    wave: str
    at: Timestamp


class MigrationSearch(_Model):
    """Searches of Infobip that found no campaign of this externalCampaignId (docs/decisions.md D24).

    `since` is the first of them, or the time the interrupted submission was sent; `name` and
    `number` are the filters they used (a search with other filters starts a new record).
    """

    negative: int = 0
    since: Timestamp
    last_at: Timestamp = Field(alias="lastAt")
    name: str
    number: str


class NumbersSearch(_Model):
    """Reads of the campaign's numbers that did not show an interrupted add-numbers batch (D61).

    Absence is concluded by the D24 rule over this record: `since` is when the batch was sent.
    """

    negative: int = 0
    since: Timestamp
    last_at: Timestamp = Field(alias="lastAt")
    first_number: str = Field(alias="firstNumber")


class NumbersProgress(_Model):
    """Where the numbers of a campaign of more than 200 are (D60): migrated, added, still pending.

    `added` counts the numbers of accepted add-numbers batches (202), in the order they are sent
    (ascending, after the migrated ones); `visible` is how many of all the numbers the last read of
    the campaign's numbers showed. Numbers that are neither migrated nor visible have no service yet.
    """

    total: int
    migrated: int
    added: int = 0
    pending: int = 0
    visible: int | None = None
    batches: int = 0
    last_batch_at: Timestamp | None = Field(default=None, alias="lastBatchAt")
    add_started_at: Timestamp | None = Field(default=None, alias="addStartedAt")
    completed_at: Timestamp | None = Field(default=None, alias="completedAt")
    search: NumbersSearch | None = None


class PreflightItem(_Model):
    """One finding of a preflight: `check` produced it; `reason` is stable; `count` how many it concerns."""

    check: str
    reason: str
    message: str
    count: int | None = None


class PreflightResult(_Model):
    """`spec.mode: Preflight` (D64): what the documented reads found, and what no read can show.

    `problems` make `Eligible` False; `notes` are informative; `notChecked` names what was not
    verified and why (no documented read shows it, or the read failed) — never guessed.
    """

    checked_at: Timestamp = Field(alias="checkedAt")
    generation: int = 0
    planned_submission_at: Timestamp = Field(alias="plannedSubmissionAt")
    eligible: bool = False
    problems: list[PreflightItem] = Field(default_factory=list)
    notes: list[PreflightItem] = Field(default_factory=list)
    not_checked: list[PreflightItem] = Field(default_factory=list, alias="notChecked")


class Problem(_Model):
    """What stopped the migration: `permanent` → Failed; otherwise it waits for a fix (Park)."""

    reason: str
    message: str
    permanent: bool = False
    since: Timestamp
    generation: int = 0
    recheck_at: Timestamp | None = Field(default=None, alias="recheckAt")


class RecordedWebhook(_Model):
    """The last Infobip CAMPAIGN_STATUS_UPDATE recorded for this campaign.

    `received_at` is Infobip's clock (used to order events); `arrived_at` is ours (used to decide
    whether a poll is due), so a skewed partner clock can neither hide nor repeat a poll.
    """

    stage: str
    received_at: Timestamp = Field(alias="receivedAt")
    arrived_at: Timestamp | None = Field(default=None, alias="arrivedAt")
    event_id: str | None = Field(default=None, alias="eventId")


class NetworkStatus(_Model):
    """The last CAMPAIGN_NETWORK_STATUS_UPDATE for one carrier network."""

    status: str
    received_at: Timestamp = Field(alias="receivedAt")


class SecretOptIn(_Model):
    """Whether this migration may use Secrets without the `tendlc.io/usage` label (docs/security.md).

    Written on the first pass of an operator that requires the label: `exempt` when the migration
    had already passed its prerequisites (it keeps going with the Secrets it used), for the spec
    `generation` of that moment only; any spec change ends the exemption for good.
    """

    exempt: bool
    generation: int


class MigrationStatus(_Model):
    """`status` of a CampaignMigration."""

    phase: Phase | None = None
    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    number_count: int | None = Field(default=None, alias="numberCount")
    conditions: list[Condition] = Field(default_factory=list)
    infobip_campaign_id: str | None = Field(default=None, alias="infobipCampaignId")
    infobip_stage: str | None = Field(default=None, alias="infobipStage")
    tcr_sharing_status: str | None = Field(default=None, alias="tcrSharingStatus")
    numbers_imported_at: Timestamp | None = Field(default=None, alias="numbersImportedAt")
    numbers_imported_digest: str | None = Field(default=None, alias="numbersImportedDigest")
    cnp_elected_at: Timestamp | None = Field(default=None, alias="cnpElectedAt")
    migration_submitted_at: Timestamp | None = Field(default=None, alias="migrationSubmittedAt")
    registered_at: Timestamp | None = Field(default=None, alias="registeredAt")
    failed_at: Timestamp | None = Field(default=None, alias="failedAt")
    downtime_started_at: Timestamp | None = Field(default=None, alias="downtimeStartedAt")
    downtime_ended_at: Timestamp | None = Field(default=None, alias="downtimeEndedAt")
    traffic_switched_at: Timestamp | None = Field(default=None, alias="trafficSwitchedAt")
    attempts: int = 0
    unexpected_answers: int = Field(default=0, alias="unexpectedAnswers")
    """Answers in a row the operator could neither read nor confirm through a documented read (D40)."""
    last_error: str | None = Field(default=None, alias="lastError")
    last_checked_at: Timestamp | None = Field(default=None, alias="lastCheckedAt")
    next_check_at: Timestamp | None = Field(default=None, alias="nextCheckAt")
    pending_operation: PendingOperation | None = Field(default=None, alias="pendingOperation")
    migration_search: MigrationSearch | None = Field(default=None, alias="migrationSearch")
    release: WaveRelease | None = None
    problem: Problem | None = None
    last_handled_retry: str | None = Field(default=None, alias="lastHandledRetry")
    planned_calls: list[str] | None = Field(default=None, alias="plannedCalls")
    webhook: RecordedWebhook | None = None
    network_statuses: dict[str, NetworkStatus] | None = Field(default=None, alias="networkStatuses")
    secret_opt_in: SecretOptIn | None = Field(default=None, alias="secretOptIn")
    numbers: NumbersProgress | None = None
    """Campaigns of more than 200 numbers only (D60)."""
    preflight: PreflightResult | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> MigrationStatus:
        """Parse the `status` of a whole object; a missing or empty status gives the initial status."""
        return cls.from_dict(body.get("status"))

    @classmethod
    def from_dict(cls, status: Mapping[str, Any] | None) -> MigrationStatus:
        """Parse a stored status dict (camelCase), ignoring keys this version does not know."""
        return cls.model_validate(dict(status or {}))

    @classmethod
    def from_body_lenient(cls, body: Mapping[str, Any]) -> tuple[MigrationStatus, tuple[str, ...]]:
        """Parse what another version (or a human) may have written: never fails.

        A field whose value this version cannot read (a phase added by a newer version, a
        timestamp in another format) is left out and named in the second value, so the caller
        can say so on the resource; every field it can read is kept — above all the exactly-once
        marker, which survives even with parts missing (an unreadable `startedAt` becomes the
        epoch, so the marker is still observed before anything is resent).
        """
        raw = dict(body.get("status") or {})
        try:
            return cls.model_validate(raw), ()
        except ValidationError as error:
            bad = sorted({str(detail["loc"][0]) for detail in error.errors() if detail["loc"]})
        kept = {key: value for key, value in raw.items() if key not in bad}
        marker = raw.get("pendingOperation")
        if "pendingOperation" in bad and isinstance(marker, Mapping):
            kept["pendingOperation"] = _salvaged_marker(marker)
        try:
            return cls.model_validate(kept), tuple(bad)
        except ValidationError:  # pragma: no cover - each remaining field validated alone above
            return cls(), tuple(sorted(raw))

    def condition(self, type_: str) -> Condition | None:
        """The condition of that type, if present."""
        return next((c for c in self.conditions if c.type == type_), None)

    def to_dict(self) -> dict[str, Any]:
        """The status as stored: camelCase, unset fields omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_patch(self, original: MigrationStatus | None = None) -> dict[str, Any]:
        """A JSON merge patch for `status`: the changes from `original`, or a full replacement if None."""
        new = self.to_dict()
        if original is None:
            every = {(field.alias or name): None for name, field in type(self).model_fields.items()}
            return every | new
        return merge_patch_diff(original.to_dict(), new)


def _salvaged_marker(marker: Mapping[str, Any]) -> dict[str, Any]:
    operation = marker.get("operation")
    started = marker.get("startedAt")
    try:
        started_ok = _parse_time(started) if started is not None else None
    except ValueError:
        started_ok = None
    return {
        "operation": operation if isinstance(operation, str) and operation else "Unknown",
        "startedAt": started_ok if isinstance(started_ok, datetime) else datetime(1970, 1, 1, tzinfo=UTC),
    }


def merge_patch_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The RFC 7386 merge patch turning `old` into `new` (objects recursed into, lists replaced)."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif old[key] != value:
            if isinstance(value, Mapping) and isinstance(old[key], Mapping):
                patch[key] = merge_patch_diff(old[key], value)
            else:
                patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch
