"""The import-direction contract of the runtime package, checked on the source (AST), not by convention.

Layers, each importing only from those before it:

    partner_errors, partner_requests, redaction, serving (leaves)  ←  api  ←  workflow  ←  controller  ←  wiring
                                                   clients, webhooks (beside the workflow)

- the workflow is pure: no client, webhook server, Kubernetes, Kopf, aiohttp or httpx module;
- clients and webhooks never import the controller, the workflow or the wiring;
- nothing but the wiring (handlers, services, __main__) imports Kopf's handler registry or the
  wiring itself; nothing in the runtime imports the dev tools (`tendlc_dev`).
A `TYPE_CHECKING`-only import counts like any other: a cycle in types is a cycle in design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "tendlc"
WIRING = {"tendlc.handlers", "tendlc.services", "tendlc.__main__"}
LEAVES = {"tendlc.partner_errors", "tendlc.partner_requests", "tendlc.redaction", "tendlc.serving"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


MODULES = {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, *packages: str) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def offenders(importer_packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {imported}"
        for module, imported_names in MODULES.items()
        if within(module, *importer_packages)
        for imported in imported_names
        if within(imported, *forbidden)
    )


def test_the_modules_were_found() -> None:
    assert {"tendlc.workflow.decide", "tendlc.controller.reconcile", "tendlc.clients.http"} <= set(MODULES)


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_the_leaves_import_nothing_of_tendlc(leaf: str) -> None:
    assert [name for name in MODULES[leaf] if within(name, "tendlc")] == []


def test_api_imports_only_api_and_the_leaves() -> None:
    bad = [
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if within(module, "tendlc.api")
        for name in names
        if within(name, "tendlc") and not within(name, "tendlc.api", *LEAVES)
    ]
    assert bad == []


def test_the_workflow_is_pure() -> None:
    assert offenders(
        ("tendlc.workflow",),
        ("tendlc.clients", "tendlc.webhooks", "tendlc.controller", "tendlc.kube", "tendlc.config",
         "tendlc.partners", "tendlc.events", "tendlc.metrics", "tendlc.logs", *WIRING,
         "kopf", "aiohttp", "httpx", "kubernetes"),
    ) == []


def test_clients_and_webhooks_never_import_the_controller_workflow_or_wiring() -> None:
    assert offenders(
        ("tendlc.clients", "tendlc.webhooks"),
        ("tendlc.controller", "tendlc.workflow", "tendlc.kube", "tendlc.partners", *WIRING, "kopf"),
    ) == []


def test_the_controller_never_imports_the_wiring_or_kopf() -> None:
    assert offenders(("tendlc.controller",), (*WIRING, "kopf")) == []


def test_nothing_below_the_wiring_imports_it() -> None:
    below = tuple(name for name in MODULES if name not in WIRING and name != "tendlc")
    assert offenders(below, tuple(WIRING)) == []


def test_the_runtime_never_imports_the_dev_tools() -> None:
    assert offenders(("tendlc",), ("tendlc_dev",)) == []
