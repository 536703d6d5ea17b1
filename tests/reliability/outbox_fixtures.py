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
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Clinic, Message, Patient
from reminders.schemas import PatientCreate
from reminders.services.clinics import add_clinic
from reminders.services.enroll import enroll
from reminders.store.claims import db_now
from tests.helpers import subprocess_env

ENROLLED = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)  # 10:00 in Nairobi
START = date(2026, 12, 1)
DUE = datetime(2026, 12, 4, 6, 5, tzinfo=timezone.utc)  # day 3, 09:05 in Nairobi


@pytest.fixture
def clinic(engine) -> Clinic:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi",
                          country="KE", phone="+254700000001", oncall_phone="+254700000002",
                          backup_phone="+254700000003")


@pytest.fixture
def make_patient(engine, clinic) -> Callable[..., Patient]:  # type: ignore[no-untyped-def]
    counter = iter(range(100, 1000))

    def make(*, enrolled: datetime = ENROLLED, art_start: date = START) -> Patient:
        values = {"clinic": "KIB", "phone": f"+254712345{next(counter)}", "language": "en",
                  "art_start_date": art_start, "consent": True}
        with session_scope(engine) as session:
            return enroll(session, PatientCreate(**values), now=enrolled)

    return make


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


@pytest.fixture
def reminders_env(fake_twilio, tmp_path) -> Callable[..., dict[str, str]]:  # type: ignore[no-untyped-def]
    """Environment for a `reminders` subprocess: the real twilio client, the fake server."""

    def env(database_url: str, **extra: str) -> dict[str, str]:
        return subprocess_env(fake_twilio, tmp_path / "spool", database_url, **extra)

    return env


def start_reminders(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "reminders", *args], env=env, cwd=CODE_UNDER_TEST,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
