"""Own-NNID mode: wait for the user's OSR confirmation, keep polling, accept REGISTERED regardless."""

from __future__ import annotations

from datetime import timedelta

from support.loop_driver import T0, Executor, FakePartners, make_facts, make_spec
from tendlc.api import Phase
from tendlc.workflow import Annotations, Done, Fail, ImportNumbers, OsrConfirmation, PollCampaign, Wait


def _own() -> tuple[Executor, FakePartners]:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(nnid="Own"), partners)
    decision = executor.round(make_facts(T0))
    assert isinstance(decision, Wait)
    return executor, partners


def test_own_nnid_sends_the_client_managed_flags() -> None:
    _executor, partners = _own()
    imports = [c for c in partners.calls if isinstance(c, ImportNumbers)]
    assert imports[0].skip_osr_update is False
    submit = next(c for c in partners.calls if type(c).__name__ == "SubmitMigration")
    assert submit.request.body()["isClientManageNnid"] is True  # type: ignore[attr-defined]


def test_own_nnid_waits_for_the_osr_annotation_while_polling() -> None:
    executor, partners = _own()
    status = executor.stored
    assert status.phase is Phase.AWAITING_OSR_CONFIRMATION
    ready = status.condition("Ready")
    assert ready is not None
    assert ready.reason == "AwaitingOsrConfirmation"
    assert "tendlc.io/osr-updated" in ready.message
    polls = partners.count(PollCampaign)
    executor.round(make_facts(T0 + timedelta(hours=1)))
    assert partners.count(PollCampaign) == polls + 1
    assert executor.stored.phase is Phase.AWAITING_OSR_CONFIRMATION

    confirmed_at = T0 + timedelta(hours=1, minutes=30)
    annotations = Annotations(osr_updated=OsrConfirmation("2026-11-20T10:30:00Z", confirmed_at))
    decision = executor.round(make_facts(T0 + timedelta(hours=2), annotations=annotations))
    assert decision.status.phase is Phase.IN_MIGRATION
    assert decision.status.downtime_started_at == confirmed_at
    partners.stage = "REGISTERED"
    done = executor.until(T0 + timedelta(hours=2), Done, annotations=annotations)
    assert done.status.downtime_started_at == confirmed_at
    assert done.status.downtime_ended_at is not None


def test_confirmation_without_a_time_uses_the_moment_it_was_seen() -> None:
    executor, _ = _own()
    seen = T0 + timedelta(hours=3)
    decision = executor.round(make_facts(seen, annotations=Annotations(osr_updated=OsrConfirmation("yes"))))
    assert decision.status.downtime_started_at == seen


def test_registered_is_accepted_without_the_annotation() -> None:
    executor, partners = _own()
    partners.stage = "REGISTERED"
    assert isinstance(executor.until(T0, Done), Done)


def test_rejection_is_seen_while_awaiting_confirmation() -> None:
    executor, partners = _own()
    partners.stage, partners.rejection = "REJECTED", "NNID not provisioned"
    decision = executor.until(T0, Fail)
    assert "NNID not provisioned" in decision.status.problem.message  # type: ignore[union-attr]
