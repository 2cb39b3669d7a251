"""The CRD's openAPIV3Schema as an offline validator, read from the plugin's copy of the CRD.

`tendlc_cli/data/campaignmigrations.tendlc.io.yaml` is a byte-for-byte copy of
`crds/campaignmigrations.tendlc.io.yaml` (the single source; a unit test fails on drift), packaged
so that `plan` validates without a cluster and without the repository. JSON Schema (draft 7) covers
what the schema says — types, patterns, lengths, enums, required fields; the CEL rules
(`x-kubernetes-validations`) need the API server, which `plan` asks with a server-side dry run.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import yaml

CRD_FILE = "campaignmigrations.tendlc.io.yaml"


@cache
def crd() -> dict[str, Any]:
    text = (resources.files("tendlc_cli") / "data" / CRD_FILE).read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def object_schema() -> dict[str, Any]:
    (version,) = crd()["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def cel_rules() -> list[str]:
    """The messages of every CEL rule in the schema (what only the server can check)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(str(rule.get("message") or rule["rule"]) for rule in node.get("x-kubernetes-validations", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(object_schema())
    return found


@cache
def _validator() -> Any:
    return jsonschema.Draft7Validator(object_schema())


def _path(error: Any) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(object)"


def validate(manifest: dict[str, Any]) -> list[str]:
    """Every schema violation of a CampaignMigration, as `path: message`, in document order."""
    errors = sorted(_validator().iter_errors(manifest), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_path(error)}: {error.message}" for error in errors]
