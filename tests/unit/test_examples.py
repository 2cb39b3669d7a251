"""examples/ is what users copy: every manifest passes its CRD's schema and the operator's model, and
the wave example is the fleet the docs and `make demo` describe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.wave import WaveSpec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MANIFESTS = sorted(EXAMPLES.rglob("*.yaml"))
SCHEMAS = {
    kind: yaml.safe_load((ROOT / "crds" / f"{plural}.tendlc.io.yaml").read_text())["spec"]["versions"][0]["schema"][
        "openAPIV3Schema"]
    for kind, plural in (("CampaignMigration", "campaignmigrations"), ("MigrationWave", "migrationwaves"))
}
MODELS: dict[str, Any] = {"CampaignMigration": CampaignMigrationSpec, "MigrationWave": WaveSpec}


def documents() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{path.relative_to(EXAMPLES)}#{index}", document) for path in MANIFESTS
            for index, document in enumerate(yaml.safe_load_all(path.read_text())) if document]


@pytest.mark.parametrize(("where", "document"), documents(), ids=[where for where, _ in documents()])
def test_every_example_passes_its_schema_and_the_model(where: str, document: dict[str, Any]) -> None:
    kind = document["kind"]
    if kind in SCHEMAS:
        jsonschema.Draft7Validator(SCHEMAS[kind]).validate(document)
        MODELS[kind].model_validate(document["spec"])
    else:
        assert kind == "ConfigMap", where


def test_the_wave_example_is_the_fleet_the_docs_describe() -> None:
    folder = EXAMPLES / "wave"
    (wave,) = yaml.safe_load_all((folder / "01-wave.yaml").read_text())
    spec = WaveSpec.model_validate(wave["spec"])
    members = list(yaml.safe_load_all((folder / "02-campaigns.yaml").read_text()))
    (routing,) = yaml.safe_load_all((folder / "00-routing.yaml").read_text())
    selected = [m for m in members if spec.selector.matches(m["metadata"].get("labels") or {})]
    assert len(selected) == len(members) == 10
    assert (spec.canary, spec.max_in_flight, spec.max_failed) == (1, 5, 2)
    assert spec.windows
    assert spec.cutover is not None
    assert spec.cutover.config_map is not None
    assert spec.cutover.config_map.name == routing["metadata"]["name"]
    assert routing["metadata"]["labels"] == {"tendlc.io/usage": "cutover"}
    ids = [m["spec"]["campaignId"] for m in sorted(members, key=lambda m: m["metadata"]["name"])]
    assert set(routing["data"]) == set(ids)
    # Exactly one member Infobip's sandbox rejects (CRJ…), and it is not the canary: it spends one
    # unit of the budget and the wave goes on.
    rejected = [campaign for campaign in ids if campaign.startswith("CRJ")]
    assert len(rejected) == 1
    assert ids[0] not in rejected
    assert len(rejected) < spec.max_failed
    numbers = [n for m in members for n in m["spec"]["numbers"]]
    assert len(numbers) == len(set(numbers))
