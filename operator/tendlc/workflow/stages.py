"""Infobip campaign stages and TCR sharing statuses the workflow reacts to; every other value is waited on.

Infobip's stage list grows between API versions, so the workflow names only the stages that end a
migration; any other string (known or not) means "not final yet". Vocabulary only.
"""

from __future__ import annotations

from typing import Final

REGISTERED: Final = "REGISTERED"
IN_MIGRATION: Final = "IN_MIGRATION"
REJECTED: Final = "REJECTED"
REJECTED_EXTERNALLY: Final = "REJECTED_EXTERNALLY"
DEREGISTERED: Final = "DEREGISTERED"
FAILURE_STAGES: Final = frozenset({REJECTED, REJECTED_EXTERNALLY, DEREGISTERED})

SHARING_PENDING: Final = "PENDING"
SHARING_ACCEPTED: Final = "ACCEPTED"
SHARING_DECLINED: Final = "DECLINED"
SHARING_NONE: Final = "NONE"
"""Our own marker: TCR shows no election of the spec's upstream CNP (sharedByMe absent or another CNP)."""

TCR_CODE_CAMPAIGN_EXPIRED: Final = "518"
