"""Cost of a /metrics scrape and of a retention pass on a large database.

    python bench/bench_ops.py sqlite:////tmp/ops.db 100000
    python bench/bench_ops.py postgresql://postgres@127.0.0.1:5432/ops_bench 100000

Fills an EMPTY database (it must exist and hold no rows) with N patients, 3N messages
(2N outbound over 200 days, N triaged replies) and 6N planned check-ins, then times
services.metrics.snapshot (what GET /metrics reads) twice and one retention pass (90 days).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session

from reminders.config import Settings
from reminders.db import create_db_engine
from reminders.migrations import upgrade
from reminders.models import CheckIn, Clinic, Message, Patient
from reminders.services import metrics, retention


def main(url: str, n: int) -> None:
    url = Settings(database_url=url).database_url
    upgrade(url)
    engine = create_db_engine(url)
    now = datetime.now(timezone.utc)
    rng = random.Random(7)
    with engine.begin() as c:
        c.execute(sa.insert(Clinic).values(code="KIB", name="K", timezone="Africa/Nairobi", country="KE",
                                           created_at=now))
        c.execute(sa.insert(Patient), [dict(
            clinic_id=1, phone=f"+2547{i:08d}", language="en", art_start_date=date.today(), consent=True,
            enrolled_at=now, preferred_hour=9, recent_oi=False, shared_phone=False, high_risk=False,
            protocol="default", status="active", enrollment_lag_days=0) for i in range(n)])
        statuses = ["delivered", "sent", "failed", "unknown", "pending"]
        c.execute(sa.insert(Message), [dict(
            patient_id=i % n + 1, clinic_id=1, direction="outbound", kind="checkin", phone="+1",
            body="How are you?", status=rng.choice(statuses), provider_sid=f"SM{i:032d}",
            created_at=now - timedelta(days=rng.randint(0, 200)), attempts=0) for i in range(2 * n)])
        c.execute(sa.insert(Message), [dict(
            patient_id=i % n + 1, clinic_id=1, direction="inbound", kind="reply", phone="+1", body="fine",
            status="processed", triage_level=rng.choice(["ok", "flag", "urgent", "admin"]),
            provider_sid=f"SMi{i:031d}", created_at=now - timedelta(days=rng.randint(0, 200)), attempts=0)
            for i in range(n)])
        c.execute(sa.insert(CheckIn), [dict(
            patient_id=i % n + 1, day=3, due_at=now + timedelta(hours=rng.randint(-5, 2000)),
            catch_up=False, status="planned", attempts=0) for i in range(6 * n)])
    for _ in range(2):
        started = time.perf_counter()
        with Session(engine) as session:
            metrics.snapshot(session, now)
        print(f"{engine.dialect.name}: {n} patients, {3 * n} messages, {6 * n} check-ins: "
              f"metrics snapshot {1000 * (time.perf_counter() - started):.0f} ms")
    started = time.perf_counter()
    erased = retention.erase_old_bodies(engine, now=now, days=90)["erased"]
    print(f"{engine.dialect.name}: retention pass erased {erased} bodies in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
