"""How soon a queue item should be dealt with, and whether it is late (pure: `now` is an
argument). DESIGN.md: urgent within 2 hours, flag within one working day. A missed
check-in (no_response) also within a working day (WelTel phoned non-responders within
48 hours); an admin request within two working days. Working days are Monday to Friday
in the clinic's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

HOURS = {"urgent": 2}
WORKING_DAYS = {"flag": 1, "no_response": 1, "admin": 2}


def add_working_days(start: datetime, days: int, timezone: str) -> datetime:
    """`days` working days after `start` (same local time; a weekend does not count)."""
    local = start.astimezone(ZoneInfo(timezone))
    while local.weekday() >= 5:  # opened at the weekend: the clock starts Monday morning
        local = (local + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    added = 0
    while added < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            added += 1
    return local.astimezone(start.tzinfo)


def due_at(level: str, opened_at: datetime, timezone: str) -> datetime:
    if level in HOURS:
        return opened_at + timedelta(hours=HOURS[level])
    return add_working_days(opened_at, WORKING_DAYS.get(level, 2), timezone)


@dataclass(frozen=True)
class Age:
    age: timedelta
    target: timedelta
    overdue: bool


def age_against_target(level: str, opened_at: datetime, timezone: str, now: datetime) -> Age:
    due = due_at(level, opened_at, timezone)
    return Age(age=now - opened_at, target=due - opened_at, overdue=now > due)


def short_duration(delta: timedelta) -> str:
    """'45 min', '3 h 10 min', '2 d 4 h': how long, at a glance."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def week_since_start(art_start: "datetime | object", today: "object") -> int:
    """Week 1 is days 0-6 after ART start (the protocol's weeks 1-8)."""
    days = (today - art_start).days  # type: ignore[operator]
    return max(0, days) // 7 + 1
