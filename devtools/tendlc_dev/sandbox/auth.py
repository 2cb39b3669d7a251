"""Who may call: Infobip's `App`, `Basic`, `Bearer` (and `IBSSO`) schemes, and TCR's HTTP Basic.

The sandbox has one Infobip account and one TCR CSP; their credentials come from `SandboxConfig`.
Comparisons are constant-time, as a real partner's would be. The account name returned is what
rate limits are keyed by.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from tendlc_dev.sandbox.config import SandboxConfig

INFOBIP_ACCOUNT = "infobip"
TCR_ACCOUNT = "tcr"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _basic(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def infobip_account(header: str | None, config: SandboxConfig) -> str | None:
    """The account the Authorization header proves, or None (→ 401)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme in ("app", "bearer", "ibsso"):
        return INFOBIP_ACCOUNT if _same(value, config.infobip_api_key) else None
    if scheme == "basic":
        pair = _basic(value)
        if pair is not None and _same(pair[0], config.infobip_username) & _same(pair[1], config.infobip_password):
            return INFOBIP_ACCOUNT
    return None


def tcr_account(header: str | None, config: SandboxConfig) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    pair = _basic(value)
    if pair is not None and _same(pair[0], config.tcr_api_key) & _same(pair[1], config.tcr_api_secret):
        return TCR_ACCOUNT
    return None
