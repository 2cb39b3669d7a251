"""Times as the plugin shows and reads them: RFC 3339 in UTC to the second, and short durations.

Every renderer takes `now` as a parameter (tests inject it); nothing here reads the clock except
`utc_now`, which the commands call once per run.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def utc_now() -> datetime:
    return datetime.now(UTC)


def show(moment: datetime | None) -> str:
    """`2026-11-27T10:00:03Z`, or `-` for an unknown time."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 time with an explicit offset (`Z` or `±hh:mm`); ValueError otherwise."""
    if not _RFC3339.match(text.strip()):
        raise ValueError(f"{text!r} is not an RFC 3339 time such as 2026-11-27T10:00:00Z")
    return datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00")).astimezone(UTC)


def duration(span: timedelta) -> str:
    """`45s`, `4m 12s`, `2h 13m`, `3d 4h`: the two largest units, never negative."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"


def relative(moment: datetime, now: datetime) -> str:
    """`in 4m 12s` or `3m ago`, for a time near `now`."""
    if moment >= now:
        return f"in {duration(moment - now)}"
    return f"{duration(now - moment)} ago"
