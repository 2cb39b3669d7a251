"""The wave benchmark's figures: submissions against windows, and the switch latency."""

from __future__ import annotations

import pytest
from bench.wave_analyze import switch_latency, window_report, writes_by_resource

WINDOWS = [(10.0, 20.0), (30.0, 50.0)]


def test_a_window_used_at_the_ceiling_scores_one_and_the_last_is_charged_only_while_work_remained() -> None:
    first = [10.0 + k * 0.1 for k in range(100)]          # 10/s for the whole first window
    second = [30.0 + k * 0.1 for k in range(50)]          # the remaining 50, then nothing left
    report = window_report(first + second, WINDOWS, ceiling=10.0)
    assert report["outsideWindows"] == 0
    one, two = report["windows"]
    assert one["efficiency"] == pytest.approx(1.0)
    assert one["workRemainedAfter"] is True
    assert two["chargedSeconds"] == pytest.approx(5.0)  # up to the last request plus one token
    assert two["efficiency"] == pytest.approx(1.0)


def test_a_slow_start_counts_against_the_window_and_requests_outside_are_found() -> None:
    late_start = [15.0 + k * 0.1 for k in range(50)]       # nothing in the first 5 s of window 1
    outside = [20.4, 25.0, 29.9]                           # after window 1, in the gap
    report = window_report(late_start + outside + [30.0 + k * 0.1 for k in range(10)], WINDOWS, ceiling=10.0)
    assert report["outsideWindows"] == 3
    assert report["inGaps"] == 3
    assert report["maxSecondsOutside"] == pytest.approx(5.0)
    assert report["windows"][0]["efficiency"] == pytest.approx(0.5)
    assert report["windows"][0]["firstRequestLagSeconds"] == pytest.approx(5.0)


def test_switch_latency_skips_members_without_both_times() -> None:
    summary = switch_latency([(1.0, 1.5), (2.0, 2.2), (None, 3.0), (4.0, None)])
    assert summary["members"] == 2
    assert summary["max"] == pytest.approx(0.5)


def test_writes_are_counted_per_resource_minus_the_harness() -> None:
    delta = {"campaignmigrations|status|PATCH": 30, "campaignmigrations||POST": 10, "events||POST": 20,
             "migrationwaves|status|PATCH": 5, "configmaps||PATCH": 10, "secrets||GET": 40}
    writes = writes_by_resource(delta, 10, {"campaignmigrations POST": 10})
    assert writes["byResourceVerb"] == {"campaignmigrations/status PATCH": 30, "configmaps PATCH": 10,
                                        "events POST": 20, "migrationwaves/status PATCH": 5}
    assert writes["perMember"] == pytest.approx(6.5)
