"""The resources as Python values: spec and status models, phases, conditions.

This room parses what the API server stores (a Kopf body's `spec` and `status` dicts) into typed,
validated models with the CRD's defaults, and turns a status back into a camelCase merge patch. It
mirrors `crds/campaignmigrations.tendlc.io.yaml` and `crds/migrationwaves.tendlc.io.yaml` (unit
tests check they agree). It must not do
I/O, import Kopf or the partner clients, or decide anything: decisions live in `tendlc.workflow`.
"""

from tendlc.api.constants import (
    ANNOTATION_APPROVE,
    ANNOTATION_DRY_RUN,
    ANNOTATION_OSR_UPDATED,
    ANNOTATION_RETRY,
    ANNOTATION_SUSPEND,
    GROUP,
    KIND,
    PLURAL,
    SHORT_NAME,
    VERSION,
    WAVE_KIND,
    WAVE_PLURAL,
    WAVE_SHORT_NAME,
    ConditionType,
    Reason,
)
from tendlc.api.spec import (
    CAMPAIGN_ID_PATTERN,
    NUMBER_PATTERN,
    SECRET_KEY_PATTERN,
    UPSTREAM_CNP_ID_PATTERN,
    CampaignMigrationSpec,
    LoaSecretRef,
    Nnid,
    PartnerOverride,
    SecretRef,
)
from tendlc.api.status import (
    Condition,
    ConditionStatus,
    MigrationStatus,
    PendingOperation,
    Phase,
    Problem,
    RecordedWebhook,
    format_time,
    merge_patch_diff,
)
from tendlc.api.wave import LabelSelector, Order, WavePhase, WaveSpec, WaveStatus, Window

__all__ = [
    "ANNOTATION_APPROVE",
    "ANNOTATION_DRY_RUN",
    "ANNOTATION_OSR_UPDATED",
    "ANNOTATION_RETRY",
    "ANNOTATION_SUSPEND",
    "CAMPAIGN_ID_PATTERN",
    "GROUP",
    "KIND",
    "NUMBER_PATTERN",
    "PLURAL",
    "SECRET_KEY_PATTERN",
    "SHORT_NAME",
    "UPSTREAM_CNP_ID_PATTERN",
    "VERSION",
    "WAVE_KIND",
    "WAVE_PLURAL",
    "WAVE_SHORT_NAME",
    "CampaignMigrationSpec",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "LabelSelector",
    "LoaSecretRef",
    "MigrationStatus",
    "Nnid",
    "Order",
    "PartnerOverride",
    "PendingOperation",
    "Phase",
    "Problem",
    "Reason",
    "RecordedWebhook",
    "SecretRef",
    "WavePhase",
    "WaveSpec",
    "WaveStatus",
    "Window",
    "format_time",
    "merge_patch_diff",
]
