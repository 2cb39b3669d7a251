"""One version, written once (`tendlc.__version__`), and everything that names it agrees.

The package metadata reads it (setuptools' dynamic version), the chart's `appVersion` is the image
tag the chart pulls by default, and the Dockerfile labels the image with it; the documented build
and install commands use the same tag. Bumping the version means editing `__init__.py` and the
places this test names.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml

import tendlc

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = yaml.safe_load((REPO_ROOT / "helm" / "tendlc" / "Chart.yaml").read_text())


def test_package_version_is_read_from_the_one_source() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tendlc.__version__"}
    assert version("tendlc") == tendlc.__version__  # the installed metadata (make venv) agrees


def test_chart_app_version_and_default_image_tag_follow_the_package() -> None:
    assert CHART["appVersion"] == tendlc.__version__
    values = yaml.safe_load((REPO_ROOT / "helm" / "tendlc" / "values.yaml").read_text())
    assert values["image"]["tag"] == "", "an empty tag means the appVersion"


def test_image_label_and_documented_tags_name_the_same_version() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert f'org.opencontainers.image.version="{tendlc.__version__}"' in dockerfile
    for document in ("README.md", "docs/install.md", "Dockerfile"):
        text = (REPO_ROOT / document).read_text()
        tags = set(re.findall(r"tendlc/operator:(\d+\.\d+\.\d+)", text)) | set(re.findall(r"image\.tag=(\S+)", text))
        assert tags <= {tendlc.__version__}, f"{document} names other versions: {tags}"


def test_operator_answers_help_and_version_without_starting() -> None:
    environment = {"PATH": os.environ.get("PATH", ""), "KUBECONFIG": "/nonexistent"}  # no cluster to reach
    shown = subprocess.run([sys.executable, "-m", "tendlc", "--version"], capture_output=True, text=True,
                           timeout=60, check=False, env=environment)
    assert (shown.returncode, shown.stdout.strip()) == (0, f"tendlc {tendlc.__version__}")
    helped = subprocess.run([sys.executable, "-m", "tendlc", "--help"], capture_output=True, text=True,
                            timeout=60, check=False, env=environment)
    assert helped.returncode == 0
    assert "TENDLC_INFOBIP_BASE_URL" in helped.stdout
    wrong = subprocess.run([sys.executable, "-m", "tendlc", "run", "--now"], capture_output=True, text=True,
                           timeout=60, check=False, env=environment)
    assert wrong.returncode == 2
    assert "unrecognized arguments" in wrong.stderr
