"""The chart's README is generated from values.yaml, and every value is documented and in the schema.

`hack/chart_readme.py --check` must pass (the README is what `make chart-readme` writes), every
value needs a comment, and values.yaml and values.schema.json must name the same keys, so no value
escapes the schema's typo check (`additionalProperties: false`) and the schema names no value the
chart lacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hack import chart_readme

CHART = Path(__file__).resolve().parents[2] / "helm" / "tendlc"


def test_readme_is_the_generated_one() -> None:
    assert chart_readme.main(["--check"]) == 0, "helm/tendlc/README.md is stale: run `make chart-readme`"


def test_every_value_has_a_description() -> None:
    text = (CHART / "values.yaml").read_text()
    assert chart_readme.undocumented(yaml.safe_load(text), chart_readme.documented_keys(text)) == []


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_values_and_schema_name_the_same_keys() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert schema["additionalProperties"] is False

    def walk(node: dict[str, Any], value: Any, path: str) -> None:
        node = _resolve(schema, node)
        if not isinstance(value, dict) or "properties" not in node:
            return
        assert node.get("additionalProperties") is False, f"{path or 'values'} accepts unknown keys"
        for key in value:
            assert key in node["properties"], f"{path}{key} is in values.yaml but not in values.schema.json"
            walk(node["properties"][key], value[key], f"{path}{key}.")

    walk(schema, values, "")
    top = set(schema["properties"])
    assert top == set(values), f"schema-only values: {top - set(values)}"
