"""Claims are fenced and leased on the database clock: a worker whose claim was taken over
never sends, and a pass's simulated `now` never decides that another worker's claim ran out."""

from __future__ import annotations

import uuid
from datetime import timedelta

from reminders.db import session_scope
from reminders.services import dispatch
from reminders.services.outbox import SendOptions
from reminders.store.claims import claim_pending_messages, mark_sending
from tests.recording_gateway import RecordingGateway
from tests.reliability.outbox_fixtures import (  # noqa: F401 (fixtures)
    DUE, clinic, expire_leases, make_patient, outbound,
)

LEASE = timedelta(seconds=300)


def claim(engine, worker, now=DUE):  # type: ignore[no-untyped-def]
    token = uuid.uuid4().hex
    with session_scope(engine) as session:
        claimed = claim_pending_messages(session, now, 50, worker, token, LEASE)
        return token, [m.id for m in claimed]


def fence(engine, message_id, token) -> bool:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return mark_sending(session, [message_id], token, LEASE) == {message_id}


def test_a_claim_taken_over_is_never_marked_sending_by_its_first_holder(engine, make_patient):
    make_patient()
    dispatch.queue_due_checkins(engine, now=DUE)
    first, ids = claim(engine, "a:1")
    assert len(ids) == 2  # the welcome and the day-3 check-in
    assert claim(engine, "b:2")[1] == []  # a live claim is not taken
    expire_leases(engine)  # worker a stalled past its lease
    second, taken = claim(engine, "b:2")
    assert taken == ids
    assert [fence(engine, i, first) for i in ids] == [False, False]  # a must not send
    assert [fence(engine, i, second) for i in ids] == [True, True]
    assert {m.status for m in outbound(engine)} == {"sending"}


def test_a_pass_far_in_the_future_does_not_take_a_live_workers_sends(engine, make_patient):
    """`dispatch --now` a day ahead while another worker is mid-send on the real clock."""
    patient = make_patient()
    dispatch.queue_due_checkins(engine, now=DUE)
    token, ids = claim(engine, "live:1")
    assert all(fence(engine, i, token) for i in ids)  # in flight at the provider
    gateway = RecordingGateway()
    summary = dispatch.run_once(engine, gateway, now=DUE + timedelta(days=1, hours=1),
                                options=SendOptions(rate=1000))
    assert summary["requeued"] == 0 and summary["recovered"] == 0
    assert gateway.to(patient.phone) == []  # nothing sent a second time
    assert {m.claim_token for m in outbound(engine, patient_id=patient.id)} == {token}


def test_a_stalled_workers_claimed_rows_are_sent_once_by_another(engine, make_patient):
    patient = make_patient()
    dispatch.queue_due_checkins(engine, now=DUE)
    stalled, ids = claim(engine, "stalled:1")
    expire_leases(engine)
    gateway = RecordingGateway()
    summary = dispatch.run_once(engine, gateway, now=DUE, options=SendOptions(rate=1000))
    assert summary["sent"] == 2
    assert not any(fence(engine, i, stalled) for i in ids)  # wakes up: cannot send
    assert len(gateway.to(patient.phone)) == 2
    assert all(m.provider_sid for m in outbound(engine, patient_id=patient.id))
