"""A patient's check-in plan: which instants, from the protocol, time zone and hour.

Pure: `now` is always an argument. Every instant returned is an aware datetime in UTC.

Rules, in the order they apply:

- A check-in for day N is due on art_start + N days at the preferred hour (the
  protocol's default_hour when none is given), in the clinic's IANA time zone.
- A preferred hour inside quiet hours moves to the nearest allowed hour of the same
  day (ties go later): with quiet hours 20-07, hours 0-6 become 07:00 and 20-23 become
  19:00. Staying on the same calendar day keeps the day numbers true.
- A wall time that does not exist (a DST gap) or exists twice (a DST fold) is read
  with fold=0 and normalised through UTC: a gap moves it later by the size of the gap
  (02:30 in a one-hour gap becomes 03:30), a fold takes the first of the two instants.
  If the result lands in quiet hours or on another day, the other allowed hours of
  that day are tried, nearest first. A day missing from the local calendar (Samoa
  skipped 30 December 2011) has its check-in on the next day at the same hour.
- Late enrollment: check-ins already due when the plan is made (due_at < now) are not
  dropped silently. They collapse into ONE catch-up check-in (catch_up=True, day =
  the latest missed day) at the next full local hour from now outside quiet hours.
  The catch-up is dropped only when the next planned check-in is less than 12 hours
  after it (the patient is asked soon anyway, and two "how are you?" texts in one
  morning read like a fault), or when it would fall after the plan's end.
- Nothing is planned at or after the plan's end (local midnight after the last day),
  so once that has passed the plan is empty.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reminders.errors import InputError
from reminders.protocols import Protocol

# Enrollment window for the ART start date (DESIGN.md: 8 weeks ago .. a week ahead).
MAX_DAYS_SINCE_ART_START = 56
MAX_DAYS_BEFORE_ART_START = 7

# A catch-up closer than this to the next planned check-in is dropped.
CATCH_UP_MIN_GAP = timedelta(hours=12)


@dataclass(frozen=True)
class PlannedCheckin:
    day: int  # days since ART start; for a catch-up, the latest missed day
    due_at: datetime  # aware, UTC
    catch_up: bool = False


def plan_checkins(
    protocol: Protocol,
    *,
    art_start: date,
    timezone: str,
    preferred_hour: int | None,
    high_risk: bool,
    now: datetime,
) -> list[PlannedCheckin]:
    """The check-ins still to send for a patient, sorted by due_at (strictly increasing)."""
    validate_preferred_hour(preferred_hour)
    _require_aware(now, "now")
    tz = zone(timezone)
    hour = protocol.default_hour if preferred_hour is None else preferred_hour
    hour = allowed_hour(protocol, hour)
    end = plan_end(protocol, art_start=art_start, timezone=timezone)
    scheduled = _schedule(protocol, art_start, timezone, hour, high_risk)

    missed = [c for c in scheduled if c.due_at < now]
    future = [c for c in scheduled if c.due_at >= now]
    if not missed:
        return future

    catch_up_at = _next_allowed(protocol, tz, _ceil_to_local_hour(now, tz))
    keep = catch_up_at < end and (
        not future or future[0].due_at - catch_up_at >= CATCH_UP_MIN_GAP
    )
    if not keep:
        return future
    return [PlannedCheckin(day=missed[-1].day, due_at=catch_up_at, catch_up=True), *future]


@functools.lru_cache(maxsize=8192)
def _schedule(protocol: Protocol, art_start: date, timezone: str, hour: int,
              high_risk: bool) -> tuple[PlannedCheckin, ...]:
    """Every check-in of the plan, before `now` decides which are missed. Cached: an import
    of 100,000 patients has a few hundred distinct (start date, hour, zone) plans, and
    each costs a search through the day's hours for every check-in day."""
    tz = zone(timezone)
    end = plan_end(protocol, art_start=art_start, timezone=timezone)
    scheduled: list[PlannedCheckin] = []
    for day in protocol.days_for(high_risk):
        due = _resolve(protocol, tz, art_start + timedelta(days=day), hour)
        if due >= end:
            continue  # only when the last day is missing from the local calendar
        if scheduled and due <= scheduled[-1].due_at:
            continue  # two days mapped to one instant (a skipped day): ask once
        scheduled.append(PlannedCheckin(day=day, due_at=due))
    return tuple(scheduled)


