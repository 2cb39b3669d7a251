"""The CampaignMigration spec as a validated pydantic model.

Parses the `spec` dict of a Kopf body (camelCase, as stored) into snake_case attributes, applies
the CRD's defaults, and validates exactly what the CRD validates (its OpenAPI schema and its CEL
rules), so a spec that reached the operator some other way (a test, an old object, a CRD older than
the operator) is held to the same rules. The regular expressions are module constants shared with
the tests that compare them with the CRD. No I/O, no Kopf, no decisions here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

CAMPAIGN_ID_PATTERN = r"^C[A-Z0-9]{6}$"
NUMBER_PATTERN = r"^1[0-9]{10}$"  # ASCII digits, exactly as kube-apiserver (RE2) reads the CRD
UPSTREAM_CNP_ID_PATTERN = r"^[A-Z0-9]{1,16}$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
BASE_URL_PATTERN = r"^https?://[^\t\n\f\r ]+$"  # RE2's \s, spelled out: ASCII whitespace only
# The CRD's CEL rules on a base URL, in the same RE2 syntax (`matches` searches, so `^` anchors).
BASE_URL_HOST_PATTERN = r"^https?://[^/?#@:]+"
BASE_URL_USERINFO_PATTERN = r"^https?://[^/]*@"
# A DNS-1123 subdomain, as Kubernetes names Secrets (so never "." or ".."); a CEL rule in the CRD.
SECRET_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
MIGRATE_MAX_NUMBERS = 200
"""Numbers one migrate request carries (D3), and the most a campaign without a number pool may list."""
POOLED_MAX_NUMBERS = 35_000
"""Numbers a number-pooling campaign holds at most (published `UpdateCampaignRegistrationRequest`)."""
UNPOOLED_CARRIER_MAX = 49
"""Numbers a campaign without a number pool holds at T-Mobile (and per Infobip's spec): more is warned."""
MAX_NUMBERS = POOLED_MAX_NUMBERS
"""`maxItems` of `spec.numbers` in the CRD."""
DEFAULT_UPSTREAM_CNP_ID = "OPMKT"
CONFIG_MAP_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
CONFIG_MAP_KEY_PATTERN = SECRET_KEY_PATTERN

PhoneNumber = Annotated[str, StringConstraints(min_length=11, max_length=11, pattern=NUMBER_PATTERN)]
SecretName = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=SECRET_NAME_PATTERN)]
SecretKey = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class Nnid(StrEnum):
    """Who updates the numbers' NetNumber OSR records."""

    INFOBIP = "Infobip"
    OWN = "Own"


class Mode(StrEnum):
    """What the operator does with the resource: migrate it, or only check it (D64)."""

    MIGRATE = "Migrate"
    PREFLIGHT = "Preflight"


def _aware(value: Any) -> Any:
    """An RFC 3339 string (or a datetime) as an aware datetime; a number is refused, as the CRD does."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an RFC 3339 date-time string")
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


class SecretRef(_Model):
    """A Secret in the resource's namespace."""

    name: SecretName


class LoaSecretRef(_Model):
    """The Secret holding the signed LOA document and its signing date (ISO `YYYY-MM-DD`)."""

    name: SecretName
    document_key: SecretKey = Field(default="loa.pdf", alias="documentKey")
    signed_date_key: SecretKey = Field(default="signedDate", alias="signedDateKey")


