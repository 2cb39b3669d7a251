"""An older, duplicate or out-of-order event never moves a resource backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tendlc.api.constants import FINAL_STAGES
from tendlc.webhooks.payload import STATUS_UPDATE, WebhookEvent, event_id
from tendlc.workflow.ordering import order_key, should_apply, stage_rank

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def event(status: str, at: datetime) -> WebhookEvent:
    return WebhookEvent(
        kind=STATUS_UPDATE,
        infobip_campaign_id="44e8c5fc",
        status=status,
        received_at=at,
        event_id=event_id(STATUS_UPDATE, "44e8c5fc", status, at),
    )


def test_first_event_applies_to_a_resource_with_nothing_recorded() -> None:
    assert should_apply(None, None, event("SUBMITTED", T0))


def test_newer_intermediate_event_applies() -> None:
    assert should_apply("SUBMITTED", T0, event("APPROVED_BY_INTERNAL_REVIEWER", T0 + timedelta(seconds=1)))


def test_older_intermediate_event_is_stale() -> None:
    assert not should_apply("APPROVED_BY_INTERNAL_REVIEWER", T0, event("SUBMITTED", T0 - timedelta(seconds=1)))


def test_intermediate_event_never_undoes_a_final_stage_even_if_newer() -> None:
    assert not should_apply("REGISTERED", T0, event("SUBMITTED", T0 + timedelta(hours=1)))


def test_final_event_applies_over_intermediate_even_if_older() -> None:
    assert should_apply("IN_MIGRATION", T0, event("REGISTERED", T0 - timedelta(minutes=5)))


def test_newer_final_event_replaces_an_older_final_stage() -> None:
    assert should_apply("REJECTED", T0, event("REGISTERED", T0 + timedelta(days=1)))


def test_older_final_event_does_not_replace_a_newer_final_stage() -> None:
    assert not should_apply("REGISTERED", T0, event("REJECTED", T0 - timedelta(days=1)))


def test_duplicate_event_is_not_applied_twice() -> None:
    assert not should_apply("REGISTERED", T0, event("REGISTERED", T0))


def test_polled_intermediate_stage_without_time_yields_to_any_event() -> None:
    assert should_apply("IN_MIGRATION", None, event("SUBMITTED", T0))


def test_polled_final_stage_without_time_is_not_left_on_an_event() -> None:
    assert not should_apply("REGISTERED", None, event("REJECTED", T0))


def test_unknown_stages_rank_as_intermediate() -> None:
    assert stage_rank("SOMETHING_NEW") == stage_rank("IN_MIGRATION") == 1
    assert all(stage_rank(stage) == 2 for stage in FINAL_STAGES)
    assert stage_rank(None) == stage_rank("") == 0


def test_naive_times_are_read_as_utc() -> None:
    assert order_key("SUBMITTED", T0.replace(tzinfo=None)) == order_key("SUBMITTED", T0)


# ------------------------------------------------------------------------------ properties

stages = st.sampled_from(
    ["SUBMITTED", "APPROVED_BY_INTERNAL_REVIEWER", "IN_MIGRATION", "ON_HOLD", "NEW_STAGE", *sorted(FINAL_STAGES)]
)
events = st.builds(event, stages, st.integers(0, 50).map(lambda minutes: T0 + timedelta(minutes=minutes)))


def fold(sequence: list[WebhookEvent]) -> tuple[str | None, datetime | None]:
    stage: str | None = None
    at: datetime | None = None
    for item in sequence:
        if should_apply(stage, at, item):
            stage, at = item.status, item.received_at
    return stage, at


@settings(max_examples=200, deadline=None)
@given(st.lists(events, min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_any_delivery_order_with_duplicates_ends_on_the_same_state(
    sequence: list[WebhookEvent], random: object
) -> None:
    shuffled = list(sequence) + list(sequence[: len(sequence) // 2])  # some duplicates
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert fold(shuffled) == fold(sequence)
    best = max(sequence, key=lambda item: order_key(item.status, item.received_at))
    assert fold(shuffled) == (best.status, best.received_at)


@settings(max_examples=200, deadline=None)
@given(events, events)
def test_once_final_an_intermediate_event_never_applies(final: WebhookEvent, late: WebhookEvent) -> None:
    if final.status not in FINAL_STAGES or late.status in FINAL_STAGES:
        return
    assert not should_apply(final.status, final.received_at, late)


@pytest.mark.parametrize("stage", sorted(FINAL_STAGES))
def test_a_resource_never_moves_from_final_to_intermediate(stage: str) -> None:
    assert not should_apply(stage, T0, event("IN_MIGRATION", T0 + timedelta(days=365)))
