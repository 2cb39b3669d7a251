"""The inventory CSV: one campaign per row, parsed into rows or into errors with line numbers.

Columns (header row required, names case-insensitive, order free; `#` starts a comment line):
`campaignId`, `numbers` (separated by `;`, `,` inside quotes, or spaces), `loaFile` (path, relative
to the CSV's directory), `loaSignedDate` (`YYYY-MM-DD`), and optionally `campaignName` (alias
`name`), `numberPoolId`, `nnid` (`Infobip` or `Own`). A row is checked against the same rules as the
CRD (so most mistakes are found offline), plus what only a list can show: a campaign or a number on
two rows. A row with any problem is an error naming its line and every reason; it never becomes a
manifest. Pure: text in, rows and errors out (`today` is injected); the LOA files are read elsewhere.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tendlc.api import CAMPAIGN_ID_PATTERN, NUMBER_PATTERN, Nnid
from tendlc.api.spec import MIGRATE_MAX_NUMBERS, POOLED_MAX_NUMBERS

REQUIRED = ("campaignId", "numbers", "loaFile", "loaSignedDate")
OPTIONAL = ("campaignName", "numberPoolId", "nnid")
_ALIASES = {re.sub(r"[^a-z0-9]", "", c.lower()): c for c in (*REQUIRED, *OPTIONAL)} | {"name": "campaignName"}
NUMBER_SEPARATORS = re.compile(r"[;,\s]+")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_TEXT = 255


@dataclass(frozen=True)
class InventoryRow:
    """A row that passed every offline check."""

    line: int
    campaign_id: str
    numbers: tuple[str, ...]
    loa_file: Path
    loa_signed_date: date
    campaign_name: str | None = None
    number_pool_id: str | None = None
    nnid: Nnid = Nnid.INFOBIP


@dataclass(frozen=True)
class RowError:
    """A bad row (or the header, line 1): its line and every reason found."""

    line: int
    reasons: tuple[str, ...]
    campaign_id: str | None = None
    loa_file: Path | None = None
    """The row's LOA file, so that its problems are reported together with the row's others."""

    def __str__(self) -> str:
        return f"line {self.line}: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class Inventory:
    rows: tuple[InventoryRow, ...]
    errors: tuple[RowError, ...]
    data_rows: int = 0
    """Rows after the header (blank and comment lines not counted)."""


def _header(cells: list[str]) -> tuple[dict[int, str], list[str]]:
    columns: dict[int, str] = {}
    problems: list[str] = []
    for index, cell in enumerate(cells):
        key = re.sub(r"[^a-z0-9]", "", cell.lower())
        column = _ALIASES.get(key)
        if column is None:
            problems.append(f"unknown column {cell.strip()!r} (known: {', '.join((*REQUIRED, *OPTIONAL))})")
        elif column in columns.values():
            problems.append(f"column {column} appears twice")
        else:
            columns[index] = column
    missing = [c for c in REQUIRED if c not in columns.values()]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    return columns, problems


def _signed_date(raw: str, today: date, max_age_days: int, reasons: list[str]) -> date | None:
    if not raw:
        reasons.append("no LOA signing date")
        return None
    if not _ISO_DATE.match(raw):
        reasons.append(f"LOA signing date {raw!r} is not YYYY-MM-DD")
        return None
    try:
        signed = date.fromisoformat(raw)
    except ValueError:
        reasons.append(f"LOA signing date {raw!r} is not a calendar date")
        return None
    if signed > today:
        reasons.append(f"LOA signing date {raw} is in the future")
    elif (today - signed).days > max_age_days:
        reasons.append(
            f"LOA signed {raw} is {(today - signed).days} days old; the operator refuses an LOA older than "
            f"{max_age_days} days"
        )
    return signed


def _numbers(raw: str, reasons: list[str], *, pooled: bool) -> tuple[str, ...]:
    numbers = tuple(n for n in NUMBER_SEPARATORS.split(raw.strip()) if n)
    if not numbers:
        reasons.append("no numbers")
        return ()
    bad = [n for n in numbers if not re.match(NUMBER_PATTERN, n)]
    if bad:
        shown = ", ".join(repr(n) for n in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        reasons.append(f"number(s) {shown} not 1 followed by 10 digits (no +, no spaces inside)")
    limit = POOLED_MAX_NUMBERS if pooled else MIGRATE_MAX_NUMBERS
    if len(numbers) > limit:
        without = "" if pooled else " without numberPoolId"
        reasons.append(f"{len(numbers)} numbers{without}; at most {limit} per campaign{without}")
    repeated = sorted(n for n, times in Counter(numbers).items() if times > 1)
    if repeated:
        reasons.append(f"number(s) {', '.join(repeated)} listed twice")
    return numbers


def _row(
    line: int, values: dict[str, str], *, base_dir: Path, today: date, max_age_days: int
) -> InventoryRow | RowError:
    reasons: list[str] = []
    campaign_id = values.get("campaignId", "")
    if not campaign_id:
        reasons.append("no campaign ID")
    elif not re.match(CAMPAIGN_ID_PATTERN, campaign_id):
        reasons.append(f"campaign ID {campaign_id!r} is not C followed by 6 upper-case letters or digits")
    numbers = _numbers(values.get("numbers", ""), reasons, pooled=bool(values.get("numberPoolId")))
    loa_file = values.get("loaFile", "")
    if not loa_file:
        reasons.append("no LOA file")
    signed = _signed_date(values.get("loaSignedDate", ""), today, max_age_days, reasons)
    optional: dict[str, str | None] = {}
    for column in ("campaignName", "numberPoolId"):
        text = values.get(column) or None
        if text is not None and len(text) > MAX_TEXT:
            reasons.append(f"{column} is {len(text)} characters; at most {MAX_TEXT}")
        optional[column] = text
    nnid = Nnid.INFOBIP
    raw_nnid = values.get("nnid", "")
    if raw_nnid:
        matched = next((n for n in Nnid if n.value.lower() == raw_nnid.lower()), None)
        if matched is None:
            reasons.append(f"nnid {raw_nnid!r} is neither Infobip nor Own")
        else:
            nnid = matched
    loa_path = base_dir / loa_file if loa_file else None
    if reasons or signed is None or loa_path is None:
        return RowError(line, tuple(reasons), campaign_id or None, loa_path)
    return InventoryRow(
        line=line, campaign_id=campaign_id, numbers=numbers, loa_file=loa_path, loa_signed_date=signed,
        campaign_name=optional["campaignName"], number_pool_id=optional["numberPoolId"], nnid=nnid,
    )


def parse_inventory(text: str, *, base_dir: Path, today: date, max_age_days: int = 30) -> Inventory:
    """Every row of the CSV `text`, good or bad; line numbers are the file's (1-based, where the row starts)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), skipinitialspace=True)
    rows: list[InventoryRow] = []
    errors: list[RowError] = []
    columns: dict[int, str] | None = None
    campaigns: dict[str, int] = {}
    numbers: dict[str, tuple[str, int]] = {}
    line, data_rows = 1, 0
    for cells in reader:
        start, line = line, reader.line_num + 1
        cells = [cell.strip() for cell in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if columns is None:
            columns, problems = _header(cells)
            if problems:
                return Inventory((), (RowError(start, tuple(problems)),))
            continue
        data_rows += 1
        if len(cells) > len(columns) and any(cells[len(columns):]):
            errors.append(RowError(start, (f"{len(cells)} cells; the header has {len(columns)}",),
                                   cells[0] if cells else None))
            continue
        values = {column: cells[index] if index < len(cells) else "" for index, column in columns.items()}
        parsed = _row(start, values, base_dir=base_dir, today=today, max_age_days=max_age_days)
        if isinstance(parsed, RowError):
            errors.append(parsed)
            continue
        reasons: list[str] = []
        if parsed.campaign_id in campaigns:
            reasons.append(f"campaign {parsed.campaign_id} is already on line {campaigns[parsed.campaign_id]}")
        taken = [(n, numbers[n]) for n in parsed.numbers if n in numbers]
        for number, (other, other_line) in taken[:3]:
            reasons.append(f"number {number} is already in campaign {other} (line {other_line})")
        if reasons:
            errors.append(RowError(start, tuple(reasons), parsed.campaign_id, parsed.loa_file))
            continue
        campaigns[parsed.campaign_id] = start
        numbers.update({n: (parsed.campaign_id, start) for n in parsed.numbers})
        rows.append(parsed)
    if columns is None:
        return Inventory((), (RowError(1, ("no header row (campaignId,numbers,loaFile,loaSignedDate,…)",)),))
    return Inventory(tuple(rows), tuple(errors), data_rows)
