"""The one vocabulary of tendlc: API coordinates, annotations, condition types, reasons and their
severity, and the partners' stage and sharing names the operator reacts to.

Every string a user or a script may match on (`kubectl wait --for=condition=Ready`, alerting on a
reason) is defined here once and documented in `docs/resource.md`; the public surface and its
deprecation rule are listed in `docs/stability.md`. Renaming one is a breaking change. Every other
room (workflow, controller, webhooks, the sandbox in devtools) imports these names instead of
spelling them again. Nothing here does anything; it is vocabulary only.
"""

from __future__ import annotations

from typing import Final, Literal

GROUP: Final = "tendlc.io"
VERSION: Final = "v1alpha1"
KIND: Final = "CampaignMigration"
PLURAL: Final = "campaignmigrations"
SHORT_NAME: Final = "cmig"
WAVE_KIND: Final = "MigrationWave"
WAVE_PLURAL: Final = "migrationwaves"
WAVE_SHORT_NAME: Final = "mwave"
CATEGORY: Final = "tendlc"
"""`kubectl get tendlc` lists both kinds."""

ANNOTATION_OSR_UPDATED: Final = "tendlc.io/osr-updated"
"""Own-NNID mode: the user confirms the OSR records point at Infobip (value: RFC 3339 time, or anything)."""
ANNOTATION_RETRY: Final = "tendlc.io/retry"
"""Any new value skips the current wait once and clears a problem that waits for a human."""
ANNOTATION_SUSPEND: Final = "tendlc.io/suspend"
"""`true` suspends the resource like `spec.suspend`."""
ANNOTATION_DRY_RUN: Final = "tendlc.io/dry-run"
"""`true` puts this resource in dry run (the executor reads it into `Facts.dry_run`)."""
CONTROL_ANNOTATIONS: Final = (ANNOTATION_OSR_UPDATED, ANNOTATION_RETRY, ANNOTATION_SUSPEND, ANNOTATION_DRY_RUN)
"""The annotations a user sets to steer a resource; a change of any of them wakes its loop at once."""
ANNOTATION_APPROVE: Final = "tendlc.io/approve"
"""On a MigrationWave: any new value approves the release of the members after the canary."""
WAVE_CONTROL_ANNOTATIONS: Final = (ANNOTATION_APPROVE, ANNOTATION_RETRY, ANNOTATION_SUSPEND)
"""The annotations a user sets on a MigrationWave (retry re-evaluates a halt, suspend = spec.suspend)."""
ANNOTATION_ALLOWED_CAMPAIGNS: Final = "tendlc.io/allowed-campaigns"
"""On a Namespace (set by cluster admins): the campaign IDs its CampaignMigrations may migrate (docs/security.md)."""

LABEL_USAGE: Final = "tendlc.io/usage"
"""On a Secret in a tenant's namespace: what the operator may use it for (one value per Secret, below)."""
USAGE_LOA: Final = "loa"
USAGE_INFOBIP_CREDENTIALS: Final = "infobip-credentials"
USAGE_TCR_CREDENTIALS: Final = "tcr-credentials"
USAGE_CUTOVER: Final = "cutover"
"""The Secret holding a cut-over webhook's HMAC key."""
USAGE_NUMBERS: Final = "numbers"
"""On a ConfigMap: it holds a number list that `spec.numbersFrom` may name (D62)."""


class ConditionType:
    """Condition types: `Ready` summarises; one per step; `Stalled` and `Suspended` when relevant."""

    READY: Final = "Ready"
    LOA_VALID: Final = "LoaValid"
    NUMBERS_IMPORTED: Final = "NumbersImported"
    CNP_ELECTED: Final = "CnpElected"
    MIGRATION_SUBMITTED: Final = "MigrationSubmitted"
    REGISTERED: Final = "Registered"
    STALLED: Final = "Stalled"
    SUSPENDED: Final = "Suspended"
    STATUS_READABLE: Final = "StatusReadable"
    """False while the loaded status held fields this version could not read (until rewritten)."""
    TRAFFIC_SWITCHED: Final = "TrafficSwitched"
    """With a cut-over action: False until it succeeded once the campaign is REGISTERED."""
    # MigrationWave.
    PROGRESSING: Final = "Progressing"
    """True while the wave releases members or has members in flight."""
    HALTED: Final = "Halted"
    """True once the canary failed or the failure budget is spent: nothing more is released."""
    COMPLETE: Final = "Complete"
    """True when every member is Registered or Failed (`kubectl wait --for=condition=Complete`)."""
    NUMBERS_ADDED: Final = "NumbersAdded"
    """Campaigns of more than 200 numbers: True once every number is on the Infobip campaign (D60)."""
    ELIGIBLE: Final = "Eligible"
    """`spec.mode: Preflight`: True when the documented reads found no problem (D64)."""


