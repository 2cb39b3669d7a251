"""The plugin reads the resource's vocabulary from `tendlc.api` (and the version from `tendlc`), nothing else.

Checked on the source (AST): a plugin module importing the runtime's controller, clients or Kopf glue
would drag the operator's dependencies (and its event loop) into a command-line tool, and the
runtime importing the plugin would put the CLI into the operator's image.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = sorted((ROOT / "plugin" / "tendlc_cli").rglob("*.py"))
RUNTIME = sorted((ROOT / "operator" / "tendlc").rglob("*.py"))


def imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", PLUGIN, ids=[str(p.relative_to(ROOT)) for p in PLUGIN])
def test_the_plugin_imports_only_tendlc_api_of_the_operator(path: Path) -> None:
    runtime = {m for m in imported(path) if m.startswith("tendlc.")}
    assert {m for m in runtime if m != "tendlc.api" and not m.startswith("tendlc.api.")} == set()
    assert not {m for m in imported(path) if m.split(".")[0] in {"kopf", "aiohttp", "httpx", "tendlc_dev"}}


def test_the_operator_never_imports_the_plugin() -> None:
    offenders = [p for p in RUNTIME if any(m.split(".")[0] == "tendlc_cli" for m in imported(p))]
    assert offenders == []
