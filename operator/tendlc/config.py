"""Operator settings: one validated model, read once at start-up from `TENDLC_*` variables.

A bad setting stops the operator at start-up with an error naming the setting, rather than
surfacing later as a confusing failure of some migration. Settings hold only *references* to the
partner credentials (Secret names); the values are read from the cluster when needed and never
kept here, so this object can be logged safely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tendlc.api.spec import SecretRef
from tendlc.clients.infobip import IMPORT_BATCH_SIZE
from tendlc.clients.ratelimit import DEFAULT_LIMITS, RateLimit
from tendlc.leader.records import LeaseTimings
from tendlc.workflow import Policy


class Settings(BaseSettings):
    """Everything the operator can be told, with defaults that match the partners' documentation."""

    model_config = SettingsConfigDict(env_prefix="TENDLC_", env_nested_delimiter="__", extra="forbid")

    infobip_base_url: str = Field(
        default="https://api.infobip.com",
        description="Infobip base URL of the account (https://xxxxx.api.infobip.com).",
    )
    infobip_credentials_secret: SecretRef | None = Field(
        default=None, description="Secret with key `apiKey` (Infobip API key)."
    )
    tcr_base_url: str = Field(
        default="https://csp-api.campaignregistry.com/v2",
        description="TCR CSP API base URL, including /v2 (staging: csp-api-staging…).",
    )
    tcr_credentials_secret: SecretRef | None = Field(
        default=None, description="Secret with keys `apiKey` and `apiSecret` (TCR HTTP Basic)."
    )
    operator_namespace: str = Field(
        default="tendlc-system", description="Namespace of the operator's own Secrets."
    )
    upstream_cnp_id: str = Field(
        default="OPMKT", pattern=r"^[A-Z0-9]{1,16}$",
        description="The CNP elected at TCR for a resource whose spec.upstreamCnpId is unset (Infobip: OPMKT).",
    )
    watch_namespaces: list[str] = Field(
        default_factory=list, description="Namespaces to watch; empty means all namespaces."
    )
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    backoff_initial_seconds: float = Field(default=30.0, gt=0)
    backoff_max_seconds: float = Field(default=900.0, gt=0)
    stall_after_hours: float = Field(default=72.0, gt=0)
    loa_max_age_days: int = Field(default=30, ge=1)
    recheck_parked_seconds: float = Field(
        default=60.0, gt=0, description="How often a parked resource (e.g. invalid LOA) re-checks its inputs."
    )
    max_observe_attempts: int = Field(
        default=10, ge=1, description="Failed observations of an uncertain POST before parking with OutcomeUnknown."
    )
    import_batch_size: int = Field(
        default=IMPORT_BATCH_SIZE, ge=1, le=IMPORT_BATCH_SIZE,
        description="Numbers per import request (docs/decisions.md D1); the dry-run plan shows the same batches.",
    )
    clock_skew_seconds: float = Field(
        default=300.0, ge=0,
        description="Tolerance between Infobip's clock (a campaign's createdDate) and ours (a pending marker).",
    )
    absence_searches: int = Field(
        default=2, ge=1,
        description="Searches of Infobip that must find no campaign of the externalCampaignId before a "
        "migration is submitted (docs/decisions.md D24).",
    )
    absence_window_seconds: float = Field(
        default=60.0, ge=0,
        description="How far apart the first and last of those searches must be; after an interrupted "
        "submission the request timeout is added.",
    )
    status_refresh_seconds: float = Field(
        default=300.0, ge=0,
        description="A status patch that only moves lastCheckedAt/nextCheckAt/attempts is written at most this often.",
    )
    secret_max_age_seconds: float = Field(
        default=10.0, ge=0, description="One read of a Secret serves every pass within this many seconds."
    )
    dry_run: bool = False
    rate_limit_scale: float = Field(
        default=1.0, gt=0, description="Multiplies every client-side rate limit (sandbox rehearsals)."
    )
    rate_limits: dict[str, RateLimit] = Field(
        default_factory=dict,
        description="Overrides per endpoint class, e.g. TENDLC_RATE_LIMITS='{\"infobip.registration.write\": "
        "{\"rate\": 1, \"burst\": 1}}'.",
    )
    liveness_port: int = Field(default=8080, ge=0, le=65535, description="Kopf's /healthz; 0 turns it off.")
    log_format: Literal["json", "text"] = "json"
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    bind_address: str = Field(
        default="0.0.0.0", description="Address the metrics, webhook and liveness servers listen on."
    )
    metrics_port: int = Field(default=9090, ge=0, le=65535, description="Prometheus /metrics; 0 turns it off.")
    webhook_port: int = Field(
        default=8081, ge=0, le=65535, description="Infobip webhook receiver (POST /webhooks/infobip); 0: off."
    )
    webhook_public_url: str | None = Field(
        default=None,
        description="The URL Infobip reaches the receiver at (ending in /webhooks/infobip); when set, the operator "
        "ensures one Infobip subscription pointing there at start-up.",
    )
    webhook_auth_secret: SecretRef | None = Field(
        default=None,
        description="Secret (operator namespace) with `username`+`password` (BASIC) or `secretKey` [+`algorithm`] "
        "(HMAC) that Infobip must use when calling the receiver. Required to serve webhooks.",
    )
    webhook_owner: str = Field(
        default="default", pattern=r"^[a-z0-9-]{1,40}$",
        description="Names this installation's subscription (tendlc:<owner>) so several clusters can share an account.",
    )
    leader_election: bool = Field(
        default=False,
        description="Run as one of several replicas: only the holder of a coordination.k8s.io Lease in the "
        "operator's namespace calls the partners and accepts webhooks; the others follow the watch (D43).",
    )
    leader_election_lease_name: str = Field(
        default="tendlc", pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$",
        description="Name of the Lease (in TENDLC_OPERATOR_NAMESPACE).",
    )
    leader_election_identity: str | None = Field(
        default=None,
        description="This replica's name in the Lease; default: POD_NAME or HOSTNAME plus a random suffix.",
    )
    leader_election_lease_duration_seconds: float = Field(default=15.0, gt=0)
    leader_election_renew_deadline_seconds: float = Field(default=10.0, gt=0)
    leader_election_retry_period_seconds: float = Field(default=2.0, gt=0)
    peering_name: str | None = Field(
        default=None, description="Deprecated: use TENDLC_LEADER_ELECTION. Set, it turns leader election on."
    )

    @field_validator("webhook_public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("infobip_base_url", "tcr_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("rate_limits")
    @classmethod
    def _known_endpoint_classes(cls, value: dict[str, RateLimit]) -> dict[str, RateLimit]:
        known = {f"{partner}.{endpoint_class}" for partner, endpoint_class in DEFAULT_LIMITS}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown endpoint class(es) {unknown}; known: {sorted(known)}")
        return value

    def limiter_overrides(self) -> dict[tuple[str, str], RateLimit]:
        """`rate_limits` in the clients' terms: {(partner, endpoint class): limit}."""
        overrides: dict[tuple[str, str], RateLimit] = {}
        for key, limit in self.rate_limits.items():
            partner, endpoint_class = key.split(".", 1)
            overrides[(partner, endpoint_class)] = limit
        return overrides

    @model_validator(mode="after")
    def _lease_timings(self) -> Settings:
        try:
            self.lease_timings()
        except ValueError as error:
            raise ValueError(f"TENDLC_LEADER_ELECTION_*: {error}") from None
        return self

    def lease_timings(self) -> LeaseTimings:
        return LeaseTimings(
            lease_duration=self.leader_election_lease_duration_seconds,
            renew_deadline=self.leader_election_renew_deadline_seconds,
            retry_period=self.leader_election_retry_period_seconds,
        )

    @property
    def elects_leader(self) -> bool:
        """Leader election on: by its own setting, or by the deprecated peering name."""
        return self.leader_election or self.peering_name is not None

    @model_validator(mode="after")
    def _backoff_bounds(self) -> Settings:
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError("backoff_max_seconds must be ≥ backoff_initial_seconds")
        return self

    @property
    def backoff_initial(self) -> timedelta:
        return timedelta(seconds=self.backoff_initial_seconds)

    @property
    def backoff_max(self) -> timedelta:
        return timedelta(seconds=self.backoff_max_seconds)

    @property
    def stall_after(self) -> timedelta:
        return timedelta(hours=self.stall_after_hours)

    @property
    def loa_max_age(self) -> timedelta:
        return timedelta(days=self.loa_max_age_days)

    def policy(self, random: Callable[[], float] | None = None) -> Policy:
        """The workflow's timing and limits, from these settings only (the workflow has no defaults)."""
        policy = Policy(
            loa_max_age=self.loa_max_age,
            backoff_initial=self.backoff_initial,
            backoff_max=self.backoff_max,
            stall_after=self.stall_after,
            max_observe_attempts=self.max_observe_attempts,
            park_recheck=timedelta(seconds=self.recheck_parked_seconds),
            import_batch_size=self.import_batch_size,
            clock_skew=timedelta(seconds=self.clock_skew_seconds),
            absence_searches=self.absence_searches,
            absence_window=timedelta(seconds=self.absence_window_seconds),
            in_flight=timedelta(seconds=self.request_timeout_seconds),
        )
        return policy if random is None else replace(policy, random=random)