class Reason:
    """Condition and Event reasons: CamelCase, stable, each documented in docs/resource.md."""

    # Progress (Ready=False while the migration advances by itself).
    PENDING: Final = "Pending"
    IMPORTING_NUMBERS: Final = "ImportingNumbers"
    ELECTING_CNP: Final = "ElectingCnp"
    ELECTION_PENDING: Final = "ElectionPending"
    SUBMITTING_MIGRATION: Final = "SubmittingMigration"
    IN_MIGRATION: Final = "InMigration"
    AWAITING_OSR_CONFIRMATION: Final = "AwaitingOsrConfirmation"
    OBSERVING_OUTCOME: Final = "ObservingOutcome"
    HELD_BY_WAVE: Final = "HeldByWave"
    """A MigrationWave selects the resource and has not released it yet (canary, maxInFlight, halt)."""
    WAITING_FOR_WINDOW: Final = "WaitingForWindow"
    """Ready to submit; the wave's next maintenance window is not open yet."""
    CHECKING_EXISTING_CAMPAIGN: Final = "CheckingExistingCampaign"
    """MigrationSubmitted: Infobip is searched for the campaign before the migration is sent (D24)."""
    # Step conditions turned True.
    LOA_VALID: Final = "LoaValid"
    NUMBERS_IMPORTED: Final = "NumbersImported"
    CNP_ELECTED: Final = "CnpElected"
    MIGRATION_SUBMITTED: Final = "MigrationSubmitted"
    MIGRATION_ADOPTED: Final = "MigrationAdopted"
    REGISTERED: Final = "Registered"
    SWITCH_TRAFFIC: Final = "SwitchTraffic"
    # The stored spec does not validate against this operator's model (a CRD older than the operator).
    INVALID_SPEC: Final = "InvalidSpec"
    """Event reason when the campaign is registered: switch traffic to Infobip now."""
    # The LOA (Park; fixed by updating the Secret).
    LOA_SECRET_MISSING: Final = "LoaSecretMissing"
    LOA_DOCUMENT_MISSING: Final = "LoaDocumentMissing"
    LOA_SIGNED_DATE_MISSING: Final = "LoaSignedDateMissing"
    LOA_SIGNED_DATE_INVALID: Final = "LoaSignedDateInvalid"
    LOA_EXPIRED: Final = "LoaExpired"
    LOA_DATED_IN_FUTURE: Final = "LoaDatedInFuture"
    LOA_EXPIRES_BEFORE_SUBMISSION: Final = "LoaExpiresBeforeSubmission"
    """Valid today, too old at the planned submission (the wave's next window): sign it again first."""
    LOA_SECRET_NOT_LABELED: Final = "LoaSecretNotLabeled"
    # Needs a human (Park).
    CREDENTIALS_MISSING: Final = "CredentialsMissing"
    CREDENTIALS_REJECTED: Final = "CredentialsRejected"
    CREDENTIALS_SECRET_NOT_LABELED: Final = "CredentialsSecretNotLabeled"
    PARTNER_ENDPOINT_NOT_ALLOWED: Final = "PartnerEndpointNotAllowed"
    CAMPAIGN_CLAIMED_ELSEWHERE: Final = "CampaignClaimedElsewhere"
    CAMPAIGN_NOT_ALLOWED_IN_NAMESPACE: Final = "CampaignNotAllowedInNamespace"
    IMPORT_NOT_ENABLED: Final = "ImportNotEnabled"
    PARTNER_FORBIDDEN: Final = "PartnerForbidden"
    OUTCOME_UNKNOWN: Final = "OutcomeUnknown"
    CAMPAIGN_NOT_FOUND: Final = "CampaignNotFound"
    PARTNER_REJECTED: Final = "PartnerRejected"
    PARTNER_ANSWER_UNEXPECTED: Final = "PartnerAnswerUnexpected"
    """Answers that could neither be read nor confirmed by a documented read; retried with backoff (D40)."""
    DRY_RUN: Final = "DryRun"
    # Permanent failures (phase Failed).
    IMPORT_REJECTED: Final = "ImportRejected"
    ELECTION_REJECTED: Final = "ElectionRejected"
    ELECTION_DECLINED: Final = "ElectionDeclined"
    CAMPAIGN_EXPIRED: Final = "CampaignExpired"
    MIGRATION_REJECTED: Final = "MigrationRejected"
    CAMPAIGN_REJECTED: Final = "CampaignRejected"
    CAMPAIGN_DEREGISTERED: Final = "CampaignDeregistered"
    # Temporary trouble (Wait; shown in lastError, not as a problem).
    PARTNER_UNAVAILABLE: Final = "PartnerUnavailable"
    # Controls.
    SUSPENDED: Final = "Suspended"
    RESUMED: Final = "Resumed"
    STALLED: Final = "Stalled"
    NOT_STALLED: Final = "NotStalled"
    # The operator itself failed a pass (a bug or an API outage); Event reason only.
    RECONCILE_ERROR: Final = "ReconcileError"
    # The cut-over action (TrafficSwitched; Ready waits for it when one is configured).
    SWITCHING_TRAFFIC: Final = "SwitchingTraffic"
    TRAFFIC_SWITCHED: Final = "TrafficSwitched"
    CUT_OVER_FAILING: Final = "CutOverFailing"
    """The cut-over failed three times in a row; still retried with backoff."""
    CUT_OVER_NOT_READY: Final = "CutOverNotReady"
    """Before submission: the cut-over's ConfigMap or Secret is missing; nothing is submitted until it exists."""
    CUT_OVER_NOT_ALLOWED: Final = "CutOverNotAllowed"
    """Before submission: the cut-over's URL is not on the allow-list, or its ConfigMap/Secret lacks the opt-in."""
    # A status written by another version (StatusReadable; the loop goes on).
    UNREADABLE_STATUS: Final = "UnreadableStatus"
    STATUS_READABLE: Final = "StatusReadable"
    # An exactly-once marker of an operation this version does not know (Park; the marker is kept).
    UNKNOWN_PENDING_OPERATION: Final = "UnknownPendingOperation"
    # Large campaigns (D60-D63): numbers beyond the 200 a migration carries.
    ADDING_NUMBERS: Final = "AddingNumbers"
    """Registered with the numbers the migration carried; the rest are being added (no service yet)."""
    AWAITING_NUMBERS: Final = "AwaitingNumbers"
    """Every batch was accepted (202); waiting until Infobip shows every number on the campaign."""
    NUMBERS_ADDED: Final = "NumbersAdded"
    ADD_NUMBERS_REJECTED: Final = "AddNumbersRejected"
    NUMBERS_CHANGED: Final = "NumbersChanged"
    """numbersFrom's list changed after the migration was submitted (Park until restored)."""
    NUMBERS_CONFIG_MAP_MISSING: Final = "NumbersConfigMapMissing"
    NUMBERS_CONFIG_MAP_NOT_LABELED: Final = "NumbersConfigMapNotLabeled"
    NUMBERS_INVALID: Final = "NumbersInvalid"
    """numbersFrom's list does not hold what spec.numbers would have to (pattern, unique, count)."""
    NOT_BEFORE: Final = "NotBefore"
    """spec.notBefore is in the future: nothing is sent to a partner before it."""
    # Preflight (D64-D67): Ready's reason in the mode, Eligible's reasons, and each problem's reason.
    PREFLIGHT: Final = "Preflight"
    PREFLIGHT_PENDING: Final = "PreflightPending"
    ELIGIBLE: Final = "Eligible"
    TCR_CAMPAIGN_NOT_FOUND: Final = "TcrCampaignNotFound"
    CAMPAIGN_SUSPENDED: Final = "CampaignSuspended"
    CAMPAIGN_REJECTED_BY_CARRIER: Final = "CampaignRejectedByCarrier"
    ELECTION_OPEN_ELSEWHERE: Final = "ElectionOpenElsewhere"
    TOO_MANY_NUMBERS_WITHOUT_POOL: Final = "TooManyNumbersWithoutPool"
    NUMBERS_IN_OTHER_CAMPAIGN: Final = "NumbersInOtherCampaign"
    # Preflight notes: informative, never a problem.
    NUMBERS_IN_ACCOUNT: Final = "NumbersInAccount"
    MIGRATION_EXISTS: Final = "MigrationExists"
    NUMBERS_TO_ADD: Final = "NumbersToAdd"
    ELECTION_EXISTS: Final = "ElectionExists"

