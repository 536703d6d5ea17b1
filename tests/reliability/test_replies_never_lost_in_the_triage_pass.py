"""Promise: one reply the triage pass cannot process does not block the others. It is
logged by id, retried by the next passes (a bounded number of times), then marked
`unprocessable` and shown to staff as an admin queue item."""

from __future__ import annotations

import logging

from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Message, QueueItem
from reminders.services.inbound import MAX_PROCESS_ATTEMPTS, process_received
from tests.reliability.conftest import PHONE


def test_a_reply_that_cannot_be_processed_does_not_block_the_others(twilio, patient, engine, clock, caplog):
    twilio.post("nina homa", sid="SM" + "1" * 32)
    with session_scope(engine) as session:
        # A stored reply the pass cannot triage: its patient is missing (a row written by
        # hand, an older version, a restore...). Real rows, no mock.
        broken = Message(clinic_id=patient.clinic_id, patient_id=None, direction="inbound", kind="reply",
                         phone=PHONE, body="siri", provider_sid="SM" + "2" * 32, status="received",
                         created_at=clock.now)
        session.add(broken)
        session.flush()
        broken_id = broken.id
    twilio.post("siwezi kupumua", sid="SM" + "3" * 32)

    with caplog.at_level(logging.ERROR):
        first = process_received(engine)

    assert first == {"processed": 2, "failed": 1}
    with session_scope(engine) as session:
        statuses = dict(session.exec(select(Message.provider_sid, Message.status)
                                     .where(Message.direction == "inbound")).all())
        items = session.exec(select(QueueItem)).all()
    assert statuses == {"SM" + "1" * 32: "processed", "SM" + "2" * 32: "received", "SM" + "3" * 32: "processed"}
    assert [i.level for i in items] == ["urgent"]  # the good replies reached the queue
    assert f"message={broken_id}" in caplog.text and "siri" not in caplog.text

    for _ in range(MAX_PROCESS_ATTEMPTS - 1):
        assert process_received(engine)["failed"] == 1
    assert process_received(engine) == {"processed": 0, "failed": 0}  # given up: no longer retried
    with session_scope(engine) as session:
        message = session.get(Message, broken_id)
        shown = session.exec(select(QueueItem).where(QueueItem.reason == "unprocessable")).all()
    assert (message.status, message.attempts) == ("unprocessable", MAX_PROCESS_ATTEMPTS)
    assert [(i.level, i.clinic_id) for i in shown] == [("admin", patient.clinic_id)]
