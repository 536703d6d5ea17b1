"""Claiming due check-ins does not grow with the number of patients: with 100,000 patients
(200,000 due check-ins at different times) the claim reads the oldest due rows from the
(status, due_at) index and only the claimed patients' rows, on SQLite and PostgreSQL.
The time of one claim of 200 is printed (run with -s); the assertion is on the plan."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from reminders.db import session_scope
from reminders.models import CheckIn, Clinic, Patient
from reminders.store.claims import checkins_of, claim_newest_due, due_candidates

pytestmark = pytest.mark.slow

PATIENTS = 100_000
NOW = datetime(2026, 12, 20, 12, 0, tzinfo=timezone.utc)


def populate(engine: sa.Engine, patients: int = PATIENTS) -> None:
    """Two overdue check-ins and one to come per patient, at times that differ between
    patients (also used by bench/bench_claim.py)."""
    start = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)
    with engine.begin() as connection:
        clinic_id = connection.execute(sa.insert(Clinic).values(
            code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi", country="KE",
            created_at=start).returning(Clinic.id)).scalar_one()
        for first in range(0, patients, 20_000):
            connection.execute(sa.insert(Patient), [{
                "clinic_id": clinic_id, "phone": f"+2547{i:08d}", "language": "en",
                "art_start_date": date(2026, 12, 1), "preferred_hour": 9, "consent": True,
                "recent_oi": False, "shared_phone": False, "high_risk": False,
                "protocol": "default", "status": "active", "enrolled_at": start,
                "enrollment_lag_days": 0} for i in range(first, min(patients, first + 20_000))])
        ids = connection.execute(sa.select(Patient.id)).scalars().all()
        rows = []
        for n, patient_id in enumerate(ids):
            # Two overdue check-ins at times that differ between patients, one to come.
            offset = timedelta(minutes=n % 600)
            for day in (3, 7, 30):
                rows.append({"patient_id": patient_id, "day": day, "catch_up": False,
                             "due_at": start + timedelta(days=day) + offset, "status": "planned",
                             "attempts": 0})
        for first in range(0, len(rows), 50_000):
            connection.execute(sa.insert(CheckIn), rows[first:first + 50_000])
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(sa.text("ANALYZE patient"))
            connection.execute(sa.text("ANALYZE checkin"))
            connection.commit()
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")


def plan_of(engine: sa.Engine, statement: sa.Select) -> str:  # type: ignore[type-arg]
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(explain + str(compiled)).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_claiming_due_checkins_reads_an_index_not_every_patient(engine):
    populate(engine)
    plan = plan_of(engine, due_candidates(NOW, 200))
    assert "ix_checkin_status_due_at" in plan, plan
    assert "SCAN checkin" not in plan and "Seq Scan on checkin" not in plan, plan
    per_patient = plan_of(engine, checkins_of(list(range(1000, 1200))))
    assert "ix_checkin_patient_id" in per_patient, per_patient
    with session_scope(engine) as session:
        began = time.perf_counter()
        claimed, skipped, _busy = claim_newest_due(session, NOW, 200)
        elapsed = time.perf_counter() - began
        days = {c.day for c in claimed}
        session.rollback()
    print(f"{engine.dialect.name}: claimed {len(claimed)} of {PATIENTS} patients "
          f"(skipped {skipped} older) in {elapsed * 1000:.1f} ms")
    assert len(claimed) == 200 and skipped == 200  # each patient's day-7 row; day 3 skipped
    assert days == {7}
