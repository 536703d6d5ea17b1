"""Time the staff review list and the dashboard on a clinic with 100,000 replies.

    python bench/bench_records.py sqlite:////tmp/records.db
    python bench/bench_records.py postgresql://postgres@127.0.0.1:5432/records_bench  # an empty database

Rows are bulk-inserted (10,000 patients, 100,000 replies with their triage audit events,
5,000 resolved queue items); on PostgreSQL the review list is timed before and after
ANALYZE, since a freshly loaded table has no statistics yet.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from reminders.db import create_db_engine, session_scope
from reminders.migrations import upgrade
from reminders.models import AuditEvent, Message, Patient, QueueItem
from reminders.services import corrections, dashboard
from reminders.services.clinics import add_clinic, add_staff

PATIENTS, REPLIES, ITEMS = 10_000, 100_000, 5_000


def load(engine: sa.Engine, now: datetime) -> None:
    rng = random.Random(1)
    with engine.begin() as c:
        c.execute(sa.insert(Patient), [dict(
            clinic_id=1, phone=f"+2547{i:08d}", language="sw", art_start_date=date(2026, 11, 1),
            preferred_hour=9, consent=True, recent_oi=False, shared_phone=False, high_risk=False,
            protocol="default", status="active", enrolled_at=now, enrollment_lag_days=0) for i in range(PATIENTS)])
        c.execute(sa.insert(Message), [dict(
            patient_id=1 + i % PATIENTS, clinic_id=1, direction="inbound", kind="reply", phone="+2547",
            body="sawa", status="processed", created_at=now - timedelta(minutes=i), attempts=0)
            for i in range(REPLIES)])
        c.execute(sa.insert(AuditEvent), [dict(
            at=now, actor="system", action="reply.triage", clinic_id=1, entity="message", entity_id=i + 1,
            detail={"level": "ok" if rng.random() < 0.8 else "flag", "symptoms": []}) for i in range(REPLIES)])
        c.execute(sa.insert(QueueItem), [dict(
            clinic_id=1, patient_id=1 + i % PATIENTS, level="flag", rank=3, symptoms=[], evidence=[],
            reason="reply", status="resolved", opened_at=now - timedelta(hours=i), claimed_at=now,
            resolved_at=now) for i in range(ITEMS)])


def timed(engine: sa.Engine, label: str, fn) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        start = time.perf_counter()
        fn(session)
        print(f"{engine.dialect.name} {label}: {(time.perf_counter() - start) * 1000:.0f} ms")


def main() -> None:
    url = sys.argv[1]
    upgrade(url)
    engine = create_db_engine(url)
    now = datetime(2026, 12, 1, 7, tzinfo=timezone.utc)
    with session_scope(engine) as session:
        add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi", country="KE",
                   phone="+254700000001")
        staff = add_staff(session, email="n@kib.example.org", clinic_code="KIB", role="nurse",
                          password="correct horse battery")
    load(engine, now)
    timed(engine, "review list, first page", lambda s: corrections.review_list(s, staff, rate=0.05))
    timed(engine, "dashboard", lambda s: dashboard.build(s, 1, now))
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            c.execute(sa.text("ANALYZE"))
        timed(engine, "review list after ANALYZE", lambda s: corrections.review_list(s, staff, rate=0.05))
    engine.dispose()


if __name__ == "__main__":
    main()
