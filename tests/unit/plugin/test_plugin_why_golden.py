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


def test_why_shows_a_preflights_findings_and_a_large_campaigns_numbers() -> None:
    obj = {
        "metadata": {"name": "big", "namespace": "team-a", "generation": 1},
        "spec": {"campaignId": "COJD655", "numberPoolId": "pool-7", "loaSecretRef": {"name": "loa"},
                 "numbersFrom": {"configMapKeyRef": {"name": "big-numbers", "key": "numbers"}}, "mode": "Preflight"},
        "status": {
            "phase": "Preflight", "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "False", "reason": "CampaignExpired", "message": "m",
                            "lastTransitionTime": "2026-11-20T09:00:00Z"}],
            "numbers": {"total": 1200, "migrated": 200, "added": 250, "pending": 750, "visible": 450, "batches": 1},
            "preflight": {"checkedAt": "2026-11-20T09:00:00Z", "generation": 1,
                          "plannedSubmissionAt": "2026-11-20T09:00:00Z", "eligible": False,
                          "problems": [{"check": "TcrCampaign", "reason": "CampaignExpired",
                                        "message": "TCR shows campaign COJD655 as EXPIRED."}],
                          "notChecked": [{"check": "ImportEnabled", "reason": "NoDocumentedRead",
                                          "message": "No documented read shows it."}]},
        },
    }
    story = tell(obj, parse_rfc3339("2026-11-20T09:05:00Z"))
    assert "numbers from ConfigMap big-numbers" in story
    assert "200 migrated, 250 added in 1 request(s), 750 pending (no service yet); Infobip shows 450 of 1200" in story
    assert "problem     CampaignExpired (TcrCampaign)" in story
    assert "not checked ImportEnabled (NoDocumentedRead)" in story
