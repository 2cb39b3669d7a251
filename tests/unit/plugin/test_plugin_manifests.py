"""Manifests and LOA Secrets built from rows, validated by the packaged copy of the CRD's schema."""

from __future__ import annotations

import base64
import copy
from datetime import date
from pathlib import Path

import pytest

from tendlc.api import CampaignMigrationSpec, Nnid
from tendlc_cli import schema
from tendlc_cli.inventory import InventoryRow
from tendlc_cli.manifests import loa_secret_manifest, migration_manifest, valid_label_value

ROOT = Path(__file__).resolve().parents[3]
ROW = InventoryRow(line=2, campaign_id="COJD655", numbers=("19546899283", "19168361160"),
                   loa_file=Path("/x/loa.PDF"), loa_signed_date=date(2026, 11, 20))


def test_the_packaged_crd_is_the_one_in_crds() -> None:
    packaged = ROOT / "plugin" / "tendlc_cli" / "data" / "campaignmigrations.tendlc.io.yaml"
    assert packaged.read_bytes() == (ROOT / "crds" / "campaignmigrations.tendlc.io.yaml").read_bytes(), (
        "copy crds/campaignmigrations.tendlc.io.yaml to plugin/tendlc_cli/data/"
    )


def test_a_minimal_manifest_is_valid_and_parses_into_the_operators_model() -> None:
    manifest = migration_manifest(ROW)
    assert manifest == {
        "apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration", "metadata": {"name": "cojd655"},
        "spec": {"campaignId": "COJD655", "numbers": ["19546899283", "19168361160"],
                 "loaSecretRef": {"name": "cojd655-loa"}},
    }
    assert schema.validate(manifest) == []
    assert CampaignMigrationSpec.from_body(manifest).loa_secret_ref.document_key == "loa.pdf"


def test_every_option_lands_where_the_crd_wants_it() -> None:
    row = InventoryRow(line=3, campaign_id="CABC123", numbers=("19546899283",), loa_file=Path("scan.png"),
                       loa_signed_date=date(2026, 11, 20), campaign_name="Team A", number_pool_id="pool-1",
                       nnid=Nnid.OWN)
    manifest = migration_manifest(row, namespace="team-a", wave="w1", suspend=True)
    assert manifest["metadata"] == {"name": "cabc123", "namespace": "team-a", "labels": {"tendlc.io/wave": "w1"},
                                    "annotations": {"tendlc.io/suspend": "true"}}
    assert manifest["spec"] == {"campaignId": "CABC123", "numbers": ["19546899283"],
                                "loaSecretRef": {"name": "cabc123-loa", "documentKey": "loa.png"},
                                "campaignName": "Team A", "numberPoolId": "pool-1", "nnid": "Own"}
    assert schema.validate(manifest) == []
    secret = loa_secret_manifest(row, b"png bytes", namespace="team-a", wave="w1")
    assert set(secret["data"]) == {"loa.png", "signedDate"}


def test_the_loa_secret_is_labelled_and_holds_document_and_date() -> None:
    secret = loa_secret_manifest(ROW, b"%PDF-1.7")
    assert secret["metadata"] == {"name": "cojd655-loa", "labels": {"tendlc.io/usage": "loa"}}
    assert base64.b64decode(secret["data"]["loa.pdf"]) == b"%PDF-1.7"
    assert base64.b64decode(secret["data"]["signedDate"]) == b"2026-11-20"
    assert "stringData" not in secret


@pytest.mark.parametrize(("change", "problem"), [
    (lambda m: m["spec"].update(campaignId="COJD65"), "spec.campaignId: 'COJD65' is too short"),
    (lambda m: m["spec"]["numbers"].append("2954689928"), "spec.numbers[2]: '2954689928' does not match"),
    (lambda m: m["spec"].update(numbers=[]), "spec.numbers: [] should be non-empty"),
    (lambda m: m["spec"].update(nnid="Mine"), "spec.nnid: 'Mine' is not one of ['Infobip', 'Own']"),
    (lambda m: m["spec"].pop("loaSecretRef"), "spec: 'loaSecretRef' is a required property"),
    (lambda m: m["spec"].update(campaignName="x" * 256), "spec.campaignName: "),
    (lambda m: m["spec"].update(suspend="yes"), "spec.suspend: 'yes' is not of type 'boolean'"),
])
def test_schema_violations_name_the_field(change, problem: str) -> None:  # type: ignore[no-untyped-def]
    manifest = copy.deepcopy(migration_manifest(ROW))
    change(manifest)
    problems = schema.validate(manifest)
    assert any(p.startswith(problem) for p in problems), problems


def test_the_cel_rules_are_known_so_the_report_can_name_them() -> None:
    rules = schema.cel_rules()
    assert "campaignId is immutable; create a new CampaignMigration to migrate another campaign" in rules
    assert any(rule.startswith("more than 200 numbers need a number pool") for rule in rules)
    assert any(rule.startswith("set exactly one of numbers") for rule in rules)
    assert sum("fixed once the Infobip migration was submitted" in rule for rule in rules) == 5
    # The tenant-safety rules (docs/security.md): Secret names, and per partner the endpoint and its credentials.
    assert sum(rule.endswith("(a DNS-1123 subdomain), e.g. cojd655-loa") for rule in rules) == 1
    for partner in ("infobip", "tcr"):
        mine = [rule for rule in rules if rule.startswith(f"{partner}.")]
        assert len(mine) == 7, mine
        assert mine[0].startswith(f"{partner}.baseUrl needs {partner}.credentialsSecretRef")


@pytest.mark.parametrize(("value", "valid"), [("w1", True), ("wave-2026.11_a", True), ("", True), ("-w", False),
                                              ("w!", False), ("x" * 64, False)])
def test_wave_names_are_label_values(value: str, valid: bool) -> None:
    assert valid_label_value(value) is valid
