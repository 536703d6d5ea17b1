"""A dispatch batch holds its patients locked until it commits (seconds, for 500 patients
on a busy machine). A reply from one of those patients must be stored meanwhile, not wait
for the batch: its foreign key to the patient takes FOR KEY SHARE, which FOR UPDATE
blocks and FOR NO KEY UPDATE does not. Waiting there spent the webhook's time budget and
spooled the reply (answered without the database) in the scale-out test. PostgreSQL only:
SQLite has no row locks."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from reminders.db import create_db_engine, session_scope
from reminders.models import Message
from reminders.store.claims import claim_newest_due, claim_newest_due_waiting
from tests.reliability.test_dispatch_passes_over_locked_patients import NOW, populate


def store_reply(engine: sa.Engine, patient_id: int, sid: str) -> None:
    """What the webhook writes for a reply, with a 1 s lock wait instead of its budget."""
    with engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL lock_timeout = 1000"))
        connection.execute(sa.insert(Message).values(
            patient_id=patient_id, direction="inbound", kind="reply", phone="+254700000099",
            body="nina homa", status="received", provider_sid=sid, attempts=0,
            created_at=datetime.now(timezone.utc)))


@pytest.mark.parametrize("claim", ["batch", "waiting"])
def test_a_reply_is_stored_while_its_patient_is_claimed(database_url, claim):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    engine = create_db_engine(database_url)
    ids = populate(engine, 5)
    with session_scope(engine) as session:
        if claim == "batch":
            claimed, _skipped, _busy = claim_newest_due(session, NOW, 10)
        else:
            claimed, _skipped = claim_newest_due_waiting(session, NOW, ids[0])
        assert claimed
        # The claim's transaction is open: its patients and check-ins are locked.
        store_reply(engine, claimed[0].patient_id, "SM" + "a" * 32)  # raised LockNotAvailable before
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count(Message.id)).where(
            Message.direction == "inbound")).scalar_one() == 1
    engine.dispose()


def test_claimers_still_exclude_each_other(database_url):
    """The lighter lock still does its job: a patient one claim holds is not claimed twice."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    engine = create_db_engine(database_url)
    ids = populate(engine, 4)
    with session_scope(engine) as first, session_scope(engine) as second:
        taken, _skipped, _busy = claim_newest_due(first, NOW, 2)
        others, _skipped, busy = claim_newest_due(second, NOW, 10)
        assert {c.patient_id for c in taken}.isdisjoint(c.patient_id for c in others)
        assert {c.patient_id for c in taken} | {c.patient_id for c in others} == set(ids)
        assert busy == {c.patient_id for c in taken}  # seen locked, passed over
    engine.dispose()
