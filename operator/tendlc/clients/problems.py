"""Pure parsers for what partners say when something goes wrong.

This room reads error bodies (Infobip's two JSON shapes, TCR's JSON array) and the `Retry-After`
header, and turns them into `PartnerProblem` values and one human-readable line in the partner's
own words. Every function here is pure and total: whatever bytes or header text arrive, it returns
a value (or `None` for "nothing readable") and never raises. It performs no I/O, imports no Kopf
and never sees credentials or request bodies.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from tendlc.partner_errors import PartnerProblem

#: TCR codes that mean "temporary, retry in about 30 seconds" (590 internal error, 591, 630).
TCR_TEMPORARY_CODES = frozenset({"590", "591", "630"})
#: How long TCR asks to wait after a temporary code (its documentation says "about 30 s").
TCR_TEMPORARY_RETRY_AFTER = 30.0

_MAX_TEXT = 500
_MAX_PROBLEMS = 50
_MAX_SUMMARY = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class PartnerErrorBody:
    """What a partner's error body said: a one-line summary and the individual problems."""

    summary: str
    problems: tuple[PartnerProblem, ...]


def _clean(text: str, limit: int = _MAX_TEXT) -> str:
    """Collapse control characters and whitespace and bound the length."""
    cleaned = " ".join(_CONTROL.sub(" ", text).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned


def _text(value: object) -> str | None:
    """A partner's scalar as text, or None when it is absent or not a scalar."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        cleaned = _clean(value)
        return cleaned or None
    if isinstance(value, int):
        return _clean(str(value))
    if isinstance(value, float) and math.isfinite(value):
        return _clean(repr(int(value)) if value.is_integer() else repr(value))
    return None


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _summarise(problems: Iterable[PartnerProblem]) -> str:
    parts: list[str] = []
    for problem in problems:
        label = problem.code
        if problem.field:
            label = f"{label} {problem.field}" if label else problem.field
        parts.append(f"{label}: {problem.description}" if label else problem.description)
    return _clean("; ".join(parts), _MAX_SUMMARY)


def _bounded(problems: list[PartnerProblem]) -> tuple[PartnerProblem, ...]:
    return tuple(problems[:_MAX_PROBLEMS])


def _infobip_request_error(service_exception: Mapping[str, Any]) -> PartnerErrorBody | None:
    code = _text(service_exception.get("messageId")) or ""
    text = _text(service_exception.get("text"))
    problems: list[PartnerProblem] = []
    if code or text:
        problems.append(PartnerProblem(code=code, description=text or code))
    validation_errors = service_exception.get("validationErrors")
    if isinstance(validation_errors, Mapping):
        for field, messages in validation_errors.items():
            field_name = _text(field)
            if isinstance(messages, list):
                candidates: list[object] = list(messages)
            else:
                candidates = [messages]
            for message in candidates:
                description = _text(message)
                if description:
                    problems.append(PartnerProblem(code=code, description=description, field=field_name))
    if not problems:
        return None
    return PartnerErrorBody(summary=_summarise(problems), problems=_bounded(problems))


def _infobip_api_error(document: Mapping[str, Any]) -> PartnerErrorBody | None:
    code = _text(document.get("errorCode")) or ""
    description = _text(document.get("description"))
    action = _text(document.get("action"))
    problems: list[PartnerProblem] = []
    if code or description:
        top = description or code
        if action:
            top = _clean(f"{top} ({action})")
        problems.append(PartnerProblem(code=code, description=top))
    violations = document.get("violations")
    if isinstance(violations, list):
        for violation in violations:
            if not isinstance(violation, Mapping):
                continue
            text = _text(violation.get("violation"))
            if text:
                problems.append(PartnerProblem(code=code, description=text, field=_text(violation.get("property"))))
    if not problems:
        return None
    return PartnerErrorBody(summary=_summarise(problems), problems=_bounded(problems))


def parse_infobip_error(body: bytes) -> PartnerErrorBody | None:
    """Read an Infobip error body in either documented shape; None when neither is recognisable.

    Shape 1 (number registration, subscriptions):
    ``{"requestError":{"serviceException":{"messageId","text","validationErrors":{field:[msg]}}}}``.
    Shape 2: ``{"errorCode","description","action","violations":[{property,violation}],"resources"}``.
    The first problem is the overall error (no field); field-level problems follow.
    """
    document = _load_json(body)
    if not isinstance(document, Mapping):
        return None
    request_error = document.get("requestError")
    if isinstance(request_error, Mapping):
        service_exception = request_error.get("serviceException")
        if isinstance(service_exception, Mapping):
            parsed = _infobip_request_error(service_exception)
            if parsed is not None:
                return parsed
    return _infobip_api_error(document)


def _tcr_field(entry: Mapping[str, Any]) -> str | None:
    field = _text(entry.get("field"))
    if field:
        return field
    fields = entry.get("fields")
    if isinstance(fields, list):
        names = [name for name in (_text(item) for item in fields) if name]
        return _clean(",".join(names)) or None
    return _text(fields)


def parse_tcr_error(body: bytes) -> PartnerErrorBody | None:
    """Read TCR's error body, a JSON array of ``{code, field | fields, description}``.

    A single object of that shape is accepted too. None when nothing recognisable is found.
    """
    document = _load_json(body)
    entries: list[object]
    if isinstance(document, list):
        entries = document
    elif isinstance(document, Mapping):
        entries = [document]
    else:
        return None
    problems: list[PartnerProblem] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        code = _text(entry.get("code")) or ""
        description = _text(entry.get("description"))
        if not code and not description:
            continue
        problems.append(PartnerProblem(code=code, description=description or code, field=_tcr_field(entry)))
    if not problems:
        return None
    return PartnerErrorBody(summary=_summarise(problems), problems=_bounded(problems))


def tcr_problems_are_temporary(problems: Iterable[PartnerProblem]) -> bool:
    """True when TCR reported at least one problem and every one carries a temporary code.

    A permanent code next to a temporary one makes the whole answer permanent: retrying cannot fix
    an expired campaign even if TCR was also briefly overloaded.
    """
    codes = [problem.code for problem in problems]
    return bool(codes) and all(code in TCR_TEMPORARY_CODES for code in codes)


#: The longest wait a `Retry-After` can ask for here; the workflow clamps it further to its max backoff.
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0


def parse_retry_after(
    value: str | None, *, now: datetime | None = None, maximum: float = MAX_RETRY_AFTER_SECONDS
) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or HTTP-date); None if unusable.

    A date in the past gives 0; anything longer than `maximum` gives `maximum` (a partner, or whoever
    answers in its place, must not park a migration for a year, nor overflow a datetime). `now` is
    injectable for tests (defaults to the current UTC time).
    """
    seconds = _retry_after(value, now)
    return None if seconds is None else min(seconds, maximum)


def _retry_after(value: str | None, now: datetime | None) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        try:
            seconds = float(text)
        except (ValueError, OverflowError):
            return None
        return seconds if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    try:
        delta = (moment - reference).total_seconds()
    except OverflowError:
        return None
    return max(0.0, delta)


def body_snippet(body: bytes, limit: int = 200) -> str:
    """A short, single-line, printable excerpt of an unreadable body, for error messages."""
    return _clean(body[: limit * 4].decode("utf-8", errors="replace"), limit)