WARNING_REASONS: Final = frozenset(
    {
        Reason.LOA_SECRET_MISSING,
        Reason.LOA_DOCUMENT_MISSING,
        Reason.LOA_SIGNED_DATE_MISSING,
        Reason.LOA_SIGNED_DATE_INVALID,
        Reason.LOA_EXPIRED,
        Reason.LOA_DATED_IN_FUTURE,
        Reason.LOA_EXPIRES_BEFORE_SUBMISSION,
        Reason.LOA_SECRET_NOT_LABELED,
        Reason.CREDENTIALS_MISSING,
        Reason.CREDENTIALS_SECRET_NOT_LABELED,
        Reason.PARTNER_ENDPOINT_NOT_ALLOWED,
        Reason.CAMPAIGN_CLAIMED_ELSEWHERE,
        Reason.CAMPAIGN_NOT_ALLOWED_IN_NAMESPACE,
        Reason.CREDENTIALS_REJECTED,
        Reason.IMPORT_NOT_ENABLED,
        Reason.PARTNER_FORBIDDEN,
        Reason.OUTCOME_UNKNOWN,
        Reason.CAMPAIGN_NOT_FOUND,
        Reason.PARTNER_REJECTED,
        Reason.PARTNER_ANSWER_UNEXPECTED,
        Reason.IMPORT_REJECTED,
        Reason.ELECTION_REJECTED,
        Reason.ELECTION_DECLINED,
        Reason.CAMPAIGN_EXPIRED,
        Reason.MIGRATION_REJECTED,
        Reason.CAMPAIGN_REJECTED,
        Reason.CAMPAIGN_DEREGISTERED,
        Reason.STALLED,
        Reason.INVALID_SPEC,
        Reason.RECONCILE_ERROR,
        Reason.UNREADABLE_STATUS,
        Reason.UNKNOWN_PENDING_OPERATION,
        Reason.CUT_OVER_FAILING,
        Reason.CUT_OVER_NOT_READY,
        Reason.CUT_OVER_NOT_ALLOWED,
        Reason.ADD_NUMBERS_REJECTED,
        Reason.NUMBERS_CHANGED,
        Reason.NUMBERS_CONFIG_MAP_MISSING,
        Reason.NUMBERS_CONFIG_MAP_NOT_LABELED,
        Reason.NUMBERS_INVALID,
        Reason.TCR_CAMPAIGN_NOT_FOUND,
        Reason.CAMPAIGN_SUSPENDED,
        Reason.CAMPAIGN_REJECTED_BY_CARRIER,
        Reason.ELECTION_OPEN_ELSEWHERE,
        Reason.TOO_MANY_NUMBERS_WITHOUT_POOL,
        Reason.NUMBERS_IN_OTHER_CAMPAIGN,
    }
)
"""Reasons whose Event is a Warning: something stopped the migration or needs a human. Every other
reason is Normal (progress, a step done, a control the user set)."""




