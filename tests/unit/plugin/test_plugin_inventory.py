"""The inventory parser: columns, separators, every rule a row can break, and the line it is on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tendlc.api import Nnid
from tendlc_cli.inventory import RowError, parse_inventory

TODAY = date(2026, 11, 27)
BASE = Path("/inventory")
HEADER = "campaignId,numbers,loaFile,loaSignedDate"


def parse(text: str, **kwargs: object) -> tuple[list, list[RowError]]:
    inventory = parse_inventory(text, base_dir=BASE, today=TODAY, **kwargs)  # type: ignore[arg-type]
    return list(inventory.rows), list(inventory.errors)


def test_a_good_row_becomes_a_row_with_defaults_and_a_path_beside_the_csv() -> None:
    rows, errors = parse(f"{HEADER}\nCOJD655,19546899283;19168361160,loa/a.pdf,2026-11-20\n")
    assert errors == []
    (row,) = rows
    assert (row.line, row.campaign_id, row.numbers) == (2, "COJD655", ("19546899283", "19168361160"))
    assert row.loa_file == BASE / "loa" / "a.pdf"
    assert row.loa_signed_date == date(2026, 11, 20)
    assert (row.campaign_name, row.number_pool_id, row.nnid) == (None, None, Nnid.INFOBIP)


@pytest.mark.parametrize("cell", ["19546899283;19168361160", "19546899283 19168361160", '"19546899283, 19168361160"',
                                  "19546899283 ; 19168361160;"])
def test_numbers_are_separated_by_semicolons_spaces_or_quoted_commas(cell: str) -> None:
    rows, errors = parse(f"campaignId,numbers,loaFile,loaSignedDate\nCOJD655,{cell},a.pdf,2026-11-20\n")
    assert errors == []
    assert rows[0].numbers == ("19546899283", "19168361160")


def test_headers_are_case_and_punctuation_insensitive_in_any_order_with_aliases() -> None:
    text = "LOA file,Signed-Date?,loa_signed_date,Campaign ID,Numbers,NAME,number pool id,NNID\n"
    rows, errors = parse(text)
    assert [str(e) for e in errors] == [
        "line 1: unknown column 'Signed-Date?' (known: campaignId, numbers, loaFile, loaSignedDate, campaignName, "
        "numberPoolId, nnid)"
    ]
    text = (
        "LOA file,loa_signed_date,Campaign ID,Numbers,NAME,number pool id,NNID\n"
        "a.pdf,2026-11-20,CABC123,19546899283,My name,pool-1,own\n"
    )
    rows, errors = parse(text)
    assert errors == []
    assert (rows[0].campaign_name, rows[0].number_pool_id, rows[0].nnid) == ("My name", "pool-1", Nnid.OWN)


def test_missing_required_columns_are_named() -> None:
    _, errors = parse("campaignId,numbers\nCOJD655,19546899283\n")
    assert [str(e) for e in errors] == ["line 1: missing column(s) loaFile, loaSignedDate"]


def test_an_empty_file_has_no_header() -> None:
    _, errors = parse("# only a comment\n\n")
    assert len(errors) == 1
    assert "no header row" in str(errors[0])


def test_comments_blank_lines_and_quoted_newlines_keep_the_files_line_numbers() -> None:
    text = (
        "# inventory of team A\n"                                       # 1
        "campaignId,numbers,loaFile,loaSignedDate,campaignName\n"       # 2
        "\n"                                                            # 3
        'CAAA111,19546899283,a.pdf,2026-11-20,"two\nlines"\n'           # 4-5
        "# a comment\n"                                                 # 6
        "CBAD,19546899284,a.pdf,2026-11-20\n"                           # 7
    )
    rows, errors = parse(text)
    assert [r.line for r in rows] == [4]
    assert [e.line for e in errors] == [7]
    assert rows[0].campaign_name == "two\nlines"


@pytest.mark.parametrize(("row", "reason"), [
    ("cojd655,19546899283,a.pdf,2026-11-20", "campaign ID 'cojd655' is not C followed by 6 upper-case letters"),
    (",19546899283,a.pdf,2026-11-20", "no campaign ID"),
    ("COJD655,,a.pdf,2026-11-20", "no numbers"),
    ("COJD655,+19546899283,a.pdf,2026-11-20", "number(s) '+19546899283' not 1 followed by 10 digits"),
    ("COJD655,2954689928,a.pdf,2026-11-20", "number(s) '2954689928' not 1 followed by 10 digits"),
    ("COJD655,19546899283;19546899283,a.pdf,2026-11-20", "number(s) 19546899283 listed twice"),
    ("COJD655,19546899283,,2026-11-20", "no LOA file"),
    ("COJD655,19546899283,a.pdf,", "no LOA signing date"),
    ("COJD655,19546899283,a.pdf,20261120", "LOA signing date '20261120' is not YYYY-MM-DD"),
    ("COJD655,19546899283,a.pdf,2026-02-30", "LOA signing date '2026-02-30' is not a calendar date"),
    ("COJD655,19546899283,a.pdf,2026-11-28", "LOA signing date 2026-11-28 is in the future"),
    ("COJD655,19546899283,a.pdf,2026-10-27", "LOA signed 2026-10-27 is 31 days old; the operator refuses an LOA "
                                             "older than 30 days"),
    ("COJD655,19546899283,a.pdf,2026-11-20,Foo", "nnid 'Foo' is neither Infobip nor Own"),
    ("COJD655,19546899283,a.pdf,2026-11-20,Own,extra", "6 cells; the header has 5"),
])
def test_each_bad_cell_is_reported_with_its_reason(row: str, reason: str) -> None:
    rows, errors = parse(f"campaignId,numbers,loaFile,loaSignedDate,nnid\n{row}\n")
    assert rows == []
    assert len(errors) == 1
    assert errors[0].line == 2
    assert reason in str(errors[0]), str(errors[0])


def test_an_loa_exactly_at_the_maximum_age_is_accepted_and_the_maximum_is_a_parameter() -> None:
    rows, _ = parse("campaignId,numbers,loaFile,loaSignedDate\nCOJD655,19546899283,a.pdf,2026-10-28\n")
    assert len(rows) == 1
    _, errors = parse("campaignId,numbers,loaFile,loaSignedDate\nCOJD655,19546899283,a.pdf,2026-10-28\n",
                      max_age_days=7)
    assert "older than 7 days" in str(errors[0])


def test_too_many_numbers_and_too_long_names() -> None:
    numbers = ";".join(f"1954{i:07d}" for i in range(201))
    _, errors = parse(f"campaignId,numbers,loaFile,loaSignedDate,campaignName\nCOJD655,{numbers},a.pdf,2026-11-20,"
                      f"{'x' * 256}\n")
    assert "201 numbers without numberPoolId; at most 200 per campaign without numberPoolId" in str(errors[0])
    assert "campaignName is 256 characters; at most 255" in str(errors[0])


def test_every_reason_of_a_row_is_reported_together() -> None:
    _, errors = parse("campaignId,numbers,loaFile,loaSignedDate\nCX,123,,2020-01-01\n")
    assert len(errors[0].reasons) == 4


def test_a_campaign_or_a_number_on_two_rows_makes_the_later_row_bad() -> None:
    text = (
        "campaignId,numbers,loaFile,loaSignedDate\n"
        "CAAA111,19546899283,a.pdf,2026-11-20\n"
        "CAAA111,19546899284,a.pdf,2026-11-20\n"
        "CBBB222,19546899285;19546899283,a.pdf,2026-11-20\n"
        "CCCC333,19546899284,a.pdf,2026-11-20\n"
    )
    rows, errors = parse(text)
    assert [r.campaign_id for r in rows] == ["CAAA111", "CCCC333"]  # a bad row claims nothing
    assert [str(e) for e in errors] == [
        "line 3: campaign CAAA111 is already on line 2",
        "line 4: number 19546899283 is already in campaign CAAA111 (line 2)",
    ]
    assert errors[0].loa_file == BASE / "a.pdf"


def test_a_bom_and_spaces_after_commas_are_tolerated() -> None:
    rows, errors = parse("\ufeffcampaignId, numbers, loaFile, loaSignedDate\nCOJD655, 19546899283, a.pdf, 2026-11-20\n")
    assert errors == []
    assert rows[0].loa_file == BASE / "a.pdf"
