"""One send rate per sender, shared by every process, kept in the database.

A carrier limits the sender (a number or a Messaging Service), not our process: two
workers each sending at the rate would send twice too fast. The `send_rate` row of a
sender holds the next free send slot on the database clock. A process reserves a small
block of consecutive slots (one short transaction moves `next_slot_at` past them), then
spaces its sends over those slots on its own monotonic clock: slots never overlap between
processes, and a round trip buys several sends.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from reminders.db import session_scope
from reminders.models import SendRate
from reminders.store.claims import db_now


def reserve_slots(session, sender: str, count: int, interval: float) -> tuple[datetime, datetime]:  # type: ignore[no-untyped-def]
    """Reserve `count` slots `interval` seconds apart; returns (first slot, database now)."""
    clock = db_now(session)
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)
    session.execute(insert(SendRate).values(sender=sender, next_slot_at=clock)
                    .on_conflict_do_nothing(index_elements=["sender"]))
    row = session.get(SendRate, sender, with_for_update=True, populate_existing=True)
    start = max(row.next_slot_at, clock)
    row.next_slot_at = start + timedelta(seconds=count * interval)
    session.flush()
    return start, clock


class SharedRateLimiter:
    """`wait()` returns when this process may make its next send; thread-safe."""

    def __init__(self, engine: sa.Engine, sender: str, rate: float,
                 block_seconds: float = 0.25) -> None:
        self.engine = engine
        self.sender = sender[:64]
        self.interval = 1.0 / rate
        # About a quarter second of slots per round trip, at least one. (At a rate far
        # above what one process sends, most of a block goes unused: no harm, and still
        # few round trips.)
        self.block = max(1, math.floor(rate * block_seconds))
        # How late a slot may still be used: half an interval, but at least 50 ms (at high
        # rates a few microseconds would throw away nearly every slot). A late slot adds at
        # most rate * tolerance sends to a second: half a send, or 5% at high rates.
        self.tolerance = max(self.interval / 2, 0.05)
        # The reserved block: slot i is at first + i * interval (monotonic clock).
        self.first, self.count, self.index = 0.0, 0, 0
        self.lock = threading.Lock()

    def wait(self) -> None:
        # A slot missed by more than `tolerance` (a busy machine woke us late) is dropped,
        # not used late: used late it would crowd the next slots, maybe another process's.
        # So every send leaves within `tolerance` of its own slot.
        while True:
            slot = self._next_slot()
            delay = slot - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() <= slot + self.tolerance:
                return

    def _next_slot(self) -> float:
        with self.lock:
            while True:
                if self.index >= self.count:
                    self._reserve()
                late = (time.monotonic() - self.tolerance - self.first) / self.interval
                self.index = max(self.index, math.ceil(late))
                if self.index < self.count:
                    self.index += 1
                    return self.first + (self.index - 1) * self.interval

    def _reserve(self) -> None:
        with session_scope(self.engine) as session:
            start, clock = reserve_slots(session, self.sender, self.block, self.interval)
        self.first = time.monotonic() + (start - clock).total_seconds()
        self.count, self.index = self.block, 0
