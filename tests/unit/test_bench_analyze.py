"""The benchmark's pacing efficiency: what a perfect, a lazy and an upstream-fed scheduler score."""

from __future__ import annotations

import pytest
from bench.analyze import pacing_efficiency, ready_times


def test_a_scheduler_at_the_ceiling_scores_one() -> None:
    result = pacing_efficiency([k * 0.5 for k in range(10)], [0.0] * 10, 2.0)  # ceiling 2/s, back to back
    assert result["efficiency"] == pytest.approx(1.0)
    assert result["idealSpanSeconds"] == result["actualSpanSeconds"] == pytest.approx(4.5)
    assert result["upstreamBoundShare"] == pytest.approx(0.0)


def test_half_the_ceiling_with_all_work_waiting_scores_one_half() -> None:
    result = pacing_efficiency([k * 1.0 for k in range(10)], [0.0] * 10, 2.0)
    assert result["efficiency"] == pytest.approx(0.5)
    assert result["callsLaterThanOneTokenAfterReady"] == 9


def test_keeping_pace_with_a_slower_upstream_step_is_not_charged() -> None:
    ready = [k * 1.0 for k in range(10)]  # upstream feeds one per second; ceiling 2/s
    result = pacing_efficiency([k * 1.0 + 0.01 for k in range(10)], ready, 2.0)
    assert result["efficiency"] == pytest.approx(9.0 / 9.01, abs=1e-3)
    assert result["upstreamBoundShare"] == pytest.approx(0.5)


def test_falling_behind_a_slower_upstream_step_is_charged() -> None:
    ready = [k * 1.0 for k in range(10)]
    result = pacing_efficiency([k * 2.0 for k in range(10)], ready, 2.0)
    assert result["efficiency"] == pytest.approx(0.5)


def test_a_call_before_its_bound_never_scores_above_one() -> None:
    result = pacing_efficiency([0.0, 0.5, 1.0], [0.2, 0.6, 1.1], 2.0)
    assert result["efficiency"] == pytest.approx(1.0)


def test_ready_times_come_from_creates_import_answers_and_elections() -> None:
    ledger = [
        {"endpoint": "infobip.import_numbers", "wallTime": 10.0, "durationMs": 40.0, "status": 200},
        {"endpoint": "infobip.import_numbers", "wallTime": 11.0, "durationMs": 10.0, "status": 429},
        {"endpoint": "tcr.migrate_cnp", "wallTime": 12.0, "durationMs": 5.0, "status": 200},
        {"endpoint": "tcr.migrate_cnp", "wallTime": 13.0, "durationMs": 5.0, "status": None},
    ]
    ready = ready_times(ledger, created=[9.5, 9.0], decision_delay=0.6)
    assert ready == {
        "numbers.import": [9.0, 9.5],
        "tcr.write": [pytest.approx(10.04)],
        "registration.write": [pytest.approx(12.6)],
    }


def test_calls_per_route_splits_a_class_into_its_routes() -> None:
    from bench.analyze import calls_per_migration, calls_per_route

    ledger = [{"endpoint": "infobip.campaign"}] * 9 + [{"endpoint": "infobip.campaigns"}] * 4
    assert calls_per_route(ledger, 2) == {"infobip.campaign": 4.5, "infobip.campaigns": 2.0}
    assert calls_per_migration(ledger, 2) == {"registration.read": 6.5}


def test_a_what_if_run_is_neither_the_code_s_figure_nor_the_older_code() -> None:
    from bench.report import comparison, newest, older_code

    def run(name: str, timestamp: str, *, what_if: str | None = None, baseline: bool = True) -> dict[str, object]:
        return {"_file": name, "timestamp": timestamp, "scenario": "happy", "n": 1000, "baseline": baseline or None,
                "settings": {"rateLimitScale": 10.0, "whatIf": what_if}}

    plain = run("1-n1000.json", "1")
    before = run("2-n1000-before-c184dc2.json", "2")
    what_if = run("3-n1000-whatif-no-events.json", "3", what_if="no-events")
    no_baseline = run("4-n1000.json", "4", baseline=False)
    runs = [plain, before, what_if, no_baseline]
    assert [older_code(r) for r in runs] == [False, True, False, False]
    assert [comparison(r) for r in runs] == [False, True, True, False]
    assert newest(runs, "happy", 1000, 10.0) is no_baseline
    assert newest(runs, "happy", 1000, 10.0, with_baseline=True) is plain


def test_the_cpu_budgets_scale_with_the_run_s_lean_baseline() -> None:
    from bench import cpu_budget

    reference = cpu_budget.budgets(cpu_budget.REFERENCE_LEAN_MS)
    assert reference == {name: round(ms, 2) for name, ms in cpu_budget.BUDGET.items()}
    assert cpu_budget.budgets(None) == reference
    slower = cpu_budget.budgets(cpu_budget.REFERENCE_LEAN_MS * 1.5)
    assert all(slower[name] == round(ms * 1.5, 2) for name, ms in cpu_budget.BUDGET.items())
    # The components add up to the ratio budget: one rule, two views of it.
    assert sum(cpu_budget.BUDGET.values()) == cpu_budget.LEAN_RATIO_BUDGET * cpu_budget.REFERENCE_LEAN_MS
