"""The preflight's verdicts: observations in, problems, notes and "not checked" out (D64-D67).

Two kinds of check. *Local* ones need no partner and are evaluated every round from the spec and
the facts (credentials, the number source, the number count against the pool rules, the LOA at the
planned submission time). *Partner* ones turn one `PreflightObserved` — the documented GETs of
`RunPreflight` — into findings once per read. Every finding names its `check` (so a round can
replace the local ones) and carries a stable `reason`; a read that failed, or a fact no documented
read shows, is listed under "not checked" with why — never guessed. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from tendlc.api.constants import FAILURE_STAGES, OperationStatus, Reason, Sharing, Stage
from tendlc.api.spec import UNPOOLED_CARRIER_MAX, CampaignMigrationSpec
from tendlc.api.status import PreflightItem
from tendlc.workflow.facts import Facts, Policy
from tendlc.workflow.number_sets import numbers_to_add
from tendlc.workflow.preflight_actions import PreflightObserved, ReadFailed

# Check names, in the order their problems are reported (the first gives Eligible its reason).
CREDENTIALS = "Credentials"
NUMBERS_SOURCE = "NumbersSource"
TCR_CAMPAIGN = "TcrCampaign"
TCR_OPERATION_STATUS = "TcrOperationStatus"
TCR_SHARING = "TcrSharing"
LOA = "Loa"
NUMBER_COUNT = "NumberCount"
INFOBIP_NUMBER_USE = "InfobipNumberUse"
INFOBIP_OWNED_NUMBERS = "InfobipOwnedNumbers"
INFOBIP_EXISTING_MIGRATION = "InfobipExistingMigration"
IMPORT_ENABLED = "ImportEnabled"
MIGRATION_API_ENABLED = "MigrationApiEnabled"
NUMBER_POOL = "NumberPool"
ORDER = (CREDENTIALS, NUMBERS_SOURCE, TCR_CAMPAIGN, TCR_OPERATION_STATUS, TCR_SHARING, LOA, NUMBER_COUNT,
         INFOBIP_NUMBER_USE, INFOBIP_OWNED_NUMBERS, INFOBIP_EXISTING_MIGRATION)
LOCAL_CHECKS = frozenset({CREDENTIALS, NUMBERS_SOURCE, LOA, NUMBER_COUNT})
PARTNER_CHECKS = (TCR_CAMPAIGN, TCR_OPERATION_STATUS, TCR_SHARING, INFOBIP_OWNED_NUMBERS, INFOBIP_NUMBER_USE,
                  INFOBIP_EXISTING_MIGRATION)

# Why a check is listed under notChecked.
NO_DOCUMENTED_READ = "NoDocumentedRead"
READ_FAILED = "ReadFailed"
NOT_REPORTED = "NotReported"
NOT_READ = "NotRead"

MNO_NAMES = {"10017": "AT&T", "10035": "T-Mobile", "10037": "Verizon"}
"""MNO IDs of TCR's operation status, as other providers' public material names them (D32)."""
_SHOWN = 3

Findings = tuple[list[PreflightItem], list[PreflightItem], list[PreflightItem]]
"""(problems, notes, not checked)."""
_Failed = Callable[[str, str, ReadFailed], None]
"""How a partner check reports a read that failed (check, what was read, the failure)."""


def planned_submission(spec: CampaignMigrationSpec, facts: Facts) -> datetime:
    """When the migration would be submitted: now, or later if `notBefore` or the wave's window says so."""
    wave = facts.wave
    window = wave.next_window if wave is not None and not wave.submission_open else None
    moments = [facts.now, spec.not_before, window]
    return max(moment for moment in moments if moment is not None)


