"""The controller's pure helpers: annotations, wake-up keys, rejection text, partial imports, metrics."""

from __future__ import annotations

from datetime import UTC, datetime

from tendlc.api.status import MigrationStatus
from tendlc.clients.models import InfobipCampaign
from tendlc.controller.facts import parse_annotations
from tendlc.controller.performer import campaign_observed
from tendlc.controller.resource import slim_body, wake_key
from tendlc.controller.transitions import record_transition
from tendlc.metrics import Metrics


def test_control_annotations_are_parsed() -> None:
    parsed = parse_annotations({"tendlc.io/osr-updated": "2026-11-26T10:00:00Z", "tendlc.io/retry": "1",
                                "tendlc.io/suspend": "True"})
    assert parsed.osr_updated is not None
    assert parsed.osr_updated.at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert (parsed.retry, parsed.suspend) == ("1", True)
    free_text = parse_annotations({"tendlc.io/osr-updated": "done by Ana"})
    assert free_text.osr_updated is not None
    assert (free_text.osr_updated.value, free_text.osr_updated.at) == ("done by Ana", None)
    assert parse_annotations({"tendlc.io/suspend": "no"}).suspend is False


def test_only_spec_and_control_annotations_wake_a_resource() -> None:
    body = {"metadata": {"generation": 1, "annotations": {"other": "x"}}, "status": {"phase": "InMigration"}}
    status_only = {**body, "status": {"phase": "Registered"}}
    annotated = {"metadata": {"generation": 1, "annotations": {"tendlc.io/retry": "now"}}}
    assert wake_key(body) == wake_key(status_only)
    assert wake_key(body) != wake_key(annotated)
    assert wake_key(body) != wake_key({"metadata": {"generation": 2}})


def test_rejection_details_become_one_readable_message() -> None:
    campaign = InfobipCampaign.model_validate({
        "id": "u1", "stage": "REJECTED",
        "campaignFeedback": {"rejectionReasons": ["Age gate"], "rejectionDetails": [
            {"errorCode": "1001", "description": "Age-gated content", "recommendedAction": "Select the attribute"}]},
    })
    observed = campaign_observed(campaign)
    assert observed.rejection_message == "Age gate; 1001: Age-gated content (recommended action: Select the attribute)"
    assert campaign_observed(InfobipCampaign.model_validate({"id": "u2"})).stage == "UNKNOWN"


def test_durations_are_observed_once_when_a_step_completes() -> None:
    metrics = Metrics()
    before = MigrationStatus.from_dict({"numbersImportedAt": "2026-11-26T10:00:00Z",
                                        "cnpElectedAt": "2026-11-26T10:01:00Z",
                                        "migrationSubmittedAt": "2026-11-26T10:02:00Z"})
    after = before.model_copy(update={"registered_at": datetime(2026, 11, 26, 10, 12, tzinfo=UTC)})
    record_transition(metrics, before, after)
    record_transition(metrics, after, after)
    text = metrics.render().decode()
    assert 'tendlc_in_migration_duration_seconds_count{outcome="registered"} 1.0' in text
    assert 'tendlc_in_migration_duration_seconds_sum{outcome="registered"} 600.0' in text


def test_the_kept_body_has_what_a_pass_and_an_event_need_and_no_status_or_managed_fields() -> None:
    body = {
        "apiVersion": "tendlc.io/v1alpha1",
        "kind": "CampaignMigration",
        "metadata": {
            "name": "cm", "namespace": "ns", "uid": "u-1", "generation": 3, "resourceVersion": "42",
            "annotations": {"tendlc.io/retry": "1"}, "managedFields": [{"manager": "tendlc"}] * 50,
            "creationTimestamp": "2026-11-27T00:00:00Z",
        },
        "spec": {"campaignId": "COJD655"},
        "status": {"phase": "InMigration"},
    }
    kept = slim_body(body)
    assert kept == {
        "apiVersion": "tendlc.io/v1alpha1",
        "kind": "CampaignMigration",
        "metadata": {"name": "cm", "namespace": "ns", "uid": "u-1", "generation": 3, "resourceVersion": "42",
                     "annotations": {"tendlc.io/retry": "1"}, "creationTimestamp": "2026-11-27T00:00:00Z"},
        "spec": {"campaignId": "COJD655"},
    }
    assert wake_key(kept) == wake_key(body)
