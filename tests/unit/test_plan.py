"""A patient's check-in plan: hours, quiet hours, time zones, DST and late enrollment."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminders.errors import InputError
from reminders.plan import (
    PlannedCheckin,
    allowed_hour,
    enrollment_lag_days,
    next_allowed_time,
    plan_checkins,
    plan_end,
    validate_art_start,
    validate_preferred_hour,
)
from reminders.protocols import load_protocol

PROTOCOL = load_protocol()
NAIROBI = "Africa/Nairobi"


def plan(art_start, timezone=NAIROBI, *, hour=None, high_risk=False, now=None):
    if now is None:
        now = datetime.combine(art_start - timedelta(days=1), datetime.min.time(), UTC)
    return plan_checkins(
        PROTOCOL,
        art_start=art_start,
        timezone=timezone,
        preferred_hour=hour,
        high_risk=high_risk,
        now=now,
    )


def local(checkin: PlannedCheckin, timezone: str) -> datetime:
    return checkin.due_at.astimezone(ZoneInfo(timezone))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(timezone: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(timezone))


# --- the ordinary plan ---------------------------------------------------------------


def test_nairobi_checkins_at_nine_are_six_utc():
    checkins = plan(date(2026, 11, 28))
    assert [c.day for c in checkins] == list(PROTOCOL.days)
    assert checkins[0].due_at == utc(2026, 12, 1, 6, 0)  # day 3 at 09:00 EAT (UTC+3)
    assert all(c.due_at.tzinfo is UTC for c in checkins)
    assert all(c.due_at.time() == datetime(2000, 1, 1, 6).time() for c in checkins)
    assert not any(c.catch_up for c in checkins)
    assert checkins[-1].due_at == utc(2027, 1, 23, 6, 0)  # day 56


def test_preferred_hour_is_used_in_the_clinic_time_zone():
    checkins = plan(date(2026, 11, 28), hour=14)
    assert {local(c, NAIROBI).hour for c in checkins} == {14}
    assert checkins[0].due_at == utc(2026, 12, 1, 11, 0)


def test_high_risk_adds_checkins_in_the_first_four_weeks():
    standard = plan(date(2026, 11, 28))
    high = plan(date(2026, 11, 28), high_risk=True)
    assert [c.day for c in high] == list(PROTOCOL.days_for(high_risk=True))
    extra = {c.day for c in high} - {c.day for c in standard}
    assert extra == set(PROTOCOL.high_risk_days)
    assert max(extra) <= 28
    assert high[0].due_at == utc(2026, 11, 29, 6, 0)  # day 1


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [(0, 7), (3, 7), (6, 7), (7, 7), (12, 12), (19, 19), (20, 19), (23, 19)],
)
def test_preferred_hour_in_quiet_hours_moves_to_nearest_allowed_hour_of_the_day(
    preferred, expected
):
    assert allowed_hour(PROTOCOL, preferred) == expected
    checkins = plan(date(2026, 11, 28), hour=preferred)
    assert {local(c, NAIROBI).hour for c in checkins} == {expected}
    # Staying on the same day keeps the day numbers true.
    assert all(local(c, NAIROBI).date() == date(2026, 11, 28) + timedelta(days=c.day)
               for c in checkins)


def test_plan_ends_at_local_midnight_after_the_last_day():
    assert plan_end(PROTOCOL, art_start=date(2026, 11, 28), timezone=NAIROBI) == utc(
        2027, 1, 23, 21, 0
    )


# --- daylight saving time --------------------------------------------------------------


def test_new_york_spring_forward_with_2am_preference_goes_to_7am_local():
    # 2 a.m. is in quiet hours (and did not exist on 10 March 2024): 07:00 instead.
    checkins = plan(date(2024, 3, 3), "America/New_York", hour=2)
    by_day = {c.day: c for c in checkins}
    assert by_day[3].due_at == utc(2024, 3, 6, 12, 0)  # 07:00 EST
    assert by_day[7].due_at == utc(2024, 3, 10, 11, 0)  # 07:00 EDT, the DST day
    assert {local(c, "America/New_York").hour for c in checkins} == {7}


def test_lisbon_checkins_follow_summer_and_winter_time():
    checkins = plan(date(2021, 3, 21), "Europe/Lisbon")
    by_day = {c.day: c for c in checkins}
    assert by_day[3].due_at == utc(2021, 3, 24, 9, 0)  # WET, UTC+0
    assert by_day[7].due_at == utc(2021, 3, 28, 8, 0)  # DST day: WEST, UTC+1
    autumn = {c.day: c for c in plan(date(2021, 10, 24), "Europe/Lisbon")}
    assert autumn[3].due_at == utc(2021, 10, 27, 8, 0)
    assert autumn[7].due_at == utc(2021, 10, 31, 9, 0)  # fall-back day, back to UTC+0
    assert {local(c, "Europe/Lisbon").hour for c in checkins} == {9}


def test_sao_paulo_midnight_dst_change_keeps_the_morning_checkin():
    # Brazil (until 2019) moved the clock at midnight: 4 Nov 2018 started at 01:00.
    checkins = plan(date(2018, 11, 1), "America/Sao_Paulo", hour=0)
    by_day = {c.day: c for c in checkins}
    assert by_day[3].due_at == utc(2018, 11, 4, 9, 0)  # 07:00 -02 on the DST day
    assert by_day[7].due_at == utc(2018, 11, 8, 9, 0)
    assert {local(c, "America/Sao_Paulo").hour for c in checkins} == {7}


def test_gap_at_an_allowed_hour_moves_later_by_the_gap():
    # Khartoum went from UTC+2 to UTC+3 at 12:00 on 15 January 2000: 12:00-12:59 did
    # not exist. A 12:00 check-in that day goes out at 13:00 local, the same instant
    # 12:00 would have been in the old time.
    checkins = plan(date(2000, 1, 12), "Africa/Khartoum", hour=12)
    by_day = {c.day: c for c in checkins}
    assert by_day[3].due_at == utc(2000, 1, 15, 10, 0)
    assert local(by_day[3], "Africa/Khartoum").hour == 13
    assert by_day[7].due_at == utc(2000, 1, 19, 9, 0)  # 12:00 in the new UTC+3


def test_athens_1979_gap_at_nine_in_the_morning():
    # Athens sprang forward at 09:00 on 1 April 1979, so the default 09:00 did not exist.
    by_day = {c.day: c for c in plan(date(1979, 3, 29), "Europe/Athens")}
    assert by_day[3].due_at == utc(1979, 4, 1, 7, 0)
    assert local(by_day[3], "Europe/Athens").hour == 10


def test_ambiguous_allowed_hour_takes_the_first_occurrence():
    # Vostok set its clock back from 24:00 (UTC+7) to 17:00 (UTC) on 31 January 1994:
    # 17:00-23:59 happened twice. fold=0 is the first, 10:00 UTC.
    by_day = {c.day: c for c in plan(date(1994, 1, 28), "Antarctica/Vostok", hour=17)}
    assert by_day[3].due_at == utc(1994, 1, 31, 10, 0)
    assert by_day[7].due_at == utc(1994, 2, 4, 17, 0)


def test_a_day_missing_from_the_calendar_moves_to_the_next_day():
    # Samoa skipped 30 December 2011. Day 3 of a start on the 27th falls on it.
    checkins = plan(date(2011, 12, 27), "Pacific/Apia", high_risk=True)
    by_day = {c.day: c for c in checkins}
    assert by_day[3].due_at == utc(2011, 12, 30, 19, 0)  # 31 Dec 09:00 +14
    assert local(by_day[3], "Pacific/Apia").date() == date(2011, 12, 31)
    assert by_day[5].due_at == utc(2011, 12, 31, 19, 0)  # 1 Jan 09:00 +14, a day later
    assert [c.day for c in checkins] == list(PROTOCOL.days_for(high_risk=True))


def test_a_missing_last_day_cannot_push_a_checkin_past_the_plan():
    # Day 56 of a start on 4 Nov 2011 is the skipped 30 December: the next day would
    # already be after the plan's end, so that one check-in is not planned.
    checkins = plan(date(2011, 11, 4), "Pacific/Apia")
    assert [c.day for c in checkins] == list(PROTOCOL.days[:-1])
    end = plan_end(PROTOCOL, art_start=date(2011, 11, 4), timezone="Pacific/Apia")
    assert all(c.due_at < end for c in checkins)


# --- late enrollment: one catch-up ---------------------------------------------------------


def test_missed_checkins_collapse_into_one_catch_up_at_the_next_full_hour():
    now = at(NAIROBI, 2026, 11, 20, 18, 20)  # day 19 of a start on 1 November
    checkins = plan(date(2026, 11, 1), now=now)
    assert checkins[0] == PlannedCheckin(day=17, due_at=utc(2026, 11, 20, 16, 0), catch_up=True)
    assert [c.day for c in checkins[1:]] == [21, 24, 28, 35, 42, 49, 56]
    assert not any(c.catch_up for c in checkins[1:])


def test_catch_up_waits_for_the_end_of_quiet_hours():
    now = at(NAIROBI, 2026, 11, 20, 21, 30)
    checkins = plan(date(2026, 11, 1), now=now)
    assert checkins[0].catch_up
    assert local(checkins[0], NAIROBI) == at(NAIROBI, 2026, 11, 21, 7, 0)
    assert checkins[1].day == 21


def test_catch_up_on_a_full_hour_is_due_at_once():
    now = at(NAIROBI, 2026, 11, 20, 15, 0)
    assert plan(date(2026, 11, 1), now=now)[0].due_at == now.astimezone(UTC)


def test_catch_up_less_than_12_hours_before_the_next_checkin_is_dropped():
    # 21:30 on day 20: the catch-up would be 07:00 on day 21, two hours before the
    # day-21 check-in at 09:00, which asks the same question.
    now = at(NAIROBI, 2026, 11, 21, 21, 30)
    checkins = plan(date(2026, 11, 1), now=now)
    assert checkins[0] == PlannedCheckin(day=21, due_at=utc(2026, 11, 22, 6, 0))
    assert not any(c.catch_up for c in checkins)


def test_catch_up_exactly_12_hours_before_the_next_checkin_is_kept():
    now = at(NAIROBI, 2026, 11, 22, 6, 10)  # catch-up 07:00, day 21 check-in at 19:00
    checkins = plan(date(2026, 11, 1), hour=19, now=now)
    assert checkins[0].catch_up and checkins[0].day == 17
    assert checkins[1].day == 21
    assert checkins[1].due_at - checkins[0].due_at == timedelta(hours=12)
    dropped = plan(date(2026, 11, 1), hour=18, now=now)  # 11 hours apart
    assert not dropped[0].catch_up and dropped[0].day == 21


def test_catch_up_rounds_to_the_local_full_hour_in_a_quarter_hour_zone():
    tz = "Asia/Kathmandu"  # UTC+05:45
    now = at(tz, 2026, 11, 20, 10, 20)
    checkins = plan(date(2026, 11, 1), tz, now=now)
    assert local(checkins[0], tz) == at(tz, 2026, 11, 20, 11, 0)
    assert checkins[0].due_at == utc(2026, 11, 20, 5, 15)


def test_a_checkin_due_exactly_now_is_not_a_catch_up():
    now = at(NAIROBI, 2026, 12, 1, 9, 0)  # day 3 at 09:00
    checkins = plan(date(2026, 11, 28), now=now)
    assert checkins[0] == PlannedCheckin(day=3, due_at=now.astimezone(UTC))
    assert len(checkins) == len(PROTOCOL.days)


def test_on_the_last_day_the_missed_checkin_is_caught_up_that_day():
    start = date(2026, 11, 1)
    now = at(NAIROBI, 2026, 12, 27, 15, 40)  # day 56, after its 09:00 check-in
    assert plan(start, now=now) == [
        PlannedCheckin(day=56, due_at=utc(2026, 12, 27, 13, 0), catch_up=True)
    ]


def test_last_day_evening_enrollment_plans_nothing_past_the_end():
    now = at(NAIROBI, 2026, 12, 27, 21, 0)  # the next allowed hour is day 57
    assert plan(date(2026, 11, 1), now=now) == []


def test_after_the_last_day_the_plan_is_empty():
    assert plan(date(2026, 11, 1), now=at(NAIROBI, 2026, 12, 28, 10, 0)) == []
    assert plan(date(2026, 11, 1), now=utc(2027, 6, 1)) == []


def test_enrollment_before_the_art_start_plans_everything():
    checkins = plan(date(2026, 12, 5), now=at(NAIROBI, 2026, 11, 28, 12, 0))
    assert [c.day for c in checkins] == list(PROTOCOL.days)


# --- bad input -----------------------------------------------------------------------------


def test_naive_now_is_a_bug():
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(date(2026, 11, 1), now=datetime(2026, 11, 20, 9, 0))


@pytest.mark.parametrize("timezone", ["Mars/Olympus", "", "EAT+3", "../etc/passwd"])
def test_unknown_time_zone_is_refused(timezone):
    with pytest.raises(InputError) as excinfo:
        plan(date(2026, 11, 1), timezone)
    assert excinfo.value.field == "timezone"


@pytest.mark.parametrize("hour", [-1, 24, 9.5, "9", True])
def test_preferred_hour_outside_0_to_23_is_refused(hour):
    with pytest.raises(InputError) as excinfo:
        validate_preferred_hour(hour)
    assert excinfo.value.field == "preferred_hour"
    with pytest.raises(InputError):
        plan(date(2026, 11, 1), hour=hour)


@pytest.mark.parametrize("hour", [None, 0, 9, 23])
def test_preferred_hour_accepts_none_and_0_to_23(hour):
    validate_preferred_hour(hour)


@pytest.mark.parametrize(
    ("art_start", "ok"),
    [
        (date(2026, 10, 6), True),  # 56 days ago: day 56 is today
        (date(2026, 10, 5), False),  # 57 days ago
        (date(2026, 12, 1), True),
        (date(2026, 12, 8), True),  # a week ahead
        (date(2026, 12, 9), False),  # 8 days ahead
    ],
)
def test_validate_art_start_window(art_start, ok):
    today = date(2026, 12, 1)
    if ok:
        validate_art_start(art_start, today)
    else:
        with pytest.raises(InputError) as excinfo:
            validate_art_start(art_start, today)
        assert excinfo.value.field == "art_start_date"


def test_enrollment_lag_days():
    assert enrollment_lag_days(date(2026, 11, 1), date(2026, 11, 20)) == 19
    assert enrollment_lag_days(date(2026, 11, 20), date(2026, 11, 20)) == 0
    assert enrollment_lag_days(date(2026, 11, 25), date(2026, 11, 20)) == 0


# --- next_allowed_time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ((2026, 11, 20, 14, 23), (2026, 11, 20, 14, 23)),  # allowed: at once
        ((2026, 11, 20, 7, 0), (2026, 11, 20, 7, 0)),
        ((2026, 11, 20, 19, 59), (2026, 11, 20, 19, 59)),
        ((2026, 11, 20, 20, 0), (2026, 11, 21, 7, 0)),
        ((2026, 11, 20, 23, 45), (2026, 11, 21, 7, 0)),
        ((2026, 11, 21, 3, 0), (2026, 11, 21, 7, 0)),
        ((2026, 11, 21, 6, 59), (2026, 11, 21, 7, 0)),
    ],
)
def test_next_allowed_time_holds_messages_until_quiet_hours_end(when, expected):
    result = next_allowed_time(PROTOCOL, NAIROBI, at(NAIROBI, *when))
    assert result == at(NAIROBI, *expected)
    assert result.tzinfo is UTC


def test_next_allowed_time_across_spring_forward():
    tz = "America/New_York"
    result = next_allowed_time(PROTOCOL, tz, at(tz, 2024, 3, 9, 22, 0))
    assert result == utc(2024, 3, 10, 11, 0)  # 07:00 EDT


def test_next_allowed_time_needs_an_aware_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed_time(PROTOCOL, NAIROBI, datetime(2026, 11, 20, 22, 0))


# --- odd protocols meet odd calendars --------------------------------------------------


def custom_protocol(**changes):
    from dataclasses import replace

    return replace(PROTOCOL, **changes)


def test_gap_that_lands_in_quiet_hours_falls_back_to_the_nearest_allowed_hour():
    # Quiet from 13:00: Khartoum's 12:00 did not exist on 15 January 2000 and would
    # become 13:00, which is quiet, so that day's check-in goes at 11:00 instead.
    protocol = custom_protocol(quiet_start=13, quiet_end=7, default_hour=9)
    checkins = plan_checkins(
        protocol, art_start=date(2000, 1, 12), timezone="Africa/Khartoum", preferred_hour=12,
        high_risk=False, now=utc(2000, 1, 1),
    )
    by_day = {c.day: c for c in checkins}
    assert local(by_day[3], "Africa/Khartoum").replace(tzinfo=None) == datetime(2000, 1, 15, 11)
    assert local(by_day[7], "Africa/Khartoum").hour == 12


def test_two_days_landing_on_one_instant_give_one_checkin():
    # Days 2 and 3 of a start on 28 Dec 2011 in Samoa are the skipped 30th and the
    # 31st: both would be 31 Dec 09:00. The patient is asked once.
    protocol = custom_protocol(days=(2, 3, 7), high_risk_days=())
    checkins = plan_checkins(
        protocol, art_start=date(2011, 12, 28), timezone="Pacific/Apia", preferred_hour=None,
        high_risk=False, now=utc(2011, 12, 1),
    )
    assert [c.day for c in checkins] == [2, 7]
    assert checkins[0].due_at == utc(2011, 12, 30, 19, 0)
