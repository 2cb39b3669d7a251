"""`why`'s story against golden files: tests/data/plugin/why/<case>.yaml (now + object) → <case>.txt.

Set TENDLC_UPDATE_GOLDEN=1 to rewrite the .txt files after a deliberate change, then read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tendlc_cli.story import tell
from tendlc_cli.times import parse_rfc3339

CASES_DIR = Path(__file__).resolve().parents[2] / "data" / "plugin" / "why"
CASES = sorted(CASES_DIR.glob("*.yaml"))


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 7


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_story_matches_the_golden_file(case: Path) -> None:
    data = yaml.safe_load(case.read_text())
    told = tell(data["object"], parse_rfc3339(data["now"]))
    golden = case.with_suffix(".txt")
    if os.environ.get("TENDLC_UPDATE_GOLDEN"):
        golden.write_text(told)
    assert told == golden.read_text()
