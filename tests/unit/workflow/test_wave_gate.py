"""A MigrationWave's member: held before any partner call, released for good, submitted only in a window."""

from __future__ import annotations

from datetime import date, timedelta

from support.loop_driver import T0, Executor, FakePartners, make_facts, make_spec
from tendlc.api import Phase
from tendlc.partner_errors import RequestNotSent
from tendlc.workflow import ImportNumbers, LoaFacts, Park, SubmitMigration, Wait, WaveGate

HELD = WaveGate(wave="wave-1", released=False)
RELEASED_CLOSED = WaveGate(wave="wave-1", released=True, submission_open=False, next_window=T0 + timedelta(hours=6))
RELEASED_OPEN = WaveGate(wave="wave-1", released=True, submission_open=True)


def test_a_held_member_makes_no_partner_call_at_all() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0, wave=HELD))
    assert isinstance(decision, Park)
    assert partners.calls == []
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "HeldByWave"
    assert decision.status.phase is Phase.PENDING
    assert decision.status.release is None


def test_a_released_member_records_its_release_and_keeps_going_after_it_leaves_the_wave() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0, wave=RELEASED_OPEN))
    assert executor.stored.release is not None
    assert (executor.stored.release.wave, executor.stored.release.at) == ("wave-1", T0)
    assert partners.count(ImportNumbers) == 1
    # The wave no longer lists it as released (it left the selector, or the wave was halted): it goes on.
    later = executor.round(make_facts(T0 + timedelta(minutes=1), wave=HELD))
    assert not (isinstance(later, Park) and later.status.condition("Ready").reason == "HeldByWave")  # type: ignore[union-attr]


def test_a_member_that_had_started_before_its_wave_counts_as_released() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))  # imported and elected before any wave selected it
    calls = len(partners.calls)
    executor.round(make_facts(T0 + timedelta(minutes=1), wave=HELD))
    assert executor.stored.release is not None
    assert len(partners.calls) >= calls


def test_a_closed_window_stops_only_the_submission() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0, wave=RELEASED_CLOSED))
    assert isinstance(decision, Wait)
    assert decision.delay == timedelta(hours=6)
    assert partners.count(ImportNumbers) == 1  # import and election ran ahead
    assert partners.count(SubmitMigration) == 0
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "WaitingForWindow"
    assert "opens at" in ready.message
    opened = executor.round(make_facts(T0 + timedelta(hours=6), wave=RELEASED_OPEN))
    assert partners.count(SubmitMigration) == 1
    assert opened.status.infobip_campaign_id is not None


def test_an_loa_too_old_at_the_next_window_is_reported_before_it() -> None:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    signed = (T0 - timedelta(days=25)).date()  # valid today, 35 days old in ten days
    gate = WaveGate(wave="wave-1", released=True, submission_open=False, next_window=T0 + timedelta(days=10))
    decision = executor.round(make_facts(T0, wave=gate, loa=LoaFacts.ok(signed)))
    assert isinstance(decision, Park)
    loa = decision.status.condition("LoaValid")
    assert loa is not None
    assert (loa.status, loa.reason) == ("False", "LoaExpiresBeforeSubmission")
    assert (date.fromisoformat(signed.isoformat()) + timedelta(days=30)).isoformat() in loa.message
    assert partners.count(SubmitMigration) == 0


def test_a_submission_carries_the_windows_end_and_one_not_sent_in_time_waits_for_it() -> None:
    closes = T0 + timedelta(minutes=5)
    gate = WaveGate(wave="wave-1", released=True, submission_open=True, submission_closes_at=closes)
    late = RequestNotSent("Infobip", "campaigns.migrate", "not sent: the next turn is 9.00 s away, after the deadline")
    partners = FakePartners(sharing="ACCEPTED", faults={SubmitMigration: [late]})
    executor = Executor(make_spec(), partners)
    decision = executor.round(make_facts(T0, wave=gate))
    (submission,) = [call for call in partners.calls if isinstance(call, SubmitMigration)]
    assert submission.send_by == closes
    stored = executor.stored
    assert stored.pending_operation is None  # certain: nothing left, so no observation is needed
    assert stored.attempts == 0
    assert stored.next_check_at == closes
    assert isinstance(decision, Wait)
    # The window closed; the wave has not looked again yet: the member submits nothing.
    after = executor.round(make_facts(closes + timedelta(seconds=1), wave=gate))
    assert isinstance(after, Park)
    assert after.status.condition("Ready").reason == "WaitingForWindow"  # type: ignore[union-attr]
    assert partners.count(SubmitMigration) == 1