def always_not_checked(spec: CampaignMigrationSpec) -> list[PreflightItem]:
    """What no documented read reveals: listed every time, never guessed (D67)."""
    items = [
        PreflightItem(
            check=IMPORT_ENABLED, reason=NO_DOCUMENTED_READ,
            message="Whether the Infobip account is enabled for self-service number import: no documented read "
            "shows it; the first import answers 403 if not (ImportNotEnabled). Ask your account manager.",
        ),
        PreflightItem(
            check=MIGRATION_API_ENABLED, reason=NO_DOCUMENTED_READ,
            message="Whether the Infobip account may use the migration API (campaigns/migrate): no documented "
            "read shows it. Ask your account manager.",
        ),
    ]
    if spec.pooled:
        items.append(PreflightItem(
            check=NUMBER_POOL, reason=NO_DOCUMENTED_READ,
            message=f"Whether the revision for number pool {spec.number_pool_id!r} was arranged with your Infobip "
            "account manager before migrating: no documented read shows it (D63).",
        ))
    return items


def local_findings(spec: CampaignMigrationSpec, facts: Facts, policy: Policy, planned: datetime) -> Findings:
    """The checks that need no partner, evaluated every round."""
    problems: list[PreflightItem] = []
    notes: list[PreflightItem] = []
    if facts.credentials_problem is not None:
        reason = facts.credentials_reason or Reason.CREDENTIALS_MISSING  # or unlabeled, or an endpoint refused
        problems.append(PreflightItem(check=CREDENTIALS, reason=reason,
                                      message=f"{facts.credentials_problem.rstrip('.')}; no partner was read."))
    if facts.numbers_problem is not None:
        problems.append(PreflightItem(check=NUMBERS_SOURCE, reason=facts.numbers_problem.reason,
                                      message=facts.numbers_problem.message))
    loa = _loa_problem(facts, policy, planned)
    if loa is not None:
        problems.append(PreflightItem(check=LOA, reason=loa[0], message=loa[1]))
    count = len(spec.numbers)
    if count > UNPOOLED_CARRIER_MAX and not spec.pooled:
        problems.append(PreflightItem(
            check=NUMBER_COUNT, reason=Reason.TOO_MANY_NUMBERS_WITHOUT_POOL, count=count,
            message=f"{count} numbers without numberPoolId: a campaign without a number pool holds at most "
            f"{UNPOOLED_CARRIER_MAX} numbers at T-Mobile (and per Infobip's API), so carriers may refuse it. "
            "Arrange a number pool with your Infobip account manager and set spec.numberPoolId, or move at most "
            f"{UNPOOLED_CARRIER_MAX} numbers.",
        ))
    to_add = len(numbers_to_add(spec))
    if to_add:
        size = max(policy.add_numbers_batch_size, 1)
        notes.append(PreflightItem(
            check=NUMBER_COUNT, reason=Reason.NUMBERS_TO_ADD, count=to_add,
            message=f"The migration carries {count - to_add} numbers; the other {to_add} are added once the campaign "
            f"is REGISTERED, in {-(-to_add // size)} add-numbers request(s) of at most {size}; until then they "
            "have no service (D60).",
        ))
    return problems, notes, []


def _loa_problem(facts: Facts, policy: Policy, planned: datetime) -> tuple[str, str] | None:
    loa = facts.loa
    if loa.problem is not None:
        return loa.problem.value, f"{loa.detail}."
    if loa.unlabeled_fix is not None:
        return (Reason.LOA_SECRET_NOT_LABELED, "The LOA Secret is not labeled tendlc.io/usage=loa, so the migration "
                f"would not use it (docs/security.md): {loa.unlabeled_fix}")
    if loa.signed_date is None:
        return Reason.LOA_SIGNED_DATE_MISSING, "The LOA signing date is unknown."
    today, signed = facts.now.date(), loa.signed_date
    if signed > today:
        return Reason.LOA_DATED_IN_FUTURE, f"The LOA is dated {signed.isoformat()}, after today ({today.isoformat()})."
    valid_until = signed + policy.loa_max_age
    if today - signed > policy.loa_max_age:
        return (Reason.LOA_EXPIRED, f"The LOA signed on {signed.isoformat()} is {(today - signed).days} days old; "
                f"Infobip needs one no older than {policy.loa_max_age.days} days. Have it signed again.")
    if planned.date() - signed > policy.loa_max_age:
        return (
            Reason.LOA_EXPIRES_BEFORE_SUBMISSION,
            f"The LOA signed on {signed.isoformat()} is valid for submission until {valid_until.isoformat()}, but the "
            f"submission is planned for {planned.date().isoformat()} (notBefore, the wave's window, or now), when "
            f"it will be {(planned.date() - signed).days} days old. Have it signed closer to the submission.",
        )
    return None


