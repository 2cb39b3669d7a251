"""The CampaignMigration spec as a validated pydantic model.

Parses the `spec` dict of a Kopf body (camelCase, as stored) into snake_case attributes, applies
the CRD's defaults, and validates exactly what the CRD validates, so a spec that reached the
operator some other way (a test, an old object) is held to the same rules. The regular
expressions are module constants shared with the tests that compare them with the CRD. No I/O,
no Kopf, no decisions here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

CAMPAIGN_ID_PATTERN = r"^C[A-Z0-9]{6}$"
NUMBER_PATTERN = r"^1[0-9]{10}$"  # ASCII digits, exactly as kube-apiserver (RE2) reads the CRD
UPSTREAM_CNP_ID_PATTERN = r"^[A-Z0-9]{1,16}$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
BASE_URL_PATTERN = r"^https?://[^\t\n\f\r ]+$"  # RE2's \s, spelled out: ASCII whitespace only
MAX_NUMBERS = 200
DEFAULT_UPSTREAM_CNP_ID = "OPMKT"

PhoneNumber = Annotated[str, StringConstraints(min_length=11, max_length=11, pattern=NUMBER_PATTERN)]
SecretName = Annotated[str, StringConstraints(min_length=1, max_length=253)]
SecretKey = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class Nnid(StrEnum):
    """Who updates the numbers' NetNumber OSR records."""

    INFOBIP = "Infobip"
    OWN = "Own"


class SecretRef(_Model):
    """A Secret in the resource's namespace."""

    name: SecretName


class LoaSecretRef(_Model):
    """The Secret holding the signed LOA document and its signing date (ISO `YYYY-MM-DD`)."""

    name: SecretName
    document_key: SecretKey = Field(default="loa.pdf", alias="documentKey")
    signed_date_key: SecretKey = Field(default="signedDate", alias="signedDateKey")


class PartnerOverride(_Model):
    """Per-resource partner endpoint and/or credentials (Infobip: key `apiKey`; TCR: `apiKey`, `apiSecret`)."""

    base_url: Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=BASE_URL_PATTERN)] | None = Field(
        default=None, alias="baseUrl"
    )
    credentials_secret_ref: SecretRef | None = Field(default=None, alias="credentialsSecretRef")


class CampaignMigrationSpec(_Model):
    """`spec` of a CampaignMigration."""

    campaign_id: Annotated[str, StringConstraints(min_length=7, max_length=7, pattern=CAMPAIGN_ID_PATTERN)] = Field(
        alias="campaignId"
    )
    campaign_name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None, alias="campaignName"
    )
    numbers: tuple[PhoneNumber, ...] = Field(min_length=1, max_length=MAX_NUMBERS)
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

    @field_validator("numbers")
    @classmethod
    def _numbers_unique(cls, numbers: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(numbers)) != len(numbers):
            raise ValueError("numbers must be unique")
        return numbers

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
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
