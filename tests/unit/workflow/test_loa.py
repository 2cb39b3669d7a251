"""The LOA: checked before any partner call and at submission; parks with LoaValid=False, continues once fixed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from support.loop_driver import POLICY, T0, Executor, FakePartners, make_facts, make_spec
from tendlc.api import Phase
from tendlc.workflow import ImportNumbers, LoaFacts, Park, SubmitMigration, Wait


@pytest.mark.parametrize(
    ("loa", "reason", "words"),
    [
        (LoaFacts.ok(date(2026, 10, 1)), "LoaExpired", "50 days old"),
        (LoaFacts.ok(date(2026, 11, 21)), "LoaDatedInFuture", "2026-11-21"),
        (LoaFacts.secret_missing("cojd655-loa"), "LoaSecretMissing", "does not exist"),
        (LoaFacts.document_missing("cojd655-loa", "loa.pdf"), "LoaDocumentMissing", "'loa.pdf'"),
        (LoaFacts.signed_date_missing("cojd655-loa", "signedDate"), "LoaSignedDateMissing", "YYYY-MM-DD"),
        (LoaFacts.signed_date_invalid("cojd655-loa", "signedDate"), "LoaSignedDateInvalid", "YYYY-MM-DD"),
    ],
)
def test_invalid_loa_parks_before_any_partner_call(loa: LoaFacts, reason: str, words: str) -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0, loa=loa))
    assert isinstance(decision, Park)
    assert decision.recheck_after == POLICY.park_recheck
    assert decision.status.phase is Phase.PENDING
    loa_valid = decision.status.condition("LoaValid")
    ready = decision.status.condition("Ready")
    assert loa_valid is not None
    assert ready is not None
    assert (loa_valid.status, loa_valid.reason) == ("False", reason)
    assert ready.reason == reason
    assert words in loa_valid.message
    assert "cojd655-loa" in loa_valid.message
    assert partners.calls == []
    assert executor.events[-1].type == "Warning"


def test_loa_exactly_thirty_days_old_is_still_valid() -> None:
    decision = Executor(make_spec(), FakePartners()).round(make_facts(T0, loa=LoaFacts.ok(date(2026, 10, 21))))
    loa_valid = decision.status.condition("LoaValid")
    assert loa_valid is not None
    assert loa_valid.status == "True"
    assert "2026-11-20" in loa_valid.message


def test_expired_loa_then_renewed_continues_by_itself() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    assert isinstance(executor.round(make_facts(T0, loa=LoaFacts.ok(date(2026, 9, 1)))), Park)
    renewed = executor.round(make_facts(T0 + timedelta(minutes=3), loa=LoaFacts.ok(date(2026, 11, 20))))
    assert isinstance(renewed, Wait)
    assert partners.count(ImportNumbers) == 1
    loa_valid = renewed.status.condition("LoaValid")
    assert loa_valid is not None
    assert loa_valid.status == "True"
    assert loa_valid.last_transition_time == T0 + timedelta(minutes=3)


def test_loa_expiring_while_tcr_deliberates_blocks_the_submission() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    signed = date(2026, 11, 1)
    executor.round(make_facts(T0, loa=LoaFacts.ok(signed)))
    partners.sharing = "ACCEPTED"
    later = T0 + timedelta(days=15)
    decision = executor.round(make_facts(later, loa=LoaFacts.ok(signed)))
    assert isinstance(decision, Park)
    assert decision.status.phase is Phase.ELECTING_CNP
    assert partners.count(SubmitMigration) == 0
    renewed = executor.round(make_facts(later + timedelta(hours=1), loa=LoaFacts.ok(date(2026, 12, 5))))
    assert renewed.status.phase is Phase.IN_MIGRATION
    assert partners.count(SubmitMigration) == 1


def test_loa_is_not_rechecked_after_submission() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    decision = executor.round(make_facts(T0 + timedelta(days=40)))
    assert not isinstance(decision, Park)
    assert decision.status.phase is Phase.IN_MIGRATION
