"""Webhook bodies become WebhookEvents; anything malformed is a WebhookPayloadError and nothing else."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webhook_samples import CAMPAIGN_UUID, TCR_ID, body, network_message, status_message

from tendlc.api.constants import KNOWN_NETWORKS
from tendlc.webhooks.payload import (
    MAX_REJECTION_MESSAGE_LENGTH,
    NETWORK_STATUS_UPDATE,
    STATUS_UPDATE,
    WebhookPayloadError,
    parse_delivery,
    parse_webhook,
    render_rejection,
)


def test_registered_status_update_is_read_with_campaign_ids_and_time() -> None:
    (event,) = parse_webhook(body(status_message("REGISTERED")))
    assert event.kind == STATUS_UPDATE
    assert event.infobip_campaign_id == CAMPAIGN_UUID
    assert event.tcr_id == TCR_ID
    assert event.status == "REGISTERED"
    assert event.received_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert event.network is None
    assert event.rejection_message is None
    assert not event.is_network_update
    assert len(event.event_id) == 32


def test_rejection_is_rendered_with_reasons_details_and_recommended_action() -> None:
    message = status_message(
        "REJECTED",
        rejectionReasons="Unable to verify, need website.",
        rejectionDetails=[
            {"errorCode": "1001", "description": "Age gate missing", "recommendedAction": "Set the age gate"},
            {"errorCode": 1002, "description": "Opt-in unclear"},
            "not an object",
        ],
        rejectionDate="2026-11-27T08:00:00Z",
    )
    (event,) = parse_webhook(body(message))
    assert event.rejection_message == (
        "Unable to verify, need website.; 1001: Age gate missing (recommended action: Set the age gate); "
        "1002: Opt-in unclear"
    )
    assert event.rejection_date == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_rejection_reasons_as_a_list_are_read_too() -> None:
    assert render_rejection(["a", " ", 3, "b"], None) == "a; b"
    assert render_rejection(None, [{"recommendedAction": "call us"}]) == "recommended action: call us"
    assert render_rejection(None, None) is None


def test_a_very_long_rejection_is_cut_for_the_status() -> None:
    rendered = render_rejection("x" * 10_000, None)
    assert rendered is not None
    assert len(rendered) == MAX_REJECTION_MESSAGE_LENGTH


def test_network_status_update_carries_the_network() -> None:
    (event,) = parse_webhook(body(network_message("T_MOBILE", "ACTIVE")))
    assert event.kind == NETWORK_STATUS_UPDATE
    assert event.is_network_update
    assert event.network == "T_MOBILE"
    assert event.status == "ACTIVE"
    assert event.tcr_id is None


def test_unknown_status_values_are_kept_as_strings() -> None:
    events = parse_webhook(body(status_message("SOMETHING_NEW"), network_message("GOOGLE_FI", "PAUSED")))
    assert [event.status for event in events] == ["SOMETHING_NEW", "PAUSED"]
    assert events[1].network == "GOOGLE_FI"


def test_network_updates_for_networks_outside_the_spec_are_skipped_and_reported() -> None:
    delivery = parse_delivery(body(network_message("NEW_CARRIER"), network_message("VERIZON")))
    assert [event.network for event in delivery.events] == ["VERIZON"]
    assert delivery.skipped_kinds == ("CAMPAIGN_NETWORK_STATUS_UPDATE for unknown network NEW_CARRIER",)


def test_the_known_networks_are_the_specs_enums() -> None:
    spec = json.loads((Path(__file__).parents[2] / "data" / "specs" / "infobip" / "numbers-openapi.json").read_text())
    enums: set[str] = set()
    for name, schema in spec["components"]["schemas"].items():
        if name.endswith((".CampaignRegistrar", ".Network")):
            enums.update(schema["enum"])
    assert enums == KNOWN_NETWORKS


def test_several_messages_keep_their_order() -> None:
    events = parse_webhook(body(status_message("SUBMITTED"), status_message("REGISTERED")))
    assert [event.status for event in events] == ["SUBMITTED", "REGISTERED"]


def test_other_event_kinds_are_skipped_and_reported() -> None:
    delivery = parse_delivery(body({"event": "BRAND_STATUS_UPDATE", "content": {}}, status_message()))
    assert delivery.skipped_kinds == ("BRAND_STATUS_UPDATE",)
    assert len(delivery.events) == 1


@pytest.mark.parametrize(
    ("received_at", "expected"),
    [
        ("2026-11-26T10:00:00.123+0000", datetime(2026, 11, 26, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-26T12:00:00+02:00", datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
        ("2026-11-26T10:00:00", datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
    ],
)
def test_received_at_is_read_in_infobip_formats_as_utc(received_at: str, expected: datetime) -> None:
    (event,) = parse_webhook(body(status_message(received_at=received_at)))
    assert event.received_at == expected


def test_the_same_event_delivered_twice_has_the_same_id() -> None:
    first = parse_webhook(body(status_message("REGISTERED")))[0]
    again = parse_webhook(body(status_message("REGISTERED", received_at="2026-11-26T10:00:00+00:00")))[0]
    assert first.event_id == again.event_id


def test_events_differing_in_status_time_or_network_have_different_ids() -> None:
    ids = {
        parse_webhook(body(message))[0].event_id
        for message in (
            status_message("REGISTERED"),
            status_message("REJECTED"),
            status_message("REGISTERED", received_at="2026-11-26T10:00:01Z"),
            network_message("VERIZON"),
            network_message("T_MOBILE"),
        )
    }
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"results": {}}', "`results` must be an array"),
        (b'{"results": [1]}', r"results\[0\] must be an object"),
        (b'{"results": [{"content": {}}]}', r"results\[0\]\.event"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(WebhookPayloadError, match=reason):
        parse_webhook(raw)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"event": STATUS_UPDATE, "receivedAt": "2026-11-26T10:00:00Z"}, r"results\[0\].content must be an object"),
        (status_message(campaign_id=""), r"content.campaignId must be a non-empty string"),
        (status_message(campaign_id="x" * 500), r"content.campaignId is longer"),
        (status_message(campaign_id="abc\ndef"), r"content.campaignId holds control characters"),
        (status_message(status=""), r"content.campaignStatus"),
        (status_message(received_at=""), r"receivedAt is missing"),
        (status_message(received_at="yesterday"), r"receivedAt is not an ISO 8601"),
        (status_message(tcr_id=None, tcrId=7), r"content.tcrId"),
        ({**network_message(), "content": {"campaignId": CAMPAIGN_UUID, "campaignNetworkStatus": "ACTIVE"}},
         r"content.campaignNetwork must be"),
    ],
)
def test_campaign_messages_without_usable_facts_are_refused(message: dict[str, object], reason: str) -> None:
    with pytest.raises(WebhookPayloadError, match=reason):
        parse_webhook(body(message))


def test_refusal_messages_do_not_quote_the_body() -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook(body(status_message(received_at="canary-value-never-echoed")))
    assert "canary-value-never-echoed" not in str(caught.value)


def test_too_many_messages_in_one_delivery_are_refused() -> None:
    with pytest.raises(WebhookPayloadError, match="more than"):
        parse_webhook(body(*[status_message()] * 1001))


# ------------------------------------------------------------------------------ properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
message_like = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from([STATUS_UPDATE, NETWORK_STATUS_UPDATE, "OTHER"]) | json_values,
        "receivedAt": st.sampled_from(["2026-11-26T10:00:00Z", "0001-01-01T00:00:00+01:00", "x"]) | json_values,
        "content": st.fixed_dictionaries(
            {},
            optional={
                "campaignId": st.text(max_size=40) | json_values,
                "tcrId": st.text(max_size=10) | json_values,
                "campaignStatus": st.text(max_size=20) | json_values,
                "campaignNetwork": st.text(max_size=20) | json_values,
                "campaignNetworkStatus": st.text(max_size=20) | json_values,
                "rejectionReasons": json_values,
                "rejectionDetails": json_values,
                "rejectionDate": st.text(max_size=30) | json_values,
            },
        )
        | json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_nothing_but_a_payload_error(raw: bytes) -> None:
    with contextlib.suppress(WebhookPayloadError):
        parse_webhook(raw)


@settings(max_examples=300, deadline=None)
@given(json_values | st.fixed_dictionaries({"results": st.lists(message_like, max_size=3) | json_values}))
def test_arbitrary_json_raises_nothing_but_a_payload_error(document: object) -> None:
    try:
        events = parse_webhook(json.dumps(document).encode())
    except WebhookPayloadError:
        return
    for event in events:
        assert event.received_at.tzinfo is not None
        assert event.infobip_campaign_id
        assert event.status
