"""How a partner's failed answer becomes a domain error: its dialect, and the status-code mapping.

The ONLY place where HTTP status codes become meaning (`tendlc.clients.http` sends the requests and
calls `error_for_response` for every answer that is not a usable 2xx). Pure: never raises, never
quotes a request body; messages pass through the caller's redactor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tendlc.clients.problems import PartnerErrorBody, body_snippet, parse_retry_after
from tendlc.partner_errors import (
    PartnerAuthFailed,
    PartnerError,
    PartnerForbidden,
    PartnerNotFound,
    PartnerProblem,
    PartnerRejected,
    PartnerResponseInvalid,
    PartnerUnavailable,
)


@dataclass(frozen=True)
class PartnerDialect:
    """How one partner speaks when it fails: its error-body parser and its temporary codes."""

    partner: str
    parse_error: Callable[[bytes], PartnerErrorBody | None]
    problems_are_temporary: Callable[[tuple[PartnerProblem, ...]], bool] = field(default=lambda problems: False)
    temporary_retry_after: float | None = None


def status_class(status: int) -> str:
    if status == 429:
        return "429"
    if 200 <= status < 600:
        return f"{status // 100}xx"
    return "other"


def _describe(status: int, body: bytes, parsed: PartnerErrorBody | None) -> str:
    if parsed is not None:
        return f"HTTP {status}: {parsed.summary}"
    if not body.strip():
        return f"HTTP {status} with an empty body"
    return f"HTTP {status} with an unreadable body: {body_snippet(body)}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def error_for_response(
    dialect: PartnerDialect,
    endpoint: str,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    redact: Callable[[str], str] = lambda text: text,
    now: datetime | None = None,
) -> PartnerError:
    """Map a non-2xx answer to the domain error the workflow understands (pure; never raises).

    401 → PartnerAuthFailed; 403 → PartnerForbidden; 404 → PartnerNotFound; 408, 5xx →
    PartnerUnavailable; 429 → PartnerUnavailable(rate_limited=True); other 4xx → PartnerRejected,
    unless the partner's codes are all temporary (TCR 590/591/630) → PartnerUnavailable.
    `Retry-After` (seconds or HTTP date) is honoured when present.
    """
    partner = dialect.partner
    parsed = dialect.parse_error(body)
    problems = tuple(
        PartnerProblem(
            code=redact(problem.code),
            description=redact(problem.description),
            field=redact(problem.field) if problem.field is not None else None,
        )
        for problem in (parsed.problems if parsed is not None else ())
    )
    message = redact(_describe(status, body, parsed))
    retry_after = parse_retry_after(_header(headers, "retry-after"), now=now)

    if status == 429:
        return PartnerUnavailable(
            partner,
            endpoint,
            message,
            status=status,
            problems=problems,
            retry_after=retry_after,
            rate_limited=True,
        )
    if status == 408 or 500 <= status < 600:
        return PartnerUnavailable(partner, endpoint, message, status=status, problems=problems, retry_after=retry_after)
    if status == 401:
        return PartnerAuthFailed(partner, endpoint, message, status=status, problems=problems)
    if status == 403:
        return PartnerForbidden(partner, endpoint, message, status=status, problems=problems)
    if status == 404:
        return PartnerNotFound(partner, endpoint, message, status=status, problems=problems)
    if 400 <= status < 500:
        if dialect.problems_are_temporary(problems):
            wait = max(
                (value for value in (retry_after, dialect.temporary_retry_after) if value is not None),
                default=None,
            )
            return PartnerUnavailable(partner, endpoint, message, status=status, problems=problems, retry_after=wait)
        return PartnerRejected(partner, endpoint, message, status=status, problems=problems)
    if 300 <= status < 400:
        return PartnerRejected(
            partner,
            endpoint,
            f"unexpected redirect (HTTP {status}); check the partner base URL",
            status=status,
        )
    return PartnerResponseInvalid(partner, endpoint, message, status=status, problems=problems)
