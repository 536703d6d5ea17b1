"""Scheduler heartbeats: each process running the periodic passes says it is alive.

One row per process (host:pid), written only by that process, so there is no race:
update, and insert when the row is new. Rows of processes silent for a day are removed.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders.models import SchedulerHeartbeat

INTERVAL_SECONDS = 15
STALE_AFTER = timedelta(seconds=4 * INTERVAL_SECONDS)  # three missed beats
FORGET_AFTER = timedelta(days=1)


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def beat(session: Session, role: str, now: datetime, process: str | None = None) -> None:
    process = process or process_name()
    updated = session.execute(
        sa.update(SchedulerHeartbeat).where(SchedulerHeartbeat.process == process).values(beat_at=now))
    if updated.rowcount == 0:
        session.add(SchedulerHeartbeat(process=process, role=role, started_at=now, beat_at=now))
    session.execute(sa.delete(SchedulerHeartbeat).where(SchedulerHeartbeat.beat_at < now - FORGET_AFTER))


def all_beats(session: Session) -> list[SchedulerHeartbeat]:
    return list(session.exec(select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.process)).all())


def last_beat(session: Session, *, process: str | None = None, host: str | None = None) -> datetime | None:
    """The latest beat of one process, or of any process on `host` (a container)."""
    query = select(sa.func.max(SchedulerHeartbeat.beat_at))
    if process is not None:
        query = query.where(SchedulerHeartbeat.process == process)
    if host is not None:
        query = query.where(SchedulerHeartbeat.process.startswith(host + ":"))  # type: ignore[attr-defined]
    value = session.exec(query).one()
    if isinstance(value, str):  # in case an engine returns max() untyped
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value
