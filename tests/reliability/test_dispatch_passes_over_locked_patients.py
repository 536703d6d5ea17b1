"""A dispatch pass looks past patients another process holds locked (a triage pass, the
other dispatcher) instead of ending: the oldest due patients being busy must not leave
every other due check-in for the next pass, where it would be superseded and skipped.
Then it waits for those patients (bounded), because a triage pass that happened to hold
them during the whole pass must not cost them this check-in either.
PostgreSQL only: SQLite has no row locks (BEGIN IMMEDIATE serialises whole transactions)."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from reminders.db import create_db_engine
from reminders.models import CheckIn, Clinic, Patient
from reminders.services.dispatch import queue_due_checkins

NOW = datetime(2026, 12, 10, 7, 0, tzinfo=timezone.utc)  # 10:00 in Nairobi


def populate(engine: sa.Engine, patients: int) -> list[int]:
    start = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)
    with engine.begin() as connection:
        clinic_id = connection.execute(sa.insert(Clinic).values(
            code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi", country="KE",
            phone="+254700000001", created_at=start).returning(Clinic.id)).scalar_one()
        connection.execute(sa.insert(Patient), [{
            "clinic_id": clinic_id, "phone": f"+2547{i:08d}", "language": "en",
            "art_start_date": date(2026, 12, 1), "preferred_hour": 9, "consent": True,
            "recent_oi": False, "shared_phone": False, "high_risk": False, "protocol": "default",
            "status": "active", "enrolled_at": start, "enrollment_lag_days": 0} for i in range(patients)])
        ids = connection.execute(sa.select(Patient.id).order_by(Patient.id)).scalars().all()
        # Patient n's check-in is due n minutes after the first: the first ones are the head.
        connection.execute(sa.insert(CheckIn), [{
            "patient_id": pid, "day": 3, "catch_up": False, "status": "planned", "attempts": 0,
            "due_at": start + timedelta(days=3, minutes=n)} for n, pid in enumerate(ids)])
    return list(ids)


def test_a_head_of_locked_patients_does_not_end_the_pass(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    engine = create_db_engine(database_url)
    ids = populate(engine, 60)
    head = ids[:25]  # more than a batch: every candidate of the first claim is locked
    with engine.connect() as other:
        other.execute(sa.select(Patient.id).where(Patient.id.in_(head)).with_for_update())
        summary = queue_due_checkins(engine, now=NOW, batch=10, wait_for_busy=0.5)
        other.rollback()
    assert summary["due"] == len(ids) - len(head)
    assert summary["busy"] == len(head)  # waited for, in vain: counted, left for the next pass
    with engine.connect() as connection:
        queued = set(connection.execute(
            sa.select(CheckIn.patient_id).where(CheckIn.status == "queued")).scalars())
    assert queued == set(ids) - set(head)
    # Once the locks are gone, the next pass sends the rest: nothing is lost or skipped.
    assert queue_due_checkins(engine, now=NOW, batch=10)["due"] == len(head)
    engine.dispose()


def waiting_on_a_lock(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'")).scalar_one() > 0


def test_patients_held_during_the_whole_pass_are_waited_for_not_left_to_be_superseded(database_url):
    """The scale-out failure: a triage pass held a few patients' rows through both of a
    one-shot dispatch's looks; their check-in stayed planned and the next step skipped it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    engine = create_db_engine(database_url)
    ids = populate(engine, 40)
    held = ids[5:8]
    result: dict[str, int] = {}
    with engine.connect() as other:
        other.execute(sa.select(Patient.id).where(Patient.id.in_(held)).with_for_update())
        dispatcher = threading.Thread(
            target=lambda: result.update(queue_due_checkins(engine, now=NOW, batch=10, wait_for_busy=120)))
        dispatcher.start()
        # Let go only once the pass waits on our lock (or has finished without waiting:
        # then the assertions below fail, as they did before the pass learned to wait).
        deadline = time.monotonic() + 120
        while dispatcher.is_alive() and not waiting_on_a_lock(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        other.rollback()
    dispatcher.join(120)
    assert result == {"due": len(ids), "skipped": 0, "busy": 0, "waited": len(held)}
    with engine.connect() as connection:
        queued = set(connection.execute(
            sa.select(CheckIn.patient_id).where(CheckIn.status == "queued")).scalars())
    assert queued == set(ids)
    engine.dispose()


def test_only_patients_still_due_are_waited_for(database_url):
    """Most patients a pass finds locked were being claimed by the other dispatcher: by the
    time the pass looks again they are queued, and waiting on them one by one would spend
    the pass's whole wait (seen: 194 patients counted busy that nobody held any more)."""
    from reminders.db import session_scope
    from reminders.store.claims import still_due

    engine = create_db_engine(database_url)
    ids = populate(engine, 10)
    with engine.begin() as connection:
        connection.execute(sa.update(CheckIn).where(CheckIn.patient_id.in_(ids[:4])).values(status="queued"))
        connection.execute(sa.update(Patient).where(Patient.id == ids[4]).values(status="opted_out"))
    with session_scope(engine) as session:
        assert still_due(session, NOW, ids) == set(ids[5:])
        assert still_due(session, NOW, []) == set()
    engine.dispose()
