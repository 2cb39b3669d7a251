"""The plugin's wheel: its own distribution, carrying the CRD copy `plan` validates with.

An editable install reads plugin/tendlc_cli/data/ from the checkout, so a package-data mistake would
only show in a real install; this builds the wheel the way `pip install ./plugin` does and lists it.
(That the operator's wheel carries no plugin is tests/unit/test_packaging.py's check: only `tendlc`.)
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[3] / "plugin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("plugin-wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
         str(out), str(PLUGIN)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (path,) = out.glob("tendlc_cli-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_carries_the_plugin_package_and_the_crd(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert {name.split("/", 1)[0] for name in names if ".dist-info" not in name} == {"tendlc_cli"}
    assert "tendlc_cli/data/campaignmigrations.tendlc.io.yaml" in names
    assert "tendlc_cli/py.typed" in names
    expected = {str(p.relative_to(PLUGIN)) for p in (PLUGIN / "tendlc_cli").rglob("*.py")}
    assert expected <= set(names)


def test_the_wheel_installs_kubectl_tendlc_and_depends_on_tendlc(wheel: zipfile.ZipFile) -> None:
    info = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    assert "kubectl-tendlc = tendlc_cli.main:main" in wheel.read(info).decode()
    metadata = Parser().parsestr(wheel.read(next(n for n in wheel.namelist() if n.endswith("METADATA"))).decode())
    requires = [r.split(">")[0].split("=")[0].strip() for r in metadata.get_all("Requires-Dist") or []]
    assert {"tendlc", "click", "kubernetes", "jsonschema", "PyYAML"} <= set(requires)
