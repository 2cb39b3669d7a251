"""Configuration of the sandbox: credentials, schedules, rate limits, faults and the state file.

This room only describes *how* the sandbox should behave; it holds no state and performs no I/O.
Everything has a default that matches `docs/sandbox.md`, so `SandboxConfig()` is a working
sandbox. The same models are accepted by the admin API (`PUT /_admin/faults`, …), which is why they
are pydantic models with camelCase aliases rather than plain dataclasses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DEFAULT_INFOBIP_API_KEY = "sandbox-infobip-key"
DEFAULT_INFOBIP_USERNAME = "sandbox-user"
DEFAULT_INFOBIP_PASSWORD = "sandbox-password"
DEFAULT_TCR_API_KEY = "sandbox-tcr-key"
DEFAULT_TCR_API_SECRET = "sandbox-tcr-secret"


class _Model(BaseModel):
    """Shared settings: camelCase on the wire, snake_case in Python, unknown keys refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Schedule(_Model):
    """How long (in sandbox seconds) each partner-side step takes.

    Real migrations take hours to days; the defaults are short enough that a demo with
    `--time-scale 60` finishes in about a minute, and tests freeze the clock and advance it.
    """

    sharing_decision_after: float = Field(60.0, ge=0, description="TCR sharing PENDING → ACCEPTED/DECLINED.")
    osr_update_after: float = Field(
        600.0, ge=0, description="Infobip-managed NNID: migrate (and TCR acceptance) → OSR updated."
    )
    registration_after_osr: float = Field(600.0, ge=0, description="OSR updated → REGISTERED.")
    rejection_after: float = Field(600.0, ge=0, description="Rejected scenario: migrate → REJECTED.")
    numbers_added_after: float = Field(
        60.0, ge=0, description="add-numbers accepted (202) → the numbers appear on the campaign (D34)."
    )


class RateLimitConfig(_Model):
    """Token buckets per endpoint class; `scale` multiplies every limit (benchmarks use x100)."""

    enabled: bool = True
    scale: float = Field(1.0, gt=0)
    send_retry_after: bool = Field(
        False, description="Infobip documents no Retry-After header; switch on to test clients that honour it."
    )


class FaultConfig(_Model):
    """Probabilities of injected faults. All zero by default; `seed` makes a run reproducible."""

    seed: int | None = None
    error_probability: float = Field(0.0, ge=0, le=1, description="500/503 before any effect.")
    slow_probability: float = Field(0.0, ge=0, le=1, description="Effect applied, answer delayed.")
    slow_seconds: float = Field(5.0, ge=0, description="Real seconds a slow answer is held back.")
    drop_probability: float = Field(0.0, ge=0, le=1, description="Connection closed without an answer.")
    drop_after_effect_share: float = Field(
        0.5, ge=0, le=1, description="Share of dropped connections whose request took effect first."
    )
    tcr_temporary_probability: float = Field(
        0.0, ge=0, le=1, description="TCR answers 400 with code 591 or 630 before any effect."
    )
    paths: list[str] = Field(
        default_factory=list,
        description="Regular expressions; when non-empty, HTTP faults only hit matching paths.",
    )
    webhook_loss_probability: float = Field(0.0, ge=0, le=1)
    webhook_duplicate_probability: float = Field(0.0, ge=0, le=1)
    webhook_reorder_probability: float = Field(0.0, ge=0, le=1)
    webhook_reorder_max_hold_seconds: float = Field(
        1.0, ge=0, description="Real seconds a held-back webhook waits for a later one to overtake it."
    )


class WebhookConfig(_Model):
    """Delivery policy: Infobip's is unknown, so bounded retries on anything but 200 are assumed."""

    max_attempts: int = Field(4, ge=1, le=20)
    retry_backoff_seconds: float = Field(
        30.0, ge=0, description="Sandbox seconds before the first retry; doubles each retry."
    )
    timeout_seconds: float = Field(5.0, gt=0, description="Real seconds to wait for the receiver.")


ImportAnswer = Literal["results", "numbers", "empty", "accepted", "accepted_request_id"]
ErrorShape = Literal["service_exception", "api_error"]


