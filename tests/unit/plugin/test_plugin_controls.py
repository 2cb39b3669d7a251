"""The checks of retry, suspend, resume and confirm-osr: what each changes, leaves, or refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tendlc_cli.controls import (
    Outcome,
    decide_confirm_osr,
    decide_resume,
    decide_retry,
    decide_suspend,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def cmig(phase: str | None = "InMigration", *, nnid: str = "Infobip", annotations: dict[str, str] | None = None,
         suspend: bool = False, reason: str = "InMigration", submitted: str | None = "2026-11-27T10:00:06Z") -> Any:
    status: dict[str, Any] = {}
    if phase:
        status = {"phase": phase, "conditions": [{"type": "Ready", "status": "False", "reason": reason}]}
        if submitted:
            status["migrationSubmittedAt"] = submitted
    return {
        "metadata": {"name": "x", "namespace": "ns", "annotations": annotations or {}},
        "spec": {"campaignId": "CABC123", "nnid": nnid, "suspend": suspend},
        "status": status,
    }


def test_retry_sets_a_new_token_each_time() -> None:
    first = decide_retry(cmig(reason="OutcomeUnknown"), NOW)
    second = decide_retry(cmig(reason="OutcomeUnknown"), NOW + timedelta(microseconds=1))
    assert first.outcome is Outcome.CHANGED
    assert "OutcomeUnknown" in first.message
    assert first.annotations["tendlc.io/retry"] != second.annotations["tendlc.io/retry"]


@pytest.mark.parametrize(("obj", "words"), [
    (cmig("Registered", reason="Registered"), "Registered: nothing to retry"),
    (cmig("Failed", reason="CampaignRejected"), "Failed (CampaignRejected) permanently"),
    (cmig(None), "has not started"),
    (cmig(annotations={"tendlc.io/suspend": "true"}), "suspended: resume it first"),
    (cmig(suspend=True), "suspended: resume it first"),
])
def test_retry_is_refused_where_it_would_do_nothing(obj: Any, words: str) -> None:
    verdict = decide_retry(obj, NOW)
    assert verdict.outcome is Outcome.REFUSED
    assert words in verdict.message
    assert verdict.annotations == {}


def test_suspend_then_again_then_resume_then_again() -> None:
    assert decide_suspend(cmig()).annotations == {"tendlc.io/suspend": "true"}
    assert decide_suspend(cmig(annotations={"tendlc.io/suspend": "TRUE"})).outcome is Outcome.UNCHANGED
    assert decide_resume(cmig(annotations={"tendlc.io/suspend": "true"})).annotations == {"tendlc.io/suspend": None}
    assert decide_resume(cmig()).outcome is Outcome.UNCHANGED


def test_an_annotation_the_operator_does_not_read_as_true_is_still_removed_by_resume() -> None:
    assert decide_suspend(cmig(annotations={"tendlc.io/suspend": "false"})).outcome is Outcome.CHANGED
    assert decide_resume(cmig(annotations={"tendlc.io/suspend": "false"})).outcome is Outcome.CHANGED


@pytest.mark.parametrize("phase", ["Registered", "Failed"])
def test_suspend_is_refused_once_final(phase: str) -> None:
    assert decide_suspend(cmig(phase)).outcome is Outcome.REFUSED


def test_resume_cannot_override_spec_suspend() -> None:
    verdict = decide_resume(cmig(suspend=True, annotations={"tendlc.io/suspend": "true"}))
    assert verdict.outcome is Outcome.REFUSED
    assert "spec.suspend is true" in verdict.message


def test_confirm_osr_records_the_time_for_own_nnid_awaiting_it() -> None:
    awaiting = cmig("AwaitingOsrConfirmation", nnid="Own", reason="AwaitingOsrConfirmation")
    now = decide_confirm_osr(awaiting, NOW)
    assert now.annotations == {"tendlc.io/osr-updated": "2026-11-27T12:00:00Z"}
    earlier = decide_confirm_osr(awaiting, NOW, datetime(2026, 11, 27, 11, 30, tzinfo=UTC))
    assert earlier.annotations == {"tendlc.io/osr-updated": "2026-11-27T11:30:00Z"}


@pytest.mark.parametrize(("obj", "at", "words"), [
    (cmig("AwaitingOsrConfirmation"), None, "nnid is Infobip"),
    (cmig("InMigration", nnid="Own"), None, "phase InMigration"),
    (cmig("Registered", nnid="Own"), None, "phase Registered"),
    (cmig(None, nnid="Own"), None, "phase -"),
    (cmig("AwaitingOsrConfirmation", nnid="Own"), NOW + timedelta(hours=1), "in the future"),
    (cmig("AwaitingOsrConfirmation", nnid="Own"), datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
     "before the migration was submitted"),
])
def test_confirm_osr_is_refused_where_the_operator_does_not_ask_for_it(obj: Any, at: datetime | None,
                                                                       words: str) -> None:
    verdict = decide_confirm_osr(obj, NOW, at)
    assert verdict.outcome is Outcome.REFUSED
    assert words in verdict.message


def test_confirm_osr_twice_keeps_the_first_time() -> None:
    confirmed = cmig("InMigration", nnid="Own", annotations={"tendlc.io/osr-updated": "2026-11-27T11:30:00Z"})
    assert decide_confirm_osr(confirmed, NOW).outcome is Outcome.UNCHANGED
    same = decide_confirm_osr(confirmed, NOW, datetime(2026, 11, 27, 11, 30, tzinfo=UTC))
    assert same.outcome is Outcome.UNCHANGED
    other = decide_confirm_osr(confirmed, NOW, datetime(2026, 11, 27, 11, 45, tzinfo=UTC))
    assert other.outcome is Outcome.REFUSED
    assert "recorded once" in other.message