class ConfigMapKeyRef(_Model):
    """A key of a ConfigMap in the resource's namespace."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=CONFIG_MAP_NAME_PATTERN)]
    key: SecretKey


class NumbersFrom(_Model):
    """Where a long number list lives instead of `spec.numbers` (D62)."""

    config_map_key_ref: ConfigMapKeyRef = Field(alias="configMapKeyRef")


def numbers_problem(numbers: tuple[str, ...], *, pooled: bool) -> str | None:
    """What is wrong with a number list (count, uniqueness), or None; the same rules as the CRD's.

    The pattern of each number is the model's (or, for a ConfigMap, the parser's) job; this is
    what a list as a whole must satisfy, so `spec.numbers` and `numbersFrom` are held to one rule.
    """
    if not numbers:
        return "the list holds no number"
    limit = POOLED_MAX_NUMBERS if pooled else MIGRATE_MAX_NUMBERS
    if len(numbers) > limit:
        if pooled:
            return f"{len(numbers)} numbers: a number-pooling campaign holds at most {POOLED_MAX_NUMBERS}"
        return (
            f"{len(numbers)} numbers without numberPoolId: a campaign without a number pool migrates at most "
            f"{MIGRATE_MAX_NUMBERS} (and holds at most {UNPOOLED_CARRIER_MAX} at T-Mobile). Set spec.numberPoolId "
            "to the pool your Infobip account manager arranged, or list fewer numbers"
        )
    seen: set[str] = set()
    for number in numbers:
        if number in seen:
            return f"numbers must be unique ({number} is listed twice)"
        seen.add(number)
    return None


def base_url_problem(url: str) -> str | None:
    """What the CRD's CEL rules refuse in a base URL (no host, user info, query, fragment, backslash), or None.

    The tenant writes this URL; the operator sends credentials to it. Each refusal closes a way of
    making it point somewhere else than it seems to: user info hides the host, a query or fragment
    swallows the endpoint path the client appends, a backslash is read as `/` by some parsers.
    """
    if not re.search(BASE_URL_HOST_PATTERN, url):
        return "needs a host after the scheme"
    if re.search(BASE_URL_USERINFO_PATTERN, url):
        return "must not carry user info (user:password@)"
    for character, what in (("?", "a query"), ("#", "a fragment"), ("\\", "a backslash")):
        if character in url:
            return f"must not contain {what} ({character!r})"
    return None


def _base_url(url: str | None) -> str | None:
    if url is not None and (problem := base_url_problem(url)) is not None:
        raise ValueError(f"baseUrl {problem}")
    return url


BaseUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=BASE_URL_PATTERN)]


class PartnerOverride(_Model):
    """Per-resource partner account: credentials alone, or an endpoint *with* its own credentials.

    Infobip's Secret holds key `apiKey`; TCR's `apiKey` and `apiSecret`. A `baseUrl` without a
    `credentialsSecretRef` is refused (as by the CRD): the operator's central credentials are only
    ever sent to the operator's own endpoint.
    """

    base_url: BaseUrl | None = Field(default=None, alias="baseUrl")
    credentials_secret_ref: SecretRef | None = Field(default=None, alias="credentialsSecretRef")

    @field_validator("base_url")
    @classmethod
    def _base_url_shape(cls, value: str | None) -> str | None:
        return _base_url(value)

    @model_validator(mode="after")
    def _endpoint_needs_credentials(self) -> PartnerOverride:
        if self.base_url is not None and self.credentials_secret_ref is None:
            raise ValueError(
                "baseUrl needs credentialsSecretRef: a resource that sets its own endpoint must name its own "
                "credentials Secret too; add credentialsSecretRef or remove baseUrl"
            )
        return self


# --- the cut-over: what switches the campaign's traffic once it is REGISTERED -------------------
# A ConfigMap key in the resource's own namespace (a routing table the messaging service reads)
# and/or an HTTPS endpoint of the platform team's, called with an HMAC-signed JSON body and an
# idempotency key. The URL follows the rules of a partner URL and an operator-side allow-list; the
# signing key's Secret opts in with `tendlc.io/usage: cutover`. A MigrationWave may set it for
# its members.

CONFIG_MAP_VALUE_MAX = 1024
DEFAULT_CONFIG_MAP_VALUE = "infobip"
CAMPAIGN_ID_PLACEHOLDER = "{campaignId}"


class CutOverConfigMap(_Model):
    """Set `data[key] = value` in ConfigMap `name` of the resource's namespace (the key: `{campaignId}`
    placeholders are replaced, so one routing table can serve a whole wave)."""

    name: SecretName
    key: Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9{}]+$")]
    value: Annotated[str, StringConstraints(min_length=0, max_length=CONFIG_MAP_VALUE_MAX)] = DEFAULT_CONFIG_MAP_VALUE

    @field_validator("key")
    @classmethod
    def _one_placeholder(cls, key: str) -> str:
        # A ConfigMap key is [-._a-zA-Z0-9]+; `{campaignId}` is the one placeholder that becomes such.
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", key.replace(CAMPAIGN_ID_PLACEHOLDER, "C")):
            raise ValueError(f"key may hold only letters, digits, '-', '_', '.' and {CAMPAIGN_ID_PLACEHOLDER}")
        return key

    def key_for(self, campaign_id: str) -> str:
        return self.key.replace(CAMPAIGN_ID_PLACEHOLDER, campaign_id)


class CutOverWebhook(_Model):
    """POST a signed JSON body to `url`; the HMAC-SHA256 key is `secretRef`'s key `secretKey`."""

    url: Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=BASE_URL_PATTERN)]
    secret_ref: SecretRef = Field(alias="secretRef")
    secret_key: Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)] = Field(
        default="secretKey", alias="secretKey"
    )

    @field_validator("url")
    @classmethod
    def _https_shape(cls, url: str) -> str:
        problem = base_url_problem(url)
        if problem is not None:
            raise ValueError(f"url {problem}")
        if not url.startswith("https://"):
            raise ValueError("url must be https (the body is signed, not encrypted)")
        return url