def plan_end(protocol: Protocol, *, art_start: date, timezone: str) -> datetime:
    """The instant the plan ends (UTC): local midnight after the protocol's last day."""
    return _normalise(art_start + timedelta(days=protocol.last_day + 1), time(0), zone(timezone))


def next_allowed_time(protocol: Protocol, timezone: str, after: datetime) -> datetime:
    """The earliest instant at or after `after` outside quiet hours, in UTC.

    `after` itself when it is allowed; otherwise the end of the quiet hours (quiet_end:00
    local, later if a DST gap swallows it). Used to hold a message until morning.
    """
    _require_aware(after, "after")
    return _next_allowed(protocol, zone(timezone), after)


def _next_allowed(protocol: Protocol, tz: ZoneInfo, after: datetime) -> datetime:
    after = after.astimezone(UTC)
    local = after.astimezone(tz)
    if not protocol.is_quiet_hour(local.hour):
        return after
    # A few days of margin: a skipped local day (Samoa 2011) must not leave us empty.
    for offset in range(4):
        candidate = _normalise(local.date() + timedelta(days=offset), time(protocol.quiet_end), tz)
        if candidate >= after and not protocol.is_quiet_hour(candidate.astimezone(tz).hour):
            return candidate
    raise AssertionError(f"no allowed hour found after {after.isoformat()} in {tz.key}")


def allowed_hour(protocol: Protocol, hour: int) -> int:
    """`hour` if it is outside quiet hours, else the nearest allowed hour of the same
    day, the later one on a tie (20-07 quiet: 0-6 -> 7, 20-23 -> 19)."""
    validate_preferred_hour(hour)
    allowed = [h for h in range(24) if not protocol.is_quiet_hour(h)]
    return min(allowed, key=lambda h: (abs(h - hour), -h))


def enrollment_lag_days(art_start: date, enrolled_on: date) -> int:
    """Whole days between the ART start and enrollment; 0 when enrolled before it."""
    return max(0, (enrolled_on - art_start).days)


def validate_art_start(art_start: date, today: date) -> None:
    """Refuse an ART start date more than 8 weeks ago or more than 7 days ahead."""
    since = (today - art_start).days
    if since > MAX_DAYS_SINCE_ART_START:
        raise InputError(
            "art_start_date",
            f"is more than 8 weeks ({MAX_DAYS_SINCE_ART_START} days) ago; "
            "the check-ins cover the first 8 weeks of treatment",
        )
    if -since > MAX_DAYS_BEFORE_ART_START:
        raise InputError(
            "art_start_date", f"is more than {MAX_DAYS_BEFORE_ART_START} days ahead"
        )


def validate_preferred_hour(hour: int | None) -> None:
    """None (use the protocol's default) or a whole hour 0-23."""
    if hour is None:
        return
    if isinstance(hour, bool) or not isinstance(hour, int):
        raise InputError("preferred_hour", "must be a whole hour from 0 to 23")
    if not 0 <= hour <= 23:
        raise InputError("preferred_hour", f"must be from 0 to 23, not {hour}")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`, or InputError("timezone", ...)."""
    if not isinstance(name, str) or not name:
        raise InputError("timezone", "must be an IANA time zone name like Africa/Nairobi")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("timezone", f"unknown time zone {name!r}") from None


def _resolve(protocol: Protocol, tz: ZoneInfo, day: date, hour: int) -> datetime:
    """The real instant (UTC) for a check-in on local `day` near `hour`, never in quiet
    hours. `hour` is already allowed; only DST and calendar quirks move it."""
    allowed = [h for h in range(24) if not protocol.is_quiet_hour(h)]
    for h in sorted(allowed, key=lambda h: (abs(h - hour), -h)):
        instant = _normalise(day, time(h), tz)
        local = instant.astimezone(tz)
        if local.date() == day and not protocol.is_quiet_hour(local.hour):
            return instant
    # The whole local day is missing: take the preferred hour as normalised (next day).
    return _next_allowed(protocol, tz, _normalise(day, time(hour), tz))


def _normalise(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """A local wall time as a real instant in UTC (fold=0: a gap moves later, a fold
    takes the first occurrence)."""
    return datetime.combine(day, wall.replace(fold=0), tzinfo=tz).astimezone(UTC)


def _ceil_to_local_hour(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` rounded up to a full hour of the local clock (UTC result). Works on
    instants, so zones at +05:45 or +03:30 round to their own full hours."""
    local = moment.astimezone(tz)
    floor = moment.astimezone(UTC) - timedelta(
        minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )
    return floor if floor == moment else floor + timedelta(hours=1)


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
