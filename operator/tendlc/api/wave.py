"""The MigrationWave resource as Python values: its spec and status models.

A MigrationWave orchestrates the CampaignMigrations its label selector picks in its namespace:
a canary first, a limit of members in flight, a failure budget, maintenance windows for the
submission step, suspension and an approval gate. This room parses what the API server stores
(camelCase) into validated models with the CRD's defaults and turns a status back into a merge
patch; it mirrors `crds/migrationwaves.tendlc.io.yaml` (tests/unit/api/test_wave_crd.py checks
they agree). It must not do I/O or decide anything: the wave's decisions are
`tendlc.workflow.wave.plan_wave`, its windows `tendlc.workflow.windows`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from tendlc.api.copying import Cloneable
from tendlc.api.cron import parse_cron
from tendlc.api.spec import CutOver
from tendlc.api.status import Condition, Timestamp, merge_patch_diff

DURATION_PATTERN = r"^([0-9]{1,6}h)?([0-9]{1,8}m)?([0-9]{1,10}s)?$"
SCHEDULE_PATTERN = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9A-Za-z*,/-]+( +[0-9A-Za-z*,/-]+){4})$"
)
TIME_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+/-]*$"
LABEL_VALUE_MAX = 63
LABEL_KEY_MAX = 317  # a DNS-1123 prefix (253) + "/" + a name (63)
MAX_WINDOWS = 32
MAX_LISTED = 20
"""At most this many failures and LOA warnings are listed in the status (the counts say how many in all)."""
DEFAULT_MAX_IN_FLIGHT = 10
DEFAULT_MAX_FAILED = 1
DEFAULT_STUCK_AFTER = "1h"


def parse_duration(text: str) -> timedelta:
    """`4h`, `90m`, `1h30m`, `45s` → a timedelta above zero (the subset of Go durations the CRD allows)."""
    match = re.fullmatch(DURATION_PATTERN, text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration like 4h, 30m, 1h30m or 90s")
    hours, minutes, seconds = (int(group[:-1]) if group else 0 for group in match.groups())
    duration = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if duration <= timedelta(0):
        raise ValueError(f"{text!r} must be longer than zero")
    return duration


def format_duration(duration: timedelta) -> str:
    """The shortest of `4h`, `1h30m`, `45s` … that `parse_duration` reads back as `duration`."""
    total = int(duration.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "".join(f"{value}{unit}" for value, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if value)
    return text or "0s"


def _to_duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_to_duration), PlainSerializer(format_duration, return_type=str)]
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=LABEL_KEY_MAX)]
LabelValue = Annotated[str, StringConstraints(max_length=LABEL_VALUE_MAX)]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class SelectorRequirement(_Model):
    """One `matchExpressions` entry of a metav1.LabelSelector."""

    key: LabelKey
    operator: SelectorOperator
    values: tuple[LabelValue, ...] = Field(default=(), max_length=64)

    @model_validator(mode="after")
    def _values_fit_the_operator(self) -> SelectorRequirement:
        needs_values = self.operator in (SelectorOperator.IN, SelectorOperator.NOT_IN)
        if needs_values and not self.values:
            raise ValueError(f"operator {self.operator.value} needs at least one value")
        if not needs_values and self.values:
            raise ValueError(f"operator {self.operator.value} takes no values")
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator is SelectorOperator.IN:
            return present and labels[self.key] in self.values
        if self.operator is SelectorOperator.NOT_IN:
            return not present or labels[self.key] not in self.values
        return present if self.operator is SelectorOperator.EXISTS else not present

    def to_query(self) -> str:
        if self.operator is SelectorOperator.EXISTS:
            return self.key
        if self.operator is SelectorOperator.DOES_NOT_EXIST:
            return f"!{self.key}"
        verb = "in" if self.operator is SelectorOperator.IN else "notin"
        return f"{self.key} {verb} ({','.join(sorted(self.values))})"


class LabelSelector(_Model):
    """A metav1.LabelSelector; the requirements are ANDed. It must not be empty (D56)."""

    match_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, alias="matchLabels", max_length=64)
    match_expressions: tuple[SelectorRequirement, ...] = Field(default=(), alias="matchExpressions", max_length=64)

    @model_validator(mode="after")
    def _not_empty(self) -> LabelSelector:
        if not self.match_labels and not self.match_expressions:
            raise ValueError(
                "selector must name at least one label (matchLabels or matchExpressions): an empty selector would "
                "take every CampaignMigration in the namespace"
            )
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an object with these labels is selected (as the API server's labelSelector would)."""
        return all(labels.get(key) == value for key, value in self.match_labels.items()) and all(
            requirement.matches(labels) for requirement in self.match_expressions
        )

    def to_query(self) -> str:
        """The selector as a `labelSelector` query string (`?labelSelector=` of a list or watch)."""
        parts = [f"{key}={value}" for key, value in sorted(self.match_labels.items())]
        return ",".join(parts + [requirement.to_query() for requirement in self.match_expressions])


class Order(StrEnum):
    """How members are ordered for the canary and for release (ties broken by name)."""

    NAME = "Name"
    CREATION_TIMESTAMP = "CreationTimestamp"


class Approval(_Model):
    """Human gates: `afterCanary` waits for a new `tendlc.io/approve` value once the canary passed."""

    after_canary: StrictBool = Field(default=False, alias="afterCanary")


