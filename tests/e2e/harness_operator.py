"""A minimal Kopf operator that proves the test harness drives real Kopf against the real server."""

from __future__ import annotations

from typing import Any

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.enabled = False
    settings.persistence.finalizer = "harness.tendlc.io/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="harness.tendlc.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="harness.tendlc.io", key="last-handled-configuration"
    )


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    # The kubernetes client freezes $KUBECONFIG at import; read it when logging in instead.
    info: kopf.ConnectionInfo | None = kopf.login_with_kubeconfig(**kwargs)
    return info


@kopf.on.create("harness.tendlc.io", "v1", "widgets")
def greet(spec: Any, patch: kopf.Patch, **_: Any) -> None:
    patch.status["greeting"] = f"hello {spec['name']}"
    patch.status["phase"] = "Greeted"
