"""The spec model: parsing from a Kopf body, defaults, aliases, validation mirroring the CRD."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tendlc.api import CampaignMigrationSpec, Nnid


def _spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "campaignId": "COJD655",
        "numbers": ["19546899283", "19168361160"],
        "loaSecretRef": {"name": "cojd655-loa"},
    }
    spec.update(overrides)
    return spec


def test_defaults_match_the_crd() -> None:
    spec = CampaignMigrationSpec.model_validate(_spec())
    assert spec.nnid is Nnid.INFOBIP
    assert spec.upstream_cnp_id == "OPMKT"
    assert spec.suspend is False
    assert spec.loa_secret_ref.document_key == "loa.pdf"
    assert spec.loa_secret_ref.signed_date_key == "signedDate"
    assert spec.campaign_name is None
    assert spec.campaign_name_or_default == "migrateCampaignCOJD655"
    assert spec.skip_osr_update is True
    assert spec.client_manages_nnid is False


def test_own_nnid_flips_both_flags() -> None:
    spec = CampaignMigrationSpec.model_validate(_spec(nnid="Own"))
    assert spec.client_manages_nnid is True
    assert spec.skip_osr_update is False


def test_camel_case_aliases_and_snake_case_names_both_parse() -> None:
    by_alias = CampaignMigrationSpec.model_validate(
        _spec(campaignName="Spring", numberPoolId="pool-1", upstreamCnpId="ABC",
              tcr={"baseUrl": "https://t/v2", "credentialsSecretRef": {"name": "tcr"}})
    )
    by_name = CampaignMigrationSpec(
        campaign_id="COJD655",
        campaign_name="Spring",
        numbers=("19546899283", "19168361160"),
        number_pool_id="pool-1",
        upstream_cnp_id="ABC",
        loa_secret_ref={"name": "cojd655-loa"},  # type: ignore[arg-type]
        tcr={"baseUrl": "https://t/v2", "credentialsSecretRef": {"name": "tcr"}},  # type: ignore[arg-type]
    )
    assert by_alias == by_name
    assert by_alias.campaign_name_or_default == "Spring"
    assert by_alias.to_dict()["numberPoolId"] == "pool-1"


def test_from_body_ignores_kopf_and_unknown_keys() -> None:
    body = {"metadata": {"name": "x"}, "spec": _spec(futureField=1), "status": {"kopf": {}}}
    spec = CampaignMigrationSpec.from_body(body)
    assert spec.campaign_id == "COJD655"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"campaignId": "cojd655"}, "campaignId"),
        ({"campaignId": "X123456"}, "campaignId"),
        ({"numbers": []}, "numbers"),
        ({"numbers": ["+19546899283"]}, "numbers"),
        ({"numbers": ["19546899283", "19546899283"]}, "numbers must be unique"),
        ({"numbers": [f"1954{i:07d}" for i in range(201)]}, "numbers"),
        ({"numbers": [19546899283]}, "numbers"),
        ({"nnid": "infobip"}, "nnid"),
        ({"upstreamCnpId": "opmkt"}, "upstreamCnpId"),
        ({"suspend": "yes"}, "suspend"),
        ({"campaignName": ""}, "campaignName"),
        ({"loaSecretRef": {"name": "x", "documentKey": "a b"}}, "documentKey"),
        ({"infobip": {"baseUrl": "ftp://x"}}, "baseUrl"),
        ({"infobip": {"baseUrl": "https://x.api.infobip.com"}}, "baseUrl needs credentialsSecretRef"),
        ({"tcr": {"baseUrl": "https://csp-api.campaignregistry.com/v2"}}, "baseUrl needs credentialsSecretRef"),
        ({"loaSecretRef": {"name": ".."}}, "loaSecretRef.name"),
        ({"loaSecretRef": {"name": "."}}, "loaSecretRef.name"),
        ({"loaSecretRef": {"name": "Payments-DB"}}, "loaSecretRef.name"),
        ({"infobip": {"credentialsSecretRef": {"name": "a/b"}}}, "credentialsSecretRef.name"),
        ({"tcr": {"credentialsSecretRef": {"name": "-x"}}}, "credentialsSecretRef.name"),
    ],
)
def test_invalid_specs_are_rejected_like_the_crd_does(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        CampaignMigrationSpec.model_validate(_spec(**overrides))
    assert fragment in str(info.value)


def test_missing_required_fields_are_rejected() -> None:
    for key in ("campaignId", "numbers", "loaSecretRef"):
        spec = _spec()
        del spec[key]
        with pytest.raises(ValidationError):
            CampaignMigrationSpec.model_validate(spec)


@given(st.lists(st.from_regex(r"1[0-9]{10}", fullmatch=True), min_size=1, max_size=200, unique=True))
def test_any_unique_list_of_valid_numbers_parses(numbers: list[str]) -> None:
    spec = CampaignMigrationSpec.model_validate(_spec(numbers=numbers))
    assert list(spec.numbers) == numbers


@given(st.text(max_size=12))
def test_campaign_id_accepted_exactly_when_it_matches_the_pattern(candidate: str) -> None:
    import re

    valid = re.fullmatch(r"C[A-Z0-9]{6}", candidate) is not None
    try:
        CampaignMigrationSpec.model_validate(_spec(campaignId=candidate))
    except ValidationError:
        assert not valid
    else:
        assert valid


OWN_CREDENTIALS = {"credentialsSecretRef": {"name": "own-credentials"}}


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://user:password@x.api.infobip.com", "user info"),
        ("https://x.api.infobip.com@attacker.example", "user info"),
        ("https://x.api.infobip.com/?x=", "query"),
        ("https://x.api.infobip.com?", "query"),
        ("https://x.api.infobip.com/#", "fragment"),
        ("https://attacker.example\\.api.infobip.com/", "backslash"),
        ("https:///numbers", "host"),
        ("https://:443/", "host"),
    ],
)
def test_base_urls_that_hide_their_target_are_refused(url: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        CampaignMigrationSpec.model_validate(_spec(infobip={"baseUrl": url, **OWN_CREDENTIALS}))
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["https://x.api.infobip.com", "http://127.0.0.1:8085/infobip", "https://[::1]:8443/v2", "https://h/a/b/"],
)
def test_plain_base_urls_with_own_credentials_are_accepted(url: str) -> None:
    spec = CampaignMigrationSpec.model_validate(_spec(tcr={"baseUrl": url, **OWN_CREDENTIALS}))
    assert spec.tcr is not None
    assert spec.tcr.base_url == url


def test_own_credentials_without_an_endpoint_use_the_operators_endpoint() -> None:
    spec = CampaignMigrationSpec.model_validate(_spec(infobip=OWN_CREDENTIALS))
    assert spec.infobip is not None
    assert spec.infobip.base_url is None


@pytest.mark.parametrize("name", ["cojd655-loa", "a", "loa.v2", "0-0", "a" * 253])
def test_secret_names_are_dns_subdomains(name: str) -> None:
    spec = CampaignMigrationSpec.model_validate(_spec(loaSecretRef={"name": name}))
    assert spec.loa_secret_ref.name == name
