"""What `pip install .` (and so the container image) carries: the operator, nothing of the dev tools.

The sandbox, the dev cluster and the demo live in `devtools/` as a distribution of their own; this
builds the operator's wheel the way the image's install step does and lists its files, so a dev
module that slips back into `operator/tendlc/` fails here rather than in someone's image.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO_ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (wheel,) = out.glob("tendlc-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_wheel_carries_only_the_operator_package(wheel_files: list[str]) -> None:
    top_level = {name.split("/", 1)[0] for name in wheel_files}
    assert {entry for entry in top_level if not entry.endswith(".dist-info")} == {"tendlc"}


def test_wheel_has_no_dev_tools(wheel_files: list[str]) -> None:
    dev = [name for name in wheel_files if any(part in name for part in ("sandbox", "devcluster", "demo"))]
    assert dev == []


def test_wheel_has_every_runtime_module(wheel_files: list[str]) -> None:
    expected = {
        str(path.relative_to(REPO_ROOT / "operator"))
        for path in (REPO_ROOT / "operator" / "tendlc").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert expected <= set(wheel_files)


