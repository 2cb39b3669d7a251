"""The CRD YAML and the pydantic models describe the same resource; the invalid corpus is well-formed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from tendlc.api import (
    CAMPAIGN_ID_PATTERN,
    GROUP,
    KIND,
    NUMBER_PATTERN,
    PLURAL,
    SECRET_KEY_PATTERN,
    SHORT_NAME,
    UPSTREAM_CNP_ID_PATTERN,
    VERSION,
    CampaignMigrationSpec,
    MigrationStatus,
    Nnid,
)
from tendlc.api.spec import (
    BASE_URL_HOST_PATTERN,
    BASE_URL_PATTERN,
    BASE_URL_USERINFO_PATTERN,
    CONFIG_MAP_NAME_PATTERN,
    MAX_NUMBERS,
    MIGRATE_MAX_NUMBERS,
    SECRET_NAME_PATTERN,
    LoaSecretRef,
    Mode,
)
from tendlc.api.status import (
    MigrationSearch,
    NumbersProgress,
    NumbersSearch,
    PendingOperation,
    PreflightItem,
    PreflightResult,
    Problem,
)

ROOT = Path(__file__).resolve().parents[3]
CRD_PATH = ROOT / "crds" / "campaignmigrations.tendlc.io.yaml"
DATA = ROOT / "tests" / "data"
INVALID = sorted((DATA / "invalid").glob("*.yaml"))


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    documents = list(yaml.safe_load_all(CRD_PATH.read_text()))
    assert len(documents) == 1, "the CRD file must be a single YAML document"
    document: dict[str, Any] = documents[0]
    return document


@pytest.fixture(scope="module")
def version(crd: dict[str, Any]) -> dict[str, Any]:
    (only,) = crd["spec"]["versions"]
    result: dict[str, Any] = only
    return result


@pytest.fixture(scope="module")
def schema(version: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return result


def _spec_schema(schema: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = schema["properties"]["spec"]
    return result


def test_names_group_and_scope(crd: dict[str, Any], version: dict[str, Any]) -> None:
    assert crd["metadata"]["name"] == f"{PLURAL}.{GROUP}"
    names = crd["spec"]["names"]
    assert (crd["spec"]["group"], names["kind"], names["plural"]) == (GROUP, KIND, PLURAL)
    assert names["singular"] == "campaignmigration"
    assert names["shortNames"] == [SHORT_NAME]
    assert names["categories"] == ["tendlc"]
    assert crd["spec"]["scope"] == "Namespaced"
    assert version["name"] == VERSION
    assert version["served"]
    assert version["storage"]
    assert version["subresources"] == {"status": {}}


def test_printer_columns(version: dict[str, Any], schema: dict[str, Any]) -> None:
    columns = {c["name"].upper(): c for c in version["additionalPrinterColumns"]}
    assert list(columns) == ["CAMPAIGN", "PHASE", "READY", "NUMBERS", "INFOBIP-ID", "AGE"]
    assert columns["CAMPAIGN"]["jsonPath"] == ".spec.campaignId"
    assert columns["PHASE"]["jsonPath"] == ".status.phase"
    assert columns["READY"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["NUMBERS"]["jsonPath"] == ".status.numberCount"
    assert columns["NUMBERS"]["type"] == "integer"
    assert columns["INFOBIP-ID"]["jsonPath"] == ".status.infobipCampaignId"
    assert columns["INFOBIP-ID"]["priority"] == 1
    assert columns["AGE"]["jsonPath"] == ".metadata.creationTimestamp"
    assert "numberCount" in schema["properties"]["status"]["properties"]


def test_patterns_are_the_same_strings_in_crd_and_models(schema: dict[str, Any]) -> None:
    spec = _spec_schema(schema)["properties"]
    assert spec["campaignId"]["pattern"] == CAMPAIGN_ID_PATTERN
    assert spec["numbers"]["items"]["pattern"] == NUMBER_PATTERN
    assert spec["upstreamCnpId"]["pattern"] == UPSTREAM_CNP_ID_PATTERN
    assert spec["loaSecretRef"]["properties"]["documentKey"]["pattern"] == SECRET_KEY_PATTERN
    assert spec["loaSecretRef"]["properties"]["signedDateKey"]["pattern"] == SECRET_KEY_PATTERN
    assert spec["infobip"]["properties"]["baseUrl"]["pattern"] == BASE_URL_PATTERN
    assert spec["tcr"]["properties"]["baseUrl"]["pattern"] == BASE_URL_PATTERN
    assert spec["numbers"]["maxItems"] == MAX_NUMBERS
    assert spec["numbers"]["minItems"] == 1


def test_defaults_and_enums_agree_with_the_models(schema: dict[str, Any]) -> None:
    spec = _spec_schema(schema)
    properties = spec["properties"]
    fields = CampaignMigrationSpec.model_fields
    assert properties["nnid"]["enum"] == [n.value for n in Nnid]
    assert properties["nnid"]["default"] == fields["nnid"].default
    # No CRD default: an unset upstreamCnpId takes the operator's TENDLC_UPSTREAM_CNP_ID (controller/reconcile.py).
    assert "default" not in properties["upstreamCnpId"]
    assert properties["suspend"]["default"] is fields["suspend"].default
    assert properties["mode"]["enum"] == [m.value for m in Mode]
    assert properties["mode"]["default"] == fields["mode"].default
    assert properties["numbersFrom"]["properties"]["configMapKeyRef"]["properties"]["name"]["pattern"] == (
        CONFIG_MAP_NAME_PATTERN
    )
    loa = properties["loaSecretRef"]["properties"]
    assert loa["documentKey"]["default"] == LoaSecretRef.model_fields["document_key"].default
    assert loa["signedDateKey"]["default"] == LoaSecretRef.model_fields["signed_date_key"].default
    required = {(f.alias or n) for n, f in fields.items() if f.is_required()}
    assert set(spec["required"]) == required


def test_every_spec_field_exists_in_both_and_has_a_description(schema: dict[str, Any]) -> None:
    properties = _spec_schema(schema)["properties"]
    aliases = {(f.alias or n) for n, f in CampaignMigrationSpec.model_fields.items()}
    assert set(properties) == aliases

    def walk(node: dict[str, Any], path: str) -> None:
        for name, child in node.get("properties", {}).items():
            assert child.get("description"), f"{path}.{name} has no description (kubectl explain)"
            walk(child, f"{path}.{name}")

    walk(_spec_schema(schema), "spec")


def test_every_status_field_exists_in_both(schema: dict[str, Any]) -> None:
    properties = schema["properties"]["status"]["properties"]
    aliases = {(f.alias or n) for n, f in MigrationStatus.model_fields.items()}
    assert set(properties) == aliases


@pytest.mark.parametrize(
    ("field", "model"),
    [
        ("pendingOperation", PendingOperation), ("migrationSearch", MigrationSearch), ("problem", Problem),
        ("numbers", NumbersProgress), ("numbers.search", NumbersSearch), ("preflight", PreflightResult),
        ("preflight.problems", PreflightItem), ("preflight.notes", PreflightItem),
        ("preflight.notChecked", PreflightItem),
    ],
)
def test_nested_status_objects_have_the_models_fields_exactly(schema: dict[str, Any], field: str, model: Any) -> None:
    """A field the CRD does not declare is pruned by the API server: the marker would lose parts."""
    node = schema["properties"]["status"]
    for part in field.split("."):
        node = node["properties"][part]
        node = node.get("items", node)
    assert set(node["properties"]) == {(f.alias or n) for n, f in model.model_fields.items()}


def test_cel_rules_guard_immutability_and_uniqueness_is_a_set(schema: dict[str, Any]) -> None:
    properties = _spec_schema(schema)["properties"]
    (immutable,) = properties["campaignId"]["x-kubernetes-validations"]
    assert immutable["rule"] == "self == oldSelf"
    assert "immutable" in immutable["message"]
    # Uniqueness is the API server's O(n) list-type check, not an O(n²) CEL rule (35,000 items).
    assert properties["numbers"]["x-kubernetes-list-type"] == "set"
    assert "x-kubernetes-validations" not in properties["numbers"]
    assert properties["numbers"]["items"]["maxLength"] == 11  # bounds the CEL cost estimate
    rules = {rule["message"].split(" ")[0]: rule["rule"] for rule in _spec_schema(schema)["x-kubernetes-validations"]}
    assert rules["set"] == "has(self.numbers) != has(self.numbersFrom)"
    assert f"size(self.numbers) <= {MIGRATE_MAX_NUMBERS}" in rules["more"]


def _rules(node: dict[str, Any]) -> list[str]:
    return [rule["rule"] for rule in node.get("x-kubernetes-validations", [])]


def test_secret_names_are_dns_subdomains_in_crd_and_model(schema: dict[str, Any]) -> None:
    properties = _spec_schema(schema)["properties"]
    names = [
        properties["loaSecretRef"]["properties"]["name"],
        properties["infobip"]["properties"]["credentialsSecretRef"]["properties"]["name"],
        properties["tcr"]["properties"]["credentialsSecretRef"]["properties"]["name"],
    ]
    for name in names:
        assert _rules(name) == [f"self.matches('{SECRET_NAME_PATTERN}')"]
        assert name["maxLength"] == 253


def test_partner_overrides_are_all_or_nothing_and_urls_plain_in_crd_and_model(schema: dict[str, Any]) -> None:
    properties = _spec_schema(schema)["properties"]
    for partner in ("infobip", "tcr"):
        override = properties[partner]
        assert _rules(override) == ["has(self.credentialsSecretRef) || !has(self.baseUrl)"]
        assert "credentialsSecretRef" in override["x-kubernetes-validations"][0]["message"]
        assert _rules(override["properties"]["baseUrl"]) == [
            f"self.matches('{BASE_URL_HOST_PATTERN}')",
            f"!self.matches('{BASE_URL_USERINFO_PATTERN}')",
            "!self.contains('?')",
            "!self.contains('#')",
            "!self.contains('\\\\')",
        ]
        for rule in override["properties"]["baseUrl"]["x-kubernetes-validations"]:
            assert rule["message"].startswith(f"{partner}.baseUrl ")


def test_every_string_has_a_max_length_where_cel_sees_it(schema: dict[str, Any]) -> None:
    properties = _spec_schema(schema)["properties"]
    assert properties["campaignId"]["maxLength"] == 7
    assert properties["numbers"]["maxItems"] == MAX_NUMBERS


def test_conditions_are_a_map_keyed_by_type(schema: dict[str, Any]) -> None:
    conditions = schema["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]


# --- the corpus ---------------------------------------------------------------------------------------


def _header(path: Path, key: str) -> str | None:
    for line in path.read_text().splitlines():
        match = re.match(rf"#\s*{key}:\s*(.+)$", line)
        if match:
            return match.group(1).strip()
    return None


def test_the_invalid_corpus_has_at_least_thirty_cases() -> None:
    assert len(INVALID) >= 30


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_manifest_is_well_formed(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), "the first line names the expected rejection"
    assert _header(path, "expect")
    documents = list(yaml.safe_load_all(path.read_text()))
    assert len(documents) == 1
    (document,) = documents
    assert document["apiVersion"] == f"{GROUP}/{VERSION}"
    assert document["kind"] == KIND
    assert document["metadata"]["name"]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_manifest_is_rejected_by_the_schema_or_its_cel_rule(path: Path, schema: dict[str, Any]) -> None:
    """Each case really breaks a rule: the OpenAPI schema (checked here with jsonschema) or, for cases
    marked `# rule: cel`, the CEL rule (checked through the pydantic model that mirrors it)."""
    document = yaml.safe_load(path.read_text())
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(document))
    if _header(path, "rule") in ("cel", "list-type"):
        assert not errors, "a case for a CEL rule or the list type must pass the OpenAPI schema"
        with pytest.raises(ValidationError):
            CampaignMigrationSpec.model_validate(document["spec"])
    else:
        assert errors, "the OpenAPI schema accepts this manifest"
    if "spec" in document:
        with pytest.raises(ValidationError):
            CampaignMigrationSpec.model_validate(document["spec"])


def test_the_valid_example_passes_schema_and_model(schema: dict[str, Any]) -> None:
    document = yaml.safe_load((DATA / "valid" / "basic.yaml").read_text())
    jsonschema.Draft7Validator(schema).validate(document)
    spec = CampaignMigrationSpec.model_validate(document["spec"])
    assert spec.campaign_name_or_default == "migrateCampaignCOJD655"
    assert spec.to_dict() == document["spec"]
