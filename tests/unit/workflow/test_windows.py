"""Maintenance windows: the cron parser, fire times across midnight, time zones and DST, and the union.

Every expected instant is written out by hand (local wall time and offset), not computed with the
code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tendlc.api.cron import CronError, parse_cron
from tendlc.api.wave import Window
from tendlc.workflow.windows import HORIZON, MAX_INTERVALS, WindowState, fire_times, window_state

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
SYDNEY = ZoneInfo("Australia/Sydney")
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def fires(expression: str, zone: ZoneInfo | timezone, after: str, until: str) -> list[str]:
    moments = fire_times(parse_cron(expression), zone, at(after), at(until))
    return [m.astimezone(zone).isoformat() for m in moments]


def scheduled(schedule: str, duration: str, zone: str | None = None) -> Window:
    return Window.model_validate({"schedule": schedule, "duration": duration} | ({"timeZone": zone} if zone else {}))


def explicit(start: str, end: str) -> Window:
    return Window.model_validate({"start": start, "end": end})


# --- the parser ---------------------------------------------------------------------------------------


def test_fields_accept_lists_ranges_steps_and_names() -> None:
    schedule = parse_cron("0,30 9-17/4 1,15 jan-MAR,Dec mon-fri")
    assert schedule.minutes == (0, 30)
    assert schedule.hours == (9, 13, 17)
    assert schedule.days_of_month == (1, 15)
    assert schedule.months == (1, 2, 3, 12)
    assert schedule.days_of_week == (1, 2, 3, 4, 5)
    assert parse_cron("*/15 * * * *").minutes == (0, 15, 30, 45)
    assert parse_cron("10/20 * * * *").minutes == (10, 30, 50)


def test_sunday_is_0_and_7() -> None:
    assert parse_cron("0 0 * * 7").days_of_week == (0,)
    assert parse_cron("0 0 * * 5-7").days_of_week == (0, 5, 6)
    assert parse_cron("0 0 * * SUN").days_of_week == (0,)


@pytest.mark.parametrize(("macro", "same_as"), [("@daily", "0 0 * * *"), ("@hourly", "0 * * * *"),
                                                 ("@weekly", "0 0 * * 0"), ("@monthly", "0 0 1 * *"),
                                                 ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"),
                                                 ("@midnight", "0 0 * * *")])
def test_macros(macro: str, same_as: str) -> None:
    mine, theirs = parse_cron(macro), parse_cron(same_as)
    assert (mine.minutes, mine.hours, mine.days_of_month, mine.months, mine.days_of_week) == (
        theirs.minutes, theirs.hours, theirs.days_of_month, theirs.months, theirs.days_of_week)


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 2 * *", "has 4"),
        ("0 2 * * * *", "has 6"),
        ("60 * * * *", "minute field '60': 60 is outside 0-59"),
        ("0 24 * * *", "hour field '24'"),
        ("0 0 0 * *", "day of month field '0'"),
        ("0 0 * 13 *", "month field '13'"),
        ("0 0 * * 8", "day of week field '8'"),
        ("0 22-2 * * *", "runs backwards"),
        ("*/0 * * * *", "step after '/' must be a whole number above 0"),
        ("0 0 * * FRI-MON", "runs backwards"),
        ("0 0 * FOO *", "'FOO' is not a number or a name (JAN"),
        ("0,,5 * * * *", "empty list item"),
        ("@fortnightly", "unknown cron macro"),
        ("0 0 30 2 *", "matches no date"),
    ],
)
def test_bad_schedules_name_the_field_and_the_fault(expression: str, words: str) -> None:
    with pytest.raises(CronError, match=words.replace("(", r"\(").replace("*", r"\*")):
        parse_cron(expression)


def test_february_29_is_a_possible_date() -> None:
    assert parse_cron("0 0 29 2 *").days_of_month == (29,)


# --- fire times -------------------------------------------------------------------------------------------


def test_fire_times_cross_midnight_and_month_and_year_ends() -> None:
    assert fires("30 23 * * *", UTC, "2026-12-30T23:00:00+00:00", "2027-01-02T00:00:00+00:00") == [
        "2026-12-30T23:30:00+00:00", "2026-12-31T23:30:00+00:00", "2027-01-01T23:30:00+00:00"]
    assert fires("0 0 1 * *", UTC, "2026-11-15T00:00:00+00:00", "2027-02-01T00:00:00+00:00") == [
        "2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00"]


def test_fire_times_are_strictly_after_the_start() -> None:
    assert fires("0 2 * * *", UTC, "2026-12-01T02:00:00+00:00", "2026-12-02T03:00:00+00:00") == [
        "2026-12-02T02:00:00+00:00"]


def test_day_of_month_or_day_of_week_when_both_are_given() -> None:
    # Cron's rule: both restricted → either matches. 13 Nov 2026 is a Friday; Fridays are 6, 13, 20, 27.
    assert fires("0 0 13 * FRI", UTC, "2026-11-01T00:00:00+00:00", "2026-11-30T00:00:00+00:00") == [
        f"2026-11-{day:02d}T00:00:00+00:00" for day in (6, 13, 20, 27)]
    assert fires("0 0 1 * MON", UTC, "2026-11-30T12:00:00+00:00", "2026-12-08T00:00:00+00:00") == [
        "2026-12-01T00:00:00+00:00", "2026-12-07T00:00:00+00:00"]
    # A `*`-prefixed field is unrestricted: both must match (odd-numbered days that are Fridays).
    assert fires("0 0 */2 * FRI", UTC, "2026-11-01T00:00:00+00:00", "2026-11-30T00:00:00+00:00") == [
        "2026-11-13T00:00:00+00:00", "2026-11-27T00:00:00+00:00"]


def test_fire_times_in_a_time_zone_with_a_half_hour_offset() -> None:
    assert fires("0 2 * * *", KOLKATA, "2026-12-01T00:00:00+00:00", "2026-12-02T00:00:00+00:00") == [
        "2026-12-02T02:00:00+05:30"]
    first = next(fire_times(parse_cron("0 2 * * *"), KOLKATA, at("2026-12-01T00:00:00+00:00"),
                            at("2026-12-03T00:00:00+00:00")))
    assert first == at("2026-12-01T20:30:00+00:00")


def test_the_skipped_hour_of_spring_forward_fires_when_the_clock_jumps() -> None:
    # 8 March 2026, New York: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that day.
    assert fires("30 2 * * *", NEW_YORK, "2026-03-07T00:00:00-05:00", "2026-03-09T12:00:00-04:00") == [
        "2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]
    assert fires("*/30 1-3 * * *", NEW_YORK, "2026-03-08T00:00:00-05:00", "2026-03-08T12:00:00-04:00") == [
        "2026-03-08T01:00:00-05:00", "2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00",
        "2026-03-08T03:30:00-04:00"]


def test_the_repeated_hour_of_fall_back_fires_once() -> None:
    # 1 November 2026, New York: 02:00 EDT falls back to 01:00 EST; 01:00 to 02:00 happens twice.
    assert fires("30 1 * * *", NEW_YORK, "2026-10-31T12:00:00-04:00", "2026-11-02T12:00:00-05:00") == [
        "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
    # Started inside the second 01:xx, the first 01:30 is behind: the next fire is the next day's.
    assert fires("30 1 * * *", NEW_YORK, "2026-11-01T01:15:00-05:00", "2026-11-02T12:00:00-05:00") == [
        "2026-11-02T01:30:00-05:00"]


def test_southern_hemisphere_dst() -> None:
    # 4 October 2026, Sydney: 02:00 AEST jumps to 03:00 AEDT.
    assert fires("15 2 * * *", SYDNEY, "2026-10-03T12:00:00+10:00", "2026-10-05T12:00:00+11:00") == [
        "2026-10-04T03:00:00+11:00", "2026-10-05T02:15:00+11:00"]


# --- window state -------------------------------------------------------------------------------------------


def test_no_windows_means_always_open() -> None:
    state = window_state((), T0)
    assert state.open
    assert state.always_open
    assert state.shown is None
    assert state.next_change() is None


def test_explicit_window_before_inside_and_after_with_the_end_excluded() -> None:
    window = [explicit("2026-12-01T14:00:00Z", "2026-12-01T16:00:00Z")]
    start, end = at("2026-12-01T14:00:00+00:00"), at("2026-12-01T16:00:00+00:00")
    assert window_state(window, T0) == WindowState(open=False, current=None, next=(start, end))
    assert window_state(window, start) == WindowState(open=True, current=(start, end), next=None)
    inside = window_state(window, start + timedelta(minutes=30))
    assert inside.open
    assert inside.next_change() == end
    assert window_state(window, end) == WindowState(open=False, current=None, next=None)


def test_overlapping_and_touching_windows_are_one_window() -> None:
    windows = [
        explicit("2026-12-01T14:00:00Z", "2026-12-01T15:00:00Z"),
        explicit("2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z"),
        scheduled("30 15 * * *", "1h"),  # 15:30 to 16:30 UTC, overlapping the second
        explicit("2026-12-01T18:00:00Z", "2026-12-01T19:00:00Z"),
    ]
    state = window_state(windows, at("2026-12-01T14:10:00+00:00"))
    assert state.current == (at("2026-12-01T14:00:00+00:00"), at("2026-12-01T16:30:00+00:00"))
    assert state.next == (at("2026-12-01T18:00:00+00:00"), at("2026-12-01T19:00:00+00:00"))
    assert state.shown == state.current


def test_a_cron_window_across_midnight_in_new_york() -> None:
    windows = [scheduled("0 22 * * MON-FRI", "4h", "America/New_York")]
    # Tuesday 1 December 2026, 23:30 EST: inside Tuesday's 22:00 to 02:00 window.
    inside = window_state(windows, at("2026-12-01T23:30:00-05:00"))
    assert inside.open
    assert inside.current == (at("2026-12-01T22:00:00-05:00"), at("2026-12-02T02:00:00-05:00"))
    assert inside.next == (at("2026-12-02T22:00:00-05:00"), at("2026-12-03T02:00:00-05:00"))
    # Saturday 5 December, noon: Friday's window is over, the next is Monday's.
    weekend = window_state(windows, at("2026-12-05T12:00:00-05:00"))
    assert not weekend.open
    assert weekend.next == (at("2026-12-07T22:00:00-05:00"), at("2026-12-08T02:00:00-05:00"))
    assert weekend.next_change() == at("2026-12-07T22:00:00-05:00")


def test_a_window_across_fall_back_lasts_its_duration_in_elapsed_time() -> None:
    state = window_state([scheduled("0 0 * * *", "4h", "America/New_York")], at("2026-11-01T00:30:00-04:00"))
    assert state.current == (at("2026-11-01T00:00:00-04:00"), at("2026-11-01T03:00:00-05:00"))  # 03:00 wall, 4 h


def test_the_union_of_a_schedule_that_never_closes_ends_where_the_count_runs_out() -> None:
    state = window_state([scheduled("* * * * *", "5m")], T0)
    assert state.open
    assert state.next is None
    assert state.current is not None
    assert state.current[1] == T0 + timedelta(minutes=MAX_INTERVALS - 1 + 5 - 4)  # lower bound, rechecked then


def test_a_schedule_beyond_the_horizon_has_no_next_window() -> None:
    # The next 29 February after December 2026 is in 2028, more than a year ahead.
    state = window_state([scheduled("0 0 29 2 *", "1h")], T0)
    assert state == WindowState(open=False, current=None, next=None)
    assert state.next_change() is None
    assert window_state([scheduled("0 0 29 2 *", "1h")], T0, horizon=HORIZON * 2).next == (
        at("2028-02-29T00:00:00+00:00"), at("2028-02-29T01:00:00+00:00"))


def test_past_explicit_windows_are_ignored() -> None:
    state = window_state([explicit("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")], T0)
    assert state == WindowState(open=False, current=None, next=None)
