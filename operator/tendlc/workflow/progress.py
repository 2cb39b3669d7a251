"""Where a migration is: the step derived from its status, and the digest of what was imported.

Shared by `decide` (which step to take) and `record` (what an outcome means at that step), so
neither imports the other. Pure.
"""

from __future__ import annotations

import hashlib
from enum import IntEnum

from tendlc.api.constants import Stage
from tendlc.api.spec import MIGRATE_MAX_NUMBERS, CampaignMigrationSpec
from tendlc.api.status import MigrationStatus
from tendlc.workflow.actions import AddNumbers, ElectCnp, SwitchTraffic
from tendlc.workflow.number_sets import sorted_numbers


class Step(IntEnum):
    """The step the migration is at, derived from the status."""

    IMPORT = 1
    ELECT = 2
    SUBMIT = 3
    MONITOR = 4
    ADD_NUMBERS = 5
    """Registered with the numbers the migration carried; adding the rest (D60)."""


def numbers_digest(spec: CampaignMigrationSpec) -> str:
    """Identifies what was imported (the set of numbers and the import mode)."""
    text = ",".join(sorted_numbers(spec.numbers)) + f";skipOsrUpdate={spec.skip_osr_update}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def current_step(spec: CampaignMigrationSpec, status: MigrationStatus) -> Step:
    """Where the migration is: an open exactly-once marker pins its step; otherwise the first step not done."""
    marker = status.pending_operation
    if marker is not None and marker.operation != SwitchTraffic.operation:  # the cut-over follows REGISTERED
        if marker.operation == AddNumbers.operation:
            return Step.ADD_NUMBERS
        return Step.ELECT if marker.operation == ElectCnp.operation else Step.SUBMIT
    if status.infobip_campaign_id is not None:
        registered = status.infobip_stage == Stage.REGISTERED
        return Step.ADD_NUMBERS if registered and adds_pending(spec, status) else Step.MONITOR
    if status.numbers_imported_digest != numbers_digest(spec):
        return Step.IMPORT
    if status.cnp_elected_at is None:
        return Step.ELECT
    return Step.SUBMIT


def adds_pending(spec: CampaignMigrationSpec, status: MigrationStatus) -> bool:
    """Numbers beyond those the migration carried are still to be added (or, unread, may be: D60, D62)."""
    if status.numbers is not None:
        return status.numbers.completed_at is None
    if spec.numbers_from is not None and not spec.numbers:
        # The ConfigMap could not be read this round (deleted once the migration was done?): the size of
        # the list last read (status.numberCount) says whether numbers were left; unknown without one.
        count = status.number_count
        return count is None or count > MIGRATE_MAX_NUMBERS
    return len(spec.numbers) > MIGRATE_MAX_NUMBERS
