"""Properties of every plan, in every IANA time zone, including across DST changes."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminders.plan import next_allowed_time, plan_checkins, plan_end
from reminders.protocols import load_protocol

PROTOCOL = load_protocol()
ZONES = sorted(zoneinfo.available_timezones())


@lru_cache(maxsize=None)
def offset_change_dates(key: str) -> tuple[date, ...]:
    """Local dates (1990-2035) on which the zone changed its UTC offset."""
    tz = ZoneInfo(key)
    found = []
    moment = datetime(1990, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(tz).utcoffset()
    while moment.year < 2036:
        moment += timedelta(hours=12)
        offset = moment.astimezone(tz).utcoffset()
        if offset != previous:
            found.append(moment.astimezone(tz).date())
            previous = offset
    return tuple(found)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def missing_dates(art_start: date, tz: ZoneInfo) -> bool:
    """Whether a day of the plan is absent from the local calendar (Samoa, 2011)."""
    for n in range(PROTOCOL.last_day + 1):
        day = art_start + timedelta(days=n)
        if datetime.combine(day, time(12), tzinfo=tz).astimezone(UTC).astimezone(tz).date() != day:
            return True
    return False


@st.composite
def plan_cases(draw):
    key = draw(st.sampled_from(ZONES))
    high_risk = draw(st.booleans())
    changes = offset_change_dates(key)
    if changes and draw(st.booleans()):
        # Put a check-in on (or next to) a day the clock changed.
        change = draw(st.sampled_from(changes))
        day = draw(st.sampled_from(PROTOCOL.days_for(high_risk)))
        art_start = change - timedelta(days=day + draw(st.integers(-1, 1)))
    else:
        art_start = draw(st.dates(date(1990, 1, 1), date(2035, 12, 31)))
    hour = draw(st.none() | st.integers(0, 23))
    start = local_midnight(art_start, ZoneInfo(key))
    if draw(st.booleans()):
        now = start - timedelta(seconds=draw(st.integers(0, 8 * 86400)))
    else:
        now = start + timedelta(seconds=draw(st.integers(0, 58 * 86400)))
    return key, art_start, hour, high_risk, now


def check_plan(key, art_start, hour, high_risk, now):
    tz = ZoneInfo(key)
    checkins = plan_checkins(
        PROTOCOL, art_start=art_start, timezone=key, preferred_hour=hour,
        high_risk=high_risk, now=now,
    )
    start = local_midnight(art_start, tz)
    end = plan_end(PROTOCOL, art_start=art_start, timezone=key)
    days = PROTOCOL.days_for(high_risk)

    for checkin in checkins:
        assert checkin.due_at.tzinfo is UTC
        local = checkin.due_at.astimezone(tz)
        assert not PROTOCOL.is_quiet_hour(local.hour), (key, local)
        assert start <= checkin.due_at < end, (key, checkin)
        assert checkin.due_at >= now, (key, checkin, now)
    assert all(a.due_at < b.due_at for a, b in zip(checkins, checkins[1:])), key

    # At most one catch-up, and it comes first; the rest is a tail of the protocol's
    # days (nothing future dropped), and the catch-up stands for the day just before it.
    assert not any(c.catch_up for c in checkins[1:])
    regular = [c.day for c in checkins if not c.catch_up]
    assert regular == list(days[len(days) - len(regular):]), (key, regular)
    if checkins and checkins[0].catch_up:
        first_future = len(days) - len(regular)
        assert checkins[0].day == days[first_future - 1]
        if len(checkins) > 1:
            assert checkins[1].due_at - checkins[0].due_at >= timedelta(hours=12)

    if now <= start:  # enrolled before the first check-in could be due
        assert not any(c.catch_up for c in checkins)
        if missing_dates(art_start, tz):
            assert len(checkins) >= len(days) - 1
        else:
            assert [c.day for c in checkins] == list(days), key
    return checkins


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_cases())
def test_plan_properties_in_every_time_zone(case):
    check_plan(*case)


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(ZONES),
    after=st.datetimes(datetime(1990, 1, 1), datetime(2035, 12, 31), timezones=st.just(UTC)),
)
def test_next_allowed_time_is_never_quiet_and_never_early(key, after):
    result = next_allowed_time(PROTOCOL, key, after)
    local = after.astimezone(ZoneInfo(key))
    assert result >= after
    assert not PROTOCOL.is_quiet_hour(result.astimezone(ZoneInfo(key)).hour)
    if not PROTOCOL.is_quiet_hour(local.hour):
        assert result == after
    assert result - after <= timedelta(hours=PROTOCOL.quiet_end + 24 - PROTOCOL.quiet_start + 2)


def test_every_zone_around_the_usual_dst_seasons():
    # Not random: each of the zones, with plans spanning the northern spring and autumn
    # changes and the southern ones, so no zone is left to chance.
    for key in ZONES:
        for art_start in (date(2024, 2, 20), date(2024, 9, 10), date(2025, 3, 15)):
            for hour in (None, 2, 7, 19, 22):
                before = local_midnight(art_start, ZoneInfo(key)) - timedelta(days=1)
                check_plan(key, art_start, hour, True, before)
            check_plan(key, art_start, None, False, before + timedelta(days=20, hours=7))
