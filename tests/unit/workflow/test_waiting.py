"""Temporary trouble and long waits: backoff, Retry-After, unknown stages, stalls, the webhook fast path."""

from __future__ import annotations

from datetime import timedelta

from support.loop_driver import POLICY, T0, UUID, Executor, FakePartners, make_facts, make_spec
from tendlc.api import Phase, RecordedWebhook
from tendlc.partner_errors import PartnerUnavailable
from tendlc.workflow import Act, ImportNumbers, PollCampaign, Wait, decide


def _submitted() -> tuple[Executor, FakePartners]:
    partners = FakePartners(sharing="ACCEPTED")
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0))
    return executor, partners


def test_unavailable_partner_waits_with_growing_delays_then_continues() -> None:
    partners = FakePartners()
    partners.faults[ImportNumbers] = [PartnerUnavailable("Infobip", "import", "503") for _ in range(5)]
    executor = Executor(make_spec(), partners)
    now, delays = T0, []
    for _ in range(5):
        decision = executor.round(make_facts(now))
        assert isinstance(decision, Wait)
        assert decision.status.attempts == len(delays) + 1
        assert decision.status.last_error == "503"
        delays.append(decision.delay)
        now += decision.delay
    assert delays == sorted(delays)
    assert delays[0] < delays[-1]
    assert all(d <= POLICY.backoff_max for d in delays)
    decision = executor.round(make_facts(now))
    assert decision.status.numbers_imported_at == now
    assert decision.status.last_error is None


def test_retry_after_is_honoured_even_above_the_backoff() -> None:
    partners = FakePartners()
    partners.faults[ImportNumbers] = [
        PartnerUnavailable("Infobip", "import", "429 Too Many Requests", retry_after=120.0, rate_limited=True)
    ]
    decision = Executor(make_spec(), partners).round(make_facts(T0))
    assert isinstance(decision, Wait)
    assert decision.delay == timedelta(seconds=120)


def test_a_poll_refused_with_429_is_retried_after_one_step_not_the_long_waits_backoff() -> None:
    """Hours into IN_MIGRATION the backoff is ~15 min; a 429 is not an attempt the partner served,
    so the due poll is retried after one initial step and the wait's backoff is unchanged (bench F11)."""
    executor, partners = _submitted()
    now = T0
    for _ in range(8):  # a long wait: the backoff has grown
        decision = executor.round(make_facts(now))
        now += decision.delay  # type: ignore[union-attr]
    attempts = executor.stored.attempts
    assert attempts >= 8
    partners.faults[PollCampaign] = [
        PartnerUnavailable("Infobip", "campaigns.get", "429 Too Many Requests", rate_limited=True)]
    refused = executor.round(make_facts(now))
    assert isinstance(refused, Wait)
    assert refused.delay <= POLICY.backoff_initial
    assert refused.status.attempts == attempts
    assert refused.status.last_error is not None
    assert "429" in refused.status.last_error
    plain = FakePartners(sharing="ACCEPTED")
    plain.faults[ImportNumbers] = [PartnerUnavailable("Infobip", "import", "503")]
    assert Executor(make_spec(), plain).round(make_facts(T0)).status.attempts == 1  # a 503 still counts


def test_no_call_before_the_next_check_time() -> None:
    executor, partners = _submitted()
    calls = len(partners.calls)
    decision = executor.round(make_facts(T0 + timedelta(seconds=5)))
    assert isinstance(decision, Wait)
    assert len(partners.calls) == calls
    assert decision.delay == executor.stored.next_check_at - (T0 + timedelta(seconds=5))  # type: ignore[operator]


def test_polling_backs_off_exponentially_up_to_the_maximum() -> None:
    executor, _partners = _submitted()
    now, delays = T0, []
    for _ in range(12):
        decision = executor.round(make_facts(now))
        assert isinstance(decision, Wait)
        delays.append(decision.delay)
        now += decision.delay
    assert delays[0] == timedelta(seconds=22.5)  # 30 s with equal jitter at 0.5
    assert delays[-1] == POLICY.backoff_max * 0.75
    assert delays == sorted(delays)


def test_unknown_stage_is_recorded_and_waited_on() -> None:
    executor, partners = _submitted()
    partners.stage = "UNDER_CARRIER_REVIEW_2027"
    decision = executor.round(make_facts(T0 + timedelta(hours=1)))
    assert isinstance(decision, Wait)
    assert decision.status.infobip_stage == "UNDER_CARRIER_REVIEW_2027"
    assert decision.status.phase is Phase.IN_MIGRATION
    assert decision.status.attempts == 1  # a new stage restarts the backoff


def test_stalled_after_the_threshold_tells_the_user_whom_to_contact_and_keeps_polling() -> None:
    executor, partners = _submitted()
    early = executor.round(make_facts(T0 + timedelta(hours=71)))
    assert early.status.condition("Stalled") is None
    late_time = T0 + timedelta(hours=73)
    late = decide(executor.spec, executor.stored, make_facts(late_time), POLICY)
    assert isinstance(late, Act)
    assert isinstance(late.action, PollCampaign)
    stalled = late.status.condition("Stalled")
    assert stalled is not None
    assert stalled.status == "True"
    assert "Registrations team" in stalled.message
    ready = late.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "Stalled"
    assert late.event is not None
    assert late.event.type == "Warning"
    partners.stage = "REGISTERED"
    done = executor.round(make_facts(late_time))
    stalled = done.status.condition("Stalled")
    assert stalled is not None
    assert (stalled.status, stalled.reason) == ("False", "NotStalled")


def test_webhook_newer_than_the_last_check_polls_at_once() -> None:
    executor, partners = _submitted()
    status = executor.stored.model_copy(deep=True)
    status.webhook = RecordedWebhook(stage="REGISTERED", received_at=T0 + timedelta(seconds=3))
    decision = decide(executor.spec, status, make_facts(T0 + timedelta(seconds=4)), POLICY)
    assert isinstance(decision, Act)
    assert isinstance(decision.action, PollCampaign)
    assert decision.action.infobip_campaign_id == UUID
    executor.stored = status
    partners.stage = "REGISTERED"
    assert executor.round(make_facts(T0 + timedelta(seconds=4))).status.phase is Phase.REGISTERED


def test_old_webhook_does_not_skip_the_backoff() -> None:
    executor, _ = _submitted()
    status = executor.stored.model_copy(deep=True)
    status.webhook = RecordedWebhook(stage="SUBMITTED", received_at=T0 - timedelta(hours=1))
    decision = decide(executor.spec, status, make_facts(T0 + timedelta(seconds=4)), POLICY)
    assert isinstance(decision, Wait)


def test_webhook_from_a_clock_ahead_of_ours_polls_once_not_forever() -> None:
    executor, _ = _submitted()
    status = executor.stored.model_copy(deep=True)
    # Infobip's clock is an hour ahead; what counts for "is a poll due" is when it reached us.
    status.webhook = RecordedWebhook(
        stage="SUBMITTED", received_at=T0 + timedelta(hours=1), arrived_at=T0 + timedelta(seconds=3)
    )
    first = decide(executor.spec, status, make_facts(T0 + timedelta(seconds=4)), POLICY)
    assert isinstance(first, Act)
    assert isinstance(first.action, PollCampaign)
    executor.stored = status
    after_poll = executor.round(make_facts(T0 + timedelta(seconds=5))).status
    again = decide(executor.spec, after_poll, make_facts(T0 + timedelta(seconds=6)), POLICY)
    assert isinstance(again, Wait)
