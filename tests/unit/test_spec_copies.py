"""The repository's copies of Infobip's OpenAPI documents are the published ones, unchanged.

Where the steering material's `shared/specs/infobip/` sits beside the repository (developers'
machines), each copy in `tests/data/specs/infobip/` must be identical to it; elsewhere (a bare
clone) the copies stand alone and these checks are skipped with that reason.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COPIES = REPO_ROOT / "tests" / "data" / "specs" / "infobip"
PUBLISHED = REPO_ROOT.parent / "shared" / "specs" / "infobip"
DOCUMENTS = ("numbers-openapi.json", "subscriptions-openapi.json")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_copy_is_the_published_version(name: str) -> None:
    document = json.loads((COPIES / name).read_text())
    assert document["info"]["version"] == "3.210.0"
    assert document["openapi"].startswith("3.1")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_copy_matches_the_steering_material(name: str) -> None:
    published = PUBLISHED / name
    if not published.exists():
        pytest.skip(f"{published} is not beside this clone; the copy stands alone")
    digest = hashlib.sha256((COPIES / name).read_bytes()).hexdigest()
    assert digest == hashlib.sha256(published.read_bytes()).hexdigest()
