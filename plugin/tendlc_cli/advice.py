"""What each condition reason means for the user: what the operator waits for and what to do.

One table, keyed by every reason of `tendlc.api.Reason` (a unit test fails when a reason is added
without advice). `why` prints the entry of the Ready reason, `status` groups the fleet by the
category. Advice texts may hold `{target}` (replaced by `NAME -n NAMESPACE`) so that the command to
run can be pasted as printed. Pure data and one lookup; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from tendlc.api import Reason


class Category(StrEnum):
    """Who has the next move."""

    PROGRESS = "progress"
    """The operator: the migration advances by itself."""
    ACTION = "action"
    """You: the migration waits for a fix and continues by itself once it is made."""
    FAILED = "failed"
    """Nobody: permanent; a new CampaignMigration is needed."""
    CONTROL = "control"
    """You chose it (suspended, dry run); undo the control to go on."""
    DONE = "done"
    """Nothing left to do, or a step that completed."""


@dataclass(frozen=True)
class Advice:
    category: Category
    waiting_for: str
    """What the operator waits for, as the end of "Waiting for …"."""
    todo: str
    """What the user can do; may contain `{target}`."""

    def render(self, name: str, namespace: str) -> str:
        return self.todo.replace("{target}", f"{name} -n {namespace}")


_P, _A, _F, _C, _D = Category.PROGRESS, Category.ACTION, Category.FAILED, Category.CONTROL, Category.DONE
_NOTHING = "Nothing: the operator moves on by itself."
_SWITCH = "Switch the campaign's traffic to Infobip."
_RETRY = "then `kubectl tendlc retry {target}` to retry at once"

ADVICE: Mapping[str, Advice] = MappingProxyType({
    # Progress.
    Reason.PENDING: Advice(_P, "the operator to start (first reconcile)", _NOTHING),
    Reason.IMPORTING_NUMBERS: Advice(_P, "Infobip to import the numbers", _NOTHING),
    Reason.NUMBERS_IMPORTED: Advice(_D, "nothing (numbers imported)", _NOTHING),
    Reason.ELECTING_CNP: Advice(_P, "TCR to take the CNP election", _NOTHING),
    Reason.ELECTION_PENDING: Advice(
        _P, "TCR to show the CNP election ACCEPTED (the DCA decides)",
        "Nothing; if it stays PENDING for days, ask the DCA about the election.",
    ),
    Reason.CNP_ELECTED: Advice(_D, "nothing (CNP elected)", _NOTHING),
    Reason.OBSERVING_OUTCOME: Advice(
        _P, "the partner's answer on whether an interrupted request landed (never resent while in doubt)", _NOTHING
    ),
    Reason.HELD_BY_WAVE: Advice(
        _C, "its MigrationWave to release it (canary first, then within maxInFlight)",
        "Nothing, or see the wave: kubectl get mwave; a halted wave needs its failures fixed.",
    ),
    Reason.WAITING_FOR_WINDOW: Advice(
        _P, "the wave's next maintenance window (the submission waits for it)", _NOTHING
    ),
    Reason.SUBMITTING_MIGRATION: Advice(_P, "Infobip to accept the migration", _NOTHING),
    Reason.CHECKING_EXISTING_CAMPAIGN: Advice(
        _P, "Infobip's campaign search: the migration is sent only once it found no earlier one", _NOTHING
    ),
    Reason.MIGRATION_SUBMITTED: Advice(_D, "nothing (migration submitted)", _NOTHING),
    Reason.MIGRATION_ADOPTED: Advice(_D, "nothing (an earlier submission was found and adopted)", _NOTHING),
    Reason.IN_MIGRATION: Advice(
        _P, "Infobip to register the campaign (polled with backoff; a webhook ends the wait at once)",
        "Keep sending through your old provider. Stuck for days: contact the Infobip Registrations team.",
    ),
    Reason.AWAITING_OSR_CONFIRMATION: Advice(
        _A, "your confirmation that the OSR records point at Infobip's NNID (own NNID)",
        "Update the OSR records of the numbers, then `kubectl tendlc confirm-osr {target}` "
        "(add `--at TIME` if you updated them earlier: that time is the downtime start).",
    ),
    Reason.REGISTERED: Advice(_D, "nothing: the campaign is registered", _SWITCH),
    Reason.SWITCH_TRAFFIC: Advice(_D, "nothing: the campaign is registered", _SWITCH),
    Reason.SWITCHING_TRAFFIC: Advice(
        _P, "the cut-over to switch the traffic (the ConfigMap key and/or your endpoint; right after REGISTERED)",
        _NOTHING,
    ),
    Reason.TRAFFIC_SWITCHED: Advice(_D, "nothing: registered, and the cut-over switched the traffic", _NOTHING),
    Reason.LOA_VALID: Advice(_D, "nothing (LOA valid)", _NOTHING),
    Reason.RESUMED: Advice(_D, "nothing (resumed)", _NOTHING),
    Reason.NOT_STALLED: Advice(_D, "nothing (moving again)", _NOTHING),
    # Waiting for you.
    Reason.LOA_SECRET_MISSING: Advice(
        _A, "the LOA Secret to exist", "Create the Secret named in spec.loaSecretRef (`kubectl tendlc plan "
        "--apply-secrets` does it from the inventory); the migration continues by itself."
    ),
    Reason.LOA_DOCUMENT_MISSING: Advice(
        _A, "a signed LOA document in the Secret", "Put the signed document under the Secret's documentKey."
    ),
    Reason.LOA_SIGNED_DATE_MISSING: Advice(
        _A, "the LOA's signing date in the Secret",
        "Add the signing date (YYYY-MM-DD) under the Secret's signedDateKey.",
    ),
    Reason.LOA_SIGNED_DATE_INVALID: Advice(
        _A, "a readable LOA signing date", "Write the signing date as YYYY-MM-DD in the Secret."
    ),
    Reason.LOA_EXPIRED: Advice(
        _A, "an LOA signed within the last 30 days",
        "Have the LOA signed again and update the Secret (document and date).",
    ),
    Reason.LOA_DATED_IN_FUTURE: Advice(
        _A, "an LOA signing date that is not in the future", "Put the real signing date in the Secret."
    ),
    Reason.LOA_SECRET_NOT_LABELED: Advice(
        _A, "the LOA Secret to opt in with the label tendlc.io/usage=loa",
        "If the Secret really holds this migration's signed LOA, run the `kubectl label secret …` command the "
        "message prints; the migration continues by itself.",
    ),
    Reason.CREDENTIALS_SECRET_NOT_LABELED: Advice(
        _A, "the credentials Secret to opt in with the label tendlc.io/usage=infobip-credentials or tcr-credentials",
        "If the Secret really holds this namespace's partner credentials, run the `kubectl label secret …` command "
        "the message prints.",
    ),
    Reason.CUT_OVER_NOT_READY: Advice(
        _A, "the cut-over's ConfigMap or Secret to exist (nothing is submitted before: it ends the downtime)",
        "Create what the message names; the migration continues by itself.",
    ),
    Reason.CUT_OVER_NOT_ALLOWED: Advice(
        _A, "the cut-over to be allowed: its URL on TENDLC_ALLOWED_CUTOVER_HOSTS, its ConfigMap and Secret "
        "labeled tendlc.io/usage=cutover",
        "Run the `kubectl label …` command the message prints, or ask the platform team to allow the endpoint.",
    ),
    Reason.CUT_OVER_FAILING: Advice(
        _A, "the cut-over to succeed (retried with backoff; the campaign is registered, the old path is down)",
        "Fix what the message names (your endpoint's answer, the chart's ConfigMap grant); or switch the traffic "
        "yourself and remove spec.cutover.",
    ),
    Reason.PARTNER_ENDPOINT_NOT_ALLOWED: Advice(
        _A, "a partner URL on the operator's allow-list (nothing was sent to the one in the spec)",
        "Use an allowed endpoint in spec.infobip/spec.tcr.baseUrl, or ask the platform team to add it to "
        "TENDLC_ALLOWED_PARTNER_HOSTS.",
    ),
    Reason.CAMPAIGN_CLAIMED_ELSEWHERE: Advice(
        _A, "the older CampaignMigration of this campaign (named in the message) to be deleted",
        "Delete this CampaignMigration, or the one the message names if this one should migrate the campaign.",
    ),
    Reason.CAMPAIGN_NOT_ALLOWED_IN_NAMESPACE: Advice(
        _A, "this namespace to be allowed the campaign (annotation tendlc.io/allowed-campaigns)",
        "Ask a cluster admin to run the `kubectl annotate namespace …` command the message prints.",
    ),
    Reason.INVALID_SPEC: Advice(
        _A, "a spec this operator can read",
        "Update the CRD from crds/ (the installed one is older than the operator), or fix the field the message names.",
    ),
    Reason.CREDENTIALS_MISSING: Advice(
        _A, "the partner credentials Secret", "Create or fix the credentials Secret the message names."
    ),
    Reason.CREDENTIALS_REJECTED: Advice(
        _A, "working partner credentials (rechecked every 15 min)", f"Fix the credentials, {_RETRY}."
    ),
    Reason.IMPORT_NOT_ENABLED: Advice(
        _A, "your Infobip account to be enabled for number import",
        f"Ask your Infobip account manager to enable self-service number import, {_RETRY}.",
    ),
    Reason.PARTNER_FORBIDDEN: Advice(
        _A, "the partner to allow the call (403)",
        f"Ask your account manager to enable the API the message names, {_RETRY}.",
    ),
    Reason.IMPORT_REJECTED: Advice(
        _A, "numbers Infobip accepts (it refused the import)",
        "Fix spec.numbers (Infobip's words are in the message); the change resumes the migration.",
    ),
    Reason.OUTCOME_UNKNOWN: Advice(
        _A, "a human to establish whether an earlier request landed (the operator never guesses)",
        "Check what the message names (TCR sharing of the campaign, Infobip campaigns with that name and number); "
        "if the campaign exists under another name set spec.campaignName to it; "
        "then `kubectl tendlc retry {target}` to observe again.",
    ),
    Reason.CAMPAIGN_NOT_FOUND: Advice(
        _A, "Infobip to show the recorded campaign again (rechecked every 15 min)",
        "Ask the Infobip Registrations team about the campaign UUID in the message.",
    ),
    Reason.PARTNER_REJECTED: Advice(
        _A, "Infobip to show the campaign (rechecked every 15 min)",
        f"Read the partner's words in the message; {_RETRY}.",
    ),
    Reason.STALLED: Advice(
        _A, "Infobip to register the campaign: more than 72 h since submission (still polling)",
        "Contact the Infobip Registrations team with the campaign ID.",
    ),
    # Your controls.
    Reason.SUSPENDED: Advice(
        _C, "the suspension to be lifted (no partner calls meanwhile)",
        "`kubectl tendlc resume {target}` (or set spec.suspend to false where it is true).",
    ),
    Reason.DRY_RUN: Advice(
        _C, "dry run to be turned off (planned calls are in status.plannedCalls)",
        "Remove the tendlc.io/dry-run annotation (or the operator's dry-run setting) to make the calls.",
    ),
    # Permanent.
    Reason.ELECTION_REJECTED: Advice(
        _F, "nothing: TCR refused the election", "Read TCR's codes in the message; fix the cause, delete this "
        "CampaignMigration and create a new one."
    ),
    Reason.ELECTION_DECLINED: Advice(
        _F, "nothing: TCR shows the election DECLINED", "Read TCR's explanation in the message; resolve it with the "
        "DCA, then delete this CampaignMigration and create a new one."
    ),
    Reason.CAMPAIGN_EXPIRED: Advice(
        _F, "nothing: the campaign is expired at TCR", "Renew the campaign at TCR, then create a new CampaignMigration."
    ),
    Reason.MIGRATION_REJECTED: Advice(
        _F, "nothing: Infobip refused the migration", "Read Infobip's words in the message; fix the cause, delete "
        "this CampaignMigration and create a new one."
    ),
    Reason.CAMPAIGN_REJECTED: Advice(
        _F, "nothing: Infobip rejected the campaign",
        "Read the rejection reasons in the message; fix them with Infobip, then create a new CampaignMigration.",
    ),
    Reason.CAMPAIGN_DEREGISTERED: Advice(
        _F, "nothing: the campaign was deregistered", "Ask the Infobip Registrations team why it was deregistered."
    ),
    Reason.RECONCILE_ERROR: Advice(
        _P, "the operator's next pass (its last one failed: a Warning Event holds the error)",
        "Nothing if it passes; if the Event repeats, read the operator's log and report the error.",
    ),
    Reason.LOA_EXPIRES_BEFORE_SUBMISSION: Advice(
        _A, "a LOA that is still valid when the wave's next window opens",
        "Have the LOA signed again and update its Secret before the window; the migration continues by itself.",
    ),
    Reason.PARTNER_ANSWER_UNEXPECTED: Advice(
        _A, "the import to be confirmed by Infobip's owned-numbers list (retried with backoff)",
        "Ask Infobip whether the account's number import is asynchronous or enabled; the operator keeps trying.",
    ),
    Reason.UNREADABLE_STATUS: Advice(
        Category.ACTION,
        "nothing: unreadable status fields (written by another operator version) are rebuilt from the partners",
        "Run one operator version everywhere (a rollback or a mixed rollout wrote them).",
    ),
    Reason.STATUS_READABLE: Advice(_D, "nothing (every status field readable)", _NOTHING),
    Reason.UNKNOWN_PENDING_OPERATION: Advice(
        _A, "an operator version that knows the pending operation (a newer one wrote the exactly-once marker)",
        "Run the operator version that wrote it; or, once you checked at TCR and Infobip whether that request "
        "landed, remove status.pendingOperation (kubectl patch --subresource=status).",
    ),
    Reason.PARTNER_UNAVAILABLE: Advice(
        _P, "the partner to answer again (retried with backoff)", "Nothing: temporary trouble is retried by itself."
    ),
    # Large campaigns (D60-D63).
    Reason.ADDING_NUMBERS: Advice(
        _P, "Infobip to accept the add-numbers batches (the numbers not added yet have no service)",
        "Nothing; switch traffic once Ready is True (status.numbers shows the progress).",
    ),
    Reason.AWAITING_NUMBERS: Advice(
        _P, "Infobip to show every added number on the campaign (it adds them asynchronously)",
        "Nothing; if numbers stay missing for hours, ask the Infobip Registrations team.",
    ),
    Reason.NUMBERS_ADDED: Advice(_D, "nothing (every number is on the campaign)", _NOTHING),
    Reason.ADD_NUMBERS_REJECTED: Advice(
        _A, "numbers Infobip accepts on the campaign (it refused a batch)",
        f"Read Infobip's words in the message (a pool limit, numbers not in the account); fix it, {_RETRY}.",
    ),
    Reason.NUMBERS_CHANGED: Advice(
        _A, "the number list the migration was started with",
        "Restore the ConfigMap's numbers (they are fixed once submitted); migrate others with a new CampaignMigration.",
    ),
    Reason.NUMBERS_CONFIG_MAP_MISSING: Advice(
        _A, "the ConfigMap spec.numbersFrom names (and its key)",
        "Create the ConfigMap with the key the message names.",
    ),
    Reason.NUMBERS_CONFIG_MAP_NOT_LABELED: Advice(
        _A, "the ConfigMap to opt in with the label tendlc.io/usage=numbers",
        "Run the `kubectl label configmap` command the message gives.",
    ),
    Reason.NUMBERS_INVALID: Advice(
        _A, "a valid number list in the ConfigMap", "Fix the entries the message names; the migration continues.",
    ),
    Reason.NOT_BEFORE: Advice(
        _C, "spec.notBefore (nothing is sent before it)", "Nothing; or change spec.notBefore to start earlier.",
    ),
    # Preflight (D64-D67).
    Reason.PREFLIGHT: Advice(
        _C, "you: spec.mode is Preflight (read-only checks, nothing written)",
        "Read status.preflight; set spec.mode to Migrate to start the migration.",
    ),
    Reason.PREFLIGHT_PENDING: Advice(_P, "the preflight's partner reads", _NOTHING),
    Reason.ELIGIBLE: Advice(_D, "nothing: the preflight found no problem", "Set spec.mode to Migrate to start."),
    Reason.TCR_CAMPAIGN_NOT_FOUND: Advice(
        _A, "a campaign ID TCR knows", "Check spec.campaignId against TCR (a new CampaignMigration for another ID).",
    ),
    Reason.CAMPAIGN_SUSPENDED: Advice(
        _A, "the campaign to be unsuspended at the carrier(s) the message names",
        "Resolve the suspension with the carrier through your CNP, then run the preflight again "
        "(`kubectl tendlc retry {target}`).",
    ),
    Reason.CAMPAIGN_REJECTED_BY_CARRIER: Advice(
        _A, "the carrier(s) the message names to approve the campaign",
        "Resolve the rejection with the carrier through your CNP before migrating.",
    ),
    Reason.ELECTION_OPEN_ELSEWHERE: Advice(
        _A, "the election open towards another CNP to be withdrawn or declined",
        "Ask that CNP (or TCR support) to close its election before migrating.",
    ),
    Reason.TOO_MANY_NUMBERS_WITHOUT_POOL: Advice(
        _A, "a number pool (more than 49 numbers without one)",
        "Arrange a number pool with your Infobip account manager and set spec.numberPoolId, or move at most 49.",
    ),
    Reason.NUMBERS_IN_OTHER_CAMPAIGN: Advice(
        _A, "the numbers to leave the other Infobip campaigns the message names",
        "Remove them from those campaigns, or leave them out of this migration.",
    ),
    Reason.NUMBERS_IN_ACCOUNT: Advice(_D, "nothing (informative)", _NOTHING),
    Reason.MIGRATION_EXISTS: Advice(_D, "nothing (informative: the migration adopts that campaign)", _NOTHING),
    Reason.NUMBERS_TO_ADD: Advice(_D, "nothing (informative: numbers added after registration)", _NOTHING),
    Reason.ELECTION_EXISTS: Advice(_D, "nothing (informative: the election is reused)", _NOTHING),
})

UNKNOWN = Advice(
    Category.PROGRESS, "something this plugin does not know (a newer operator?)",
    "Read the condition's message; upgrade kubectl-tendlc to the operator's version.",
)


def advice_for(reason: str | None) -> Advice:
    """The entry for a reason; an unknown (newer) reason gets a neutral entry rather than an error."""
    return ADVICE.get(reason or "", UNKNOWN)
