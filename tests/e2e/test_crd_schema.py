"""The API server itself rejects bad CampaignMigrations, with a message that names the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from support.cluster import Cluster

DATA = Path(__file__).parents[1] / "data"
INVALID = sorted((DATA / "invalid").glob("*.yaml"))


def _expectation(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            return line.removeprefix("# expect:").strip()
    raise AssertionError(f"{path.name} has no '# expect:' line")


def test_the_corpus_is_large_enough() -> None:
    assert len(INVALID) >= 30


@pytest.mark.parametrize("manifest", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_manifest_is_rejected_with_its_message(
    cluster: Cluster, crd: str, namespace: str, manifest: Path
) -> None:
    result = cluster.kubectl("apply", "-n", namespace, "-f", str(manifest), check=False)
    assert result.returncode != 0, f"{manifest.name} was accepted"
    assert _expectation(manifest) in result.stderr
    name = yaml.safe_load(manifest.read_text())["metadata"]["name"]
    assert cluster.kubectl("get", "-n", namespace, "cmig", name, check=False).returncode != 0  # nothing stored


def test_valid_manifest_is_accepted_and_defaults_are_applied(cluster: Cluster, crd: str, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", str(DATA / "valid" / "basic.yaml"))
    stored = cluster.get_json("-n", namespace, "campaignmigration/cojd655")
    assert stored["spec"]["campaignId"] == "COJD655"
    minimal = {
        "apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration", "metadata": {"name": "minimal"},
        "spec": {"campaignId": "CABC123", "numbers": ["19546899283"], "loaSecretRef": {"name": "loa"}},
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(minimal))
    spec = cluster.get_json("-n", namespace, "cmig/minimal")["spec"]
    assert spec["nnid"] == "Infobip"
    assert "upstreamCnpId" not in spec  # no CRD default: the operator's TENDLC_UPSTREAM_CNP_ID applies
    assert spec["suspend"] is False


def test_campaign_id_cannot_change_after_creation(cluster: Cluster, crd: str, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", str(DATA / "valid" / "basic.yaml"))
    result = cluster.kubectl(
        "patch", "-n", namespace, "cmig/cojd655", "--type=merge", "-p", '{"spec": {"campaignId": "CZZZ999"}}',
        check=False,
    )
    assert result.returncode != 0
    assert "campaignId is immutable" in result.stderr
    assert cluster.get_json("-n", namespace, "cmig/cojd655")["spec"]["campaignId"] == "COJD655"


@pytest.mark.parametrize(
    ("status", "fixed"),
    [
        ({"pendingOperation": {"operation": "SubmitMigration", "startedAt": "2026-12-01T00:00:00Z"}}, True),
        ({"infobipCampaignId": "44e8c5fc-0000-4000-8000-000000000001"}, True),
        ({"pendingOperation": {"operation": "ElectCnp", "startedAt": "2026-12-01T00:00:00Z"}}, False),
        ({}, False),
    ],
    ids=["submission-in-flight", "submitted", "only-elected", "not-started"],
)
def test_what_a_submission_sent_is_fixed_once_it_was_attempted(
    cluster: Cluster, crd: str, namespace: str, status: dict[str, object], fixed: bool
) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", str(DATA / "valid" / "basic.yaml"))
    if status:
        cluster.kubectl("patch", "-n", namespace, "cmig/cojd655", "--subresource=status", "--type=merge",
                        "-p", json.dumps({"status": status}))
    for change, words in (
        ({"numbers": ["19546899299"]}, "numbers are fixed once the Infobip migration was submitted"),
        ({"campaignName": "another"}, "campaignName is fixed"),
        ({"nnid": "Own"}, "nnid is fixed"),
        ({"numberPoolId": "pool-7"}, "numberPoolId is fixed"),
    ):
        result = cluster.kubectl("patch", "-n", namespace, "cmig/cojd655", "--type=merge",
                                 "-p", json.dumps({"spec": change}), "--dry-run=server", check=False)
        assert (result.returncode != 0) is fixed, (change, result.stderr)
        if fixed:
            assert words in result.stderr
    # What does not define the submission stays editable (suspend, the LOA reference).
    cluster.kubectl("patch", "-n", namespace, "cmig/cojd655", "--type=merge", "-p", '{"spec": {"suspend": true}}')


def test_kubectl_explain_teaches_the_numbers_field(cluster: Cluster, crd: str) -> None:
    explained = cluster.kubectl("explain", "campaignmigration.spec.numbers").stdout
    assert '"1" followed by 10' in explained
    assert "1 to 200 without numberPoolId" in explained
    assert "up to 35,000 with it" in explained


def test_a_pooled_campaign_of_35000_numbers_is_stored_and_every_rule_runs_within_the_cel_budget(
    cluster: Cluster, crd: str, namespace: str
) -> None:
    """The uniqueness check is the list type's (O(n)); the root transition rules compare 35,000
    numbers with oldSelf within the API server's runtime budget (the CRD's estimate was accepted
    when it was installed)."""
    numbers = [f"1{i:010d}" for i in range(35_000)]
    big = {"apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration", "metadata": {"name": "pool35k"},
           "spec": {"campaignId": "CPOOL35", "numbers": numbers, "numberPoolId": "pool-7",
                    "loaSecretRef": {"name": "loa"}}}
    # Client-side apply would keep a copy in an annotation, and annotations hold at most 256 KiB.
    cluster.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=json.dumps(big), timeout=120)
    assert len(cluster.get_json("-n", namespace, "cmig/pool35k")["spec"]["numbers"]) == 35_000
    cluster.kubectl("patch", "-n", namespace, "cmig/pool35k", "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": {"infobipCampaignId": "44e8c5fc-0000-4000-8000-000000000035"}}))
    cluster.kubectl("patch", "-n", namespace, "cmig/pool35k", "--type=merge", "-p", '{"spec": {"suspend": true}}')
    big["spec"]["numbers"] = [*numbers[:-1], "19999999999"]
    changed = cluster.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=json.dumps(big),
                              check=False, timeout=120)
    assert changed.returncode != 0
    assert "numbers are fixed once the Infobip migration was submitted" in changed.stderr
    duplicate = {**big, "metadata": {"name": "dup35k"}, "spec": {**big["spec"], "numbers": [*numbers, numbers[0]]}}
    refused = cluster.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=json.dumps(duplicate),
                              check=False, timeout=120)
    assert refused.returncode != 0
    # Server-side apply words it as the structured-merge error of a set with a repeated entry.
    assert f'duplicate entries for key [="{numbers[0]}"]' in refused.stderr


def test_a_started_migration_cannot_go_back_to_preflight_and_its_number_source_is_fixed(
    cluster: Cluster, crd: str, namespace: str
) -> None:
    manifest = {"apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration", "metadata": {"name": "from-cm"},
                "spec": {"campaignId": "CFROMCM", "numbersFrom": {"configMapKeyRef": {"name": "n", "key": "numbers"}},
                         "loaSecretRef": {"name": "loa"}, "mode": "Preflight"}}
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    cluster.kubectl("patch", "-n", namespace, "cmig/from-cm", "--type=merge", "-p", '{"spec": {"mode": "Migrate"}}')
    cluster.kubectl("patch", "-n", namespace, "cmig/from-cm", "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": {"numbersImportedAt": "2026-12-01T00:00:00Z"}}))
    back = cluster.kubectl("patch", "-n", namespace, "cmig/from-cm", "--type=merge",
                           "-p", '{"spec": {"mode": "Preflight"}}', check=False)
    assert back.returncode != 0
    assert "mode Preflight is for a migration that has not started" in back.stderr
    cluster.kubectl("patch", "-n", namespace, "cmig/from-cm", "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": {"infobipCampaignId": "44e8c5fc-0000-4000-8000-000000000036"}}))
    moved = cluster.kubectl("patch", "-n", namespace, "cmig/from-cm", "--type=merge",
                            "-p", '{"spec": {"numbersFrom": {"configMapKeyRef": {"name": "other"}}}}', check=False)
    assert moved.returncode != 0
    assert "numbersFrom is fixed once the Infobip migration was submitted" in moved.stderr
