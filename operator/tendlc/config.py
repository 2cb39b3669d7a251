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
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tendlc.api.spec import SecretRef, base_url_problem
from tendlc.clients.allowlist import CUTOVER_SETTING as CUTOVER_ALLOW_LIST
from tendlc.clients.allowlist import DEFAULT_ALLOWED_PARTNER_HOSTS, EndpointNotAllowed, PartnerAllowList
from tendlc.clients.allowlist import SETTING as ALLOW_LIST
from tendlc.clients.infobip import IMPORT_BATCH_SIZE
from tendlc.clients.ratelimit import DEFAULT_LIMITS, RateLimit
from tendlc.leader.records import LeaseTimings
from tendlc.partner_requests import ADD_NUMBERS_MAX
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
    allowed_partner_hosts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_PARTNER_HOSTS),
        description="JSON list of scheme://host[:port] the operator may send partner credentials to; a host may "
        "start with '*.' (one more DNS label). Every partner URL, the operator's and every resource's, must match "
        "one (scheme, host and port exactly). Default: Infobip's and TCR's public API hosts, https only.",
    )
    allowed_cutover_hosts: list[str] = Field(
        default_factory=list,
        description="JSON list of https://host[:port] a cut-over webhook (spec.cutover.webhook.url) may call, in the "
        "same form as TENDLC_ALLOWED_PARTNER_HOSTS. Default: none (only ConfigMap cut-overs).",
    )
    cutover_ca_file: str | None = Field(
        default=None,
        description="PEM bundle the cut-over webhook's TLS certificate is verified against (a private CA); "
        "default: the system's trust store.",
    )
    campaign_policy: Literal["none", "namespace-annotation"] = Field(
        default="none",
        description="namespace-annotation: a CampaignMigration may migrate only the campaign IDs its Namespace's "
        "tendlc.io/allowed-campaigns annotation lists (set by cluster admins; the operator needs get on namespaces).",
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
    add_numbers_batch_size: int = Field(
        default=ADD_NUMBERS_MAX, ge=1, le=ADD_NUMBERS_MAX,
        description="Numbers per add-numbers request for campaigns of more than 200 numbers (at most the "
        "documented 5,000; docs/decisions.md D61).",
    )
    add_numbers_absence_window_seconds: float = Field(
        default=600.0, ge=0,
        description="After an interrupted add-numbers request: how long the campaign's numbers must not show "
        "its batch before it is sent again (plus the request timeout); Infobip adds numbers asynchronously.",
    )
    preflight_refresh_seconds: float = Field(
        default=3600.0, gt=0,
        description="spec.mode Preflight: how often the documented partner reads are made again.",
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
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="uvloop (libuv), or the standard library's asyncio loop (more CPU; docs/performance.md).",
    )
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    bind_address: str = Field(
        default="0.0.0.0", description="Address the metrics, webhook and liveness servers listen on."
    )
    metrics_bind_address: str | None = Field(
        default=None, description="Address of the /metrics server; default bind_address."
    )
    webhook_bind_address: str | None = Field(
        default=None, description="Address of the webhook receiver; default bind_address."
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
    webhook_allow_http: bool = Field(
        default=False,
        description="Accept an http:// webhook_public_url (Infobip would send the webhook credentials in clear); "
        "for a local sandbox only.",
    )
    webhook_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, le=16 * 1024 * 1024,
        description="Largest webhook body read; larger: 413. A delivery of 100 heavily rejected campaign events "
        "is about 300 KB, of 100 plain status updates 26 KB.",
    )
    webhook_max_events_per_delivery: int = Field(
        default=100, ge=1, le=1000, description="More campaign events than this in one delivery: 400."
    )
    webhook_max_concurrent_requests: int = Field(
        default=64, ge=2, le=10_000,
        description="Webhook requests handled at once; more: 503 with Retry-After. Requests over 64 KiB (or of "
        "undeclared length) get at most half.",
    )
    webhook_max_bytes_in_flight: int = Field(
        default=16 * 1024 * 1024, ge=2048,
        description="Body bytes all webhook requests may hold at once (declared or reserved); more: 503. Requests "
        "over 64 KiB (or of undeclared length) get at most half.",
    )
    webhook_max_connections: int = Field(
        default=1024, ge=1, le=100_000,
        description="Open webhook connections at once (each costs about 35 KB); one more is closed on accept.",
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
        problem = base_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("allowed_partner_hosts")
    @classmethod
    def _allow_list(cls, value: list[str]) -> list[str]:
        PartnerAllowList.parse(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("allowed_cutover_hosts")
    @classmethod
    def _cutover_allow_list(cls, value: list[str]) -> list[str]:
        PartnerAllowList.parse(value, allow_empty=True)  # raises ValueError naming the bad entry
        return value

    @model_validator(mode="after")
    def _central_endpoints_allowed(self) -> Settings:
        for variable, url in (("TENDLC_INFOBIP_BASE_URL", self.infobip_base_url),
                              ("TENDLC_TCR_BASE_URL", self.tcr_base_url)):
            try:
                self.partner_allow_list.check(url, variable, fix=f"Add its scheme://host[:port] to {ALLOW_LIST}.")
            except EndpointNotAllowed as problem:
                raise ValueError(str(problem)) from None
        return self

    @model_validator(mode="after")
    def _webhook_budgets(self) -> Settings:
        if self.webhook_max_bytes_in_flight < 2 * self.webhook_max_body_bytes:
            raise ValueError("webhook_max_bytes_in_flight must be at least twice webhook_max_body_bytes")
        return self

    @model_validator(mode="after")
    def _webhook_over_https(self) -> Settings:
        url = self.webhook_public_url
        if url is not None and url.startswith("http://") and not self.webhook_allow_http:
            raise ValueError(
                "webhook_public_url (TENDLC_WEBHOOK_PUBLIC_URL) must be https: Infobip sends the webhook credentials "
                "with every delivery. Set TENDLC_WEBHOOK_ALLOW_HTTP=true only for a local sandbox."
            )
        return self

    @cached_property
    def partner_allow_list(self) -> PartnerAllowList:
        """`allowed_partner_hosts`, parsed once."""
        return PartnerAllowList.parse(self.allowed_partner_hosts)

    @cached_property
    def cutover_allow_list(self) -> PartnerAllowList:
        """`allowed_cutover_hosts`, parsed once (maybe empty: no webhook cut-over allowed)."""
        return PartnerAllowList.parse(self.allowed_cutover_hosts, setting=CUTOVER_ALLOW_LIST, allow_empty=True)

    @property
    def metrics_bind(self) -> str:
        """Where /metrics listens: `metrics_bind_address`, else `bind_address`."""
        return self.metrics_bind_address or self.bind_address

    @property
    def webhook_bind(self) -> str:
        """Where the webhook receiver listens: `webhook_bind_address`, else `bind_address`."""
        return self.webhook_bind_address or self.bind_address

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
            add_numbers_batch_size=self.add_numbers_batch_size,
            add_numbers_absence_window=timedelta(seconds=self.add_numbers_absence_window_seconds),
            preflight_refresh=timedelta(seconds=self.preflight_refresh_seconds),
        )
        return policy if random is None else replace(policy, random=random)
