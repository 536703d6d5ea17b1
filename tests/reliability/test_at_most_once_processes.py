"""At most once, under attack, with real `reminders dispatch` processes, the real twilio
client and the fake Twilio server, on SQLite and PostgreSQL:

- a pass slower than its lease (1 s lease, a provider taking 1.5 s per message) while a
  second worker runs with `--now` an hour later;
- a worker SIGKILLed while its sends are in flight, then another pass after its lease;
- a worker SIGKILLed after its sends returned, before the recorder wrote their results;
each check-in (and welcome) reaches the provider exactly once, and none is lost.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from reminders.db import session_scope
from reminders.models import Message
from reminders.services import dispatch
from reminders.store.claims import db_now
from tests.reliability.outbox_fixtures import (  # noqa: F401 (fixtures)
    DUE, clinic, make_patient, outbound, reminders_env, row_is_locked, start_reminders, wait_for,
)

pytestmark = pytest.mark.slow


def finish(process) -> dict:  # type: ignore[no-untyped-def,type-arg]
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def assert_each_sent_exactly_once(engine, fake, phones: list[str]) -> None:  # type: ignore[no-untyped-def]
    per_phone = Counter(m.to for m in fake.sent)
    duplicated = sum(n - 2 for n in per_phone.values() if n > 2)
    lost = sum(1 for phone in phones if per_phone[phone] < 2)
    print(f"sent={len(fake.sent)} duplicated={duplicated} lost={lost}")
    assert (duplicated, lost) == (0, 0)
    assert set(per_phone) == set(phones)
    messages = outbound(engine)
    assert {m.status for m in messages} == {"queued"}  # every one recorded
    assert sorted(m.provider_sid for m in messages) == sorted(m.sid for m in fake.sent)


def leases_over(engine) -> bool:  # type: ignore[no-untyped-def]
    """Every lease has run out, by the database's clock."""
    with session_scope(engine) as session:
        latest = session.execute(sa.select(sa.func.max(Message.lease_until))).scalar_one()
        return latest is None or latest < db_now(session)


def test_a_pass_slower_than_its_lease_beside_a_worker_an_hour_ahead_sends_each_once(
        engine, database_url, make_patient, fake_twilio, reminders_env):
    phones = [make_patient().phone for _ in range(8)]
    # Slow provider: each create is processed and answered 1.5 s late (longer than the lease).
    fake_twilio.delay_next(10_000, 1.5, create_after_delay=True)
    env = reminders_env(database_url, REMINDERS_SEND_LEASE_SECONDS="1",
                        REMINDERS_DISPATCH_RATE="1000", REMINDERS_DISPATCH_CONCURRENCY="2",
                        REMINDERS_DISPATCH_BATCH="4")
    slow = start_reminders(["dispatch", "--now", DUE.isoformat()], env)
    assert wait_for(lambda: len(fake_twilio.create_requests) >= 2, timeout=60)
    ahead = start_reminders(["dispatch", "--now", (DUE + timedelta(hours=1)).isoformat()], env)
    summaries = [finish(slow), finish(ahead)]
    assert_each_sent_exactly_once(engine, fake_twilio, phones)
    assert sum(s["requeued"] for s in summaries) == 0  # nobody took a live worker's sends


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(
        engine, database_url, make_patient, fake_twilio, reminders_env):
    phones = [make_patient().phone for _ in range(8)]
    fake_twilio.delay_next(10_000, 0.5, create_after_delay=True)
    env = reminders_env(database_url, REMINDERS_SEND_LEASE_SECONDS="2",
                        REMINDERS_DISPATCH_RATE="1000", REMINDERS_DISPATCH_CONCURRENCY="2",
                        REMINDERS_DISPATCH_BATCH="4")
    worker = start_reminders(["dispatch", "--now", DUE.isoformat()], env)
    assert wait_for(lambda: len(fake_twilio.create_requests) >= 5, timeout=60)
    worker.send_signal(signal.SIGKILL)  # while two sends are in flight
    worker.wait(timeout=30)
    assert len(fake_twilio.create_requests) < 16  # it really died mid-pass
    # The fake finishes the requests the dead worker left in flight.
    assert wait_for(lambda: all(r.status is not None for r in fake_twilio.create_requests))

    assert wait_for(lambda: leases_over(engine), timeout=30)
    fake_twilio.reset_injections()
    summary = finish(start_reminders(["dispatch", "--now", DUE.isoformat()], env))
    assert_each_sent_exactly_once(engine, fake_twilio, phones)
    assert summary["recovered"] >= 1  # sent by the dead worker, found at the provider


def test_a_worker_killed_between_its_sends_and_their_record_sends_nothing_twice(
        engine, database_url, make_patient, fake_twilio, reminders_env):
    """Results are written by one recorder, in groups, after their sends return: a worker
    killed before its results are written leaves `sending` rows whose sends did happen.
    The next pass finds each at the provider and records it; none is sent again.
    PostgreSQL: another connection holds the check-in table (EXCLUSIVE: reads go on), so
    no check-in's result can be written before the kill, without any timing."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a table lock that lets reads through: PostgreSQL")
    phones = [make_patient().phone for _ in range(8)]
    dispatch.queue_due_checkins(engine, now=DUE)  # check-ins are outbox messages before the lock
    env = reminders_env(database_url, REMINDERS_SEND_LEASE_SECONDS="2",
                        REMINDERS_DISPATCH_RATE="1000", REMINDERS_DISPATCH_CONCURRENCY="2",
                        REMINDERS_DISPATCH_BATCH="4")
    with engine.connect() as blocker:
        blocker.execute(sa.text("LOCK TABLE checkin IN EXCLUSIVE MODE"))
        worker = start_reminders(["dispatch", "--now", DUE.isoformat()], env)
        # Every send made and answered (8 welcomes, 8 check-ins) ...
        assert wait_for(lambda: sum(r.status == 201 for r in fake_twilio.create_requests) == 16,
                        timeout=60)
        with engine.connect() as connection:  # ... and the check-ins' results not written
            unrecorded = connection.execute(
                sa.select(sa.func.count()).select_from(Message)
                .where(Message.kind == "checkin", Message.status == "sending",
                       Message.provider_sid.is_(None))).scalar_one()
        assert unrecorded == 8
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        blocker.rollback()
    ids = [m.id for m in outbound(engine)]
    assert wait_for(lambda: not any(row_is_locked(database_url, i) for i in ids), timeout=30)

    assert wait_for(lambda: leases_over(engine), timeout=30)
    summary = finish(start_reminders(["dispatch", "--now", DUE.isoformat()], env))
    assert_each_sent_exactly_once(engine, fake_twilio, phones)
    assert len(fake_twilio.create_requests) == 16  # nothing sent a second time
    assert summary["recovered"] >= 8 and summary["requeued"] == 0

