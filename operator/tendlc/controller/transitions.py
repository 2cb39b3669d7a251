"""Duration metrics from what a status write changed: each step's time (the cut-over's too:
REGISTERED to traffic switched), in-migration time, downtime.

The status store reports every accepted write (`StatusStore.on_written`); this room compares the
status before and after and feeds `tendlc.metrics.Metrics` once per fact that appeared (a step's
timestamp set for the first time). Pure but for the metrics it is handed.
"""

from __future__ import annotations

from datetime import datetime

from tendlc.api.status import MigrationStatus
from tendlc.metrics import Metrics


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def record_transition(metrics: Metrics, before: MigrationStatus, after: MigrationStatus) -> None:
    """Feeds the duration metrics from what a status write changed (each fact is seen once)."""
    for step, previous, current, since in (
        ("import_numbers", before.numbers_imported_at, after.numbers_imported_at, None),
        ("elect_cnp", before.cnp_elected_at, after.cnp_elected_at, after.numbers_imported_at),
        ("submit_migration", before.migration_submitted_at, after.migration_submitted_at, after.cnp_elected_at),
        ("switch_traffic", before.traffic_switched_at, after.traffic_switched_at, after.registered_at),
    ):
        duration = _seconds(since, current)
        if previous is None and current is not None and duration is not None:
            metrics.step_finished(step, duration)
    for outcome, previous, current in (
        ("registered", before.registered_at, after.registered_at),
        ("failed", before.failed_at, after.failed_at),
    ):
        duration = _seconds(after.migration_submitted_at, current)
        if previous is None and current is not None and duration is not None:
            metrics.in_migration_finished(outcome, duration)
    downtime = _seconds(after.downtime_started_at, after.downtime_ended_at)
    if before.downtime_ended_at is None and downtime is not None:
        metrics.downtime_observed(downtime)
