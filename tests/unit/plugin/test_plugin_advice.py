"""The reason → advice table: every reason has an entry, and the categories agree with the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tendlc.api import Reason
from tendlc_cli.advice import ADVICE, UNKNOWN, Category, advice_for

RESOURCE_DOC = Path(__file__).resolve().parents[3] / "docs" / "resource.md"
REASONS = sorted(value for name, value in vars(Reason).items() if name.isupper() and isinstance(value, str))


def _doc_table(heading: str) -> set[str]:
    """The reasons listed in the first column of the docs/resource.md table under `heading`."""
    text = RESOURCE_DOC.read_text()
    section = text[text.index(heading):]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return {m.group(1) for row in rows if (m := re.match(r"\| `(\w+)` \|", row))}


def test_every_reason_has_advice_and_nothing_else_does() -> None:
    assert sorted(ADVICE) == REASONS


@pytest.mark.parametrize("reason", REASONS)
def test_advice_says_what_is_awaited_and_what_to_do(reason: str) -> None:
    advice = ADVICE[reason]
    assert advice.waiting_for
    assert advice.todo.endswith(".")
    assert "{" not in advice.render("cojd655", "team-a")


def test_failed_reasons_of_the_docs_are_the_failed_category() -> None:
    documented = _doc_table("Failed (permanent, phase `Failed`):")
    assert documented == {r for r, a in ADVICE.items() if a.category is Category.FAILED}


def test_reasons_waiting_for_the_user_in_the_docs_are_action_or_control() -> None:
    documented = _doc_table("Waiting for you (`Ready=False`")
    assert documented
    for reason in documented:
        assert ADVICE[reason].category in (Category.ACTION, Category.CONTROL), reason


def test_progress_reasons_need_nothing_from_the_user() -> None:
    for reason in _doc_table("Progress (nothing to do):") - {Reason.AWAITING_OSR_CONFIRMATION}:
        assert ADVICE[reason].category in (Category.PROGRESS, Category.DONE), reason
    assert ADVICE[Reason.AWAITING_OSR_CONFIRMATION].category is Category.ACTION  # own NNID: the user's move


def test_advice_names_the_plugin_command_to_run() -> None:
    assert "kubectl tendlc retry cojd655 -n team-a" in advice_for(Reason.OUTCOME_UNKNOWN).render("cojd655", "team-a")
    assert "kubectl tendlc confirm-osr cojd655 -n team-a" in advice_for(Reason.AWAITING_OSR_CONFIRMATION).render(
        "cojd655", "team-a")
    assert "kubectl tendlc resume" in advice_for(Reason.SUSPENDED).todo


def test_an_unknown_reason_gets_neutral_advice() -> None:
    assert advice_for("SomethingNew") is UNKNOWN
    assert advice_for(None) is UNKNOWN
