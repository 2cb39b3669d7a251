"""`spec.numbersFrom` (D62): a labeled ConfigMap's key becomes the spec's numbers, or a fact naming the fix."""

from __future__ import annotations

import pytest

from support.loop_driver import make_spec
from tendlc.controller.numbers_source import numbers_from_config_map
from tendlc.kube import ConfigMapData

REF = {"configMapKeyRef": {"name": "cojd655-numbers", "key": "numbers"}}
LABELS = {"tendlc.io/usage": "numbers"}


def test_numbers_separated_by_newlines_spaces_or_commas_fill_the_spec_in_order() -> None:
    spec = make_spec(numbers=[], numbersFrom=REF)
    text = "19546899283\n19168361160, 19168361161  19168361162\n"
    found = ConfigMapData("cojd655-numbers", LABELS, {"numbers": text})
    resolved, problem = numbers_from_config_map(spec, "team-a", found)
    assert problem is None
    assert resolved.numbers == ("19546899283", "19168361160", "19168361161", "19168361162")
    assert resolved.numbers_from == spec.numbers_from


def test_a_spec_with_inline_numbers_is_left_alone() -> None:
    spec = make_spec()
    assert numbers_from_config_map(spec, "team-a", None) == (spec, None)


@pytest.mark.parametrize(
    ("found", "reason", "words"),
    [
        (None, "NumbersConfigMapMissing", "kubectl create configmap cojd655-numbers -n team-a --from-file=numbers="),
        (ConfigMapData("cojd655-numbers", {}, {"numbers": "19546899283"}), "NumbersConfigMapNotLabeled",
         "kubectl label configmap cojd655-numbers -n team-a tendlc.io/usage=numbers"),
        (ConfigMapData("cojd655-numbers", {"tendlc.io/usage": "loa"}, {"numbers": "19546899283"}),
         "NumbersConfigMapNotLabeled", "does not opt in"),
        (ConfigMapData("cojd655-numbers", LABELS, {"other": "19546899283"}), "NumbersConfigMapMissing",
         "has no key 'numbers'"),
        (ConfigMapData("cojd655-numbers", LABELS, {"numbers": "19546899283 +19168361160 abc"}), "NumbersInvalid",
         "2 entries are not a number of the form 1 followed by 10 digits (#2 '+19168361160', #3 'abc')"),
        (ConfigMapData("cojd655-numbers", LABELS, {"numbers": "19546899283 19546899283"}), "NumbersInvalid",
         "19546899283 is listed twice"),
        (ConfigMapData("cojd655-numbers", LABELS, {"numbers": "\n \n"}), "NumbersInvalid", "holds no number"),
        (ConfigMapData("cojd655-numbers", LABELS, {"numbers": " ".join(f"1954{i:07d}" for i in range(201))}),
         "NumbersInvalid", "201 numbers without numberPoolId"),
    ],
    ids=["missing", "unlabeled", "other-usage", "no-key", "malformed", "duplicate", "empty", "too-many"],
)
def test_every_problem_names_its_fix(found: ConfigMapData | None, reason: str, words: str) -> None:
    spec = make_spec(numbers=[], numbersFrom=REF)
    resolved, problem = numbers_from_config_map(spec, "team-a", found)
    assert problem is not None
    assert problem.reason == reason
    assert words in problem.message
    assert resolved.numbers == ()


def test_an_unlabeled_config_map_is_not_read_nor_quoted() -> None:
    spec = make_spec(numbers=[], numbersFrom=REF)
    secret_looking = ConfigMapData("cojd655-numbers", {}, {"numbers": "password=hunter2"})
    _, problem = numbers_from_config_map(spec, "team-a", secret_looking)
    assert problem is not None
    assert "hunter2" not in problem.message


def test_a_pool_allows_35000_numbers() -> None:
    spec = make_spec(numbers=[], numbersFrom=REF, numberPoolId="pool-7")
    listed = "\n".join(f"1{i:010d}" for i in range(35_000))
    resolved, problem = numbers_from_config_map(spec, "team-a", ConfigMapData("cojd655-numbers", LABELS,
                                                                               {"numbers": listed}))
    assert problem is None
    assert len(resolved.numbers) == 35_000
    too_many = listed + "\n19999999999"
    _, refused = numbers_from_config_map(spec, "team-a", ConfigMapData("cojd655-numbers", LABELS,
                                                                        {"numbers": too_many}))
    assert refused is not None
    assert "a number-pooling campaign holds at most 35000" in refused.message