class WaveReason:
    """MigrationWave condition and Event reasons: CamelCase, stable, documented in docs/resource.md.

    Apart from CampaignMigration's `Reason` so that what is said about a migration (the plugin's
    advice for each reason, the Warning set of a migration) is not diluted by the wave's words.
    """

    # Progressing.
    CANARY_IN_PROGRESS: Final = "CanaryInProgress"
    RELEASING_MEMBERS: Final = "ReleasingMembers"
    MEMBERS_IN_FLIGHT: Final = "MembersInFlight"
    AWAITING_APPROVAL: Final = "AwaitingApproval"
    NO_MEMBERS: Final = "NoMembers"
    SUSPENDED: Final = Reason.SUSPENDED
    RESUMED: Final = Reason.RESUMED
    INVALID_SPEC: Final = Reason.INVALID_SPEC
    """The stored spec does not validate against the operator's model (a cron field, a time zone)."""
    # Halted (True on a halt; Progressing=False carries the same reason).
    CANARY_FAILED: Final = "CanaryFailed"
    FAILURE_BUDGET_EXHAUSTED: Final = "FailureBudgetExhausted"
    WITHIN_BUDGET: Final = "WithinBudget"
    # Complete.
    ALL_MEMBERS_FINAL: Final = "AllMembersFinal"
    MEMBERS_REMAINING: Final = "MembersRemaining"
    # Event only.
    MEMBERS_RELEASED: Final = "MembersReleased"
    CANARY_PASSED: Final = "CanaryPassed"
    APPROVED: Final = "Approved"
    WINDOW_OPENED: Final = "WindowOpened"
    WINDOW_CLOSED: Final = "WindowClosed"
    LOA_EXPIRES_BEFORE_WINDOW: Final = "LoaExpiresBeforeWindow"


