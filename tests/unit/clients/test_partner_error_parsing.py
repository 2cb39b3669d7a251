"""The pure parsers of partner error bodies and of `Retry-After`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tendlc.clients.problems import (
    MAX_RETRY_AFTER_SECONDS,
    PartnerErrorBody,
    body_snippet,
    parse_infobip_error,
    parse_retry_after,
    parse_tcr_error,
    tcr_problems_are_temporary,
)
from tendlc.partner_errors import PartnerProblem


def as_bytes(document: Any) -> bytes:
    return json.dumps(document).encode()


# ------------------------------------------------------------------------------- Infobip shape 1


def test_infobip_request_error_gives_message_id_text_and_field_problems() -> None:
    body = as_bytes(
        {
            "requestError": {
                "serviceException": {
                    "messageId": "BAD_REQUEST",
                    "text": "Campaign COJD655 is already in migration (id 44e8c5fc)",
                    "validationErrors": {
                        "externalCampaignId": ["already in migration"],
                        "numbers[0]": ['must match "^1\\d{10}$"', "must not be blank"],
                    },
                }
            }
        }
    )
    parsed = parse_infobip_error(body)
    assert parsed is not None
    assert parsed.problems == (
        PartnerProblem("BAD_REQUEST", "Campaign COJD655 is already in migration (id 44e8c5fc)"),
        PartnerProblem("BAD_REQUEST", "already in migration", field="externalCampaignId"),
        PartnerProblem("BAD_REQUEST", 'must match "^1\\d{10}$"', field="numbers[0]"),
        PartnerProblem("BAD_REQUEST", "must not be blank", field="numbers[0]"),
    )
    assert "already in migration" in parsed.summary
    assert "numbers[0]" in parsed.summary


def test_infobip_request_error_without_validation_errors_is_one_problem() -> None:
    body = as_bytes({"requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "Invalid login"}}})
    assert parse_infobip_error(body) == PartnerErrorBody(
        summary="UNAUTHORIZED: Invalid login", problems=(PartnerProblem("UNAUTHORIZED", "Invalid login"),)
    )


# ------------------------------------------------------------------------------- Infobip shape 2


def test_infobip_api_error_gives_code_description_action_and_violations() -> None:
    body = as_bytes(
        {
            "errorCode": "E400",
            "description": "Request cannot be processed.",
            "action": "Check the syntax, violations and adjust the request.",
            "violations": [{"property": "numbers", "violation": "size must be between 1 and 200"}],
            "resources": [],
        }
    )
    parsed = parse_infobip_error(body)
    assert parsed is not None
    assert parsed.problems[0].code == "E400"
    assert parsed.problems[0].description.startswith("Request cannot be processed.")
    assert "Check the syntax" in parsed.problems[0].description
    assert parsed.problems[1] == PartnerProblem("E400", "size must be between 1 and 200", field="numbers")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"<html><body>502 Bad Gateway</body></html>",
        b"[]",
        b"null",
        b'"text"',
        b"{}",
        b'{"requestError": null}',
        b'{"requestError": {"serviceException": {}}}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
    ],
)
def test_unrecognisable_infobip_bodies_give_none(body: bytes) -> None:
    assert parse_infobip_error(body) is None


def test_infobip_request_error_tolerates_odd_value_types() -> None:
    body = as_bytes(
        {
            "requestError": {
                "serviceException": {
                    "messageId": 42,
                    "text": ["not", "a", "string"],
                    "validationErrors": {"field": "single message, not a list", "other": [None, 7, {"x": 1}]},
                }
            }
        }
    )
    parsed = parse_infobip_error(body)
    assert parsed is not None
    assert parsed.problems[0] == PartnerProblem("42", "42")
    assert PartnerProblem("42", "single message, not a list", field="field") in parsed.problems
    assert PartnerProblem("42", "7", field="other") in parsed.problems


# ------------------------------------------------------------------------------------------- TCR


def test_tcr_array_gives_one_problem_per_entry_with_code_field_and_description() -> None:
    body = as_bytes(
        [
            {"code": 518, "field": "campaignId", "description": "Campaign is expired"},
            {"code": 523, "fields": ["upstreamCnpId", "campaignId"], "description": "Loop in sharing chain"},
        ]
    )
    parsed = parse_tcr_error(body)
    assert parsed is not None
    assert parsed.problems == (
        PartnerProblem("518", "Campaign is expired", field="campaignId"),
        PartnerProblem("523", "Loop in sharing chain", field="upstreamCnpId,campaignId"),
    )
    assert parsed.summary == "518 campaignId: Campaign is expired; 523 upstreamCnpId,campaignId: Loop in sharing chain"


def test_tcr_single_object_is_read_like_a_one_entry_array() -> None:
    parsed = parse_tcr_error(as_bytes({"code": "591", "description": "Try again in 30 seconds"}))
    assert parsed is not None
    assert parsed.problems == (PartnerProblem("591", "Try again in 30 seconds"),)


@pytest.mark.parametrize("body", [b"", b"oops", b"[]", b"[1, 2]", b'[{"foo": "bar"}]', b"42"])
def test_unrecognisable_tcr_bodies_give_none(body: bytes) -> None:
    assert parse_tcr_error(body) is None


@pytest.mark.parametrize(
    ("codes", "temporary"),
    [
        (["591"], True),
        (["630"], True),
        (["590"], True),
        (["591", "630"], True),
        (["518"], False),
        (["591", "518"], False),
        ([], False),
    ],
)
def test_tcr_answer_is_temporary_only_when_every_code_is_temporary(codes: list[str], temporary: bool) -> None:
    problems = [PartnerProblem(code, "x") for code in codes]
    assert tcr_problems_are_temporary(problems) is temporary


# ----------------------------------------------------------------------------------- Retry-After


NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Thu, 26 Nov 2026 10:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 09:59:00 GMT", 0.0),
        ("Thursday, 26-Nov-26 10:01:00 GMT", 60.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1e400", None),
        ("Thu, 99 Nov 2026 10:00:30 GMT", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize("header", ["31536000", "300000000000", "9" * 300, "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_huge_retry_after_is_clamped_not_an_error(header: str) -> None:
    assert parse_retry_after(header, now=NOW) == MAX_RETRY_AFTER_SECONDS
    assert parse_retry_after(header, now=NOW, maximum=900) == 900


def test_body_snippet_is_single_line_and_bounded() -> None:
    snippet = body_snippet(b"line one\nline\ttwo\x00" + b"x" * 1000)
    assert "\n" not in snippet
    assert "\x00" not in snippet
    assert len(snippet) <= 200


# ---------------------------------------------------------------------------- property-based

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.lists(st.text(), max_size=3)

infobip_like = st.one_of(
    st.fixed_dictionaries(
        {
            "requestError": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {
                        "serviceException": st.one_of(
                            json_values,
                            st.fixed_dictionaries(
                                {
                                    "messageId": scalars,
                                    "text": scalars,
                                    "validationErrors": st.one_of(
                                        json_values, st.dictionaries(st.text(), st.lists(scalars), max_size=4)
                                    ),
                                }
                            ),
                        )
                    }
                ),
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "errorCode": scalars,
            "description": scalars,
            "action": scalars,
            "violations": st.one_of(
                json_values,
                st.lists(st.fixed_dictionaries({"property": scalars, "violation": scalars}), max_size=4),
            ),
        }
    ),
)
tcr_like = st.lists(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"code": scalars, "description": scalars},
            optional={"field": scalars, "fields": st.one_of(scalars, st.lists(scalars, max_size=3))},
        ),
    ),
    max_size=5,
)


def assert_well_formed(parsed: PartnerErrorBody | None) -> None:
    if parsed is None:
        return
    assert isinstance(parsed.summary, str)
    assert len(parsed.summary) <= 1000
    assert parsed.problems
    for problem in parsed.problems:
        assert isinstance(problem.code, str)
        assert isinstance(problem.description, str)
        assert problem.description
        assert problem.field is None or isinstance(problem.field, str)
        assert "\n" not in problem.description


@settings(max_examples=150)
@given(st.binary(max_size=300))
def test_parsers_never_raise_on_arbitrary_bytes(body: bytes) -> None:
    assert_well_formed(parse_infobip_error(body))
    assert_well_formed(parse_tcr_error(body))


@settings(max_examples=150)
@given(json_values)
def test_parsers_never_raise_on_arbitrary_json(document: Any) -> None:
    body = json.dumps(document).encode()
    assert_well_formed(parse_infobip_error(body))
    assert_well_formed(parse_tcr_error(body))


@settings(max_examples=150)
@given(infobip_like)
def test_infobip_parser_never_raises_on_near_miss_shapes(document: Any) -> None:
    assert_well_formed(parse_infobip_error(json.dumps(document).encode()))


@settings(max_examples=150)
@given(tcr_like)
def test_tcr_parser_never_raises_on_near_miss_shapes(document: Any) -> None:
    assert_well_formed(parse_tcr_error(json.dumps(document).encode()))


@given(st.one_of(st.none(), st.text(max_size=60)))
def test_retry_after_never_raises_and_is_never_negative(header: str | None) -> None:
    seconds = parse_retry_after(header, now=NOW)
    assert seconds is None or seconds >= 0