class BehaviourConfig(_Model):
    """Switches for what the partners do not document: each field is one plausible alternative to
    the sandbox's default guess (docs/sandbox.md, *Behaviour alternatives*; D30-D31). Defaults
    are the behaviour of D1, D2, D9, D12, D13 and D14."""

    accept_duplicates: bool = Field(
        False,
        description="A second migrate / migrateCnp / subscription create / add-numbers batch is accepted "
        "as a new record instead of being refused, so a resend shows up as a duplicate.",
    )
    import_answer: ImportAnswer = Field(
        "results",
        description="results: 200 {results:[{number,status}]} (D1); numbers: 200 {numbers:[{phoneNumber,result}]}; "
        "empty: 200 {}; accepted: 202 without a body; accepted_request_id: 202 {requestId}.",
    )
    import_delay_seconds: float = Field(
        0.0, ge=0, description="Sandbox seconds before imported numbers become owned (asynchronous import)."
    )
    import_already_status: str = Field(
        "ALREADY_IMPORTED",
        pattern="^[A-Z_]{1,40}$",
        description="Per-number word for a re-imported number (e.g. ALREADY_OWNED, EXISTS, DUPLICATE).",
    )
    migrate_status: Literal[200, 201] = Field(200, description="HTTP status of a successful migrate (D9).")
    extra_campaign_fields: bool = Field(
        False, description="Campaign objects carry fields no published schema names (a newer API version)."
    )
    error_shape: ErrorShape = Field(
        "service_exception",
        description="Infobip errors as requestError.serviceException, or as errorCode/description/action/violations.",
    )
    send_retry_after: bool = Field(False, description="429 answers carry Retry-After (D12 says none is documented).")
    list_lag_seconds: float = Field(
        0.0, ge=0, description="The campaign list omits a campaign this many sandbox seconds after its creation."
    )
    interim_stages: list[str] = Field(
        default_factory=list,
        description="Stages (e.g. PAUSED, UPDATE_REQUESTED_BY_CARRIERS) a campaign passes through before REGISTERED.",
    )
    interim_stage_seconds: float = Field(300.0, ge=0, description="Sandbox seconds spent in each interim stage.")
    webhook_duplicates: bool = Field(False, description="Every webhook delivery is sent twice (same body).")
    webhook_reverse: bool = Field(
        False, description="The events one change of a campaign produces are delivered in reverse order."
    )


class SandboxConfig(_Model):
    """Everything a sandbox needs to start; every field has a documented default."""

    infobip_api_key: str = DEFAULT_INFOBIP_API_KEY
    infobip_username: str = DEFAULT_INFOBIP_USERNAME
    infobip_password: str = DEFAULT_INFOBIP_PASSWORD
    tcr_api_key: str = DEFAULT_TCR_API_KEY
    tcr_api_secret: str = DEFAULT_TCR_API_SECRET
    time_scale: float = Field(
        1.0, ge=0, description="Sandbox seconds per real second; 0 freezes the clock (tests advance it)."
    )
    schedule: Schedule = Field(default_factory=Schedule)
    rate_limits: RateLimitConfig = Field(default_factory=RateLimitConfig)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    webhooks: WebhookConfig = Field(default_factory=WebhookConfig)
    behaviour: BehaviourConfig = Field(default_factory=BehaviourConfig)
    import_enabled: bool = Field(True, description="False: every number import answers 403.")
    require_imported_numbers: bool = Field(
        True, description="Migrate refuses numbers that were not imported into the account first."
    )
    require_tcr_acceptance: bool = Field(
        True, description="An Infobip migration only progresses once the TCR election is ACCEPTED."
    )
    known_cnp_ids: list[str] = Field(default_factory=lambda: ["OPMKT"])
    csp_id: str = "CSPXYZ"
    state_file: Path | None = None
    ledger_limit: int = Field(200_000, ge=100, description="Ledger entries kept (oldest dropped first).")
    log_requests: bool = True
    tick_seconds: float = Field(0.05, gt=0, description="Real seconds between schedule checks.")
