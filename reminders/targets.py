"""How soon staff should act on a queue item (DESIGN.md: urgent 2 hours, flag 1 working day).

A working day here is Monday to Friday in the clinic's time zone; public holidays are
not known to the system. Other levels (no_response, admin) have no target.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

URGENT_TARGET = timedelta(hours=2)


def target_at(level: str, opened_at: datetime, timezone: str) -> datetime | None:
    if level == "urgent":
        return opened_at + URGENT_TARGET
    if level != "flag":
        return None
    local = opened_at.astimezone(ZoneInfo(timezone)) + timedelta(days=1)
    while local.weekday() >= 5:  # Saturday, Sunday: the next working day at the same hour
        local += timedelta(days=1)
    return local.astimezone(opened_at.tzinfo)


def is_overdue(level: str, opened_at: datetime, timezone: str, now: datetime) -> bool:
    target = target_at(level, opened_at, timezone)
    return target is not None and now > target


def week_since_start(days: int) -> int:
    """Week 1 holds days 0-7 (the first check-ins), week n days 7n-6..7n; day 56 is week 8."""
    return max(1, -(-days // 7))
