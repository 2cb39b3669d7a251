"""Where a migration is: the step derived from its status, and the digest of what was imported.

Shared by `decide` (which step to take) and `record` (what an outcome means at that step), so
neither imports the other. Pure.
"""

from __future__ import annotations

import hashlib
from enum import IntEnum

from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.status import MigrationStatus
from tendlc.workflow.actions import ElectCnp, SwitchTraffic


class Step(IntEnum):
    """The step the migration is at, derived from the status."""

    IMPORT = 1
    ELECT = 2
    SUBMIT = 3
    MONITOR = 4


def numbers_digest(spec: CampaignMigrationSpec) -> str:
    """Identifies what was imported (the set of numbers and the import mode)."""
    text = ",".join(sorted(spec.numbers)) + f";skipOsrUpdate={spec.skip_osr_update}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def current_step(spec: CampaignMigrationSpec, status: MigrationStatus) -> Step:
    """Where the migration is: an open exactly-once marker pins its step; otherwise the first step not done."""
    marker = status.pending_operation
    if marker is not None and marker.operation != SwitchTraffic.operation:  # the cut-over follows REGISTERED
        return Step.ELECT if marker.operation == ElectCnp.operation else Step.SUBMIT
    if status.infobip_campaign_id is not None:
        return Step.MONITOR
    if status.numbers_imported_digest != numbers_digest(spec):
        return Step.IMPORT
    if status.cnp_elected_at is None:
        return Step.ELECT
    return Step.SUBMIT
