"""Dispatch with real processes on PostgreSQL, the real twilio client and the fake server:
two workers never send a check-in twice, and a worker killed mid-pass loses none."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import CheckIn, Message
from reminders.schemas import PatientCreate
from reminders.services.clinics import add_clinic
from reminders.services.enroll import enroll
from reminders.store.claims import db_now
from tests.integration.conftest import start_reminders

ENROLLED = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)
DUE = "2026-12-04T09:05:00+03:00"  # day 3, 09:05 in Nairobi


def enroll_many(engine, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    phones = []
    with session_scope(engine) as session:
        add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi",
                   country="KE", phone="+254700000001")
        for i in range(count):
            phone = f"+2547{i:08d}"
            enroll(session, PatientCreate(clinic="KIB", phone=phone, language="en",
                                          art_start_date=date(2026, 12, 1), consent=True), now=ENROLLED)
            phones.append(phone)
    return phones


def checkin_bodies_by_phone(fake) -> Counter:  # type: ignore[no-untyped-def]
    return Counter(m.to for m in fake.sent if "1" in m.body and "STOP" not in m.body)


def wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def test_two_workers_dispatch_each_checkin_exactly_once(pg_engine, postgres_url, fake_twilio, reminders_env):
    phones = enroll_many(pg_engine, 120)
    env = reminders_env(postgres_url, REMINDERS_DISPATCH_RATE="2000", REMINDERS_DISPATCH_BATCH="10")
    workers = [start_reminders(["dispatch", "--now", DUE], env) for _ in range(2)]
    summaries = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(s["due"] for s in summaries) == 120  # none missed
    per_phone = Counter(m.to for m in fake_twilio.sent)
    assert set(per_phone) == set(phones)
    assert set(per_phone.values()) == {2}  # the welcome and the day-3 check-in: none twice
    with session_scope(pg_engine) as session:
        statuses = Counter(c.status for c in session.exec(select(CheckIn).where(CheckIn.day == 3)))
    assert statuses == Counter({"sent": 120})


@pytest.mark.slow
def test_a_worker_killed_mid_pass_loses_nothing_and_sends_nothing_twice(
        pg_engine, postgres_url, fake_twilio, reminders_env):
    phones = enroll_many(pg_engine, 60)
    # The run is simulated at DUE (`--now`): the provider's clock must agree, or asking it
    # "did this go out since the claim?" looks at the wrong window.
    offset = datetime.fromisoformat(DUE) - datetime.now(timezone.utc)
    fake_twilio.clock = lambda: datetime.now(timezone.utc) + offset
    # Slow enough (20 messages/s) that the pass is surely still running when we kill it.
    env = reminders_env(postgres_url, REMINDERS_DISPATCH_RATE="20", REMINDERS_DISPATCH_CONCURRENCY="4",
                        REMINDERS_SEND_LEASE_SECONDS="2")
    worker = start_reminders(["dispatch", "--now", DUE], env)
    wait_for(lambda: len(fake_twilio.sent) >= 30)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    sent_before_restart = len(fake_twilio.sent)
    assert sent_before_restart < 120  # it really died mid-pass

    # Restart after the lease (database clock): stranded rows are settled by asking the fake.
    def leases_over() -> bool:
        with session_scope(pg_engine) as session:
            latest = session.execute(sa.select(sa.func.max(Message.lease_until))).scalar_one()
            return latest is None or latest < db_now(session)

    wait_for(leases_over, timeout=30)
    later = (datetime.fromisoformat(DUE) + timedelta(minutes=10)).isoformat()
    rerun = start_reminders(["dispatch", "--now", later], {**env, "REMINDERS_DISPATCH_RATE": "2000"})
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["recovered"] + summary["requeued"] > 0  # the dead worker left claims behind
    per_phone = Counter(m.to for m in fake_twilio.sent)
    assert set(per_phone) == set(phones)  # none lost
    assert set(per_phone.values()) == {2}  # none twice
    with session_scope(pg_engine) as session:
        messages = session.exec(select(Message).where(Message.direction == "outbound")).all()
        assert Counter(m.status for m in messages) == Counter({"queued": 120})
        assert all(m.provider_sid in {s.sid for s in fake_twilio.sent} for m in messages)