def partner_findings(spec: CampaignMigrationSpec, seen: PreflightObserved) -> Findings:
    """What the documented reads showed (see the module docstring)."""
    problems: list[PreflightItem] = []
    notes: list[PreflightItem] = []
    missing: list[PreflightItem] = []

    def failed(check: str, what: str, read: ReadFailed) -> None:
        missing.append(PreflightItem(check=check, reason=READ_FAILED, message=f"{what}: {read.message}"))

    tcr = seen.tcr_campaign
    if isinstance(tcr, ReadFailed):
        failed(TCR_CAMPAIGN, f"GET /v2/campaign/{spec.campaign_id} failed", tcr)
    elif not tcr.found:
        problems.append(PreflightItem(
            check=TCR_CAMPAIGN, reason=Reason.TCR_CAMPAIGN_NOT_FOUND,
            message=f"TCR does not know campaign {spec.campaign_id} (404). Check spec.campaignId.",
        ))
    elif (tcr.status or "").upper() == "EXPIRED":
        problems.append(PreflightItem(check=TCR_CAMPAIGN, reason=Reason.CAMPAIGN_EXPIRED,
                                      message=f"TCR shows campaign {spec.campaign_id} as EXPIRED: an expired campaign "
                                      "cannot be migrated. Renew it at TCR first."))
    elif (tcr.status or "").upper() != "ACTIVE":
        missing.append(PreflightItem(check=TCR_CAMPAIGN, reason=NOT_REPORTED,
                                     message=f"TCR shows campaign {spec.campaign_id} with status {tcr.status!r}, "
                                     "which tendlc does not know (ACTIVE or EXPIRED are documented)."))
    _operation_status(spec, seen.operation_status, problems, missing, failed)
    _sharing(spec, seen, problems, notes, failed)
    _infobip(spec, seen, problems, notes, missing, failed)
    return problems, notes, missing


def _operation_status(spec: CampaignMigrationSpec, read: tuple[tuple[str, str], ...] | ReadFailed,
                      problems: list[PreflightItem], missing: list[PreflightItem], failed: _Failed) -> None:
    if isinstance(read, ReadFailed):
        failed(TCR_OPERATION_STATUS, f"GET /v2/campaign/{spec.campaign_id}/operationStatus failed", read)
        return
    if not read:
        missing.append(PreflightItem(check=TCR_OPERATION_STATUS, reason=NOT_REPORTED,
                                     message="No carrier reported an operation status to TCR (they are encouraged, "
                                     "not obliged, to): a suspension would not show."))
        return
    for status, reason, words in ((OperationStatus.SUSPENDED, Reason.CAMPAIGN_SUSPENDED, "suspended"),
                                  (OperationStatus.REJECTED, Reason.CAMPAIGN_REJECTED_BY_CARRIER, "rejected")):
        mnos = [mno for mno, value in read if value.upper() == status]
        if mnos:
            named = ", ".join(f"{MNO_NAMES.get(mno, 'MNO')} ({mno})" for mno in mnos)
            problems.append(PreflightItem(
                check=TCR_OPERATION_STATUS, reason=reason, count=len(mnos),
                message=f"TCR reports campaign {spec.campaign_id} {words} at {named}: a campaign {words} at a carrier "
                "cannot be migrated. Resolve it with the carrier (through your CNP) first.",
            ))


