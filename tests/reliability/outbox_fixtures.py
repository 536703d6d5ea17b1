"""Fixtures and helpers for the outbox reliability tests (imported by test_outbox_*.py and
test_at_most_once*.py; not a conftest, so other files in this folder are not affected)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Message, Patient
from reminders.store.claims import db_now
# The same clinic, patients and subprocess environment as the service and integration tests.
from tests.integration.conftest import reminders_env  # noqa: F401 (fixture)
from tests.services.conftest import ENROLLED, clinic, make_patient  # noqa: F401 (fixtures)

DUE = datetime(2026, 12, 4, 6, 5, tzinfo=timezone.utc)  # day 3, 09:05 in Nairobi


def outbound(engine, **where) -> list[Message]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        statement = select(Message).where(Message.direction == "outbound").order_by(Message.id)
        for name, value in where.items():
            statement = statement.where(getattr(Message, name) == value)
        return list(session.exec(statement).all())


def expire_leases(engine) -> None:  # type: ignore[no-untyped-def]
    """Every lease runs out now (database clock): what a dead worker's claims look like."""
    with session_scope(engine) as session:
        session.execute(sa.update(Message).where(Message.lease_until.is_not(None))
                        .values(lease_until=db_now(session).replace(year=2000)))


def row_is_locked(url: str, message_id: int) -> bool:
    """Whether another transaction holds this message row (PostgreSQL) or the database's
    write lock (SQLite), asked from a separate connection that does not wait."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            connection.close()
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("SELECT id FROM message WHERE id = :id FOR UPDATE NOWAIT"),
                               {"id": message_id})
        return False
    except sa.exc.OperationalError:
        return True
    finally:
        engine.dispose()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll until `condition()` holds; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def patient_phone(engine, patient_id: int) -> str:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.get(Patient, patient_id).phone


ROOT = Path(__file__).resolve().parents[2]
# The source tree the `reminders` subprocesses run (default: this one). Pointing it at an
# older tree (an export of main) shows what these attacks did before the fix.
CODE_UNDER_TEST = Path(os.environ.get("REMINDERS_CODE_UNDER_TEST") or ROOT)


def start_reminders(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "reminders", *args], env=env, cwd=CODE_UNDER_TEST,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
