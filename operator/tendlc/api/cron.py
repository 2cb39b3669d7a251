"""Five-field cron expressions, parsed: the `schedule` of a MigrationWave's maintenance window.

`parse_cron("0 2 * * MON-FRI")` returns a `CronSchedule` (the allowed values of each field) or
raises `CronError` naming the field and what is wrong with it, so the wave's model rejects a bad
schedule with a message a user can act on. The syntax is Vixie cron's, as Kubernetes CronJobs
accept it: minute, hour, day of month, month, day of week; `*`, lists `a,b`, ranges `a-b`, steps
`*/n`, `a-b/n` and `a/n` (from `a` to the field's end), month names `JAN` to `DEC`, day names
`SUN` to `SAT` (case-insensitive; day of week 0 and 7 are both Sunday), and the macros `@yearly`,
`@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. Evaluating a schedule in
time (time zones, DST) is `tendlc.workflow.windows`'s job; this room only reads the text.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from functools import lru_cache

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
DAY_NAMES = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
# Days in each month in a leap year: a day of month is possible in a month if it is at most this.
_LONGEST_MONTH = {month: calendar.monthrange(2024, month)[1] for month in range(1, 13)}


class CronError(ValueError):
    """A schedule that is not a valid five-field cron expression (the message says which field and why)."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, MONTH_NAMES),
    _Field("day of week", 0, 7, DAY_NAMES),
)


@dataclass(frozen=True)
class CronSchedule:
    """The values each field allows (sorted), and whether the day fields restrict the day.

    Cron's day rule: when both day of month and day of week are restricted (neither starts with
    `*`), a day matches if *either* matches; otherwise it must match both (so with `*` in one,
    only the other counts, and `*/2` in day of month with `FRI` means the odd-numbered Fridays).
    """

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]
    """0 = Sunday … 6 = Saturday (a 7 in the expression is folded into 0)."""
    day_of_month_restricted: bool
    day_of_week_restricted: bool

    def matches_day(self, day_of_month: int, weekday_sunday_zero: int) -> bool:
        """Whether a day (its day of month, and its weekday with Sunday = 0) is a day of the schedule."""
        by_month_day = day_of_month in self.days_of_month
        by_week_day = weekday_sunday_zero in self.days_of_week
        if self.day_of_month_restricted and self.day_of_week_restricted:
            return by_month_day or by_week_day
        return by_month_day and by_week_day


@lru_cache(maxsize=256)
def parse_cron(expression: str) -> CronSchedule:
    """Parse a five-field cron expression or macro; raises `CronError` with a specific message."""
    text = expression.strip()
    expanded = MACROS.get(text.lower(), text) if text.startswith("@") else text
    if expanded.startswith("@"):
        raise CronError(f"unknown cron macro {text!r} (known: {', '.join(MACROS)})")
    parts = expanded.split()
    if len(parts) != 5:
        raise CronError(
            f"a schedule has 5 fields (minute hour day-of-month month day-of-week), {text!r} has {len(parts)}"
        )
    values = [_parse_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    days_of_week = tuple(sorted({0 if day == 7 else day for day in values[4]}))
    schedule = CronSchedule(
        expression=text,
        minutes=values[0],
        hours=values[1],
        days_of_month=values[2],
        months=values[3],
        days_of_week=days_of_week,
        day_of_month_restricted=not parts[2].startswith("*"),
        day_of_week_restricted=not parts[4].startswith("*"),
    )
    if schedule.day_of_month_restricted and not schedule.day_of_week_restricted:
        possible = any(day <= _LONGEST_MONTH[month] for month in schedule.months for day in schedule.days_of_month)
        if not possible:
            raise CronError(f"{text!r} matches no date: no chosen month has the chosen day of month")
    return schedule


def _parse_field(text: str, field: _Field) -> tuple[int, ...]:
    chosen: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{field.name} field {text!r} has an empty list item")
        chosen.update(_parse_item(item, field))
    return tuple(sorted(chosen))


def _parse_item(item: str, field: _Field) -> range:
    range_text, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronError(f"{field.name} field {item!r}: the step after '/' must be a whole number above 0")
        step = int(step_text)
    if range_text == "*":
        return range(field.low, field.high + 1, step)
    start_text, dash, end_text = range_text.partition("-")
    start = _value(start_text, field, item)
    # `a/n` runs from a to the end of the field.
    end = _value(end_text, field, item) if dash else (field.high if slash else start)
    if end < start:
        raise CronError(f"{field.name} field {item!r}: the range runs backwards ({start} to {end})")
    return range(start, end + 1, step)


def _value(text: str, field: _Field, item: str) -> int:
    upper = text.upper()
    if upper in field.names:
        return field.names[upper]
    if not text.isdigit():
        known = f" or a name ({', '.join(field.names)})" if field.names else ""
        raise CronError(f"{field.name} field {item!r}: {text!r} is not a number{known}")
    value = int(text)
    if not field.low <= value <= field.high:
        raise CronError(f"{field.name} field {item!r}: {value} is outside {field.low}-{field.high}")
    return value