def _sharing(spec: CampaignMigrationSpec, seen: PreflightObserved, problems: list[PreflightItem],
             notes: list[PreflightItem], failed: _Failed) -> None:
    election = seen.election
    if isinstance(election, ReadFailed):
        failed(TCR_SHARING, f"GET /v2/campaign/{spec.campaign_id}/sharing failed", election)
        return
    status = (election.sharing_status or "").upper()
    if election.upstream_cnp_id is None or status not in (Sharing.PENDING, Sharing.ACCEPTED):
        return
    if election.upstream_cnp_id != spec.upstream_cnp_id:
        problems.append(PreflightItem(
            check=TCR_SHARING, reason=Reason.ELECTION_OPEN_ELSEWHERE,
            message=f"TCR shows an election of campaign {spec.campaign_id} to {election.upstream_cnp_id} ({status}): "
            f"it must be withdrawn or declined before {spec.upstream_cnp_id} can be elected.",
        ))
    else:
        notes.append(PreflightItem(
            check=TCR_SHARING, reason=Reason.ELECTION_EXISTS,
            message=f"TCR already shows the election to {spec.upstream_cnp_id} as {status}; the migration continues "
            "from it (it is not sent again).",
        ))


def _infobip(spec: CampaignMigrationSpec, seen: PreflightObserved, problems: list[PreflightItem],
             notes: list[PreflightItem], missing: list[PreflightItem], failed: _Failed) -> None:
    total = len(spec.numbers)
    owned = seen.owned
    if isinstance(owned, ReadFailed):
        failed(INFOBIP_OWNED_NUMBERS, "GET /numbers/1/numbers failed", owned)
    elif owned is not None:
        if owned.problem is not None:
            missing.append(PreflightItem(check=INFOBIP_OWNED_NUMBERS, reason=READ_FAILED,
                                         message=f"The owned-numbers list was not read in full: {owned.problem}"))
        notes.append(PreflightItem(
            check=INFOBIP_OWNED_NUMBERS, reason=Reason.NUMBERS_IN_ACCOUNT, count=owned.owned,
            message=f"{owned.owned} of {total} numbers are already in the Infobip account; the import step imports "
            "the others (importing again is harmless).",
        ))
    holding = seen.holding
    if isinstance(holding, ReadFailed):
        failed(INFOBIP_NUMBER_USE, "GET /number-registration/1/campaigns?number=… failed", holding)
    elif holding is not None:
        others = [c for c in holding if c.external_campaign_id != spec.campaign_id and c.stage not in _RELEASED]
        used = sorted({number for campaign in others for number in campaign.numbers})
        if used:
            shown = "; ".join(
                f"{c.infobip_campaign_id} (externalCampaignId {c.external_campaign_id or 'none'}, "
                f"{c.stage or 'stage unknown'}, {len(c.numbers)} numbers)" for c in others[:_SHOWN]
            )
            more = f" and {len(others) - _SHOWN} more" if len(others) > _SHOWN else ""
            problems.append(PreflightItem(
                check=INFOBIP_NUMBER_USE, reason=Reason.NUMBERS_IN_OTHER_CAMPAIGN, count=len(used),
                message=f"{len(used)} of the numbers ({_sample(used)}) are on other Infobip campaigns: {shown}{more}. "
                "Remove them there first, or leave them out of this migration.",
            ))
    existing = seen.existing
    if isinstance(existing, ReadFailed):
        failed(INFOBIP_EXISTING_MIGRATION, "the search for a campaign of this externalCampaignId (D4) failed", existing)
    elif existing is not None and existing.stage not in FAILURE_STAGES:
        words = "already REGISTERED" if existing.stage == Stage.REGISTERED else f"in stage {existing.stage}"
        notes.append(PreflightItem(
            check=INFOBIP_EXISTING_MIGRATION, reason=Reason.MIGRATION_EXISTS,
            message=f"Infobip already has campaign {existing.infobip_campaign_id} for externalCampaignId "
            f"{spec.campaign_id}, {words}: the migration adopts it instead of submitting another (D24).",
        ))


_RELEASED = FAILURE_STAGES | {"ARCHIVED"}
"""Stages of a campaign whose numbers no longer count as used."""


def _sample(numbers: Iterable[str]) -> str:
    listed = list(numbers)
    head = ", ".join(listed[:_SHOWN])
    return head + (f", … ({len(listed) - _SHOWN} more)" if len(listed) > _SHOWN else "")


def ordered(items: Iterable[PreflightItem]) -> list[PreflightItem]:
    """Findings in ORDER of their checks (stable within one check)."""
    rank = {check: index for index, check in enumerate(ORDER)}
    return sorted(items, key=lambda item: rank.get(item.check, len(ORDER)))
