"""Folding webhook events into status: recorded once, never backwards, network updates per network."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from tendlc.api.constants import KNOWN_NETWORKS
from tendlc.api.status import MigrationStatus
from tendlc.webhooks.payload import WebhookEvent, parse_webhook
from tendlc.workflow.webhooks import apply_webhook

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
UUID = "44e8c5fc-0000-4000-8000-000000000001"


def event(status: str, received_at: str, *, network: str | None = None) -> WebhookEvent:
    if network:
        message = {"event": "CAMPAIGN_NETWORK_STATUS_UPDATE", "receivedAt": received_at,
                   "content": {"campaignId": UUID, "campaignNetwork": network, "campaignNetworkStatus": status}}
    else:
        message = {"event": "CAMPAIGN_STATUS_UPDATE", "receivedAt": received_at,
                   "content": {"campaignId": UUID, "tcrId": "COJD655", "campaignStatus": status}}
    return parse_webhook(json.dumps({"results": [message]}).encode())[0]


def in_migration() -> MigrationStatus:
    return MigrationStatus.from_dict({"infobipCampaignId": UUID, "infobipStage": "IN_MIGRATION"})


def test_a_new_status_event_is_recorded_with_our_arrival_time() -> None:
    status, result = apply_webhook(in_migration(), event("REGISTERED", "2026-11-26T11:59:00.000+0000"), NOW)
    assert result == "applied"
    assert status.webhook is not None
    assert (status.webhook.stage, status.webhook.arrived_at) == ("REGISTERED", NOW)
    assert status.infobip_stage == "IN_MIGRATION"  # the poll it triggers decides the stage


def test_the_same_event_twice_is_a_duplicate_and_changes_nothing() -> None:
    registered = event("REGISTERED", "2026-11-26T11:59:00.000+0000")
    once, _ = apply_webhook(in_migration(), registered, NOW)
    twice, result = apply_webhook(once, registered, NOW.replace(minute=5))
    assert result == "duplicate"
    assert twice == once


def test_an_older_event_after_a_final_one_is_stale() -> None:
    final, _ = apply_webhook(in_migration(), event("REGISTERED", "2026-11-26T11:59:00.000+0000"), NOW)
    late, result = apply_webhook(final, event("SUBMITTED", "2026-11-26T11:00:00.000+0000"), NOW)
    assert result == "stale"
    assert late == final


def test_network_updates_are_kept_per_network_and_ordered() -> None:
    status, first = apply_webhook(in_migration(), event("ACTIVE", "2026-11-26T11:00:00.000+0000", network="T_MOBILE"),
                                  NOW)
    status, second = apply_webhook(status, event("PENDING", "2026-11-26T11:01:00.000+0000", network="ATT"), NOW)
    status, older = apply_webhook(status, event("PENDING", "2026-11-26T10:00:00.000+0000", network="T_MOBILE"), NOW)
    assert (first, second, older) == ("applied", "applied", "stale")
    assert status.network_statuses is not None
    assert {name: s.status for name, s in status.network_statuses.items()} == {"T_MOBILE": "ACTIVE", "ATT": "PENDING"}
    assert status.webhook is None  # network updates never stand in for the campaign's stage


def test_network_statuses_stay_bounded_whatever_an_authenticated_sender_claims() -> None:
    status = in_migration()
    for index in range(200):
        unknown = replace(event("ACTIVE", "2026-11-26T11:00:00.000+0000", network="ATT"), network=f"NET{index}")
        status, result = apply_webhook(status, unknown, NOW)
        assert result == "stale"
    for network in sorted(KNOWN_NETWORKS):
        status, _ = apply_webhook(status, event("ACTIVE", "2026-11-26T11:00:00.000+0000", network=network), NOW)
    assert status.network_statuses is not None
    assert set(status.network_statuses) == KNOWN_NETWORKS
    assert len(json.dumps(status.to_patch())) < 4096