class Window(_Model):
    """A maintenance window: explicit `{start, end}`, or `{schedule, duration, timeZone}`."""

    start: Timestamp | None = None
    end: Timestamp | None = None
    schedule: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=SCHEDULE_PATTERN)] | None = None
    duration: Duration | None = None
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TIME_ZONE_PATTERN)] | None = (
        Field(default=None, alias="timeZone")
    )

    @field_validator("schedule")
    @classmethod
    def _schedule_parses(cls, schedule: str | None) -> str | None:
        if schedule is not None:
            parse_cron(schedule)
        return schedule

    @field_validator("time_zone")
    @classmethod
    def _time_zone_known(cls, name: str | None) -> str | None:
        if name is not None and name != "UTC":
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"unknown time zone {name!r} (an IANA name such as America/New_York)") from error
        return name

    @model_validator(mode="after")
    def _one_form(self) -> Window:
        explicit = self.start is not None or self.end is not None
        scheduled = self.schedule is not None or self.duration is not None
        if explicit == scheduled:
            raise ValueError("a window is either {start, end} or {schedule, duration, timeZone}")
        if explicit and (self.start is None or self.end is None):
            raise ValueError("an explicit window needs both start and end")
        if scheduled and (self.schedule is None or self.duration is None):
            raise ValueError("a scheduled window needs both schedule and duration")
        if explicit and self.time_zone is not None:
            raise ValueError("timeZone applies to a schedule only (start and end carry their own offset)")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("a window's end must be after its start")
        return self


class WaveSpec(_Model):
    """`spec` of a MigrationWave."""

    selector: LabelSelector
    order: Order = Order.NAME
    canary: int = Field(default=0, ge=0, le=1000)
    approval: Approval = Field(default_factory=Approval)
    max_in_flight: int = Field(default=DEFAULT_MAX_IN_FLIGHT, ge=1, le=10_000, alias="maxInFlight")
    max_failed: int = Field(default=DEFAULT_MAX_FAILED, ge=1, le=10_000, alias="maxFailed")
    stuck_after: Duration = Field(default=parse_duration(DEFAULT_STUCK_AFTER), alias="stuckAfter")
    windows: tuple[Window, ...] = Field(default=(), max_length=MAX_WINDOWS)
    suspend: StrictBool = False
    cutover: CutOver | None = None
    """Default cut-over action of the members whose own spec names none."""

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> WaveSpec:
        return cls.model_validate(dict(body.get("spec") or {}))

    def to_dict(self) -> dict[str, Any]:
        """The spec as stored (camelCase, the CRD's defaults included, unset optional fields omitted)."""
        stored = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        stored["selector"] = {key: value for key, value in stored["selector"].items() if value}
        if not stored["windows"]:
            del stored["windows"]
        return stored


class WavePhase(StrEnum):
    """Where the wave is (`status.phase`); see docs/resource.md."""

    PENDING = "Pending"
    CANARY = "Canary"
    AWAITING_APPROVAL = "AwaitingApproval"
    PROGRESSING = "Progressing"
    HALTED = "Halted"
    SUSPENDED = "Suspended"
    COMPLETE = "Complete"


class _StatusModel(Cloneable):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", validate_assignment=True)


class WaveCounts(_StatusModel):
    """How many members are where (after the releases of the pass that wrote it)."""

    members: int = 0
    held: int = 0
    released: int = 0
    in_flight: int = Field(default=0, alias="inFlight")
    registered: int = 0
    failed: int = 0
    stuck: int = 0
    by_phase: dict[str, int] = Field(default_factory=dict, alias="byPhase")


class WaveFailure(_StatusModel):
    """A member that counts against the failure budget: Failed, or stuck on a problem (`stuck`)."""

    member: str
    reason: str
    since: Timestamp | None = None
    stuck: bool = False


class LoaWarning(_StatusModel):
    """A member whose LOA will be too old at the next window start (it is held until renewed)."""

    member: str
    message: str


class WindowInterval(_StatusModel):
    start: Timestamp
    end: Timestamp


class WaveStatus(_StatusModel):
    """`status` of a MigrationWave."""

    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    phase: WavePhase | None = None
    conditions: list[Condition] = Field(default_factory=list)
    counts: WaveCounts | None = None
    failures: list[WaveFailure] = Field(default_factory=list)
    canary: list[str] = Field(default_factory=list)
    canary_passed_at: Timestamp | None = Field(default=None, alias="canaryPassedAt")
    approval_requested_at: Timestamp | None = Field(default=None, alias="approvalRequestedAt")
    approved_at: Timestamp | None = Field(default=None, alias="approvedAt")
    last_handled_approval: str | None = Field(default=None, alias="lastHandledApproval")
    last_handled_retry: str | None = Field(default=None, alias="lastHandledRetry")
    next_window: WindowInterval | None = Field(default=None, alias="nextWindow")
    window_open: bool | None = Field(default=None, alias="windowOpen")
    loa_warnings: list[LoaWarning] = Field(default_factory=list, alias="loaWarnings")

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> WaveStatus:
        return cls.from_dict(body.get("status"))

    @classmethod
    def from_dict(cls, status: Mapping[str, Any] | None) -> WaveStatus:
        return cls.model_validate(dict(status or {}))

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def to_dict(self) -> dict[str, Any]:
        """The status as stored: camelCase, unset fields and empty lists omitted."""
        stored = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return {key: value for key, value in stored.items() if value != []}

    def to_patch(self, original: WaveStatus | None = None) -> dict[str, Any]:
        """A JSON merge patch for `status`: the changes from `original`, or a full replacement if None."""
        new = self.to_dict()
        if original is None:
            every = {(field.alias or name): None for name, field in type(self).model_fields.items()}
            return every | new
        return merge_patch_diff(original.to_dict(), new)

