"""What the executor observed outside the status this round (`Facts`) and the workflow's knobs (`Policy`).

The workflow is pure: everything it needs from the world — the clock, the LOA Secret's content,
whether credentials are present, the resource's annotations, dry run — arrives here as plain values
read by the executor. Nothing in this module reads a Secret, an environment variable or a clock.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from tendlc.api.constants import Reason
from tendlc.api.spec import CutOver


class LoaProblem(StrEnum):
    """What the executor found wrong with the LOA Secret (each is also a LoaValid reason)."""

    SECRET_MISSING = Reason.LOA_SECRET_MISSING
    DOCUMENT_MISSING = Reason.LOA_DOCUMENT_MISSING
    SIGNED_DATE_MISSING = Reason.LOA_SIGNED_DATE_MISSING
    SIGNED_DATE_INVALID = Reason.LOA_SIGNED_DATE_INVALID


@dataclass(frozen=True)
class LoaFacts:
    """The LOA Secret as read this round: a signed date, or the problem found (with a human detail).

    Built by `tendlc.workflow.secrets.read_loa` or the constructors: `LoaFacts.ok(date)`,
    `LoaFacts.secret_missing(name)`, `LoaFacts.document_missing(name, key)`,
    `LoaFacts.signed_date_missing(name, key)`, `LoaFacts.signed_date_invalid(name, key)`. A detail
    names the Secret and key and the expected shape, never the Secret's content. `unlabeled_fix` is
    the `kubectl label` command when the Secret lacks the `tendlc.io/usage=loa` opt-in (None when it
    has it); `decide` refuses such a Secret unless the migration passed the LOA gate before the label
    was required. Age checks are the workflow's job, not the executor's.
    """

    signed_date: date | None = None
    problem: LoaProblem | None = None
    detail: str = ""
    unlabeled_fix: str | None = None

    @classmethod
    def ok(cls, signed_date: date) -> LoaFacts:
        return cls(signed_date=signed_date)

    @classmethod
    def secret_missing(cls, name: str) -> LoaFacts:
        return cls(problem=LoaProblem.SECRET_MISSING, detail=f"Secret {name!r} (loaSecretRef) does not exist")

    @classmethod
    def document_missing(cls, name: str, key: str) -> LoaFacts:
        return cls(
            problem=LoaProblem.DOCUMENT_MISSING,
            detail=f"Secret {name!r} has no non-empty key {key!r} holding the signed LOA document",
        )

    @classmethod
    def signed_date_missing(cls, name: str, key: str) -> LoaFacts:
        return cls(
            problem=LoaProblem.SIGNED_DATE_MISSING,
            detail=f"Secret {name!r} has no key {key!r} holding the LOA's signing date (YYYY-MM-DD)",
        )

    @classmethod
    def signed_date_invalid(cls, name: str, key: str) -> LoaFacts:
        """The value is deliberately not taken: it is a Secret's content, never shown."""
        return cls(
            problem=LoaProblem.SIGNED_DATE_INVALID,
            detail=f"Secret {name!r} key {key!r} is not a date of the form YYYY-MM-DD (e.g. 2026-11-20, "
            "nothing else on the line); its value is not shown because it is a Secret's",
        )


@dataclass(frozen=True)
class OsrConfirmation:
    """The `tendlc.io/osr-updated` annotation: its raw value and, if the value is an RFC 3339 time, that time."""

    value: str
    at: datetime | None = None


@dataclass(frozen=True)
class Annotations:
    """The control annotations of the resource, parsed by the executor."""

    osr_updated: OsrConfirmation | None = None
    retry: str | None = None
    suspend: bool = False


@dataclass(frozen=True)
class WaveGate:
    """What the member's MigrationWave says this pass (the controller reads it from the wave).

    `released`: the wave let it start (canary first, within maxInFlight); `submission_open`: a window
    is open now (and the wave is not suspended); `osr_allowed`: an own-NNID customer may update the
    OSR records now; `next_window`: when the next window opens, if one is coming.
    """

    wave: str
    released: bool
    submission_open: bool = True
    osr_allowed: bool = True
    next_window: datetime | None = None
    submission_closes_at: datetime | None = None
    """While a window is open: when it closes (a submission must be sent by then)."""
    cutover: CutOver | None = None
    """The wave's default cut-over, for a member whose own spec names none."""


