"""The status model: lenient parsing, camelCase output and merge patches."""

from __future__ import annotations

from datetime import UTC, datetime

from tendlc.api import Condition, MigrationStatus, PendingOperation, Phase, merge_patch_diff

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_missing_status_parses_as_the_initial_status() -> None:
    status = MigrationStatus.from_body({"spec": {}})
    assert status.phase is None
    assert status.conditions == []
    assert status.attempts == 0


def test_unknown_keys_such_as_kopf_bookkeeping_are_ignored() -> None:
    status = MigrationStatus.from_dict({"phase": "InMigration", "kopf": {"progress": {}}, "newerField": 1})
    assert status.phase is Phase.IN_MIGRATION


def test_round_trip_through_camel_case_keeps_every_value() -> None:
    status = MigrationStatus(
        phase=Phase.IN_MIGRATION,
        infobip_campaign_id="44e8c5fc-0000-4000-8000-000000000001",
        infobip_stage="IN_MIGRATION",
        migration_submitted_at=T0,
        pending_operation=PendingOperation(operation="SubmitMigration", started_at=T0),
        conditions=[Condition(type="Ready", status="False", reason="InMigration", last_transition_time=T0)],
        planned_calls=["POST /x"],
    )
    stored = status.to_dict()
    assert stored["infobipCampaignId"] == "44e8c5fc-0000-4000-8000-000000000001"
    assert stored["migrationSubmittedAt"] == "2026-11-20T09:00:00Z"
    assert stored["pendingOperation"] == {
        "operation": "SubmitMigration",
        "startedAt": "2026-11-20T09:00:00Z",
        "observeAttempts": 0,
    }
    assert stored["conditions"][0]["lastTransitionTime"] == "2026-11-20T09:00:00Z"
    assert MigrationStatus.from_dict(stored) == status


def test_naive_timestamps_are_read_as_utc() -> None:
    status = MigrationStatus.from_dict({"registeredAt": "2026-11-20T09:00:00"})
    assert status.registered_at == T0


def test_patch_against_original_holds_only_changes_and_nulls_removed_keys() -> None:
    original = MigrationStatus(
        phase=Phase.SUBMITTING_MIGRATION,
        pending_operation=PendingOperation(operation="SubmitMigration", started_at=T0),
        attempts=2,
    )
    new = original.model_copy(deep=True)
    new.phase = Phase.IN_MIGRATION
    new.pending_operation = None
    new.infobip_campaign_id = "uuid-1"
    assert new.to_patch(original) == {
        "phase": "InMigration",
        "pendingOperation": None,
        "infobipCampaignId": "uuid-1",
    }


def test_patch_without_original_replaces_the_whole_status() -> None:
    patch = MigrationStatus(phase=Phase.PENDING).to_patch()
    assert patch["phase"] == "Pending"
    assert patch["infobipCampaignId"] is None
    assert set(patch) >= {"conditions", "pendingOperation", "plannedCalls", "webhook", "problem"}


def test_merge_patch_diff_recurses_into_objects_and_replaces_lists() -> None:
    old = {"a": {"b": 1, "c": 2}, "l": [1, 2], "same": 1}
    new = {"a": {"b": 1}, "l": [1], "same": 1}
    assert merge_patch_diff(old, new) == {"a": {"c": None}, "l": [1]}
