"""Dispatch throughput through the real twilio client to a local fake, on PostgreSQL, and
the time to find due check-ins as the plan table grows.

    python bench/bench_dispatch.py [--patients 5000] [--small 1000] [--large 100000]

Part 1 enrolls --patients patients starting ART on one day, marks their welcome messages
sent, then runs `reminders dispatch --now <day 3, 09:05>` as a subprocess with the twilio
gateway pointed at a fake Twilio server (its own process): messages per second and the
worker's peak memory (max RSS). Part 2 builds two databases (--small and --large patients,
12 planned check-ins each) and times claiming a batch of 200 due check-ins in each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from common import ROOT, days, fake_twilio_process, fresh_postgres, machine, write_register

from reminders.db import create_db_engine, session_scope
from reminders.services.clinics import add_clinic
from reminders.services.importer import import_rows, read_csv
from reminders.store.claims import claim_due_checkins


def enroll(url: str, count: int, starts: list[date], now: datetime) -> None:
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi",
                   country="KE", phone="+254700000001")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "register.csv"
        write_register(path, count, starts)
        report = import_rows(engine, read_csv(path), default_clinic="KIB", now=now)
    assert report.imported == count, report.problems[:3]
    with engine.begin() as connection:  # the welcomes are not what we measure
        connection.execute(sa.text("UPDATE message SET status = 'delivered' WHERE kind = 'welcome'"))
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def throughput(patients: int) -> None:
    start = datetime.now(timezone.utc).date()
    due = datetime.combine(start + timedelta(days=3), dtime(6, 5), tzinfo=timezone.utc)
    with fresh_postgres() as url, fake_twilio_process() as (base_url, sid, token, created):
        enroll(url, patients, [start], datetime.now(timezone.utc))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))},
               "REMINDERS_DATABASE_URL": url, "REMINDERS_SMS_GATEWAY": "twilio",
               "REMINDERS_TWILIO_API_BASE": base_url, "TWILIO_ACCOUNT_SID": sid,
               "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM_NUMBER": "+15005550006",
               "REMINDERS_DISPATCH_RATE": "100000", "REMINDERS_DISPATCH_CONCURRENCY": "8",
               "REMINDERS_DISPATCH_BATCH": "500"}
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "reminders", "dispatch", "--now", due.isoformat()],
                                env=env, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        assert result.returncode == 0, result.stderr[-2000:]
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"dispatch pass: {summary['sent']:,} check-ins sent in {elapsed:.2f} s "
          f"(whole process, start-up included) = {summary['sent'] / elapsed:,.0f} messages/s; "
          f"fake received {created[0]:,}; worker peak RSS {peak_mib:,.0f} MiB; summary {summary}")


def claim_time(patients: int) -> float:
    today = datetime.now(timezone.utc).date()
    starts = days(today, 4)  # four start dates: a quarter of the patients are due at day 3
    with fresh_postgres() as url:
        began = time.perf_counter()
        enroll(url, patients, starts, datetime.now(timezone.utc))
        build = time.perf_counter() - began
        engine = create_db_engine(url)
        now = datetime.combine(today + timedelta(days=3), dtime(6, 5), tzinfo=timezone.utc)
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT count(*) FROM checkin")).scalar_one()
        timings = []
        for _ in range(15):
            with session_scope(engine) as session:
                started = time.perf_counter()
                claimed = claim_due_checkins(session, now, 200)
                timings.append(time.perf_counter() - started)
                session.rollback()
        engine.dispose()
    median = statistics.median(timings)
    print(f"claim 200 due among {rows:,} planned check-ins ({patients:,} patients; built in {build:.0f} s): "
          f"median {median * 1000:.2f} ms, claimed {len(claimed)}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    throughput(args.patients)
    throughput(args.patients * 4)  # peak memory should not grow with the number due
    if not args.skip_scale:
        small, large = claim_time(args.small), claim_time(args.large)
        print(f"large/small claim time: {large / small:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
