"""Reading the number import's answer, whose shape Infobip does not document (D1, D40, D41).

This room turns whatever a 2xx import answer looks like into one verdict per requested number:
*confirmed* (IMPORTED, ALREADY_IMPORTED or SUCCESS), *maybe* ("already there" in other words —
a success only once the owned-numbers list shows the number), *refused* (an explicit failure word,
kept with the partner's own words) or *unknown* (not reported, unreadable, still in progress). It
never raises on an unexpected shape: an answer it cannot read is an unknown outcome to be checked,
not an error. It describes an answer's shape by its field names only, never by its values, so the
description can go into a Warning. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tendlc.clients.ratelimit import INFOBIP
from tendlc.partner_errors import PartnerError, PartnerProblem, PartnerRejected, PartnerResponseInvalid

IMPORT_ENDPOINT = "numbers.import"


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    MAYBE = "maybe"
    REFUSED = "refused"
    UNKNOWN = "unknown"


#: Words that are success by themselves (D40). Kept small on purpose: any other word is checked.
CONFIRMED_WORDS = frozenset({"IMPORTED", "ALREADY_IMPORTED", "SUCCESS"})
#: A word with one of these parts says "already there" in other words (ALREADY_OWNED, EXISTS, DUPLICATE).
ALREADY_PARTS = frozenset({"ALREADY", "EXIST", "EXISTS", "EXISTING", "DUPLICATE", "DUPLICATED", "OWNED"})
#: A word with one of these parts is an explicit refusal (FAILED, NOT_PORTABLE, INVALID_NUMBER).
FAILURE_PARTS = frozenset({
    "FAIL", "FAILED", "FAILURE", "ERROR", "REJECTED", "REFUSED", "INVALID", "DENIED", "FORBIDDEN", "NOT",
    "UNSUPPORTED", "BLOCKED",
})
#: Where the per-number entries, their number and their word may be (D1's names first).
LIST_KEYS = ("results", "numbers", "items", "data")
NUMBER_KEYS = ("number", "phoneNumber", "msisdn")
WORD_KEYS = ("status", "result", "state")
DETAIL_KEYS = ("description", "message", "reason", "text", "error")
_DETAIL_MAX = 200
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


def normalise_word(word: str) -> str:
    """`already-owned`, `Already Owned` and `ALREADY_OWNED` are one word."""
    return re.sub(r"[^A-Z0-9]+", "_", word.strip().upper()).strip("_")


def classify(word: str | None) -> Verdict:
    """The verdict a per-number word gives by itself (failure parts win over "already" parts)."""
    if not word:
        return Verdict.UNKNOWN
    normal = normalise_word(word)
    if normal in CONFIRMED_WORDS:
        return Verdict.CONFIRMED
    parts = set(normal.split("_"))
    if parts & FAILURE_PARTS:
        return Verdict.REFUSED
    if parts & ALREADY_PARTS:
        return Verdict.MAYBE
    return Verdict.UNKNOWN


def number_digits(value: object) -> str | None:
    """A reported number as the 11 digits we send (`+1 954-689-9283` and `9546899283` included)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    digits = re.sub(r"\D", "", str(value))
    if len(digits) == 10:
        digits = "1" + digits
    return digits or None


@dataclass(frozen=True)
class NumberReport:
    """What the answer said about one requested number."""

    number: str
    verdict: Verdict
    word: str | None = None
    """The partner's word, as sent (bounded); None when the number was not reported."""
    detail: str | None = None
    """The partner's explanation for this number, when it gave one (bounded)."""


@dataclass(frozen=True)
class ImportAnswer:
    """The verdicts of one answer (or of several batches merged), in the order requested."""

    reports: tuple[NumberReport, ...]
    understood: bool
    """True when the answer carried per-number results we could read."""
    shape: str
    """The answer's shape in field names only (e.g. ``results[] of {number, status}``)."""

    @classmethod
    def merge(cls, parts: Sequence[ImportAnswer]) -> ImportAnswer:
        shapes = list(dict.fromkeys(part.shape for part in parts))
        return cls(
            reports=tuple(report for part in parts for report in part.reports),
            understood=bool(parts) and all(part.understood for part in parts),
            shape="; ".join(shapes) if shapes else "no answer",
        )

    def numbers(self, *verdicts: Verdict) -> tuple[str, ...]:
        return tuple(report.number for report in self.reports if report.verdict in verdicts)


