"""`make demo`, the newcomer's first command, runs to the end on this machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_brings_the_examples_and_the_wave_to_their_final_phase(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tendlc_dev.demo", "--exit-when-done", "--dir", str(tmp_path / "demo"),
         "--time-scale", "120", "--timeout", "150"],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "all migrations final" in result.stdout
    assert "'cojd655': 'Registered'" in result.stdout
    assert "'con4711': 'Registered'" in result.stdout
    assert "'crj0042': 'Failed'" in result.stdout
    # The wave: canary first, the window, one failure that spends budget without halting, the cut-over.
    assert "wave 'spring': Complete" in result.stdout
    assert "'spring-06': 'Failed'" in result.stdout
    for event in ("CanaryPassed", "WindowOpened", "MembersReleased"):
        assert f"Event Normal/{event}" in result.stdout, event
    assert "Event Warning/FailureBudgetExhausted" not in result.stdout
    routing = next(line for line in result.stdout.splitlines() if "routing table sms-routing" in line)
    assert routing.count("'infobip'") == 9
    assert "'CRJ1006': 'legacy-cnp'" in routing
    assert "tendlc.io/osr-updated=" in result.stdout
    assert "demo stopped" in result.stdout
    assert not (tmp_path / "demo" / "cluster" / "state.json").exists()  # nothing left running
