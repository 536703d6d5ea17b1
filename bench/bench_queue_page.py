"""How long the queue page takes for a clinic with 5,000 open items.

    python bench/bench_queue_page.py [--items 5000] [--engine sqlite|postgresql] [--runs 15]

Seeds one clinic with N patients, each with a reply triaged into an open queue item
(urgent, flag and admin mixed, spread over three days) plus a second clinic of the same
size, signs a nurse in through the form, then times (in-process, through the ASGI app
with httpx, so the figure is the server's work: queries, template, audit write):
the full queue page, the polled partial, a page deep in the queue (after 2,500 items),
and the patient list. Median and max of --runs requests each.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.common import fresh_postgres, machine  # noqa: E402
from reminders.config import Settings  # noqa: E402
from reminders.db import create_db_engine, session_scope  # noqa: E402
from reminders.migrations import upgrade  # noqa: E402
from reminders.models import LEVEL_RANK, Message, Patient, QueueItem  # noqa: E402
from reminders.services.clinics import add_clinic, add_staff  # noqa: E402
from reminders.web import create_app  # noqa: E402

PASSWORD = "correct horse battery"
REPLIES = [("urgent", "my neck is stiff and I cannot see well", ["stiff_neck", "vision"], ["neck is stiff"]),
           ("flag", "I have a fever since yesterday", ["fever"], ["fever"]),
           ("flag", "nina homa na kikohozi", ["fever", "cough"], ["homa", "kikohozi"]),
           ("admin", "please call me", ["call_request"], ["call me"])]


def seed(engine: sa.Engine, items: int, now: datetime) -> None:
    with session_scope(engine) as session:
        for code, country in (("KIB", "KE"), ("OTH", "KE")):
            add_clinic(session, code=code, name=f"Clinic {code}", timezone="Africa/Nairobi", country=country,
                       phone="+254700000001")
        add_staff(session, email="nurse@kib.example.org", clinic_code="KIB", role="nurse", password=PASSWORD)
        clinic_ids = dict(session.execute(sa.text("SELECT code, id FROM clinic")).all())
    for clinic_index, code in enumerate(("KIB", "OTH")):
        with session_scope(engine) as session:
            patients = [dict(clinic_id=clinic_ids[code], phone=f"+2547{clinic_index}{i:07d}", language="en",
                             display_name=f"Patient {i}", art_start_date=date(2026, 11, 1) + timedelta(days=i % 40),
                             consent=True, enrolled_at=now - timedelta(days=1))
                        for i in range(items)]
            ids = session.execute(sa.insert(Patient).returning(Patient.id), patients).scalars().all()
            rows, messages = [], []
            for n, patient_id in enumerate(ids):
                level, text, symptoms, evidence = REPLIES[n % len(REPLIES)]
                opened = now - timedelta(minutes=(n * 53) % (3 * 24 * 60))
                rows.append(dict(clinic_id=clinic_ids[code], patient_id=patient_id, level=level,
                                 rank=LEVEL_RANK[level], symptoms=symptoms, evidence=evidence, reason="reply",
                                 status="open", opened_at=opened))
                messages.append(dict(patient_id=patient_id, clinic_id=clinic_ids[code], direction="inbound",
                                     kind="reply", phone=f"+2547{clinic_index}{n:07d}", body=text,
                                     status="processed", created_at=opened, attempts=0))
            session.execute(sa.insert(QueueItem), rows)
            session.execute(sa.insert(Message), messages)


def timed(client, path: str, runs: int) -> tuple[float, float, str]:  # type: ignore[no-untyped-def]
    times, text = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        text = response.text
    return statistics.median(times), max(times), text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    tmp = tempfile.TemporaryDirectory()
    database = fresh_postgres("reminders_bench_queue") if args.engine == "postgresql" else nullcontext(
        f"sqlite:///{tmp.name}/bench.db")
    with database as url:
        if args.engine == "sqlite":
            upgrade(url)
        engine = create_db_engine(url)
        now = datetime.now(timezone.utc)
        started = time.perf_counter()
        seed(engine, args.items, now)
        print(f"seeded {args.items} open items x 2 clinics in {time.perf_counter() - started:.1f} s")
        settings = Settings(database_url=url, public_url="http://127.0.0.1:8000", sms_gateway="local",
                            secret_key="bench-secret-key-0123", spool_dir=Path(tmp.name) / "spool")
        app = create_app(settings, engine=engine)
        with TestClient(app, base_url=settings.public_url) as client:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
            client.post("/signin", data={"username": "nurse@kib.example.org", "password": PASSWORD,
                                         "csrf_token": token})
            _, _, first = timed(client, "/queue", 1)
            assert first.count('data-item="') == 50
            deep = "/queue"
            for _ in range(args.items // 2 // 50):
                deep = "/queue?after=" + re.search(r'href="/queue\?after=([^"]+)">Next', client.get(deep).text).group(1)
            print(f"{machine()}, {args.engine}, {args.items} open items in the clinic "
                  f"(+{args.items} in another), median / max of {args.runs} requests:")
            for label, path in (("queue page", "/queue"), ("queue partial (poll)", "/queue/rows"),
                                (f"queue page after {args.items // 2} items", deep),
                                ("patient list", "/patients"), ("patient search", "/patients?q=patient%2042")):
                median, worst, _ = timed(client, path, args.runs)
                print(f"  {label:32s} {median:7.1f} ms  (max {worst:.1f} ms)")
        engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