def _bounded(value: object) -> str | None:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = " ".join(str(value).split())
    return text[:_DETAIL_MAX] or None


def _field_names(keys: Iterable[object]) -> str:
    names = sorted({key if isinstance(key, str) and _FIELD_NAME.match(key) else "?" for key in keys})
    shown = ", ".join(names[:6])
    return shown + (", …" if len(names) > 6 else "")


def _first_key(entry: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    return next((key for key in keys if key in entry), None)


def _word_of(value: object) -> str | None:
    """A status is a word, or an object naming one (`{"name": "IMPORTED", "groupName": …}`)."""
    if isinstance(value, Mapping):
        value = value.get("name") or value.get("groupName")
    return _bounded(value) if isinstance(value, str) else None


def _entries(data: object) -> tuple[str, list[object]] | None:
    if isinstance(data, list):
        return "", data
    if isinstance(data, Mapping):
        for key in LIST_KEYS:
            if isinstance(data.get(key), list):
                return key, data[key]
    return None


def _read_entry(entry: object) -> tuple[NumberReport, str, str] | None:
    """One per-number entry as (report, the field naming the number, the field naming its word)."""
    if not isinstance(entry, Mapping):
        return None
    number_key, word_key = _first_key(entry, NUMBER_KEYS), _first_key(entry, WORD_KEYS)
    if number_key is None or word_key is None:
        return None
    number, word = number_digits(entry[number_key]), _word_of(entry[word_key])
    if number is None or word is None:
        return None
    detail_key = _first_key(entry, DETAIL_KEYS)
    detail = _bounded(entry[detail_key]) if detail_key else None
    return NumberReport(number, classify(word), word, detail), number_key, word_key


def _unreported(requested: Sequence[str], detail: str) -> tuple[NumberReport, ...]:
    return tuple(NumberReport(number, Verdict.UNKNOWN, None, detail) for number in requested)


def unreadable_answer(requested: Sequence[str], shape: str = "a body that is not JSON") -> ImportAnswer:
    """An answer we could not even decode: every number's outcome is unknown."""
    return ImportAnswer(_unreported(requested, "Infobip's answer could not be read"), False, shape)


def read_import_answer(data: object, requested: Sequence[str]) -> ImportAnswer:
    """Verdicts for `requested` from a decoded 2xx answer (`None`: an empty body). Never raises."""
    requested = tuple(dict.fromkeys(requested))
    found = _entries(data)
    if found is None:
        if data is None:
            shape = "an empty body"
        elif isinstance(data, Mapping):
            fields = _field_names(data)
            shape = f"an object without per-number results (fields: {fields})" if data else "an empty object"
        else:
            shape = f"a JSON {type(data).__name__}"
        return ImportAnswer(_unreported(requested, "not reported in Infobip's answer"), False, shape)

    list_key, entries = found
    wanted = set(requested)
    seen: dict[str, list[NumberReport]] = {}
    number_keys: set[str] = set()
    word_keys: set[str] = set()
    unreadable = 0
    for entry in entries:
        read = _read_entry(entry)
        if read is None or read[0].number not in wanted:
            unreadable += 1
            continue
        report, number_key, word_key = read
        number_keys.add(number_key)
        word_keys.add(word_key)
        seen.setdefault(report.number, []).append(report)

    reports = []
    for number in requested:
        mentions = seen.get(number)
        if not mentions:
            reports.append(NumberReport(number, Verdict.UNKNOWN, None, "not reported in Infobip's answer"))
        elif len({mention.verdict for mention in mentions}) == 1:
            reports.append(mentions[0])
        else:
            words = "/".join(dict.fromkeys(mention.word or "" for mention in mentions))
            reports.append(NumberReport(number, Verdict.UNKNOWN, words, "reported more than once, differently"))
    where = f"{list_key}[]" if list_key else "a list"
    if seen:
        shape = f"{where} of {{{_field_names(number_keys)}, {_field_names(word_keys)}}}"
        if unreadable:
            shape += f" ({unreadable} entries unreadable or for numbers not sent)"
    else:
        shape = f"{where} of {len(entries)} entries without a readable number and status"
    return ImportAnswer(tuple(reports), bool(seen), shape)


@dataclass(frozen=True)
class RefusedNumber:
    number: str
    word: str
    detail: str | None = None

    def words(self) -> str:
        return f"{self.number}: {self.word}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class ImportConfirmation:
    """What an import did, as far as its answer and (when needed) the owned-numbers list show.

    `confirmed`: imported, by the answer's own known words or because the list shows the number;
    `refused`: explicit failure words (the partner's); `unconfirmed`: neither — the outcome is
    unknown. `understood` says whether the answer had per-number results we could read, `shape`
    what it looked like (field names only, safe for a Warning), `owned_number_calls` how many
    owned-numbers requests were made for this confirmation (0 on the happy path), `read_problem`
    why the list could not be read, when it could not.
    """

    requested: tuple[str, ...]
    confirmed: tuple[str, ...]
    refused: tuple[RefusedNumber, ...]
    unconfirmed: tuple[str, ...]
    understood: bool
    shape: str
    confirmed_by_list: tuple[str, ...] = ()
    owned_number_calls: int = 0
    read_problem: str | None = None

    @property
    def complete(self) -> bool:
        """Every requested number is imported: the next step may go on."""
        return not self.refused and not self.unconfirmed

    def error(self) -> PartnerError | None:
        """None when complete; else a PartnerRejected naming refused numbers with the partner's words
        (the user must change spec.numbers), or a PartnerResponseInvalid when only the outcome of some
        numbers is unknown (retry with backoff; the import may be asynchronous or the list may lag)."""
        if self.refused:
            problems = tuple(
                PartnerProblem(code=refused.word, description=refused.words(), field="numbers")
                for refused in self.refused
            )
            shown = "; ".join(problem.description for problem in problems[:5])
            more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
            pending = f"; {len(self.unconfirmed)} more not confirmed" if self.unconfirmed else ""
            return PartnerRejected(INFOBIP, IMPORT_ENDPOINT, f"numbers not imported: {shown}{more}{pending}",
                                   problems=problems)
        if self.unconfirmed:
            return PartnerResponseInvalid(INFOBIP, IMPORT_ENDPOINT, self.describe())
        return None

    def describe(self) -> str:
        """A sentence for a condition or Warning: the answer's shape and what is unconfirmed (no body)."""
        if self.complete:
            listed = len(self.confirmed_by_list)
            how = f", {listed} confirmed by the owned-numbers list" if listed else ""
            return f"{len(self.confirmed)} numbers imported (answer: {self.shape}{how})"
        shown = ", ".join(self.unconfirmed[:5]) + (f" and {len(self.unconfirmed) - 5} more"
                                                    if len(self.unconfirmed) > 5 else "")
        read = f"; the owned-numbers list could not be read: {self.read_problem}" if self.read_problem else ""
        return (
            f"Infobip's import answer ({self.shape}) did not confirm {len(self.unconfirmed)} of "
            f"{len(self.requested)} numbers and the account's owned-numbers list does not show them: {shown}{read}"
        )


def confirmation(
    answer: ImportAnswer,
    *,
    owned: Iterable[str] = (),
    calls: int = 0,
    read_problem: str | None = None,
) -> ImportConfirmation:
    """Combine the answer's verdicts with the numbers the owned-numbers list showed (`owned`)."""
    listed = set(owned)
    confirmed: list[str] = []
    by_list: list[str] = []
    refused: list[RefusedNumber] = []
    unconfirmed: list[str] = []
    for report in answer.reports:
        if report.verdict is Verdict.CONFIRMED:
            confirmed.append(report.number)
        elif report.verdict is Verdict.REFUSED:
            refused.append(RefusedNumber(report.number, report.word or "REFUSED", report.detail))
        elif report.number in listed:
            confirmed.append(report.number)
            by_list.append(report.number)
        else:
            unconfirmed.append(report.number)
    return ImportConfirmation(
        requested=tuple(report.number for report in answer.reports),
        confirmed=tuple(confirmed),
        refused=tuple(refused),
        unconfirmed=tuple(unconfirmed),
        understood=answer.understood,
        shape=answer.shape,
        confirmed_by_list=tuple(by_list),
        owned_number_calls=calls,
        read_problem=read_problem,
    )
