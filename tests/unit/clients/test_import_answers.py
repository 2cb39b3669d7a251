"""The tolerant reader of the import's undocumented answer: words, shapes, and no exception on any JSON."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tendlc.clients.import_answers import (
    ImportAnswer,
    Verdict,
    classify,
    confirmation,
    read_import_answer,
    unreadable_answer,
)
from tendlc.partner_errors import PartnerRejected, PartnerResponseInvalid

A, B, C = "19546899283", "19168361160", "12025550123"


@pytest.mark.parametrize(
    ("word", "verdict"),
    [
        ("IMPORTED", Verdict.CONFIRMED),
        ("ALREADY_IMPORTED", Verdict.CONFIRMED),
        ("SUCCESS", Verdict.CONFIRMED),
        ("already-imported", Verdict.CONFIRMED),
        ("ALREADY_OWNED", Verdict.MAYBE),
        ("EXISTS", Verdict.MAYBE),
        ("ALREADY_EXISTS", Verdict.MAYBE),
        ("DUPLICATE", Verdict.MAYBE),
        ("Already in account", Verdict.MAYBE),
        ("FAILED", Verdict.REFUSED),
        ("IMPORT_FAILED", Verdict.REFUSED),
        ("NOT_PORTABLE", Verdict.REFUSED),
        ("INVALID_NUMBER", Verdict.REFUSED),
        ("REJECTED", Verdict.REFUSED),
        ("NOT_OWNED", Verdict.REFUSED),  # a failure part wins over an "already" part
        ("PENDING", Verdict.UNKNOWN),
        ("ACCEPTED", Verdict.UNKNOWN),
        ("IN_PROGRESS", Verdict.UNKNOWN),
        ("OK", Verdict.UNKNOWN),  # not on the short list: checked, not trusted
        ("", Verdict.UNKNOWN),
        (None, Verdict.UNKNOWN),
    ],
)
def test_words_are_classified_by_a_small_documented_list(word: str | None, verdict: Verdict) -> None:
    assert classify(word) is verdict


def test_d1_answer_is_understood_and_confirmed() -> None:
    answer = read_import_answer(
        {"results": [{"number": A, "status": "IMPORTED"}, {"number": B, "status": "ALREADY_IMPORTED"}]}, [A, B]
    )
    assert answer.understood
    assert answer.shape == "results[] of {number, status}"
    assert answer.numbers(Verdict.CONFIRMED) == (A, B)


def test_numbers_of_phone_number_and_result_is_understood() -> None:
    answer = read_import_answer(
        {"numbers": [{"phoneNumber": f"+{A}", "result": "SUCCESS"}, {"phoneNumber": B, "result": "ALREADY_OWNED"}]},
        [A, B],
    )
    assert answer.understood
    assert answer.shape == "numbers[] of {phoneNumber, result}"
    assert [(r.number, r.verdict, r.word) for r in answer.reports] == [
        (A, Verdict.CONFIRMED, "SUCCESS"), (B, Verdict.MAYBE, "ALREADY_OWNED"),
    ]


def test_a_status_object_and_a_reason_are_read() -> None:
    answer = read_import_answer(
        [{"msisdn": A, "status": {"groupName": "REJECTED", "name": "NOT_PORTABLE"},
          "reason": "Losing carrier refuses"}],
        [A],
    )
    [report] = answer.reports
    assert (report.verdict, report.word, report.detail) == (Verdict.REFUSED, "NOT_PORTABLE", "Losing carrier refuses")
    assert answer.shape == "a list of {msisdn, status}"


@pytest.mark.parametrize(
    ("data", "shape"),
    [
        (None, "an empty body"),
        ({}, "an empty object"),
        ({"requestId": "9b1c7e6a-secret-looking-value", "accepted": True},
         "an object without per-number results (fields: accepted, requestId)"),
        ("queued", "a JSON str"),
        ({"results": [A, B]}, "results[] of 2 entries without a readable number and status"),
    ],
)
def test_answers_without_per_number_results_leave_every_number_unknown(data: Any, shape: str) -> None:
    answer = read_import_answer(data, [A, B])
    assert not answer.understood
    assert answer.shape == shape
    assert answer.numbers(Verdict.UNKNOWN) == (A, B)
    assert "9b1c7e6a" not in answer.shape  # field names only, never values


def test_an_unreported_number_and_a_number_we_did_not_send() -> None:
    answer = read_import_answer({"results": [{"number": A, "status": "IMPORTED"},
                                             {"number": C, "status": "IMPORTED"}]}, [A, B])
    assert answer.understood
    assert answer.shape == "results[] of {number, status} (1 entries unreadable or for numbers not sent)"
    assert [(r.number, r.verdict) for r in answer.reports] == [(A, Verdict.CONFIRMED), (B, Verdict.UNKNOWN)]


def test_a_number_reported_twice_differently_is_unknown() -> None:
    answer = read_import_answer({"results": [{"number": A, "status": "IMPORTED"},
                                             {"number": A, "status": "FAILED"}]}, [A])
    assert answer.reports[0].verdict is Verdict.UNKNOWN
    assert answer.reports[0].word == "IMPORTED/FAILED"


def test_batches_merge_in_order_and_understood_needs_every_batch() -> None:
    merged = ImportAnswer.merge([
        read_import_answer({"results": [{"number": A, "status": "IMPORTED"}]}, [A]),
        unreadable_answer([B]),
    ])
    assert [r.number for r in merged.reports] == [A, B]
    assert not merged.understood
    assert merged.shape == "results[] of {number, status}; a body that is not JSON"


def test_refused_numbers_become_a_rejection_with_the_partners_words() -> None:
    answer = read_import_answer({"results": [
        {"number": A, "status": "IMPORTED"},
        {"number": B, "status": "FAILED", "description": "Number is not portable"},
    ]}, [A, B])
    result = confirmation(answer)
    assert not result.complete
    error = result.error()
    assert isinstance(error, PartnerRejected)
    assert error.message == f"numbers not imported: {B}: FAILED (Number is not portable)"
    assert [(p.code, p.field) for p in error.problems] == [("FAILED", "numbers")]


def test_unconfirmed_numbers_are_an_unknown_outcome_described_without_the_body() -> None:
    answer = read_import_answer({"requestId": "abc-123"}, [A, B])
    result = confirmation(answer, owned=[A], calls=2, read_problem=None)
    assert result.confirmed == (A,)
    assert result.confirmed_by_list == (A,)
    assert result.unconfirmed == (B,)
    error = result.error()
    assert isinstance(error, PartnerResponseInvalid)
    assert error.message == (
        "Infobip's import answer (an object without per-number results (fields: requestId)) did not confirm "
        f"1 of 2 numbers and the account's owned-numbers list does not show them: {B}"
    )
    assert "abc-123" not in str(error)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["results", "numbers", "number", "phoneNumber", "status", "result",
                                       "name", "x"]) | st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_no_json_answer_makes_the_reader_raise_and_every_number_gets_a_verdict(data: Any) -> None:
    answer = read_import_answer(data, [A, B])
    assert [report.number for report in answer.reports] == [A, B]
    result = confirmation(answer)
    assert result.complete or result.error() is not None
