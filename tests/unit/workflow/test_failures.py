"""Permanent failures and problems that need a human, each with the partner's words and what to do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.loop_driver import POLICY, T0, UUID, Executor, FakePartners, make_facts, make_spec
from tendlc.api import Phase
from tendlc.partner_errors import (
    PartnerAuthFailed,
    PartnerForbidden,
    PartnerNotFound,
    PartnerProblem,
    PartnerRejected,
)
from tendlc.workflow import (
    Annotations,
    ElectCnp,
    Fail,
    ImportNumbers,
    ObserveElection,
    Park,
    PollCampaign,
    SubmitMigration,
)


def _submitted(**partners: object) -> tuple[Executor, FakePartners]:
    fake = FakePartners(sharing="ACCEPTED", **partners)  # type: ignore[arg-type]
    executor = Executor(make_spec(), fake)
    executor.round(make_facts(T0))
    assert executor.stored.infobip_campaign_id == UUID
    return executor, fake


@pytest.mark.parametrize(
    ("stage", "reason"),
    [
        ("REJECTED", "CampaignRejected"),
        ("REJECTED_EXTERNALLY", "CampaignRejected"),
        ("DEREGISTERED", "CampaignDeregistered"),
    ],
)
def test_rejected_campaign_fails_with_infobip_reason(stage: str, reason: str) -> None:
    executor, partners = _submitted()
    partners.stage, partners.rejection = stage, "E123: Brand not verified (resubmit with EIN)"
    decision = executor.until(T0, Fail)
    status = decision.status
    assert status.phase is Phase.FAILED
    assert status.failed_at is not None
    ready = status.condition("Ready")
    registered = status.condition("Registered")
    assert ready is not None
    assert registered is not None
    assert (ready.status, ready.reason) == ("False", reason)
    assert registered.reason == reason
    assert "Brand not verified" in ready.message
    assert executor.events[-1].type == "Warning"
    assert executor.events[-1].reason == reason


def test_failed_is_terminal_no_more_calls() -> None:
    executor, partners = _submitted()
    partners.stage = "REJECTED"
    executor.until(T0, Fail)
    calls = len(partners.calls)
    again = executor.round(make_facts(T0 + timedelta(days=1), annotations=Annotations(retry="again")))
    assert isinstance(again, Fail)
    assert len(partners.calls) == calls


def test_tcr_declined_election_fails_with_tcr_explanation() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    partners.sharing, partners.explanation = "DECLINED", "Campaign vertical not supported by CNP"
    decision = executor.until(T0, Fail)
    assert decision.status.phase is Phase.FAILED
    cnp = decision.status.condition("CnpElected")
    assert cnp is not None
    assert cnp.reason == "ElectionDeclined"
    assert "Campaign vertical not supported" in cnp.message
    assert partners.count(SubmitMigration) == 0


def test_expired_campaign_518_fails_after_observing() -> None:
    partners = FakePartners()
    expired = PartnerRejected(
        "TCR", "migrateCnp", "400", status=400, problems=(PartnerProblem("518", "Campaign expired", "campaignId"),)
    )
    partners.faults[ElectCnp] = [expired]
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0))
    assert isinstance(decision, Fail)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "CampaignExpired"
    assert "Campaign expired" in ready.message
    assert [type(c).__name__ for c in partners.calls] == [
        "ImportNumbers",
        "ObserveElection",
        "ElectCnp",
        "ObserveElection",
    ]
    assert decision.status.pending_operation is None


def test_old_declined_election_without_our_post_allows_a_new_election() -> None:
    partners = FakePartners(sharing="DECLINED")
    executor = Executor(make_spec(), partners)

    decision = executor.round(make_facts(T0))
    assert partners.count(ElectCnp) == 1
    assert decision.status.problem is None


def test_wrong_credentials_park_with_credentials_rejected_and_recheck() -> None:
    partners = FakePartners()
    partners.faults[ImportNumbers] = [PartnerAuthFailed("Infobip", "import", "Invalid login details", status=401)]
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0))
    assert isinstance(decision, Park)
    assert decision.recheck_after == POLICY.park_recheck
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "CredentialsRejected"
    assert "Invalid login details" in ready.message
    assert executor.events[-1].type == "Warning"
    # Before the recheck time nothing happens; afterwards it tries again and succeeds.
    assert isinstance(executor.round(make_facts(T0 + POLICY.park_recheck / 2)), Park)
    assert partners.count(ImportNumbers) == 1
    later = executor.round(make_facts(T0 + POLICY.park_recheck))
    assert partners.count(ImportNumbers) == 2
    assert later.status.problem is None


def test_401_on_election_clears_the_marker_because_nothing_happened() -> None:
    partners = FakePartners()
    partners.faults[ElectCnp] = [PartnerAuthFailed("TCR", "migrateCnp", "Unauthorized", status=401)]
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0))
    assert isinstance(decision, Park)
    assert decision.status.pending_operation is None
    assert "spec.tcr.credentialsSecretRef" in decision.status.problem.message  # type: ignore[union-attr]


def test_import_not_enabled_parks_with_guidance() -> None:
    partners = FakePartners()
    partners.faults[ImportNumbers] = [PartnerForbidden("Infobip", "import", "Forbidden", status=403)]
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0))
    assert isinstance(decision, Park)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "ImportNotEnabled"
    assert "account manager" in ready.message
    assert "tendlc.io/retry" in ready.message
    assert partners.count(ElectCnp) == 0
    # Once enabled, the retry annotation continues at once.
    executor.round(make_facts(T0 + timedelta(minutes=2), annotations=Annotations(retry="enabled")))
    assert partners.count(ImportNumbers) == 2
    assert partners.count(ElectCnp) == 1


def test_import_rejected_waits_for_a_spec_fix() -> None:
    partners = FakePartners()
    bad = PartnerRejected(
        "Infobip",
        "import",
        "Bad request",
        status=400,
        problems=(PartnerProblem("BAD_REQUEST", "number not importable", "numbers[1]"),),
    )
    partners.faults[ImportNumbers] = [bad]
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0))
    assert isinstance(decision, Park)
    assert decision.status.phase is Phase.PENDING
    assert "number not importable" in decision.status.problem.message  # type: ignore[union-attr]
    executor.spec = make_spec(numbers=["19546899283"])
    executor.round(make_facts(T0 + timedelta(minutes=1), generation=2))
    assert partners.count(ImportNumbers) == 2


def test_migration_refused_for_another_reason_fails_with_infobip_words() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    partners.faults[SubmitMigration] = [
        PartnerRejected("Infobip", "migrate", "numberPoolID: pool not enabled for migration", status=400)
    ]
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0))
    assert isinstance(decision, Fail)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "MigrationRejected"
    assert "pool not enabled" in ready.message
    assert decision.status.pending_operation is None


def test_campaign_unknown_when_polling_parks_and_rechecks() -> None:
    executor, partners = _submitted()
    partners.faults[PollCampaign] = [PartnerNotFound("Infobip", "campaign", "Not found", status=404)]
    decision = executor.round(make_facts(T0 + timedelta(hours=1)))
    assert isinstance(decision, Park)
    assert decision.status.problem is not None
    assert decision.status.problem.reason == "CampaignNotFound"
    assert decision.recheck_after == POLICY.park_recheck


def test_missing_credentials_secret_parks_before_any_call() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    facts = make_facts(T0, credentials_problem="Secret 'infobip-credentials' has no key 'apiKey'")
    decision = executor.round(facts)
    assert isinstance(decision, Park)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "CredentialsMissing"
    assert "apiKey" in ready.message
    assert partners.calls == []
    executor.round(make_facts(T0 + timedelta(minutes=1)))
    assert partners.count(ObserveElection) >= 1
