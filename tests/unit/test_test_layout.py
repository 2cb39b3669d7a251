"""The test tree collects as a whole: pytest's default import mode needs unique test-file basenames.

Two `test_x.py` in different folders import as one module `test_x`, and the whole run stops at
collection (it did, twice, when a unit and an e2e test shared a name): caught here, in a second.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_file_basenames_are_unique() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
