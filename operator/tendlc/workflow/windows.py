"""Maintenance windows in time: is one open now, until when, and when does the next one open.

`window_state(windows, now)` evaluates a wave's windows once per plan: explicit `{start, end}`
intervals and cron windows (`schedule` + `duration` in `timeZone`) are merged into one union of
intervals (overlapping or touching windows are one window), searched no further than `HORIZON`
ahead. No windows at all means always open. Cron fire times follow Vixie cron across daylight-
saving changes: a fire time in the skipped hour happens at the first instant after the change
(`30 2 * * *` in New York fires at 03:00 EDT on the spring-forward day), a fire time in the
repeated hour happens once, at its first occurrence; a window's duration is elapsed time, so a
4 h window that spans a change still lasts 4 h. Pure: no clock but `now`, no I/O.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from tendlc.api.cron import CronSchedule, parse_cron
from tendlc.api.wave import Window

HORIZON = timedelta(days=366)
"""How far ahead a window is looked for: a schedule that fires later than this shows no next window."""
MAX_INTERVALS = 2_000
"""How many raw intervals one evaluation merges at most; a union longer than that (a schedule that
fires every minute with a long duration) is reported as ending where the count ran out, and is
evaluated again then."""

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class WindowState:
    """The windows as seen at one instant.

    `current` is the window open now (its start is the earliest start found within the longest
    window duration before now); `next` is the first window that opens after now (after `current`
    when one is open). Both are None when unknown within the horizon.
    """

    open: bool
    current: Interval | None
    next: Interval | None
    always_open: bool = False

    @property
    def shown(self) -> Interval | None:
        """What a status shows as the "next window": the one open now, else the next to open."""
        return self.current if self.open else self.next

    def next_change(self) -> datetime | None:
        """When `open` changes by itself: the current window's end, or the next window's start."""
        if self.always_open:
            return None
        if self.open:
            return self.current[1] if self.current is not None else None
        return self.next[0] if self.next is not None else None


ALWAYS_OPEN = WindowState(open=True, current=None, next=None, always_open=True)


def window_state(windows: Sequence[Window], now: datetime, horizon: timedelta = HORIZON) -> WindowState:
    """The state of `windows` at `now` (see `WindowState`)."""
    if not windows:
        return ALWAYS_OPEN
    until = now + horizon
    lookback = max((w.duration for w in windows if w.duration is not None), default=timedelta(0))
    sources: list[Iterator[Interval]] = []
    explicit = sorted((w.start, w.end) for w in windows if w.start is not None and w.end is not None)
    sources.append(iter([interval for interval in explicit if interval[1] > now - lookback]))
    for window in windows:
        if window.schedule is not None and window.duration is not None:
            sources.append(_scheduled(window.schedule, window.duration, _zone(window.time_zone), now, until))
    current: Interval | None = None
    for interval in _union(heapq.merge(*sources), MAX_INTERVALS):
        if interval[1] <= now:
            continue
        if interval[0] > until:
            break
        if interval[0] <= now and current is None:
            current = interval
            continue
        return WindowState(open=current is not None, current=current, next=interval)
    return WindowState(open=current is not None, current=current, next=None)


def fire_times(schedule: CronSchedule, zone: tzinfo, after: datetime, until: datetime) -> Iterator[datetime]:
    """The schedule's fire times strictly after `after` and no later than `until`, in UTC, increasing."""
    local = after.astimezone(zone).replace(tzinfo=None)
    last_local = until.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    previous = after
    while True:
        candidate = _next_local(schedule, local, last_local)
        if candidate is None:
            return
        local = candidate
        moment = _to_utc(candidate, zone)
        if moment > until:
            return
        if moment > previous:
            previous = moment
            yield moment


def _scheduled(schedule: str, duration: timedelta, zone: tzinfo, now: datetime, until: datetime) -> Iterator[Interval]:
    for start in fire_times(parse_cron(schedule), zone, now - duration, until):
        yield start, start + duration


def _zone(name: str | None) -> tzinfo:
    return UTC if name in (None, "UTC") else ZoneInfo(name)


def _union(intervals: Iterator[Interval], limit: int) -> Iterator[Interval]:
    current: Interval | None = None
    for count, interval in enumerate(intervals):
        if current is not None and count >= limit:
            break
        if current is None:
            current = interval
        elif interval[0] <= current[1]:
            current = (current[0], max(current[1], interval[1]))
        else:
            yield current
            current = interval
    if current is not None:
        yield current


def _next_local(schedule: CronSchedule, after: datetime, last: datetime) -> datetime | None:
    """The first wall-clock minute strictly after `after` that the schedule matches, or None past `last`."""
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while moment <= last:
        if moment.month not in schedule.months:
            moment = _first_of_next_month(moment, schedule.months)
            continue
        weekday = (moment.weekday() + 1) % 7  # Python: Monday = 0; cron: Sunday = 0
        if not schedule.matches_day(moment.day, weekday):
            moment = datetime(moment.year, moment.month, moment.day) + timedelta(days=1)
            continue
        hour = _at_or_after(schedule.hours, moment.hour)
        if hour is None:
            moment = datetime(moment.year, moment.month, moment.day) + timedelta(days=1)
            continue
        if hour != moment.hour:
            moment = moment.replace(hour=hour, minute=0)
        minute = _at_or_after(schedule.minutes, moment.minute)
        if minute is None:
            moment = moment.replace(minute=0) + timedelta(hours=1)
            continue
        return moment.replace(minute=minute)
    return None


def _at_or_after(values: tuple[int, ...], value: int) -> int | None:
    index = bisect_left(values, value)
    return values[index] if index < len(values) else None


def _first_of_next_month(moment: datetime, months: tuple[int, ...]) -> datetime:
    month = _at_or_after(months, moment.month + 1)
    if month is None:
        return datetime(moment.year + 1, months[0], 1)
    return datetime(moment.year, month, 1)


def _to_utc(local: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time in `zone` as a UTC instant: the first occurrence of a repeated time, and for
    a time skipped by a DST change, the instant the clock jumped (the end of the gap)."""
    moment = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) == local:
        return moment
    # In a gap: fold=1 reads the time with the offset after the change, an instant before the jump;
    # fold=0 with the offset before it, an instant after. Offsets change on whole seconds: find that one.
    low = int(local.replace(tzinfo=zone, fold=1).timestamp())
    high = int(moment.timestamp())
    before = datetime.fromtimestamp(low, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)