@dataclass(frozen=True)
class NumbersSourceProblem:
    """Why `spec.numbersFrom` gave no usable list this round (a ConfigMap missing, unlabeled, invalid)."""

    reason: str
    message: str


@dataclass(frozen=True)
class Facts:
    """Everything observed this round that is not in the status."""

    now: datetime
    loa: LoaFacts
    credentials_problem: str | None = None
    """Missing/incomplete/unlabeled credentials Secret or a refused endpoint, as a message."""
    credentials_reason: str | None = None
    """The stable reason of `credentials_problem` (`CredentialsProblem.reason`); None: CredentialsMissing."""
    claimed_by: str | None = None
    """`namespace/name` of the older live CampaignMigration that claims this campaign ID (workflow.claims)."""
    campaign_not_allowed: str | None = None
    """Why the namespace may not migrate this campaign ID (the namespace policy, workflow.claims), if so."""
    annotations: Annotations = field(default_factory=Annotations)
    dry_run: bool = False
    """Operator-wide dry run, or the resource's `tendlc.io/dry-run: "true"` annotation."""
    generation: int = 1
    """`metadata.generation` of the resource."""
    unreadable_status: tuple[str, ...] = ()
    """Status fields the controller could not read when it loaded the resource (another version's)."""
    wave: WaveGate | None = None
    """The MigrationWave that selects this resource, if any."""
    cutover_problem: CutOverProblem | None = None
    """What would stop the cut-over now (checked only before submission; tendlc.cutover)."""
    numbers_problem: NumbersSourceProblem | None = None
    """`spec.numbersFrom` could not be read or held no valid list; the spec's `numbers` are then empty."""


@dataclass(frozen=True)
class CutOverProblem:
    """Why the cut-over could not run now: a stable reason and a message for humans (never a secret)."""

    reason: str
    message: str


@dataclass(frozen=True)
class Policy:
    """Timing and limits of the workflow.

    Deliberately without defaults: the operator's configuration (`tendlc.config.Settings.policy()`)
    is the one place they are set, so the workflow can never run on a second, different set.
    """

    loa_max_age: timedelta
    backoff_initial: timedelta
    backoff_max: timedelta
    stall_after: timedelta
    max_observe_attempts: int
    """Failed observations of an uncertain POST before parking with OutcomeUnknown."""
    park_recheck: timedelta
    """How soon a parked problem that may heal by itself (credentials, account enablement) is retried."""
    import_batch_size: int
    """Numbers per import request (docs/decisions.md D1); the dry-run plan shows the same batches."""
    clock_skew: timedelta
    """Tolerance when comparing an Infobip createdDate with our own pending marker."""
    absence_searches: int
    """Negative searches of Infobip before a campaign is taken to be absent (D24)."""
    absence_window: timedelta
    """How far apart the first and the last of them must be (Infobip's lists may lag a create)."""
    in_flight: timedelta
    """How long a sent request may still take effect (the request timeout): added to the window
    after an interrupted submission, whose POST may still be in flight when we look."""
    add_numbers_batch_size: int
    """Numbers per add-numbers request (at most the documented 5,000; D61)."""
    add_numbers_absence_window: timedelta
    """How long reads of the campaign's numbers must not show an interrupted batch before it is sent
    again (plus `in_flight`): Infobip applies a batch asynchronously (D61)."""
    preflight_refresh: timedelta
    """How old a preflight's partner reads may get before they are made again (D64)."""
    random: Callable[[], float] = _random.random
    """Jitter source in [0, 1); inject a constant for deterministic tests."""


def human_duration(duration: timedelta) -> str:
    """`45 seconds`, `15 minutes`, `2 hours`, `3 days`: how a message states a recheck interval."""
    seconds = max(int(duration.total_seconds()), 0)
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if (seconds >= size and seconds % size == 0) or seconds >= 2 * size:
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