class CutOver(_Model):
    """What switches the campaign's traffic once it is REGISTERED (at least one of the two)."""

    config_map: CutOverConfigMap | None = Field(default=None, alias="configMap")
    webhook: CutOverWebhook | None = None

    @model_validator(mode="after")
    def _something(self) -> CutOver:
        if self.config_map is None and self.webhook is None:
            raise ValueError("cutover needs configMap or webhook (or both)")
        return self


class CampaignMigrationSpec(_Model):
    """`spec` of a CampaignMigration."""

    campaign_id: Annotated[str, StringConstraints(min_length=7, max_length=7, pattern=CAMPAIGN_ID_PATTERN)] = Field(
        alias="campaignId"
    )
    campaign_name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None, alias="campaignName"
    )
    numbers: tuple[PhoneNumber, ...] = Field(default=(), max_length=MAX_NUMBERS)
    """Inline numbers; empty when `numbers_from` names a ConfigMap (the controller fills them in)."""
    numbers_from: NumbersFrom | None = Field(default=None, alias="numbersFrom")
    number_pool_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None, alias="numberPoolId"
    )
    nnid: Nnid = Nnid.INFOBIP
    loa_secret_ref: LoaSecretRef = Field(alias="loaSecretRef")
    upstream_cnp_id: Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=UPSTREAM_CNP_ID_PATTERN)] = (
        Field(default=DEFAULT_UPSTREAM_CNP_ID, alias="upstreamCnpId")
    )
    infobip: PartnerOverride | None = None
    tcr: PartnerOverride | None = None
    suspend: StrictBool = False
    cutover: CutOver | None = None
    mode: Mode = Mode.MIGRATE
    not_before: Annotated[datetime, BeforeValidator(_aware)] | None = Field(default=None, alias="notBefore")
    """No partner write before this time; the preflight checks the LOA against it (D66)."""

    @model_validator(mode="after")
    def _numbers_rules(self) -> CampaignMigrationSpec:
        if self.numbers_from is not None:
            if self.numbers:
                raise ValueError("set either numbers or numbersFrom, not both")
            return self
        problem = numbers_problem(self.numbers, pooled=self.number_pool_id is not None)
        if problem is not None:
            raise ValueError("numbers: " + ("numbers or numbersFrom is required" if not self.numbers else problem))
        return self

    def with_numbers(self, numbers: tuple[str, ...]) -> CampaignMigrationSpec:
        """This spec with `numbers` read from `numbers_from` (already checked by the caller)."""
        return self.model_copy(update={"numbers": numbers})

    @property
    def pooled(self) -> bool:
        return self.number_pool_id is not None

    @property
    def campaign_name_or_default(self) -> str:
        """The Infobip campaign name: `campaignName`, or `migrateCampaign<campaignId>`."""
        return self.campaign_name or f"migrateCampaign{self.campaign_id}"

    @property
    def client_manages_nnid(self) -> bool:
        """`isClientManageNnid` of the migrate call."""
        return self.nnid is Nnid.OWN

    @property
    def skip_osr_update(self) -> bool:
        """`skipOsrUpdate` of the import call: true when Infobip manages the NNID."""
        return self.nnid is Nnid.INFOBIP

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CampaignMigrationSpec:
        """Parse the `spec` of a whole object (a Kopf body or any mapping with a `spec` key)."""
        return cls.model_validate(dict(body.get("spec") or {}))

    def to_dict(self) -> dict[str, Any]:
        """The spec as stored (camelCase, defaults included, unset optional fields omitted)."""
        stored = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self.numbers_from is not None:
            stored.pop("numbers", None)  # filled in from the ConfigMap, not part of what is stored
        return stored