WAVE_WARNING_REASONS: Final = frozenset(
    {
        WaveReason.CANARY_FAILED,
        WaveReason.FAILURE_BUDGET_EXHAUSTED,
        WaveReason.LOA_EXPIRES_BEFORE_WINDOW,
        WaveReason.INVALID_SPEC,
    }
)
"""Wave reasons whose Event is a Warning: the wave stopped, or a member will not be released."""


def event_type(reason: str) -> Literal["Normal", "Warning"]:
    """`Warning` or `Normal`: the severity of a reason (of either kind), for its Event."""
    return "Warning" if reason in WARNING_REASONS or reason in WAVE_WARNING_REASONS else "Normal"


class Stage:
    """Infobip campaign stages the operator reacts to by name; any other string means "not final yet".

    Infobip's list grows between API versions (3.210.0 has nineteen; its own pages name more), so
    only the stages that end a migration are named; an unknown stage is waited on, never fatal.
    """

    REGISTERED: Final = "REGISTERED"
    IN_MIGRATION: Final = "IN_MIGRATION"
    REJECTED: Final = "REJECTED"
    REJECTED_EXTERNALLY: Final = "REJECTED_EXTERNALLY"
    DEREGISTERED: Final = "DEREGISTERED"


FAILURE_STAGES: Final = frozenset({Stage.REJECTED, Stage.REJECTED_EXTERNALLY, Stage.DEREGISTERED})
"""Stages that end a migration as Failed."""
FINAL_STAGES: Final = FAILURE_STAGES | {Stage.REGISTERED}
"""Stages that end a migration: a webhook never moves a campaign out of one without a newer time."""


class Sharing:
    """TCR sharing statuses of a CNP election (`GET /v2/campaign/{id}/sharing`)."""

    PENDING: Final = "PENDING"
    ACCEPTED: Final = "ACCEPTED"
    DECLINED: Final = "DECLINED"
    NONE: Final = "NONE"
    """Our own marker: TCR shows no election of the spec's upstream CNP (sharedByMe absent or another CNP)."""


KNOWN_NETWORKS: Final = frozenset({
    "ATT", "T_MOBILE", "VERIZON", "US_CELLULAR", "US_CELLULAR_SMS", "US_CELLULAR_MMS", "INTEROP", "CLEARSKY",
    "GOOGLE_VOICE", "ZIPWHIP", "LIBERTY", "DISH", "CHARTER_SPECTRUM", "C_SPIRE", "GOOGLE_FI", "TRACFONE",
    "CAMPAIGN_REGISTRY",
})
"""Carrier networks a `CAMPAIGN_NETWORK_STATUS_UPDATE` may name: the numbers OpenAPI's `CampaignRegistrar`
enum (what `content.campaignNetwork` refers to) and its `Network` enum. Updates for any other name are
skipped, so `status.networkStatuses` has a fixed maximum size."""

TCR_CODE_CAMPAIGN_EXPIRED: Final = "518"
"""TCR's error code for an expired campaign."""

class OperationStatus:
    """TCR's per-MNO campaign operation status (`GET /v2/campaign/{id}/operationStatus`, D65)."""

    SUSPENDED: Final = "SUSPENDED"
    REJECTED: Final = "REJECTED"
