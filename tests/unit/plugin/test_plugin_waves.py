"""The plugin's view of a MigrationWave (status --wave) and its `approve` decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tendlc_cli.controls import Outcome
from tendlc_cli.waves import decide_approve, wave_json, wave_lines, window_line

NOW = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def wave(phase: str | None, *, approval: bool = True, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "spring", "namespace": "team-a", "resourceVersion": "7"},
            "spec": {"approval": {"afterCanary": approval}, "maxInFlight": 5, "maxFailed": 2},
            "status": {"phase": phase, **status} if phase else {}}


def test_approve_sets_a_new_value_only_while_the_wave_waits_for_it() -> None:
    verdict = decide_approve(wave("AwaitingApproval"), NOW)
    assert verdict.outcome is Outcome.CHANGED
    assert verdict.annotations == {"tendlc.io/approve": "approved-2026-12-05T01:00:00Z"}
    noted = decide_approve(wave("AwaitingApproval"), NOW, note="CHG-1234")
    assert noted.annotations == {"tendlc.io/approve": "CHG-1234"}


def test_a_note_the_wave_has_seen_before_is_refused_since_it_would_approve_nothing() -> None:
    """The wave takes only a new value: the one set aside before the canary passed is not one."""
    seen = wave("AwaitingApproval", lastHandledApproval="CHG-1234")
    verdict = decide_approve(seen, NOW, note="CHG-1234")
    assert verdict.outcome is Outcome.REFUSED
    assert "choose another --note" in verdict.message
    assert verdict.annotations == {}
    current = wave("AwaitingApproval")
    current["metadata"]["annotations"] = {"tendlc.io/approve": "CHG-9"}
    assert decide_approve(current, NOW, note="CHG-9").outcome is Outcome.REFUSED
    assert decide_approve(current, NOW, note="CHG-10").outcome is Outcome.CHANGED


@pytest.mark.parametrize(("obj", "outcome", "words"), [
    (wave("Canary"), Outcome.REFUSED, "an earlier value would be set aside"),
    (wave(None), Outcome.REFUSED, "phase -"),
    (wave("AwaitingApproval", approval=False), Outcome.REFUSED, "asks for no approval"),
    (wave("Progressing", approvedAt="2026-12-05T00:30:00Z"), Outcome.UNCHANGED, "already approved"),
    (wave("Halted", conditions=[{"type": "Halted", "status": "True", "message": "2 member(s) failed"}]),
     Outcome.REFUSED, "an approval does not lift a halt"),
])
def test_approve_is_refused_or_unchanged_where_it_would_do_nothing(obj: Any, outcome: Outcome, words: str) -> None:
    verdict = decide_approve(obj, NOW)
    assert verdict.outcome is outcome
    assert words in verdict.message
    assert verdict.annotations == {}


def test_the_window_line_says_open_until_or_opens_in() -> None:
    opens = {"start": "2026-12-05T02:00:00Z", "end": "2026-12-05T06:00:00Z"}
    assert window_line({"nextWindow": opens, "windowOpen": False}, NOW).startswith(
        "next window 2026-12-05T02:00:00Z to 2026-12-05T06:00:00Z (opens in 1h")
    assert window_line({"nextWindow": opens, "windowOpen": True}, NOW + timedelta(hours=2)).startswith(
        "window open now, until 2026-12-05T06:00:00Z (3h")
    assert window_line({"windowOpen": True}, NOW) == "windows: none set (always open)"
    assert window_line({"windowOpen": False}, NOW) == "next window: none within a year"


def test_the_wave_lines_show_counts_canary_and_the_approval_to_give() -> None:
    lines = wave_lines(wave("AwaitingApproval", canary=["spring-01"], canaryPassedAt="2026-12-05T00:50:00Z",
                            counts={"members": 10, "held": 9, "registered": 1}, windowOpen=True), NOW)
    text = "\n".join(lines)
    assert lines[0] == "MigrationWave spring: AwaitingApproval"
    assert "members: 10   held: 9   in flight: 0   registered: 1   failed: 0   stuck: 0   (maxInFlight 5" in text
    assert "canary: spring-01 (passed 2026-12-05T00:50:00Z)" in text
    assert "approval: awaited — kubectl tendlc approve spring" in text
    assert wave_json(wave("Complete"))["phase"] == "Complete"
